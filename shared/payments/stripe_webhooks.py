"""Stripe webhooks: verify the signature on the raw body, then read Stripe's Event object into one
ProviderEvent. Pure: no AWS, no clock (the caller passes `now`); nothing is parsed before `verify`.

Signature (`verify`), as https://docs.stripe.com/webhooks#verify-manually documents it and
stripe-python's WebhookSignature.verify_header (stripe/_webhook.py) checks it:
  Stripe-Signature: t=1492774577,v1=5257a8…,v0=6ffbb5…   (one line)
  Split on "," then each element on the first "=". `t` is the Unix time Stripe signed at; every `v1`
  is a hex HMAC-SHA256 keyed with an endpoint signing secret (the "whsec_…" string, UTF-8, as the
  libraries use it) over f"{t}.{raw body}". We accept when any v1 matches any configured secret
  (while a secret is rolled, Stripe keeps the old one active for up to 24 hours and signs once per
  secret: several v1 values, several secrets), compared in constant time. Other schemes (the fake
  v0 of test events) are ignored, "to prevent downgrade attacks". Refused: no header, no secret
  configured, a t that is missing, repeated or not a plain positive integer, no v1 at all, no match.
  Replays (https://docs.stripe.com/webhooks#replay-attacks): t is signed, and a t older than
  TOLERANCE (5 minutes, the libraries' default) is refused. Like stripe-python, stripe-node and
  stripe-ruby, only an old t is refused: a t ahead of our clock (our clock is behind Stripe's) passes.
  A retried delivery is signed afresh with a new t; the same event twice is deduplicated by event id.

Events (`parse`): the body is an Event (https://docs.stripe.com/api/events/object): id "evt_…",
object "event", type, created (Unix seconds), livemode, api_version, data.object (the resource as it
was when the event happened) and data.previous_attributes. Read, each into one ProviderEvent:
  payment_intent.amount_capturable_updated  AUTHORIZED  a PaymentIntent (amounts, latest_charge)
  payment_intent.succeeded                  SUCCEEDED
  payment_intent.payment_failed             FAILED      failure: last_payment_error "code: message"
  payment_intent.canceled                   CANCELED    failure: cancellation_reason ("automatic":
                                                        the authorisation lapsed)
  charge.refunded                           REFUNDED    a Charge: amount_refunded (the charge's
                                                        refunded total), refunds.data[] when present
                                                        (not included by default since API version
                                                        2022-11-15: docs.stripe.com/changelog/
                                                        2022-11-15/deprecates-charges-auto-expand)
  refund.created, refund.updated,           REFUNDED    a Refund in `refunds` (one entry); amount and
  refund.failed, charge.refund.updated                  amount_refunded stay None. charge.refund.updated
                                                        is sent "on selected payment methods. For
                                                        updates on all refunds, listen to
                                                        refund.updated instead" (Stripe's event list)
  charge.dispute.created                    DISPUTED    a Dispute: id, amount, reason, charge
Any other type is None (the caller acknowledges it and does nothing). order_id is metadata.order_id
of the object, when it carries one. Ids are printable ASCII of at most 255 characters, amounts
integers 0..10^14 in the currency's smallest unit, created between the years 2000 and 9998; a body
that is not JSON, not an Event, or past a bound is StripeEventUnreadable naming the field (a 4xx,
never a 500). Fields we do not read are ignored: Stripe adds fields without a new API version.

Amounts: Stripe's minor units (https://docs.stripe.com/currencies#minor-units-in-api-amounts)
follow ISO 4217 except where Stripe says otherwise: zero-decimal BIF CLP DJF GNF JPY KMF KRW MGA PYG
RWF VND VUV XAF XOF XPF (MGA is two-decimal in ISO 4217); three-decimal BHD JOD KWD OMR TND (last
digit 0); and the special cases ISK and UGX, "transitioned to a zero-decimal currency, but backwards
compatibility requires you to represent it as a two-decimal value, where the decimal amount is always
00" (5 ISK is 500). HUF and TWD are zero-decimal only for payouts; charges and refunds are two-decimal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, Strict, ValidationError

from shared.domain.bounds import Flag
from shared.domain.money import ISO_4217
from shared.errors import InvalidInput, MalformedBody, Unauthenticated
from shared.payments.provider import ProviderEvent, ProviderEventKind, RefundInfo, RefundStatus
from shared.payments.stripe import from_stripe_amount

PROVIDER = "stripe"
HEADER = "Stripe-Signature"
SCHEME = "v1"
TOLERANCE = timedelta(minutes=5)


class StripeSignatureRejected(Unauthenticated):
    """Missing or wrong signature, or a stale timestamp: answer 401 and store nothing. The reason
    never carries a secret or the signature we expected."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StripeEventUnreadable(InvalidInput):
    """The body is signed but is not a Stripe Event of the documented shape (`field` names where)."""

    code = "unreadable_webhook"


class StripeEventMalformed(MalformedBody, StripeEventUnreadable):
    """The signed body is not JSON at all (400)."""

    code = "malformed_json"


# --- verification ---------------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"[1-9][0-9]{0,10}")  # plain decimal seconds: signed as written, as "%d" of it


def verify(raw_body: bytes, signature_header: str | None, secrets: list[str], now: datetime) -> None:
    """Raise StripeSignatureRejected unless `raw_body` carries a valid, recent Stripe signature by
    one of `secrets` (the endpoint's signing secrets: two while one is rolled)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    keys = [secret for secret in secrets if secret]  # an empty key would let anyone sign
    if not keys:
        raise StripeSignatureRejected("no Stripe webhook signing secret is configured")
    timestamp, signatures = _read_header(signature_header)
    signed_payload = timestamp.encode() + b"." + raw_body
    expected = [hmac.new(key.encode(), signed_payload, hashlib.sha256).hexdigest().encode() for key in keys]
    if not any(hmac.compare_digest(mine, given) for mine in expected for given in signatures):
        raise StripeSignatureRejected(f"no {SCHEME} signature in {HEADER} matches the body")
    if now - datetime.fromtimestamp(int(timestamp), UTC) > TOLERANCE:
        raise StripeSignatureRejected(f"{HEADER} timestamp {timestamp} is more than {TOLERANCE} old (a replay?)")


def _read_header(header: str | None) -> tuple[str, list[bytes]]:
    """'t=1,v1=ab,v1=cd,v0=ef' -> ('1', [b'ab', b'cd']): Stripe's step 1, other schemes dropped."""
    if header is None or not header.strip():
        raise StripeSignatureRejected(f"missing {HEADER} header")
    timestamps: list[str] = []
    signatures: list[bytes] = []
    for element in header.split(","):
        prefix, _, value = element.strip().partition("=")
        if prefix == "t":
            timestamps.append(value.strip())
        elif prefix == SCHEME:
            signatures.append(value.strip().encode("utf-8", "replace"))
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise StripeSignatureRejected(f"{HEADER} has no readable timestamp (one t=<unix seconds>)")
    if not signatures:
        raise StripeSignatureRejected(f"{HEADER} has no {SCHEME} signature (other schemes are ignored)")
    return timestamps[0], signatures


# --- amounts --------------------------------------------------------------------------------------
# Stripe's integer amounts, with Stripe's own minor units (JPY 0, ISK 2, KWD 3): the one table is the
# adapter's (shared/payments/stripe.py), for the amounts we send and the ones Stripe reports alike.
stripe_from_minor = from_stripe_amount


# --- the documented objects (only the fields we read) ---------------------------------------------

def _iso_currency(value: str) -> str:
    if value.upper() not in ISO_4217:
        raise ValueError("must be a three-letter ISO 4217 currency code")
    return value.upper()


def _year_start(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


StripeId = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
Units = Annotated[int, Strict(), Field(ge=0, le=10**14)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(_iso_currency)]
Created = Annotated[int, Strict(), Field(ge=_year_start(2000), lt=_year_start(9999))]
def _cut(limit: int) -> BeforeValidator:
    """Free text (a decline message, a reason) is cut to `limit`, not refused: refused, the whole
    signed event would be unreadable and Stripe would retry it for days without it ever applying."""
    return BeforeValidator(lambda v: v[:limit] if isinstance(v, str) else v)


Word = Annotated[str, _cut(255), Field(max_length=255)]
Message = Annotated[str, _cut(1000), Field(max_length=1000)]


class _Metadata(BaseModel):
    order_id: StripeId | None = None
    # Ours, on the refunds the OMS makes (shared/payments/stripe.py): which refund it was, so a refund
    # the webhook reports first is matched to our record of it whatever Stripe's refund id.
    idempotency_key: Annotated[str, Field(max_length=255, pattern=r"^[\x21-\x7e]+$")] | None = None


class _Resource(BaseModel):
    id: StripeId
    metadata: _Metadata | None = None


class _PaymentError(BaseModel):
    type: Word | None = None
    code: Word | None = None
    message: Message | None = None


class _PaymentIntent(_Resource):
    object: Literal["payment_intent"]
    currency: Currency
    amount: Units
    amount_capturable: Units
    amount_received: Units
    latest_charge: StripeId | None = None
    last_payment_error: _PaymentError | None = None
    cancellation_reason: Word | None = None


class _Refund(_Resource):
    object: Literal["refund"]
    currency: Currency
    amount: Units
    status: RefundStatus | None = None  # nullable in the API reference: not (yet) succeeded
    charge: StripeId | None = None
    payment_intent: StripeId | None = None


class _RefundList(BaseModel):
    data: Annotated[list[_Refund], Field(max_length=100)]


class _Charge(_Resource):
    object: Literal["charge"]
    currency: Currency
    amount: Units
    amount_captured: Units
    amount_refunded: Units
    payment_intent: StripeId | None = None
    refunds: _RefundList | None = None


class _Dispute(_Resource):
    object: Literal["dispute"]
    currency: Currency
    amount: Units
    reason: Word
    charge: StripeId
    payment_intent: StripeId | None = None


class _EventData(BaseModel):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class _Event(BaseModel):
    id: StripeId
    object: Literal["event"]
    type: Word
    created: Created
    livemode: Flag
    api_version: Word | None = None
    data: _EventData


# --- parsing --------------------------------------------------------------------------------------

def parse(raw_body: bytes) -> ProviderEvent | None:
    """The ProviderEvent in a verified body, or None for an event type we do not act on.
    StripeEventUnreadable when the body is not a Stripe Event of the documented shape."""
    try:
        document = json.loads(raw_body)
    except (ValueError, RecursionError) as error:  # bad JSON, bad UTF-8, absurd nesting
        raise StripeEventMalformed(f"not a Stripe event: the body is not JSON ({type(error).__name__})",
                                   field="body") from None
    if not isinstance(document, dict):
        raise StripeEventUnreadable("not a Stripe event: the body is not a JSON object")
    event = _validate(_Event, document, "")
    reader = _READERS.get(event.type)
    return reader(event) if reader else None


def _validate[M: BaseModel](model: type[M], document: Any, at: str) -> M:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        detail = error.errors()[0]
        field = ".".join(filter(None, (at, *map(str, detail["loc"])))) or None
        raise StripeEventUnreadable(f"not a Stripe event: {field or 'the body'}: {detail['msg']}",
                                    field=field) from None


def _base(event: _Event, kind: ProviderEventKind, resource: _Resource, currency: str) -> dict[str, Any]:
    return {"provider": PROVIDER, "event_id": event.id, "kind": kind, "currency": currency,
            "created": datetime.fromtimestamp(event.created, UTC), "livemode": event.livemode,
            "order_id": resource.metadata.order_id if resource.metadata else None}


def _payment_intent(kind: ProviderEventKind) -> Callable[[_Event], ProviderEvent]:
    def read(event: _Event) -> ProviderEvent:
        intent = _validate(_PaymentIntent, event.data.object, "data.object")
        failure = None
        if kind is ProviderEventKind.FAILED and (error := intent.last_payment_error):
            failure = ": ".join(filter(None, (error.code, error.message))) or error.type
        elif kind is ProviderEventKind.CANCELED:
            failure = intent.cancellation_reason
        money = intent.currency
        return ProviderEvent(
            **_base(event, kind, intent, money), intent_id=intent.id, charge_id=intent.latest_charge,
            amount=stripe_from_minor(intent.amount, money),
            amount_capturable=stripe_from_minor(intent.amount_capturable, money),
            amount_received=stripe_from_minor(intent.amount_received, money), failure=failure)
    return read


def _refund_info(refund: _Refund) -> RefundInfo:
    return RefundInfo(refund.id, stripe_from_minor(refund.amount, refund.currency),
                      refund.status or RefundStatus.PENDING,
                      refund.metadata.idempotency_key if refund.metadata else None)


def _charge_refunded(event: _Event) -> ProviderEvent:
    charge = _validate(_Charge, event.data.object, "data.object")
    refunds = charge.refunds.data if charge.refunds else []
    for index, refund in enumerate(refunds):
        if refund.currency != charge.currency:
            field = f"data.object.refunds.data.{index}.currency"
            raise StripeEventUnreadable(f"not a Stripe event: {field}: differs from the charge's currency",
                                        field=field)
    money = charge.currency
    return ProviderEvent(
        **_base(event, ProviderEventKind.REFUNDED, charge, money), intent_id=charge.payment_intent,
        charge_id=charge.id, amount=stripe_from_minor(charge.amount, money),
        amount_received=stripe_from_minor(charge.amount_captured, money),
        amount_refunded=stripe_from_minor(charge.amount_refunded, money),
        refunds=tuple(map(_refund_info, refunds)))


def _refund(event: _Event) -> ProviderEvent:
    refund = _validate(_Refund, event.data.object, "data.object")
    return ProviderEvent(
        **_base(event, ProviderEventKind.REFUNDED, refund, refund.currency), intent_id=refund.payment_intent,
        charge_id=refund.charge, refunds=(_refund_info(refund),))


def _dispute(event: _Event) -> ProviderEvent:
    dispute = _validate(_Dispute, event.data.object, "data.object")
    return ProviderEvent(
        **_base(event, ProviderEventKind.DISPUTED, dispute, dispute.currency), intent_id=dispute.payment_intent,
        charge_id=dispute.charge, amount=stripe_from_minor(dispute.amount, dispute.currency),
        dispute_id=dispute.id, dispute_reason=dispute.reason)


_READERS: dict[str, Callable[[_Event], ProviderEvent]] = {
    "payment_intent.amount_capturable_updated": _payment_intent(ProviderEventKind.AUTHORIZED),
    "payment_intent.succeeded": _payment_intent(ProviderEventKind.SUCCEEDED),
    "payment_intent.payment_failed": _payment_intent(ProviderEventKind.FAILED),
    "payment_intent.canceled": _payment_intent(ProviderEventKind.CANCELED),
    "charge.refunded": _charge_refunded,
    "refund.created": _refund,
    "refund.updated": _refund,
    "refund.failed": _refund,
    "charge.refund.updated": _refund,
    "charge.dispute.created": _dispute,
}
