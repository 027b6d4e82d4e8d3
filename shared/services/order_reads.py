"""What channels and operators read of orders: one order (with its parcels), a listing, a lookup by
channel order id. Apart from `order_actions` (the writes) so that a read imports no event model:
an orders-api cold start that answers a GET loads none of what cancelling or releasing publishes
(docs/performance.md, "Cold start")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from shared.adapters.orders_repo import OrderFilter
from shared.domain.orders import Order
from shared.domain.principal import Principal
from shared.domain.shipments import Shipment
from shared.errors import AccessDenied, InvalidInput, NotFound
from shared.repositories import Repositories

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
