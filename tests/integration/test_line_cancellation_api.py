"""POST /orders/{order_id}/cancel with lines, through the API Gateway stand-in and the orders-api
function on moto: part of an order cancelled before it ships, once per cancellation id, the refusals
naming their field, and settle-payments refunding what was paid for the lines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import TWO_WAREHOUSES, order_body, seed


@pytest.fixture
def allocated(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 5})
    order_id = api("POST", "/orders", as_="web", json=order_body([("SKU-1", 2), ("SKU-2", 3)])).json["order_id"]
    pump()  # allocated, and its fulfilment order made
    return order_id


def test_lines_are_cancelled_once_per_id_and_the_rest_ships_on(api, pump, repos, allocated):
    order_id = allocated
    ask = {"cancellation_id": "CX-1", "reason": "customer asked", "lines": [{"sku": "SKU-2", "quantity": 2}]}

    first = api("POST", f"/orders/{order_id}/cancel", as_="web", json=ask)
    again = api("POST", f"/orders/{order_id}/cancel", as_="web", json=ask)

    assert first.status_code == again.status_code == 200, first.text
    assert first.json == again.json
    assert first.json["status"] == "ALLOCATED"
    assert {(a["sku"], a["quantity"]) for a in first.json["allocations"]} == {("SKU-1", 2), ("SKU-2", 1)}
    assert [(c["cancellation_id"], c["lines"]) for c in first.json["cancellations"]] == [
        ("CX-1", [{"sku": "SKU-2", "quantity": 2}])]
    [fo_id] = first.json["fulfillment_order_ids"]
    fo = api("GET", f"/fulfillment-orders/{fo_id}").json
    assert fo["status"] == "OPEN" and {(x["sku"], x["quantity"]) for x in fo["lines"]} == {("SKU-1", 2), ("SKU-2", 1)}
    stock = api("GET", "/inventory/SKU-2").json
    assert (stock["reserved"], stock["available_to_promise"]) == (1, 4)

    pump()  # settle-payments: the order was paid at checkout, 20.00 of it goes back
    assert repos.orders.get(order_id).pay.refunded == Decimal("20.00")


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"cancellation_id": "CX-1", "lines": [{"sku": "SKU-1", "quantity": 3}]}, 409, "lines"),
    ({"cancellation_id": "CX-1", "lines": [{"sku": "SKU-9", "quantity": 1}]}, 422, "lines"),
    ({"lines": [{"sku": "SKU-1", "quantity": 1}]}, 422, "cancellation_id"),
    ({"cancellation_id": "not an id", "lines": [{"sku": "SKU-1", "quantity": 1}]}, 422, "cancellation_id"),
    ({"cancellation_id": "CX-1", "lines": []}, 422, "lines"),
    ({"cancellation_id": "CX-1", "lines": [{"sku": "SKU-1", "quantity": 0}]}, 422, "lines.0.quantity"),
    ({"cancellation_id": "CX-1", "line": [{"sku": "SKU-1", "quantity": 1}]}, 422, "line"),
])
def test_refusals_name_their_field_and_change_nothing(api, allocated, body, status, field):
    before = api("GET", f"/orders/{allocated}", as_="web").json

    answer = api("POST", f"/orders/{allocated}/cancel", as_="web", json=body)

    assert answer.status_code == status, answer.text
    assert answer.json["field"] == field
    assert api("GET", f"/orders/{allocated}", as_="web").json["version"] == before["version"]


def test_the_same_id_with_other_lines_is_a_conflict_and_other_channels_see_nothing(api, allocated):
    ask = {"cancellation_id": "CX-1", "lines": [{"sku": "SKU-1", "quantity": 1}]}
    assert api("POST", f"/orders/{allocated}/cancel", as_="app", json=ask).status_code == 404
    assert api("POST", f"/orders/{allocated}/cancel", as_="operator", json=ask).status_code == 200

    other = api("POST", f"/orders/{allocated}/cancel", as_="web",
                json={**ask, "lines": [{"sku": "SKU-2", "quantity": 1}]})

    assert (other.status_code, other.json["field"]) == (409, "cancellation_id")


def test_cancelling_every_line_cancels_the_order(api, pump, allocated):
    ask = {"cancellation_id": "CX-1", "lines": [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 3}]}

    cancelled = api("POST", f"/orders/{allocated}/cancel", as_="web", json=ask)

    assert cancelled.json["status"] == "CANCELLED" and cancelled.json["allocations"] == []
    [fo_id] = cancelled.json["fulfillment_order_ids"]
    assert api("GET", f"/fulfillment-orders/{fo_id}").json["status"] == "CANCELLED"
    assert api("GET", "/inventory/SKU-1").json["reserved"] == 0
    pump()
