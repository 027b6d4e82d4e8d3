"""Response and request bodies of the order routes that are not domain models themselves.

The other areas' views are in their own modules (fulfillment_views, inventory_views, invoice_views,
channel_views, return_views): each function imports, and pydantic builds, only its own models at a
cold start. The shared path and query parameters are in shared/http/params.py."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from pydantic import ConfigDict, Field

from shared.domain.base import DeferredModel
from shared.domain.bounds import STORED, Integer
from shared.domain.notifications import tracking_url
from shared.domain.orders import ID_PATTERN, MAX_LINES, Order, OrderStatus, Sku
from shared.domain.shipments import Shipment
from shared.domain.tracking import ShipmentStatus

if TYPE_CHECKING:  # the orders function need not import the cancellation use case to answer a read
    from shared.services.line_cancellation import CancelRequest


class OrderAccepted(DeferredModel):
    order_id: str
    channel_order_id: str
    status: OrderStatus
    duplicate: bool = Field(description="true when this channel order id was captured before")


def accepted(stored: Order, channel_order_id: str, created: bool) -> Response[OrderAccepted]:
    """POST /orders' 202: the order stored now (created) or before under this channel_order_id."""
    body = OrderAccepted(order_id=stored.order_id, channel_order_id=channel_order_id, status=stored.status,
                         duplicate=not created)
    return Response(status_code=202, content_type="application/json", body=body)


class OrderPage(DeferredModel):
    """channel_order_id answers at most one order (an operator names the channel too); customer_id lists a
    customer's orders on a channel (an operator names the channel too). A channel always sees only its own."""

    orders: list[Order]
    next_cursor: str | None


class Reason(DeferredModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "requested"


class CancelLine(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Annotated[Integer, Field(gt=0, le=10_000)]


class CancelBody(DeferredModel):
    """POST /orders/{order_id}/cancel. Without `lines`: the whole order, before any of it ships (every
    reservation released, its fulfilment orders cancelled; a repeat answers the same). With `lines`: those
    units, before they ship (also the unshipped rest of a partly shipped order): their reservations
    released, their backorder reduced and their fulfilment orders' lines shrunk, in one step; more than is
    left to cancel is a 409 naming the SKU. What was paid for them is refunded, what was only authorised
    released (settle-payments, on OrderLinesCancelled)."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "requested"
    cancellation_id: Annotated[str, Field(pattern=ID_PATTERN)] | None = Field(
        default=None, description="Yours, required with lines: a repeat with the same id and lines changes nothing "
                                  "and answers the order; the same id with other lines is a 409")
    lines: Annotated[list[CancelLine], Field(min_length=1, max_length=MAX_LINES)] | None = Field(
        default=None, description="What to cancel (units of one SKU added up); omit to cancel the whole order")

    def cancel_request(self) -> CancelRequest:
        from shared.services.line_cancellation import CancelRequest

        if self.lines is None:
            return CancelRequest(self.reason, self.cancellation_id)
        lines: dict[str, int] = {}
        for line in self.lines:
            lines[line.sku] = lines.get(line.sku, 0) + line.quantity
        return CancelRequest(self.reason, self.cancellation_id, lines)


class ParcelView(DeferredModel):
    """One parcel of an order, as a customer service agent or the customer asks about it."""

    shipment_id: str
    location_id: str
    lines: dict[str, int]
    carrier: str | None
    service: str | None
    tracking_code: str | None
    tracking_url: str | None = Field(description="The carrier's public tracking page (known carriers only)")
    status: ShipmentStatus
    status_at: datetime | None
    estimated_delivery: datetime | None
    delay_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, s: Shipment) -> ParcelView:
        return cls(shipment_id=s.shipment_id, location_id=s.location_id, lines=s.lines, carrier=s.carrier,
                   service=s.service, tracking_code=s.tracking_code,
                   tracking_url=tracking_url(s.carrier, s.tracking_code), status=s.status, status_at=s.status_at,
                   estimated_delivery=s.estimated_delivery, delay_reason=s.delay_reason, created_at=s.created_at)


class OrderView(Order):
    """GET /orders/{order_id}: the order, with its parcels (where is my parcel)."""

    shipments: list[ParcelView] = Field(default=[], description="Every parcel shipped for it, in shipping order")

    @classmethod
    def of(cls, order: Order, shipments: list[Shipment]) -> OrderView:
        # The stored order as it is: a view of it is not input, so input's checks do not apply (STORED).
        return cls.model_validate({**order.model_dump(), "shipments": [ParcelView.of(s) for s in shipments]},
                                  context=STORED)
