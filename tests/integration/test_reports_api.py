"""Reports over HTTP on the emulator: orders go through the real handlers and events (relay, bus,
the analytics queue, record-analytics), the operator reads the reports in JSON and CSV; bad input is
a 4xx naming the field; FX rates are validated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import TWO_WAREHOUSES, order_body, seed


@pytest.fixture
def today_only(today: date) -> dict:
    return {"from": today.isoformat(), "to": today.isoformat()}


@pytest.fixture
def traded(repos, api, pump):
    """Three web orders today: one shipped from BER, one cancelled, one in USD waiting at BER."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 10})
    shipped = api("POST", "/orders", as_="web", json=order_body([("SKU-1", 2)], price="10.00")).json["order_id"]
    pump()
    [fo_id] = api("GET", f"/orders/{shipped}").json["fulfillment_order_ids"]
    for step in ("accept", "pick", "pack"):
        api("POST", f"/fulfillment-orders/{fo_id}/{step}")
    assert api("POST", f"/fulfillment-orders/{fo_id}/ship", json={"shipment_id": "S-1"}).status_code == 200
    cancelled = api("POST", "/orders", as_="web", json=order_body([("SKU-1", 1)], channel_order_id="CO-2")).json
    pump()
    assert api("POST", f"/orders/{cancelled['order_id']}/cancel", as_="web", json={"reason": "customer"}).status_code == 200
    api("POST", "/orders", as_="web", json=order_body([("SKU-1", 3)], channel_order_id="CO-3", currency="USD",
                                                      price="5.00"))
    pump()
    return shipped


def test_the_sales_report_follows_the_orders_through_their_events(api, traded, today, today_only):
    answer = api("GET", "/reports/sales", query_string={**today_only, "group_by": "day"})

    assert answer.status_code == 200
    [row] = answer.json["rows"]
    assert (row["group"], row["orders"], row["units"]) == (today.isoformat(), 2, 5)
    assert row["gross"] == {"EUR": "20.00", "USD": "15.00"} and row["net"] == {"EUR": "20.00", "USD": "15.00"}
    assert row["base"]["gross"] is None  # no EUR rate for today yet
    assert answer.json["fx_missing"] == [{"date": today.isoformat(), "currency": "EUR"}]

    put = api("PUT", f"/fx-rates/{today.isoformat()}", json={"rates": {"EUR": "1.10"}})
    assert put.status_code == 200 and put.json["rates"] == {"EUR": "1.10"} and put.json["base"] == "USD"
    again = api("GET", "/reports/sales", query_string={**today_only, "group_by": "channel"}).json
    assert again["rows"][0]["base"] == {"gross": "37.00", "discounts": "0.00", "refunds": "0.00", "net": "37.00"}
    assert again["fx_missing"] == []


def test_fulfilment_and_returns_reports_and_csv(api, traded, today_only):
    fulfilment = api("GET", "/reports/fulfillment", query_string={**today_only, "group_by": "location"}).json
    ber = next(r for r in fulfilment["rows"] if r["group"] == "BER")
    assert (ber["orders"], ber["shipped"], ber["capture_to_shipment"]["count"]) == (2, 1, 1)
    assert fulfilment["totals"]["cancellation_rate"] == round(1 / 3, 4)

    csv = api("GET", "/reports/sales", query_string={**today_only, "group_by": "sku"}, headers={"Accept": "text/csv"})
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    header, *lines = csv.get_data(as_text=True).splitlines()
    assert header.startswith("group,orders,units,gross_EUR,gross_USD") and lines[0].startswith("SKU-1,2,5,20.00,15.00")

    returns = api("GET", "/reports/returns", query_string={**today_only, "group_by": "sku"}).json
    assert returns["rows"][0]["units_sold"] == 5 and returns["rows"][0]["return_rate"] == 0.0


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-03-10", "to": "2026-03-01", "group_by": "day"}, "to"),
    ({"from": "2025-01-01", "to": "2026-03-01", "group_by": "day"}, "to"),
    ({"from": "2026-03-01", "to": "2026-03-02", "group_by": "week"}, "group_by"),
    ({"from": "2026-03-01", "to": "2026-03-02"}, "group_by"),
    ({"from": "yesterday", "to": "2026-03-02", "group_by": "day"}, "from"),
    ({"from": "2026-03-01", "to": "2026-03-02", "group_by": "day", "limit": "0"}, "limit"),
])
def test_bad_report_input_is_a_4xx_naming_the_field(api, query, field):
    answer = api("GET", "/reports/sales", query_string=query)
    assert answer.status_code == 422 and answer.json["field"] == field, answer.json


def test_a_group_the_report_does_not_have_names_group_by(api):
    answer = api("GET", "/reports/fulfillment", query_string={"from": "2026-03-01", "to": "2026-03-02",
                                                               "group_by": "customer"})
    assert answer.status_code == 422 and answer.json["field"] == "group_by"
    assert "day, channel, country, location" in answer.json["message"]


def test_reports_and_rates_are_the_operators(api, today, today_only):
    assert api("GET", "/reports/sales", as_="web", query_string={**today_only, "group_by": "day"}).status_code == 403
    assert api("PUT", f"/fx-rates/{today}", as_="web", json={"rates": {"EUR": "1.1"}}).status_code == 403


@pytest.mark.parametrize(("rates", "field"), [
    ({"EUD": "1.1"}, "rates"),
    ({"EUR": 1.1}, "rates"),
    ({"EUR": "-1"}, "rates.EUR"),
    ({"EUR": "0"}, "rates.EUR"),
    ({}, "rates"),
    ({"USD": "1"}, "rates.USD"),
])
def test_fx_rates_are_iso_codes_with_positive_decimal_rates(api, today, rates, field):
    answer = api("PUT", f"/fx-rates/{today}", json={"rates": rates})
    assert answer.status_code == 422 and answer.json["field"] == field, answer.json


def test_rates_for_a_day_not_begun_are_refused_and_unknown_days_are_not_found(api, today):
    later = today + timedelta(days=3)
    assert api("PUT", f"/fx-rates/{later}", json={"rates": {"EUR": "1.1"}}).json["field"] == "date"
    assert api("GET", "/fx-rates/2020-01-01").status_code == 404


def test_the_rebuild_command_checks_and_rebuilds_the_emulators_table(traded, today, capsys):
    from local.rebuild_reports import main

    month = today.strftime("%Y-%m")
    assert main(["check", "--from", month, "--to", month]) == 0
    assert "3 orders" in capsys.readouterr().out and main(["rebuild", "--from", month, "--to", month]) == 0
    assert "generation 2: 3 orders" in capsys.readouterr().out
