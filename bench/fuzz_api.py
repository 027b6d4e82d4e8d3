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
5xx, and the failed checks by cause (read from its FAILURES section), after its own summary.

    python -m bench.fuzz_api [--max-examples 25] [--keys operator,web] [--timeout 600] [--checks ...]
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


def run_schemathesis(url: str, key: str, args: argparse.Namespace, workdir: Path) -> tuple[list, list, str]:
    """One bounded `st run`; returns the HAR entries, the failed checks (operation, check, status,
    answer) and the CLI's errors and summary."""
    har = workdir / "report.har"
    # --continue-on-failure: schemathesis otherwise stops fuzzing an operation at its first failed
    # check, and one documentation mismatch would end the search for 5xx there.
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json", "--url", url,
           "-H", f"x-api-key: {key}", "--max-examples", str(args.max_examples), "--seed", str(args.seed),
           "--no-color", "--generation-database", "none", "--report", "har", "--report-har-path", str(har),
           "--workers", "2", "--checks", args.checks, "--continue-on-failure"]
    # The webhooks' bodies are signed by bench/fuzz_hooks.py, which schemathesis imports by module name.
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "bench.fuzz_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH", "")]))}
    try:
        # cwd: schemathesis keeps a cache in ./.schemathesis; keep it out of the repository.
        out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=args.timeout, env=env).stdout
    except subprocess.TimeoutExpired:
        out = f"schemathesis did not finish within {args.timeout:.0f} s; counting what it reported\n"
    try:
        entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    except json.JSONDecodeError:  # cut off mid-write by the timeout
        entries, out = [], out + "the HAR report was cut off: no request counted for this pass\n"
    # Requests that got no answer (e.g. timed out) are not in the HAR: they are in the ERRORS section.
    return entries, failed_checks(section(out, "FAILURES")), (section(out, "ERRORS") + section(out, "SUMMARY")) \
        or out[-2000:]


def failed_checks(failures: str) -> list[tuple[str, str, str, str]]:
    """(operation, check, status, answer) for each failed check in schemathesis's FAILURES section:
    `___ GET /x ___` heads an operation, `- ST108 Response violates schema` a check, and `[403] ...:`
    the answer, its body on the next line."""
    found: list[tuple[str, str, str, str]] = []
    op, lines = "", failures.splitlines()
    checks: list[str] = []
    for i, line in enumerate(lines):
        if m := re.match(r"^_+ (\S+ \S+) _+$", line):
            op, checks = m.group(1), []
        elif m := re.match(r"^- (ST\d+ .+)$", line.strip()):
            checks.append(m.group(1))
        elif (m := re.match(r"^\[(\d{3})\] .*:$", line)) and checks:
            body = next((ln.strip().strip("`") for ln in lines[i + 1:i + 4] if ln.strip()), "")
            found += [(op, check, m.group(1), body[:120]) for check in checks]
            checks = []
    return found


WEBHOOKS = ("/webhooks/carriers/{carrier}", "/webhooks/channels/{kind}/{channel_id}", "/webhooks/payments/{provider}")


def fuzz_webhooks(url: str, spec: dict, bodies: int, seed: int) -> tuple[Counter[str], Counter[str], list]:
    """`bodies` more signed, mutated bodies per webhook route (bench/fuzz_hooks.py), sent directly:
    schemathesis varies only their path, so it stops after a few dozen. Each answer is checked as
    schemathesis checks the others: below 500, its status documented, its body valid against the
    documented schema. Returns requests and 5xx per route, and the mismatches (route, status, why)."""
    import random

    import jsonschema
    import requests

    from bench.fuzz_hooks import signed_webhook

    sent: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    mismatches: list[tuple[str, int, str, str]] = []
    for route in WEBHOOKS:
        responses = spec["paths"][route]["post"]["responses"]
        for i in range(bodies):
            signed = signed_webhook(route, {}, random.Random(f"{seed}-{route}-{i}"))
            if signed is None:  # not a webhook route: cannot be, WEBHOOKS are
                continue
            params, body, headers = signed
            path = route
            for name, value in params.items():
                path = path.replace(f"{{{name}}}", str(value))
            answer = requests.post(f"{url}{path}", data=body, timeout=30,
                                   headers={"Content-Type": "application/json", **headers})
            op = f"POST {route}"
            sent[op] += 1
            errors[op] += answer.status_code >= 500
            documented = responses.get(str(answer.status_code))
            if documented is None:
                mismatches.append((op, answer.status_code, "undocumented status", answer.text[:120]))
                continue
            schema = documented.get("content", {}).get("application/json", {}).get("schema")
            try:
                if schema is not None:
                    jsonschema.validate(answer.json(), {**schema, "components": spec["components"]})
            except (ValueError, jsonschema.ValidationError) as problem:
                mismatches.append((op, answer.status_code, str(problem).splitlines()[0][:120], answer.text[:120]))
    return sent, errors, mismatches


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

    paths = requests.get(f"{url}/openapi.json", timeout=120).json()["paths"]  # merged on first read: slow on a busy box
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
    parser.add_argument("--timeout", type=float, default=600, help="longest pass, s (default 600)")
    parser.add_argument("--webhook-bodies", type=int, default=300,
                        help="signed, mutated bodies per webhook route sent besides schemathesis's (default 300)")
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
        failed: Counter[tuple[str, str, str, str]] = Counter()  # (check, status, answer, operation)
        for principal in args.keys.split(","):
            print(f"... schemathesis as {principal}", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                entries, checks_failed, summary = run_schemathesis(oms.url, oms.key(principal), args, Path(tmp))
            for op, check, status, answer in checks_failed:
                failed[(check, status, answer, op)] += 1
            for e in entries:
                op = (operation_of(e, ops), principal)
                requests_[op] += 1
                if e["response"]["status"] >= 500:
                    errors[op] += 1
                    server_errors.append((principal, e))
            print(f"\n--- schemathesis as {principal}: {len(entries)} requests\n{summary.strip()}")
        print(f"... {args.webhook_bodies} signed bodies per webhook route", file=sys.stderr, flush=True)
        import requests

        spec = requests.get(f"{oms.url}/openapi.json", timeout=120).json()
        hooks_sent, hooks_5xx, hooks_mismatched = fuzz_webhooks(oms.url, spec, args.webhook_bodies, args.seed)
    finally:
        oms.stop()

    print("\nsigned webhook bodies sent directly (mutated examples; no key): requests, 5xx, answers not as documented")
    print(table([(op, n, hooks_5xx[op], sum(1 for m in hooks_mismatched if m[0] == op)) for op, n in hooks_sent.items()],
                ["operation", "requests", "5xx", "not as documented"]))
    statuses: Counter[tuple[str, int, str, str]] = Counter(hooks_mismatched)
    for (op, status, why, answer), n in statuses.most_common(10):
        print(f"  {n} x {op} -> {status}: {why}\n    {answer}")
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
    # One line per cause: the same answer failing the same check, with the operations it failed on.
    print("\nfailed checks (distinct failures schemathesis reported, every key), by cause")
    causes_: dict[tuple[str, str, str], list[str]] = {}
    for check, status, answer, op in sorted(failed):
        causes_.setdefault((check, status, answer), []).append(op)
    for (check, status, answer), ops_ in sorted(causes_.items(), key=lambda c: -len(c[1])):
        print(f"\n{check}: {status} {answer}\n  on {len(set(ops_))} operations: " + ", ".join(sorted(set(ops_))))
    failures = list(failed.items())
    total_5xx = sum(errors.values())
    print(f"\nschemathesis: {sum(requests_.values())} requests, {total_5xx} server errors, "
          f"{sum(n for _, n in failures)} distinct failed checks ({args.checks}); signed webhooks: "
          f"{sum(hooks_sent.values())} requests, {sum(hooks_5xx.values())} server errors, "
          f"{len(hooks_mismatched)} answers not as documented")

if __name__ == "__main__":
    main()
