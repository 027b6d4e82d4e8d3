"""Fulfilment orders: one per location of an allocation, then accepted, picked, packed by the location."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.carriers.adapter import CHEAPEST, LabelFormat, LabelRequest, Parcel
from shared.domain.events import (
    DomainEvent,
    FulfillmentOrderChanged,
    LineQuantity,
    OrderDelivered,
    OrderShipped,
    ShipmentDispatched,
)
from shared.domain.fulfillment import (
    Action,
    Decision,
    FulfillmentOrder,
    FulfillmentStatus,
    OrderProgress,
    ShipmentTooLarge,
    decide,
    fulfillment_order_id,
    legacy_fulfillment_order_id,
    named_by,
    order_progress,
    spent_reservations,
)
from shared.domain.orders import Order, OrderStatus
from shared.domain.principal import Principal
from shared.domain.shipments import Shipment
from shared.errors import AccessDenied, Busy, Conflict, InvalidInput, NotFound
from shared.observability import count, logger
from shared.repositories import Repositories
from shared.services.fulfillment_parts import announcements, open_parts
from shared.services.labels import buy_label
from shared.unit_of_work import AlreadyExists, CommitFailed, OrderClosed, Refused, ReservationChanged, StockShort

if TYPE_CHECKING:
    from shared.domain.locations import Location

ATTEMPTS = 5


def request_fulfillment(event_id: str, order_id: str, channel: str, allocations: list[dict], pickup: bool,
                        repos: Repositories, now: datetime, order: Order | None = None) -> list[FulfillmentOrder]:
    """One fulfilment order per location of this allocation step, each announced, all in one
    transaction. A redelivery finds them there and creates nothing (they are returned as stored);
    an order cancelled in the meantime gets none. Each carries what its location needs from the
    order (who, where to, by when, the customer's note); its event carries none of that. `order`: the
    order as the caller read it (a batch's orders are read at once); the transaction checks it is open."""
    order = order if order is not None and order.order_id == order_id else repos.orders.get(order_id)
    if order is None or order.status == OrderStatus.CANCELLED:
        return []
    orders = open_parts(order, ((a["location_id"], a["sku"], int(a["quantity"])) for a in allocations), pickup, now,
                        lambda location: _id_named(order, event_id, location))
    work = repos.unit_of_work().add([repos.fulfillment.create(fo) for fo in orders],
                                    repos.events.publish_all(announcements(orders, now)))
    # Not for an order cancelled meanwhile: its cancel could not see these yet.
    work.add(repos.orders.still_open(order_id))
    try:
        work.commit()
    except Refused as refused:
        if refused.find(OrderClosed):
            return []
        if not refused.only(AlreadyExists):
            raise
        return [repos.fulfillment.get(fo.fulfillment_order_id) or fo for fo in orders]
    return orders


def _id_named(order: Order, event_id: str, location_id: str) -> str:
    """The id the order names for this step's part at the location: one allocated by the code before
    ids named their order names the legacy id (an event of then, handled by the code of now)."""
    legacy = legacy_fulfillment_order_id(event_id, location_id)
    return legacy if legacy in order.fulfillment_order_ids else fulfillment_order_id(event_id, location_id,
                                                                                      order.order_id)


def get_fulfillment_order(fulfillment_order_id: str, principal: Principal, repos: Repositories) -> FulfillmentOrder:
    _require_operator(principal)
    fo = repos.fulfillment.get(fulfillment_order_id)
    # A warehouse person sees their own locations' fulfilment orders only, and learns nothing of others'.
    if fo is None or not principal.may_work_at(fo.location_id):
        raise NotFound(f"fulfilment order {fulfillment_order_id} not found", field="fulfillment_order_id")
    return fo


def for_location(location_id: str, status: FulfillmentStatus | None, limit: int, cursor: str | None,
                 principal: Principal, repos: Repositories) -> tuple[list[FulfillmentOrder], str | None]:
    """A location's pull list, oldest first, one page."""
    _require_operator(principal)
    if not principal.may_work_at(location_id):
        raise AccessDenied(f"location {location_id} is not one of your locations", field="location_id")
    return repos.fulfillment.for_location(location_id, status, limit, cursor)


def get_shipment(shipment_id: str, principal: Principal, repos: Repositories) -> Shipment:
    _require_operator(principal)
    found = repos.shipments.get(shipment_id)
    if found is None:
        raise NotFound(f"shipment {shipment_id} not found", field="shipment_id")
    return found


def advance(fulfillment_order_id: str, action: Action, principal: Principal, repos: Repositories, now: datetime,
            note: str | None = None) -> FulfillmentOrder:
    """Accept, pick or pack: idempotent, and a late or repeated call cannot move it backwards."""
    for _ in range(ATTEMPTS):
        fo = get_fulfillment_order(fulfillment_order_id, principal, repos)
        expected, previous = fo.version, fo.status
        verdict = fo.apply(action, now, note, by=principal.name)
        if verdict.decision == Decision.ALREADY:
            return fo
        if verdict.decision == Decision.REFUSE:
            raise Conflict(verdict.reason, field="status")
        event = FulfillmentOrderChanged(occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id,
                                        order_id=fo.order_id, location_id=fo.location_id, status=fo.status.value,
                                        previous=previous.value)
        try:
            repos.commit(repos.fulfillment.save(fo, expected), repos.events.publish(event))
            return fo
        except CommitFailed:
            continue  # someone else moved it: decide again on a fresh read
    raise Busy("the fulfilment order is changing too fast; retry")


def _require_operator(principal: Principal) -> None:
    # Warehouses and stores without a WMS use the operator key for now (per-location keys: later).
    if not principal.is_operator:
        raise AccessDenied("fulfilment orders are for operators and locations, not sales channels")


@dataclass(frozen=True)
class LabelAsk:
    """Ship with a label we buy: the parcel, the service hint and the document format."""

    parcel: Parcel
    service: str = CHEAPEST
    label_format: LabelFormat = "PDF"


@dataclass(frozen=True)
class ShipRequest:
    shipment_id: str
    lines: dict[str, int]           # empty: everything that remains
    carrier: str | None = None
    service: str | None = None
    tracking_code: str | None = None
    label: LabelAsk | None = None   # buy a label instead of bringing carrier and tracking number


@dataclass(frozen=True)
class Shipped:
    """What a ship call answers: the fulfilment order as it is now, and the shipment of this call
    (created now, or by the earlier call a retry repeats)."""

    fulfillment_order: FulfillmentOrder
    shipment: Shipment


def ship(fulfillment_order_id: str, request: ShipRequest, principal: Principal, repos: Repositories,
         now: datetime) -> FulfillmentOrder:
    """`ship_parcel`, answering the fulfilment order alone."""
    return ship_parcel(fulfillment_order_id, request, principal, repos, now).fulfillment_order


def ship_parcel(fulfillment_order_id: str, request: ShipRequest, principal: Principal, repos: Repositories,
                now: datetime) -> Shipped:
    """Ship some or all lines: the fulfilment order, the stock (on hand and reserved both down), the
    shipment record and the order's status, in one transaction. The caller's shipment_id makes a
    retried call a no-op (it answers the shipment the first call created)."""
    for _ in range(ATTEMPTS):
        fo, order, location = _part_and_order(fulfillment_order_id, principal, repos, request.label is not None)
        verdict = decide(fo.status, Action.SHIP, fo.pickup)
        if verdict.decision != Decision.APPLY:
            if done := _already_shipped(fulfillment_order_id, request, repos):
                return Shipped(fo, done)
            raise Conflict(verdict.reason if verdict.decision == Decision.REFUSE else "nothing left to ship",
                           field="status")
        expected, previous = fo.version, fo.status
        try:
            shipped = fo.ship(request.lines, now, by=principal.name)
        except ShipmentTooLarge as too_large:
            if done := _already_shipped(fulfillment_order_id, request, repos):  # a retry of a partial shipment
                return Shipped(get_fulfillment_order(fulfillment_order_id, principal, repos), done)
            raise InvalidInput(str(too_large), field="lines") from None
        # A retried call: the order names every shipment committed (in the shipment's transaction), so
        # no label is bought again for one. Otherwise the shipment's attribute_not_exists is the guard.
        if request.shipment_id in order.shipment_ids and (done := _already_shipped(fulfillment_order_id, request, repos)):
            return Shipped(get_fulfillment_order(fulfillment_order_id, principal, repos), done)
        order_expected = order.version
        carrier, service, tracking_code, stored_label = request.carrier, request.service, request.tracking_code, None
        if request.label is not None:
            # Bought before our transaction (a carrier is no part of it); the shipment id is the
            # label's reference, so a retry of this loop or of the call gets the same label back.
            label, stored_label = buy_label(_label_request(request.shipment_id, request.label, fo, order, location))
            carrier, service, tracking_code = label.carrier, label.service, label.tracking_code
        parts, missing = _parts(order, fo, repos)
        order_events = _follow_parts(order, parts, missing, now, f"fulfilment order {fo.fulfillment_order_id} shipped")
        # A record this parcel empties goes in its transaction, not in a later sweep (docs/data-model.md).
        spent = spent_reservations(order.allocations, parts, [(sku, fo.location_id) for sku in shipped])
        # Always written, so two locations shipping parts of one order at once are serialised on it
        # and the second sees the first (the order's status follows all its parts).
        order.version += 1
        order.shipment_ids.append(request.shipment_id)
        shipment = Shipment(shipment_id=request.shipment_id, fulfillment_order_id=fo.fulfillment_order_id,
                            order_id=fo.order_id, channel=fo.channel, location_id=fo.location_id, lines=shipped,
                            carrier=carrier, service=service, tracking_code=tracking_code, label=stored_label,
                            created_at=now)
        events = [
            ShipmentDispatched(occurred_at=now, shipment_id=request.shipment_id, fulfillment_order_id=fo.fulfillment_order_id,
                               order_id=fo.order_id, channel=fo.channel, location_id=fo.location_id,
                               lines=[LineQuantity(sku=s, quantity=q) for s, q in shipped.items()],
                               carrier=carrier, service=service, tracking_code=tracking_code),
            FulfillmentOrderChanged(occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id,
                                    order_id=fo.order_id, location_id=fo.location_id, status=fo.status.value,
                                    previous=previous.value),
        ]
        events += order_events
        try:
            # With its tracking number: apply-tracking then finds it by key, not by querying an index.
            tracked = [repos.shipments.track(shipment)] if tracking_code else []
            repos.commit(repos.fulfillment.save(fo, expected), repos.shipments.create(shipment), *tracked,
                         repos.stock.ship(fo.order_id, fo.location_id, shipped, now, spent),
                         repos.orders.save(order, order_expected), repos.events.publish_all(events))
            return Shipped(fo, shipment)
        except CommitFailed as failed:
            if done := _already_shipped(fulfillment_order_id, request, repos):
                return Shipped(get_fulfillment_order(fulfillment_order_id, principal, repos), done)
            _refuse_if_stock_short(failed, location_id=fo.location_id, stored_label=stored_label)
            continue  # the fulfilment order or the order moved: decide again
    raise Busy("the fulfilment order is changing too fast; retry")


def _follow_parts(order, parts: list[FulfillmentOrder], missing: int, now: datetime, note: str,
                  handed_over: bool = False) -> list[DomainEvent]:
    """Move the order as its parts (`_parts`) say (PARTIALLY_SHIPPED, or SHIPPED once every part and
    no backorder is left) and return the events. A part handed over in the store (`handed_over`) is
    shipped and delivered in the same moment."""
    progress = order_progress([p.status for p in parts] + [FulfillmentStatus.OPEN] * missing)
    if progress is None:
        return []
    shipped = progress == OrderProgress.SHIPPED and not order.backordered
    target = OrderStatus.SHIPPED if shipped else OrderStatus.PARTIALLY_SHIPPED
    events: list[DomainEvent] = []
    if target != order.status:
        order.move_to(target, now, note=note)
        events.append(OrderShipped(occurred_at=now, order_id=order.order_id, channel=order.channel,
                                   status=target.value))
    if handed_over and target == OrderStatus.SHIPPED:
        order.move_to(OrderStatus.DELIVERED, now, note=note)
        events.append(OrderDelivered.of(order, now))
    return events


def _parts(order, fo: FulfillmentOrder, repos: Repositories) -> tuple[list[FulfillmentOrder], int]:
    """The order's fulfilment orders, `fo` as it is now and the others as read (one batch read), and
    how many it names that do not exist yet (request-fulfillment creates them from an event, a moment
    later): those count as open, with nothing shipped."""
    wanted = [i for i in order.fulfillment_order_ids if i != fo.fulfillment_order_id]
    found = repos.fulfillment.many(wanted) if wanted else []
    return [fo, *found], len(set(wanted)) - len(found)


def _refuse_if_stock_short(failed: CommitFailed, location_id: str, stored_label=None) -> None:
    """A stock level refusing the decrement (on hand counted below what is reserved) will refuse
    every retry too: that is a conflict for a person, not contention to wait out."""
    if isinstance(failed, Refused) and failed.only(StockShort, ReservationChanged):
        if stored_label is not None:
            # Bought, and now not used: record it so someone can void it with the carrier.
            logger.warning("label bought for a refused shipment", extra={
                "provider": stored_label.provider, "provider_shipment_id": stored_label.provider_shipment_id})
            count("LabelOrphaned")
        raise Conflict(f"the stock at {location_id} has fewer units on hand than this shipment takes; "
                       "correct the count (PUT /inventory/...) and ship again", field="stock")


def _already_shipped(fulfillment_order_id: str, request: ShipRequest, repos: Repositories) -> Shipment | None:
    """The shipment of this id if it was shipped before (a retried call), for this fulfilment order."""
    done = repos.shipments.get(request.shipment_id)
    if done is not None and done.fulfillment_order_id != fulfillment_order_id:
        raise Conflict(f"shipment_id {request.shipment_id} was used for another fulfilment order",
                       field="shipment_id")
    return done


def _order_of(fo: FulfillmentOrder, repos: Repositories) -> Order:
    order = repos.orders.get(fo.order_id)
    if order is None:  # cannot happen while fulfilment orders only come from allocations
        raise Conflict(f"order {fo.order_id} of this fulfilment order is gone", field="order_id")
    return order


def _part_and_order(fulfillment_order_id: str, principal: Principal, repos: Repositories, with_location: bool
                    ) -> tuple[FulfillmentOrder, Order, Location | None]:
    """The fulfilment order, its order and, for a label, its location (the sender's address). An id
    that names its order and location (`named_by`) reads them all in one request; a legacy id reads
    the fulfilment order first, then the others."""
    _require_operator(principal)
    named = named_by(fulfillment_order_id)
    if named is None:
        fo = get_fulfillment_order(fulfillment_order_id, principal, repos)
        return fo, *_order_and_location(fo, repos, with_location)
    order_id, location_id = named
    wanted = [repos.fulfillment.wanted(fulfillment_order_id), repos.orders.wanted(order_id)]
    found, order, *location = repos.read(*wanted, *([repos.locations.wanted(location_id)] if with_location else []))
    # A warehouse person sees their own locations' fulfilment orders only, and learns nothing of others'.
    if found is None or not principal.may_work_at(found.location_id):
        raise NotFound(f"fulfilment order {fulfillment_order_id} not found", field="fulfillment_order_id")
    if found.order_id != order_id or found.location_id != location_id:  # not one we made: read what it says
        return found, *_order_and_location(found, repos, with_location)
    if order is None:  # cannot happen while fulfilment orders only come from allocations
        raise Conflict(f"order {found.order_id} of this fulfilment order is gone", field="order_id")
    return found, order, location[0] if location else None


def _order_and_location(fo: FulfillmentOrder, repos: Repositories, with_location: bool
                        ) -> tuple[Order, Location | None]:
    """The fulfilment order's order and, for a label, its location (the sender's address): one read."""
    if not with_location:
        return _order_of(fo, repos), None
    order, location = repos.read(repos.orders.wanted(fo.order_id), repos.locations.wanted(fo.location_id))
    if order is None:  # cannot happen while fulfilment orders only come from allocations
        raise Conflict(f"order {fo.order_id} of this fulfilment order is gone", field="order_id")
    return order, location


def _label_request(shipment_id: str, label: LabelAsk, fo: FulfillmentOrder, order: Order,
                   location: Location | None) -> LabelRequest:
    if location is None or location.address is None:
        raise InvalidInput(f"location {fo.location_id} has no address to ship from; set it with "
                           f"PUT /locations/{fo.location_id}", field="label")
    to = order.request.shipping_address
    if to.name is None:
        to = to.model_copy(update={"name": order.request.customer.name})
    return LabelRequest(reference=shipment_id, from_address=location.address, to_address=to,
                        parcel=label.parcel, service=label.service, label_format=label.label_format)


def collect(fulfillment_order_id: str, pickup_code: str, principal: Principal, repos: Repositories,
            now: datetime) -> FulfillmentOrder:
    """The customer collects a click-and-collect order with their code: the fulfilment order, the
    stock (on hand and reserved both down) and the order (delivered, when this was all of it) in
    one transaction."""
    for _ in range(ATTEMPTS):
        fo, order, _ = _part_and_order(fulfillment_order_id, principal, repos, with_location=False)
        verdict = decide(fo.status, Action.COLLECT, fo.pickup)
        if verdict.decision == Decision.ALREADY:
            return fo
        if verdict.decision == Decision.REFUSE:
            raise Conflict(verdict.reason, field="status")
        if not fo.pickup_code or not hmac.compare_digest(fo.pickup_code.encode(), pickup_code.encode()):
            raise InvalidInput("pickup_code does not match this order's code", field="pickup_code")
        expected, previous = fo.version, fo.status
        handed = {line.sku: line.quantity - line.shipped for line in fo.lines if line.quantity > line.shipped}
        fo.apply(Action.COLLECT, now, "collected by the customer", by=principal.name)
        for line in fo.lines:
            line.shipped = line.quantity
        order_expected = order.version
        events: list[DomainEvent] = [FulfillmentOrderChanged(
            occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id, order_id=fo.order_id,
            location_id=fo.location_id, status=fo.status.value, previous=previous.value)]
        parts, missing = _parts(order, fo, repos)
        events += _follow_parts(order, parts, missing, now, f"fulfilment order {fo.fulfillment_order_id} collected",
                                handed_over=True)
        spent = spent_reservations(order.allocations, parts, [(sku, fo.location_id) for sku in handed])
        order.version += 1  # serialises with the order's other parts, as ship() does
        try:
            repos.commit(repos.fulfillment.save(fo, expected),
                         repos.stock.ship(fo.order_id, fo.location_id, handed, now, spent),
                         repos.orders.save(order, order_expected), repos.events.publish_all(events))
            return fo
        except CommitFailed as failed:
            _refuse_if_stock_short(failed, location_id=fo.location_id)
            continue
    raise Busy("the fulfilment order is changing too fast; retry")
