"""The Stripe adapter against a fake transport (never the network): what it sends, how it reads
Stripe's objects back, and how Stripe's errors become ours.

Samples in payment_payloads/, shaped as Stripe's documented objects (docs.stripe.com/api/
payment_intents/object, /api/refunds/object, /api/errors, and the multicapture guide's responses),
ids made up:
- payment_intent_requires_capture.json     authorised 20.00 EUR, manual capture, multicapture requested
- payment_intent_partially_captured.json   7.00 captured, 13.00 capturable, latest_charge expanded
                                           (payment_method_details.card.multicapture.status available)
- payment_intent_succeeded.json            15.00 captured, the rest released
- payment_intent_canceled.json             canceled before any capture
- refund.json                              5.00 refunded, requested_by_customer
- error_card_declined_402.json             card_error card_declined / generic_decline, with the intent
- error_idempotency_409.json               idempotency_error (a key reused with other parameters)
- error_rate_limit_429.json                rate_limit
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from shared.config import settings
from shared.errors import Unavailable
from shared.payments import credentials
from shared.payments import stripe as stripe_module
from shared.payments.provider import (
    IdempotencyKeyReused,
    IntentStatus,
    PaymentDeclined,
    PaymentProvider,
    ProviderUnavailable,
    RefundStatus,
)
from shared.payments.stripe import (
    STRIPE_VERSION,
    StripeProvider,
    Urllib3Transport,
    from_stripe_amount,
    stripe_exponent,
    to_stripe_amount,
)

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).parent / "payment_payloads"
KEY = "sk_test_51OmsFakeKey0123456789abcdefNeverReal"  # not a real key; the tests check it never leaks
INTENT = "pi_3QxS2mLkdIwHu7ix0rT7aB1c"


def sample(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def raw(obj: dict) -> bytes:
    return json.dumps(obj).encode()


class FakeStripe:
    """A transport that answers from a script and records every request, body parsed."""

    def __init__(self, *responses: tuple[int, dict | bytes]):
        self.responses = list(responses)
        self.requests: list[dict] = []

    def __call__(self, method, url, headers, body):
        parts = urlsplit(url)
        self.requests.append({
            "method": method, "url": url, "path": parts.path, "query": parse_qsl(parts.query),
            "headers": dict(headers), "body": body,
            "form": dict(parse_qsl(body.decode(), keep_blank_values=True)) if body else None,
        })
        status, answer = self.responses.pop(0)
        return status, answer if isinstance(answer, bytes) else raw(answer)


def provider(*responses) -> tuple[StripeProvider, FakeStripe]:
    fake = FakeStripe(*responses)
    return StripeProvider(KEY, transport=fake), fake


def with_multicapture(status: str) -> dict:
    intent = sample("payment_intent_partially_captured")
    intent["latest_charge"]["payment_method_details"]["card"]["multicapture"]["status"] = status
    return intent


# ------------------------------------------------------------------ what it sends


def test_the_adapter_keeps_the_protocol():
    adapter: PaymentProvider = StripeProvider(KEY, transport=FakeStripe())
    assert adapter.name == "stripe"
    assert KEY not in repr(adapter)


def test_authorize_creates_and_confirms_a_manual_capture_intent_asking_for_multicapture():
    stripe, fake = provider((200, sample("payment_intent_requires_capture")))

    payment = stripe.authorize(Decimal("20.00"), "EUR", "pm_card_visa", "ord_01JD7Z6K3M", "auth-ord_01JD7Z6K3M")

    [request] = fake.requests
    assert (request["method"], request["url"]) == ("POST", "https://api.stripe.com/v1/payment_intents")
    assert request["form"] == {
        "amount": "2000", "currency": "eur", "capture_method": "manual", "confirm": "true",
        "payment_method": "pm_card_visa", "payment_method_types[]": "card",
        "payment_method_options[card][request_multicapture]": "if_available",
        "metadata[order_id]": "ord_01JD7Z6K3M",
    }
    headers = request["headers"]
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Stripe-Version"] == STRIPE_VERSION
    assert headers["Idempotency-Key"] == "auth-ord_01JD7Z6K3M"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert payment.intent_id == INTENT
    assert payment.status is IntentStatus.REQUIRES_CAPTURE
    assert (payment.currency, payment.amount, payment.amount_capturable, payment.amount_received) == (
        "EUR", Decimal("20.00"), Decimal("20.00"), Decimal("0.00"))
    assert payment.charge_id == "ch_3QxS2mLkdIwHu7ix0Vb2cD4e"
    assert payment.failure is None


def test_a_partial_capture_with_multicapture_available_keeps_the_rest_authorised():
    captured = sample("payment_intent_partially_captured")
    stripe, fake = provider((200, with_multicapture("available")), (200, captured))

    payment = stripe.capture(INTENT, Decimal("7.00"), "EUR", "capture-ord_01JD7Z6K3M-shp_1", final=False)

    read, capture = fake.requests
    assert (read["method"], read["path"], read["query"]) == (
        "GET", f"/v1/payment_intents/{INTENT}", [("expand[]", "latest_charge")])
    assert "Idempotency-Key" not in read["headers"] and read["body"] is None
    assert read["headers"]["Stripe-Version"] == STRIPE_VERSION
    assert (capture["method"], capture["path"]) == ("POST", f"/v1/payment_intents/{INTENT}/capture")
    assert capture["form"] == {"amount_to_capture": "700", "final_capture": "false"}
    assert capture["headers"]["Idempotency-Key"] == "capture-ord_01JD7Z6K3M-shp_1"
    assert (payment.amount_received, payment.amount_capturable) == (Decimal("7.00"), Decimal("13.00"))
    assert payment.charge_id == "ch_3QxS2mLkdIwHu7ix0Vb2cD4e"  # latest_charge expanded: its id


def test_without_multicapture_a_partial_capture_is_the_only_one_and_releases_the_rest():
    stripe, fake = provider((200, with_multicapture("unavailable")), (200, sample("payment_intent_succeeded")))

    payment = stripe.capture(INTENT, Decimal("15.00"), "EUR", "capture-ord_01JD7Z6K3M-shp_1", final=False)

    assert fake.requests[1]["form"] == {"amount_to_capture": "1500"}  # final_capture defaults to true
    assert payment.status is IntentStatus.SUCCEEDED
    assert payment.amount_capturable == Decimal("0.00")


def test_a_final_capture_sends_no_final_capture_parameter_and_reads_nothing_first():
    stripe, fake = provider((200, sample("payment_intent_succeeded")))

    stripe.capture(INTENT, Decimal("15"), "EUR", "capture-ord_01JD7Z6K3M-shp_2", final=True)

    [capture] = fake.requests
    assert capture["form"] == {"amount_to_capture": "1500"}
    assert capture["headers"]["Idempotency-Key"] == "capture-ord_01JD7Z6K3M-shp_2"


def test_void_cancels_an_intent_with_nothing_captured():
    stripe, fake = provider((200, sample("payment_intent_requires_capture")), (200, sample("payment_intent_canceled")))

    payment = stripe.void(INTENT, "void-ord_01JD7Z6K3M")

    read, cancel = fake.requests
    assert read["method"] == "GET" and "Idempotency-Key" not in read["headers"]
    assert (cancel["method"], cancel["path"], cancel["form"]) == ("POST", f"/v1/payment_intents/{INTENT}/cancel", None)
    assert cancel["headers"]["Idempotency-Key"] == "void-ord_01JD7Z6K3M"
    assert payment.status is IntentStatus.CANCELED


def test_void_of_a_partially_captured_intent_is_a_final_capture_of_zero():
    released = sample("payment_intent_succeeded") | {"amount_received": 700}
    stripe, fake = provider((200, sample("payment_intent_partially_captured")), (200, released))

    payment = stripe.void(INTENT, "void-ord_01JD7Z6K3M")

    capture = fake.requests[1]
    assert (capture["path"], capture["form"]) == (
        f"/v1/payment_intents/{INTENT}/capture", {"amount_to_capture": "0", "final_capture": "true"})
    assert capture["headers"]["Idempotency-Key"] == "void-ord_01JD7Z6K3M"
    assert (payment.status, payment.amount_received, payment.amount_capturable) == (
        IntentStatus.SUCCEEDED, Decimal("7.00"), Decimal("0.00"))


@pytest.mark.parametrize("name", ["payment_intent_canceled", "payment_intent_succeeded"])
def test_void_of_an_intent_with_nothing_left_moves_nothing(name):
    stripe, fake = provider((200, sample(name)))

    payment = stripe.void(INTENT, "void-ord_01JD7Z6K3M")

    assert [r["method"] for r in fake.requests] == ["GET"]
    assert payment.amount_capturable == Decimal("0.00")


def test_refund_sends_the_intent_the_amount_and_a_reason_stripe_knows():
    stripe, fake = provider((200, sample("refund")))

    refund = stripe.refund(INTENT, Decimal("5.00"), "EUR", "refund-ord_01JD7Z6K3M-rma_1", reason="requested_by_customer")

    [request] = fake.requests
    assert (request["method"], request["url"]) == ("POST", "https://api.stripe.com/v1/refunds")
    assert request["form"] == {"payment_intent": INTENT, "amount": "500", "reason": "requested_by_customer",
                               "metadata[idempotency_key]": "refund-ord_01JD7Z6K3M-rma_1"}
    assert request["headers"]["Idempotency-Key"] == "refund-ord_01JD7Z6K3M-rma_1"
    assert (refund.refund_id, refund.intent_id, refund.charge_id) == (
        "re_3QxS2mLkdIwHu7ix0Kp3lM7n", INTENT, "ch_3QxS2mLkdIwHu7ix0Vb2cD4e")
    assert (refund.currency, refund.amount, refund.status) == ("EUR", Decimal("5.00"), RefundStatus.SUCCEEDED)


def test_a_reason_stripe_does_not_know_goes_into_metadata():
    stripe, fake = provider((200, sample("refund")))

    stripe.refund(INTENT, Decimal("5.00"), "EUR", "refund-ord_01JD7Z6K3M-rma_1", reason="damaged_in_transit")

    form = fake.requests[0]["form"]
    assert "reason" not in form
    assert form["metadata[reason]"] == "damaged_in_transit"


def test_retrieve_is_a_get_without_idempotency_key():
    stripe, fake = provider((200, sample("payment_intent_partially_captured")))

    payment = stripe.retrieve(INTENT)

    [request] = fake.requests
    assert (request["method"], request["url"], request["body"]) == (
        "GET", f"https://api.stripe.com/v1/payment_intents/{INTENT}", None)
    assert "Idempotency-Key" not in request["headers"]
    assert request["headers"]["Stripe-Version"] == STRIPE_VERSION
    assert (payment.amount, payment.amount_received) == (Decimal("20.00"), Decimal("7.00"))


def test_every_post_carries_the_callers_key_unchanged():
    key = "capture-ord 01/ü:#1"  # odd characters go through untouched
    stripe, fake = provider(
        (200, sample("payment_intent_requires_capture")),
        (200, with_multicapture("available")), (200, sample("payment_intent_partially_captured")),
        (200, sample("refund")),
        (200, sample("payment_intent_requires_capture")), (200, sample("payment_intent_canceled")),
    )
    stripe.authorize(Decimal("20"), "EUR", "pm_card_visa", "ord_1", key)
    stripe.capture(INTENT, Decimal("7"), "EUR", key, final=False)
    stripe.refund(INTENT, Decimal("5"), "EUR", key)
    stripe.void(INTENT, key)

    posts = [r for r in fake.requests if r["method"] == "POST"]
    gets = [r for r in fake.requests if r["method"] == "GET"]
    assert len(posts) == 4 and len(gets) == 2
    assert all(r["headers"]["Idempotency-Key"] == key for r in posts)
    assert all("Idempotency-Key" not in r["headers"] for r in gets)
    assert all(r["headers"]["Stripe-Version"] == STRIPE_VERSION for r in fake.requests)


def test_an_intent_id_cannot_reach_another_endpoint():
    stripe, fake = provider((200, sample("payment_intent_requires_capture")))

    stripe.retrieve("pi_1/cancel?x=1")

    assert fake.requests[0]["path"] == "/v1/payment_intents/pi_1%2Fcancel%3Fx%3D1"


def test_a_call_that_moves_money_needs_a_key():
    stripe, fake = provider()
    with pytest.raises(ValueError):
        stripe.refund(INTENT, Decimal("5"), "EUR", "")
    with pytest.raises(ValueError):
        stripe.refund(INTENT, Decimal("5"), "EUR", "k" * 256)
    assert fake.requests == []


# ------------------------------------------------------------------ amounts


@pytest.mark.parametrize(("amount", "currency", "units"), [
    (Decimal("19.99"), "EUR", 1999),
    (Decimal("20"), "EUR", 2000),
    (Decimal("0.5"), "EUR", 50),
    (Decimal("1500"), "JPY", 1500),
    (Decimal("5.120"), "KWD", 5120),
    (Decimal("5.12"), "KWD", 5120),
    (Decimal("12.340"), "BHD", 12340),
    (Decimal("5"), "ISK", 500),     # special case: two decimals, always 00
    (Decimal("5000"), "UGX", 500000),
    (Decimal("1000"), "MGA", 1000),  # zero-decimal at Stripe, two decimals in ISO 4217
    (Decimal("10.45"), "HUF", 1045),  # special only for payouts
    (Decimal("0"), "EUR", 0),
])
def test_amounts_in_stripe_units_and_back(amount, currency, units):
    assert to_stripe_amount(amount, currency) == units
    assert from_stripe_amount(units, currency) == amount


def test_amounts_read_back_with_the_currencys_decimals():
    assert str(from_stripe_amount(1999, "EUR")) == "19.99"
    assert str(from_stripe_amount(1500, "JPY")) == "1500"
    assert str(from_stripe_amount(5120, "KWD")) == "5.120"
    assert str(from_stripe_amount(500, "ISK")) == "5"
    assert str(from_stripe_amount(550, "ISK")) == "5.50"  # an old fractional ISK amount, not rounded away
    assert stripe_exponent("jpy") == 0 and stripe_exponent("kwd") == 3 and stripe_exponent("isk") == 2


@pytest.mark.parametrize(("amount", "currency"), [
    (Decimal("19.999"), "EUR"),   # finer than a cent
    (Decimal("10.5"), "JPY"),     # no fractions of a yen
    (Decimal("5.124"), "KWD"),    # Stripe wants the last of three decimals to be 0
    (Decimal("5.5"), "ISK"),      # whole krónur only
    (Decimal("0.5"), "MGA"),      # whole ariary only, at Stripe
    (Decimal("-1"), "EUR"),
    (Decimal("NaN"), "EUR"),
])
def test_an_amount_stripe_cannot_represent_is_refused_before_any_call(amount, currency):
    stripe, fake = provider()
    with pytest.raises(ValueError) as raised:
        stripe.authorize(amount, currency, "pm_card_visa", "ord_1", "auth-ord_1")
    assert currency in str(raised.value)
    assert fake.requests == []


def test_a_kwd_authorisation_goes_out_in_fils():
    answer = sample("payment_intent_requires_capture") | {"currency": "kwd", "amount": 5120, "amount_capturable": 5120}
    stripe, fake = provider((200, answer))

    payment = stripe.authorize(Decimal("5.12"), "KWD", "pm_card_visa", "ord_1", "auth-ord_1")

    assert (fake.requests[0]["form"]["amount"], fake.requests[0]["form"]["currency"]) == ("5120", "kwd")
    assert (payment.currency, payment.amount) == ("KWD", Decimal("5.120"))


def test_a_jpy_capture_goes_out_in_yen():
    answer = sample("payment_intent_succeeded") | {"currency": "jpy", "amount": 3000, "amount_received": 3000}
    stripe, fake = provider((200, answer))

    payment = stripe.capture(INTENT, Decimal("3000"), "JPY", "capture-1", final=True)

    assert fake.requests[0]["form"] == {"amount_to_capture": "3000"}
    assert payment.amount_received == Decimal("3000")


# ------------------------------------------------------------------ errors


def test_a_declined_card_is_payment_declined_with_stripes_code():
    stripe, _ = provider((402, sample("error_card_declined_402")))

    with pytest.raises(PaymentDeclined) as raised:
        stripe.authorize(Decimal("20"), "EUR", "pm_card_chargeDeclined", "ord_1", "auth-ord_1")

    assert raised.value.code == "card_declined"
    assert "Your card was declined." in raised.value.message
    assert "generic_decline" in raised.value.message


@pytest.mark.parametrize("status", [400, 409])
def test_a_key_reused_with_other_parameters_is_a_bug_not_a_decline(status):
    stripe, _ = provider((status, sample("error_idempotency_409")))

    with pytest.raises(IdempotencyKeyReused, match="idempotency_key_reused"):
        stripe.capture(INTENT, Decimal("5"), "EUR", "capture-ord_01JD7Z6K3M-shp_1", final=True)


def test_a_conflict_with_a_request_still_running_is_retried():
    conflict = {"error": {"message": "There is currently another in-progress request using this Idempotent Key.",
                          "type": "invalid_request_error"}}
    stripe, _ = provider((409, conflict))
    with pytest.raises(ProviderUnavailable):
        stripe.capture(INTENT, Decimal("5"), "EUR", "capture-1", final=True)


@pytest.mark.parametrize(("status", "body"), [
    (429, sample("error_rate_limit_429")),
    (429, {"error": {"code": "lock_timeout", "message": "This object cannot be accessed right now.",
                     "type": "invalid_request_error"}}),
    (400, {"error": {"code": "lock_timeout", "message": "Try again.", "type": "invalid_request_error"}}),
    (400, {"error": {"code": "rate_limit", "message": "Too many requests.", "type": "invalid_request_error"}}),
    (500, {"error": {"message": "An unknown error occurred", "type": "api_error"}}),
    (502, b"<html>Bad gateway</html>"),
    (503, b""),
    (401, {"error": {"message": "Invalid API Key provided: sk_test_****Real", "type": "invalid_request_error"}}),
])
def test_what_a_retry_may_fix_is_provider_unavailable(status, body):
    stripe, _ = provider((status, body))
    with pytest.raises(ProviderUnavailable):
        stripe.refund(INTENT, Decimal("5"), "EUR", "refund-1")


@pytest.mark.parametrize(("status", "body", "code"), [
    (400, {"error": {"code": "amount_too_large", "message": "Amount to capture is greater than capturable.",
                     "param": "amount_to_capture", "type": "invalid_request_error"}}, "amount_too_large"),
    (400, {"error": {"code": "payment_intent_unexpected_state", "message": "This PaymentIntent could not be "
                     "captured because it has a status of canceled.", "type": "invalid_request_error"}},
     "payment_intent_unexpected_state"),
    (404, {"error": {"code": "resource_missing", "message": "No such payment_intent: 'pi_nope'",
                     "param": "intent", "type": "invalid_request_error"}}, "resource_missing"),
])
def test_what_a_retry_will_not_change_is_declined(status, body, code):
    stripe, _ = provider((status, body))
    with pytest.raises(PaymentDeclined) as raised:
        stripe.capture(INTENT, Decimal("5"), "EUR", "capture-1", final=True)
    assert raised.value.code == code


def test_the_key_never_appears_in_an_error():
    echo = {"error": {"message": f"Invalid API Key provided: {KEY}", "type": "invalid_request_error"}}
    declined = {"error": {"code": "card_declined", "message": f"declined for {KEY}", "type": "card_error"}}
    for status, body, kind in ((401, echo, ProviderUnavailable), (402, declined, PaymentDeclined),
                               (500, echo, ProviderUnavailable)):
        stripe, _ = provider((status, body))
        with pytest.raises(kind) as raised:
            stripe.authorize(Decimal("20"), "EUR", "pm_card_visa", "ord_1", "auth-1")
        assert KEY not in str(raised.value)
        assert KEY not in repr(raised.value.args)


def test_the_key_never_reaches_the_log(monkeypatch):
    lines: list[str] = []
    monkeypatch.setattr(stripe_module.logger, "info", lambda msg, extra=None: lines.append(f"{msg} {extra}"))
    stripe, _ = provider((200, sample("payment_intent_requires_capture")), (402, sample("error_card_declined_402")))

    stripe.retrieve(INTENT)
    with pytest.raises(PaymentDeclined):
        stripe.authorize(Decimal("20"), "EUR", "pm_card_visa", "ord_1", "auth-1")

    assert len(lines) == 2
    assert all(KEY not in line and "Bearer" not in line for line in lines)


def test_network_errors_are_provider_unavailable_without_the_key():
    import urllib3

    transport = Urllib3Transport(connect_timeout=0.01, read_timeout=0.01)

    def refuse(*args, **kwargs):
        raise urllib3.exceptions.NewConnectionError(None, f"refused, headers had Bearer {KEY}")  # type: ignore[arg-type]

    transport._pool.request = refuse  # type: ignore[method-assign]
    stripe = StripeProvider(KEY, transport=transport)
    with pytest.raises(ProviderUnavailable) as raised:
        stripe.retrieve(INTENT)
    assert KEY not in str(raised.value) and raised.value.__cause__ is None


def test_the_default_transport_times_out_and_does_not_retry():
    transport = Urllib3Transport(connect_timeout=2, read_timeout=7)
    pool = transport._pool
    assert pool.connection_pool_kw["timeout"].connect_timeout == 2
    assert pool.connection_pool_kw["timeout"].read_timeout == 7
    retries = pool.connection_pool_kw["retries"]
    assert retries is False or retries.total is False


def test_an_empty_key_is_refused():
    with pytest.raises(ValueError):
        StripeProvider("", transport=FakeStripe())


def test_samples_are_not_changed_by_the_adapter():
    before = sample("payment_intent_partially_captured")
    stripe, _ = provider((200, copy.deepcopy(before)))
    stripe.retrieve(INTENT)
    assert sample("payment_intent_partially_captured") == before


# ------------------------------------------------------------------ credentials


@pytest.fixture
def secret(monkeypatch):
    """The payment secret as Powertools would return it; records the names and options asked for."""
    from aws_lambda_powertools.utilities import parameters

    store: dict = {"value": {}, "asked": []}

    def get_secret(name, transform=None, max_age=None):
        store["asked"].append((name, transform, max_age))
        if isinstance(store["value"], Exception):
            raise store["value"]
        return store["value"]

    monkeypatch.setattr(parameters, "get_secret", get_secret)
    monkeypatch.delenv("OMS_PAYMENT_SECRET", raising=False)
    monkeypatch.setattr(credentials, "_stripe", None)
    return store


def test_the_stripe_key_is_read_from_the_payment_secret(secret, monkeypatch):
    secret["value"] = {"stripe_secret_key": KEY}
    assert credentials.stripe_secret_key() == KEY
    assert secret["asked"] == [("oms/payments", "json", 300)]

    monkeypatch.setenv("OMS_PAYMENT_SECRET", "stage/payments")
    settings.cache_clear()
    credentials.stripe_secret_key()
    settings.cache_clear()
    assert secret["asked"][-1][0] == "stage/payments"


def test_a_missing_key_or_secret_is_payments_not_configured(secret):
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    with pytest.raises(credentials.PaymentsNotConfigured) as raised:
        credentials.stripe_secret_key()
    assert raised.value.code == "payments_not_configured"
    assert isinstance(raised.value, Unavailable)

    secret["value"] = GetParameterError("ResourceNotFoundException")
    with pytest.raises(credentials.PaymentsNotConfigured):
        credentials.payment_provider("stripe")


def test_webhook_secrets_during_a_rotation(secret):
    assert credentials.stripe_webhook_secrets() == []
    secret["value"] = {"stripe_webhook_secret": "whsec_old"}
    assert credentials.stripe_webhook_secrets() == ["whsec_old"]
    secret["value"] = {"stripe_webhook_secret": " whsec_old, whsec_new ,"}
    assert credentials.stripe_webhook_secrets() == ["whsec_old", "whsec_new"]


def test_the_stripe_provider_is_built_with_the_current_key(secret):
    secret["value"] = {"stripe_secret_key": KEY}
    first = credentials.payment_provider("stripe")
    assert isinstance(first, StripeProvider)
    assert credentials.payment_provider("stripe") is first

    secret["value"] = {"stripe_secret_key": KEY + "rotated"}
    assert credentials.payment_provider("stripe") is not first
