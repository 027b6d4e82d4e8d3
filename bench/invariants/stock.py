"""Stock: counters never negative, equal to their reservation records and to the orders' allocations,
and on hand moved only by what the table records (adjustments, shipments, collections, restocks)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from bench.invariants.core import Expectations, Violation, invariant
from bench.invariants.snapshot import Snapshot
from shared.domain.fulfillment import FulfillmentStatus
from shared.domain.returns import Disposition


def _where(sku: str, location_id: str) -> str:
    return f"{sku}@{location_id}"


@invariant("stock_never_negative", "on_hand, reserved and available of every stock level are >= 0 (the soak never "
                                   "counts stock below what is reserved, so only a reservation could drive it down)")
def never_negative(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for (sku, loc), level in snap.levels.items():
        for name in ("on_hand", "reserved", "available"):
            if int(level.get(name, 0)) < 0:
                yield Violation("stock_never_negative", _where(sku, loc), f"{name} = {level.get(name)}")
    for (sku, loc, order_id), units in snap.reservations.items():
        if units < 0:
            yield Violation("stock_never_negative", _where(sku, loc), f"reservation of {order_id} holds {units}")
    for (sku, loc), buckets in snap.buckets.items():
        for bucket in buckets:
            if int(bucket.get("available", 0)) < 0:
                yield Violation("stock_never_negative", _where(sku, loc),
                                f"bucket {bucket['sk']} available = {bucket['available']}")


@invariant("stock_available_formula", "available = on_hand - reserved - safety_stock on every stock level")
def available_formula(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for (sku, loc), level in snap.levels.items():
        on_hand, reserved = int(level.get("on_hand", 0)), int(level.get("reserved", 0))
        safety, available = int(level.get("safety_stock", 0)), int(level.get("available", 0))
        if available != on_hand - reserved - safety:
            yield Violation("stock_available_formula", _where(sku, loc),
                            f"available {available} != {on_hand} - {reserved} - {safety}")


@invariant("stock_reserved_equals_records", "reserved of every stock level = the sum of its reservation records")
def reserved_equals_records(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    held: Counter[tuple[str, str]] = Counter()
    for (sku, loc, _order), units in snap.reservations.items():
        held[(sku, loc)] += units
    for key in set(held) | set(snap.levels):
        reserved = int(snap.levels.get(key, {}).get("reserved", 0))
        if reserved != held[key]:
            yield Violation("stock_reserved_equals_records", _where(*key),
                            f"reserved {reserved}, records hold {held[key]}")


@invariant("reservations_match_orders", "each order's reservation record at a location = what it has allocated "
                                        "there less what its fulfilment orders there shipped or handed over")
def reservations_match_orders(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    expected: Counter[tuple[str, str, str]] = Counter()
    for order in snap.orders.values():
        for a in order.allocations:
            expected[(a.sku, a.location_id, order.order_id)] += a.quantity
        for fo in snap.fulfillment_of(order.order_id):
            for line in fo.lines:
                expected[(line.sku, fo.location_id, order.order_id)] -= line.shipped
    for key in set(expected) | set(snap.reservations):
        sku, loc, order_id = key
        if order_id not in snap.orders and snap.reservations.get(key, 0):
            yield Violation("reservations_match_orders", order_id,
                            f"reservation of {snap.reservations[key]} {_where(sku, loc)} for no order")
        elif snap.reservations.get(key, 0) != expected[key]:
            yield Violation("reservations_match_orders", order_id,
                            f"{_where(sku, loc)}: record holds {snap.reservations.get(key, 0)}, the order's "
                            f"allocation less what shipped is {expected[key]}")


@invariant("stock_on_hand_conserved", "on hand = its count before the run + adjustments - units shipped or handed "
                                      "over + units restocked from returns, per stock level",
           needs="baseline_on_hand")
def on_hand_conserved(snap: Snapshot, exp: Expectations) -> Iterator[Violation]:
    assert exp.baseline_on_hand is not None
    since = exp.baseline_at
    moved: Counter[tuple[str, str]] = Counter()
    for adj in snap.adjustments:
        if since is None or adj["applied_at"] >= since:
            moved[(adj["sku"], adj["location_id"])] += int(adj["delta"])
    for shipment in snap.shipments.values():
        if since is None or shipment.created_at >= since:
            for sku, units in shipment.lines.items():
                moved[(sku, shipment.location_id)] -= units
    for fo in snap.fulfillment.values():
        if fo.status == FulfillmentStatus.COLLECTED and (since is None or fo.updated_at >= since):
            for line in fo.lines:
                moved[(line.sku, fo.location_id)] -= line.shipped
    for ret in snap.returns.values():
        for receipt in ret.receipts:
            if receipt.disposition == Disposition.RESTOCK and (since is None or receipt.at >= since):
                moved[(receipt.sku, receipt.location_id)] += receipt.quantity
    for key in set(snap.levels) | set(moved):
        on_hand = int(snap.levels.get(key, {}).get("on_hand", 0))
        want = exp.baseline_on_hand.get(key, 0) + moved[key]
        if on_hand != want:
            yield Violation("stock_on_hand_conserved", _where(*key),
                            f"on hand {on_hand}, expected {want} ({exp.baseline_on_hand.get(key, 0)} before, "
                            f"{moved[key]:+d} recorded since)")


@invariant("stock_never_drifted", "the scheduled reconciliation never had to repair a stock level (no drift audit "
                                  "record, no StockDriftRepaired): the counters were right without it")
def never_drifted(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for event in snap.events_by_type("StockDriftRepaired"):
        yield Violation("stock_never_drifted", _where(event.get("sku"), event.get("location_id")),
                        f"reserved repaired {event.get('reserved_before')} -> {event.get('reserved_after')}")
    if snap.kinds["reconcile_audit"] and not snap.events_by_type("StockDriftRepaired"):
        yield Violation("stock_never_drifted", "RECONCILE_AUDIT", f"{snap.kinds['reconcile_audit']} drift repairs")
