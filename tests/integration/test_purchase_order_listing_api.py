"""Cancelling and listing purchase orders, and reading suppliers, through the API Gateway stand-in on moto."""

from __future__ import annotations

import pytest

from tests.factories import TWO_WAREHOUSES, seed
from tests.integration.test_purchasing_api import SUPPLIER, po


@pytest.fixture
def acme(api, repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 0})
    assert api("PUT", "/suppliers/ACME", json=SUPPLIER).status_code == 201
    return "ACME"


def test_cancel_list_and_suppliers(api, acme):
    for n in range(3):
        assert api("POST", "/purchase-orders", json=po(f"PO-{n}", SKU_1=10)).status_code == 201
    cancelled = api("POST", "/purchase-orders/PO-1/cancel", json={"reason": "ordered twice"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json["duplicate"], cancelled.json["purchase_order"]["status"]) == (False, "CANCELLED")
    assert api("POST", "/purchase-orders/PO-1/cancel", json={}).json["duplicate"] is True
    assert api("POST", "/purchase-orders/PO-1/receive", json={"receipt_id": "R-1", "lines": [
        {"sku": "SKU-1", "quantity": 10}]}).status_code == 409
    assert api("POST", "/purchase-orders/PO-9/cancel", json={}).status_code == 404
    assert api("POST", "/purchase-orders/PO-0/cancel", json={"why": "typo"}).status_code == 422
    assert api("POST", "/purchase-orders/PO-0/cancel", as_="web", json={}).status_code == 403

    first = api("GET", "/purchase-orders", query_string={"limit": "2"}).json
    assert [o["purchase_order_id"] for o in first["purchase_orders"]] == ["PO-0", "PO-1"] and first["next_cursor"]
    rest = api("GET", "/purchase-orders", query_string={"limit": "2", "cursor": first["next_cursor"]}).json
    assert [o["purchase_order_id"] for o in rest["purchase_orders"]] == ["PO-2"] and rest["next_cursor"] is None
    open_ = api("GET", "/purchase-orders", query_string={"status": "OPEN", "supplier_id": "ACME"}).json
    assert [o["purchase_order_id"] for o in open_["purchase_orders"]] == ["PO-0", "PO-2"]
    assert api("GET", "/purchase-orders", query_string={"status": "LOST"}).status_code == 422
    assert api("GET", "/purchase-orders", query_string={"cursor": "bm9wZQ"}).status_code == 422

    assert [s["supplier_id"] for s in api("GET", "/suppliers").json["suppliers"]] == ["ACME"]
    assert api("GET", "/suppliers/ACME").json["lead_time_days"] == SUPPLIER["lead_time_days"]
    assert api("GET", "/suppliers/NOPE").status_code == 404
    assert api("GET", "/suppliers", as_="web").status_code == 403
