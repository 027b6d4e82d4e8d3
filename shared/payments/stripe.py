"""Stripe behind the PaymentProvider contract, written against its documented REST API (v1).

Sources (read 2026-11):
- https://docs.stripe.com/api/authentication, /api/versioning (Bearer key, Stripe-Version header),
  /api/errors and /error-low-level (error object, status codes, what a retry may do),
  /api/idempotent_requests (the Idempotency-Key header; saved results, mismatched parameters)
- https://docs.stripe.com/api/payment_intents/create, /capture, /cancel, /retrieve, /api/refunds/create
- https://docs.stripe.com/payments/multicapture (request_multicapture, final_capture, releasing
  the rest of a partially captured authorisation)
- https://docs.stripe.com/currencies (zero-decimal, three-decimal and special-case currencies)

Bodies are form-encoded (Stripe's v1 API takes no JSON); nested parameters are written the way
Stripe's own clients write them (`metadata[order_id]`, `expand[]`).

Idempotency: every POST carries the caller's key unchanged. Stripe saves the status and body of the
first request under a key (24 hours) and answers a retry with them, so a retried Lambda never
captures or refunds twice; the same key with other parameters is an `idempotency_error`. A 500 is
saved too: Stripe calls its outcome indeterminate, so a caller that keeps getting one should read
the intent back (retrieve) rather than invent a new key.

The secret key goes into the Authorization header only: never into a log line, an exception message
(Stripe's own messages are scrubbed of it too) or the repr of this object.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from shared.adapters.outbound import HttpsTransport
from shared.domain.money import minor_unit, quantum
from shared.observability import logger
from shared.payments.provider import (
    IdempotencyKeyReused,
    IntentStatus,
    PaymentDeclined,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailable,
    RefundStatus,
)

API_BASE = "https://api.stripe.com"
# Pinned so a change of the account's default version in the Dashboard cannot change what we send or
# read. 2026-09-30.endive is the version docs.stripe.com/api/versioning names current (read 2026-11);
# the fields used here (amount, amount_capturable, amount_received, latest_charge, last_payment_error,
# status; the Refund's) are unchanged since latest_charge replaced charges in 2022-11-15.
# Move it only as an upgrade: read the changelog, then run tests/unit/test_stripe_provider.py.
STRIPE_VERSION = "2026-09-30.endive"

# (method, url, headers, body or None) -> (HTTP status, raw body)
Transport = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]

# ------------------------------------------------------------------ amounts, as Stripe counts them
#
# Stripe's minor units follow ISO 4217 (shared/domain/money.py) except where docs.stripe.com/currencies
# says otherwise, and those exceptions live here only:
# - Zero-decimal: Stripe's list. It adds MGA (ISO: 2 decimals) and leaves out ISK and UGX.
# - ISK and UGX ("special cases"): zero-decimal in practice, but for backwards compatibility Stripe
#   takes them as two-decimal amounts whose decimals are always 00 (5 ISK is 500). Stripe's page
#   also still lists UGX among the zero-decimal currencies; we follow the special-case rule, which
#   is the specific one (and says Stripe rounds invoice amounts to multiples of 100 for it).
# - Three-decimal (BHD, JOD, KWD, OMR, TND): three decimals, but the last digit must be 0 for Stripe's
#   partners (5.124 KWD cannot be charged; 5.120 can).
# - HUF and TWD are special only for payouts (multiples of 100); charges take two decimals as ISO.
STRIPE_ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF".split())
STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL = frozenset({"ISK", "UGX"})
STRIPE_THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())


def stripe_exponent(currency: str) -> int:
    """Decimal places of the amounts Stripe takes for `currency` (JPY 0, EUR 2, ISK 2, KWD 3)."""
    code = currency.upper()
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    if code in STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL:
        return 2
    if code in STRIPE_THREE_DECIMAL:
        return 3
    return minor_unit(code)


def _step(currency: str) -> int:
    """What a Stripe amount in `currency` must be a multiple of."""
    code = currency.upper()
    if code in STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL:
        return 100
    if code in STRIPE_THREE_DECIMAL:
        return 10
    return 1


def to_stripe_amount(amount: Decimal, currency: str) -> int:
    """`amount` in the units Stripe expects for `currency`, or ValueError if Stripe cannot charge it
    exactly (refused here, before any call, rather than rounded: rounding would move other money)."""
    code = currency.upper()
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{amount} {code} is not an amount Stripe can charge")
    scaled = amount.scaleb(stripe_exponent(code))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {code} is finer than the smallest {code} amount Stripe takes")
    units = int(scaled)
    if units % _step(code):
        smallest = Decimal(_step(code)).scaleb(-stripe_exponent(code)).normalize()
        raise ValueError(f"Stripe takes {code} only in steps of {smallest:f}: {amount} {code} is not one")
    return units


def from_stripe_amount(units: int, currency: str) -> Decimal:
    """A Stripe amount back as Decimal, written with the currency's ISO decimals where exact
    (500 ISK units -> Decimal("5"), 1999 EUR -> Decimal("19.99"), 5120 KWD -> Decimal("5.120"))."""
    code = currency.upper()
    value = Decimal(units).scaleb(-stripe_exponent(code))
    iso = value.quantize(quantum(code))
    return iso if iso == value else value


# ------------------------------------------------------------------ the default transport


class Urllib3Transport(HttpsTransport):
    """The default transport (shared/adapters/outbound.py), answering (status, body). No retries of
    its own: the caller retries on ProviderUnavailable with the same idempotency key."""

    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 30.0):
        super().__init__(lambda why: ProviderUnavailable(f"Stripe unreachable: {why}"), connect_timeout, read_timeout)

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes | None  # type: ignore[override]
                 ) -> tuple[int, bytes]:
        status, _, raw = self.send(method, url, headers, body)
        return status, raw


# ------------------------------------------------------------------ the adapter

# Stripe's refund reasons (docs.stripe.com/api/refunds/create#create_refund-reason). Ours go to metadata.
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


class StripeProvider:
    """PaymentProvider over Stripe PaymentIntents with manual capture.

    authorize   POST /v1/payment_intents: created and confirmed at once with capture_method=manual
                and payment_method_options[card][request_multicapture]=if_available, so a card and
                account that support multicapture can be captured several times (one per shipment,
                up to 50). When multicapture is not available (it is an IC+ pricing feature, card
                networks Amex, Visa, Discover, Mastercard and Cartes Bancaires only), the intent
                still authorises, but only one capture is possible: capture() then makes that one
                capture final and Stripe releases the rest of the authorisation.
    capture     POST /v1/payment_intents/{id}/capture with amount_to_capture; a capture that is not
                final sends final_capture=false, which Stripe allows only when multicapture is
                available for the intent. So a non-final capture first reads the intent with its
                latest charge (payment_method_details.card.multicapture.status) and, when that is
                not "available", captures once and finally (the returned payment says so: status
                succeeded, amount_capturable 0). The read is repeated on a retry and gives the same
                answer, so a retry sends the same parameters and Stripe answers the saved result.
    void        Releases what is authorised and not captured. POST .../cancel for an intent with
                nothing captured. An intent partially captured through multicapture is released the
                way Stripe's multicapture guide says: a capture of amount_to_capture=0 with
                final_capture=true (it ends succeeded, not canceled). An intent already canceled or
                succeeded has nothing left to release and is returned as it is.
    refund      POST /v1/refunds with payment_intent and amount.
    retrieve    GET /v1/payment_intents/{id}.
    """

    name = "stripe"

    def __init__(self, secret_key: str, transport: Transport | None = None, api_base: str = API_BASE):
        if not secret_key:
            raise ValueError("a Stripe secret key is required")
        self._key = secret_key
        self._transport = transport if transport is not None else Urllib3Transport()
        self._base = api_base.rstrip("/")

    def __repr__(self) -> str:  # the default repr would put the key into any log line holding us
        return "StripeProvider(secret_key=***)"

    # ------------------------------------------------------------------ the contract

    def authorize(self, amount: Decimal, currency: str, payment_method: str, order_id: str,
                  idempotency_key: str) -> ProviderPayment:
        params: list[tuple[str, str]] = [
            ("amount", str(to_stripe_amount(amount, currency))),
            ("currency", currency.lower()),
            ("capture_method", "manual"),
            ("confirm", "true"),
            ("payment_method", payment_method),
            # Cards only: with the default automatic_payment_methods, a server-side confirm would
            # need a return_url for payment methods that redirect.
            ("payment_method_types[]", "card"),
            ("payment_method_options[card][request_multicapture]", "if_available"),
            ("metadata[order_id]", order_id),
        ]
        return _payment(self._post("/v1/payment_intents", params, idempotency_key))

    def capture(self, intent_id: str, amount: Decimal, currency: str, idempotency_key: str,
                final: bool) -> ProviderPayment:
        params = [("amount_to_capture", str(to_stripe_amount(amount, currency)))]
        # No check of amount against amount_capturable here: on a retry the first capture has
        # already lowered it, and Stripe must see the same parameters to answer the saved result.
        if not final and self._multicapture_available(intent_id):
            params.append(("final_capture", "false"))
        return _payment(self._post(f"/v1/payment_intents/{_id(intent_id)}/capture", params, idempotency_key))

    def void(self, intent_id: str, idempotency_key: str) -> ProviderPayment:
        intent = self._get(f"/v1/payment_intents/{_id(intent_id)}")
        status, received = intent.get("status"), intent.get("amount_received") or 0
        if status in (IntentStatus.CANCELED, IntentStatus.SUCCEEDED):
            return _payment(intent)  # nothing left to release (or released by an earlier attempt)
        if status == IntentStatus.REQUIRES_CAPTURE and received > 0:
            # docs.stripe.com/payments/multicapture, "Release uncaptured funds": a cancel is for
            # intents with nothing captured; a partially captured one closes with a final capture of 0.
            params = [("amount_to_capture", "0"), ("final_capture", "true")]
            return _payment(self._post(f"/v1/payment_intents/{_id(intent_id)}/capture", params, idempotency_key))
        return _payment(self._post(f"/v1/payment_intents/{_id(intent_id)}/cancel", [], idempotency_key))

    def refund(self, intent_id: str, amount: Decimal, currency: str, idempotency_key: str,
               reason: str | None = None) -> ProviderRefund:
        params = [("payment_intent", intent_id), ("amount", str(to_stripe_amount(amount, currency)))]
        if reason in REFUND_REASONS:
            params.append(("reason", reason))
        elif reason:
            params.append(("metadata[reason]", reason))  # Stripe refuses any other reason value
        # Our key names what the refund is for: a refund Stripe completes after a 500 still carries it.
        params.append(("metadata[idempotency_key]", idempotency_key))
        return _refund(self._post("/v1/refunds", params, idempotency_key))

    def retrieve(self, intent_id: str) -> ProviderPayment:
        return _payment(self._get(f"/v1/payment_intents/{_id(intent_id)}"))

    # ------------------------------------------------------------------ helpers

    def _multicapture_available(self, intent_id: str) -> bool:
        intent = self._get(f"/v1/payment_intents/{_id(intent_id)}", [("expand[]", "latest_charge")])
        charge = intent.get("latest_charge")
        details = ((charge if isinstance(charge, dict) else {}).get("payment_method_details") or {}).get("card")
        return ((details or {}).get("multicapture") or {}).get("status") == "available"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}", "Stripe-Version": STRIPE_VERSION,
                "Accept": "application/json", "User-Agent": "serverless-oms"}

    def _post(self, path: str, params: list[tuple[str, str]], idempotency_key: str) -> dict:
        if not idempotency_key or len(idempotency_key) > 255:  # Stripe's limit (api/idempotent_requests)
            raise ValueError("every Stripe call that moves money needs an idempotency key of 1 to 255 characters")
        headers = self._headers() | {"Content-Type": "application/x-www-form-urlencoded",
                                     "Idempotency-Key": idempotency_key}
        return self._call("POST", path, headers, urlencode(params).encode())

    def _get(self, path: str, query: list[tuple[str, str]] | None = None) -> dict:
        return self._call("GET", path + (f"?{urlencode(query)}" if query else ""), self._headers(), None)

    def _call(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> dict:
        started = time.monotonic()
        status, raw = self._transport(method, self._base + path, headers, body)
        # Only method, path and status: never headers (the key) nor bodies.
        logger.info("stripe call", extra={"method": method, "path": path.split("?")[0], "status": status,
                                          "ms": round((time.monotonic() - started) * 1000)})
        try:
            decoded = json.loads(raw or b"{}")
        except ValueError:
            decoded = {}  # a proxy's HTML error page: the status says enough
        payload: dict = decoded if isinstance(decoded, dict) else {}
        if 200 <= status < 300:
            return payload
        raise self._error(method, path.split("?")[0], status, payload)

    def _error(self, method: str, path: str, status: int, payload: dict) -> Exception:
        """Stripe's error object as ours: PaymentDeclined for what a retry will not change,
        ProviderUnavailable for what it may (docs.stripe.com/api/errors, /error-low-level)."""
        raw = payload.get("error")
        error: dict[str, Any] = raw if isinstance(raw, dict) else {}
        kind, code, decline = error.get("type"), error.get("code"), error.get("decline_code")
        message = self._scrub(str(error.get("message") or "no error message"))
        if kind == "idempotency_error":
            # The key was used before with another endpoint or other parameters: a caller's bug
            # that repeating the request cannot fix.
            return IdempotencyKeyReused(f"idempotency_key_reused: {message}")
        where = f"Stripe {method} {path}: HTTP {status} {code or kind or 'no code'}: {message}"
        if status == 409 or status == 429 or status >= 500 or code in ("lock_timeout", "rate_limit"):
            # 409 without idempotency_error: a request with the same key is still running, and
            # Stripe saved nothing for this one, so the same request may be repeated.
            return ProviderUnavailable(where)
        if status in (401, 403):
            return ProviderUnavailable(f"{where} (check stripe_secret_key in the payment secret)")
        if status == 402 or kind in ("card_error", "invalid_request_error"):
            text = f"{message} (decline_code: {decline})" if decline and decline != code else message
            return PaymentDeclined(str(code or decline or kind or f"http_{status}"), text)
        return ProviderUnavailable(where)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")


def _id(value: str) -> str:
    """An id as one path segment: a stray "/" or "?" in it must not reach another endpoint."""
    return quote(value, safe="")


def _text_id(value: Any) -> str | None:
    """An expandable field (an id, or the object when expanded) as its id."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _payment(intent: dict) -> ProviderPayment:
    """A PaymentIntent (docs.stripe.com/api/payment_intents/object) as the contract's payment."""
    currency = str(intent.get("currency") or "").upper()
    error = intent.get("last_payment_error")
    return ProviderPayment(
        intent_id=str(intent["id"]),
        status=IntentStatus(intent["status"]),
        currency=currency,
        amount=from_stripe_amount(int(intent.get("amount") or 0), currency),
        amount_capturable=from_stripe_amount(int(intent.get("amount_capturable") or 0), currency),
        amount_received=from_stripe_amount(int(intent.get("amount_received") or 0), currency),
        charge_id=_text_id(intent.get("latest_charge")),
        failure=(error.get("message") or error.get("code")) if isinstance(error, dict) else None,
    )


def _refund(refund: dict) -> ProviderRefund:
    """A Refund (docs.stripe.com/api/refunds/object) as the contract's refund."""
    currency = str(refund.get("currency") or "").upper()
    return ProviderRefund(
        refund_id=str(refund["id"]),
        intent_id=_text_id(refund.get("payment_intent")),
        charge_id=_text_id(refund.get("charge")),
        currency=currency,
        amount=from_stripe_amount(int(refund.get("amount") or 0), currency),
        status=RefundStatus(refund["status"]),
    )
