"""Response bodies of the HTTP API that are not domain models themselves."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.bounds import STORED, Integer
from shared.domain.channels import Channel
from shared.domain.fulfillment import FulfillmentOrder
from shared.domain.invoices import Buyer, DocumentKind, InvoiceDocument, InvoiceLine, RateTotal, Seller
from shared.domain.notifications import tracking_url
from shared.domain.orders import ID_PATTERN, MAX_LINES, ORDER_ID_PATTERN, Order, OrderStatus, Sku
from shared.domain.shipments import Shipment
from shared.domain.stock import StockLevel
from shared.domain.tax import PriceBasis
from shared.domain.tracking import ShipmentStatus

if TYPE_CHECKING:  # the orders function need not import the inventory or fulfilment use cases
    from shared.services.fulfillment import ShipRequest
    from shared.services.inventory import AdjustmentResult, ImportResult
    from shared.services.line_cancellation import CancelRequest

SkuPath = Annotated[str, Path(pattern=ID_PATTERN)]
PageLimit = Annotated[int, Query(ge=1, le=200)]
PageCursor = Annotated[str | None, Query(max_length=2048)]
ChannelOrderIdQuery = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$", description=(
    "The channel's own order id (an operator names the channel too): at most one order"))]
CustomerIdQuery = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$", description=(
    "customer.id of the order request: the channel's own customer id (an operator names the channel too)"))]
LocationPath = Annotated[str, Path(pattern=ID_PATTERN)]
OrderIdPath = Annotated[str, Path(pattern=ORDER_ID_PATTERN)]


class OrderAccepted(BaseModel):
    order_id: str
    channel_order_id: str
    status: OrderStatus
    duplicate: bool = Field(description="true when this channel order id was captured before")


class OrderPage(BaseModel):
    """channel_order_id answers at most one order (an operator names the channel too); customer_id lists a
    customer's orders on a channel (an operator names the channel too). A channel always sees only its own."""

    orders: list[Order]
    next_cursor: str | None


class Reason(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "requested"


class CancelLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Annotated[Integer, Field(gt=0, le=10_000)]


class CancelBody(BaseModel):
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


class SkuStock(BaseModel):
    sku: str
    locations: list[StockLevel]
    on_hand: int
    reserved: int
    available_to_promise: int

    @classmethod
    def of(cls, sku: str, levels: list[StockLevel]) -> SkuStock:
        return cls(sku=sku, locations=levels, on_hand=sum(lv.on_hand for lv in levels),
                   reserved=sum(lv.reserved for lv in levels),
                   available_to_promise=sum(max(0, lv.available) for lv in levels))


class AdjustmentOutcome(BaseModel):
    adjustment_id: str
    outcome: Literal["applied", "duplicate", "rejected"]
    level: StockLevel | None = None
    error: dict | None = Field(default=None, description="error, field and problem of a rejected adjustment")

    @classmethod
    def of(cls, r: AdjustmentResult) -> AdjustmentOutcome:
        error = {"error": r.error.code, "field": r.error.field, "problem": r.error.message} if r.error else None
        return cls(adjustment_id=r.adjustment_id, outcome=r.outcome, level=r.level, error=error)


class ImportOutcome(BaseModel):
    imported: int
    errors: list[dict]

    @classmethod
    def of(cls, r: ImportResult) -> ImportOutcome:
        return cls(imported=r.imported, errors=r.errors)


class ShipLine(BaseModel):
    sku: Sku
    quantity: Annotated[Integer, Field(gt=0, le=100_000)]


class ParcelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight_grams: Annotated[Integer, Field(gt=0, le=1_000_000)]
    length_cm: Annotated[Decimal, Field(gt=0, le=1000, decimal_places=1)]
    width_cm: Annotated[Decimal, Field(gt=0, le=1000, decimal_places=1)]
    height_cm: Annotated[Decimal, Field(gt=0, le=1000, decimal_places=1)]


class LabelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parcel: ParcelBody
    service: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        default="cheapest", description='"cheapest", "fastest" or a carrier service name')
    format: Literal["PDF", "ZPL"] = "PDF"


class ShipBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # No "/": the id is a path segment of GET /shipments/{shipment_id}.
    shipment_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x2e\x30-\x7e]+$")] = Field(
        description="Yours; a retried call with the same id ships nothing more")
    lines: Annotated[list[ShipLine], Field(max_length=MAX_LINES)] = Field(
        default=[], description="What ships now; omit to ship everything that remains")
    carrier: Annotated[str, Field(max_length=64)] | None = None
    service: Annotated[str, Field(max_length=64)] | None = None
    tracking_number: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")] | None = None
    label: LabelBody | None = Field(default=None, description="Ask us to buy the label (instead of carrier and "
                                                               "tracking_number)")

    @model_validator(mode="after")
    def _label_or_own_carrier(self) -> ShipBody:
        if self.label is not None and (self.carrier or self.tracking_number):
            raise ValueError("give either label (we buy it) or carrier and tracking_number (you did), not both")
        return self

    def ship_request(self) -> ShipRequest:
        """The use case's request: lines of one SKU added up, the label ask as a parcel."""
        from shared.carriers.adapter import Parcel
        from shared.services.fulfillment import LabelAsk, ShipRequest

        lines: dict[str, int] = {}
        for line in self.lines:
            lines[line.sku] = lines.get(line.sku, 0) + line.quantity
        label = None
        if self.label is not None:
            p = self.label.parcel
            label = LabelAsk(Parcel(p.weight_grams, p.length_cm, p.width_cm, p.height_cm), self.label.service,
                             self.label.format)
        return ShipRequest(self.shipment_id, lines, self.carrier, self.service, self.tracking_number, label)


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class CollectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pickup_code: Annotated[str, Field(pattern=r"^[0-9]{6}$", description="The code the customer shows")]


class FulfillmentOrderView(FulfillmentOrder):
    # The store asks the customer for the code and we check it: it is never handed out by the API.
    pickup_code: str | None = Field(default=None, exclude=True)

    @classmethod
    def of(cls, fo: FulfillmentOrder) -> FulfillmentOrderView:
        return cls.model_validate(fo.model_dump())


class FulfillmentPage(BaseModel):
    fulfillment_orders: list[FulfillmentOrderView]
    next_cursor: str | None


class ShipmentView(Shipment):
    label_url: str | None = Field(default=None, description="The label document; presigned links last 15 minutes")

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentView:
        from shared.services.labels import label_link

        return cls(**shipment.model_dump(), label_url=label_link(shipment))


class ShipmentRef(BaseModel):
    """The parcel a ship call created: what goes on the box and what the customer follows."""

    shipment_id: str
    carrier: str | None
    service: str | None
    tracking_code: str | None
    tracking_url: str | None = Field(description="The carrier's public tracking page (known carriers only)")
    label_url: str | None = Field(description="The label we bought (presigned, 15 minutes); null for your own label")

    @classmethod
    def of(cls, shipment: Shipment, label_url: str | None) -> ShipmentRef:
        return cls(shipment_id=shipment.shipment_id, carrier=shipment.carrier, service=shipment.service,
                   tracking_code=shipment.tracking_code,
                   tracking_url=tracking_url(shipment.carrier, shipment.tracking_code), label_url=label_url)


class ShipAnswer(FulfillmentOrderView):
    """Answers the fulfilment order and the parcel it shipped: carrier, tracking number and link, and the label
    link when we bought the label. A retry with the same shipment_id ships nothing more and answers the same
    parcel."""

    shipment: ShipmentRef

    @classmethod
    def of(cls, fo: FulfillmentOrder, shipment: Shipment) -> ShipAnswer:  # type: ignore[override]
        from shared.services.labels import label_link

        return cls(**FulfillmentOrderView.of(fo).model_dump(), shipment=ShipmentRef.of(shipment, label_link(shipment)))


class ParcelView(BaseModel):
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


class InvoiceView(BaseModel):
    """An invoice or credit note as issued, with a link to its PDF."""

    number: str = Field(description="INV-<year>-<6 digits> or CRN-<year>-<6 digits>: gapless per selling entity, "
                                    "kind and year")
    kind: DocumentKind
    issued_at: datetime
    covers: str = Field(description="The shipment id (invoice) or the refund id (credit note)")
    corrects: str | None = Field(description="A credit note: the number of the invoice it corrects")
    currency: str
    price_basis: PriceBasis = Field(description="INCLUSIVE: unit prices include tax; EXCLUSIVE: tax is added")
    lines: list[InvoiceLine]
    taxes: list[RateTotal] = Field(description="Per tax rate, lowest first")
    net: Decimal
    tax: Decimal
    gross: Decimal
    seller: Seller
    buyer: Buyer
    pdf_url: str = Field(description="The PDF (presigned, 15 minutes). Rendered a few seconds after the document "
                                     "is issued: until then the link answers 404, ask again for a fresh one later")

    @classmethod
    def of(cls, d: InvoiceDocument, pdf_url: str) -> InvoiceView:
        return cls(number=d.number, kind=d.kind, issued_at=d.issued_at, covers=d.covers, corrects=d.corrects,
                   currency=d.currency, price_basis=d.price_basis, lines=d.lines, taxes=d.taxes, net=d.net, tax=d.tax,
                   gross=d.gross, seller=d.seller, buyer=d.buyer, pdf_url=pdf_url)


class InvoiceList(BaseModel):
    """GET /orders/{order_id}/invoices: the order's invoices (one per shipment or collected pickup) and credit
    notes (one per refund), in the order they were issued, each with a presigned link to its PDF valid for 15
    minutes. A document issued a moment ago may not be rendered yet: its link answers 404 until it is (ask
    again). The same visibility as GET /orders/{order_id}: a channel sees its own orders' documents only."""

    order_id: str
    invoices: list[InvoiceView]


# ------------------------------------------------------------------ channels


class ChannelWritten(BaseModel):
    channel: Channel
    created: bool
    api_key: str | None = Field(description="The channel's new API key: shown this once, never again (keep it)")


class RejectedPayload(BaseModel):
    received_at: str
    topic: str
    problem: str
    field: str | None
    body: str = Field(description="The payload as it was sent (signed by the channel)")
    truncated: bool


class ChannelStock(BaseModel):
    channel_id: str
    sku: str
    channel_sku: str = Field(description="The SKU as the channel knows it")
    available_to_sell: int = Field(description="Available at the locations that may serve the channel, minus its "
                                               "buffer, never below zero")
    buffer: int
