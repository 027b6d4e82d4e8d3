"""Suppliers, purchase orders and their receipts. Plain models and the pure rules of receiving.

Receiving, per receipt (docs/replenishment.md):
1. A purchase order is received while OPEN or PARTIALLY_RECEIVED; RECEIVED and CLOSED ones take no
   more (a late delivery is an inventory adjustment, with a person deciding).
2. Every unit counted goes on hand at the order's location: the goods are on the shelf whatever the
   paperwork says. Units beyond what a line still awaits are an over-receipt: accepted, counted on
   the line and the receipt, and the order flagged `over_received` for a person to review (with the
   supplier: return them, or pay for them).
3. A SKU that is not on the order is refused (its line names it): that is another order's delivery,
   or an adjustment.
4. `final` closes the order: what is still outstanding will not come (CLOSED), and stops counting as
   on order. An order whose every line is received in full is RECEIVED.

Cancelling (`cancel`):
5. Only an order nothing was received against (OPEN, no receipt) is CANCELLED: its whole quantity stops
   counting as on order. One that has received something is closed instead (a `final` receipt
   without lines): its receipts stay true, and CLOSED says the rest will not come. Cancelling a
   cancelled order again changes nothing (answered as it is); a RECEIVED, CLOSED or partly received
   one is a conflict.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, Strict, model_validator

from shared.domain.base import DeferredModel
from shared.domain.bounds import Integer
from shared.domain.identifiers import ID_PATTERN, ExternalId, LocationId, Sku
from shared.errors import Conflict, InvalidInput

SupplierId = Annotated[str, Field(pattern=ID_PATTERN, examples=["ACME-TEXTILES"])]
PurchaseOrderId = Annotated[str, Field(pattern=ID_PATTERN, examples=["PO-2026-0042"])]
SkuPattern = Annotated[str, Field(pattern=r"^[A-Za-z0-9*?][A-Za-z0-9._\-*?]{0,63}$", examples=["TEE-*"],
                                  description="A SKU, or a shell-style pattern of SKUs (* and ?)")]
Units = Annotated[Integer, Field(ge=1, le=1_000_000)]
ServiceLevel = Annotated[float, Strict(), Field(ge=0.5, le=0.999, allow_inf_nan=False, description=(
    "The chance of not running out during a lead time (cycle service level): 0.95 keeps z = 1.645 "
    "standard deviations of lead-time demand as safety stock"))]
Note = Annotated[str, Field(min_length=1, max_length=500)]

MAX_PO_LINES = 40  # the order, a patch per line and its event in one transaction; receiving fits too
MAX_RECEIPT_LINES = 25  # the receipt, the order, per line a level and its StockChanged, per order line
#                         an on-order patch, the event: 3 + 2 x 25 + 40 = 93 of DynamoDB's 100 writes


class SupplierRequest(DeferredModel):
    """PUT /suppliers/{supplier_id}: who supplies which SKUs, how fast, in which quantities."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    lead_time_days: Annotated[Integer, Field(ge=1, le=365, description="Days from ordering to receiving")]
    skus: Annotated[list[SkuPattern], Field(min_length=1, max_length=500, description=(
        "What it supplies: SKUs or patterns (TEE-*). A SKU several suppliers supply is planned with the one naming "
        "it exactly, else the shortest lead time, else the first supplier id"))]
    min_order_quantity: Annotated[Integer, Field(ge=1, le=1_000_000, description="Units per order line, at least")] = 1
    order_multiple: Annotated[Integer, Field(ge=1, le=100_000, description="Lines in multiples of this (case size)")] = 1
    order_cycle_days: Annotated[Integer, Field(ge=1, le=365, description=(
        "Days between two orders to this supplier: a suggestion covers them on top of the reorder point"))] = 14
    service_level: ServiceLevel = 0.95
    active: bool = True


class Supplier(SupplierRequest):
    supplier_id: str
    version: int = 1
    updated_at: datetime
    updated_by: str

    def supplies(self, sku: str) -> int | None:
        """0 when it names the SKU, 1 when a pattern of it matches, None when it does not supply it."""
        if sku in self.skus:
            return 0
        return 1 if any(fnmatchcase(sku, p) for p in self.skus) else None


def supplier_for(sku: str, suppliers: list[Supplier]) -> Supplier | None:
    """The active supplier a SKU is planned with: one naming it exactly before one matching a pattern,
    then the shortest lead time, then the smallest supplier id."""
    ranked = [(rank, s.lead_time_days, s.supplier_id, s) for s in suppliers
              if s.active and (rank := s.supplies(sku)) is not None]
    return min(ranked, key=lambda r: r[:3])[3] if ranked else None


class PurchaseOrderStatus(StrEnum):
    OPEN = "OPEN"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    RECEIVED = "RECEIVED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


RECEIVABLE = frozenset({PurchaseOrderStatus.OPEN, PurchaseOrderStatus.PARTIALLY_RECEIVED})


class LineRequest(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Units


class PurchaseOrderRequest(DeferredModel):
    """POST /purchase-orders: by hand (`lines`), or from the current suggestions of the supplier at the
    location (`from_suggestions`)."""

    model_config = ConfigDict(extra="forbid")
    purchase_order_id: PurchaseOrderId | None = Field(default=None, description=(
        "Yours, to make the request idempotent: the same id and body answer the same order, the same id with "
        "another body is a 409. Left out: the OMS numbers it (and a retry makes another order)"))
    supplier_id: SupplierId
    location_id: LocationId = Field(description="Where the goods are to be received")
    lines: Annotated[list[LineRequest], Field(max_length=MAX_PO_LINES)] | None = None
    from_suggestions: bool = Field(default=False, description=(
        "Order what GET /replenishment/suggestions suggests for this supplier at this location (the "
        f"{MAX_PO_LINES} with the fewest days of cover), instead of `lines`"))
    note: Note | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PurchaseOrderRequest:
        if self.from_suggestions and self.lines:
            raise ValueError("send either lines or from_suggestions, not both")
        if not self.from_suggestions and not self.lines:
            raise ValueError("send lines (at least one), or from_suggestions: true")
        _each_sku_once(self.lines or [])
        return self


def _each_sku_once(lines: list[LineRequest]) -> None:
    skus = [ln.sku for ln in lines]
    if len(set(skus)) != len(skus):
        raise ValueError("each SKU once: add up its quantities")


class PurchaseOrderLine(DeferredModel):
    sku: str
    quantity: int
    received: int = 0
    over_received: int = 0  # units received beyond `quantity`

    @property
    def outstanding(self) -> int:
        return max(0, self.quantity - self.received)


class PurchaseOrder(DeferredModel):
    purchase_order_id: str
    supplier_id: str
    location_id: str
    status: PurchaseOrderStatus = PurchaseOrderStatus.OPEN
    lines: list[PurchaseOrderLine]
    source: Literal["manual", "suggestion"]
    expected_at: datetime = Field(description="Ordered plus the supplier's lead time")
    note: str | None = None
    over_received: bool = Field(default=False, description="Some receipt brought more than ordered: review it")
    receipt_count: int = 0
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    version: int = 1
    created_at: datetime
    created_by: str
    updated_at: datetime
    fingerprint: str = Field(default="", exclude=True)  # of the request that created it

    def line(self, sku: str) -> PurchaseOrderLine | None:
        return next((ln for ln in self.lines if ln.sku == sku), None)

    @property
    def on_order(self) -> dict[str, int]:
        """Units still to come, by SKU (none once RECEIVED or CLOSED)."""
        if self.status not in RECEIVABLE:
            return {}
        return {ln.sku: ln.outstanding for ln in self.lines if ln.outstanding}


class ReceiptRequest(DeferredModel):
    """POST /purchase-orders/{id}/receive."""

    model_config = ConfigDict(extra="forbid")
    receipt_id: ExternalId = Field(description="Yours: the same receipt id moves stock once, however often sent")
    lines: Annotated[list[LineRequest], Field(max_length=MAX_RECEIPT_LINES)] = Field(default_factory=list)
    final: bool = Field(default=False, description=(
        "The last delivery: what is still outstanding will not come, the order is closed (lines may then be empty)"))
    note: Note | None = None

    @model_validator(mode="after")
    def _something(self) -> ReceiptRequest:
        if not self.lines and not self.final:
            raise ValueError("lines: at least one, unless final closes the order")
        _each_sku_once(self.lines)
        return self


class ReceivedLine(DeferredModel):
    sku: str
    quantity: int
    over_received: int = 0


class Receipt(DeferredModel):
    receipt_id: str
    purchase_order_id: str
    location_id: str
    lines: list[ReceivedLine]
    final: bool
    note: str | None = None
    received_at: datetime
    received_by: str
    fingerprint: str = Field(default="", exclude=True)


class Receiving(DeferredModel):
    """What a receipt does: the order after it, the receipt, the units going on hand, and the units
    that stop being on order (received against what was outstanding, or closed)."""

    order: PurchaseOrder
    receipt: Receipt
    off_order: dict[str, int]

    @property
    def on_hand(self) -> dict[str, int]:
        """Every received unit goes on hand, over-received ones included."""
        return {r.sku: r.quantity for r in self.receipt.lines}


def receive(order: PurchaseOrder, request: ReceiptRequest, fingerprint: str, by: str, now: datetime) -> Receiving:
    """Apply a receipt to `order` (a copy is changed): the rules in this module's docstring."""
    if order.status not in RECEIVABLE:
        raise Conflict(f"purchase order {order.purchase_order_id} is {order.status.value}: it takes no more receipts; "
                       "record a late delivery as an inventory adjustment", field="purchase_order_id")
    after = order.model_copy(deep=True)
    received: list[ReceivedLine] = []
    off_order: dict[str, int] = {}
    for n, asked in enumerate(request.lines):
        line = after.line(asked.sku)
        if line is None:
            raise InvalidInput(f"{asked.sku} is not on purchase order {order.purchase_order_id}",
                               field=f"lines.{n}.sku")
        against = min(asked.quantity, line.outstanding)
        over = asked.quantity - against
        line.received += asked.quantity
        line.over_received += over
        off_order[asked.sku] = against
        received.append(ReceivedLine(sku=asked.sku, quantity=asked.quantity, over_received=over))
    if any(r.over_received for r in received):
        after.over_received = True
    if all(ln.outstanding == 0 for ln in after.lines):
        after.status = PurchaseOrderStatus.RECEIVED
    elif request.final:
        for ln in after.lines:
            if ln.outstanding:
                off_order[ln.sku] = off_order.get(ln.sku, 0) + ln.outstanding
        after.status = PurchaseOrderStatus.CLOSED
    elif received:
        after.status = PurchaseOrderStatus.PARTIALLY_RECEIVED
    after.receipt_count += 1
    after.version += 1
    after.updated_at = now
    receipt = Receipt(receipt_id=request.receipt_id, purchase_order_id=order.purchase_order_id,
                      location_id=order.location_id, lines=received, final=request.final, note=request.note,
                      received_at=now, received_by=by, fingerprint=fingerprint)
    return Receiving(order=after, receipt=receipt, off_order={sku: q for sku, q in off_order.items() if q > 0})


class CancelRequest(DeferredModel):
    """POST /purchase-orders/{id}/cancel: before anything was received (rule 5)."""

    model_config = ConfigDict(extra="forbid")
    reason: Note | None = None


def cancel(order: PurchaseOrder, reason: str | None, by: str, now: datetime) -> tuple[PurchaseOrder, dict[str, int]]:
    """Rule 5: (the order after, the units that stop being on order by SKU). A copy is changed."""
    if order.status == PurchaseOrderStatus.CANCELLED:
        return order, {}
    if order.status != PurchaseOrderStatus.OPEN or order.receipt_count:
        raise Conflict(f"purchase order {order.purchase_order_id} is {order.status.value} and has received goods: "
                       "close it with a final receipt (no lines) instead", field="purchase_order_id")
    off_order = order.on_order
    after = order.model_copy(deep=True)
    after.status = PurchaseOrderStatus.CANCELLED
    after.cancelled_at, after.cancelled_by, after.cancel_reason = now, by, reason
    after.version += 1
    after.updated_at = now
    return after, off_order
