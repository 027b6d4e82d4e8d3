"""Domain events of an order's own life: capture, verification holds, allocation, backorder,
cancellation, rejection, and a channel's revision of it. Public through `shared.domain.events`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.domain.events_base import AllocatedLine, DomainEvent, HoldInfo, LineQuantity


class OrderReceived(DomainEvent):
    event_type = "OrderReceived"
    description = "An order was captured from a channel (once per channel order id)."
    order_id: str
    channel: str
    channel_order_id: str
    total: str
    currency: str
    lines: list[LineQuantity]


class OrderReleased(DomainEvent):
    event_type = "OrderReleased"
    description = ("A held order was released (by an operator, its payment arriving, or a channel revision "
                   "replacing the data it was held for); it goes back to allocation.")
    order_id: str
    channel: str
    released: list[str]
    released_by: str


class OrderOnHold(DomainEvent):
    event_type = "OrderOnHold"
    description = "Verification put the order on hold with typed reasons for a person to act on."
    order_id: str
    channel: str
    holds: list[HoldInfo]


class OrderAllocated(DomainEvent):
    event_type = "OrderAllocated"
    description = "Stock was reserved for the order (all of it, or part when `partial` is true)."
    order_id: str
    channel: str
    allocations: list[AllocatedLine]
    partial: bool
    backordered: list[LineQuantity]
    pickup: bool = Field(default=False, description="click-and-collect: the location hands the order over")
    previous: str = Field(description="the order's status before this step: RECEIVED when verification has just "
                                      "passed (its first allocation step, after capture or a release)")
    # Required, and only ever true: the rule that feeds request-fulfillment matches its absence.
    parts_opened: Literal[True] = Field(description="this step's fulfilment orders were opened in the same "
                                                    "transaction (a FulfillmentRequested each). Absent on events "
                                                    "of earlier versions, whose parts request-fulfillment opens")


class OrderBackordered(DomainEvent):
    event_type = "OrderBackordered"
    description = "No stock could be reserved; the order waits and is released oldest first."
    order_id: str
    channel: str
    lines: list[LineQuantity]
    previous: str = Field(description="the order's status before this step: RECEIVED when verification has just "
                                      "passed (its first allocation step, after capture or a release)")


class OrderCancelled(DomainEvent):
    event_type = "OrderCancelled"
    description = "The order was cancelled before shipping; its reservations were released."
    order_id: str
    channel: str
    reason: str
    released: list[AllocatedLine]


class OrderLinesCancelled(DomainEvent):
    event_type = "OrderLinesCancelled"
    description = ("Part of an order was cancelled before it shipped (once per cancellation id): its reservations "
                   "were released, its backorder reduced, its fulfilment orders shrunk.")
    order_id: str
    channel: str
    cancellation_id: str = Field(description="the caller's id of this cancellation")
    reason: str
    lines: list[LineQuantity] = Field(description="the units cancelled, per SKU")
    released: list[AllocatedLine] = Field(description="the reserved units released, per location; the rest of "
                                                       "`lines` was backordered or not yet allocated")
    amount: str = Field(description="the cancelled units at their unit prices (shipping and discount not "
                                    "included), in `currency`")
    currency: str
    status: str = Field(description="the order's status after the cancellation")
    previous: str = Field(description="the order's status before it")


class OrderRejected(DomainEvent):
    event_type = "OrderRejected"
    description = "An operator rejected a held order. Terminal."
    order_id: str
    channel: str
    reason: str


class ChannelOrderUpdated(DomainEvent):
    event_type = "ChannelOrderUpdated"
    description = ("A channel sent a newer revision of an order it had sent before (Shopify orders/updated, "
                   "WooCommerce order.updated, an Amazon change). `applied`: its lines or address replaced "
                   "ours (the order was not yet allocated); otherwise it is recorded on the order only.")
    order_id: str
    channel: str
    channel_order_id: str
    revision: datetime
    applied: bool
    changed: list[str] = Field(description="What differed: lines, shipping_address, payment_status, ...")
