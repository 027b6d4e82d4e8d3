"""Stock per (SKU, location): on hand, reserved, safety stock and what is available to promise."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from shared.domain.base import DeferredModel
from shared.domain.bounds import Integer
from shared.domain.identifiers import ExternalId, LocationId, Sku

Quantity = Annotated[Integer, Field(ge=0, le=100_000_000)]
CsvQuantity = Annotated[int, Field(ge=0, le=100_000_000)]  # a CSV cell is text: "5" is 5 there


class StockLevel(DeferredModel):
    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    available: int = 0
    low_stock_threshold: int = 0
    version: int = 0
    updated_at: datetime | None = None
    # Who last set or adjusted the counts (a set, an adjustment, an import, a purchase order's or a
    # return's receipt); None when the system last wrote them (the demo data) or before writes
    # recorded their actor. Reservations
    # move `reserved` without changing it: they are nobody's count.
    counted_by: str | None = Field(default=None, description="Who last set or adjusted the counts: operator or "
                                                             "user:<username>; absent when the system did")
    # A hot SKU's level keeps its available units in this many bucket items (stock_buckets.py);
    # None for an ordinary level, whose item alone holds every count. As read, `available` and
    # `reserved` are the sums over the level item and its buckets; what each bucket held is kept
    # beside them (never stored on the level item) so a write knows where units are.
    buckets: int | None = None
    bucket_available: list[int] = Field(default_factory=list, exclude=True)
    bucket_reserved: list[int] = Field(default_factory=list, exclude=True)
    bucket_versions: list[int] = Field(default_factory=list, exclude=True)

    @property
    def pool(self) -> int:
        """What the level item itself holds of `available` (all of it for an ordinary level)."""
        return self.available - sum(self.bucket_available)

    def with_counts(self, on_hand: int, safety_stock: int, at: datetime, by: str | None = None) -> StockLevel:
        """The level after setting on hand and safety stock (by whom: None for the system); reservations
        stay as they are."""
        return self.model_copy(
            update={
                "on_hand": on_hand,
                "safety_stock": safety_stock,
                "available": on_hand - self.reserved - safety_stock,
                "version": self.version + 1,
                "updated_at": at,
                "counted_by": by,
            }
        )


class SetStockRequest(DeferredModel):
    """PUT /inventory/{sku}/{location_id}: absolute counts, optionally compare-and-set."""

    model_config = ConfigDict(extra="forbid")
    on_hand: Quantity
    safety_stock: Quantity | None = Field(default=None, description="Unchanged when omitted")
    low_stock_threshold: Quantity | None = Field(default=None, description="StockLow fires at or below it")
    expected_on_hand: Quantity | None = Field(
        default=None, description="Apply only if on hand is still this value (409 otherwise)"
    )
    buckets: Annotated[Integer, Field(ge=1, le=64)] | None = Field(
        default=None, description="Hot SKU: split available units over this many bucket items (never fewer than "
                                  "now); unchanged when omitted")


class AdjustmentReason(StrEnum):
    RECEIVED = "received"
    RETURNED = "returned"
    DAMAGED = "damaged"
    LOST = "lost"
    FOUND = "found"
    COUNT_CORRECTION = "count_correction"
    OTHER = "other"


class Adjustment(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    adjustment_id: ExternalId
    sku: Sku
    location_id: LocationId
    delta: Annotated[Integer, Field(ge=-100_000_000, le=100_000_000)]
    reason: AdjustmentReason
    note: Annotated[str, Field(max_length=500)] | None = None


class AdjustmentsRequest(DeferredModel):
    """POST /inventory/adjustments: deltas, each applied once per adjustment_id."""

    model_config = ConfigDict(extra="forbid")
    adjustments: Annotated[list[Adjustment], Field(min_length=1, max_length=50)]


class StockRow(DeferredModel):
    """One row of POST /inventory/import."""

    sku: Sku
    location_id: LocationId
    on_hand: CsvQuantity
    safety_stock: CsvQuantity | None = None
