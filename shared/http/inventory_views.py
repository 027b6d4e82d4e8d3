"""Answers of the inventory routes: stock of a SKU across locations, adjustment and import outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shared.domain.base import DeferredModel
from shared.domain.stock import StockLevel

if TYPE_CHECKING:
    from shared.services.inventory import AdjustmentResult, ImportResult


class SkuStock(DeferredModel):
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


class AdjustmentOutcome(DeferredModel):
    adjustment_id: str
    outcome: Literal["applied", "duplicate", "rejected"]
    level: StockLevel | None = None
    error: dict | None = Field(default=None, description="error, field and problem of a rejected adjustment")

    @classmethod
    def of(cls, r: AdjustmentResult) -> AdjustmentOutcome:
        error = {"error": r.error.code, "field": r.error.field, "problem": r.error.message} if r.error else None
        return cls(adjustment_id=r.adjustment_id, outcome=r.outcome, level=r.level, error=error)


class ImportOutcome(DeferredModel):
    imported: int
    errors: list[dict]

    @classmethod
    def of(cls, r: ImportResult) -> ImportOutcome:
        return cls(imported=r.imported, errors=r.errors)
