"""Locations and stock endpoints through the API Gateway stand-in, on moto."""

from __future__ import annotations

import pytest

from tests.integration.conftest import outbox_events

LOCATION = {"name": "Berlin", "type": "warehouse", "country": "DE", "lat": 52.52, "lon": 13.40,
            "ships_to": ["DE", "AT"], "priority": 1, "handling_cost": "2.50", "daily_order_capacity": 100}


@pytest.fixture
def berlin(api):
    assert api("PUT", "/locations/BER", json=LOCATION).status_code == 200
    return "BER"


def adjustment(adjustment_id="ADJ-1", delta=5, **kw):
    return {"adjustment_id": adjustment_id, "sku": "SKU-1", "location_id": "BER", "delta": delta,
            "reason": "received", **kw}


def test_locations_are_created_replaced_and_listed(api, berlin):
    api("PUT", "/locations/BER", json={**LOCATION, "priority": 3})
    listed = api("GET", "/locations", as_="web").json
    assert [(x["location_id"], x["priority"], x["handling_cost"]) for x in listed] == [("BER", 3, "2.50")]
    assert api("PUT", "/locations/X", as_="web", json=LOCATION).status_code == 403
    bad = api("PUT", "/locations/BER", json={**LOCATION, "type": "castle"})
    assert bad.status_code == 422 and bad.json["field"] == "type"


def test_set_stock_absolutely_with_compare_and_set(api, berlin):
    set_ = api("PUT", "/inventory/SKU-1/BER", json={"on_hand": 10, "safety_stock": 2})
    assert (set_.json["on_hand"], set_.json["available"]) == (10, 8)

    stale = api("PUT", "/inventory/SKU-1/BER", json={"on_hand": 4, "expected_on_hand": 7})
    assert stale.status_code == 409 and stale.json["field"] == "expected_on_hand"
    ok = api("PUT", "/inventory/SKU-1/BER", json={"on_hand": 4, "expected_on_hand": 10})
    assert (ok.json["on_hand"], ok.json["safety_stock"], ok.json["available"]) == (4, 2, 2)


def test_unknown_location_and_bad_counts_are_4xx(api, berlin):
    unknown = api("PUT", "/inventory/SKU-1/NOWHERE", json={"on_hand": 1})
    assert unknown.status_code == 404 and unknown.json["field"] == "location_id"
    assert api("PUT", "/inventory/SKU-1/BER", json={"on_hand": -1}).status_code == 422
    assert api("PUT", "/inventory/SKU-1/BER", json={"on_hand": "many"}).status_code == 422
    assert api("PUT", "/inventory/bad%20sku/BER", json={"on_hand": 1}).status_code == 422
    assert api("PUT", "/inventory/SKU-1/BER", as_="web", json={"on_hand": 1}).status_code == 403


def test_adjustments_apply_once_per_id(api, berlin):
    first = api("POST", "/inventory/adjustments", json={"adjustments": [adjustment()]})
    again = api("POST", "/inventory/adjustments", json={"adjustments": [adjustment()]})
    assert first.status_code == again.status_code == 200
    assert (first.json[0]["outcome"], again.json[0]["outcome"]) == ("applied", "duplicate")
    assert api("GET", "/inventory/SKU-1", as_="web").json["on_hand"] == 5

    damaged = api("POST", "/inventory/adjustments",
                  json={"adjustments": [adjustment("ADJ-3", delta=-2, reason="damaged")]})
    assert damaged.json[0]["level"]["on_hand"] == 3


def test_a_refused_adjustment_is_reported_and_the_others_still_apply(api, berlin):
    api("POST", "/inventory/adjustments", json={"adjustments": [adjustment()]})
    mixed = api("POST", "/inventory/adjustments", json={"adjustments": [
        adjustment(delta=7),                    # id reused with another body
        adjustment("ADJ-2", delta=-6),          # would take on hand below zero
        adjustment("ADJ-4", delta=2),           # fine
        adjustment("ADJ-5", location_id="NOWHERE"),
    ]})

    assert mixed.status_code == 422
    assert [(r["outcome"], (r["error"] or {}).get("field")) for r in mixed.json] == [
        ("rejected", "adjustments.0.adjustment_id"), ("rejected", "adjustments.1.delta"), ("applied", None),
        ("rejected", "adjustments.3.location_id")]
    assert api("GET", "/inventory/SKU-1", as_="web").json["on_hand"] == 7


def test_csv_import_keeps_good_rows_and_reports_bad_ones(api, berlin):
    csv = "sku,location_id,on_hand,safety_stock\nSKU-1,BER,10,1\nSKU-2,NOWHERE,5\nSKU-3,BER,-4\nSKU-4,BER\n" \
          "bad sku,BER,3\nSKU-5,BER,7\n"
    resp = api("POST", "/inventory/import", data=csv, content_type="text/csv")

    assert resp.status_code == 200, resp.text
    assert resp.json["imported"] == 2
    assert [(e["row"], e["field"]) for e in resp.json["errors"]] == [
        (3, "location_id"), (4, "on_hand"), (5, "row"), (6, "sku")]
    assert api("GET", "/inventory/SKU-5", as_="web").json["available_to_promise"] == 7


def test_stock_of_a_sku_per_location_and_in_total(api, berlin):
    api("PUT", "/locations/MAD", json={**LOCATION, "country": "ES", "ships_to": ["ES"]})
    api("PUT", "/inventory/SKU-1/BER", json={"on_hand": 5, "safety_stock": 1})
    api("PUT", "/inventory/SKU-1/MAD", json={"on_hand": 0, "safety_stock": 2})

    stock = api("GET", "/inventory/SKU-1", as_="app").json

    assert {x["location_id"]: x["available"] for x in stock["locations"]} == {"BER": 4, "MAD": -2}
    assert (stock["on_hand"], stock["reserved"], stock["available_to_promise"]) == (5, 0, 4)
    assert api("GET", "/inventory/NOPE", as_="app").status_code == 404


def test_a_location_change_is_announced_with_its_write(api, berlin, repos):
    api("PUT", "/locations/BER", json={**LOCATION, "active": False})
    details = sorted(outbox_events(repos, "LocationChanged"), key=lambda d: d["occurred_at"])
    assert [(d["location_id"], d["created"], d["active"]) for d in details] == [("BER", True, True),
                                                                               ("BER", False, False)]


def test_an_unreadable_csv_is_a_422(api, berlin):
    resp = api("POST", "/inventory/import", data='SKU-1,BER,"' + "x" * 200_000 + '"\n', content_type="text/csv")
    assert resp.status_code in (413, 422) and resp.json["field"] == "body"
    bom = api("POST", "/inventory/import", data="\ufeffsku,location_id,on_hand\nSKU-1,BER,3\n", content_type="text/csv")
    assert bom.json == {"imported": 1, "errors": []}
