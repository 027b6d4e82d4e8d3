"""Report aggregates against a hand-computed fixture (tests/service/analytics_fixture.py): five orders in
EUR, USD and GBP over three days, with a cancel, a partial allocation and shipment, a split, a line
cancellation, a refunded and a declined return, a rejection. Every figure below is worked out by hand
from the fixture's docstring values. Then duplicates, reordering and races give the same figures."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from shared.domain.principal import Principal
from shared.domain.reports import GroupBy, ReportKind
from shared.services import analytics, reports
from tests.service.analytics_fixture import D1, D2, D3, RATES, fixture_orders, fixture_returns, store

pytestmark = pytest.mark.unit

OPERATOR = Principal("operator")
NOW = datetime(2026, 3, 10, tzinfo=UTC)


def report(repos, kind: ReportKind, group_by: GroupBy, from_day: date = D1, to_day: date = D3) -> dict:
    return reports.report(reports.ReportQuery(kind, from_day, to_day, group_by), OPERATOR, repos, "USD")


def rows(answer: dict) -> dict[str, dict]:
    return {r["group"]: r for r in answer["rows"]}


@pytest.fixture
def recorded(repos):
    store(repos, fixture_orders(), fixture_returns())
    for day, rates in RATES.items():
        reports.put_rates(day, rates, OPERATOR, repos, "USD", NOW)
    analytics.refresh([o.order_id for o in fixture_orders()], repos, {"o4": {"RMA-1", "RMA-2"}})
    return repos


def test_sales_by_day_in_each_currency_and_in_the_base_currency(recorded):
    answer = report(recorded, ReportKind.SALES, GroupBy.DAY)
    by_day = rows(answer)
    assert by_day[D1.isoformat()] == {
        "group": "2026-03-02", "orders": 1, "units": 3, "gross": {"EUR": "50.00"}, "discounts": {"EUR": "5.00"},
        "refunds": {}, "net": {"EUR": "45.00"},
        "base": {"gross": "55.00", "discounts": "5.50", "refunds": "0.00", "net": "49.50"}}
    assert by_day[D2.isoformat()] == {
        "group": "2026-03-03", "orders": 2, "units": 5, "gross": {"GBP": "45.00", "USD": "75.00"}, "discounts": {},
        "refunds": {"GBP": "30.00"}, "net": {"GBP": "15.00", "USD": "75.00"},
        "base": {"gross": "131.25", "discounts": "0.00", "refunds": "37.50", "net": "93.75"}}
    assert by_day[D3.isoformat()]["orders"] == 0 and by_day[D3.isoformat()]["gross"] == {}
    assert answer["totals"]["orders"] == 3 and answer["totals"]["units"] == 8
    assert answer["totals"]["base"] == {"gross": "186.25", "discounts": "5.50", "refunds": "37.50", "net": "143.25"}
    assert answer["fx_missing"] == []


def test_sales_by_channel_sku_location_country_and_customer(recorded):
    by_channel = report(recorded, ReportKind.SALES, GroupBy.CHANNEL)
    assert [r["group"] for r in by_channel["rows"]] == ["web", "app", "pos"]  # most orders first
    web = rows(by_channel)["web"]
    assert (web["orders"], web["units"], web["gross"]) == (2, 5, {"EUR": "50.00", "GBP": "45.00"})

    by_sku = rows(report(recorded, ReportKind.SALES, GroupBy.SKU))
    tee = by_sku["TEE"]
    assert (tee["orders"], tee["units"]) == (3, 6)
    assert tee["gross"] == {"EUR": "40.00", "GBP": "30.00", "USD": "75.00"}
    assert tee["discounts"] == {"EUR": "4.00"} and tee["refunds"] == {"GBP": "30.00"}
    assert tee["base"] == {"gross": "156.50", "discounts": "4.40", "refunds": "37.50", "net": "114.60"}  # 44 + 37.50 + 75
    assert (by_sku["CAP"]["orders"], by_sku["CAP"]["units"], by_sku["CAP"]["discounts"]) == (1, 1, {"EUR": "1.00"})
    assert (by_sku["HAT"]["orders"], by_sku["HAT"]["units"]) == (1, 1)

    by_location = rows(report(recorded, ReportKind.SALES, GroupBy.LOCATION))
    assert {g: (r["orders"], r["units"]) for g, r in by_location.items()} == {
        "WH-DE": (2, 4), "WH-US": (1, 2), "WH-UK": (1, 1), "-": (1, 1)}
    assert by_location["-"]["gross"] == {"USD": "25.00"}  # o3's backordered unit

    by_country = rows(report(recorded, ReportKind.SALES, GroupBy.COUNTRY))
    assert {g: r["units"] for g, r in by_country.items()} == {"DE": 3, "US": 3, "GB": 2}

    by_customer = rows(report(recorded, ReportKind.SALES, GroupBy.CUSTOMER))
    assert {g: (r["orders"], r["units"]) for g, r in by_customer.items()} == {
        "web#cust-1": (1, 3), "app#cust-3": (1, 3), "web#cust-4": (1, 2), "pos#cust-5": (0, 0)}


def test_fulfilment_rates_and_percentiles_from_the_histograms(recorded):
    by_day = rows(report(recorded, ReportKind.FULFILLMENT, GroupBy.DAY))
    d1, d2, d3 = (by_day[d.isoformat()] for d in (D1, D2, D3))
    assert (d1["orders"], d1["cancelled"], d1["cancellation_rate"]) == (2, 1, 0.5)
    # Allocations at 0.5 h and 10 min: both in the first bucket (0-1 h), read as spread evenly over it.
    assert d1["capture_to_allocation"] == {"p50_hours": 0.5, "p90_hours": 0.9, "count": 2}
    assert d1["capture_to_shipment"] == {"p50_hours": 10.0, "p90_hours": 11.6, "count": 1}  # 12 h: (8, 12]
    assert d1["capture_to_delivery"] == {"p50_hours": 36.0, "p90_hours": 45.6, "count": 1}  # 48 h: (24, 48]
    assert (d1["on_time_rate"], d1["split_rate"], d1["backorder_rate"]) == (1.0, 0.0, 0.0)
    assert (d2["orders"], d2["backordered"], d2["backorder_rate"], d2["shipped"]) == (2, 1, 0.5, 2)
    assert (d2["split_rate"], d2["delivered"], d2["on_time_rate"]) == (0.5, 1, 0.0)  # o4: two parcels, late
    assert (d3["orders"], d3["rejected"], d3["allocated"], d3["capture_to_allocation"]["p50_hours"]) == (1, 1, 0, None)

    by_location = rows(report(recorded, ReportKind.FULFILLMENT, GroupBy.LOCATION))
    assert (by_location["WH-UK"]["shipped"], by_location["WH-UK"]["split_rate"]) == (1, 1.0)
    assert by_location["-"]["orders"] == 3 and by_location["-"]["shipped"] == 0  # o2, o3's waiting unit, o5


def test_returns_by_sku_count_what_was_asked_back_and_not_declined(recorded):
    by_sku = rows(report(recorded, ReportKind.RETURNS, GroupBy.SKU))
    assert by_sku["TEE"] == {"group": "TEE", "units_sold": 6, "units_returned": 1, "return_rate": 0.1667, "returns": 1,
                             "reasons": {"damaged": 1}, "refunds": {"GBP": "30.00"}, "refunds_base": "37.50"}
    assert (by_sku["HAT"]["units_returned"], by_sku["HAT"]["return_rate"]) == (0, 0.0)  # RMA-2 was declined


def test_a_missing_rate_is_named_and_never_converted_as_zero(repos):
    store(repos, fixture_orders(), fixture_returns())
    reports.put_rates(D1, RATES[D1], OPERATOR, repos, "USD", NOW)  # no GBP rate for D2
    analytics.refresh([o.order_id for o in fixture_orders()], repos, {"o4": {"RMA-1", "RMA-2"}})

    answer = report(repos, ReportKind.SALES, GroupBy.DAY)

    assert answer["fx_missing"] == [{"date": "2026-03-03", "currency": "GBP"}]
    assert rows(answer)[D2.isoformat()]["base"]["gross"] is None
    assert answer["totals"]["base"]["net"] is None
    assert rows(answer)[D1.isoformat()]["base"]["net"] == "49.50"


def aggregates(repos, generation: int = 1) -> dict:
    """Every aggregate and contribution of a generation (its items, less their revision counters)."""
    return {(i["pk"], i["sk"]): {k: v for k, v in i.items() if k not in ("rev",) and v != 0}
            for i in repos.store.with_prefix(f"AGG#{generation}#")}


def test_duplicate_late_and_reordered_events_give_the_figures_of_one_clean_pass(repos):
    """Each order's states are stored one after another; after each change, a batch handles a random
    pick of the events so far (repeats, late ones, none): the figures equal a single pass over the end state."""
    rng = random.Random(7)
    final = {o.order_id: o for o in fixture_orders()}
    steps = []
    for o in fixture_orders():
        for n in range(1, len(o.history) + 1):
            steps.append(o.model_copy(update={"history": o.history[:n], "status": o.history[n - 1].status}))
    steps.sort(key=lambda o: (len(o.history), rng.random()))  # each order's states in order, orders interleaved
    seen: list[str] = []
    for step in steps:
        store(repos, [step])
        seen.append(step.order_id)
        analytics.refresh(rng.sample(seen, k=rng.randint(0, len(seen))), repos)
    store(repos, [], fixture_returns())
    for _ in range(3):  # the return events twice, then everything again
        analytics.refresh(["o4", "o4"], repos, {"o4": {"RMA-2", "RMA-1"}})
    analytics.refresh(list(final), repos)

    clean = type(repos).on(type(repos.store).for_table())
    store(clean, list(final.values()), fixture_returns())
    analytics.refresh(list(final), clean, {"o4": {"RMA-1", "RMA-2"}})
    ours = {k: v for k, v in aggregates(repos).items() if not k[0].startswith("AGG#1#order#")}
    theirs = {k: v for k, v in aggregates(clean).items() if not k[0].startswith("AGG#1#order#")}
    assert ours == theirs


def test_a_batch_of_an_unchanged_order_writes_nothing(recorded):
    before = recorded.store.transactions
    report_ = analytics.refresh(["o1", "o4", "o4"], recorded, {"o4": {"RMA-1"}})
    assert (report_.changed, report_.unchanged, recorded.store.transactions) == (0, 2, before)
