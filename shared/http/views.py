"""Response bodies of the HTTP API that are not domain models themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from shared.domain.fulfillment import FulfillmentOrder
from shared.domain.orders import ID_PATTERN, MAX_LINES, ORDER_ID_PATTERN, ExternalId, Order, OrderStatus, Sku
from shared.domain.stock import StockLevel

if TYPE_CHECKING:  # the orders function need not import the inventory use cases
    from shared.services.inventory import AdjustmentResult, ImportResult

SkuPath = Annotated[str, Path(pattern=ID_PATTERN)]
LocationPath = Annotated[str, Path(pattern=ID_PATTERN)]
OrderIdPath = Annotated[str, Path(pattern=ORDER_ID_PATTERN)]


class OrderAccepted(BaseModel):
    order_id: str
    channel_order_id: str
    status: OrderStatus
    duplicate: bool = Field(description="true when this channel order id was captured before")


class OrderPage(BaseModel):
    orders: list[Order]
    next_cursor: str | None


class Reason(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "requested"


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
    quantity: Annotated[int, Field(gt=0, le=100_000)]


class ShipBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shipment_id: ExternalId = Field(description="Yours; a retried call with the same id ships nothing more")
    lines: Annotated[list[ShipLine], Field(max_length=MAX_LINES)] = Field(
        default=[], description="What ships now; omit to ship everything that remains")
    carrier: Annotated[str, Field(max_length=64)] | None = None
    service: Annotated[str, Field(max_length=64)] | None = None
    tracking_number: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")] | None = None


class FulfillmentPage(BaseModel):
    fulfillment_orders: list[FulfillmentOrder]
    next_cursor: str | None
