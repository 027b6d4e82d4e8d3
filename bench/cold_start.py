"""Cold start of each Lambda function: importing its handler module plus its first invocation, and its
deployment package size.

Each sample is a fresh interpreter (bench/cold_child.py) talking to a moto server started here,
with the environment the stack gives the function and a realistic first event (bench/cold_events.py).
The baseline is the least any function that touches DynamoDB pays: import boto3, create one client,
make one call. The guide's target is a median within 1.5x of that baseline. Two floors show what the
libraries alone cost an API and a queue function (Powertools, pydantic) before any code of ours.
Each sample also records the child's CPU time (cpu, cpu x): on a box other
processes load, wall time includes waiting for a core and CPU time far less. The package is what the
stack deploys for the function (bench/package_size.py). Finally the slowest
function is run once more under `python -X importtime` to show which modules its cold start spends
time on. With --as-deployed, the children run our code from those bundles and write no byte code:
as in Lambda, where the code and the layers are read-only, so what Python does not find compiled in
them (the bundles ship unchecked-hash .pyc, infra/components/layers.py) it compiles at every cold start. With --compare DIR, the functions of another checkout (an
earlier commit's worktree) run in the same rounds and are divided by the same baseline: a before and
after that one busy moment on the box does not skew.

    python -m bench.cold_start [--repeats 5] [--only NAME ...] [--as-deployed] [--compare DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from bench.cold_child import BASELINE, FLOOR_API, FLOOR_SQS, MARK
from bench.cold_events import KEY_ID, api_event, first_event, sqs_event

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
BASELINE_NAME = "baseline (boto3 + 1 call)"
FLOORS = {"floor: API (resolver + validation)": FLOOR_API, "floor: queue (batch + parser)": FLOOR_SQS}


def child_environment(endpoint: str) -> dict[str, str]:
    from bench.common import EMULATOR_CREDENTIALS
    from infra import wiring

    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "OMS_", "PYTHON"))}
    return inherited | EMULATOR_CREDENTIALS | {
        "AWS_ENDPOINT_URL": endpoint,
        wiring.ENV.table: wiring.DEFAULTS.table_name,
        wiring.ENV.bus: wiring.DEFAULTS.bus_name,
        wiring.ENV.principals: json.dumps({KEY_ID: wiring.OPERATOR}),
        wiring.ENV.carrier_secret: wiring.DEFAULTS.carrier_secret,
        wiring.ENV.label_bucket: wiring.DEFAULTS.label_bucket,
        wiring.ENV.local_outbox: tempfile.gettempdir() + "/oms-bench-outbox",
        wiring.queue_url_env(wiring.on.TRACKING_UPDATES): f"{endpoint}/123456789012/{wiring.on.TRACKING_UPDATES}",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "oms",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }


# Runs this checkout's bench/cold_child.py with the working directory first on sys.path: in another
# checkout (--compare), its functions/ and shared/ are the ones imported.
CHILD_ELSEWHERE = f"import runpy; runpy.run_path({str(ROOT / 'bench' / 'cold_child.py')!r}, run_name='__main__')"


def cold_start(module: str, event: dict, env: dict, importtime: bool = False, cwd: Path = ROOT) -> tuple[dict, str]:
    child = ["-m", "bench.cold_child"] if cwd == ROOT else ["-c", CHILD_ELSEWHERE]
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), *child, module, json.dumps(event)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"{module} failed:\n{done.stderr[-3000:]}")
    # The child's CPU time (user + system, interpreter start included; moto's work is in this process, not
    # counted): on a box other processes load, wall time waits for a core and CPU time much less so.
    cpu_ms = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return json.loads(line[len(MARK):]) | {"cpu_ms": cpu_ms}, done.stderr


def import_times(stderr: str) -> dict[str, float]:
    """Each module's own import time (ms) from `-X importtime` output."""
    own: dict[str, float] = {}
    for line in stderr.splitlines():  # "import time: self [us] | cumulative | imported package"
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:"):].split("|")
            own[name.strip()] = float(self_us) / 1000
    return own


def by_package(own: dict[str, float]) -> list[tuple[str, float]]:
    packages: dict[str, float] = defaultdict(float)
    for name, ms in own.items():
        packages[name.split(".")[0]] += ms
    return sorted(packages.items(), key=lambda kv: -kv[1])[:10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", "-r", type=int, default=5, help="cold starts per function (default 5)")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="these functions only (wiring names)")
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="another checkout (e.g. a git worktree of an earlier commit) whose functions are "
                             "measured in the same rounds, against the same baseline samples")
    parser.add_argument("--as-deployed", action="store_true",
                        help="run our code from the stack's bundles, writing no byte code, as Lambda does (the layer "
                             "and the code are read-only: only the .pyc they ship spare a compile)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oms-cold-") as tmp:
        run(args, Path(tmp))


def deployed(bundles: dict[str, Path], tmp: Path) -> Path:
    """A directory to run the children from where `functions` and `shared` are the stack's bundles."""
    run_dir = tmp / "run"
    run_dir.mkdir()
    (run_dir / "functions").symlink_to(bundles["code"], target_is_directory=True)
    (run_dir / "shared").symlink_to(bundles["shared"] / "python" / "shared", target_is_directory=True)
    return run_dir


def run(args: argparse.Namespace, tmp: Path) -> None:

    import boto3

    from bench.common import REGION, quiet, table
    from bench.package_size import bundle, package_sizes, total
    from infra import wiring
    from local.emulator import provision, start_moto

    functions = [fn for fn in wiring.FUNCTIONS if not args.only or fn.name in args.only]
    memory = {fn.name: fn.memory_mb for fn in functions}
    bundles = bundle(tmp)
    sizes = {name: total(parts) for name, parts in package_sizes(functions, bundles).items()}
    cwd = deployed(bundles, tmp) if args.as_deployed else ROOT
    quiet()
    server, endpoint = start_moto()
    try:
        session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        stream_arn = provision(session, endpoint, wiring.DEFAULTS.table_name, wiring.DEFAULTS.bus_name).stream_arn
        env = child_environment(endpoint)
        if args.as_deployed:  # bench/ from the repository; functions/ and shared/ from cwd, never compiled to disk
            env |= {"PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
        table_name = wiring.DEFAULTS.table_name
        floor_events = {FLOOR_API: api_event(wiring.function("orders-api")),
                        FLOOR_SQS: sqs_event(wiring.function("allocate-orders"))}
        cases: dict[str, tuple[str, dict]] = {BASELINE_NAME: (BASELINE, {"table": table_name})}
        cases |= {name: (floor, {"table": table_name, "event": floor_events[floor]}) for name, floor in FLOORS.items()}
        cases |= {fn.name: (fn.module, first_event(fn, stream_arn)) for fn in functions}
        # The other checkout's function of the same name, where it has one, given the same event; as deployed,
        # the repository's own (with its byte code).
        other = args.compare or (ROOT if args.as_deployed else None)
        compared = {name: case for name, case in cases.items() if other and name in sizes
                    and (other / "functions" / (case[0].replace(".", "/") + ".py")).exists()}
        samples: dict[str, list[dict]] = defaultdict(list)
        others: dict[str, list[dict]] = defaultdict(list)
        for n in range(args.repeats):  # round robin, so drift on the box affects every function alike
            print(f"... round {n + 1}/{args.repeats}", file=sys.stderr, flush=True)
            for name, (module, event) in cases.items():
                for into, where in ((samples, cwd), *([(others, other)] if other and name in compared else [])):
                    sample = cold_start(module, event, env, cwd=where)[0]
                    into[name].append(sample | {"total_ms": sample["import_ms"] + sample["invoke_ms"]})

        def median(name: str, key: str, of: dict[str, list[dict]] = samples) -> float:
            return statistics.median(s[key] for s in of[name])

        floor, cpu_floor = median(BASELINE_NAME, "total_ms"), median(BASELINE_NAME, "cpu_ms")
        rows = [(name, median(name, "import_ms"), median(name, "invoke_ms"), median(name, "total_ms"),
                 median(name, "total_ms") / floor,
                 *((f"{median(name, 'total_ms', others):.0f}", f"{median(name, 'total_ms', others) / floor:.2f}")
                   if name in compared else ("-", "-"))[:2 if other else 0],
                 median(name, "cpu_ms"), median(name, "cpu_ms") / cpu_floor,
                 *((f"{median(name, 'cpu_ms', others) / cpu_floor:.2f}",) if name in compared else ("-",))[:1 if other else 0],
                 f"{sizes[name].unzipped / 1e6:.2f}" if name in sizes else "-",
                 f"{sizes[name].zipped / 1e6:.2f}" if name in sizes else "-",
                 f"{max(s['peak_mb'] for s in samples[name]):.0f}",
                 f"{memory[name]}" if name in memory else "-",
                 samples[name][-1]["outcome"]) for name in cases]
        print(f"\ncold start, median of {args.repeats} fresh interpreters (ms); target <= {TARGET_RATIO}x baseline;"
              " package: function code + our layers as the stack deploys them (MB)"
              + ("; as deployed: our code from the stack's bundles, writing no byte code" if args.as_deployed else "")
              + (f"; compared: {other}" + (" (with byte code)" if other == ROOT else "") if other else ""))
        print(table(rows, ["function", "import", "1st invoke", "total", "x baseline",
                           *(["compared total", "compared x"] if other else []), "cpu", "cpu x",
                           *(["compared cpu x"] if other else []), "package", "zipped",
                           "peak MB", "memory MB", "1st invoke answered"]))
        print("(cpu: the child's CPU time, user + system, its interpreter's start included, and its ratio to the "
              "baseline's: steadier than wall time when other processes load the box; "
              "package: not counting AWS's Powertools layer and the runtime's boto3, the same for every function; "
              "peak MB: the child's peak resident memory after one cold start and invocation, to set against "
              "memory MB, the wiring's)")
        worst = max((r for r in rows if r[0] in sizes), key=lambda r: r[3])
        print(f"\nworst: {worst[0]} at {worst[4]:.2f}x the baseline ({worst[3]:.0f} ms vs {floor:.0f} ms)")

        module, event = cases[worst[0]]
        own = import_times(cold_start(module, event, env, importtime=True, cwd=cwd)[1])
        floor_modules = import_times(cold_start(*cases[BASELINE_NAME], env, importtime=True, cwd=cwd)[1])
        print(f"\n{worst[0]} under -X importtime (a slower clock: compare, don't add): top modules by own time")
        print(table(sorted(own.items(), key=lambda kv: -kv[1])[:10], ["module", "self ms"]))
        print("\n... and what it imports beyond the baseline (boto3 and its dependencies), by package")
        print(table(by_package({m: ms for m, ms in own.items() if m not in floor_modules}), ["package", "self ms"]))
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
