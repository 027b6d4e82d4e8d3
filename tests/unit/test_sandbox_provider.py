"""The sandbox payment provider: Stripe's behaviour in memory (manual capture, several partial
captures, void, refunds, idempotency) and its documented test amounts (…02 declined, …03 down once)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.payments import credentials
from shared.payments.provider import (
    IdempotencyKeyReused,
    IntentStatus,
    PaymentDeclined,
    PaymentProvider,
    ProviderUnavailable,
    RefundStatus,
)
from shared.payments.sandbox import SandboxProvider

pytestmark = pytest.mark.unit

D = Decimal
S = IntentStatus


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider(state={})


def authorised(sandbox: SandboxProvider, amount: str = "100.00", currency: str = "EUR", order: str = "ord_1"):
    return sandbox.authorize(D(amount), currency, "pm_card_visa", order, f"auth-{order}")


def test_the_sandbox_keeps_the_protocol(sandbox):
    provider: PaymentProvider = sandbox
    assert provider.name == "sandbox"


def test_authorize_makes_a_deterministic_manual_capture_intent(sandbox):
    payment = authorised(sandbox)

    assert payment.intent_id.startswith("pi_sandbox_") and len(payment.intent_id) == len("pi_sandbox_") + 24
    assert payment.status is S.REQUIRES_CAPTURE
    assert (payment.amount, payment.amount_capturable, payment.amount_received) == (D("100.00"), D("100.00"), 0)
    assert payment.charge_id and payment.charge_id.startswith("ch_sandbox_")
    # Another process (a fresh state) asked with the same key names the same intent.
    assert authorised(SandboxProvider(state={})).intent_id == payment.intent_id
    assert authorised(sandbox, order="ord_2").intent_id != payment.intent_id


def test_partial_captures_across_two_calls_sum_up(sandbox):
    intent = authorised(sandbox).intent_id

    first = sandbox.capture(intent, D("30.00"), "EUR", "capture-ord_1-shp_1", final=False)
    second = sandbox.capture(intent, D("45.50"), "EUR", "capture-ord_1-shp_2", final=False)

    assert (first.amount_received, first.amount_capturable) == (D("30.00"), D("70.00"))
    assert (second.amount_received, second.amount_capturable, second.status) == (
        D("75.50"), D("24.50"), S.REQUIRES_CAPTURE)
    assert sandbox.retrieve(intent) == second


def test_a_retried_capture_with_the_same_key_does_not_capture_twice(sandbox):
    intent = authorised(sandbox).intent_id

    first = sandbox.capture(intent, D("30.00"), "EUR", "capture-ord_1-shp_1", final=False)
    again = sandbox.capture(intent, D("30.00"), "EUR", "capture-ord_1-shp_1", final=False)
    also = sandbox.capture(intent, D("30.0"), "EUR", "capture-ord_1-shp_1", final=False)  # the same amount

    assert again == first == also
    assert sandbox.retrieve(intent).amount_received == D("30.00")


def test_the_same_key_with_other_parameters_is_refused(sandbox):
    intent = authorised(sandbox).intent_id
    sandbox.capture(intent, D("30.00"), "EUR", "capture-ord_1-shp_1", final=False)

    # A bug in the caller, never a decline to record: IdempotencyKeyReused, not PaymentDeclined.
    with pytest.raises(IdempotencyKeyReused, match="idempotency_key_reused"):
        sandbox.capture(intent, D("31.00"), "EUR", "capture-ord_1-shp_1", final=False)
    with pytest.raises(IdempotencyKeyReused, match="idempotency_key_reused"):
        sandbox.refund(intent, D("30.00"), "EUR", "capture-ord_1-shp_1")  # another endpoint
    assert sandbox.retrieve(intent).amount_received == D("30.00")


def test_a_capture_above_what_is_capturable_is_refused(sandbox):
    intent = authorised(sandbox).intent_id
    sandbox.capture(intent, D("60.00"), "EUR", "capture-1", final=False)

    with pytest.raises(PaymentDeclined) as raised:
        sandbox.capture(intent, D("40.01"), "EUR", "capture-2", final=False)

    assert raised.value.code == "amount_too_large"
    assert sandbox.retrieve(intent).amount_capturable == D("40.00")
    # The refusal is saved under its key, as Stripe saves a 400: the same request answers the same.
    with pytest.raises(PaymentDeclined):
        sandbox.capture(intent, D("40.01"), "EUR", "capture-2", final=False)
    assert sandbox.capture(intent, D("40.00"), "EUR", "capture-3", final=False).status is S.SUCCEEDED


def test_a_final_capture_releases_the_rest(sandbox):
    intent = authorised(sandbox).intent_id

    payment = sandbox.capture(intent, D("25.00"), "EUR", "capture-1", final=True)

    assert (payment.status, payment.amount_received, payment.amount_capturable) == (S.SUCCEEDED, D("25.00"), 0)
    with pytest.raises(PaymentDeclined) as raised:
        sandbox.capture(intent, D("1.00"), "EUR", "capture-2", final=True)
    assert raised.value.code == "payment_intent_unexpected_state"


def test_void_cancels_an_untouched_authorisation(sandbox):
    intent = authorised(sandbox).intent_id

    payment = sandbox.void(intent, "void-ord_1")

    assert (payment.status, payment.amount_capturable, payment.amount_received) == (S.CANCELED, 0, 0)
    assert sandbox.void(intent, "void-ord_1") == payment
    assert sandbox.void(intent, "void-ord_1-again").status is S.CANCELED  # nothing left: moves nothing
    with pytest.raises(PaymentDeclined) as raised:
        sandbox.capture(intent, D("1.00"), "EUR", "capture-1", final=True)
    assert raised.value.code == "payment_intent_unexpected_state"


def test_void_after_a_partial_capture_releases_the_rest_and_keeps_the_capture(sandbox):
    intent = authorised(sandbox).intent_id
    sandbox.capture(intent, D("40.00"), "EUR", "capture-1", final=False)

    payment = sandbox.void(intent, "void-ord_1")

    assert (payment.status, payment.amount_received, payment.amount_capturable) == (S.SUCCEEDED, D("40.00"), 0)


def test_refunds_up_to_what_was_captured(sandbox):
    intent = authorised(sandbox).intent_id
    sandbox.capture(intent, D("40.00"), "EUR", "capture-1", final=True)

    first = sandbox.refund(intent, D("15.00"), "EUR", "refund-ord_1-rma_1", reason="requested_by_customer")
    again = sandbox.refund(intent, D("15.00"), "EUR", "refund-ord_1-rma_1", reason="requested_by_customer")
    second = sandbox.refund(intent, D("25.00"), "EUR", "refund-ord_1-rma_2")

    assert again == first
    assert first.refund_id.startswith("re_sandbox_") and first.refund_id != second.refund_id
    assert (first.intent_id, first.currency, first.amount, first.status) == (
        intent, "EUR", D("15.00"), RefundStatus.SUCCEEDED)
    assert first.charge_id == sandbox.retrieve(intent).charge_id
    with pytest.raises(PaymentDeclined) as raised:
        sandbox.refund(intent, D("0.01"), "EUR", "refund-ord_1-rma_3")
    assert raised.value.code == "amount_too_large"


def test_a_refund_above_what_was_captured_is_refused(sandbox):
    intent = authorised(sandbox).intent_id
    sandbox.capture(intent, D("10.00"), "EUR", "capture-1", final=False)  # 90 still only authorised

    with pytest.raises(PaymentDeclined) as raised:
        sandbox.refund(intent, D("10.01"), "EUR", "refund-1")

    assert raised.value.code == "amount_too_large"
    assert sandbox.refund(intent, D("10.00"), "EUR", "refund-2").amount == D("10.00")


def test_an_amount_ending_in_02_is_declined_like_stripes_test_card(sandbox):
    with pytest.raises(PaymentDeclined) as raised:
        sandbox.authorize(D("10.02"), "EUR", "pm_card_visa", "ord_1", "auth-ord_1")
    assert raised.value.code == "card_declined"
    # The decline is the key's saved answer, and the intent is there to be read.
    with pytest.raises(PaymentDeclined):
        sandbox.authorize(D("10.02"), "EUR", "pm_card_visa", "ord_1", "auth-ord_1")
    with pytest.raises(PaymentDeclined):
        sandbox.authorize(D("102"), "JPY", "pm_card_visa", "ord_2", "auth-ord_2")


def test_the_declined_intent_can_be_read(sandbox):
    with pytest.raises(PaymentDeclined):
        sandbox.authorize(D("10.02"), "EUR", "pm_card_visa", "ord_1", "auth-ord_1")
    intent_id = authorised(SandboxProvider(state={})).intent_id  # the same key names the same id
    payment = sandbox.retrieve(intent_id)
    assert (payment.status, payment.failure) == (S.REQUIRES_PAYMENT_METHOD, "Your card was declined.")


@pytest.mark.parametrize("step", ["authorize", "capture", "refund"])
def test_an_amount_ending_in_03_is_unavailable_once_then_goes_through(sandbox, step):
    intent = authorised(sandbox).intent_id
    sandbox.capture(intent, D("50.00"), "EUR", "capture-0", final=False)
    calls = {
        "authorize": lambda: sandbox.authorize(D("10.03"), "EUR", "pm_card_visa", "ord_9", "auth-ord_9"),
        "capture": lambda: sandbox.capture(intent, D("10.03"), "EUR", "capture-9", final=False),
        "refund": lambda: sandbox.refund(intent, D("10.03"), "EUR", "refund-9"),
    }

    with pytest.raises(ProviderUnavailable):
        calls[step]()
    first = calls[step]()
    assert calls[step]() == first  # and from then on the saved result

    if step == "capture":
        assert sandbox.retrieve(intent).amount_received == D("60.03")


def test_retrieve_and_capture_of_an_unknown_intent(sandbox):
    with pytest.raises(PaymentDeclined) as raised:
        sandbox.retrieve("pi_nope")
    assert raised.value.code == "resource_missing"
    with pytest.raises(PaymentDeclined):
        sandbox.capture("pi_nope", D("1"), "EUR", "capture-1", final=True)


def test_caller_bugs_are_value_errors(sandbox):
    intent = authorised(sandbox).intent_id
    with pytest.raises(ValueError):
        sandbox.capture(intent, D("1.00"), "USD", "capture-1", final=True)   # not the intent's currency
    with pytest.raises(ValueError):
        sandbox.authorize(D("1.001"), "EUR", "pm_card_visa", "ord_2", "auth-2")  # finer than a cent
    with pytest.raises(ValueError):
        sandbox.void(intent, "")
    assert sandbox.retrieve(intent).amount_received == 0


def test_zero_decimal_and_three_decimal_currencies(sandbox):
    yen = sandbox.authorize(D("3000"), "JPY", "pm_card_visa", "ord_j", "auth-ord_j")
    dinar = sandbox.authorize(D("5.125"), "KWD", "pm_card_visa", "ord_k", "auth-ord_k")

    assert sandbox.capture(yen.intent_id, D("1000"), "JPY", "c-j", final=False).amount_capturable == D("2000")
    assert sandbox.capture(dinar.intent_id, D("5.125"), "KWD", "c-k", final=True).amount_received == D("5.125")


def test_register_intent_pretends_a_web_shop_made_it(sandbox):
    payment = sandbox.register_intent("pi_shop_123", D("49.90"), "EUR")

    assert (payment.status, payment.amount_capturable) == (S.REQUIRES_CAPTURE, D("49.90"))
    captured = sandbox.capture("pi_shop_123", D("49.90"), "EUR", "capture-shop-1", final=True)
    assert (captured.status, captured.amount_received) == (S.SUCCEEDED, D("49.90"))

    paid = sandbox.register_intent("pi_shop_paid", D("20.00"), "EUR", S.SUCCEEDED)
    assert (paid.amount_received, paid.amount_capturable) == (D("20.00"), 0)
    assert sandbox.refund("pi_shop_paid", D("20.00"), "EUR", "refund-shop-1").amount == D("20.00")

    unpaid = sandbox.register_intent("pi_shop_unpaid", D("20.00"), "EUR", S.REQUIRES_PAYMENT_METHOD)
    assert (unpaid.amount_capturable, unpaid.charge_id) == (0, None)


def test_state_is_per_process_unless_a_test_passes_its_own():
    own: dict = {}
    SandboxProvider(state=own).register_intent("pi_sandbox_test_own", D("1.00"), "EUR")
    assert "pi_sandbox_test_own" in own["intents"]
    with pytest.raises(PaymentDeclined):
        SandboxProvider().retrieve("pi_sandbox_test_own")

    SandboxProvider().register_intent("pi_sandbox_test_shared", D("1.00"), "EUR")
    assert SandboxProvider().retrieve("pi_sandbox_test_shared").amount == D("1.00")
    assert credentials.payment_provider("sandbox") is credentials.payment_provider("sandbox")
    assert credentials.payment_provider("sandbox").retrieve("pi_sandbox_test_shared").amount == D("1.00")
    with pytest.raises(ValueError):
        credentials.payment_provider("paypal")
