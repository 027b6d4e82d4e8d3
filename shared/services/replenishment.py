"""Replenishment: the scheduled run that keeps each (SKU, location)'s forecast and reorder point
current and publishes StockLow once per crossing, and the suggestions read from what it stored.

The run (hourly; `purchasing-api` on its schedule) walks every stock level (gsi4, keys only), a page
of PAGE pairs at a time: one batch read of the levels, one of the stored plans. Per pair:
1. A forecast older than today (UTC), or none, is computed again from the demand history
   (`DemandHistory`: units sold per day at the location), while the run's time allows; the rest wait
   for the next run, which skips what is fresh, so a large catalogue is done over several runs.
2. The reorder point is computed from the stored forecast and the SKU's current supplier (pure,
   shared/domain/replenishment.py), so a supplier's new lead time counts at the next run.
3. Available at or below the reorder point, and the pair not flagged low: the flag is set with a
   conditional write in one transaction with StockLow. Above it and flagged: the flag is cleared.
4. Written only when something changed: an unchanged pair costs its share of two batch reads.

Why here and not on the order path: allocation would need the reorder point of every line it
reserves (a read per order, or the reorder point copied onto the hot stock level item) and a
conditional flag in its transaction; the run costs nothing per order and is late by at most its
interval, which a lead time of days does not notice. An operator's `low_stock_threshold` still
raises StockLow at once, from the write that crosses it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, Protocol

from shared.adapters.replenishment_repo import Plan, Planned
from shared.domain.forecast import HISTORY_DAYS, forecast_demand
from shared.domain.principal import Principal
from shared.domain.purchasing import Supplier, supplier_for
from shared.domain.replenishment import LowChange, Suggestion, low_change, reorder_point, suggest
from shared.domain.stock import StockLevel
from shared.errors import AccessDenied
from shared.observability import logger
from shared.repositories import Repositories
from shared.unit_of_work import AlreadyApplied, Refused

PAGE = 50  # pairs per batch read (levels, then plans): 100 keys is one BatchGetItem
SCHEDULED_RESERVE_S = 30  # seconds of the scheduled run's timeout in which no forecast is started


class DemandHistory(Protocol):
    """Units sold per day of a SKU, by the location that fulfils them: in the functions the analytics
    repository's (shared/adapters/analytics_repo.py), in tests a fake."""

    def daily_units(self, sku: str, location_id: str, from_day: date, to_day: date) -> dict[date, int]: ...


@dataclass
class RunReport:
    pairs: int = 0
    forecasts: int = 0
    forecasts_left: int = 0  # stale, left for the next run (time)
    written: int = 0
    fell: int = 0  # StockLow published
    recovered: int = 0
    raced: int = 0  # another run flipped the flag first
    stock_low: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**asdict(self), "stock_low": [f"{sku}@{loc}" for sku, loc in self.stock_low]}


def plan_replenishment(repos: Repositories, demand: DemandHistory, now: datetime,
                       time_left: Callable[[], float] = lambda: float("inf"), reserve_s: float = 20.0) -> RunReport:
    """One run over every stock level (see the module docstring). `time_left` (seconds) bounds the
    forecasts recomputed: none is started with less than `reserve_s` left."""
    report = RunReport()
    suppliers = repos.purchasing.suppliers()
    pairs = repos.stock.all_pairs()
    while page := list(islice(pairs, PAGE)):
        levels = repos.stock.levels(page)
        stored = repos.replenishment.planned(page)
        for sku, location_id in page:
            level = levels.get((sku, location_id))
            if level is None:
                continue
            report.pairs += 1
            recompute = time_left() > reserve_s
            settle_pair(level, stored.get((sku, location_id)), supplier_for(sku, suppliers), demand, repos, now,
                        report, recompute)
    return report


def scheduled_run(repos: Repositories, now: datetime, context: Any) -> dict:
    """The hourly run of `purchasing-api`'s schedule: the demand history is the analytics repository's,
    forecasts stop SCHEDULED_RESERVE_S before the invocation's timeout; logged, answered as a dict."""
    report = plan_replenishment(repos, repos.analytics, now,
                                time_left=lambda: context.get_remaining_time_in_millis() / 1000,
                                reserve_s=SCHEDULED_RESERVE_S)
    logger.info("replenishment run", extra=report.as_dict())
    return report.as_dict()


def settle_pair(level: StockLevel, stored: Planned | None, supplier: Supplier | None, demand: DemandHistory,
                repos: Repositories, now: datetime, report: RunReport, recompute: bool = True) -> None:
    """One pair of the run, from what was read of it (the level, its stored plan)."""
    sku, location_id = level.sku, level.location_id
    stored = stored or Planned(sku, location_id)
    today = now.date()
    forecast = stored.forecast
    if forecast is None or forecast.computed_on < today:
        if recompute:
            forecast = forecast_demand(demand.daily_units(sku, location_id, today - timedelta(days=HISTORY_DAYS),
                                                          today - timedelta(days=1)), today)
            report.forecasts += 1
        else:
            report.forecasts_left += 1
    point = reorder_point(forecast, supplier) if forecast is not None and supplier is not None else None
    change = low_change(stored.low, level.available, point)
    supplier_id = supplier.supplier_id if supplier is not None else None
    rp = point.reorder_point if point is not None else None
    if change is None and (forecast, rp, supplier_id) == (stored.forecast, stored.reorder_point, stored.supplier_id):
        return
    plan = Plan(forecast, rp, supplier_id, low=None if change is None else change is LowChange.FELL)
    write = repos.replenishment.record(sku, location_id, plan, now)
    try:
        if change is LowChange.FELL:
            # Imported on a crossing only: the suggestions and purchasing-api's reads load no event model.
            from shared.domain.events import StockLow

            assert point is not None and supplier is not None
            advice = suggest(sku, location_id, level.available, stored.on_order, forecast, supplier)
            event = StockLow(occurred_at=now, sku=sku, location_id=location_id, available=level.available,
                             threshold=point.reorder_point, basis="reorder_point", on_order=stored.on_order,
                             days_of_cover=advice.days_of_cover, supplier_id=supplier.supplier_id,
                             suggested_quantity=advice.quantity)
            repos.commit(write, repos.events.publish(event))
            report.fell += 1
            report.stock_low.append((sku, location_id))
        else:
            repos.commit(write)
            report.recovered += change is LowChange.RECOVERED
    except Refused as refused:
        if refused.find(AlreadyApplied) is None:
            raise
        report.raced += 1  # another run flipped the flag (and published) first
        return
    report.written += 1


# --------------------------------------------------------------------- suggestions

def _require_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise AccessDenied("only an operator plans purchasing")


def suggestions(principal: Principal, repos: Repositories, *, location_id: str | None, supplier_id: str | None,
                include_all: bool, limit: int, cursor: str | None) -> tuple[list[Suggestion], str | None]:
    """A page of the stored pairs (by location, then SKU) with what to order now: only those with
    something to order unless `include_all`. Filtered after reading, so a page can come back short
    with a cursor to follow."""
    _require_operator(principal)
    stored, next_cursor = repos.replenishment.page(location_id, limit, cursor)
    found = _suggest(stored, repos, repos.purchasing.suppliers())
    return [s for s in found if (include_all or s.quantity > 0)
            and (supplier_id is None or s.supplier_id == supplier_id)], next_cursor


def to_order(location_id: str, supplier: Supplier, repos: Repositories, at_most: int) -> list[Suggestion]:
    """What the supplier should bring to the location now, fewest days of cover first."""
    stored = [p for p in repos.replenishment.at(location_id) if supplier_for(p.sku, [supplier]) is not None]
    suppliers = repos.purchasing.suppliers()
    wanted = [s for s in _suggest(stored, repos, suppliers) if s.quantity > 0 and s.supplier_id == supplier.supplier_id]
    wanted.sort(key=lambda s: (s.days_of_cover if s.days_of_cover is not None else float("inf"), s.sku))
    return wanted[:at_most]


def _suggest(stored: list[Planned], repos: Repositories, suppliers: list[Supplier]) -> list[Suggestion]:
    levels = repos.stock.levels((p.sku, p.location_id) for p in stored)
    out = []
    for p in stored:
        level = levels.get((p.sku, p.location_id))
        available = level.available if level is not None else 0
        out.append(suggest(p.sku, p.location_id, available, p.on_order, p.forecast, supplier_for(p.sku, suppliers)))
    return out


def deadline(seconds: float) -> Callable[[], float]:
    """`time_left` for a run of at most `seconds` (tests and the local runtime)."""
    end = time.monotonic() + seconds
    return lambda: end - time.monotonic()
