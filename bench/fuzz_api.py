"""Fuzz the HTTP API with schemathesis from its own OpenAPI document: server errors, and responses
that do not match the document.

Starts the local OMS, runs `schemathesis run <url>/openapi.json` once per API key (operator:
every operator route; web: a channel's view, the only one that may POST /orders), bounded by
--max-examples per operation and a timeout per pass. Every route of infra/wiring.py is in the
document, the webhooks too: their bodies are the senders' documented examples mutated at random
and signed with the local runtime's secrets (bench/fuzz_hooks.py), so the fuzz reaches their
parsing, not only the signature check. Checks: no 5xx, and every answer's status code, content
type, headers and body as documented (the ErrorBody shape for errors); --checks picks others.
It prints requests and 5xx per operation from schemathesis's HAR report, every request that got a
5xx, and the failed checks per operation from its JSON report, after schemathesis's own summary.

    python -m bench.fuzz_api [--max-examples 25] [--keys operator,web] [--timeout 150] [--checks ...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

# "Every response matches its documented schema": schemathesis's conformance checks. Its other
# checks judge behaviour (e.g. that negative data is refused, that an id works after a POST), not
# the document, and stateful ones need links the document does not declare.
SCHEMA_CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
                 "response_headers_conformance,response_schema_conformance")


def run_schemathesis(url: str, key: str, args: argparse.Namespace, workdir: Path) -> tuple[list, dict, str]:
    """One bounded `st run`; returns the HAR entries, the JSON run report and the CLI's errors and summary."""
    har, report = workdir / "report.har", workdir / "report.json"
    # --continue-on-failure: schemathesis otherwise stops fuzzing an operation at its first failed
    # check, and one documentation mismatch would end the search for 5xx there.
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json", "--url", url,
           "-H", f"x-api-key: {key}", "--max-examples", str(args.max_examples), "--seed", str(args.seed),
           "--no-color", "--generation-database", "none", "--report", "har,json", "--report-har-path", str(har),
           "--report-json-path", str(report), "--workers", "2", "--checks", args.checks, "--continue-on-failure"]
    # The webhooks' bodies are signed by bench/fuzz_hooks.py, which schemathesis imports by module name.
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "bench.fuzz_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH", "")]))}
    try:
        # cwd: schemathesis keeps a cache in ./.schemathesis; keep it out of the repository.
        out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=args.timeout, env=env).stdout
    except subprocess.TimeoutExpired:
        out = f"schemathesis did not finish within {args.timeout:.0f} s; counting what it reported\n"
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    run_report = json.loads(report.read_text()) if report.exists() else {}
    # Requests that got no answer (e.g. timed out) are not in the HAR: they are in the ERRORS section.
    return entries, run_report, (section(out, "ERRORS") + section(out, "SUMMARY")) or out[-2000:]


def section(out: str, name: str) -> str:
    """A `==== NAME ====` section of schemathesis's output, up to the next one."""
    lines = [ln for ln in out.splitlines() if "Need more help" not in ln and "discord.gg" not in ln]
    start = next((i for i, ln in enumerate(lines) if ln.startswith("=") and f" {name} " in ln), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^=+ .* =+$", lines[i])), len(lines))
    return "\n".join(lines[start:end + (name == "SUMMARY")]) + "\n"


def operations(url: str) -> list[tuple[str, str, re.Pattern]]:
    import requests

    paths = requests.get(f"{url}/openapi.json", timeout=10).json()["paths"]
    ops = [(method.upper(), path, re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"))
           for path, item in paths.items() for method in item if method in ("get", "put", "post", "delete", "patch")]
    return sorted(ops, key=lambda op: -op[1].count("/") + op[1].count("{"))  # literal segments first


def operation_of(entry: dict, ops) -> str:
    method, path = entry["request"]["method"], urlsplit(entry["request"]["url"]).path
    templates = [p for _, p, rx in ops if rx.match(path)]
    if not templates:
        return f"{method} (no documented path)"  # e.g. a path parameter holding an encoded slash
    documented = next((p for m, p, rx in ops if m == method and rx.match(path)), None)
    return f"{method} {documented}" if documented else "other methods on documented paths (probes)"

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25, help="test cases per operation and phase (default 25)")
    parser.add_argument("--keys", default="operator,web",
                        help="principals to fuzz as, one pass each (default operator,web)")
    parser.add_argument("--timeout", type=float, default=150, help="longest pass, s (default 150)")
    parser.add_argument("--seed", type=int, default=1, help="schemathesis seed, for a reproducible run")
    parser.add_argument("--checks", default=SCHEMA_CHECKS,
                        help=f"schemathesis checks, comma-separated (default {SCHEMA_CHECKS}; 'all' for every one)")
    args = parser.parse_args()

    from bench.common import quiet, table
    from local.runtime import LocalOms

    quiet()
    with contextlib.redirect_stdout(sys.stderr):  # handlers' log lines: stdout has only figures
        oms = LocalOms(port=0, demo_data=True).start()
    try:
        ops = operations(oms.url)
        requests_: Counter[tuple[str, str]] = Counter()
        errors: Counter[tuple[str, str]] = Counter()
        server_errors: list[tuple[str, dict]] = []
        failed: dict[tuple[str, str], Counter] = {}  # (check, principal) -> failures per operation
        for principal in args.keys.split(","):
            print(f"... schemathesis as {principal}", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                entries, run_report, summary = run_schemathesis(oms.url, oms.key(principal), args, Path(tmp))
            for group in run_report.get("failures", ()):
                per_op = failed.setdefault((group["title"], principal), Counter())
                for op in group.get("operations", ()):
                    per_op[op] += 1
            for e in entries:
                op = (operation_of(e, ops), principal)
                requests_[op] += 1
                if e["response"]["status"] >= 500:
                    errors[op] += 1
                    server_errors.append((principal, e))
            print(f"\n--- schemathesis as {principal}: {len(entries)} requests\n{summary.strip()}")
    finally:
        oms.stop()

    principals = args.keys.split(",")
    names = sorted({op for op, _ in requests_})
    rows = [(op, *(n for p in principals for n in (requests_[(op, p)], errors[(op, p)]))) for op in names]
    rows.append(("total", *(n for p in principals for n in (sum(v for (_, q), v in requests_.items() if q == p),
                                                          sum(v for (_, q), v in errors.items() if q == p)))))
    print("\nrequests and 5xx responses per operation, per API key")
    print(table(rows, ["operation", *(f"{p} {col}" for p in principals for col in ("requests", "5xx"))]))
    # One example per distinct answer: the same cause tends to repeat on every operation with a body.
    causes: dict[tuple, list] = {}
    for principal, e in server_errors:
        req, resp = e["request"], e["response"]
        content_type = next((h["value"] for h in req["headers"] if h["name"].lower() == "content-type"), "-")
        answer = " ".join(resp["content"].get("text", "").split())[:300]
        causes.setdefault((resp["status"], content_type, answer), []).append((operation_of(e, ops), principal, req))
    for (status, content_type, answer), cases in causes.items():
        where = sorted({f"{op} ({principal})" for op, principal, _ in cases})
        _, principal, req = cases[0]
        print(f"\n{status} x{len(cases)} with content-type {content_type!r} on:\n  " + "\n  ".join(where))
        print(f"  e.g. as {principal}: {req['method']} {req['url']}")
        if req.get("postData"):
            print(f"  body: {req['postData'].get('text', '')[:600]}")
        print(f"  answer: {answer}")
    print("\nfailed checks (schemathesis's groups; a group counts each distinct failure once) per operation and key")
    failures = [(check, principal, op, n) for (check, principal), ops in sorted(failed.items())
                for op, n in sorted(ops.items())]
    print(table(failures, ["check", "key", "operation", "distinct failures"]) if failures else "none")
    total_5xx = sum(errors.values())
    print(f"\n{sum(requests_.values())} requests, {total_5xx} server errors, "
          f"{sum(n for *_, n in failures)} distinct failed checks ({args.checks})")

if __name__ == "__main__":
    main()
