"""Payments through the functions on moto: POST /webhooks/payments/stripe (no API key, Stripe's
signature on the raw body), apply-payment-events and settle-payments, with the sandbox provider.

A pending order waits on hold; a signed payment_intent.amount_capturable_updated releases it to
allocation; the shipment is captured through the sandbox and the rest released."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from local.emulator import DEMO_PAYMENT_SECRET
from shared.domain.orders import HoldReason, OrderStatus
from tests.factories import TWO_WAREHOUSES, order_body, seed
from tests.integration.test_carrier_webhooks_api import waiting
from tests.unit.test_stripe_webhooks import doc, encode, header

SECRET = DEMO_PAYMENT_SECRET["stripe_webhook_secret"]
INTENT = "pi_sandbox_integration_1"


def post(api, body: bytes, *, signature: str | None = None, provider: str = "stripe"):
    at = datetime.now(UTC)
    sig = header(body, SECRET, at) if signature is None else signature
    return api("POST", f"/webhooks/payments/{provider}", as_=None, data=body,
               headers={"Content-Type": "application/json", "Stripe-Signature": sig})


def stripe_event(kind: str, order_id: str, amount_cents: int, event_id: str, age: timedelta = timedelta()) -> bytes:
    """One of Stripe's documented events (tests/unit/payment_payloads), about our order and intent."""
    event = doc(kind)
    event["id"], event["created"] = event_id, int((datetime.now(UTC) - age).timestamp())
    intent = event["data"]["object"]
    intent.update(id=INTENT, amount=amount_cents, amount_capturable=amount_cents, amount_received=0,
                  currency="eur", metadata={"order_id": order_id})
    return encode(event)


def pending_order(api, repos, pump) -> str:
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {("SKU-1", "BER"): 10})
    body = order_body([("SKU-1", 2)])
    body["payment"] = {"status": "pending", "amount": body["payment"]["amount"], "intent_id": INTENT}
    order_id = api("POST", "/orders", as_="web", json=body).json["order_id"]
    pump()
    return order_id


def test_a_signed_authorisation_releases_a_pending_order_and_the_shipment_is_captured(api, repos, pump, aws):
    order_id = pending_order(api, repos, pump)
    held = repos.orders.get(order_id)
    assert held.status == OrderStatus.ON_HOLD and held.open_holds[0].reason == HoldReason.AWAITING_PAYMENT
    total_cents = int(held.total * 100)

    answer = post(api, stripe_event("payment_intent_amount_capturable_updated", order_id, total_cents, "evt_int_1"))
    assert (answer.status_code, answer.json) == (200, {"received": "evt_int_1", "queued": True})
    pump()

    order = repos.orders.get(order_id)
    assert order.status == OrderStatus.ALLOCATED
    assert (order.pay.status, order.pay.authorized) == ("authorized", order.total)

    fo_id = api("GET", "/locations/BER/fulfillment-orders").json["fulfillment_orders"][0]["fulfillment_order_id"]
    for step in ("accept", "pick", "pack"):
        assert api("POST", f"/fulfillment-orders/{fo_id}/{step}").status_code == 200
    shipped = api("POST", f"/fulfillment-orders/{fo_id}/ship", json={
        "shipment_id": "S-1", "lines": [], "carrier": "DHL", "tracking_number": "TRK-PAY-1"})
    assert shipped.status_code == 200, shipped.json
    pump()

    paid = api("GET", f"/orders/{order_id}").json["payment"]
    assert (paid["status"], paid["captured"], paid["authorization_open"]) == ("captured", str(order.total), False)
    assert [m["key"] for m in paid["movements"] if m["kind"] == "capture"] == ["S-1"]
    assert waiting(aws, "settle-payments", dlq=True) == 0 and waiting(aws, "apply-payment-events", dlq=True) == 0


def test_a_redelivered_event_is_applied_once(api, repos, pump):
    order_id = pending_order(api, repos, pump)
    cents = int(repos.orders.get(order_id).total * 100)
    body = stripe_event("payment_intent_amount_capturable_updated", order_id, cents, "evt_int_2")
    assert post(api, body).status_code == 200
    assert post(api, body).status_code == 200
    pump()
    order = repos.orders.get(order_id)
    assert order.pay.applied_events == ["evt_int_2"]
    assert [h.status for h in order.history].count(OrderStatus.RECEIVED) == 2  # captured, then released once


def test_bad_signatures_and_bodies_are_4xx_and_nothing_is_queued(api, aws):
    body = stripe_event("payment_intent_succeeded", "o0", 100, "evt_int_3")
    assert post(api, body, signature="garbage").status_code == 401
    assert post(api, body, signature=header(body, "whsec_not_ours", datetime.now(UTC))).status_code == 401
    stale = header(body, SECRET, datetime.now(UTC) - timedelta(minutes=10))
    assert post(api, body, signature=stale).status_code == 401
    not_json = post(api, b"{not json")
    assert not_json.status_code == 400 and not_json.json["error"] == "malformed_json"
    assert post(api, body, provider="paypal").status_code == 404
    assert waiting(aws, "apply-payment-events") == 0


def test_an_event_type_we_do_not_act_on_is_acknowledged_and_not_queued(api, aws):
    event = doc("payment_intent_created")
    answer = post(api, json.dumps(event).encode())
    assert (answer.status_code, answer.json) == (200, {"received": None, "queued": False})
    assert waiting(aws, "apply-payment-events") == 0


def test_an_event_for_no_known_order_is_recorded_and_acknowledged(api, repos, pump, aws):
    # Older than the few minutes an event may wait for its order (Stripe can be faster than the shop).
    body = stripe_event("payment_intent_succeeded", "o000000000000000000000000", 1000, "evt_int_4",
                        age=timedelta(minutes=10))
    assert post(api, body).status_code == 200
    pump()
    assert [item["sk"] for item in repos.payments.unmatched("stripe")] == ["evt_int_4"]
    assert waiting(aws, "apply-payment-events") == 0 and waiting(aws, "apply-payment-events", dlq=True) == 0
