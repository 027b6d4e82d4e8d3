"""Fulfilment orders: one per location of an allocation, then accepted, picked, packed by the location."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.dynamo import TransactionCancelled
from shared.adapters.outbox import event_action
from shared.domain.events import FulfillmentOrderChanged, FulfillmentRequested, LineQuantity, OrderShipped, \
    ShipmentDispatched
from shared.domain.fulfillment import Action, Decision, FulfillmentChange, FulfillmentLine, FulfillmentOrder, \
    FulfillmentStatus, ShipmentTooLarge, decide, fulfillment_order_id, order_progress
from shared.domain.orders import OrderStatus
from shared.domain.principal import Principal
from shared.domain.shipments import Shipment
from shared.errors import AccessDenied, Busy, Conflict, InvalidInput, NotFound
from shared.services.context import Repositories

ATTEMPTS = 5


def request_fulfillment(event_id: str, order_id: str, channel: str, allocations: list[dict], pickup: bool,
                        repos: Repositories, now: datetime) -> list[FulfillmentOrder]:
    """One fulfilment order per location of this allocation step, each announced, all in one
    transaction. A redelivery finds them there and creates nothing (they are returned as stored);
    an order cancelled in the meantime gets none."""
    by_location: dict[str, list[FulfillmentLine]] = defaultdict(list)
    for a in allocations:
        by_location[a["location_id"]].append(FulfillmentLine(sku=a["sku"], quantity=int(a["quantity"])))
    orders = [FulfillmentOrder(
        fulfillment_order_id=fulfillment_order_id(event_id, location), order_id=order_id, channel=channel,
        location_id=location, pickup=pickup, lines=lines, created_at=now, updated_at=now,
        history=[FulfillmentChange(status=FulfillmentStatus.OPEN, at=now)],
    ) for location, lines in sorted(by_location.items())]
    actions = []
    for fo in orders:
        actions.append(repos.fulfillment.create_action(fo))
        actions.append(event_action(repos.table, FulfillmentRequested(
            occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id, order_id=order_id, channel=channel,
            location_id=fo.location_id, pickup=pickup,
            lines=[LineQuantity(sku=line.sku, quantity=line.quantity) for line in fo.lines])))
    # Not for an order cancelled meanwhile: its cancel could not see these yet.
    actions.append(repos.orders.not_cancelled_check(order_id))
    try:
        repos.table.transact(actions)
    except TransactionCancelled as cancelled:
        failed = cancelled.failed_indexes()
        if not failed:
            raise
        if len(actions) - 1 in failed:
            return []
        return [repos.fulfillment.get(fo.fulfillment_order_id) or fo for fo in orders]
    return orders


def get_fulfillment_order(fulfillment_order_id: str, principal: Principal, repos: Repositories) -> FulfillmentOrder:
    _require_operator(principal)
    fo = repos.fulfillment.get(fulfillment_order_id)
    if fo is None:
        raise NotFound(f"fulfilment order {fulfillment_order_id} not found", field="fulfillment_order_id")
    return fo


def advance(fulfillment_order_id: str, action: Action, principal: Principal, repos: Repositories, now: datetime,
            note: str | None = None) -> FulfillmentOrder:
    """Accept, pick or pack: idempotent, and a late or repeated call cannot move it backwards."""
    for _ in range(ATTEMPTS):
        fo = get_fulfillment_order(fulfillment_order_id, principal, repos)
        expected, previous = fo.version, fo.status
        verdict = fo.apply(action, now, note)
        if verdict.decision == Decision.ALREADY:
            return fo
        if verdict.decision == Decision.REFUSE:
            raise Conflict(verdict.reason, field="status")
        event = FulfillmentOrderChanged(occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id,
                                        order_id=fo.order_id, location_id=fo.location_id, status=fo.status.value,
                                        previous=previous.value)
        try:
            repos.table.transact([repos.fulfillment.save_action(fo, expected), event_action(repos.table, event)])
            return fo
        except TransactionCancelled:
            continue  # someone else moved it: decide again on a fresh read
    raise Busy("the fulfilment order is changing too fast; retry")


def _require_operator(principal: Principal) -> None:
    # Warehouses and stores without a WMS use the operator key for now (per-location keys: later).
    if not principal.is_operator:
        raise AccessDenied("fulfilment orders are for operators and locations, not sales channels")


@dataclass(frozen=True)
class ShipRequest:
    shipment_id: str
    lines: dict[str, int]           # empty: everything that remains
    carrier: str | None = None
    service: str | None = None
    tracking_code: str | None = None


def ship(fulfillment_order_id: str, request: ShipRequest, principal: Principal, repos: Repositories,
         now: datetime) -> FulfillmentOrder:
    """Ship some or all lines: the fulfilment order, the stock (on hand and reserved both down), the
    shipment record and the order's status, in one transaction. The caller's shipment_id makes a
    retried call a no-op."""
    for _ in range(ATTEMPTS):
        done = repos.fulfillment.shipment(request.shipment_id)
        if done is not None:
            if done.fulfillment_order_id != fulfillment_order_id:
                raise Conflict(f"shipment_id {request.shipment_id} was used for another fulfilment order",
                               field="shipment_id")
            return get_fulfillment_order(fulfillment_order_id, principal, repos)
        fo = get_fulfillment_order(fulfillment_order_id, principal, repos)
        verdict = decide(fo.status, Action.SHIP, fo.pickup)
        if verdict.decision != Decision.APPLY:
            raise Conflict(verdict.reason if verdict.decision == Decision.REFUSE else "nothing left to ship",
                           field="status")
        expected, previous = fo.version, fo.status
        try:
            shipped = fo.ship(request.lines, now)
        except ShipmentTooLarge as too_large:
            raise InvalidInput(str(too_large), field="lines") from None
        order = repos.orders.get(fo.order_id)
        order_expected = order.version
        others = repos.fulfillment.many([i for i in order.fulfillment_order_ids if i != fo.fulfillment_order_id])
        progress = order_progress([fo.status] + [o.status for o in others])
        status = OrderStatus.PARTIALLY_SHIPPED if progress == "SHIPPED" and order.backordered else progress
        changed = status is not None and status != order.status
        if changed:
            order.move_to(OrderStatus(status), now, note=f"fulfilment order {fo.fulfillment_order_id} shipped")
        # Always written, so two locations shipping parts of one order at once are serialised on it
        # and the second sees the first (the order's status follows all its parts).
        order.version += 1
        order.shipment_ids.append(request.shipment_id)
        shipment = Shipment(shipment_id=request.shipment_id, fulfillment_order_id=fo.fulfillment_order_id,
                            order_id=fo.order_id, channel=fo.channel, location_id=fo.location_id, lines=shipped,
                            carrier=request.carrier, service=request.service, tracking_code=request.tracking_code,
                            created_at=now)
        events = [
            ShipmentDispatched(occurred_at=now, shipment_id=request.shipment_id, fulfillment_order_id=fo.fulfillment_order_id,
                               order_id=fo.order_id, channel=fo.channel, location_id=fo.location_id,
                               lines=[LineQuantity(sku=s, quantity=q) for s, q in shipped.items()],
                               carrier=request.carrier, service=request.service, tracking_code=request.tracking_code),
            FulfillmentOrderChanged(occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id,
                                    order_id=fo.order_id, location_id=fo.location_id, status=fo.status.value,
                                    previous=previous.value),
        ]
        if changed:
            events.append(OrderShipped(occurred_at=now, order_id=order.order_id, channel=order.channel,
                                       status=order.status.value))
        actions = ([repos.fulfillment.save_action(fo, expected), repos.fulfillment.shipment_action(shipment)]
                   + repos.stock.ship_actions(fo.order_id, fo.location_id, shipped, now)
                   + [repos.orders.save_action(order, order_expected)]
                   + [event_action(repos.table, e) for e in events])
        try:
            repos.table.transact(actions)
            return fo
        except TransactionCancelled:
            continue  # the fulfilment order, the order or the shipment id moved: decide again
    raise Busy("the fulfilment order is changing too fast; retry")
