"""Replenishment per (SKU, location): the stored forecast, reorder point, low flag and units on
order. The only module that knows the item's key and shape.

Access patterns (docs/data-model.md):
- every planned pair, by location then SKU: Query pk=REPLENISH (begins_with <location>#), a page at a
  time; a few thousand items of ~1 KB, written hourly at most: one partition is plenty
- some pairs at once (the scheduled run, a page of stock levels): BatchGetItem
- units on order: ADD on_order, in the transaction of the purchase order that orders or receives
  them; the scheduled run only SETs its own attributes, so the two never overwrite each other
- StockLow once per crossing: `low` set only where it is not (attribute_not_exists(low) OR low =
  false), in one transaction with the event; cleared only where it is set (low = true)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.cursors import decode_cursor, encode_cursor
from shared.adapters.expressions import Changes, Cond, KeyQuery, Missing, Patch, SortRange, eq
from shared.domain.bounds import STORED
from shared.domain.forecast import Forecast
from shared.unit_of_work import AlreadyApplied, Store

PK = "REPLENISH"


def pair_sk(sku: str, location_id: str) -> str:
    return f"{location_id}#{sku}"  # ids never contain "#"


@dataclass(frozen=True)
class Planned:
    """What is stored for one pair (absent parts: never computed, nothing on order)."""

    sku: str
    location_id: str
    on_order: int = 0
    forecast: Forecast | None = None
    reorder_point: int | None = None
    supplier_id: str | None = None
    low: bool = False
    low_since: str | None = None


@dataclass(frozen=True)
class Plan:
    """What the scheduled run sets for a pair; `low` None leaves the flag alone."""

    forecast: Forecast | None
    reorder_point: int | None
    supplier_id: str | None
    low: bool | None = None


class ReplenishmentRepository:
    def __init__(self, store: Store):
        self.store = store

    def planned(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Planned]:
        """The stored pairs of these, in one batch read."""
        items = self.store.batch_get([(PK, pair_sk(sku, loc)) for sku, loc in sorted(set(pairs))])
        return {(p.sku, p.location_id): p for p in map(_planned, items)}

    def page(self, location_id: str | None, limit: int, cursor: str | None) -> tuple[list[Planned], str | None]:
        """Planned pairs by location then SKU (of one location when given), a page at a time."""
        start = decode_cursor(cursor, {"pk", "sk"}, ("pk", PK))
        sort = SortRange.prefix(f"{location_id}#") if location_id else None
        items, last = self.store.query(KeyQuery(PK, sort), limit=limit, start_key=start, consistent=True)
        return [_planned(i) for i in items], encode_cursor(last)

    def at(self, location_id: str) -> list[Planned]:
        return [_planned(i) for i in self.store.query_all(KeyQuery(PK, SortRange.prefix(f"{location_id}#")),
                                                          consistent=True)]

    def record(self, sku: str, location_id: str, plan: Plan, now: datetime) -> Patch:
        """Set the run's attributes; when `plan.low` flips the flag, only from its other value:
        AlreadyApplied when another run flipped it first (and its StockLow, if any, went with it)."""
        values: dict = {"sku": sku, "location_id": location_id, "updated_at": now.isoformat()}
        remove: list[str] = []
        for name, value in (("forecast", plan.forecast.model_dump_json() if plan.forecast else None),
                            ("reorder_point", plan.reorder_point), ("supplier_id", plan.supplier_id)):
            if value is None:
                remove.append(name)
            else:
                values[name] = value
        when: Cond | None = None
        if plan.low is True:
            values |= {"low": True, "low_since": now.isoformat()}
            when = Missing("low") | eq("low", False)
        elif plan.low is False:
            values["low"] = False
            remove.append("low_since")
            when = eq("low", True)
        key = pair_sk(sku, location_id)
        return Patch(PK, key, Changes(set=values, remove=tuple(remove)), when=when,
                     refused=lambda _old: AlreadyApplied(f"low:{key}"))

    def add_on_order(self, location_id: str, units: dict[str, int]) -> list[Patch]:
        """Units (negative: fewer) on order of each SKU at the location, one patch per SKU, by SKU."""
        return [Patch(PK, pair_sk(sku, location_id),
                      Changes(set={"sku": sku, "location_id": location_id}, add={"on_order": delta}))
                for sku, delta in sorted(units.items()) if delta]


def _planned(item: dict) -> Planned:
    forecast = item.get("forecast")
    point = item.get("reorder_point")
    return Planned(sku=item["sku"], location_id=item["location_id"], on_order=int(item.get("on_order", 0)),
                   forecast=Forecast.model_validate_json(forecast, context=STORED) if forecast else None,
                   reorder_point=int(point) if point is not None else None, supplier_id=item.get("supplier_id"),
                   low=bool(item.get("low", False)), low_since=item.get("low_since"))
