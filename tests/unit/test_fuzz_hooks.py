"""The API fuzzer's webhook bodies (bench/fuzz_hooks.py) carry signatures the OMS's own verifiers
accept with the local runtime's secrets, so a fuzzed webhook reaches the handler's parsing instead
of stopping at 401; and a tampered body would not (the signature covers the exact bytes sent)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bench.fuzz_hooks import signed_webhook
from local.emulator import DEMO_CARRIER_SECRET, DEMO_CHANNEL_SECRETS, DEMO_PAYMENT_SECRET
from shared.carriers.webhooks import verify as verify_carrier
from shared.channels import shopify, woocommerce
from shared.errors import Unauthenticated
from shared.payments import stripe_webhooks

pytestmark = pytest.mark.unit

CARRIER_SECRET = {"easypost": "easypost_webhook_secret", "shippo": "shippo_webhook_secret",
                  "aftership": "aftership_webhook_secret", "dhl": "webhook_secret"}


def verifier(path: str, params: dict, headers: dict):
    """The check the route's handler makes, with the secret the local runtime gives it."""
    lower = {k.lower(): v for k, v in headers.items()}
    if path.startswith("/webhooks/carriers/"):
        carrier = params["carrier"]
        provider = carrier if carrier in ("easypost", "shippo", "aftership") else "canonical"
        secret = DEMO_CARRIER_SECRET[CARRIER_SECRET[carrier]]
        return lambda body: verify_carrier(provider, body, headers, secret, datetime.now(UTC))
    if path.startswith("/webhooks/channels/"):
        secrets = [DEMO_CHANNEL_SECRETS[params["channel_id"]]["webhook_secret"]]
        if params["kind"] == "shopify":
            return lambda body: shopify.verify(body, lower["x-shopify-hmac-sha256"], secrets)
        return lambda body: woocommerce.verify(body, lower["x-wc-webhook-signature"], secrets)
    secrets = [DEMO_PAYMENT_SECRET["stripe_webhook_secret"]]
    return lambda body: stripe_webhooks.verify(body, lower["stripe-signature"], secrets, datetime.now(UTC))


# Each verifier's refusal (WebhookRejected, WebhookSignatureInvalid, StripeSignatureRejected) is a 401.
REJECTIONS = Unauthenticated


@pytest.mark.parametrize("path", ["/webhooks/carriers/{carrier}", "/webhooks/channels/{kind}/{channel_id}",
                                  "/webhooks/payments/{provider}"])
@pytest.mark.parametrize("seed", range(12))
def test_the_fuzzers_webhooks_are_signed_as_the_handlers_verify(path, seed):
    signed = signed_webhook(path, {}, random.Random(seed))
    assert signed is not None
    params, body, headers = signed
    check = verifier(path, params, headers)
    check(body)  # the exact bytes sent verify
    with pytest.raises(REJECTIONS):
        check(body + b" ")


def test_every_sender_is_reached():
    seen = set()
    for seed in range(60):
        for path in ("/webhooks/carriers/{carrier}", "/webhooks/channels/{kind}/{channel_id}"):
            signed = signed_webhook(path, {}, random.Random(seed))
            assert signed is not None
            params = signed[0]
            seen.add(params.get("carrier") or params["kind"])
    assert seen == {"easypost", "shippo", "aftership", "dhl", "shopify", "woocommerce"}


def test_other_routes_are_left_to_schemathesis():
    assert signed_webhook("/orders", {}, random.Random(1)) is None
