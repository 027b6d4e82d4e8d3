"""AWS requests per order over its whole life, capture to DELIVERED, through the local runtime.

Each order is captured by a channel, allocated, turned into a fulfilment order, accepted, picked,
packed and shipped by the location (with its own tracking number, or with a label the OMS buys:
`--labels`), tracked to DELIVERED by a signed carrier webhook, and its customer is told at each
moment. Every AWS API call made inside a Lambda handler is counted (botocore `_make_api_call`, so
also the clients Powertools creates itself), per function and per operation; the calls the runtime
makes in place of AWS services (SQS event source mapping, stream polling) are counted apart.

    python -m bench.order_lifecycle [--orders 20] [--labels] [--wms] [--concurrency 1] [--authorized]

--wms: the location reports only the shipment (a WMS or 3PL), not accept/pick/pack.
--authorized: orders arrive with a card authorisation (sandbox intent), captured per shipment; else
paid at checkout (invoiced, nothing to capture).
--concurrency: orders in flight at once; the event relay batches up to 10 events per PutEvents
call, so its share per order falls as volume rises (one order at a time is its worst case).

Prints figures only; asserts nothing (the guide's target is at most 12 requests per order).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import percentile, quiet, table

TARGET = 12
POLL_HEADER = "X-Bench-Poll"
STAGES = {  # function -> the stage of the order's life it serves
    "orders-api": "capture",
    "publish-events": "event relay",
    "allocate-orders": "allocation",
    "request-fulfillment": "fulfilment request",
    "fulfillment-api": "location: accept, pick, pack, ship",
    "carrier-webhooks": "carrier webhook",
    "apply-tracking": "tracking",
    "notify-customers": "customer messages",
    "settle-payments": "payment: invoice, capture",
    "render-documents": "invoice PDF",
}


class Counting:
    """Counts every botocore call by the function being invoked in this thread (or 'runtime')."""

    def __init__(self, functions, meter=None):
        from botocore.client import BaseClient

        from local.functions import FunctionPool

        self.local, self.lock = threading.local(), threading.Lock()
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.events_published: Counter[str] = Counter()  # PutEvents entries, by function
        self.invocations: Counter[str] = Counter()
        self.billed_ms: Counter[str] = Counter()  # handler time rounded up to the ms, as Lambda bills
        self.records: Counter[str] = Counter()  # SQS records handed to each function
        self.stream_records: Counter[str] = Counter()  # table stream records handed to each function
        self.samples: dict[str, list] = {}  # per function, one lifecycle_cost.Sample per invocation
        self.meter = meter
        original, inner, counter = BaseClient._make_api_call, functions.invoke, self
        original_load = FunctionPool._load

        def make_api_call(client, operation, params):
            fn = getattr(counter.local, "fn", "") or "runtime"
            service = client.meta.service_model.service_name
            with counter.lock:
                counter.counts[(fn, service, operation)] += 1
                if operation == "PutEvents":
                    counter.events_published[fn] += len(params.get("Entries", ()))
            inv = getattr(counter.local, "inv", None)
            if inv is not None:
                inv.calls.append((service, operation))
            if meter is not None and service == "dynamodb" and fn not in ("runtime", "benchmark polling"):
                real = [0.0, 0.0]  # wall and CPU of the call itself; the rest is the meter's reads

                def call(op, p):
                    if p is not params:
                        return original(client, op, p)
                    wall, cpu = time.perf_counter(), time.thread_time()
                    try:
                        return original(client, op, p)
                    finally:
                        real[0] += time.perf_counter() - wall
                        real[1] += time.thread_time() - cpu

                wall, cpu = time.perf_counter(), time.thread_time()
                try:
                    return meter.measure(fn, operation, params, call)
                finally:
                    if inv is not None:
                        inv.overhead_wall_s += time.perf_counter() - wall - real[0]
                        inv.overhead_cpu_s += time.thread_time() - cpu - real[1]
            return original(client, operation, params)

        def invoke(name, event):
            # The benchmark's own waiting (order status, pull list, shipment) is not the order's cost.
            polling = any(k.lower() == POLL_HEADER.lower() for k in (event.get("headers") or {}))
            counter.local.fn = "benchmark polling" if polling else name
            try:
                return inner(name, event)
            finally:
                counter.local.fn = ""

        def load(pool, number):
            module = original_load(pool, number)
            handler, name = module.lambda_handler, pool.fn.name

            def timed(event, context):
                from bench.lifecycle_cost import Invocation, Sample

                started, cpu_started = time.perf_counter(), time.thread_time()
                counter.local.inv = inv = Invocation()
                try:
                    return handler(event, context)
                finally:
                    counter.local.inv = None
                    if getattr(counter.local, "fn", "") != "benchmark polling":
                        elapsed_ms = (time.perf_counter() - started) * 1000
                        sample = Sample(wall_ms=elapsed_ms - inv.overhead_wall_s * 1000,
                                        cpu_ms=(time.thread_time() - cpu_started - inv.overhead_cpu_s) * 1000,
                                        calls=tuple(inv.calls))
                        records = [r for r in event.get("Records", ()) if r.get("eventSource") == "aws:sqs"]
                        streamed = [r for r in event.get("Records", ()) if r.get("eventSource") == "aws:dynamodb"]
                        with counter.lock:
                            counter.invocations[name] += 1
                            counter.billed_ms[name] += math.ceil(elapsed_ms)
                            counter.records[name] += len(records)
                            counter.stream_records[name] += len(streamed)
                            counter.samples.setdefault(name, []).append(sample)

            module.lambda_handler = timed
            return module

        BaseClient._make_api_call = make_api_call
        functions.invoke = invoke
        FunctionPool._load = load

        def restore():
            BaseClient._make_api_call = original
            FunctionPool._load = original_load

        self._restore = restore

    def totals(self) -> dict[str, Counter]:
        with self.lock:
            return {"calls": Counter(self.counts), "events": Counter(self.events_published),
                    "invocations": Counter(self.invocations), "billed_ms": Counter(self.billed_ms),
                    "records": Counter(self.records), "stream_records": Counter(self.stream_records),
                    "units": Counter(self.meter.units) if self.meter else Counter(),
                    "units_by_kind": Counter(self.meter.by_kind) if self.meter else Counter()}

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.counts)

    def quiet(self, seconds: float = 1.5, timeout: float = 120) -> None:
        deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            total = sum(self.snapshot()[k] for k in self.snapshot() if k[0] != "runtime")
            if total != last:
                last, since = total, time.monotonic()
            elif time.monotonic() - since > seconds:
                return
            time.sleep(0.1)

    def close(self) -> None:
        self._restore()


def canonical_webhook(secret: str, tracking_code: str, status: str, at: datetime) -> tuple[bytes, dict]:
    body = json.dumps({"event_id": f"bench-{tracking_code}-{status}", "tracking_code": tracking_code,
                       "status": status, "occurred_at": at.isoformat()}).encode()
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"X-OMS-Timestamp": ts, "X-OMS-Signature": f"v1={sig}", "Content-Type": "application/json"}


def wait(predicate, timeout=60.0, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError("the order did not get there in time")


def run(orders: int, labels: bool, wms: bool = False, concurrency: int = 1, authorized: bool = False) -> dict:
    import requests

    from local.demo import LOCATIONS
    from local.emulator import DEMO_CARRIER_SECRET
    from local.runtime import LocalOms

    print("... starting the local OMS", file=sys.stderr, flush=True)
    oms = LocalOms(port=0, concurrency=2, retry_delay_s=1).start()
    counting = Counting(oms.functions)
    operator, web, poll = requests.Session(), requests.Session(), requests.Session()
    operator.headers["x-api-key"], web.headers["x-api-key"] = oms.key("operator"), oms.key("web")
    poll.headers.update({"x-api-key": oms.key("operator"), POLL_HEADER: "1"})
    for loc in LOCATIONS:
        operator.put(f"{oms.url}/inventory/TEE-BLK-M/{loc}", json={"on_hand": 100_000}).raise_for_status()
    run_id = uuid.uuid4().hex[:6]
    durations = []
    try:
        def one(n: int, counted: bool) -> None:
            started = time.perf_counter()
            body: dict[str, Any] = {"channel_order_id": f"LIFE-{run_id}-{n}", "customer": {"id": f"c{n}", "email": f"c{n}@example.com",
                                                                        "name": "Bench Customer", "language": "en"},
                    "shipping_address": {"line1": "Benchstr. 1", "city": "Berlin", "country": "DE",
                                         "lat": 52.52, "lon": 13.40},
                    "lines": [{"sku": "TEE-BLK-M", "quantity": 1, "unit_price": "19.99"}], "currency": "EUR",
                    "payment": ({"status": "authorized", "amount": "19.99", "provider": "sandbox",
                                 "intent_id": f"pi_bench_{run_id}_{n}"} if authorized
                                else {"status": "paid", "amount": "19.99"}),
                    "promised_by": (datetime.now(UTC) + timedelta(days=5)).isoformat()}
            order_id = web.post(f"{oms.url}/orders", json=body).json()["order_id"]
            location = wait(lambda: (o := poll.get(f"{oms.url}/orders/{order_id}").json())["allocations"]
                            and o["allocations"][0]["location_id"])
            fo = wait(lambda: next((x["fulfillment_order_id"] for x in poll.get(
                f"{oms.url}/locations/{location}/fulfillment-orders", params={"status": "OPEN"}).json()[
                "fulfillment_orders"] if x["order_id"] == order_id), None))
            for step in () if wms else ("accept", "pick", "pack"):
                operator.post(f"{oms.url}/fulfillment-orders/{fo}/{step}").raise_for_status()
            ship: dict[str, Any] = {"shipment_id": f"P-{run_id}-{n}"}
            if labels:
                ship["label"] = {"parcel": {"weight_grams": 500, "length_cm": "30", "width_cm": "20", "height_cm": "5"}}
            else:
                ship |= {"carrier": "DHL", "tracking_number": f"JD{run_id}{n:06d}"}
            operator.post(f"{oms.url}/fulfillment-orders/{fo}/ship", json=ship).raise_for_status()
            code = poll.get(f"{oms.url}/shipments/{ship['shipment_id']}").json()["tracking_code"]
            payload, headers = canonical_webhook(DEMO_CARRIER_SECRET["webhook_secret"], code, "DELIVERED",
                                                 datetime.now(UTC))
            requests.post(f"{oms.url}/webhooks/carriers/dhl", data=payload, headers=headers).raise_for_status()
            wait(lambda: poll.get(f"{oms.url}/orders/{order_id}").json()["status"] == "DELIVERED")
            # The payment settles off the parcel's path: wait for its invoice (and capture) too.
            wait(lambda: poll.get(f"{oms.url}/orders/{order_id}/invoices").json()["invoices"]
                 and (not authorized or poll.get(f"{oms.url}/orders/{order_id}").json()["payment"]["status"]
                      == "captured"))
            if counted:
                durations.append(time.perf_counter() - started)

        print("... warming up (not counted)", file=sys.stderr, flush=True)
        one(-1, counted=False)
        counting.quiet()
        before = counting.snapshot()
        print(f"... {orders} orders from capture to DELIVERED", file=sys.stderr, flush=True)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda n: one(n, counted=True), range(orders)))
        counting.quiet()  # the last messages (delivered) are sent
        return {"orders": orders, "labels": labels, "wms": wms, "concurrency": concurrency,
                "calls": counting.snapshot() - before, "durations": durations}
    finally:
        counting.close()
        oms.stop()


def _order_body(run_id: str, n: int, authorized: bool) -> dict:
    return {"channel_order_id": f"LIFE-{run_id}-{n}",
            "customer": {"id": f"c{n}", "email": f"c{n}@example.com", "name": "Bench Customer", "language": "en"},
            "shipping_address": {"line1": "Benchstr. 1", "city": "Berlin", "country": "DE", "lat": 52.52, "lon": 13.40},
            "lines": [{"sku": "TEE-BLK-M", "quantity": 1, "unit_price": "19.99"}], "currency": "EUR",
            "payment": ({"status": "authorized", "amount": "19.99", "provider": "sandbox",
                         "intent_id": f"pi_bench_{run_id}_{n}"} if authorized else {"status": "paid", "amount": "19.99"}),
            "promised_by": (datetime.now(UTC) + timedelta(days=5)).isoformat()}


def _pages(session, url: str, key: str, params: dict):
    cursor = None
    while True:
        page = session.get(url, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        yield from page[key]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def run_in_flight(orders: int, authorized: bool = False) -> dict:
    """The cost run: `orders` in flight at once, stage by stage, so every queue delivers full
    batches: capture them all, ship each (from OPEN with a bought label, as a WMS reports), send
    every parcel's IN_TRANSIT webhook, then every DELIVERED one, and wait for the last message,
    invoice and capture. Counts DynamoDB capacity units, Lambda time and events as well as calls."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from bench.capacity import CapacityMeter, TableShape
    from local.demo import LOCATIONS
    from local.emulator import DEMO_CARRIER_SECRET
    from local.runtime import LOCAL_OUTBOX, LocalOms

    print("... starting the local OMS", file=sys.stderr, flush=True)
    oms = LocalOms(port=0, concurrency=4, retry_delay_s=1).start()
    meter = CapacityMeter(TableShape.from_wiring())
    counting = Counting(oms.functions, meter)
    operator, web, poll = requests.Session(), requests.Session(), requests.Session()
    operator.headers["x-api-key"], web.headers["x-api-key"] = oms.key("operator"), oms.key("web")
    poll.headers.update({"x-api-key": oms.key("operator"), POLL_HEADER: "1"})
    for loc in LOCATIONS:
        operator.put(f"{oms.url}/inventory/TEE-BLK-M/{loc}", json={"on_hand": 100_000}).raise_for_status()
    run_id = uuid.uuid4().hex[:6]
    secret = DEMO_CARRIER_SECRET["webhook_secret"]
    pool = ThreadPoolExecutor(16)
    try:
        print("... warming up (not counted)", file=sys.stderr, flush=True)
        warm = web.post(f"{oms.url}/orders", json=_order_body(run_id, -1, authorized)).json()["order_id"]
        wait(lambda: poll.get(f"{oms.url}/orders/{warm}").json()["allocations"], timeout=120)
        counting.quiet(seconds=3)
        before = counting.totals()
        with counting.lock:
            counting.samples.clear()
        outbox = Path(os.environ.get("OMS_LOCAL_OUTBOX", str(LOCAL_OUTBOX)))
        messages_before = sum(1 for _ in outbox.rglob("*")) if outbox.exists() else 0
        started = time.perf_counter()
        print(f"... capturing {orders} orders", file=sys.stderr, flush=True)
        ids = set(pool.map(lambda n: web.post(f"{oms.url}/orders", json=_order_body(run_id, n, authorized))
                           .json()["order_id"], range(orders)))
        print("... waiting for their fulfilment orders", file=sys.stderr, flush=True)
        open_fos: dict[str, tuple[str, str]] = {}

        def all_requested() -> bool:
            for loc in LOCATIONS:
                for fo in _pages(poll, f"{oms.url}/locations/{loc}/fulfillment-orders", "fulfillment_orders",
                                 {"status": "OPEN"}):
                    if fo["order_id"] in ids:
                        open_fos[fo["fulfillment_order_id"]] = (fo["order_id"], loc)
            return len({o for o, _ in open_fos.values()}) == len(ids)

        wait(all_requested, timeout=1800, every=2)
        print(f"... shipping {len(open_fos)} fulfilment orders with bought labels", file=sys.stderr, flush=True)
        label = {"parcel": {"weight_grams": 500, "length_cm": "30", "width_cm": "20", "height_cm": "5"}}

        def ship(item: tuple[int, str]) -> str:
            n, fo = item
            shipment = f"P-{run_id}-{n}"
            operator.post(f"{oms.url}/fulfillment-orders/{fo}/ship",
                          json={"shipment_id": shipment, "label": label}).raise_for_status()
            return poll.get(f"{oms.url}/shipments/{shipment}").json()["tracking_code"]

        codes = list(pool.map(ship, enumerate(open_fos)))
        for status in ("IN_TRANSIT", "DELIVERED"):
            print(f"... {status} webhooks", file=sys.stderr, flush=True)

            def hook(code: str, status: str = status) -> None:
                # A 503 (the queue did not take it: the emulator overloaded) is sent again, as carriers do.
                for attempt in range(5):
                    payload, headers = canonical_webhook(secret, code, status, datetime.now(UTC))
                    answer = requests.post(f"{oms.url}/webhooks/carriers/dhl", data=payload, headers=headers)
                    if answer.status_code != 503:
                        break
                    time.sleep(1 + attempt)
                answer.raise_for_status()

            list(pool.map(hook, codes))
        print("... waiting for delivery, messages, invoices and captures", file=sys.stderr, flush=True)

        def all_delivered() -> bool:
            done = {o["order_id"] for o in _pages(poll, f"{oms.url}/orders", "orders",
                                                  {"status": "DELIVERED", "channel": "web"})}
            return ids <= done

        wait(all_delivered, timeout=1800, every=2)
        counting.quiet(seconds=5, timeout=600)
        elapsed = time.perf_counter() - started
        after = counting.totals()
        memory = {name: p.fn.memory_mb for name, p in oms.functions.pools.items()}
        api = {name for name, p in oms.functions.pools.items() if p.fn.routes}
        messages = (sum(1 for _ in outbox.rglob("*")) if outbox.exists() else 0) - messages_before
        with counting.lock:
            samples = {fn: list(v) for fn, v in counting.samples.items()}
        return {"orders": orders, "elapsed_s": elapsed, "memory_mb": memory, "api_functions": api,
                "messages": messages, "samples": samples,
                **{k: after[k] - before[k] for k in after}}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        counting.close()
        oms.stop()


def report(r: dict) -> None:
    n, calls = r["orders"], r["calls"]
    ours = {k: c for k, c in calls.items() if k[0] not in ("runtime", "benchmark polling")}
    rows = sorted(((fn, svc, op, c, c / n) for (fn, svc, op), c in ours.items()),
                  key=lambda x: (list(STAGES).index(x[0]) if x[0] in STAGES else 99, -x[3]))
    print(f"\n{n} orders ({r['concurrency']} at a time), capture to DELIVERED, "
          + ("the location reports only the shipment (WMS)" if r["wms"] else "the location accepts, picks, packs")
          + ", shipping with "
          + ("a label the OMS buys (sandbox carrier)" if r["labels"] else "its own tracking number"))
    print("per-order time p50/max: "
          f"{percentile(r['durations'], 50) * 1000:.0f} / {max(r['durations']) * 1000:.0f} ms (mostly polling waits)\n")
    print(table(rows, ["function", "service", "operation", "calls", "per order"]))
    by_stage: Counter = Counter()
    for (fn, _, _), c in ours.items():
        by_stage[STAGES.get(fn, fn)] += c
    print()
    print(table([(stage, c / n) for stage, c in by_stage.items()], ["stage", "requests per order"]))
    total = sum(by_stage.values()) / n
    print(f"\nall handler requests per order: {total:.2f} (target {TARGET}); in AWS add 1 SES SendEmail per "
          "customer message (written to the local outbox here)")
    polled = sum(c for (fn, _, _), c in calls.items() if fn == "benchmark polling") / n
    print(f"not counted: the benchmark's polling for status, the pull list and the shipment: {polled:.2f} per order")
    runtime = Counter({(svc, op): c for (fn, svc, op), c in calls.items() if fn == "runtime"})
    print("event source stand-ins (SQS receive/delete, stream reads; AWS's side, not ours): "
          f"{sum(runtime.values()) / n:.2f} per order")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--labels", action="store_true", help="buy a label per shipment (sandbox carrier)")
    parser.add_argument("--wms", action="store_true", help="ship straight from OPEN, as a WMS reports")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--in-flight", type=int, default=0, metavar="N",
                        help="the cost run: N orders in flight at once, stage by stage (1000 for docs/cost.md)")
    parser.add_argument("--authorized", action="store_true",
                        help="orders arrive authorised (sandbox intent): each shipment is captured, the rest released")
    args = parser.parse_args()
    quiet()
    if args.in_flight:
        from bench.lifecycle_cost import report_cost

        report_cost(run_in_flight(args.in_flight, args.authorized), TARGET)
        return
    report(run(args.orders, args.labels, args.wms, args.concurrency, args.authorized))


if __name__ == "__main__":
    main()
