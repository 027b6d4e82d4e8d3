"""Channels over real HTTP in the local runtime: a channel created at run time gets a working key of
its own, and a Shopify order signed as Shopify signs it becomes an allocated order, then a cancelled
one; the demo Shopify channel's secret works for that channel's webhook and no other."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import requests

from local.emulator import DEMO_CHANNEL_SECRETS
from tests.e2e.test_local_runtime import call, order_in, wait_for
from tests.factories import order_body

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
SHOPIFY_SECRET = DEMO_CHANNEL_SECRETS["shopify-demo"]["webhook_secret"]
WOO_SECRET = DEMO_CHANNEL_SECRETS["woo-demo"]["webhook_secret"]


def shopify_post(oms, body: bytes, topic: str, webhook_id: str, secret: str = SHOPIFY_SECRET,
                 channel: str = "shopify-demo", kind: str = "shopify",
                 shop: str = "oms-demo.myshopify.com") -> requests.Response:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return requests.post(f"{oms.url}/webhooks/channels/{kind}/{channel}", data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Shop-Domain": shop, "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-API-Version": "2025-10"})


def test_a_channel_created_at_run_time_gets_a_key_that_acts_as_it_and_nothing_else(oms):
    created = call(oms, "PUT", "/channels/tiktok-shop", json={"name": "TikTok Shop", "allow_partial": True})
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    assert key and created.json()["channel"]["api_key_id"]
    as_channel = {"x-api-key": key}
    placed = requests.post(oms.url + "/orders", json=order_body([("TEE-BLK-S", 1)], channel_order_id="TT-1"),
                           headers=as_channel, timeout=30)
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["order_id"]
    assert requests.get(f"{oms.url}/orders/{order_id}", headers=as_channel, timeout=30).json()["channel"] == \
        "tiktok-shop"
    # Its key sees its own channel, not another's, and cannot configure channels.
    assert requests.get(oms.url + "/channels/tiktok-shop", headers=as_channel, timeout=30).status_code == 200
    assert requests.get(oms.url + "/channels/web", headers=as_channel, timeout=30).status_code == 404
    assert requests.put(oms.url + "/channels/web", json={}, headers=as_channel, timeout=30).status_code == 403
    # Changing it keeps its key; the answer never carries a key again.
    changed = call(oms, "PUT", "/channels/tiktok-shop", json={"name": "TikTok", "allow_partial": False})
    assert changed.status_code == 200 and changed.json()["api_key"] is None
    # A rotation: the new key works at once, the old one stops.
    rotated = call(oms, "POST", "/channels/tiktok-shop/api-key")
    new_key = rotated.json()["api_key"]
    assert requests.get(oms.url + "/channels/tiktok-shop", headers={"x-api-key": new_key}, timeout=30).ok
    assert requests.get(oms.url + "/channels/tiktok-shop", headers=as_channel, timeout=30).status_code == 403
    listed = {c["channel_id"] for c in call(oms, "GET", "/channels").json()}
    assert {"web", "app", "pos", "marketplace", "shopify-demo", "woo-demo", "tiktok-shop"} <= listed


def test_channel_settings_are_checked_with_the_field_named(oms):
    refused = call(oms, "PUT", "/channels/shop-2", json={"kind": "shopify"})
    assert refused.status_code == 422 and "secret_ref" in refused.text
    outside = call(oms, "PUT", "/channels/shop-2", json={"kind": "shopify", "secret_ref": "prod/db-password"})
    assert outside.status_code == 422 and outside.json()["field"] == "secret_ref"
    assert call(oms, "PUT", "/channels/operator", json={}).status_code == 422
    assert call(oms, "PUT", "/channels/shopify-demo", json={"kind": "woocommerce",
                                                            "secret_ref": "oms/channels/x"}).status_code == 409


def test_a_signed_shopify_order_is_allocated_then_cancelled_by_shopify(oms):
    body = (SAMPLES / "shopify-orders-create.json").read_bytes()
    taken = shopify_post(oms, body, "orders/create", "e2e-create-1")
    assert taken.status_code == 200, taken.text
    assert taken.json()["outcome"] == "captured"
    order_id = taken.json()["order_id"]
    order = order_in(oms, order_id, "ALLOCATED", as_="shopify-demo")
    assert order["channel"] == "shopify-demo" and order["request"]["channel_order_id"] == "5731202056322"
    assert order["channel_record"]["display_id"] == "#1001"
    # Shopify retries the same delivery: nothing new.
    assert shopify_post(oms, body, "orders/create", "e2e-create-1").json()["outcome"] == "duplicate"
    cancelled = shopify_post(oms, (SAMPLES / "shopify-orders-cancelled.json").read_bytes(), "orders/cancelled",
                             "e2e-cancel-1")
    assert cancelled.json()["outcome"] == "cancelled", cancelled.text
    order_in(oms, order_id, "CANCELLED", as_="shopify-demo")


def test_a_shopify_webhook_needs_its_own_channels_signature(oms):
    body = (SAMPLES / "shopify-orders-create.json").read_bytes()
    # Another channel's secret, a tampered body, no signature: 401, and nothing is stored.
    assert shopify_post(oms, body, "orders/create", "x-1", secret=WOO_SECRET).status_code == 401
    tampered = body.replace(b'"25.00"', b'"2.50"', 1)
    signature = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert requests.post(f"{oms.url}/webhooks/channels/shopify/shopify-demo", data=tampered, timeout=30, headers={
        "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": signature}).status_code == 401
    # Signed right, but by another shop of the same app: the channel takes its own shop's webhooks only.
    assert shopify_post(oms, body, "orders/create", "x-4", shop="other-shop.myshopify.com").status_code == 401
    # The right secret on another channel's path, or the wrong kind of path: refused too.
    assert shopify_post(oms, body, "orders/create", "x-2", channel="woo-demo").status_code == 404
    assert shopify_post(oms, body, "orders/create", "x-3", channel="web").status_code == 404
    found = call(oms, "GET", "/orders", params={"channel": "shopify-demo", "channel_order_id": "5731202056322"})
    assert len(found.json()["orders"]) <= 1


def test_a_signed_payload_that_is_no_order_is_refused_and_kept_for_an_operator(oms):
    body = json.dumps({"id": 1, "hello": "not an order"}).encode()
    refused = shopify_post(oms, body, "orders/create", "e2e-junk-1")
    assert refused.status_code == 422, refused.text
    kept = call(oms, "GET", "/channels/shopify-demo/rejected").json()
    assert any(k["body"] == body.decode() for k in kept)
    exceptions = call(oms, "GET", "/admin/exceptions").json()["exceptions"]
    assert any(e["kind"] == "CHANNEL_PAYLOAD_REJECTED" for e in exceptions)


def test_woocommerce_activation_ping_is_answered(oms):
    answered = requests.post(f"{oms.url}/webhooks/channels/woocommerce/woo-demo", data=b"webhook_id=17", timeout=30,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answered.status_code == 200 and answered.json()["outcome"] == "acknowledged"


def test_a_signed_woocommerce_order_that_does_not_map_is_held_naming_the_problem(oms):
    body = (Path(__file__).resolve().parents[1] / "unit" / "channel_payloads" / "woocommerce" /
            "order_created_cod.json").read_bytes()
    signature = base64.b64encode(hmac.new(WOO_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created",
               "X-WC-Webhook-Signature": signature, "X-WC-Webhook-Delivery-ID": "e2e-woo-1",
               "X-WC-Webhook-Source": "https://shop.example.com/"}
    taken = requests.post(f"{oms.url}/webhooks/channels/woocommerce/woo-demo", data=body, headers=headers, timeout=30)
    assert taken.status_code == 200 and taken.json()["outcome"] == "captured", taken.text
    held = order_in(oms, taken.json()["order_id"], "ON_HOLD", as_="woo-demo")
    assert any(h["reason"] == "CHANNEL_MAPPING" and "line_items" in h["detail"] for h in held["holds"])
    # Signed with the Shopify demo channel's secret, the same bytes are refused.
    wrong = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert requests.post(f"{oms.url}/webhooks/channels/woocommerce/woo-demo", data=body, timeout=30,
                         headers=headers | {"X-WC-Webhook-Signature": wrong}).status_code == 401


def test_an_inactive_channel_captures_nothing(oms):
    made = call(oms, "PUT", "/channels/pop-up", json={"name": "Pop-up store"})
    key = {"x-api-key": made.json()["api_key"]}
    body = order_body([("TEE-WHT-S", 1)], channel_order_id="POP-1")
    assert requests.post(oms.url + "/orders", json=body, headers=key, timeout=30).status_code == 202
    assert call(oms, "PUT", "/channels/pop-up", json={"name": "Pop-up store", "active": False}).status_code == 200
    # Its key is disabled at the gateway; a seed channel (whose key came with the deployment) is refused
    # by the API itself.
    assert requests.post(oms.url + "/orders", json=body | {"channel_order_id": "POP-2"}, headers=key,
                         timeout=30).status_code == 403
    assert call(oms, "PUT", "/channels/pos", json={"kind": "pos", "allow_split": False, "active": False}).ok
    refused = call(oms, "POST", "/orders", as_="pos", json=order_body([("TEE-WHT-S", 1)], channel_order_id="P-9"))
    assert refused.status_code == 403 and "inactive" in refused.json()["message"]
    assert call(oms, "PUT", "/channels/pos", json={"kind": "pos", "allow_split": False}).ok


def test_the_shopify_channels_stock_figure_follows_its_orders(oms):
    def figure(sku: str) -> int:
        answer = call(oms, "GET", f"/channels/shopify-demo/stock?sku={sku}", as_="shopify-demo")
        assert answer.status_code == 200, answer.text
        return answer.json()["available_to_sell"]

    total = sum(max(level["available"], 0) for level in call(oms, "GET", "/inventory/HOODIE-BLK-S").json()["locations"])
    assert figure("HOODIE-BLK-S") == max(total - 2, 0)  # the demo channel holds back a buffer of 2
    before = figure("HOODIE-WHT-L")
    body = (SAMPLES / "shopify-orders-create.json").read_bytes().replace(b"5731202056322", b"5731202056399")
    taken = shopify_post(oms, body, "orders/create", "e2e-stock-1")
    order_in(oms, taken.json()["order_id"], "ALLOCATED", as_="shopify-demo")
    assert figure("HOODIE-WHT-L") == before - 1
    # The feed tells the channel the same figure, coalesced, once it changed (ChannelStockChanged).
    sent = wait_for(lambda: figure_sent("HOODIE-WHT-L") == before - 1)
    assert sent
    assert call(oms, "GET", "/channels/web/stock?sku=HOODIE-WHT-L", as_="shopify-demo").status_code == 404


def figure_sent(sku: str) -> int | None:
    from shared.repositories import repositories

    sent = repositories().stock_feed.last("shopify-demo", sku)
    return sent.figure if sent else None
