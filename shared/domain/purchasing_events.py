"""The events of purchasing (shared/domain/purchasing.py): suppliers and purchase orders."""

from __future__ import annotations

from pydantic import Field

from shared.domain.base import DeferredModel
from shared.domain.events import DomainEvent, LineQuantity


class SupplierChanged(DomainEvent):
    event_type = "SupplierChanged"
    description = "A supplier was created or changed (lead time, SKUs supplied, order quantities, service level)."
    supplier_id: str
    created: bool
    active: bool
    lead_time_days: int
    skus: list[str] = Field(description="SKUs and SKU patterns (TEE-*) it supplies")
    min_order_quantity: int
    order_multiple: int
    service_level: float


class PurchaseOrderCreated(DomainEvent):
    event_type = "PurchaseOrderCreated"
    description = ("A purchase order was placed with a supplier, by hand or from the replenishment suggestions; "
                   "once per purchase order id.")
    purchase_order_id: str
    supplier_id: str
    location_id: str
    lines: list[LineQuantity]
    source: str = Field(description="manual or suggestion")
    expected_at: str = Field(description="ordered plus the supplier's lead time (ISO 8601, UTC)")
    created_by: str


class ReceivedUnits(DeferredModel):
    sku: str
    quantity: int = Field(description="units received by this receipt (all went on hand)")
    ordered: int
    received: int = Field(description="units received on this line so far, this receipt included")
    over_received: int = Field(description="units of this receipt beyond what the line still awaited")


class PurchaseOrderReceived(DomainEvent):
    event_type = "PurchaseOrderReceived"
    description = ("Goods of a purchase order were received at its location, once per receipt id: on hand rose in "
                   "the same transaction (a StockChanged per SKU follows, which releases waiting backorders). "
                   "Over-receipts are accepted and flagged.")
    purchase_order_id: str
    supplier_id: str
    location_id: str
    receipt_id: str
    status: str = Field(description="the purchase order's status after the receipt")
    lines: list[ReceivedUnits]
    over_received: bool = Field(description="this receipt brought units beyond what was ordered: review them")
    final: bool = Field(description="the receipt closed the order: what is outstanding will not come")
    received_by: str


class PurchaseOrderCancelled(DomainEvent):
    event_type = "PurchaseOrderCancelled"
    description = ("A purchase order nothing was received against was cancelled, once: its open units stopped "
                   "counting as on order in the same transaction.")
    purchase_order_id: str
    supplier_id: str
    location_id: str
    lines: list[LineQuantity] = Field(description="the units taken off order, by SKU")
    reason: str | None = None
    cancelled_by: str


PURCHASING_EVENTS: tuple[type[DomainEvent], ...] = (SupplierChanged, PurchaseOrderCreated, PurchaseOrderReceived,
                                                    PurchaseOrderCancelled)
