"""What channels and operators do to an existing order: read, list, cancel, release, reject."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, datetime

from shared.adapters.expressions import Write
from shared.adapters.orders_repo import OrderFilter
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
from shared.domain.shipments import Shipment
from shared.errors import AccessDenied, Busy, Conflict, InvalidInput, NotFound
from shared.repositories import Repositories
from shared.unit_of_work import CommitFailed

ATTEMPTS = 5
MAX_MONTHS = 36


def get_order(order_id: str, principal: Principal, repos: Repositories) -> Order:
    order = repos.orders.get(order_id)
    # Another channel's order is "not found", not "forbidden": its existence is not ours to reveal.
    if order is None or not principal.can_see(order.channel):
        raise NotFound(f"order {order_id} not found", field="order_id")
    return order


def get_order_with_shipments(order_id: str, principal: Principal, repos: Repositories
                             ) -> tuple[Order, list[Shipment]]:
    """The order and its parcels, in the order they shipped (one batch read for the parcels)."""
    order = get_order(order_id, principal, repos)
    if not order.shipment_ids:
        return order, []
    rank = {shipment_id: n for n, shipment_id in enumerate(order.shipment_ids)}
    shipments = sorted(repos.shipments.many(list(rank)), key=lambda s: rank.get(s.shipment_id, len(rank)))
    return order, shipments


def list_orders(f: OrderFilter, principal: Principal, limit: int, cursor: str | None, repos: Repositories,
                now: datetime) -> tuple[list[Order], str | None]:
    if not principal.is_operator:
        if f.channel not in (None, principal.channel):
            raise AccessDenied("a channel can only list its own orders", field="channel")
        f = replace(f, channel=principal.channel)
    # Sort keys are UTC ISO 8601: compare bounds in UTC whatever offset the caller used.
    f = replace(f, created_from=_utc(f.created_from), created_to=_utc(f.created_to))
    if f.created_from and f.created_to and f.created_from > f.created_to:
        raise InvalidInput("created_from is after created_to", field="created_from")
    if f.channel_order_id is not None:
        return _by_channel_order_id(f, f.channel_order_id, cursor, repos)
    if f.customer_id is not None and f.channel is None:
        # Customer ids are each channel's own, and so is the index partition that lists them.
        raise InvalidInput("an operator listing a customer's orders names the channel too "
                           "(customer ids are each channel's own)", field="channel")
    unfiltered = f.channel is None and f.status is None and f.customer_id is None
    return repos.orders.list(f, limit, cursor, _months(f, now) if unfiltered else [])


def _by_channel_order_id(f: OrderFilter, channel_order_id: str, cursor: str | None, repos: Repositories
                         ) -> tuple[list[Order], str | None]:
    """At most one order: a channel order id is unique per channel (its channel key item says which
    order it made), so the channel must be known: the caller's own, or an operator's `channel`."""
    if f.channel is None:
        raise InvalidInput("an operator looking up a channel_order_id names the channel too "
                           "(channel_order_ids are unique per channel)", field="channel")
    if cursor:
        raise InvalidInput("cursor is not one this listing returned", field="cursor")
    order = repos.orders.by_channel_order_id(f.channel, channel_order_id)
    return ([order] if order is not None and _matches(order, f) else []), None


def _matches(order: Order, f: OrderFilter) -> bool:
    """The listing's other filters, for an order found by its channel order id."""
    return ((f.status is None or order.status == f.status)
            and (f.customer_id is None or order.request.customer.id == f.customer_id)
            and (f.created_from is None or order.created_at >= f.created_from)
            and (f.created_to is None or order.created_at <= f.created_to))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _months(f: OrderFilter, now: datetime) -> list[str]:
    """Months an unfiltered listing walks: the created range, by default the last twelve months.

    One index query per month, so the span is bounded; longer ranges filter by status or channel."""
    end = f.created_to or now
    start = f.created_from
    y, m = (start.year, start.month) if start else ((end.year - 1, end.month + 1) if end.month < 12 else (end.year, 1))
    if (end.year - y) * 12 + end.month - m >= MAX_MONTHS:
        raise InvalidInput(f"without a status or channel filter, created_from..created_to may span at most "
                           f"{MAX_MONTHS} months", field="created_from")
    months = []
    while (y, m) <= (end.year, end.month):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


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
