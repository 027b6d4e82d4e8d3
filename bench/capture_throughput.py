"""Order capture through the local runtime: throughput, latency and AWS calls per order.

Starts the whole OMS in-process (moto, API front, pollers), tops up the demo stock, posts N web
orders over HTTP, waits until allocation has taken every one out of RECEIVED, and prints:
capture rate, capture-to-allocated rate, capture latency percentiles, CPU per order of the runtime
and of the emulator, final statuses, the AWS API calls per order (what our Lambda code calls, and
what the runtime's stand-ins for AWS services call), and the emulator's own count of the requests
it served per order, with the time each kind held its one lock.

    python -m bench.capture_throughput [--orders 500] [--concurrency 8] [--capture-alone] [--baseline]
    python -m bench.capture_throughput --ratio    # capture alone, then capture to allocated: the ratio

`--ratio` runs the benchmark twice, each on a fresh runtime: once with the event sources paused
while capturing (capture alone), once with allocation running alongside (capture to allocated),
and prints the ratio the local runtime aims at (0.5 or more), next to the figures measured on the
same 2-core box before the event sources polled as Lambda does (`BEFORE`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from bench.common import CallCounter, emulator_stats, emulator_table, percentile, process_cpu_s, quiet, table

EU_COUNTRIES = {"DE": ("Berlin", 52.52, 13.40), "FR": ("Paris", 48.86, 2.35), "ES": ("Madrid", 40.42, -3.70)}
STOCK_TOP_UP = 1_000_000
RATIO_TARGET = 0.5  # capture to allocated, as a share of capture alone
# 500 orders, 8 client threads, 4 containers, before the pollers long-polled (commit d51694e, the
# same 2-core box; emulator requests counted the same way, server side): see docs/performance.md.
BEFORE = {"capture alone": 73.2, "capture to allocated": 3.0, "emulator requests per order": 31.8,
          "emulator CPU ms per order": 308, "runtime CPU ms per order": 105}
ALLOCATOR = "allocate-orders"  # the function that takes an order out of RECEIVED


def order_body(run: str, n: int, skus: list[str], rng: random.Random) -> dict:
    country = rng.choice(sorted(EU_COUNTRIES))
    city, lat, lon = EU_COUNTRIES[country]
    picked = [(sku, rng.randint(1, 3), Decimal(rng.randint(900, 4999)) / 100) for sku in rng.sample(skus, rng.randint(1, 2))]
    lines = [{"sku": sku, "quantity": quantity, "unit_price": f"{price:.2f}"} for sku, quantity, price in picked]
    amount = sum((price * quantity for _, quantity, price in picked), Decimal(0))
    return {
        "channel_order_id": f"BENCH-{run}-{n}",
        "customer": {"id": f"c{n}", "email": f"c{n}@example.com", "name": "Bench Customer"},
        "shipping_address": {"line1": "Benchstrasse 1", "city": city, "country": country, "lat": lat, "lon": lon},
        "lines": lines, "currency": "EUR",
        "payment": {"status": "paid", "amount": str(amount)},  # equal to the lines: no payment hold
    }


class Watch:
    """Wraps the runtime's invoke (an instance attribute, so the API front and the pollers all call
    the wrapper). It labels each thread with the function it runs, so every AWS call can be
    attributed, and notes the orders allocation has finished with: progress is seen without
    reading the emulator, whose queries scan the whole table under its one lock."""

    def __init__(self, functions):
        self.local, self.lock = threading.local(), threading.Lock()
        self.done: set[str] = set()
        inner = functions.invoke

        def invoke(name: str, event: dict) -> dict:
            self.local.label = f"{name} {event['httpMethod']} {event['resource']}" if "httpMethod" in event else name
            try:
                result = inner(name, event)
            finally:
                self.local.label = ""
            if name == ALLOCATOR:  # records not reported as failed are allocated, backordered or held
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}
                ids = [json.loads(r["body"])["detail"]["order_id"] for r in event["Records"]
                       if r["messageId"] not in failed]
                with self.lock:
                    self.done.update(ids)
            return result

        functions.invoke = invoke

    def label(self) -> str:
        return getattr(self.local, "label", "") or "outside a function"

    def wait_allocated(self, order_ids: set[str], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if order_ids <= self.done:
                    return True
            time.sleep(0.02)
        return False


def run(orders: int, concurrency: int, containers: int, timeout_s: float, seed: int, alone: bool = False) -> dict:
    import requests

    from bench.common import emulator_client
    from infra.wiring import DEFAULTS
    from local.demo import LOCATIONS, PRODUCTS
    from local.runtime import LocalOms, QueuePoller, StreamPoller
    from shared.adapters.aws import client

    progress("starting the local OMS")
    oms = LocalOms(port=0, concurrency=containers, demo_data=True).start()
    try:
        watch = Watch(oms.functions)
        handlers = CallCounter(watch.label)
        for service in ("dynamodb", "events"):  # the cached clients every handler uses
            handlers.hook(client(service))
        runtime = CallCounter(lambda: threading.current_thread().name)  # e.g. sqs:allocate-orders
        for poller in oms.threads:
            if isinstance(poller, QueuePoller):
                runtime.hook(poller.sqs)
            elif isinstance(poller, StreamPoller):
                runtime.hook(poller.streams)
        ddb = emulator_client("dynamodb", oms.emulator_url)  # unhooked: the benchmark's own reads

        def items() -> int:
            return ddb.describe_table(TableName=DEFAULTS.table_name)["Table"]["ItemCount"]

        progress("topping up demo stock")
        operator = requests.Session()
        operator.headers["x-api-key"] = oms.key("operator")
        eu = [loc for loc, spec in LOCATIONS.items() if spec.country in EU_COUNTRIES]
        for sku in PRODUCTS:  # demo stock is a few dozen units: top it up so stock is never the limit
            for loc in eu:
                operator.put(f"{oms.url}/inventory/{sku}/{loc}", json={"on_hand": STOCK_TOP_UP}).raise_for_status()

        sessions = threading.local()

        def post(body: dict) -> tuple[float, int, str | None]:
            if not hasattr(sessions, "s"):
                sessions.s = requests.Session()
                sessions.s.headers["x-api-key"] = oms.key("web")
            start = time.perf_counter()
            response = sessions.s.post(f"{oms.url}/orders", json=body)
            elapsed = time.perf_counter() - start
            return elapsed, response.status_code, response.json().get("order_id") if response.ok else None

        rng, run_id = random.Random(seed), uuid.uuid4().hex[:6]
        progress("warming up")  # untimed, uncounted: one order per client thread loads the containers
        with ThreadPoolExecutor(concurrency) as pool:
            warm = list(pool.map(post, [order_body(f"{run_id}w", i, PRODUCTS, rng) for i in range(concurrency)]))
        watch.wait_allocated({r[2] for r in warm if r[2]}, timeout_s)
        handlers.wait_quiet()  # the top-up's and warm-up's events drain before counting starts
        handlers_before, runtime_before, items_before = handlers.snapshot(), runtime.snapshot(), items()
        emulator_before = emulator_stats(oms.emulator_url)
        cpu_before = process_cpu_s(os.getpid()), process_cpu_s(oms.moto.process.pid)

        progress(f"capturing {orders} orders" + (" with event sources paused" if alone else ""))
        bodies = [order_body(run_id, i, PRODUCTS, rng) for i in range(orders)]
        if alone:  # capture alone: allocation and the relay wait, as behind a paused event source mapping
            oms.pause_event_sources()
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(post, bodies))
        captured_s = time.perf_counter() - start
        oms.resume_event_sources()
        drained = watch.wait_allocated({r[2] for r in results if r[2]}, timeout_s)
        allocated_s = time.perf_counter() - start
        cpu_s = process_cpu_s(os.getpid()) - cpu_before[0], process_cpu_s(oms.moto.process.pid) - cpu_before[1]
        handlers.wait_quiet()  # allocation's own events (OrderAllocated, StockLow) reach the bus
        emulator_after = emulator_stats(oms.emulator_url)
        return {
            "orders": orders, "concurrency": concurrency, "containers": containers, "alone": alone,
            "latencies": [r[0] for r in results], "http": Counter(r[1] for r in results),
            "captured_s": captured_s, "allocated_s": allocated_s, "drained": drained,
            "handler_calls": handlers.snapshot() - handlers_before,
            "runtime_calls": runtime.snapshot() - runtime_before,
            "emulator": emulator_after - emulator_before, "cpu_s": cpu_s,
            "items": (items_before, items()),
            "statuses": final_statuses(operator, oms.url, f"BENCH-{run_id}-"),
        }
    finally:
        oms.stop()


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def final_statuses(session, url: str, prefix: str) -> Counter:
    statuses: Counter = Counter()
    cursor = None
    for _ in range(1000):  # bounded: 200 orders a page
        params = {"channel": "web", "limit": 200} | ({"cursor": cursor} if cursor else {})
        page = session.get(f"{url}/orders", params=params).json()
        statuses.update(o["status"] for o in page["orders"] if o["request"]["channel_order_id"].startswith(prefix))
        cursor = page["next_cursor"]
        if not cursor:
            break
    return statuses


def calls_table(calls: Counter, orders: int, caller: str) -> tuple[str, int]:
    rows = sorted(((label, svc, op, n, n / orders) for (label, svc, op), n in calls.items()),
                  key=lambda r: (r[0], -r[3]))
    total = sum(r[3] for r in rows)
    rows.append(("total", "", "", total, total / orders))
    return table(rows, [caller, "service", "operation", "calls", "per order"]), total


def report(r: dict, baseline_tps: float | None) -> None:
    n, ms = r["orders"], [x * 1000 for x in r["latencies"]]
    capture_rate, allocated_rate = n / r["captured_s"], n / r["allocated_s"]
    print(f"\n{n} orders, {r['concurrency']} client threads, {r['containers']} containers per function"
          + (", event sources paused while capturing (capture alone; allocation afterwards)" if r["alone"] else
             ", allocation running alongside capture"))
    print(f"HTTP statuses of POST /orders: {dict(sorted(r['http'].items()))}")
    print(f"capture:               {capture_rate:7.1f} orders/s  ({r['captured_s']:.1f} s)")
    print(f"capture to allocated:  {allocated_rate:7.1f} orders/s  ({r['allocated_s']:.1f} s)"
          + ("" if r["drained"] else "  NOT DRAINED: some orders still RECEIVED at the timeout"))
    print(f"capture latency (ms):  p50 {percentile(ms, 50):.0f}  p95 {percentile(ms, 95):.0f}  "
          f"p99 {percentile(ms, 99):.0f}  max {max(ms):.0f}")
    print(f"CPU from the first POST to the last allocation: runtime process {r['cpu_s'][0]:.1f} s "
          f"({r['cpu_s'][0] * 1000 / n:.0f} ms per order), emulator process {r['cpu_s'][1]:.1f} s "
          f"({r['cpu_s'][1] * 1000 / n:.0f} ms per order)")
    print(f"final statuses: {dict(r['statuses'].most_common())}")
    print(f"table items: {r['items'][0]} before capture, {r['items'][1]} after")

    handler_table, handler_total = calls_table(r["handler_calls"], n, "function")
    print("\nAWS API calls made by our Lambda code (what we pay for and are throttled on in AWS):")
    print(handler_table)
    runtime_table, _ = calls_table(r["runtime_calls"], n, "poller")
    print("\nAWS API calls AWS itself makes for us (event source mappings: SQS receive/delete, stream reads);")
    print("idle polling included, so per order it depends on the run's length:")
    print(runtime_table)
    print("\nEmulator requests (server side, every caller) per order and the time they held its one lock:")
    print(emulator_table(r["emulator"], n))
    print(f"\nhandler AWS calls per order: {handler_total / n:.2f} "
          "(target <= 12 capture to delivered; this run covers capture to allocated)")
    if baseline_tps is not None:
        from bench.emulator_baseline import TARGET_LINE, TARGET_RATIO

        ratio = capture_rate / baseline_tps
        print(f"emulator bare conditional transactions: {baseline_tps:.1f} tx/s; capture {capture_rate:.1f} orders/s; "
              f"ratio {ratio:.2f} ({'meets' if ratio >= TARGET_RATIO else 'below'} the target: {TARGET_LINE})")


def report_ratio(alone: dict, mixed: dict) -> None:
    """The local runtime's throughput target: capture to allocated (allocation running alongside)
    at least RATIO_TARGET of capture alone (event sources paused), before and now."""
    n = mixed["orders"]
    now = {
        "capture alone": alone["orders"] / alone["captured_s"],
        "capture to allocated": n / mixed["allocated_s"],
        "emulator requests per order": sum(v for (_, kind), v in mixed["emulator"].items() if kind == "requests") / n,
        "emulator CPU ms per order": mixed["cpu_s"][1] * 1000 / n,
        "runtime CPU ms per order": mixed["cpu_s"][0] * 1000 / n,
    }
    rows = [(name, BEFORE[name], now[name]) for name in now]
    ratio_before = BEFORE["capture to allocated"] / BEFORE["capture alone"]
    ratio_now = now["capture to allocated"] / now["capture alone"]
    rows.append((f"ratio (target {RATIO_TARGET})", ratio_before, ratio_now))
    print(f"\nLocal runtime throughput, {n} orders (orders/s; per order: in the capture to allocated run):")
    print(table(rows, ["figure", "before", "now"]))
    print(f"capture to allocated is {ratio_now:.2f} of capture alone: "
          f"{'meets' if ratio_now >= RATIO_TARGET else 'below'} the target of {RATIO_TARGET}"
          + ("" if mixed["drained"] else " (NOT DRAINED: some orders still RECEIVED at the timeout)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", "-n", type=int, default=500, help="orders to capture (default 500)")
    parser.add_argument("--capture-alone", action="store_true",
                        help="pause the event sources while capturing: capture's own rate, then allocation's")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP client threads (default 8)")
    parser.add_argument("--containers", type=int, default=4, help="containers per function, as `make run` (default 4)")
    parser.add_argument("--timeout", type=float, default=120, help="longest wait for allocation, s (default 120)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated orders")
    parser.add_argument("--baseline", action="store_true",
                        help="also measure the emulator's bare conditional transaction rate, and print the ratio")
    parser.add_argument("--baseline-transactions", type=int, default=None,
                        help="transactions for --baseline (default: as many as --orders)")
    parser.add_argument("--ratio", action="store_true",
                        help="run capture alone, then capture to allocated (fresh runtimes), and print their ratio")
    args = parser.parse_args()
    quiet()
    if args.ratio:
        with contextlib.redirect_stdout(sys.stderr):
            alone = run(args.orders, args.concurrency, args.containers, args.timeout, args.seed, alone=True)
            mixed = run(args.orders, args.concurrency, args.containers, args.timeout, args.seed, alone=False)
        report(mixed, None)
        report_ratio(alone, mixed)
        return
    with contextlib.redirect_stdout(sys.stderr):  # handlers' log and metric lines: stdout has only figures
        result = run(args.orders, args.concurrency, args.containers, args.timeout, args.seed, args.capture_alone)
    baseline_tps = None
    if args.baseline:
        from bench.emulator_baseline import measure

        # After the capture, on a table prefilled to the size the OMS table had when capture began:
        # moto's transaction cost grows with the table, so both are measured from the same size.
        progress(f"measuring the emulator baseline from {result['items'][0]} items")
        baseline_tps = measure(args.baseline_transactions or args.orders, args.concurrency, result["items"][0])
    report(result, baseline_tps)

if __name__ == "__main__":
    main()
