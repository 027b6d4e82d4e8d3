"""POST/GET /orders through the API Gateway stand-in and the orders-api function, on moto."""

from __future__ import annotations

import json

import pytest

from tests.factories import TWO_WAREHOUSES, order_body, seed


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "MAD"): 5})


def test_capture_answers_202_and_the_same_order_on_retry(api, stocked):
    first = api("POST", "/orders", as_="web", json=order_body())
    again = api("POST", "/orders", as_="web", json=order_body())

    assert first.status_code == again.status_code == 202
    assert first.json["order_id"] == again.json["order_id"]
    assert (first.json["duplicate"], again.json["duplicate"]) == (False, True)
    listed = api("GET", "/orders", as_="web").json["orders"]
    assert [o["order_id"] for o in listed] == [first.json["order_id"]]


def test_same_channel_order_id_with_another_body_is_a_conflict(api, stocked):
    api("POST", "/orders", as_="web", json=order_body())
    clash = api("POST", "/orders", as_="web", json=order_body([("SKU-1", 2)]))
    assert clash.status_code == 409
    assert clash.json["field"] == "channel_order_id"


def test_channel_order_ids_are_per_channel(api, stocked):
    web = api("POST", "/orders", as_="web", json=order_body())
    app = api("POST", "/orders", as_="app", json=order_body())
    assert web.json["order_id"] != app.json["order_id"]


def test_a_channel_sees_and_changes_only_its_own_orders(api, stocked):
    order_id = api("POST", "/orders", as_="web", json=order_body()).json["order_id"]

    assert api("GET", f"/orders/{order_id}", as_="web").status_code == 200
    assert api("GET", f"/orders/{order_id}", as_="app").status_code == 404
    assert api("POST", f"/orders/{order_id}/cancel", as_="app").status_code == 404
    assert api("GET", "/orders", as_="app").json["orders"] == []
    assert api("GET", "/orders?channel=web", as_="app").status_code == 403
    assert api("GET", f"/orders/{order_id}", as_="operator").status_code == 200
    assert api("POST", f"/orders/{order_id}/release", as_="web").status_code == 403


def test_keys_are_required_and_operators_do_not_capture(api, stocked):
    assert api("POST", "/orders", as_=None, json=order_body()).status_code == 403
    assert api("POST", "/orders", as_=None, json=order_body(), headers={"x-api-key": "nope"}).status_code == 403
    assert api("POST", "/orders", as_="operator", json=order_body()).status_code == 403
    assert api("GET", "/health", as_=None).status_code == 200


@pytest.mark.parametrize(("body", "status", "field"), [
    ("{not json", 400, "body"),
    ('{"channel_order_id": 5}', 422, "channel_order_id"),
    (json.dumps(order_body([("SKU-1", -1)])), 422, "lines.0.quantity"),
    (json.dumps(order_body(lines=[("SKU-1", 1)], currency="XXX")), 422, "currency"),
    (json.dumps(order_body(fulfillment={"type": "pickup", "location_id": "NOWHERE"})), 422, "fulfillment.location_id"),
    (json.dumps(order_body(fulfillment={"type": "pickup", "location_id": "BER"})), 422, "fulfillment.location_id"),
    (json.dumps({**order_body(), "note": "x" * 300_000}), 413, "body"),
    ("[]", 422, ""),
    ("", 422, ""),
])
def test_bad_input_is_a_4xx_naming_the_field(api, stocked, body, status, field):
    resp = api("POST", "/orders", as_="web", data=body, content_type="application/json")
    assert resp.status_code == status, resp.text
    assert resp.json["message"]
    assert resp.json.get("field", "").startswith(field)


def test_list_filters_and_pages_with_a_cursor(api, stocked):
    ids = [api("POST", "/orders", as_="web", json=order_body(channel_order_id=f"CO-{n}")).json["order_id"]
           for n in range(5)]
    api("POST", "/orders", as_="app", json=order_body(channel_order_id="APP-1"))

    seen, cursor = [], None
    for _ in range(5):
        page = api("GET", "/orders", as_="operator", query_string={"channel": "web", "limit": 2,
                                                                    **({"cursor": cursor} if cursor else {})}).json
        seen += [o["order_id"] for o in page["orders"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids

    everything = api("GET", "/orders", as_="operator", query_string={"limit": 100}).json["orders"]
    assert len(everything) == 6
    received = api("GET", "/orders", as_="operator", query_string={"status": "RECEIVED", "channel": "app"}).json
    assert [o["request"]["channel_order_id"] for o in received["orders"]] == ["APP-1"]
    assert api("GET", "/orders", as_="operator", query_string={"cursor": "Zm9v"}).status_code == 422
    assert api("GET", "/orders", as_="operator", query_string={"status": "LOST"}).status_code == 422
    future = api("GET", "/orders", as_="operator", query_string={"created_from": "2099-01-01T00:00:00Z"}).json
    assert future["orders"] == []


def test_unknown_routes_and_methods(api):
    assert api("GET", "/nothing-here").status_code == 404
    assert api("DELETE", "/orders").status_code == 405


def test_a_filtered_page_is_full_when_more_orders_match(api, stocked):
    for n in range(3):
        api("POST", "/orders", as_="web", json=order_body(channel_order_id=f"W-{n}"))
        api("POST", "/orders", as_="app", json=order_body(channel_order_id=f"A-{n}"))

    pages, cursor = [], None
    while True:
        query = {"status": "RECEIVED", "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api("GET", "/orders", as_="app", query_string=query).json
        pages.append([o["request"]["channel_order_id"] for o in page["orders"]])
        cursor = page["next_cursor"]
        if not cursor or len(pages) > 5:
            break
    assert [p for p in pages if p] == [["A-0"], ["A-1"], ["A-2"]]
    assert all(pages[:3])


def test_forms_are_refused_and_listings_are_bounded(api, stocked):
    form = api("POST", "/orders", as_="web", data="x", content_type="multipart/form-data")
    assert form.status_code == 415 and form.json["field"] == "content-type"
    ancient = api("GET", "/orders", query_string={"created_from": "1066-11-07T12:35:29Z"})
    assert ancient.status_code == 422 and ancient.json["field"] == "created_from"
    filtered = api("GET", "/orders", query_string={"created_from": "1066-11-07T12:35:29Z", "status": "RECEIVED"})
    assert filtered.status_code == 200


@pytest.mark.parametrize(("body", "status", "field"), [
    (json.dumps(order_body(discount_total="1000.00")), 422, ""),
    (json.dumps(order_body([("SKU-1", 10_000)], price="9999999999.9999")), 422, ""),
    ("[" * 100_000 + "]" * 100_000, 400, "body"),
    ('{"channel_order_id": ' + "9" * 5000 + "}", 400, "body"),
])
def test_pathological_bodies_are_4xx(api, stocked, body, status, field):
    resp = api("POST", "/orders", as_="web", data=body, content_type="application/json")
    assert resp.status_code == status, resp.text
    assert resp.json.get("field", "").startswith(field)


def test_ranges_ids_and_cursors_that_cannot_be_served_are_4xx(api, stocked):
    order_id = api("POST", "/orders", as_="web", json=order_body()).json["order_id"]
    created = api("GET", f"/orders/{order_id}", as_="web").json["created_at"]
    backwards = {"created_from": "2026-12-01T00:00:00Z", "created_to": "2026-11-01T00:00:00Z", "channel": "web"}
    assert api("GET", "/orders", query_string=backwards).status_code == 422
    assert api("GET", "/orders/" + "x" * 3000, as_="web").status_code == 422
    forged = "eyJwayI6IHsiUyI6ICIifX0="  # {"pk": {"S": ""}}
    assert api("GET", "/orders", query_string={"cursor": forged, "channel": "web"}).status_code == 422

    # Bounds with an offset mean the same instant as in UTC.
    from datetime import datetime, timedelta

    at = datetime.fromisoformat(created)
    around = {"created_from": (at - timedelta(minutes=1)).astimezone().isoformat(),
              "created_to": (at + timedelta(minutes=1)).astimezone().isoformat(), "channel": "web"}
    assert [o["order_id"] for o in api("GET", "/orders", query_string=around).json["orders"]] == [order_id]
    shifted = {"created_from": (at - timedelta(minutes=1)).astimezone(_tz(5)).isoformat(),
               "created_to": (at + timedelta(minutes=1)).astimezone(_tz(5)).isoformat(), "channel": "web"}
    assert [o["order_id"] for o in api("GET", "/orders", query_string=shifted).json["orders"]] == [order_id]


def _tz(hours):
    from datetime import timedelta, timezone

    return timezone(timedelta(hours=hours))


def test_a_pickup_capture_retried_after_the_store_changed_answers_the_same_order(api, stocked):
    api("PUT", "/locations/BER", json={"name": "Berlin", "type": "store", "country": "DE", "lat": 52.5,
                                       "lon": 13.4, "ships_to": ["DE"], "pickup_enabled": True})
    body = order_body(fulfillment={"type": "pickup", "location_id": "BER"})
    first = api("POST", "/orders", as_="web", json=body)
    api("PUT", "/locations/BER", json={"name": "Berlin", "type": "store", "country": "DE", "lat": 52.5,
                                       "lon": 13.4, "ships_to": ["DE"], "pickup_enabled": False})
    again = api("POST", "/orders", as_="web", json=body)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json["order_id"] == first.json["order_id"] and again.json["duplicate"]
