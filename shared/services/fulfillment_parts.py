"""An allocation step's fulfilment orders: one per location, each with what its location needs from
the order, and the `FulfillmentRequested` that announces it.

Allocation (and a rejection's re-routing) opens them in its own transaction, so an allocated order
always has its parts; request-fulfillment opens them for an `OrderAllocated` of the code before that
(`parts_opened` absent). Light on purpose: allocate-orders imports it at every cold start.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from shared.domain.events import FulfillmentRequested, LineQuantity, OrderAllocated
from shared.domain.fulfillment import (
    FulfillmentChange,
    FulfillmentLine,
    FulfillmentOrder,
    FulfillmentStatus,
    fulfillment_order_id,
)
from shared.domain.orders import Order

# (location id, SKU, units) of one allocation step
Allocated = tuple[str, str, int]


def open_parts(order: Order, allocated: Iterable[Allocated], pickup: bool, now: datetime,
               part_id: Callable[[str], str]) -> list[FulfillmentOrder]:
    """One fulfilment order per location of `allocated`, in location order; `part_id(location)` is its id."""
    by_location: dict[str, list[FulfillmentLine]] = defaultdict(list)
    for location, sku, quantity in allocated:
        by_location[location].append(FulfillmentLine(sku=sku, quantity=quantity))
    request = order.request
    ship_to = None
    if not pickup:
        ship_to = request.shipping_address
        if ship_to.name is None:
            ship_to = ship_to.model_copy(update={"name": request.customer.name})
    return [FulfillmentOrder(
        fulfillment_order_id=part_id(location), order_id=order.order_id, channel=order.channel,
        location_id=location, pickup=pickup, lines=lines, created_at=now, updated_at=now,
        # The customer shows this at the store; a redelivery's new code is discarded with its put.
        pickup_code=f"{secrets.randbelow(10**6):06d}" if pickup else None,
        history=[FulfillmentChange(status=FulfillmentStatus.OPEN, at=now)],
        customer_name=request.customer.name, ship_to=ship_to, promised_by=request.promised_by,
        customer_note=request.note,
    ) for location, lines in sorted(by_location.items())]


def announcements(parts: list[FulfillmentOrder], now: datetime) -> list[FulfillmentRequested]:
    """Each part's FulfillmentRequested: ids, location and lines, nothing personal."""
    return [FulfillmentRequested(
        occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id, order_id=fo.order_id, channel=fo.channel,
        location_id=fo.location_id, pickup=fo.pickup,
        lines=[LineQuantity(sku=line.sku, quantity=line.quantity) for line in fo.lines]) for fo in parts]


def parts_of(allocated: OrderAllocated, order: Order, now: datetime) -> list[FulfillmentOrder]:
    """The parts of the allocation step `allocated` announces (its `parts_opened` set), for the
    transaction that makes the step; the order names them from now on."""
    parts = open_parts(order, ((a.location_id, a.sku, a.quantity) for a in allocated.allocations), allocated.pickup,
                       now, lambda location: fulfillment_order_id(allocated.event_id, location, order.order_id))
    order.fulfillment_order_ids += [fo.fulfillment_order_id for fo in parts]
    return parts
