"""Stripe webhooks: signatures computed the way Stripe documents them, payloads shaped like Stripe's
Event objects (payment_payloads/stripe_event_*.json: full objects as API version 2026-06-24.dahlia
renders them, values ours; stripe_event_charge_refunded_2020_08_27.json as a pre-2022-11-15 version
renders a Charge, its refunds listed).

Sources
  signature  https://docs.stripe.com/webhooks#verify-manually, #replay-attacks, #roll-endpoint-secrets;
             WebhookSignature in github.com/stripe/stripe-python stripe/_webhook.py
  objects    https://docs.stripe.com/api/events/object, /api/payment_intents/object, /api/charges/object,
             /api/refunds/object, /api/disputes/object; github.com/stripe/openapi openapi/fixtures3.json
  amounts    https://docs.stripe.com/currencies (zero-decimal, three-decimal, special cases)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidInput, Unauthenticated
from shared.payments.provider import ProviderEvent, ProviderEventKind, RefundInfo, RefundStatus
from shared.payments.stripe_webhooks import (
    TOLERANCE,
    StripeEventUnreadable,
    StripeSignatureRejected,
    parse,
    stripe_from_minor,
    verify,
)
from tests.signers import stripe_v1

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).parent / "payment_payloads"
SECRET = "whsec_4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee"
OLD_SECRET = "whsec_0ld5ecret0ld5ecret0ld5ecret0ld5ecret0ld5ecret0ld5ecret0ld5ecret"
NOW = datetime(2026, 11, 26, 21, 20, tzinfo=UTC)

PI = "pi_3QyZ4uB7WZ01zgkW1Hc8Lr2d"
CH = "ch_3QyZ4uB7WZ01zgkW1Hm0Xk4n"
ORDER = "o019ac1a5f2e07c4b9d1e3a6f"


def raw(name: str) -> bytes:
    return (PAYLOADS / f"stripe_event_{name}.json").read_bytes()


def doc(name: str) -> dict:
    return json.loads(raw(name))


def encode(document: dict) -> bytes:
    return json.dumps(document, indent=2).encode()


def signature(body: bytes, secret: str = SECRET, at: datetime = NOW) -> str:
    """One v1 value, computed as Stripe's docs say (tests/signers.py)."""
    return stripe_v1(body, secret, at)


def header(body: bytes, secret: str = SECRET, at: datetime = NOW) -> str:
    return f"t={int(at.timestamp())},v1={signature(body, secret, at)}"


# --- signatures -----------------------------------------------------------------------------------

def test_a_valid_signature_on_the_raw_body_passes():
    body = raw("payment_intent_succeeded")
    verify(body, header(body), [SECRET], NOW)


def test_a_test_mode_header_with_the_fake_v0_scheme_passes_on_its_v1():
    body = raw("payment_intent_succeeded")
    fake_v0 = signature(body, "not-a-secret")  # Stripe adds v0 to test events; it means nothing
    verify(body, f"{header(body)},v0={fake_v0}", [SECRET], NOW)


def test_verify_reads_nothing_but_bytes():
    verify(b"\xff not even JSON", header(b"\xff not even JSON"), [SECRET], NOW)


def test_a_wrong_secret_is_rejected():
    body = raw("payment_intent_succeeded")
    with pytest.raises(StripeSignatureRejected, match="matches the body"):
        verify(body, header(body, secret="whsec_someone_else"), [SECRET], NOW)


def test_a_body_changed_by_one_byte_is_rejected():
    body = raw("payment_intent_succeeded")
    changed = body.replace(b'"amount": 12340', b'"amount": 12341', 1)
    assert changed != body and len(changed) == len(body)
    with pytest.raises(StripeSignatureRejected, match="matches the body"):
        verify(changed, header(body), [SECRET], NOW)


def test_a_body_re_serialised_after_signing_is_rejected():
    # the signature covers the bytes on the wire, not the JSON they mean
    body = raw("refund_updated")
    with pytest.raises(StripeSignatureRejected):
        verify(json.dumps(json.loads(body)).encode(), header(body), [SECRET], NOW)


@pytest.mark.parametrize(("age", "fresh"), [
    (timedelta(0), True),
    (timedelta(minutes=4, seconds=59), True),
    (TOLERANCE, True),                          # stripe-python refuses only t < now - tolerance
    (timedelta(minutes=5, seconds=1), False),   # expired
    (timedelta(days=3), False),                 # the last of Stripe's retries, replayed
    (-timedelta(minutes=10), True),             # ahead of our clock: Stripe's libraries let it pass
])
def test_a_timestamp_older_than_five_minutes_is_refused(age, fresh):
    body = raw("payment_intent_succeeded")
    signed = header(body, at=NOW - age)
    if fresh:
        verify(body, signed, [SECRET], NOW)
    else:
        with pytest.raises(StripeSignatureRejected, match="old"):
            verify(body, signed, [SECRET], NOW)


def test_a_replayed_body_cannot_refresh_its_timestamp():
    body = raw("charge_refunded")
    captured = header(body, at=NOW - timedelta(hours=1))  # a valid delivery, an hour ago
    with pytest.raises(StripeSignatureRejected, match="old"):
        verify(body, captured, [SECRET], NOW)
    v1 = captured.split(",v1=")[1]
    with pytest.raises(StripeSignatureRejected, match="matches the body"):
        verify(body, f"t={int(NOW.timestamp())},v1={v1}", [SECRET], NOW)


def test_while_a_secret_is_rolled_either_secret_verifies():
    body = raw("payment_intent_amount_capturable_updated")
    t = int(NOW.timestamp())
    both = f"t={t},v1={signature(body, SECRET)},v1={signature(body, OLD_SECRET)}"  # one per active secret
    verify(body, both, [SECRET], NOW)                    # we already moved to the new secret
    verify(body, both, [OLD_SECRET], NOW)                # we have not yet
    verify(body, header(body, SECRET), [OLD_SECRET, SECRET], NOW)      # we hold both
    verify(body, header(body, OLD_SECRET), [OLD_SECRET, SECRET], NOW)
    with pytest.raises(StripeSignatureRejected, match="matches the body"):
        verify(body, header(body, "whsec_third"), [OLD_SECRET, SECRET], NOW)


def test_one_wrong_v1_among_several_does_not_matter_if_another_matches():
    body = raw("payment_intent_amount_capturable_updated")
    t = int(NOW.timestamp())
    verify(body, f"t={t},v1={'0' * 64},v1={signature(body)}", [SECRET], NOW)
    verify(body, f"t={t},v1={signature(body)},v1=zz", [SECRET], NOW)


GARBAGE = [
    (None, "missing"),
    ("", "missing"),
    ("   ", "missing"),
    ("garbage", "timestamp"),
    ("t=abc,v1=zz", "timestamp"),
    ("v1=" + "a" * 64, "timestamp"),                            # no t
    (f"t={int(NOW.timestamp())}", "no v1"),                     # no v1
    (f"t={int(NOW.timestamp())},v0={'a' * 64}", "no v1"),       # only the fake test scheme
    (f"t={int(NOW.timestamp())},V1={'a' * 64}", "no v1"),       # schemes are case-sensitive
    (f"t=,v1={'a' * 64}", "timestamp"),
    (f"t=+{int(NOW.timestamp())},v1={'a' * 64}", "timestamp"),  # int() would read these; Stripe never sends them
    (f"t=1_795_728_000,v1={'a' * 64}", "timestamp"),
    (f"t=\u0661\u0662\u0663,v1={'a' * 64}", "timestamp"),       # Arabic-Indic digits
    (f"t=0{int(NOW.timestamp())},v1={'a' * 64}", "timestamp"),
    (f"t=-1,v1={'a' * 64}", "timestamp"),
    (f"t=1e9,v1={'a' * 64}", "timestamp"),
    (f"t=99999999999999999999,v1={'a' * 64}", "timestamp"),
    (f"t={int(NOW.timestamp())},t={int(NOW.timestamp())},v1={'a' * 64}", "timestamp"),  # which t?
    (",,,=,==", "timestamp"),
]


@pytest.mark.parametrize(("value", "reason"), GARBAGE)
def test_garbage_headers_are_rejected(value, reason):
    with pytest.raises(StripeSignatureRejected, match=reason):
        verify(b"{}", value, [SECRET], NOW)


def test_a_header_that_would_verify_except_for_its_garbage_t_is_rejected():
    body = raw("payment_intent_succeeded")
    t = int(NOW.timestamp())
    with pytest.raises(StripeSignatureRejected, match="timestamp"):
        verify(body, f"t={t}x,v1={signature(body)}", [SECRET], NOW)


def test_spaces_around_elements_are_tolerated():
    body = raw("payment_intent_succeeded")
    verify(body, f" t={int(NOW.timestamp())} , v1={signature(body)} ", [SECRET], NOW)


@pytest.mark.parametrize("secrets", [[], [""]])
def test_without_a_configured_secret_everything_is_rejected(secrets):
    body = raw("payment_intent_succeeded")
    with pytest.raises(StripeSignatureRejected, match="no Stripe webhook signing secret"):
        verify(body, header(body, secret=""), secrets, NOW)


def test_an_empty_secret_beside_a_real_one_signs_nothing():
    body = raw("payment_intent_succeeded")
    with pytest.raises(StripeSignatureRejected, match="matches the body"):
        verify(body, header(body, secret=""), ["", SECRET], NOW)


def test_a_naive_now_is_a_programming_error():
    body = raw("payment_intent_succeeded")
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(body, header(body), [SECRET], NOW.replace(tzinfo=None))


def test_no_rejection_reveals_a_secret_or_the_expected_signature():
    body = raw("payment_intent_succeeded")
    expected = {signature(body, SECRET), signature(body, OLD_SECRET)}
    attempts = [header(body, "whsec_other"), header(body, at=NOW - timedelta(hours=1)),
                *(value for value, _ in GARBAGE)]
    for attempt in attempts:
        with pytest.raises(StripeSignatureRejected) as rejected:
            verify(body, attempt, [OLD_SECRET, SECRET], NOW)
        reason = rejected.value.reason
        assert reason == str(rejected.value) and reason
        assert SECRET not in reason and OLD_SECRET not in reason
        assert not any(mac in reason for mac in expected)


def test_rejected_is_unauthenticated_and_unreadable_is_invalid_input():
    assert issubclass(StripeSignatureRejected, Unauthenticated)
    assert issubclass(StripeEventUnreadable, InvalidInput)


SIGNED_AT = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2200, 1, 1),
                         timezones=st.just(UTC)).map(lambda moment: moment.replace(microsecond=0))


@given(body=st.binary(max_size=2048), signed_at=SIGNED_AT,
       delay=st.integers(min_value=-3600, max_value=int(TOLERANCE.total_seconds() * 1000)).map(
           lambda ms: timedelta(milliseconds=ms)),
       data=st.data())
def test_any_signed_body_verifies_within_tolerance_and_no_single_byte_change_does(body, signed_at, delay, data):
    signed = header(body, at=signed_at)
    verify(body, signed, [SECRET], signed_at + delay)
    if body:
        index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
        flip = data.draw(st.integers(min_value=1, max_value=255))
        changed = body[:index] + bytes([body[index] ^ flip]) + body[index + 1:]
        with pytest.raises(StripeSignatureRejected):
            verify(changed, signed, [SECRET], signed_at + delay)


@given(body=st.binary(max_size=256), signed_at=SIGNED_AT,
       late=st.integers(min_value=1, max_value=10**9).map(lambda ms: timedelta(milliseconds=ms)))
def test_any_signed_body_past_the_tolerance_is_refused(body, signed_at, late):
    with pytest.raises(StripeSignatureRejected, match="old"):
        verify(body, header(body, at=signed_at), [SECRET], signed_at + TOLERANCE + late)


# --- events, as the fixtures carry them ------------------------------------------------------------

def created(name: str) -> datetime:
    return datetime.fromtimestamp(doc(name)["created"], UTC)


def test_amount_capturable_updated_is_an_authorisation():
    assert parse(raw("payment_intent_amount_capturable_updated")) == ProviderEvent(
        provider="stripe", event_id="evt_3QyZ4uB7WZ01zgkW1Hc8Lr2d0aTq9WnE", kind=ProviderEventKind.AUTHORIZED,
        created=datetime(2026, 11, 24, 21, 20, 3, tzinfo=UTC), currency="EUR", intent_id=PI,
        order_id=ORDER, charge_id=CH, amount=Decimal("123.40"), amount_capturable=Decimal("123.40"),
        amount_received=Decimal("0.00"), livemode=False)


def test_succeeded_in_yen_has_no_decimal_places():
    assert parse(raw("payment_intent_succeeded")) == ProviderEvent(
        provider="stripe", event_id="evt_3QyZ4uB7WZ01zgkW1Hc8Lr2d1yKp3ZsB", kind=ProviderEventKind.SUCCEEDED,
        created=datetime(2026, 11, 26, 21, 19, 30, tzinfo=UTC), currency="JPY", intent_id=PI,
        order_id=ORDER, charge_id=CH, amount=Decimal("12340"), amount_capturable=Decimal("0"),
        amount_received=Decimal("12340"))


def test_payment_failed_in_dinar_carries_the_last_payment_error():
    assert parse(raw("payment_intent_payment_failed")) == ProviderEvent(
        provider="stripe", event_id="evt_3QyZ4uB7WZ01zgkW1Hc8Lr2d2mGv8HtC", kind=ProviderEventKind.FAILED,
        created=datetime(2026, 11, 26, 21, 19, tzinfo=UTC), currency="KWD", intent_id=PI, order_id=ORDER,
        charge_id=CH, amount=Decimal("12.340"), amount_capturable=Decimal("0.000"),
        amount_received=Decimal("0.000"), failure="card_declined: Your card was declined.")


def test_canceled_carries_the_cancellation_reason():
    event = parse(raw("payment_intent_canceled"))
    assert event is not None and event.kind is ProviderEventKind.CANCELED
    assert (event.failure, event.amount, event.amount_capturable) == ("automatic", Decimal("123.40"), Decimal("0.00"))


def test_charge_refunded_as_current_api_versions_send_it_lists_no_refunds():
    assert parse(raw("charge_refunded")) == ProviderEvent(
        provider="stripe", event_id="evt_3QyZ4uB7WZ01zgkW1Hm0Xk4n0cRw7YjA", kind=ProviderEventKind.REFUNDED,
        created=datetime(2026, 11, 26, 21, 19, 15, tzinfo=UTC), currency="EUR", intent_id=PI, order_id=ORDER,
        charge_id=CH, amount=Decimal("123.40"), amount_received=Decimal("123.40"),
        amount_refunded=Decimal("45.00"))


def test_charge_refunded_with_its_refunds_listed_reads_each_refund():
    event = parse(raw("charge_refunded_2020_08_27"))
    assert event is not None and event.amount_refunded == Decimal("57.00")
    assert event.refunds == (
        RefundInfo("re_3QyZ4uB7WZ01zgkW1Lq2Ws8p", Decimal("12.00"), RefundStatus.PENDING),
        RefundInfo("re_3QyZ4uB7WZ01zgkW1Ka9Vb3m", Decimal("45.00"), RefundStatus.SUCCEEDED),
    )


def test_refund_created_and_updated_carry_the_one_refund():
    created_event, updated = parse(raw("refund_created")), parse(raw("refund_updated"))
    assert updated == ProviderEvent(
        provider="stripe", event_id="evt_3QyZ4uB7WZ01zgkW1Lq2Ws8p1vJm7QsK", kind=ProviderEventKind.REFUNDED,
        created=datetime(2026, 11, 26, 21, 19, 40, tzinfo=UTC), currency="EUR", intent_id=PI, order_id=ORDER,
        charge_id=CH, refunds=(RefundInfo("re_3QyZ4uB7WZ01zgkW1Lq2Ws8p", Decimal("12.00"), RefundStatus.SUCCEEDED),))
    assert created_event is not None and created_event.refunds[0].status is RefundStatus.PENDING


@pytest.mark.parametrize("event_type", ["refund.failed", "charge.refund.updated"])
def test_the_other_refund_events_read_the_same_refund_object(event_type):
    refund = doc("refund_updated")
    refund["type"], refund["data"]["object"]["status"] = event_type, "failed"
    event = parse(encode(refund))
    assert event is not None and event.kind is ProviderEventKind.REFUNDED
    assert event.refunds == (RefundInfo("re_3QyZ4uB7WZ01zgkW1Lq2Ws8p", Decimal("12.00"), RefundStatus.FAILED),)


@pytest.mark.parametrize("status", list(RefundStatus))
def test_every_documented_refund_status_is_read(status):
    refund = doc("refund_updated")
    refund["data"]["object"]["status"] = status.value
    assert parse(encode(refund)).refunds[0].status is status  # type: ignore[union-attr]


def test_a_refund_without_a_status_is_pending():
    refund = doc("refund_updated")
    refund["data"]["object"]["status"] = None  # nullable in Stripe's API reference
    assert parse(encode(refund)).refunds[0].status is RefundStatus.PENDING  # type: ignore[union-attr]


def test_dispute_created_names_the_dispute_and_its_reason():
    assert parse(raw("charge_dispute_created")) == ProviderEvent(
        provider="stripe", event_id="evt_1QzA2bB7WZ01zgkW7Rt4Yu9i", kind=ProviderEventKind.DISPUTED,
        created=datetime(2026, 11, 26, 21, 19, 50, tzinfo=UTC), currency="EUR", intent_id=PI, charge_id=CH,
        amount=Decimal("123.40"), dispute_id="dp_1QzA2bB7WZ01zgkW0Dk3Lm6n", dispute_reason="fraudulent")


HANDLED = ["payment_intent_amount_capturable_updated", "payment_intent_succeeded", "payment_intent_payment_failed",
           "payment_intent_canceled", "charge_refunded", "charge_refunded_2020_08_27", "refund_created",
           "refund_updated", "charge_dispute_created"]
UNITS = {"eur": Decimal("123.40"), "jpy": Decimal("12340"), "kwd": Decimal("12.340")}  # of Stripe's 12340


@pytest.mark.parametrize("name", HANDLED)
@pytest.mark.parametrize("currency", list(UNITS))
def test_each_event_reads_its_amounts_in_eur_jpy_and_kwd(name, currency):
    document = doc(name)
    resource = document["data"]["object"]
    resource["currency"] = currency
    for refund in resource.get("refunds", {}).get("data", []):
        refund["currency"] = currency
    resource["amount"] = 12340
    event = parse(encode(document))
    assert event is not None and event.currency == currency.upper()
    amount = event.refunds[0].amount if event.refunds and event.amount is None else event.amount
    assert amount == UNITS[currency] and str(amount) == str(UNITS[currency])


@pytest.mark.parametrize("name", HANDLED)
def test_every_time_is_utc_and_every_event_names_its_order(name):
    event = parse(raw(name))
    assert event is not None and event.created == created(name) and event.created.tzinfo is UTC
    assert event.order_id == (None if name == "charge_dispute_created" else ORDER)
    assert event.provider == "stripe" and event.livemode is False


def test_livemode_is_passed_on():
    live = doc("payment_intent_succeeded")
    live["livemode"] = True
    assert parse(encode(live)).livemode is True  # type: ignore[union-attr]


def test_an_object_without_metadata_has_no_order():
    refund = doc("refund_updated")
    refund["data"]["object"]["metadata"] = None
    assert parse(encode(refund)).order_id is None  # type: ignore[union-attr]


@pytest.mark.parametrize("event_type", ["payment_intent.created", "payment_intent.processing", "charge.succeeded",
                                        "charge.captured", "charge.dispute.closed", "customer.created",
                                        "invoice.paid", "v1.billing.meter.error_report_triggered"])
def test_other_event_types_are_acknowledged_and_ignored(event_type):
    other = doc("payment_intent_created")
    other["type"] = event_type
    assert parse(encode(other)) is None
    assert parse(raw("payment_intent_created")) is None


def test_an_ignored_type_is_not_read_past_its_envelope():
    other = doc("payment_intent_created")
    other["type"], other["data"]["object"] = "customer.created", {"object": "customer", "id": "cus_" + "x" * 900}
    assert parse(encode(other)) is None


# --- unreadable bodies ----------------------------------------------------------------------------

def unreadable(document: dict | bytes) -> StripeEventUnreadable:
    with pytest.raises(StripeEventUnreadable) as error:
        parse(document if isinstance(document, bytes) else encode(document))
    return error.value


@pytest.mark.parametrize("body", [b"", b"not json", b"{\"id\": ", b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000])
def test_a_body_that_is_not_json_is_unreadable(body):
    assert "not JSON" in unreadable(body).message


@pytest.mark.parametrize("body", [b"[]", b"\"event\"", b"42", b"null"])
def test_a_body_that_is_not_an_object_is_unreadable(body):
    error = unreadable(body)
    assert error.field is None and "the body" in error.message


def mutated(name: str, path: str, value: object) -> dict:
    document = doc(name)
    *parents, leaf = path.split(".")
    target = document
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is KeyError:
        del target[leaf]
    else:
        target[leaf] = value
    return document


BROKEN = [  # (fixture, field, value): each makes the signed body unreadable, naming the field
    ("payment_intent_succeeded", "object", "v2.core.event"),                  # a thin event is not an Event
    ("payment_intent_succeeded", "id", KeyError),
    ("payment_intent_succeeded", "id", "evt_" + "x" * 252),
    ("payment_intent_succeeded", "id", "evt 1"),
    ("payment_intent_succeeded", "type", KeyError),
    ("payment_intent_succeeded", "created", "1795728000"),
    ("payment_intent_succeeded", "created", 1795728000.5),
    ("payment_intent_succeeded", "created", 946684799),                       # 1999-12-31T23:59:59Z
    ("payment_intent_succeeded", "created", 253402300800),                    # year 9999
    ("payment_intent_succeeded", "livemode", "false"),
    ("payment_intent_succeeded", "data", KeyError),
    ("payment_intent_succeeded", "data.object", [1, 2]),
    ("payment_intent_succeeded", "data.object.object", "charge"),
    ("payment_intent_succeeded", "data.object.amount", -1),
    ("payment_intent_succeeded", "data.object.amount", 12.5),
    ("payment_intent_succeeded", "data.object.amount", True),
    ("payment_intent_succeeded", "data.object.amount", "12340"),
    ("payment_intent_succeeded", "data.object.amount_received", 10**14 + 1),
    ("payment_intent_succeeded", "data.object.amount_capturable", KeyError),
    ("payment_intent_succeeded", "data.object.currency", "xyz"),
    ("payment_intent_succeeded", "data.object.currency", "euro"),
    ("payment_intent_succeeded", "data.object.currency", 978),
    ("payment_intent_succeeded", "data.object.id", "pi_" + "x" * 253),
    ("payment_intent_succeeded", "data.object.latest_charge", {"id": CH}),
    ("payment_intent_succeeded", "data.object.metadata", ["order_id"]),
    ("payment_intent_succeeded", "data.object.metadata.order_id", "o" * 256),
    ("payment_intent_succeeded", "data.object.metadata.order_id", 42),
    ("charge_refunded", "data.object.amount_refunded", KeyError),
    ("charge_refunded_2020_08_27", "data.object.refunds.data.0.status", "reversed"),
    ("charge_refunded_2020_08_27", "data.object.refunds.data.1.currency", "usd"),
    ("refund_updated", "data.object.amount", None),
    ("charge_dispute_created", "data.object.charge", None),
]


def test_long_free_text_is_cut_not_refused():
    # Refused, the signed event would never apply while Stripe retried it for days.
    failed = doc("payment_intent_payment_failed")
    failed["data"]["object"]["last_payment_error"]["message"] = "declined " * 200
    assert len(parse(encode(failed)).failure) <= 1300
    disputed = doc("charge_dispute_created")
    disputed["data"]["object"]["reason"] = "r" * 400
    assert parse(encode(disputed)).dispute_reason == "r" * 255


@pytest.mark.parametrize(("name", "path", "value"), BROKEN)
def test_a_signed_body_past_a_documented_shape_or_bound_is_unreadable_naming_the_field(name, path, value):
    error = unreadable(mutated(name, path, value))
    assert error.field is not None and error.field.startswith(path)
    assert error.field in error.message and error.code == "unreadable_webhook"


def test_a_refund_list_too_long_to_be_one_charges_is_unreadable():
    charge = doc("charge_refunded_2020_08_27")
    charge["data"]["object"]["refunds"]["data"] *= 51
    assert unreadable(charge).field == "data.object.refunds.data"


# --- amounts --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("units", "currency", "amount"), [
    (1999, "EUR", "19.99"),
    (0, "USD", "0.00"),
    (500, "JPY", "500"),
    (12340, "KWD", "12.340"),
    (1230, "BHD", "1.230"),
    (500, "ISK", "5"),          # Stripe: two-decimal, always ...00 (ISO 4217: zero-decimal)
    (1050, "ISK", "10.50"),     # not chargeable at Stripe; read exactly rather than rounded
    (500, "UGX", "5"),          # the same special case
    (500, "MGA", "500.00"),     # Stripe: zero-decimal (ISO 4217: two)
    (1045, "HUF", "10.45"),     # zero-decimal only for Stripe payouts
    (80045, "TWD", "800.45"),
    (99999999, "EUR", "999999.99"),
])
def test_stripe_amounts_follow_stripes_minor_units(units, currency, amount):
    assert str(stripe_from_minor(units, currency)) == amount
