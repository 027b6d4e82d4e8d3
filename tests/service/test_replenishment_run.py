"""The scheduled replenishment run (shared/services/replenishment.py) on the in-memory store: forecasts
recomputed once a day, reorder points from the current supplier, StockLow once per crossing below the
reorder point (not on every order), re-armed above it; suggestions and purchase orders made from them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from shared.adapters.replenishment_repo import ReplenishmentRepository
from shared.domain.principal import Principal
from shared.domain.purchasing import PurchaseOrderRequest, SupplierRequest
from shared.domain.stock import Adjustment, AdjustmentReason
from shared.errors import AccessDenied
from shared.services.allocation import allocate_order
from shared.services.inventory import adjust_stock
from shared.services.purchasing import create_purchase_order, put_supplier
from shared.services.replenishment import RunReport, plan_replenishment, settle_pair, suggestions
from tests.factories import NOW, TWO_WAREHOUSES, capture, seed
from tests.service.flows import events

OPERATOR = Principal("operator")


class Sales:
    """An in-memory demand history: `per_day` units a day of every SKU at every location; counts reads."""

    def __init__(self, per_day: int = 10):
        self.per_day, self.reads = per_day, 0

    def daily_units(self, sku: str, location_id: str, from_day: date, to_day: date) -> dict[date, int]:
        self.reads += 1
        return {from_day + timedelta(days=n): self.per_day for n in range((to_day - from_day).days + 1)}


@pytest.fixture
def planned(repos):
    """TEE-1 at BER: 100 on hand; Acme brings it in 7 days at 95%: 10 a day, sigma 0: reorder point 70."""
    seed(repos, TWO_WAREHOUSES, {("TEE-1", "BER"): 100})
    put_supplier("ACME", SupplierRequest(name="Acme", lead_time_days=7, skus=["TEE-*"]), OPERATOR, repos, NOW)
    return repos


def stored(repos, sku: str = "TEE-1", loc: str = "BER"):
    return repos.replenishment.planned([(sku, loc)])[(sku, loc)]


def take(repos, units: int, n: int = 0) -> None:
    """Units of TEE-1 at BER leave available: an order allocated (a reservation, no StockChanged)."""
    order = capture(repos, ("TEE-1", units), coid=f"CO-{n}-{units}")
    allocate_order(order.order_id, repos, repos.channels.policy, NOW)


def adjust(repos, delta: int, n: int) -> None:
    adjust_stock(Adjustment(adjustment_id=f"A-{n}", sku="TEE-1", location_id="BER", delta=delta,
                            reason=AdjustmentReason.RECEIVED), repos, NOW)


def run(repos, sales: Sales | None = None, at=NOW) -> RunReport:
    return plan_replenishment(repos, sales or Sales(), at)


def low_events(repos) -> list[dict]:
    return [e for e in events(repos, "StockLow") if e["basis"] == "reorder_point"]


def test_a_run_stores_the_forecast_and_reorder_point(planned):
    report = run(planned)
    s = stored(planned)
    assert (report.pairs, report.forecasts, report.written) == (1, 1, 1)
    assert (s.forecast.day(1), s.reorder_point, s.supplier_id, s.low) == (10.0, 70, "ACME", False)
    assert not low_events(planned)


def test_stock_low_once_per_crossing_not_on_every_order(planned):
    run(planned)
    take(planned, 25, 1)  # available 75: above 70
    assert run(planned).fell == 0
    take(planned, 10, 2)  # 65: crossed
    take(planned, 5, 3)  # 60: still below, another order
    assert run(planned).fell == 1
    take(planned, 5, 4)  # 55
    assert run(planned).fell == 0 and run(planned).fell == 0
    [low] = low_events(planned)
    assert (low["available"], low["threshold"], low["supplier_id"], low["on_order"]) == (60, 70, "ACME", 0)
    assert low["suggested_quantity"] == 70 + 140 - 60 and low["days_of_cover"] == 6.0


def test_the_flag_re_arms_above_the_reorder_point_and_fires_again_on_the_next_crossing(planned):
    run(planned)
    take(planned, 40, 1)  # 60
    run(planned)
    adjust(planned, 50, 1)  # 110: recovered
    report = run(planned)
    assert report.recovered == 1 and stored(planned).low is False
    take(planned, 50, 2)  # 60 again
    assert run(planned).fell == 1
    assert [e["available"] for e in low_events(planned)] == [60, 60]


def test_a_new_lead_time_moves_the_reorder_point_without_reading_sales_again(planned):
    sales = Sales()
    run(planned, sales)
    put_supplier("ACME", SupplierRequest(name="Acme", lead_time_days=12, skus=["TEE-*"]), OPERATOR, planned, NOW)
    take(planned, 15, 1)  # 85: above 70, at or below 120
    report = run(planned, sales)
    assert sales.reads == 1 and report.forecasts == 0
    assert (stored(planned).reorder_point, report.fell) == (120, 1)


def test_a_fresh_forecast_is_kept_for_the_day_and_an_unchanged_pair_writes_nothing(planned):
    sales = Sales()
    run(planned, sales)
    again = run(planned, sales)
    assert (sales.reads, again.forecasts, again.written) == (1, 0, 0)
    run(planned, sales, at=NOW + timedelta(days=1))
    assert sales.reads == 2 and stored(planned).forecast.computed_on == (NOW + timedelta(days=1)).date()


def test_a_run_short_of_time_leaves_forecasts_for_the_next(planned):
    seed(planned, {}, {("TEE-2", "BER"): 5, ("TEE-3", "MAD"): 5})
    report = plan_replenishment(planned, Sales(), NOW, time_left=lambda: 10.0, reserve_s=20.0)
    assert (report.pairs, report.forecasts, report.forecasts_left) == (3, 0, 3)
    assert plan_replenishment(planned, Sales(), NOW).forecasts == 3


def test_a_sku_no_supplier_supplies_gets_a_forecast_but_no_reorder_point(planned):
    seed(planned, {}, {("MUG-1", "BER"): 0})
    run(planned)
    mug = stored(planned, "MUG-1")
    assert mug.forecast is not None and mug.reorder_point is None and not mug.low
    assert not low_events(planned)


def _two_runs_from_one_read(repos) -> None:
    """Two overlapping runs: both read the pair (flag clear, available below), then both settle it."""
    run(repos)
    take(repos, 40, 1)
    level = repos.stock.level("TEE-1", "BER")
    before = stored(repos)
    supplier = repos.purchasing.supplier("ACME")
    for _ in range(2):
        settle_pair(level, before, supplier, Sales(), repos, NOW, RunReport())


def test_two_runs_that_read_the_same_crossing_publish_one_stock_low(planned):
    _two_runs_from_one_read(planned)
    assert len(low_events(planned)) == 1 and stored(planned).low


def test_without_the_flag_condition_both_runs_would_publish(planned, monkeypatch):
    """The guard the test above relies on: the flag is set only where it is clear."""
    record = ReplenishmentRepository.record
    monkeypatch.setattr(ReplenishmentRepository, "record",
                        lambda self, *a, **kw: replace(record(self, *a, **kw), when=None))
    _two_runs_from_one_read(planned)
    assert len(low_events(planned)) == 2


def test_on_order_counts_in_the_suggestion_and_an_order_from_it_covers_the_gap(planned):
    run(planned)
    take(planned, 40, 1)  # available 60, reorder point 70, up to 70 + 14 x 10 = 210
    run(planned)
    [s] = suggestions(OPERATOR, planned, location_id="BER", supplier_id=None, include_all=False, limit=50, cursor=None)[0]
    assert (s.sku, s.position, s.quantity, s.days_of_cover) == ("TEE-1", 60, 150, 6.0)
    placed = create_purchase_order(PurchaseOrderRequest(supplier_id="ACME", location_id="BER", from_suggestions=True),
                                   OPERATOR, planned, NOW)
    assert [(ln.sku, ln.quantity) for ln in placed.order.lines] == [("TEE-1", 150)]
    assert placed.order.source == "suggestion" and stored(planned).on_order == 150
    assert suggestions(OPERATOR, planned, location_id="BER", supplier_id=None, include_all=False, limit=50,
                       cursor=None)[0] == []
    [everything] = suggestions(OPERATOR, planned, location_id=None, supplier_id="ACME", include_all=True, limit=50,
                               cursor=None)[0]
    assert (everything.position, everything.quantity, everything.low) == (210, 0, True)


def test_suggestions_are_for_operators(planned):
    with pytest.raises(AccessDenied):
        suggestions(Principal("web"), planned, location_id=None, supplier_id=None, include_all=True, limit=5,
                    cursor=None)
