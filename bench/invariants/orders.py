"""Orders, fulfilment orders and shipments: legal states, moved only along their lifecycles, each
consistent with the others, and one order per channel order id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from bench.invariants.core import Expectations, Violation, invariant
from bench.invariants.snapshot import Snapshot
from shared.domain.fulfillment import (
    TERMINAL,
    Action,
    Decision,
    FulfillmentOrder,
    FulfillmentStatus,
    OrderProgress,
    decide,
    order_progress,
)
from shared.domain.orders import TRANSITIONS, Order, OrderStatus
from shared.domain.returns import TRANSITIONS as RETURN_TRANSITIONS
from shared.domain.returns import ReturnStatus
from shared.domain.tracking import ShipmentStatus, event_namespace, moves_forward

S, F = OrderStatus, FulfillmentStatus
NOT_ALLOCATED = frozenset({S.RECEIVED, S.ON_HOLD, S.REJECTED, S.CANCELLED})
DONE_PARTS = frozenset({F.SHIPPED, F.COLLECTED, F.PARTIALLY_SHIPPED})


@invariant("order_status_legal", "every order's history starts RECEIVED and moves only along the order lifecycle "
                                 "to its current status; the stored status, status index and waiting SKUs agree")
def status_legal(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for order_id, order in snap.orders.items():
        statuses = [h.status for h in order.history]
        if not statuses or statuses[0] != S.RECEIVED:
            yield Violation("order_status_legal", order_id, f"history starts {statuses[:1]}, not RECEIVED")
        for before, after in zip(statuses, statuses[1:], strict=False):
            if after not in TRANSITIONS[before]:
                yield Violation("order_status_legal", order_id, f"moved {before} -> {after}")
        if statuses and statuses[-1] != order.status:
            yield Violation("order_status_legal", order_id, f"status {order.status}, history ends {statuses[-1]}")
        item = snap.order_items[order_id]
        stored = (item.get("status"), item.get("gsi2pk"), int(item.get("version", -1)), item.get("waiting_skus"))
        want = (order.status.value, f"STATUS#{order.status.value}", order.version, order.waiting_skus or None)
        if stored != want:
            yield Violation("order_status_legal", order_id, f"item attributes {stored} disagree with its document {want}")


@invariant("order_consistent_with_parts", "each order's status agrees with its allocations, backorder, fulfilment "
                                          "orders and parcels (nothing allocated before allocation or after a "
                                          "cancel, SHIPPED when every part shipped, DELIVERED when every parcel is)")
def consistent_with_parts(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for order_id, order in snap.orders.items():
        for problem in _order_problems(snap, order):
            yield Violation("order_consistent_with_parts", order_id, f"{order.status}: {problem}")


def _order_problems(snap: Snapshot, order: Order) -> Iterator[str]:
    fos = snap.fulfillment_of(order.order_id)
    listed = set(order.fulfillment_order_ids)
    if missing := [i for i in listed if i not in snap.fulfillment and order.status != S.CANCELLED]:
        yield f"names fulfilment orders that do not exist: {sorted(missing)}"
    if stray := [fo.fulfillment_order_id for fo in fos if fo.fulfillment_order_id not in listed]:
        yield f"fulfilment orders {stray} are not on the order"
    parcels = [snap.shipments[i] for i in order.shipment_ids if i in snap.shipments]
    if len(parcels) != len(set(order.shipment_ids)):
        yield "names parcels that do not exist"
    allocated, waiting = bool(order.allocations), bool(order.backordered)
    statuses = [fo.status for fo in fos]
    progress = order_progress(statuses)
    status = order.status
    if status in NOT_ALLOCATED:
        if allocated or (waiting and status != S.RECEIVED):
            yield f"allocations {order.allocations} / backorder {order.backordered} left"
        if live := [s for s in statuses if s not in (F.REJECTED, F.CANCELLED)]:
            yield f"fulfilment orders still {live}"
        if parcels:
            yield "has parcels"
    elif status == S.BACKORDERED and (allocated or not waiting):
        yield f"allocated {allocated}, waiting {waiting}"
    elif status == S.PARTIALLY_ALLOCATED and not (allocated and waiting):
        yield f"allocated {allocated}, waiting {waiting}"
    elif status == S.ALLOCATED and (not allocated or waiting or any(s in DONE_PARTS for s in statuses)):
        yield f"allocated {allocated}, waiting {waiting}, parts {statuses}"
    elif status == S.PARTIALLY_SHIPPED and not (progress == OrderProgress.PARTIALLY_SHIPPED or
                                                 (progress == OrderProgress.SHIPPED and waiting)):
        yield f"parts say {progress} (waiting {waiting})"
    elif status in (S.SHIPPED, S.DELIVERED, S.COMPLETED) and (progress != OrderProgress.SHIPPED or waiting):
        yield f"parts say {progress} (waiting {waiting})"
    if order.request.fulfillment.type == "ship" and parcels and status in (S.SHIPPED, S.DELIVERED):
        delivered = all(p.status == ShipmentStatus.DELIVERED for p in parcels)
        if delivered != (status == S.DELIVERED):
            yield f"parcels {[p.status.value for p in parcels]}"


def _reachable(fo: FulfillmentOrder, before: FulfillmentStatus, after: FulfillmentStatus) -> bool:
    if before == after:
        return after not in TERMINAL  # a part shipped or cancelled, the rest still to do
    # Shipping part of what remains leaves it PARTIALLY_SHIPPED where `decide` names SHIPPED.
    targets = {after, F.SHIPPED} if after == F.PARTIALLY_SHIPPED else {after}
    return any(v.decision == Decision.APPLY and v.target in targets
               for v in (decide(before, action, fo.pickup) for action in Action))


@invariant("fulfillment_consistent", "every fulfilment order belongs to an order that names it, moved only along its "
                                     "lifecycle, never shipped more than it holds, and its parcels hold what it shipped")
def fulfillment_consistent(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    shipped: dict[str, Counter[str]] = {}
    for shipment in snap.shipments.values():
        shipped.setdefault(shipment.fulfillment_order_id, Counter()).update(shipment.lines)
    for fo_id, fo in snap.fulfillment.items():
        order = snap.orders.get(fo.order_id)
        if order is None or fo_id not in order.fulfillment_order_ids:
            yield Violation("fulfillment_consistent", fo_id, f"its order {fo.order_id} does not name it")
        path = [F.OPEN] + [h.status for h in fo.history]
        for before, after in zip(path, path[1:], strict=False):
            if not _reachable(fo, before, after):
                yield Violation("fulfillment_consistent", fo_id, f"moved {before} -> {after}")
        if path[-1] != fo.status:
            yield Violation("fulfillment_consistent", fo_id, f"status {fo.status}, history ends {path[-1]}")
        if bad := [ln.sku for ln in fo.lines if not 0 <= ln.shipped <= ln.quantity]:
            yield Violation("fulfillment_consistent", fo_id, f"lines shipped beyond their quantity: {bad}")
        if fo.status in (F.SHIPPED, F.COLLECTED) and any(ln.shipped != ln.quantity for ln in fo.lines):
            yield Violation("fulfillment_consistent", fo_id, f"{fo.status} with lines left to ship")
        if not fo.pickup:
            lines = Counter({ln.sku: ln.shipped for ln in fo.lines if ln.shipped})
            if lines != shipped.get(fo_id, Counter()):
                yield Violation("fulfillment_consistent", fo_id,
                                f"lines shipped {dict(lines)}, its parcels hold {dict(shipped.get(fo_id, {}))}")
        if order is not None and order.status == S.CANCELLED and fo.status not in (F.CANCELLED, F.REJECTED):
            yield Violation("fulfillment_consistent", fo_id, f"{fo.status} on a cancelled order")
        if fo.status in TERMINAL and fo.status not in (F.REJECTED, F.CANCELLED, F.SHIPPED, F.COLLECTED):
            yield Violation("fulfillment_consistent", fo_id, f"unknown terminal {fo.status}")


@invariant("shipment_tracking_forward", "every parcel belongs to its order and fulfilment order, applied each carrier "
                                        "event at most once and only forward, and shows the last one applied")
def tracking_forward(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for sid, shipment in snap.shipments.items():
        order = snap.orders.get(shipment.order_id)
        if order is None or sid not in order.shipment_ids:
            yield Violation("shipment_tracking_forward", sid, f"its order {shipment.order_id} does not name it")
        if shipment.fulfillment_order_id not in snap.fulfillment:
            yield Violation("shipment_tracking_forward", sid, "its fulfilment order does not exist")
        seen = Counter((event_namespace(e.provider), e.provider_event_id) for e in shipment.history)
        if twice := [key for key, n in seen.items() if n > 1]:
            yield Violation("shipment_tracking_forward", sid, f"carrier events recorded twice: {twice}")
        current, at = ShipmentStatus.LABEL_CREATED, None
        for entry in (e for e in shipment.history if e.applied):
            if not moves_forward(current, entry.status) or (at is not None and entry.occurred_at < at):
                yield Violation("shipment_tracking_forward", sid, f"applied {entry.status} after {current}")
            current, at = entry.status, entry.occurred_at
        if current != shipment.status:
            yield Violation("shipment_tracking_forward", sid, f"status {shipment.status}, last applied {current}")


@invariant("one_order_per_channel_order_id", "each (channel, channel order id) has one order, and its key names it")
def one_order_per_channel_order_id(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    by_key: dict[tuple[str, str], list[str]] = {}
    for order_id, order in snap.orders.items():
        by_key.setdefault((order.channel, order.request.channel_order_id), []).append(order_id)
    for key, order_ids in by_key.items():
        subject = f"{key[0]}/{key[1]}"
        if len(order_ids) > 1:
            yield Violation("one_order_per_channel_order_id", subject, f"{len(order_ids)} orders: {sorted(order_ids)}")
        named = snap.channel_keys.get(key, {}).get("order_id")
        if named not in order_ids:
            yield Violation("one_order_per_channel_order_id", subject, f"its key names {named}, not {order_ids}")
    for key, item in snap.channel_keys.items():
        if key not in by_key:
            yield Violation("one_order_per_channel_order_id", f"{key[0]}/{key[1]}",
                            f"key names {item.get('order_id')}, which is no order of that id")


@invariant("return_status_legal", "every return's history moves only along the return lifecycle (REQUESTED, "
                                  "APPROVED or DECLINED, IN_TRANSIT, RECEIVED, INSPECTED, REFUNDED, CLOSED) to its "
                                  "status, and its order exists")
def return_status_legal(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for rma, ret in snap.returns.items():
        path = [h.status for h in ret.history] or [ReturnStatus.REQUESTED]
        if path[0] != ReturnStatus.REQUESTED:
            yield Violation("return_status_legal", rma, f"history starts {path[0]}, not REQUESTED")
        for before, after in zip(path, path[1:], strict=False):
            if after not in RETURN_TRANSITIONS[before]:
                yield Violation("return_status_legal", rma, f"moved {before} -> {after}")
        if path[-1] != ret.status:
            yield Violation("return_status_legal", rma, f"status {ret.status}, history ends {path[-1]}")
        if ret.order_id not in snap.orders:
            yield Violation("return_status_legal", rma, f"its order {ret.order_id} does not exist")
