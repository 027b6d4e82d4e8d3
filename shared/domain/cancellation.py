"""Cancelling part of an order before it ships: which units a line cancellation takes, from where, and
what the order's status becomes. Pure rules, no AWS: shared/services/line_cancellation.py reads,
writes (one transaction) and retries.

Units that can be cancelled are the ones not shipped yet:
- an order not allocated yet (RECEIVED, ON_HOLD): its request's lines, less what was cancelled before
  (allocation plans only what is left: `Order.remaining_lines`);
- otherwise its backorder (nothing reserved: the backorder shrinks), then the unshipped units of its
  live fulfilment orders (reserved: released), least progressed first (OPEN before ACCEPTED, ...,
  a PARTIALLY_SHIPPED one's unshipped rest last), so the least of a location's work is wasted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from shared.domain.fulfillment import TERMINAL, FulfillmentOrder, FulfillmentStatus, order_progress
from shared.domain.money import ZERO, quantum
from shared.domain.orders import (
    MAX_CANCELLATIONS,
    Allocation,
    BackorderedLine,
    LineCancellation,
    Order,
    OrderStatus,
)
from shared.errors import Conflict, InvalidInput

F = FulfillmentStatus
NOT_ALLOCATED_YET = (OrderStatus.RECEIVED, OrderStatus.ON_HOLD)
SPLIT = (OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_ALLOCATED, OrderStatus.ALLOCATED,
         OrderStatus.PARTIALLY_SHIPPED)
_PROGRESS = {F.OPEN: 0, F.ACCEPTED: 1, F.PICKED: 2, F.PACKED: 3, F.READY_FOR_PICKUP: 4, F.PARTIALLY_SHIPPED: 5}


class FulfillmentPending(Exception):
    """The order names fulfilment orders not created yet (request-fulfillment makes them a moment after
    allocation), and the ask needs more units than the others hold: they may be among the missing ones."""


@dataclass
class LinesCancelled:
    """What a line cancellation did to the order and its fulfilment orders (changed in place)."""

    previous: OrderStatus
    not_allocated: dict[str, int] = field(default_factory=dict)  # SKU -> units off the request or backorder
    released: dict[tuple[str, str], int] = field(default_factory=dict)  # (SKU, location) -> units released
    # Fulfilment orders changed: (the fulfilment order, its version and status as read).
    changed: list[tuple[FulfillmentOrder, int, FulfillmentStatus]] = field(default_factory=list)

    def releases(self) -> list[Allocation]:
        return [Allocation(location_id=loc, sku=sku, quantity=q) for (sku, loc), q in sorted(self.released.items())]


def cancel_lines(order: Order, fulfillment_orders: list[FulfillmentOrder], missing: int,
                 cancellation: LineCancellation, now: datetime) -> LinesCancelled:
    """Apply `cancellation` to `order` and to its `fulfillment_orders` (those that exist; `missing` named
    by the order are not created yet). Raises InvalidInput for a SKU the order does not have, Conflict for
    more units than are left to cancel (or an order with nothing left), FulfillmentPending when the missing
    fulfilment orders may hold what is asked."""
    asked = cancellation.units
    unknown = sorted(set(asked) - {line.sku for line in order.request.lines})
    if unknown:
        raise InvalidInput(f"{', '.join(unknown)}: not a SKU of this order", field="lines")
    if order.status not in NOT_ALLOCATED_YET + SPLIT:
        raise Conflict(f"order is {order.status}; nothing of it is left to cancel", field="status")
    if len(order.cancellations) >= MAX_CANCELLATIONS:
        raise Conflict(f"order has {MAX_CANCELLATIONS} line cancellations already; cancel the whole order or "
                       "contact an operator", field="lines")
    done = LinesCancelled(previous=order.status)
    open_units: dict[str, int] = {}
    live: list[FulfillmentOrder] = []
    for line in order.remaining_lines_of_request() if order.status in NOT_ALLOCATED_YET else order.backordered:
        open_units[line.sku] = open_units.get(line.sku, 0) + line.quantity
    if order.status in SPLIT:
        live = sorted((fo for fo in fulfillment_orders if fo.status not in TERMINAL),
                      key=lambda fo: (_PROGRESS.get(fo.status, 9), fo.created_at, fo.fulfillment_order_id))
    taking: dict[str, dict[str, int]] = {}
    for sku, want in sorted(asked.items()):
        take = min(want, open_units.get(sku, 0))
        if take:
            done.not_allocated[sku] = take
        left = want - take
        for fo in live:
            remaining = sum(x.quantity - x.shipped for x in fo.lines if x.sku == sku)
            if left and remaining:
                units = min(left, remaining)
                taking.setdefault(fo.fulfillment_order_id, {})[sku] = units
                done.released[(sku, fo.location_id)] = done.released.get((sku, fo.location_id), 0) + units
                left -= units
        if left:
            if missing:
                raise FulfillmentPending(sku)
            can = want - left
            raise Conflict(f"{sku}: {want} asked, only {can} not shipped yet can be cancelled", field="lines")

    note = f"lines cancelled ({cancellation.cancellation_id}): {cancellation.reason}"
    for fo in live:
        if fo.fulfillment_order_id in taking:
            expected, before = fo.version, fo.status
            fo.cancel_units(taking[fo.fulfillment_order_id], now, note)
            done.changed.append((fo, expected, before))
    _take_off_order(order, done)
    order.cancellations.append(cancellation)
    target = _status_after(order, fulfillment_orders, missing)
    if target == OrderStatus.CANCELLED:
        order.cancel_reason = cancellation.reason
    order.move_to(target, now, note=note, by=cancellation.by)
    order.updated_at = now
    return done


def _take_off_order(order: Order, done: LinesCancelled) -> None:
    if order.status not in NOT_ALLOCATED_YET:
        backorder: dict[str, int] = {}
        for b in order.backordered:
            backorder[b.sku] = backorder.get(b.sku, 0) + b.quantity
        for sku, units in done.not_allocated.items():
            backorder[sku] -= units
        order.backordered = [BackorderedLine(sku=s, quantity=q) for s, q in backorder.items() if q > 0]
    allocated = {(a.location_id, a.sku): a.quantity for a in order.allocations}
    for (sku, loc), units in done.released.items():
        allocated[(loc, sku)] = allocated.get((loc, sku), 0) - units
    order.allocations = [Allocation(location_id=loc, sku=sku, quantity=q) for (loc, sku), q in allocated.items()
                         if q > 0]


def _status_after(order: Order, fulfillment_orders: list[FulfillmentOrder], missing: int) -> OrderStatus:
    """CANCELLED when nothing is left and nothing shipped, SHIPPED when nothing is left and some shipped,
    else what the rest says (the same rules as allocation and re-routing)."""
    if order.status in NOT_ALLOCATED_YET:
        return order.status if order.remaining_lines_of_request() else OrderStatus.CANCELLED
    statuses = [fo.status for fo in fulfillment_orders] + [F.OPEN] * missing
    progress = order_progress(statuses)
    left = bool(order.backordered) or missing > 0 or any(s not in TERMINAL for s in statuses)
    if not left:
        return OrderStatus.CANCELLED if progress is None else OrderStatus.SHIPPED
    if progress is not None:
        return OrderStatus.PARTIALLY_SHIPPED
    if not order.backordered:
        return OrderStatus.ALLOCATED
    return OrderStatus.PARTIALLY_ALLOCATED if order.allocations else OrderStatus.BACKORDERED


def cancelled_amount(order: Order, units: Mapping[str, int]) -> Decimal:
    """What the cancelled units were paid at: their unit prices less their share of the order's
    discount (pro rata to value, as invoices share it out), rounded half up to the currency's minor
    unit. The shipping price stays owed while anything ships. A SKU on several lines is valued at its
    lines' average price."""
    req = order.request
    value: dict[str, Decimal] = {}
    count: dict[str, int] = {}
    for line in req.lines:
        value[line.sku] = value.get(line.sku, ZERO) + line.unit_price * line.quantity
        count[line.sku] = count.get(line.sku, 0) + line.quantity
    amount = sum((value[sku] * q / count[sku] for sku, q in units.items()), ZERO)
    subtotal = sum(value.values(), ZERO)
    if subtotal > 0 and req.discount_total > 0:
        amount -= req.discount_total * amount / subtotal
    return max(amount, ZERO).quantize(quantum(req.currency), rounding=ROUND_HALF_UP)
