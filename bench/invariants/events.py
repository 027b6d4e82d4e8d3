"""A state change and the event announcing it never diverge: every change recorded in the table has
exactly one event in the outbox, and every event announces a change the table has.

The outbox (`EVENT#<id>` items, one per transaction holding its events, written with the change:
shared/adapters/outbox.py, read by shared/outbox_format.py) is read back; an event and the change it announces carry the same moment (`occurred_at` = the
history entry's `at`), since both come from the one `now` of the use case."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from bench.invariants.core import Expectations, Violation, invariant
from bench.invariants.snapshot import Event, Snapshot
from shared.domain.orders import OrderStatus
from shared.domain.payments import MovementKind
from shared.domain.returns import RefundState
from shared.domain.tracking import ShipmentStatus

S = OrderStatus
# A line cancellation that ends the order (CANCELLED, SHIPPED, DELIVERED) is announced by those
# events themselves; OrderLinesCancelled announces the other statuses it leaves the order in.
_ANNOUNCED_ELSEWHERE = frozenset({S.CANCELLED, S.SHIPPED, S.DELIVERED})


def announces(event: Event) -> OrderStatus | None:
    """The order status an event announces the move to, if it is an order status event."""
    t = event.detail_type
    if t in ("OrderReceived", "OrderReleased"):
        return S.RECEIVED
    if t == "OrderAllocated":
        return S.PARTIALLY_ALLOCATED if event.get("partial") else S.ALLOCATED
    if t == "OrderLinesCancelled":
        status = S(event.get("status"))
        return None if status == S(event.get("previous")) or status in _ANNOUNCED_ELSEWHERE else status
    if t == "OrderShipped":
        return S(event.get("status"))
    simple = {"OrderOnHold": S.ON_HOLD, "OrderBackordered": S.BACKORDERED, "OrderDelivered": S.DELIVERED,
              "OrderCancelled": S.CANCELLED, "OrderRejected": S.REJECTED}
    return simple.get(t)


def _rejected_part(event: Event) -> bool:
    """A location's rejection whose lines found no new home: it alone announces the order's move
    from ALLOCATED to PARTIALLY_ALLOCATED (shared/services/rerouting.py)."""
    return event.detail_type == "FulfillmentOrderChanged" and event.get("status") == "REJECTED"


@invariant("event_per_status_change", "every move in an order's history has exactly one event announcing it, "
                                      "written at the same moment")
def event_per_status_change(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for order_id, order in snap.orders.items():
        events = snap.events_of(order_id)
        for entry in order.history:
            same_moment = [e for e in events if e.occurred_at == entry.at]
            announcing = [e for e in same_moment if announces(e) == entry.status]
            if len(announcing) == 1:
                continue
            if not announcing and entry.status == S.PARTIALLY_ALLOCATED and any(map(_rejected_part, same_moment)):
                continue
            yield Violation("event_per_status_change", order_id,
                            f"{entry.status} at {entry.at.isoformat()}: {len(announcing)} events announce it "
                            f"({[e.detail_type for e in announcing]})")


@invariant("no_event_without_change", "every event names an existing order, fulfilment order, parcel, document or "
                                      "refund, and every order status event a move (or allocation step) the order has")
def no_event_without_change(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for event in snap.events:
        order_id = event.get("order_id")
        if order_id and order_id not in snap.orders:
            yield Violation("no_event_without_change", event.event_id, f"{event.detail_type} for no order {order_id}")
            continue
        for problem in _event_problems(snap, event):
            yield Violation("no_event_without_change", order_id or event.event_id, f"{event.detail_type}: {problem}")


def _event_problems(snap: Snapshot, event: Event) -> Iterator[str]:
    t, order = event.detail_type, snap.orders.get(event.get("order_id") or "")
    status = announces(event)
    if order is not None and status is not None:
        moved = any(h.at == event.occurred_at and h.status == status for h in order.history)
        stepped = t == "OrderAllocated" and any(r.decided_at == event.occurred_at for r in order.routing)
        if not (moved or stepped):
            yield f"announces {status} at {event.occurred_at.isoformat()}, which the order never recorded"
    if t == "OrderLinesCancelled" and order is not None and order.cancellation(event.get("cancellation_id")) is None:
        yield f"cancellation {event.get('cancellation_id')} is not on the order"
    if t in ("FulfillmentRequested", "FulfillmentOrderChanged"):
        fo = snap.fulfillment.get(event.get("fulfillment_order_id"))
        if fo is None:
            yield f"fulfilment order {event.get('fulfillment_order_id')} does not exist"
        elif t == "FulfillmentOrderChanged" and not any(
                h.at == event.occurred_at and h.status.value == event.get("status") for h in fo.history):
            yield f"{event.get('fulfillment_order_id')} never recorded {event.get('status')} at that moment"
    if t in ("ShipmentDispatched", "ShipmentTrackingUpdated", "ShipmentDelayed") and \
            event.get("shipment_id") not in snap.shipments:
        yield f"parcel {event.get('shipment_id')} does not exist"
    if t == "DocumentIssued" and not any(d.number == event.get("number") and d.covers == event.get("covers")
                                         for d in snap.documents):
        yield f"document {event.get('number')} does not exist"
    if t == "RefundIssued":
        ret = snap.returns.get(event.get("rma_id"))
        if ret is None or not any(r.refund_id == event.get("refund_id") and r.state == RefundState.DONE
                                  for r in ret.refunds):
            yield f"refund {event.get('refund_id')} is not done on return {event.get('rma_id')}"
    if t in ("PaymentCaptured", "PaymentRefunded") and order is not None:
        kind, key = (MovementKind.CAPTURE, event.get("shipment_id")) if t == "PaymentCaptured" else \
            (MovementKind.REFUND, event.get("refund_id"))
        if key and order.pay.movement(kind, key) is None:
            yield f"no {kind.value} {key} on the order's payment"


def _once(counts: Counter, subjects: dict[str, str], what: str) -> Iterator[Violation]:
    for subject, owner in subjects.items():
        if counts[subject] != 1:
            yield Violation("one_event_per_record", owner, f"{what} {subject}: {counts[subject]} events")


@invariant("one_event_per_record", "each fulfilment order, parcel, document, finished return refund and payment "
                                   "movement was announced exactly once; each fulfilment order status change too")
def one_event_per_record(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    def count(detail_type: str, key: str) -> Counter:
        return Counter(e.get(key) for e in snap.events_by_type(detail_type))

    yield from _once(count("FulfillmentRequested", "fulfillment_order_id"),
                     {i: fo.order_id for i, fo in snap.fulfillment.items()}, "FulfillmentRequested of")
    yield from _once(count("ShipmentDispatched", "shipment_id"),
                     {i: s.order_id for i, s in snap.shipments.items()}, "ShipmentDispatched of")
    yield from _once(count("DocumentIssued", "number"), {d.number: d.order_id for d in snap.documents},
                     "DocumentIssued of")
    yield from _once(count("RefundIssued", "refund_id"),
                     {r.refund_id: ret.order_id for ret in snap.returns.values() for r in ret.refunds
                      if r.state == RefundState.DONE}, "RefundIssued of")
    refunds = count("PaymentRefunded", "refund_id")
    captures = Counter((e.get("order_id"), e.get("shipment_id")) for e in snap.events_by_type("PaymentCaptured"))
    for order_id, order in snap.orders.items():
        pay = order.pay
        yield from _once(refunds, {m.key: order_id for m in pay.movements if m.kind == MovementKind.REFUND},
                         "PaymentRefunded of refund")
        for m in pay.movements:
            reported = pay.reported_captured >= pay.captured and pay.reported_captured > 0
            if m.kind == MovementKind.CAPTURE and m.key != "paid-at-checkout" and not reported and \
                    captures[(order_id, m.key)] != 1:
                yield Violation("one_event_per_record", order_id,
                                f"PaymentCaptured of {m.key}: {captures[(order_id, m.key)]} events")
    fo_changes = Counter((e.get("fulfillment_order_id"), e.occurred_at, e.get("status"))
                         for e in snap.events_by_type("FulfillmentOrderChanged"))
    for fo_id, fo in snap.fulfillment.items():
        previous = "OPEN"
        for h in fo.history:
            if h.status.value != previous and fo_changes[(fo_id, h.at, h.status.value)] != 1:
                yield Violation("one_event_per_record", fo.order_id, f"{fo_id} -> {h.status}: "
                                f"{fo_changes[(fo_id, h.at, h.status.value)]} FulfillmentOrderChanged")
            previous = h.status.value


@invariant("tracking_events_match", "each parcel's status changes (carrier updates applied) were announced once each "
                                    "(ShipmentTrackingUpdated), and a parcel was announced late at most once")
def tracking_events_match(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    moved = Counter(e.get("shipment_id") for e in snap.events_by_type("ShipmentTrackingUpdated")
                    if e.get("status") != e.get("previous"))
    delayed = Counter(e.get("shipment_id") for e in snap.events_by_type("ShipmentDelayed"))
    for sid, shipment in snap.shipments.items():
        changes, current = 0, ShipmentStatus.LABEL_CREATED
        for entry in (e for e in shipment.history if e.applied):
            changes += entry.status != current
            current = entry.status
        if changes != moved[sid]:
            yield Violation("tracking_events_match", sid, f"{changes} status changes applied, {moved[sid]} announced")
        if delayed[sid] > 1:
            yield Violation("tracking_events_match", sid, f"announced late {delayed[sid]} times")
