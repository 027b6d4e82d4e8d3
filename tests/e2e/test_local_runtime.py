"""The local runtime over real HTTP: what `make run` starts, driven as a channel and an operator would."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import unicodedata
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import boto3
import requests

from local.emulator import DEMO_CARRIER_SECRET
from tests.factories import order_body


def call(oms, method, path, as_="operator", **kw):
    return requests.request(method, oms.url + path, headers={"x-api-key": oms.key(as_)}, timeout=30, **kw)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out; last saw {value!r}")


def order_in(oms, order_id, status, as_="app", timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        order = call(oms, "GET", f"/orders/{order_id}", as_=as_).json()
        if order["status"] == status:
            return order
        if time.monotonic() > deadline:
            raise AssertionError(f"order is {order['status']}, not {status}: {order}")
        time.sleep(0.1)


def test_health_docs_and_openapi_are_served(oms):
    assert requests.get(oms.url + "/health", timeout=10).json() == {"status": "ok"}
    assert "swagger" in requests.get(oms.url + "/docs", timeout=30).text.lower()
    spec = requests.get(oms.url + "/openapi.json", timeout=30).json()
    assert {"/orders", "/orders/{order_id}", "/inventory/{sku}", "/locations/{location_id}"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "x-api-key"


def test_demo_data_is_loaded(oms):
    locations = call(oms, "GET", "/locations").json()
    assert len(locations) >= 3 and len({x["country"] for x in locations}) >= 3
    assert all(x["lat"] is not None for x in locations)


def test_an_order_goes_from_capture_to_allocated_with_its_routing_reasons(oms):
    body = order_body([("TEE-BLK-M", 1)], channel_order_id="E2E-1", price="19.99")
    captured = call(oms, "POST", "/orders", as_="web", json=body)
    assert captured.status_code == 202
    order_id = captured.json()["order_id"]

    order = wait_for(lambda: (o := call(oms, "GET", f"/orders/{order_id}", as_="web").json())["status"] != "RECEIVED"
                     and o)

    assert order["status"] == "ALLOCATED"
    assert order["allocations"][0]["location_id"] == "WH-DE-BER"
    assert order["routing"][0]["reasons"]
    assert [h["status"] for h in order["history"]] == ["RECEIVED", "ALLOCATED"]


def test_fifty_orders_race_for_twenty_units_and_nothing_is_oversold(oms):
    # 12 units in Berlin and 8 in Madrid, both ship to France; 50 one-unit orders arrive at once.
    call(oms, "PUT", "/inventory/RACE-1/WH-DE-BER", json={"on_hand": 12})
    call(oms, "PUT", "/inventory/RACE-1/WH-ES-MAD", json={"on_hand": 8})

    def place(n):
        body = order_body([("RACE-1", 1)], channel_order_id=f"RACE-{n}", country="FR", lat=48.85, lon=2.35)
        return call(oms, "POST", "/orders", as_="web", json=body)

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(place, range(50)))
    assert {r.status_code for r in responses} == {202}, [r.text for r in responses if r.status_code != 202]
    # Each answer is about its own request: concurrent API invocations never read each other's body.
    assert [r.json()["channel_order_id"] for r in responses] == [f"RACE-{n}" for n in range(50)]
    ids = [r.json()["order_id"] for r in responses]
    assert len(set(ids)) == 50

    def settled():
        statuses = [call(oms, "GET", f"/orders/{i}", as_="web").json()["status"] for i in ids]
        return statuses if "RECEIVED" not in statuses else None

    statuses = wait_for(settled, timeout=90)
    stock = call(oms, "GET", "/inventory/RACE-1").json()
    if statuses.count("ALLOCATED") != 20:  # the evidence a person needs: each order's history and allocations
        detail = [{k: o[k] for k in ("order_id", "status", "allocations", "history", "version")}
                  for o in (call(oms, "GET", f"/orders/{i}", as_="web").json() for i in ids)
                  if o["status"] == "ALLOCATED"]
        raise AssertionError(f"{Counter(statuses)}; stock {stock}; allocated orders {detail}")
    assert statuses.count("BACKORDERED") == 30, (Counter(statuses), stock)
    assert stock["reserved"] == 20 and stock["available_to_promise"] == 0, stock
    for level in stock["locations"]:
        assert level["available"] == 0 and level["reserved"] == level["on_hand"]


def test_a_poison_message_ends_in_the_dead_letter_queue(oms):
    sqs = boto3.client("sqs", endpoint_url=oms.emulator_url)
    queue = oms.resources.queue_urls["allocate-orders"]
    dlq = oms.resources.dlq_urls["allocate-orders"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"detail-type": "OrderReceived", "detail": {}}))

    def dead_lettered():
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
        return [m for m in messages if '"detail": {}' in m["Body"]]

    assert wait_for(dead_lettered, timeout=60)


def test_cancel_returns_the_stock_to_a_backordered_order_over_http(oms):
    call(oms, "PUT", "/inventory/LAST-1/WH-DE-BER", json={"on_hand": 1})
    first = call(oms, "POST", "/orders", as_="app", json=order_body([("LAST-1", 1)], channel_order_id="L-1")).json()
    order_in(oms, first["order_id"], "ALLOCATED")
    second = call(oms, "POST", "/orders", as_="app", json=order_body([("LAST-1", 1)], channel_order_id="L-2")).json()
    order_in(oms, second["order_id"], "BACKORDERED")

    assert call(oms, "POST", f"/orders/{first['order_id']}/cancel", as_="app").json()["status"] == "CANCELLED"

    order_in(oms, second["order_id"], "ALLOCATED")


EASYPOST_EVENT = Path(__file__).resolve().parents[1] / "unit" / "carrier_payloads" / "webhook_easypost_tracker_updated.json"


def easypost_delivered(tracking_code: str, at: datetime) -> bytes:
    """EasyPost's documented tracker.updated Event, for our parcel, now delivered."""
    event = json.loads(EASYPOST_EVENT.read_text())
    event["id"] = "evt_" + hashlib.sha256(tracking_code.encode()).hexdigest()[:32]
    tracker = event["result"]
    tracker.update(tracking_code=tracking_code, status="delivered", status_detail="arrived_at_destination",
                   carrier="SANDBOX", updated_at=at.isoformat().replace("+00:00", "Z"))
    tracker["tracking_details"].append({**tracker["tracking_details"][-1], "status": "delivered",
                                        "status_detail": "arrived_at_destination", "message": "Delivered",
                                        "description": "Delivered",
                                        "datetime": at.isoformat().replace("+00:00", "Z")})
    return json.dumps(event).encode()


def easypost_signature(body: bytes) -> str:
    # As EasyPost signs (and its client libraries check): hex HMAC-SHA256 keyed with the NFKD secret.
    key = unicodedata.normalize("NFKD", DEMO_CARRIER_SECRET["easypost_webhook_secret"]).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def messages_for(outbox: Path, address: str) -> list:
    found = []
    for path in sorted(outbox.rglob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == address:
            found.append(message)
    return found


def test_an_order_goes_from_capture_to_delivered_with_a_label_and_a_signed_carrier_webhook(oms, outbox):
    email = "lucia.e2e@example.com"
    body = order_body([("HOODIE-BLK-M", 1)], channel_order_id="E2E-DELIVER", price="49.00")
    body["customer"].update(email=email, name="Lucía", language="es")
    body["promised_by"] = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    order_id = call(oms, "POST", "/orders", as_="web", json=body).json()["order_id"]
    order = order_in(oms, order_id, "ALLOCATED", as_="web")
    location = order["allocations"][0]["location_id"]

    fo = wait_for(lambda: next((x for x in call(oms, "GET", f"/locations/{location}/fulfillment-orders",
                                                params={"status": "OPEN"}).json()["fulfillment_orders"]
                                if x["order_id"] == order_id), None))
    for step in ("accept", "pick", "pack"):
        assert call(oms, "POST", f"/fulfillment-orders/{fo['fulfillment_order_id']}/{step}").status_code == 200
    shipped = call(oms, "POST", f"/fulfillment-orders/{fo['fulfillment_order_id']}/ship", json={
        "shipment_id": "E2E-PARCEL-1",
        "label": {"parcel": {"weight_grams": 900, "length_cm": "35", "width_cm": "25", "height_cm": "8"}}})
    assert shipped.status_code == 200 and shipped.json()["status"] == "SHIPPED"
    shipment = call(oms, "GET", "/shipments/E2E-PARCEL-1").json()
    label = requests.get(shipment["label_url"], timeout=10)
    assert label.content.startswith(b"%PDF-") and shipment["tracking_code"].encode() in label.content
    order_in(oms, order_id, "SHIPPED", as_="web")

    webhook = easypost_delivered(shipment["tracking_code"], datetime.now(UTC))
    unsigned = requests.post(oms.url + "/webhooks/carriers/easypost", data=webhook, timeout=10,
                             headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    signed = requests.post(oms.url + "/webhooks/carriers/easypost", data=webhook, timeout=10, headers={
        "Content-Type": "application/json", "X-Hmac-Signature": easypost_signature(webhook)})
    assert signed.status_code in (200, 202)

    delivered = order_in(oms, order_id, "DELIVERED", as_="web")
    assert [h["status"] for h in delivered["history"]][-2:] == ["SHIPPED", "DELIVERED"]
    assert call(oms, "GET", "/shipments/E2E-PARCEL-1").json()["status"] == "DELIVERED"
    # The customer heard about each step, once, in Spanish.
    subjects = wait_for(lambda: (s := sorted(m["Subject"] for m in messages_for(outbox, email))) and len(s) >= 3
                        and s)
    assert len(subjects) == 3, subjects
    assert any("confirmado" in s for s in subjects) and any("camino" in s for s in subjects) \
        and any("entregado" in s for s in subjects)
