"""What channels and operators do to an existing order: cancel, release, reject. The reads are in
`order_reads` (a read imports no event model); `get_order` is re-exported for the writes' callers."""

from __future__ import annotations

import random
import time
from datetime import datetime

from shared.adapters.expressions import Write
from shared.domain.events import (
    AllocatedLine,
    DomainEvent,
    FulfillmentOrderChanged,
    OrderCancelled,
    OrderRejected,
    OrderReleased,
    StockChanged,
)
from shared.domain.fulfillment import Action, Decision, FulfillmentStatus
from shared.domain.orders import CANCELLABLE, HoldReason, Order, OrderStatus
from shared.domain.principal import Principal
from shared.errors import AccessDenied, Busy, Conflict
from shared.repositories import Repositories
from shared.services.order_reads import get_order
from shared.unit_of_work import CommitFailed

__all__ = ["ATTEMPTS", "cancel_order", "get_order", "reject_order", "release_order"]

ATTEMPTS = 5


def cancel_order(order_id: str, principal: Principal, reason: str, repos: Repositories, now: datetime) -> Order:
    """Cancel before shipping: the order and the release of every reservation in one transaction."""
    for attempt in range(ATTEMPTS):
        if attempt:  # a hot SKU's level moves with every reservation: spread the retries out
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
        order = get_order(order_id, principal, repos)
        if order.status == OrderStatus.CANCELLED:
            return order  # a repeated cancel answers the same
        if order.status not in CANCELLABLE:
            raise Conflict(f"order is {order.status}; it can no longer be cancelled", field="status")
        expected = order.version
        released = list(order.allocations)
        levels, _ = repos.stock.snapshot({a.sku for a in released}, {a.location_id for a in released}, now.date())
        fulfillment_writes = _cancel_fulfillment(order, reason, repos, now)
        order.allocations, order.backordered, order.cancel_reason = [], [], reason
        order.move_to(OrderStatus.CANCELLED, now, note=reason, by=principal.name)
        order.version += 1
        events: list[DomainEvent] = [OrderCancelled(
            occurred_at=now, order_id=order.order_id, channel=order.channel, reason=reason,
            released=[AllocatedLine(location_id=a.location_id, sku=a.sku, quantity=a.quantity) for a in released],
        )]
        for a in released:
            before = levels[(a.sku, a.location_id)]
            events.append(StockChanged(
                occurred_at=now, sku=a.sku, location_id=a.location_id, cause="reservation_released",
                on_hand=before.on_hand, reserved=before.reserved - a.quantity, safety_stock=before.safety_stock,
                available=before.available + a.quantity, available_before=before.available,
                available_increased=True,
            ))
        versions = {(a.sku, a.location_id): levels[(a.sku, a.location_id)].version for a in released}
        try:
            repos.commit(repos.stock.release(order.order_id, released, now, versions, levels),
                         repos.orders.save(order, expected), repos.events.publish_all(events), fulfillment_writes)
            return order
        except CommitFailed:
            continue  # the order or a stock level moved while we worked: read again
    raise Busy("the order is changing too fast to cancel; retry")


def _cancel_fulfillment(order: Order, reason: str, repos: Repositories, now: datetime) -> list[Write]:
    """Cancel the order's fulfilment orders with it, so no location ships a cancelled order. Ones
    not created yet never will be: their creation checks that the order is not cancelled."""
    actions: list[Write] = []
    found = repos.fulfillment.many(order.fulfillment_order_ids)  # one batch read, not one per location
    # One the order names that is not there yet must still not be there when we commit: created
    # in between (its "not cancelled" check passed), it would be missed here. Refused, we read again.
    for missing in sorted(set(order.fulfillment_order_ids) - {fo.fulfillment_order_id for fo in found}):
        actions.append(repos.fulfillment.absent(missing))
    for fo in found:
        if fo.status in (FulfillmentStatus.REJECTED, FulfillmentStatus.CANCELLED):
            continue  # already over: a rejected part was re-routed, and its new part is cancelled here
        fo_id = fo.fulfillment_order_id
        expected, previous = fo.version, fo.status
        verdict = fo.apply(Action.CANCEL, now, reason)
        if verdict.decision == Decision.REFUSE:
            raise Conflict(f"fulfilment order {fo_id} is {fo.status}; the order can no longer be cancelled",
                           field="status")
        if verdict.decision == Decision.APPLY:
            actions.append(repos.fulfillment.save(fo, expected))
            actions.append(repos.events.publish(FulfillmentOrderChanged(
                occurred_at=now, fulfillment_order_id=fo_id, order_id=order.order_id, location_id=fo.location_id,
                status=fo.status.value, previous=previous.value)))
    return actions


def release_order(order_id: str, principal: Principal, repos: Repositories, now: datetime) -> Order:
    """An operator releases a held order: its holds are marked released and allocation runs again.

    A click-and-collect order held because its pickup store rejected it (see `rerouting`) gets that
    store back: the release takes it off the order's rejected locations, so allocation plans the order
    at the store again (verification does not raise a released PICKUP_UNAVAILABLE again). Left
    rejected, allocation could offer the order nowhere and it would wait as a backorder for good; a
    store that rejects again puts it back on hold, for a person to decide once more."""
    def change(order: Order) -> DomainEvent:
        released = []
        for hold in order.open_holds:
            hold.released_at, hold.released_by = now, principal.name
            released.append(hold.reason.value)
        store = order.request.fulfillment.location_id
        if HoldReason.PICKUP_UNAVAILABLE.value in released and order.request.fulfillment.type == "pickup" \
                and store in order.rejected_locations:
            order.rejected_locations.remove(store)
        order.move_to(OrderStatus.RECEIVED, now, note="released by " + principal.name, by=principal.name)
        return OrderReleased(occurred_at=now, order_id=order.order_id, channel=order.channel, released=released,
                             released_by=principal.name)

    return _operator_change(order_id, principal, OrderStatus.RECEIVED, change, repos)


def reject_order(order_id: str, principal: Principal, reason: str, repos: Repositories, now: datetime) -> Order:
    def change(order: Order) -> DomainEvent:
        order.move_to(OrderStatus.REJECTED, now, note=reason, by=principal.name)
        order.cancel_reason = reason
        return OrderRejected(occurred_at=now, order_id=order.order_id, channel=order.channel, reason=reason)

    return _operator_change(order_id, principal, OrderStatus.REJECTED, change, repos)


def _already_done(order: Order, target: OrderStatus) -> bool:
    if target == OrderStatus.REJECTED:
        return order.status == OrderStatus.REJECTED
    released = bool(order.holds) and not order.open_holds
    return released and order.status not in (OrderStatus.ON_HOLD, OrderStatus.REJECTED, OrderStatus.CANCELLED)


def _operator_change(order_id, principal: Principal, target: OrderStatus, change, repos: Repositories) -> Order:
    if not principal.is_operator:
        raise AccessDenied("only an operator may release or reject a held order")
    for _ in range(ATTEMPTS):
        order = get_order(order_id, principal, repos)
        if _already_done(order, target):
            return order  # a repeated release or reject answers the same
        if order.status != OrderStatus.ON_HOLD:
            raise Conflict(f"order is {order.status}, not ON_HOLD", field="status")
        expected = order.version
        event = change(order)
        order.version += 1
        try:
            repos.commit(repos.orders.save(order, expected), repos.events.publish(event))
            return order
        except CommitFailed:
            continue
    raise Busy("the order is changing too fast; retry")
