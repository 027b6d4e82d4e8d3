"""POST /orders/{order_id}/cancel: the whole order before it ships (`order_actions.cancel_order`, as
before), or, with `lines`, part of it before those lines ship, idempotent per the caller's
cancellation id.

One transaction per line cancellation: the order (version condition; the applied cancellations are
kept in it, so a repeat finds its own id there), the stock levels and reservation records of the
released units (`StockRepository.release_part`), the fulfilment orders whose lines shrink (version
condition each; one left with nothing to do CANCELLED, one left with only shipped lines SHIPPED), and
the events. Contention is retried as `cancel_order` retries it. The order's payment record is not
touched: settle-payments reacts to OrderLinesCancelled (refund what was paid for the lines).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.expressions import Write
from shared.domain.cancellation import FulfillmentPending, LinesCancelled, cancel_lines, cancelled_amount
from shared.domain.events import (
    AllocatedLine,
    DomainEvent,
    FulfillmentOrderChanged,
    LineQuantity,
    OrderCancelled,
    OrderDelivered,
    OrderLinesCancelled,
    OrderShipped,
    StockChanged,
)
from shared.domain.fulfillment import spent_reservations
from shared.domain.orders import CancelledLine, LineCancellation, Order, OrderStatus
from shared.domain.principal import Principal
from shared.domain.tracking import ShipmentStatus
from shared.errors import Busy, Conflict, InvalidInput
from shared.repositories import Repositories
from shared.services.order_actions import ATTEMPTS, cancel_order, get_order
from shared.unit_of_work import MAX_WRITES, CommitFailed


@dataclass(frozen=True)
class CancelRequest:
    reason: str = "requested"
    cancellation_id: str | None = None
    lines: Mapping[str, int] | None = None  # SKU -> units; None: the whole order


def cancel(order_id: str, principal: Principal, ask: CancelRequest, repos: Repositories, now: datetime) -> Order:
    """The whole order (no `lines`: exactly as before), or the lines asked."""
    if ask.lines is None:
        if ask.cancellation_id is not None and \
                get_order(order_id, principal, repos).cancellation(ask.cancellation_id) is not None:
            raise Conflict(f"cancellation_id {ask.cancellation_id} cancelled lines of this order; this request "
                           "names none", field="cancellation_id")
        return cancel_order(order_id, principal, ask.reason, repos, now)
    if ask.cancellation_id is None:
        raise InvalidInput("cancellation_id is required with lines (a repeat with the same id changes nothing)",
                           field="cancellation_id")
    return cancel_order_lines(order_id, principal, ask.cancellation_id, ask.lines, ask.reason, repos, now)


def cancel_order_lines(order_id: str, principal: Principal, cancellation_id: str, lines: Mapping[str, int],
                       reason: str, repos: Repositories, now: datetime) -> Order:
    """Cancel `lines` (SKU -> units) of the order before they ship. A repeat with the same id and lines
    answers the order and changes nothing; the same id with other lines is a conflict."""
    asked = dict(sorted(lines.items()))
    pending = False
    for attempt in range(ATTEMPTS):
        if attempt:  # a hot SKU's level moves with every reservation: spread the retries out
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
        order = get_order(order_id, principal, repos)
        applied = order.cancellation(cancellation_id)
        if applied is not None:
            if applied.units != asked:
                raise Conflict(f"cancellation_id {cancellation_id} was used for other lines of this order",
                               field="cancellation_id")
            return order  # a repeat answers the same
        expected = order.version
        found = repos.fulfillment.many(order.fulfillment_order_ids)  # one batch read
        missing = len(set(order.fulfillment_order_ids) - {fo.fulfillment_order_id for fo in found})
        cancellation = LineCancellation(
            cancellation_id=cancellation_id, lines=[CancelledLine(sku=s, quantity=q) for s, q in asked.items()],
            reason=reason, at=now, by=principal.name)
        try:
            done = cancel_lines(order, found, missing, cancellation, now)
        except FulfillmentPending:
            pending = True  # request-fulfillment creates them a moment after allocation: read again
            continue
        pending = False
        events = _events(order, done, cancellation, repos, now)
        released = done.releases()
        # A record this empties goes in its transaction, not in a later sweep (docs/data-model.md).
        spent = spent_reservations(order.allocations, found, [(a.sku, a.location_id) for a in released])
        levels, _ = repos.stock.snapshot({a.sku for a in released}, {a.location_id for a in released}, now.date())
        events += [_stock_changed(levels[(a.sku, a.location_id)], a.quantity, now) for a in released]
        order.version += 1
        writes: list[Write] = [
            *repos.stock.release_part(order.order_id, released, now,
                                      {(a.sku, a.location_id): levels[(a.sku, a.location_id)].version
                                       for a in released}, levels, spent),
            *[repos.fulfillment.save(fo, version) for fo, version, _ in done.changed],
            repos.orders.save(order, expected),
            *repos.events.publish_all(events),
        ]
        if len(writes) > MAX_WRITES:
            raise Conflict("these lines touch too many stock levels and fulfilment orders to cancel in one step; "
                           "cancel fewer lines at a time", field="lines")
        try:
            repos.commit(writes)
            return order
        except CommitFailed:
            continue  # the order, a fulfilment order or a stock level moved while we worked: read again
    if pending:
        raise Busy("this order's fulfilment orders are still being created; retry in a moment")
    raise Busy("the order is changing too fast to cancel; retry")


def _events(order: Order, done: LinesCancelled, cancellation: LineCancellation, repos: Repositories,
            now: datetime) -> list[DomainEvent]:
    """OrderLinesCancelled, the fulfilment orders that changed status, and what the order's new status
    announces: OrderCancelled (nothing left, nothing shipped), OrderShipped (nothing left, some shipped),
    and OrderDelivered when every part that left has already arrived (moved here: no later parcel will)."""
    events: list[DomainEvent] = []
    for fo, _, previous in done.changed:
        if fo.status != previous:
            events.append(FulfillmentOrderChanged(
                occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id, order_id=order.order_id,
                location_id=fo.location_id, status=fo.status.value, previous=previous.value))
    released = [AllocatedLine(location_id=a.location_id, sku=a.sku, quantity=a.quantity) for a in done.releases()]
    if order.status == OrderStatus.SHIPPED and done.previous != OrderStatus.SHIPPED:
        events.append(OrderShipped(occurred_at=now, order_id=order.order_id, channel=order.channel,
                                   status=OrderStatus.SHIPPED.value))
        if _everything_arrived(order, repos):
            order.move_to(OrderStatus.DELIVERED, now, note="the rest was cancelled; every part had arrived")
            events.append(OrderDelivered.of(order, now))
    lines = [LineQuantity(sku=line.sku, quantity=line.quantity) for line in cancellation.lines]
    events.insert(0, OrderLinesCancelled(
        occurred_at=now, order_id=order.order_id, channel=order.channel,
        cancellation_id=cancellation.cancellation_id, reason=cancellation.reason, lines=lines, released=released,
        amount=format(cancelled_amount(order, cancellation.units), "f"), currency=order.request.currency,
        status=order.status.value, previous=done.previous.value))
    if order.status == OrderStatus.CANCELLED:
        events.append(OrderCancelled(occurred_at=now, order_id=order.order_id, channel=order.channel,
                                     reason=cancellation.reason, released=released))
    return events


def _everything_arrived(order: Order, repos: Repositories) -> bool:
    """Every part that left has arrived: collected in the store (a pickup order), or each parcel delivered."""
    if order.request.fulfillment.type == "pickup":
        return True
    parcels = repos.shipments.many(order.shipment_ids)
    return bool(parcels) and len(parcels) == len(set(order.shipment_ids)) and \
        all(p.status == ShipmentStatus.DELIVERED for p in parcels)


def _stock_changed(before, quantity: int, now: datetime) -> StockChanged:
    return StockChanged(
        occurred_at=now, sku=before.sku, location_id=before.location_id, cause="reservation_released",
        on_hand=before.on_hand, reserved=before.reserved - quantity, safety_stock=before.safety_stock,
        available=before.available + quantity, available_before=before.available, available_increased=True)
