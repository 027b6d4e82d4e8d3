"""Domain events of fulfilment: fulfilment orders, shipments and their tracking, up to delivery.
Public through `shared.domain.events`."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.domain.events_base import DomainEvent, LineQuantity


class FulfillmentRequested(DomainEvent):
    event_type = "FulfillmentRequested"
    description = "A location was asked to fulfil part of an order (one fulfilment order per location)."
    fulfillment_order_id: str
    order_id: str
    channel: str
    location_id: str
    pickup: bool
    lines: list[LineQuantity]


class FulfillmentOrderChanged(DomainEvent):
    event_type = "FulfillmentOrderChanged"
    description = "A fulfilment order moved on (accepted, picked, packed, ...)."
    fulfillment_order_id: str
    order_id: str
    location_id: str
    status: str
    previous: str


class ShipmentDispatched(DomainEvent):
    event_type = "ShipmentDispatched"
    description = "A location shipped lines of a fulfilment order; their stock left on hand and reserved."
    shipment_id: str
    fulfillment_order_id: str
    order_id: str
    channel: str
    location_id: str
    lines: list[LineQuantity]
    carrier: str | None
    service: str | None
    tracking_code: str | None


class OrderShipped(DomainEvent):
    event_type = "OrderShipped"
    description = "The order's status followed its parts: PARTIALLY_SHIPPED or SHIPPED."
    order_id: str
    channel: str
    status: str


class ShipmentTrackingUpdated(DomainEvent):
    event_type = "ShipmentTrackingUpdated"
    description = "A carrier's tracking update moved a shipment on (duplicates and stale updates publish nothing)."
    shipment_id: str
    order_id: str
    channel: str
    tracking_code: str
    carrier: str | None
    status: str
    previous: str
    estimated_delivery: datetime | None = None


class ShipmentDelayed(DomainEvent):
    event_type = "ShipmentDelayed"
    description = "A shipment became late: the carrier's estimate passed the order's promise, or it reported a problem."
    shipment_id: str
    order_id: str
    channel: str
    tracking_code: str | None
    reason: str
    estimated_delivery: datetime | None = None
    promised_by: datetime | None = None


class OrderDelivered(DomainEvent):
    event_type = "OrderDelivered"
    description = "Every parcel of a fully shipped order was delivered (or, for pickup, collected)."
    order_id: str
    channel: str
    cash_on_delivery: bool = Field(default=False, description="the order pays cash on delivery: now it is collected")

    @classmethod
    def of(cls, order, now: datetime) -> OrderDelivered:
        from shared.domain.payments import PaymentMethod

        return cls(occurred_at=now, order_id=order.order_id, channel=order.channel,
                   cash_on_delivery=order.pay.method == PaymentMethod.CASH_ON_DELIVERY)
