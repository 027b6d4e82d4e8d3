"""A return over HTTP in the local runtime: an order delivered, a return requested by its channel
and approved with a return label, the return parcel tracked through a signed carrier webhook,
received and restocked, refunded through the (sandbox) payment provider with a credit note, and
the customer told at each step; bad input answered with a clear 4xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
import requests

from local.emulator import DEMO_CARRIER_SECRET
from tests.e2e.test_local_runtime import call, messages_for, order_in, wait_for
from tests.factories import order_body

pytestmark = pytest.mark.e2e


def canonical_update(tracking_code: str, status: str, event_id: str) -> tuple[bytes, dict]:
    """Our canonical carrier format, signed: X-OMS-Signature v1=<hex HMAC-SHA256 of "<ts>.<body>">."""
    body = json.dumps({"event_id": event_id, "tracking_code": tracking_code, "status": status,
                       "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}).encode()
    ts = str(int(time.time()))
    secret = DEMO_CARRIER_SECRET["webhook_secret"].encode()
    signature = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"X-OMS-Timestamp": ts, "X-OMS-Signature": f"v1={signature}", "Content-Type": "application/json"}


def carrier_says(oms, tracking_code: str, status: str) -> None:
    body, headers = canonical_update(tracking_code, status, f"evt-{tracking_code}-{status}")
    answer = requests.post(oms.url + "/webhooks/carriers/mycarrier", data=body, headers=headers, timeout=10)
    assert answer.status_code in (200, 202), answer.text


def delivered_card_order(oms) -> tuple[str, str]:
    """An order paid by card through the sandbox provider (authorised, captured when it ships),
    shipped and delivered: (order id, the customer's email)."""
    email = "rosa.returns@example.com"
    body = order_body([("TEE-WHT-S", 2)], channel_order_id="E2E-RETURN", price="19.99")
    body["customer"].update(id="cust-e2e-returns", email=email, name="Rosa", language="en")
    body["payment"] = {"status": "authorized", "amount": "39.98", "provider": "sandbox", "intent_id": "pi_e2e_return"}
    order_id = call(oms, "POST", "/orders", as_="web", json=body).json()["order_id"]
    order = order_in(oms, order_id, "ALLOCATED", as_="web")
    location = order["allocations"][0]["location_id"]
    fo_id = wait_for(lambda: next((x["fulfillment_order_id"] for x in call(
        oms, "GET", f"/locations/{location}/fulfillment-orders", params={"status": "OPEN"}).json()["fulfillment_orders"]
        if x["order_id"] == order_id), None))
    shipped = call(oms, "POST", f"/fulfillment-orders/{fo_id}/ship", json={
        "shipment_id": "E2E-RETURN-OUT", "carrier": "DHL", "tracking_number": "JD014600099SE"})
    assert shipped.status_code == 200, shipped.text
    wait_for(lambda: call(oms, "GET", f"/orders/{order_id}").json()["payment"]["status"] == "captured")
    carrier_says(oms, "JD014600099SE", "DELIVERED")
    order_in(oms, order_id, "DELIVERED", as_="web")
    return order_id, email


def on_hand(oms, sku: str, location_id: str) -> int:
    levels = call(oms, "GET", f"/inventory/{sku}").json()["locations"]
    return next(level["on_hand"] for level in levels if level["location_id"] == location_id)


def test_a_return_from_request_to_refund_with_label_tracking_restock_and_messages(oms, outbox):
    order_id, email = delivered_card_order(oms)
    ask = {"request_id": "e2e-rma-1", "reason": "damaged", "comment": "the seam is torn",
           "lines": [{"sku": "TEE-WHT-S", "quantity": 1}]}
    requested = call(oms, "POST", f"/orders/{order_id}/returns", as_="web", json=ask)
    assert requested.status_code == 201, requested.text
    rma = requested.json()["rma_id"]
    assert call(oms, "POST", f"/orders/{order_id}/returns", as_="web", json=ask).json()["rma_id"] == rma

    approved = call(oms, "POST", f"/returns/{rma}/approve").json()
    assert approved["status"] == "APPROVED" and approved["parcel"]["tracking_code"]
    location, code = approved["location_id"], approved["parcel"]["tracking_code"]
    label = requests.get(approved["label_url"], timeout=10)
    assert label.content.startswith(b"%PDF-") and code.encode() in label.content

    carrier_says(oms, code, "IN_TRANSIT")
    wait_for(lambda: call(oms, "GET", f"/returns/{rma}").json()["status"] == "IN_TRANSIT")
    carrier_says(oms, code, "DELIVERED")
    wait_for(lambda: call(oms, "GET", f"/returns/{rma}").json()["parcel"]["status"] == "DELIVERED")

    before = on_hand(oms, "TEE-WHT-S", location)
    receipt = {"receipt_id": "e2e-receipt-1", "lines": [{"sku": "TEE-WHT-S", "quantity": 1, "condition": "opened",
                                                         "disposition": "restock"}]}
    assert call(oms, "POST", f"/returns/{rma}/receive", json=receipt).json()["status"] == "INSPECTED"
    assert call(oms, "POST", f"/returns/{rma}/receive", json=receipt).status_code == 200  # once per receipt id
    assert on_hand(oms, "TEE-WHT-S", location) == before + 1

    refunded = call(oms, "POST", f"/returns/{rma}/refund").json()
    assert refunded["status"] == "REFUNDED"
    assert [(r["amount"], r["state"]) for r in refunded["refunds"]] == [("19.99", "DONE")]
    assert call(oms, "POST", f"/returns/{rma}/refund").json()["refunds"] == refunded["refunds"]
    payment = call(oms, "GET", f"/orders/{order_id}").json()["payment"]
    assert (payment["refunded"], payment["status"]) == ("19.99", "partially_refunded")
    notes = wait_for(lambda: [d for d in call(oms, "GET", f"/orders/{order_id}/invoices").json()["invoices"]
                              if d["kind"] == "CREDIT_NOTE"])
    assert [n["gross"] for n in notes] == ["19.99"]

    subjects = wait_for(lambda: (s := [m["Subject"] for m in messages_for(outbox, email)]) and
                        any("refund" in x.lower() for x in s) and s)
    assert any("return" in s.lower() for s in subjects), subjects
    assert len([s for s in subjects if "refund" in s.lower()]) == 1, subjects


def test_unknown_orders_and_returns_are_not_found(oms):
    ask = {"request_id": "x", "reason": "other", "lines": [{"sku": "TEE-WHT-S", "quantity": 1}]}
    for path, field in ((f"/orders/o{'0' * 24}/returns", "order_id"), ("/returns/RMA-000000-AAAAAAAA/approve", "rma_id")):
        answer = call(oms, "POST", path, json=ask if "orders" in path else {})
        assert answer.status_code == 404 and answer.json()["field"] == field, answer.text


def test_bad_return_requests_get_a_clear_4xx(oms):
    order_id, _ = delivered_card_order_cached(oms)
    cases = [
        ({"request_id": "bad-1", "reason": "other", "lines": [{"sku": "NOT-IN-ORDER", "quantity": 1}]}, 422),
        ({"request_id": "bad-2", "reason": "other", "lines": [{"sku": "TEE-WHT-S", "quantity": -1}]}, 422),
        ({"request_id": "bad-3", "reason": "bored", "lines": [{"sku": "TEE-WHT-S", "quantity": 1}]}, 422),
        ({"request_id": "bad-4", "reason": "other", "lines": [{"sku": "TEE-WHT-S", "quantity": 5}]}, 422),
    ]
    for body, status in cases:
        answer = call(oms, "POST", f"/orders/{order_id}/returns", as_="web", json=body)
        assert answer.status_code == status and "field" in answer.json(), (body, answer.text)
    other = call(oms, "POST", f"/orders/{order_id}/returns", as_="app", json={
        "request_id": "bad-5", "reason": "other", "lines": [{"sku": "TEE-WHT-S", "quantity": 1}]})
    assert other.status_code == 404  # another channel's order
    assert call(oms, "POST", "/returns/RMA-000000-AAAAAAAA/receive", json={
        "receipt_id": "r", "lines": [{"sku": "TEE-WHT-S", "quantity": 1, "condition": "new",
                                      "disposition": "restock"}]}).status_code == 404


_DELIVERED: dict = {}


def delivered_card_order_cached(oms) -> tuple[str, str]:
    """The delivered order of this module's runtime (one per runtime: its channel order id is fixed)."""
    if id(oms) not in _DELIVERED:
        found = call(oms, "GET", "/orders", params={"channel_order_id": "E2E-RETURN", "channel": "web"}).json()
        if found["orders"]:
            _DELIVERED[id(oms)] = (found["orders"][0]["order_id"], "rosa.returns@example.com")
        else:
            _DELIVERED[id(oms)] = delivered_card_order(oms)
    return _DELIVERED[id(oms)]
