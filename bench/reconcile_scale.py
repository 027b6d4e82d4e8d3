"""Reconciliation at scale: one whole pass over 10,000 stock levels and 10,000 orders on the emulator.

    python -m bench.reconcile_scale [--skus 2000] [--locations 5] [--orders 10000] [--budget 3600]

Writes the data straight into the table (BatchWriteItem: no use case, no events), then runs
`shared.services.reconciliation.reconcile` in-process until a pass is complete, and again on the
repaired table (the steady state every 5 minutes would see). Prints per run: seconds, items, items
per second, what it did, and the time spent per step. With a small `--budget` (e.g. 20, the
operator endpoint's) a pass takes several runs, each resuming from the previous one's checkpoint.

The data, of `--orders` orders (fractions of it):
- 70% ALLOCATED a moment ago, each holding 1 unit reserved (level counters and reservation
  records agree), 10% ALLOCATED three days ago (past the 2-day SLA: OrderStuck),
- 5% ON_HOLD AWAITING_PAYMENT for four days (expired: cancelled),
- 10% BACKORDERED on SKUs with nothing available anywhere (examined, not allocated), 1% BACKORDERED
  on SKUs with stock (allocated by the sweep),
- 4% SHIPPED five days ago with a shipment never heard of since (polled through a stub carrier that
  answers nothing new, then flagged);
and 1% of the stock levels drifted (a reserved counter 1 above its records: repaired).

Carrier calls are a stub (no network); everything else is the real code on moto, whose every
request costs a few ms of Python under the emulator's lock: the figures are the emulator's, not
DynamoDB's. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from bench.common import emulated_repositories, quiet


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(repos, skus: int, locations: int, orders: int, now) -> dict[str, int]:
    """The table's contents, written in batches of 25; returns what was planted."""
    from shared.adapters.dynamo import to_attrs
    from shared.adapters.orders_repo import OrderRepository
    from shared.adapters.shipments_repo import shipment_item
    from shared.adapters.stock_repo import level_item, reservation_sk, stock_pk
    from shared.domain.locations import Location, LocationType
    from shared.domain.orders import (
        Allocation,
        BackorderedLine,
        Hold,
        HoldReason,
        Order,
        OrderRequest,
        OrderStatus,
        StatusChange,
    )
    from shared.domain.shipments import Shipment
    from shared.domain.stock import StockLevel

    table = repos.store
    pending: list[dict] = []

    def put(item: dict) -> None:
        pending.append({"PutRequest": {"Item": to_attrs(item)}})
        if len(pending) == 25:
            flush()

    def flush() -> None:
        request = {table.name: list(pending)}
        pending.clear()
        while request:
            request = table.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    loc_ids = [f"WH-{i}" for i in range(locations)]
    for i, loc in enumerate(loc_ids):
        location = Location(location_id=loc, updated_at=now, name=loc, type=LocationType.WAREHOUSE, country="DE",
                            lat=52.5, lon=13.4, ships_to=["DE"], priority=i + 1)
        put({"pk": "LOCATION", "sk": loc, "doc": location.model_dump_json()})

    sku_ids = [f"SKU-{i:05d}" for i in range(skus)]
    # The last 10% of the SKUs have nothing on hand: backorders for them cannot be released.
    empty = set(sku_ids[int(skus * 0.9):])
    reserved: Counter[tuple[str, str]] = Counter()
    records: list[dict] = []
    request = OrderRequest.model_validate({
        "channel_order_id": "X", "customer": {"id": "c", "email": "a@example.com", "name": "A"},
        "shipping_address": {"line1": "Hauptstr. 1", "city": "Berlin", "country": "DE", "lat": 52.5, "lon": 13.4},
        "lines": [{"sku": sku_ids[0], "quantity": 1, "unit_price": "10.00"}], "currency": "EUR",
        "payment": {"status": "paid", "amount": "10.00"}})
    planted: Counter[str] = Counter()
    stocked = [s for s in sku_ids if s not in empty]
    empty_list = sorted(empty)
    for n in range(orders):
        share = n / orders
        created = now - timedelta(minutes=5)
        status, holds, allocations, backordered, shipments = OrderStatus.ALLOCATED, [], [], [], []
        sku, loc = stocked[n % len(stocked)], loc_ids[n % locations]
        if share < 0.70:
            kind = "allocated"
        elif share < 0.80:
            kind, created = "stuck", now - timedelta(days=3)
        elif share < 0.85:
            kind, created, status = "unpaid", now - timedelta(days=4), OrderStatus.ON_HOLD
            holds = [Hold(reason=HoldReason.AWAITING_PAYMENT, detail="payment is pending", placed_at=created)]
        elif share < 0.95:
            kind, status, sku = "waiting", OrderStatus.BACKORDERED, empty_list[n % len(empty_list)]
        elif share < 0.96:
            kind, status = "releasable", OrderStatus.BACKORDERED
        else:
            kind, created, status = "silent", now - timedelta(days=5), OrderStatus.SHIPPED
        planted[kind] += 1
        order_id = f"o{n:024x}"
        if kind in ("allocated", "stuck"):
            allocations = [Allocation(location_id=loc, sku=sku, quantity=1)]
            reserved[(sku, loc)] += 1
            records.append({"pk": stock_pk(sku), "sk": reservation_sk(loc, order_id), "quantity": 1,
                            "order_id": order_id, "location_id": loc, "sku": sku, "reserved_at": created.isoformat()})
        if kind in ("waiting", "releasable"):
            backordered = [BackorderedLine(sku=sku, quantity=1)]
        if kind == "silent":
            shipment = Shipment(shipment_id=f"S-{n}", fulfillment_order_id=f"f{n:024x}", order_id=order_id,
                                channel="web", location_id=loc, lines={sku: 1}, carrier="DHL",
                                tracking_code=f"TRACK{n:08d}", created_at=created)
            shipments.append(shipment.shipment_id)
            put(shipment_item(shipment))
        order = Order(order_id=order_id, channel="web", status=status, created_at=created, updated_at=created,
                      request=request.model_copy(update={"channel_order_id": f"CO-{n}"}),
                      request_fingerprint="x", total=Decimal("10.00"), allocations=allocations,
                      backordered=backordered, holds=holds, shipment_ids=shipments,
                      history=[StatusChange(status=OrderStatus.RECEIVED, at=created)]
                      + ([StatusChange(status=status, at=created)] if status != OrderStatus.RECEIVED else []))
        put(OrderRepository._item(order))
    for record in records:
        put(record)
    drifted = 0
    for i, sku in enumerate(sku_ids):
        for loc in loc_ids:
            on_hand = 0 if sku in empty else 10
            res = reserved[(sku, loc)]
            drift = 1 if (i * locations + loc_ids.index(loc)) % 100 == 0 and on_hand else 0
            drifted += drift
            put(level_item(StockLevel(sku=sku, location_id=loc, on_hand=on_hand, reserved=res + drift,
                                       safety_stock=0, available=on_hand - res - drift, low_stock_threshold=0,
                                       version=1, updated_at=now)))
    flush()
    planted["levels"] = skus * locations
    planted["drifted levels"] = drifted
    planted["reservation records"] = len(records)
    return dict(planted)


def table_items(repos) -> int:
    count, start = 0, None
    while True:
        kwargs = {"TableName": repos.store.name, "Select": "COUNT"}
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = repos.store.client.scan(**kwargs)
        count += resp["Count"]
        start = resp.get("LastEvaluatedKey")
        if not start:
            return count


def one_pass(repos, now, budget_s: float, label: str) -> None:
    from shared.services.reconciliation import Budget, reconcile

    runs, started = 0, time.monotonic()
    while True:
        runs += 1
        step_time: dict[str, float] = defaultdict(float)
        step_items: Counter[str] = Counter()
        last = [time.monotonic()]

        def observe(step: str, key: str, step_time=step_time, step_items=step_items, last=last) -> None:
            moment = time.monotonic()
            step_time[step] += moment - last[0]
            step_items[step] += 1
            last[0] = moment

        report = reconcile(repos, now, policy_for=repos.channels.policy, trigger="cli",
                           budget=Budget(budget_s), tracker=lambda shipment, at: [], observer=observe)
        did = {k: v for k, v in report.counts().items() if v}
        rate = report.items / report.seconds if report.seconds else float("nan")
        print(f"{label} run {runs}: {report.seconds:.1f} s, {report.items} items ({rate:.0f}/s), "
              f"pass complete: {report.pass_complete}, stopped in: {report.stopped_in}")
        print(f"    did: {did}")
        print("    per step (s, items): " + ", ".join(f"{s} {step_time[s]:.1f}/{step_items[s]}" for s in step_items))
        if report.pass_complete or runs >= 50:
            break
    print(f"{label}: {runs} run(s), {time.monotonic() - started:.1f} s for the whole pass")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--locations", type=int, default=5)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds per run (240 in Lambda)")
    args = parser.parse_args()
    quiet()
    from shared.services.clock import utc_now

    with emulated_repositories() as repos:
        now = utc_now()
        _log("writing the data...")
        t0 = time.monotonic()
        planted = build(repos, args.skus, args.locations, args.orders, now)
        print(f"data: {planted}; {table_items(repos)} table items; written in {time.monotonic() - t0:.1f} s")
        _log("first pass (work to do)...")
        one_pass(repos, now, args.budget, "first pass")
        _log("second pass (steady state)...")
        one_pass(repos, now + timedelta(minutes=5), args.budget, "second pass")
        print(f"table items after: {table_items(repos)}")


if __name__ == "__main__":
    main()
