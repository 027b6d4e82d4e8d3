"""What the purchasing API answers and accepts beyond the domain models (shared/domain/purchasing.py,
shared/domain/replenishment.py)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field

from shared.domain.base import DeferredModel
from shared.domain.identifiers import ID_PATTERN
from shared.domain.purchasing import PurchaseOrder, PurchaseOrderStatus, Receipt, Supplier
from shared.domain.replenishment import Suggestion

SupplierPath = Annotated[str, Path(pattern=ID_PATTERN, description="Your id of the supplier")]
PurchaseOrderPath = Annotated[str, Path(pattern=ID_PATTERN, description="The purchase order's id")]
LocationQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description="One location's suggestions")]
SupplierQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description="One supplier's suggestions")]
StatusQuery = Annotated[PurchaseOrderStatus | None, Query(description="Only purchase orders in this status")]
POSupplierQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this supplier's purchase orders")]
AllQuery = Annotated[bool, Query(alias="all", description=(
    "true: every planned SKU and location with its forecast and reorder point, also those with nothing to order"))]


class PurchaseOrderView(PurchaseOrder):
    """A purchase order with its receipts, oldest first."""

    receipts: list[Receipt] = Field(default_factory=list, description="Its receipts, oldest first")

    @classmethod
    def of(cls, order: PurchaseOrder, receipts: list[Receipt]) -> PurchaseOrderView:
        return cls(**order.model_dump(), receipts=receipts)


class ReceiptAnswer(DeferredModel):
    receipt: Receipt
    duplicate: bool = Field(description="true: this receipt id was received before; nothing moved now")
    purchase_order: PurchaseOrder


class SuggestionPage(DeferredModel):
    """What to order now, per SKU and location (by location, then SKU). Filtered after reading: a page
    can be short, or empty, with `next_cursor` set; follow it until it is null."""

    suggestions: list[Suggestion]
    next_cursor: str | None

    @classmethod
    def of(cls, page: tuple[list[Suggestion], str | None]) -> SuggestionPage:
        return cls(suggestions=page[0], next_cursor=page[1])


class CancelAnswer(DeferredModel):
    purchase_order: PurchaseOrder
    duplicate: bool = Field(description="true: it was cancelled before; nothing moved now")


class PurchaseOrderPage(DeferredModel):
    """Purchase orders, oldest first (without their receipts: GET /purchase-orders/{id}). Filtered after
    reading: a page can be short, or empty, with `next_cursor` set; follow it until it is null."""

    purchase_orders: list[PurchaseOrder]
    next_cursor: str | None

    @classmethod
    def of(cls, page: tuple[list[PurchaseOrder], str | None]) -> PurchaseOrderPage:
        return cls(purchase_orders=page[0], next_cursor=page[1])


class SupplierList(DeferredModel):
    suppliers: list[Supplier]


def created_or_not[T](created: bool, body: T) -> Response[T]:
    """201 when the write created it, 200 when it was there already (changed, unchanged or repeated)."""
    return Response(status_code=201 if created else 200, content_type="application/json", body=body)
