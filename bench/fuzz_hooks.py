"""schemathesis hooks for bench/fuzz_api.py: sign the webhooks' fuzzed bodies with the local secrets.

The OpenAPI document describes the webhook routes (POST /webhooks/carriers/{carrier},
/webhooks/channels/{kind}/{channel_id}, /webhooks/payments/{provider}) without a request body:
each takes its sender's own format, verified on the raw bytes. Fuzzed as documented, every call
would stop at the signature check (401), and the handlers' parsing would never be reached. So,
before each call to a webhook route, this hook

- mostly points the path at a sender the local runtime knows (a demo carrier, the demo Shopify and
  WooCommerce channels, stripe), keeping schemathesis's own path values now and then;
- builds a body from one of the sender's documented examples (the test fixtures in tests/unit/
  *_payloads), mutated at random: a leaf replaced by a value of another type or an extreme one, a
  key dropped, a list emptied, or the whole body replaced by non-JSON, an array, nothing...;
- signs those exact bytes as the sender does, with the tests' signers (tests/signers.py; Shopify
  and WooCommerce: base64 HMAC-SHA256 of the body; Stripe: t=..,v1=hex of "t.body"; EasyPost:
  hmac-sha256-hex=; Shippo: t=..,v1=; AfterShip: base64; our canonical format: X-OMS-Timestamp
  and v1=) with the secrets local/emulator.py gives the runtime, and sends them as they are
  (`data=`, not schemathesis's serialiser).

The randomness is seeded from schemathesis's case (its id), so a run with one --seed repeats.
Loaded by schemathesis through SCHEMATHESIS_HOOKS=bench.fuzz_hooks.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schemathesis

from local.emulator import DEMO_CARRIER_SECRET, DEMO_CHANNEL_SECRETS, DEMO_PAYMENT_SECRET
from tests.signers import base64_hmac, carrier_headers, stripe_v1

UNIT = Path(__file__).resolve().parent.parent / "tests" / "unit"
CARRIERS = {  # {carrier} in the path -> its documented example bodies
    "easypost": ["carrier_payloads/webhook_easypost_tracker_updated.json",
                 "carrier_payloads/webhook_easypost_batch_created.json"],
    "shippo": ["carrier_payloads/webhook_shippo_track_updated.json"],
    "aftership": ["carrier_payloads/webhook_aftership_tracking_update.json"],
    "dhl": ["carrier_payloads/webhook_canonical.json"],  # any other name: our canonical format
}
SHOPIFY = ("shopify-demo", "oms-demo.myshopify.com",
           {"orders/create": "orders_create.json", "orders/updated": "orders_create.json",
            "orders/paid": "orders_create.json", "orders/cancelled": "orders_cancelled.json",
            "refunds/create": "refunds_create.json"})
WOO = ("woo-demo", {"order.created": "order_created.json", "order.updated": "order_updated_plugin_numbers.json",
                    "order.restored": "order_created_cod.json", "order.deleted": "order_deleted.json"})
STRIPE = sorted(p.name for p in (UNIT / "payment_payloads").glob("stripe_event_*.json"))
ODD_VALUES: list[Any] = [None, True, 0, -1, 2**63, 1e308, -0.5, "", " ", "x" * 5000, "\u0000", "💥\u202e",
                         "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "NaN", "-0", [], {}, [None], {"": ""}]
WHOLE_BODIES: list[bytes] = [b"", b"null", b"[]", b"{}", b"[{}]", b"\"text\"", b"12", b"{", b"\xff\xfe",
                             b"not json at all", json.dumps({"a": [[[[[[[[[[1]]]]]]]]]]}).encode()]


def _load(relative: str) -> Any:
    return json.loads((UNIT / relative).read_bytes())


def _leaves(doc: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(doc, dict):
        return [path] + [leaf for k, v in doc.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(doc, list):
        return [path] + [leaf for i, v in enumerate(doc) for leaf in _leaves(v, (*path, i))]
    return [path]


def _replace(doc: Any, path: tuple, value: Any, drop: bool = False) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def mutated(example: Any, rng: random.Random) -> bytes:
    """The example itself (a quarter of the time), or with 1-3 random changes, or a wholly odd body."""
    roll = rng.random()
    if roll < 0.25:
        return json.dumps(example).encode()
    if roll < 0.35:
        return rng.choice(WHOLE_BODIES)
    doc = json.loads(json.dumps(example))
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _leaves(doc) if p]
        if not paths:
            break
        path = rng.choice(paths)
        if rng.random() < 0.2:
            doc = _replace(doc, path, None, drop=True)
        else:
            doc = _replace(doc, path, rng.choice(ODD_VALUES))
    return json.dumps(doc).encode()


# Signed by tests/signers.py: each sender's documented rule, written apart from the verifiers it feeds.
CARRIER_SECRET_NAMES = {"easypost": "easypost_webhook_secret", "aftership": "aftership_webhook_secret",
                        "shippo": "shippo_webhook_secret"}


def carrier(rng: random.Random, name: str) -> tuple[str, bytes, dict[str, str]]:
    name = name if name in CARRIERS else rng.choice(list(CARRIERS))
    body = mutated(_load(rng.choice(CARRIERS[name])), rng)
    secret = DEMO_CARRIER_SECRET[CARRIER_SECRET_NAMES.get(name, "webhook_secret")]
    return name, body, carrier_headers(name, body, secret, datetime.now(UTC))


def channel(rng: random.Random) -> tuple[dict[str, str], bytes, dict[str, str]]:
    if rng.random() < 0.5:
        channel_id, domain, topics = SHOPIFY
        topic = rng.choice(list(topics) + ["app/uninstalled"])
        body = mutated(_load(f"channel_payloads/shopify/{topics.get(topic, 'orders_create.json')}"), rng)
        secret = DEMO_CHANNEL_SECRETS[channel_id]["webhook_secret"]
        headers = {"X-Shopify-Hmac-Sha256": base64_hmac(body, secret),
                   "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": domain,
                   "X-Shopify-Webhook-Id": f"fuzz-{rng.getrandbits(48):x}"}
        return {"kind": "shopify", "channel_id": channel_id}, body, headers
    channel_id, woo_topics = WOO
    topic = rng.choice([*woo_topics, "product.updated"])
    body = mutated(_load(f"channel_payloads/woocommerce/{woo_topics.get(topic, 'order_created.json')}"), rng)
    secret = DEMO_CHANNEL_SECRETS[channel_id]["webhook_secret"]
    headers = {"X-WC-Webhook-Signature": base64_hmac(body, secret),
               "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Delivery-Id": str(rng.getrandbits(31))}
    return {"kind": "woocommerce", "channel_id": channel_id}, body, headers


def payment(rng: random.Random) -> tuple[bytes, dict[str, str]]:
    body = mutated(_load(f"payment_payloads/{rng.choice(STRIPE)}"), rng)
    at = datetime.now(UTC)
    v1 = stripe_v1(body, DEMO_PAYMENT_SECRET["stripe_webhook_secret"], at)
    return body, {"Stripe-Signature": f"t={int(at.timestamp())},v1={v1}"}


def signed_webhook(path: str, path_parameters: dict[str, Any], rng: random.Random) -> tuple[dict, bytes, dict] | None:
    """(path parameters, body, headers) for a webhook route, or None for any other route."""
    if path == "/webhooks/carriers/{carrier}":
        name, body, headers = carrier(rng, str(path_parameters.get("carrier", "")))
        return {"carrier": name}, body, headers
    if path == "/webhooks/channels/{kind}/{channel_id}":
        return channel(rng)
    if path == "/webhooks/payments/{provider}":
        body, headers = payment(rng)
        return {"provider": "stripe"}, body, headers
    return None


@schemathesis.hook
def before_call(context, case, kwargs: dict[str, Any]) -> None:
    rng = random.Random(f"{case.id}")
    if rng.random() < 0.1:  # now and then, schemathesis's own request (mostly an unsigned 401)
        return
    signed = signed_webhook(case.operation.path, dict(case.path_parameters or {}), rng)
    if signed is None:
        return
    path_parameters, body, headers = signed
    case.path_parameters = {**(case.path_parameters or {}), **path_parameters}
    case.headers = {**(case.headers or {}), "Content-Type": "application/json", **headers}
    kwargs["data"] = body  # these exact bytes are what was signed
