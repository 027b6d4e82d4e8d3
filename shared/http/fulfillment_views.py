"""Bodies and answers of the fulfilment routes: ship (with a bought or an own label), reject, collect,
fulfilment orders as a location sees them, and shipments."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from shared.domain.base import DeferredModel
from shared.domain.bounds import Integer
from shared.domain.fulfillment import FulfillmentOrder
from shared.domain.identifiers import MAX_LINES, Sku
from shared.domain.notifications import tracking_url
from shared.domain.shipments import Shipment

if TYPE_CHECKING:
    from shared.services.fulfillment import ShipRequest


class ShipLine(DeferredModel):
    sku: Sku
    quantity: Annotated[Integer, Field(gt=0, le=100_000)]


class ParcelBody(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    weight_grams: Annotated[Integer, Field(gt=0, le=1_000_000)]
    length_cm: Annotated[Decimal, Field(gt=0, le=1000, decimal_places=1)]
    width_cm: Annotated[Decimal, Field(gt=0, le=1000, decimal_places=1)]
    height_cm: Annotated[Decimal, Field(gt=0, le=1000, decimal_places=1)]


class LabelBody(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    parcel: ParcelBody
    service: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        default="cheapest", description='"cheapest", "fastest" or a carrier service name')
    format: Literal["PDF", "ZPL"] = "PDF"


class ShipBody(DeferredModel):
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


class RejectBody(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class CollectBody(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    pickup_code: Annotated[str, Field(pattern=r"^[0-9]{6}$", description="The code the customer shows")]


class FulfillmentOrderView(FulfillmentOrder):
    # The store asks the customer for the code and we check it: it is never handed out by the API.
    pickup_code: str | None = Field(default=None, exclude=True)

    @classmethod
    def of(cls, fo: FulfillmentOrder) -> FulfillmentOrderView:
        return cls.model_validate(fo.model_dump())


class FulfillmentPage(DeferredModel):
    fulfillment_orders: list[FulfillmentOrderView]
    next_cursor: str | None


class ShipmentView(Shipment):
    label_url: str | None = Field(default=None, description="The label document; presigned links last 15 minutes")

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentView:
        from shared.services.labels import label_link

        return cls(**shipment.model_dump(), label_url=label_link(shipment))


class ShipmentRef(DeferredModel):
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
