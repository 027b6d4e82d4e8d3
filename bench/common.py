"""Small helpers shared by the benchmarks: stdlib-only at import so `bench.cold_start` children stay clean."""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

REGION = "us-east-1"
# Throwaway credentials and no config files: nothing may look for real AWS credentials or reach IMDS.
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def quiet() -> None:
    """Keep benchmark output to the figures: no per-request or 'no metrics' noise."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@contextmanager
def emulated_repositories(*, quiet_logs: bool = True) -> Iterator:
    """The repositories on a fresh in-process emulator (moto) with the stack's table and bus, shut down after.

    Imports boto3 and the project lazily: this module stays stdlib-only at import."""
    import os

    os.environ.update(EMULATOR_CREDENTIALS)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    if quiet_logs:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    import boto3

    from infra import wiring
    from local.emulator import provision, start_moto, use_emulator
    from local.runtime import reset_process_caches
    from shared.repositories import repositories

    server, url = start_moto()
    try:
        use_emulator(url)
        resources = provision(boto3.Session(), url, wiring.DEFAULTS.table_name, wiring.DEFAULTS.bus_name)
        os.environ.update(resources.environment())
        reset_process_caches()
        yield repositories()
    finally:
        server.shutdown()


def emulator_client(service: str, endpoint: str, pool: int = 10):
    """A boto3 client on its own session (so no benchmark hook sees it) pointed at the emulator."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
    return session.client(service, endpoint_url=endpoint, config=Config(max_pool_connections=pool))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: p99 of 500 samples is the 495th, not an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


class CallCounter:
    """Counts botocore API calls by (label, service, operation) from `before-call` events.

    `before-call` fires once per API call, before retries, so it counts what the code asks for.
    `label` is a callable giving the caller's label at call time (e.g. the function invoked)."""

    def __init__(self, label: Callable[[], str] = lambda: ""):
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._label = label

    def hook(self, botocore_client) -> None:
        # A client copies its session's event emitter when created: registering here sees only it.
        botocore_client.meta.events.register("before-call.*.*", self._count, unique_id=f"bench-{id(self)}")

    def _count(self, event_name: str, **_) -> None:
        service, operation = event_name.split(".", 2)[1:]
        key = (self._label(), service, operation)
        with self._lock:
            self.counts[key] += 1

    def snapshot(self) -> Counter:
        with self._lock:
            return Counter(self.counts)

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def wait_quiet(self, quiet_s: float = 1.0, timeout_s: float = 60.0) -> bool:
        """Wait until no call was counted for `quiet_s` (asynchronous work has drained)."""
        deadline = time.monotonic() + timeout_s
        last, since = self.total(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now_total = self.total()
            if now_total != last:
                last, since = now_total, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return True
        return False


def table(rows: Iterable[Sequence], headers: Sequence[str]) -> str:
    """A plain text table; numbers right-aligned."""
    rows = [[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = [all(r[i].replace(".", "", 1).replace("-", "", 1).isdigit() for r in rows) for i in range(len(headers))]

    def line(cells):
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def emulator_stats(endpoint: str) -> Counter:
    """Requests the emulator served and seconds they held its lock, per "service Operation"
    (local/emulator.py counts them server-side, so every caller is included: handlers, pollers,
    the API front's key look-ups). Keys are (operation, "requests"), (operation, "seconds") and
    (operation, "cpu"): wall and CPU seconds holding the emulator's lock."""
    import json
    import urllib.request

    from local.emulator_server import STATS_PATH

    with urllib.request.urlopen(endpoint + STATS_PATH, timeout=10) as response:  # 127.0.0.1 only
        stats = json.load(response)
    out: Counter = Counter()
    for op, (requests, seconds, cpu) in stats.items():
        out[(op, "requests")], out[(op, "seconds")], out[(op, "cpu")] = requests, seconds, cpu
    return out


def emulator_table(delta: Counter, orders: int) -> str:
    """Emulator requests per order by operation, with the lock time they took (wall and CPU),
    busiest first."""
    ops = sorted({op for op, _ in delta}, key=lambda op: -delta[(op, "requests")])
    rows = [(op, int(delta[(op, "requests")]), delta[(op, "requests")] / orders,
             delta[(op, "seconds")] * 1000 / orders, delta[(op, "cpu")] * 1000 / orders)
            for op in ops if delta[(op, "requests")]]
    total = sum(r[1] for r in rows)
    rows.append(("total", total, total / orders, sum(r[3] for r in rows), sum(r[4] for r in rows)))
    return table(rows, ["service operation", "requests", "per order", "lock ms per order", "of it CPU ms"])


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    import os

    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
