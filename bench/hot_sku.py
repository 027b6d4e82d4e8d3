"""A flash sale of one SKU through the local runtime: --orders one-unit orders for --units units.

Starts the whole local OMS (moto, the API front, the pollers), stocks one new SKU at one location
(Madrid: no daily order capacity) through `PUT /inventory/{sku}/{location}` with `buckets` set (or
not, for 1), posts the orders over HTTP from --concurrency threads, waits until allocation has
finished with every one, and prints per bucket count: orders allocated and backordered, the level's
counters (on hand, reserved, available, each bucket's available), the units the reservation records
hold, and the allocator's conflict and retry rate: TransactWriteItems refused (a condition failed
because another order took the units, or the level moved) per order, attempts per order, and SQS
redeliveries (an allocation that gave up after its attempts). moto serialises requests, so there
are no TransactionConflicts here: what collides is read-then-write (bench/hot_sku_sim.py models
DynamoDB's per-item limit). It prints; it asserts nothing.

    python -m bench.hot_sku [--orders 2000] [--units 500] [--buckets 1,16] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.capture_throughput import ALLOCATOR, Watch, final_statuses, progress
from bench.common import emulator_client, quiet, table

LOCATION, COUNTRY = "WH-ES-MAD", "ES"


class Transactions:
    """TransactWriteItems calls of the handlers and how many were cancelled, by reason."""

    def __init__(self) -> None:
        self.calls = 0
        self.reasons: Counter[str] = Counter()
        self.lock = threading.Lock()

    def hook(self, botocore_client) -> None:
        botocore_client.meta.events.register("after-call.dynamodb.TransactWriteItems", self._after,
                                             unique_id=f"hot-sku-{id(self)}")

    def _after(self, parsed: dict, **_) -> None:
        with self.lock:
            self.calls += 1
            if "Error" in parsed:
                codes = {r.get("Code") for r in parsed.get("CancellationReasons", []) if r.get("Code") != "None"}
                self.reasons.update(codes or {parsed["Error"].get("Code", "?")})

    @property
    def cancelled(self) -> int:
        return sum(self.reasons.values())


def body(run: str, n: int, sku: str) -> dict:
    return {
        "channel_order_id": f"FLASH-{run}-{n}",
        "customer": {"id": f"c{n}", "email": f"c{n}@example.com", "name": "Flash Customer"},
        "shipping_address": {"line1": "Calle 1", "city": "Madrid", "country": COUNTRY, "lat": 40.42, "lon": -3.70},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "19.99"}], "currency": "EUR",
        "payment": {"status": "paid", "amount": "19.99"},
    }


def run(buckets: int, orders: int, units: int, concurrency: int, containers: int, timeout_s: float) -> dict:
    import requests

    from infra.wiring import DEFAULTS
    from local.runtime import LocalOms
    from shared.adapters.aws import client

    progress(f"{buckets} bucket(s): starting the local OMS")
    oms = LocalOms(port=0, concurrency=containers, demo_data=True).start()
    try:
        watch = Watch(oms.functions)
        redelivered: Counter[str] = Counter()
        inner = oms.functions.invoke

        def invoke(name: str, event: dict) -> dict:
            result = inner(name, event)
            if name == ALLOCATOR:
                redelivered["records"] += len(result.get("batchItemFailures") or [])
            return result

        oms.functions.invoke = invoke  # type: ignore[method-assign]
        transactions = Transactions()
        transactions.hook(client("dynamodb"))
        sku, run_id = f"FLASH-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:6]
        operator = requests.Session()
        operator.headers["x-api-key"] = oms.key("operator")
        stock = {"on_hand": units} | ({"buckets": buckets} if buckets > 1 else {})
        operator.put(f"{oms.url}/inventory/{sku}/{LOCATION}", json=stock).raise_for_status()
        sessions = threading.local()

        def post(n: int) -> str | None:
            if not hasattr(sessions, "s"):
                sessions.s = requests.Session()
                sessions.s.headers["x-api-key"] = oms.key("web")
            response = sessions.s.post(f"{oms.url}/orders", json=body(run_id, n, sku))
            return response.json().get("order_id") if response.ok else None

        calls_before = transactions.calls, transactions.cancelled
        progress(f"{buckets} bucket(s): posting {orders} orders for {units} units")
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            ids = list(pool.map(post, range(orders)))
        drained = watch.wait_allocated({i for i in ids if i}, timeout_s)
        elapsed = time.perf_counter() - start
        [level] = operator.get(f"{oms.url}/inventory/{sku}").json()["locations"]
        ddb = emulator_client("dynamodb", oms.emulator_url)
        partition = ddb.query(TableName=DEFAULTS.table_name, KeyConditionExpression="pk = :p",
                              ExpressionAttributeValues={":p": {"S": f"STOCK#{sku}"}}, ConsistentRead=True)["Items"]
        records = sum(int(i["quantity"]["N"]) for i in partition if i["sk"]["S"].startswith("RES#"))
        bucket_units = [int(i["available"]["N"]) for i in partition if i["sk"]["S"].startswith("BKT#")]
        return {
            "buckets": buckets, "orders": orders, "units": units, "drained": drained, "elapsed_s": elapsed,
            "posted": sum(1 for i in ids if i), "statuses": final_statuses(operator, oms.url, f"FLASH-{run_id}-"),
            "level": level, "records": records, "bucket_units": bucket_units,
            "transactions": transactions.calls - calls_before[0],
            "cancelled": transactions.cancelled - calls_before[1], "reasons": dict(transactions.reasons),
            "redelivered": redelivered["records"],
        }
    finally:
        oms.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--buckets", default="1,16")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads posting orders")
    parser.add_argument("--containers", type=int, default=4, help="containers per function")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    quiet()
    rows = []
    for n in (int(b) for b in args.buckets.split(",")):
        r = run(n, args.orders, args.units, args.concurrency, args.containers, args.timeout)
        level, s = r["level"], r["statuses"]
        exact = (level["on_hand"], level["reserved"], level["available"]) == (
            args.units, s["ALLOCATED"], args.units - s["ALLOCATED"]) and r["records"] == s["ALLOCATED"]
        print(f"{n} bucket(s): {r['posted']} posted, drained={r['drained']} in {r['elapsed_s']:.0f} s; statuses "
              f"{dict(s)}; level on_hand={level['on_hand']} reserved={level['reserved']} "
              f"available={level['available']}; reservation records hold {r['records']}; buckets {r['bucket_units']}; "
              f"cancelled transactions by reason {r['reasons']}", file=sys.stderr)
        per = max(1, r["posted"])
        rows.append((n, r["posted"], s["ALLOCATED"], s["BACKORDERED"], sum(v for k, v in s.items()
                                                                             if k not in ("ALLOCATED", "BACKORDERED")),
                     f"{level['on_hand']}/{level['reserved']}/{level['available']}", r["records"],
                     "yes" if exact else "NO", f"{r['cancelled'] / per:.3f}",
                     f"{r['transactions'] / per:.2f}", r["redelivered"], f"{r['elapsed_s']:.0f}"))
    print(table(rows, ("buckets", "orders", "allocated", "backordered", "other", "on hand/reserved/available",
                       "records", "counters exact", "conflicts/order", "transactions/order", "redelivered",
                       "seconds")))
    print("conflicts/order: TransactWriteItems cancelled (a condition failed: another order took the units or "
          "moved the level) per order, each followed by a re-read and a retry; transactions/order include "
          "capture's and every other handler's")


if __name__ == "__main__":
    main()
