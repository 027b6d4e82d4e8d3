"""Suppliers, purchase orders, receiving and suggestions through the API Gateway stand-in, on moto:
a receipt releases the orders waiting for its stock; bad input answers 4xx naming the field; the
schedule runs replenishment in the same function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.services.replenishment import plan_replenishment
from tests.factories import TWO_WAREHOUSES, order_body, seed

SUPPLIER = {"name": "Acme Textiles", "lead_time_days": 7, "skus": ["SKU-*"], "min_order_quantity": 10,
            "order_multiple": 5}


@pytest.fixture
def acme(api, repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 0, ("SKU-2", "BER"): 3})
    assert api("PUT", "/suppliers/ACME", json=SUPPLIER).status_code == 201
    return "ACME"


def po(po_id="PO-1", **lines):
    return {"purchase_order_id": po_id, "supplier_id": "ACME", "location_id": "BER",
            "lines": [{"sku": sku.replace("_", "-"), "quantity": q} for sku, q in lines.items()]}


def test_a_purchase_order_is_placed_received_in_parts_and_read(api, acme):
    assert api("PUT", "/suppliers/ACME", json=SUPPLIER).status_code == 200  # unchanged: nothing written
    placed = api("POST", "/purchase-orders", json=po(SKU_1=20, SKU_2=10))
    assert placed.status_code == 201, placed.text
    assert (placed.json["status"], placed.json["source"], placed.json["receipts"]) == ("OPEN", "manual", [])
    assert api("POST", "/purchase-orders", json=po(SKU_1=20, SKU_2=10)).status_code == 200  # the same again
    assert api("POST", "/purchase-orders", json=po(SKU_1=25)).status_code == 409

    first = api("POST", "/purchase-orders/PO-1/receive", json={"receipt_id": "R-1", "lines": [
        {"sku": "SKU-1", "quantity": 12}]})
    assert first.status_code == 200, first.text
    assert (first.json["duplicate"], first.json["purchase_order"]["status"]) == (False, "PARTIALLY_RECEIVED")
    again = api("POST", "/purchase-orders/PO-1/receive", json={"receipt_id": "R-1", "lines": [
        {"sku": "SKU-1", "quantity": 12}]})
    assert again.json["duplicate"] is True and again.json["receipt"] == first.json["receipt"]
    over = api("POST", "/purchase-orders/PO-1/receive", json={"receipt_id": "R-2", "lines": [
        {"sku": "SKU-1", "quantity": 10}, {"sku": "SKU-2", "quantity": 10}]})
    assert over.json["receipt"]["lines"][0]["over_received"] == 2
    assert over.json["purchase_order"]["over_received"] is True

    read = api("GET", "/purchase-orders/PO-1").json
    assert read["status"] == "RECEIVED" and [r["receipt_id"] for r in read["receipts"]] == ["R-1", "R-2"]
    stock = {loc["location_id"]: loc["on_hand"] for loc in api("GET", "/inventory/SKU-1").json["locations"]}
    assert stock == {"BER": 22}


def test_a_receipt_releases_the_orders_waiting_for_its_stock(api, acme, pump):
    waiting = api("POST", "/orders", as_="web", json=order_body([("SKU-1", 4)])).json["order_id"]
    pump()
    assert api("GET", f"/orders/{waiting}", as_="web").json["status"] == "BACKORDERED"
    api("POST", "/purchase-orders", json=po(SKU_1=10))
    answer = api("POST", "/purchase-orders/PO-1/receive", json={"receipt_id": "R-1", "lines": [
        {"sku": "SKU-1", "quantity": 10}]})
    assert answer.status_code == 200
    pump()  # StockChanged (available increased) -> release-backorders
    order = api("GET", f"/orders/{waiting}", as_="web").json
    assert order["status"] == "ALLOCATED"
    assert order["allocations"] == [{"location_id": "BER", "sku": "SKU-1", "quantity": 4}]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("PUT", "/suppliers/ACME", {**SUPPLIER, "lead_time_days": 0}, 422, "lead_time_days"),
    ("PUT", "/suppliers/ACME", {**SUPPLIER, "skus": []}, 422, "skus"),
    ("PUT", "/suppliers/ACME", {**SUPPLIER, "service_level": 1.5}, 422, "service_level"),
    ("PUT", "/suppliers/ACME", {**SUPPLIER, "colour": "red"}, 422, "colour"),
    ("PUT", "/suppliers/bad%20id", SUPPLIER, 422, "supplier_id"),
    ("POST", "/purchase-orders", po("PO-2", SKU_1=0), 422, "lines.0.quantity"),
    ("POST", "/purchase-orders", {**po("PO-2", SKU_1=10), "supplier_id": "NOBODY"}, 422, "supplier_id"),
    ("POST", "/purchase-orders", {**po("PO-2", SKU_1=10), "location_id": "NOWHERE"}, 422, "location_id"),
    ("POST", "/purchase-orders", po("PO-2", MUG_1=10), 422, "lines.0.sku"),
    ("POST", "/purchase-orders", po("PO-2", SKU_1=7), 422, "lines.0.quantity"),
    ("POST", "/purchase-orders", {**po("PO-2", SKU_1=10), "from_suggestions": True}, 422, "body"),
    ("POST", "/purchase-orders", {**po(SKU_1=10), "purchase_order_id": "a b"}, 422, "purchase_order_id"),
    ("POST", "/purchase-orders", po(SKU_1=20), 409, "purchase_order_id"),
    ("POST", "/purchase-orders/PO-9/receive", {"receipt_id": "R-1", "lines": [{"sku": "SKU-1", "quantity": 1}]},
     404, "purchase_order_id"),
    ("POST", "/purchase-orders/PO-1/receive", {"receipt_id": "R-1", "lines": [{"sku": "SKU-9", "quantity": 1}]},
     422, "lines.0.sku"),
    ("POST", "/purchase-orders/PO-1/receive", {"receipt_id": "R-1", "lines": []}, 422, "body"),
    ("POST", "/purchase-orders/PO-1/receive", {"lines": [{"sku": "SKU-1", "quantity": 1}]}, 422, "receipt_id"),
    ("POST", "/purchase-orders/PO-1/receive", {"receipt_id": "R-1", "lines": [{"sku": "SKU-1", "quantity": True}]},
     422, "lines.0.quantity"),
    ("GET", "/replenishment/suggestions?limit=0", None, 422, "limit"),
    ("GET", "/replenishment/suggestions?location_id=a%20b", None, 422, "location_id"),
    ("GET", "/replenishment/suggestions?cursor=bm9wZQ", None, 422, "cursor"),
    ("GET", "/replenishment/suggestions?sku=SKU-1", None, 400, "sku"),
    ("GET", "/purchase-orders/PO-404", None, 404, "purchase_order_id"),
])
def test_bad_input_is_a_4xx_naming_the_field(api, acme, method, path, body, status, field):
    api("POST", "/purchase-orders", json=po(SKU_1=10))
    answer = api(method, path, json=body) if body is not None else api(method, path)
    assert answer.status_code == status, answer.text
    assert answer.json["field"] == field, answer.json


def test_malformed_json_and_a_channel_key_are_refused(api, acme):
    bad = api("POST", "/purchase-orders", data="{nope", content_type="application/json")
    assert bad.status_code == 400 and bad.json["field"] == "body"
    for method, path, body in (("PUT", "/suppliers/X", SUPPLIER), ("POST", "/purchase-orders", po(SKU_1=10)),
                               ("GET", "/replenishment/suggestions", None), ("GET", "/purchase-orders/PO-1", None)):
        answer = api(method, path, as_="web", json=body) if body else api(method, path, as_="web")
        assert answer.status_code == 403, (method, path)


def test_the_schedule_runs_replenishment_in_the_same_function(api, acme, functions):
    report = functions.invoke("purchasing-api", {"source": "aws.events", "detail-type": "Scheduled Event",
                                                 "detail": {}})
    assert report["pairs"] == 2 and report["forecasts"] == 2
    listed = api("GET", "/replenishment/suggestions?all=true&location_id=BER").json
    assert [(s["sku"], s["supplier_id"], s["quantity"]) for s in listed["suggestions"]] == \
        [("SKU-1", "ACME", 0), ("SKU-2", "ACME", 0)]
    assert listed["next_cursor"] is None


def test_the_run_reads_the_sales_analytics_keeps(api, acme, pump, repos):
    """The functions' demand history is the analytics repository: an order allocated at BER today is
    tomorrow's history, the forecast counts it, and a pair now at or below its reorder point is
    announced (StockLow) once."""
    api("POST", "/orders", as_="web", json=order_body([("SKU-2", 3)]))
    pump()  # allocated at BER; record-analytics counts the units
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    report = plan_replenishment(repos, repos.analytics, tomorrow)
    sku2 = repos.replenishment.planned([("SKU-2", "BER")])[("SKU-2", "BER")]
    assert (sku2.forecast.units, sku2.forecast.model.value, sku2.forecast.day(1)) == (3, "mean", 3.0)
    assert (sku2.reorder_point, sku2.low, report.fell) == (21, True, 1)  # 7 days x 3, available 0
    assert plan_replenishment(repos, repos.analytics, tomorrow).fell == 0
