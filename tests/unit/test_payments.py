"""The order's payment record and what a provider's event does to an order, pure: status derived from
the amounts, forward only (a property over random event sequences), each event applied once, the
AWAITING_PAYMENT hold released by the payment, failures counted up to giving up, an intent canceled
before any capture cancelling the order, refunds once per refund id, disputes flagged once.
The same rules through the webhook worker and the table: tests/service/test_payment_events.py."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.events import (
    OrderReleased,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDisputed,
    PaymentFailed,
    PaymentRefunded,
    PaymentVoided,
)
from shared.domain.orders import Hold, HoldReason, Order, OrderStatus
from shared.domain.payment_events import apply_provider_event
from shared.domain.payments import (
    MAX_APPLIED_EVENTS,
    RANK,
    MovementKind,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentStatus,
    PaymentWentBackwards,
    check_forward,
    opened,
)
from shared.payments.provider import ProviderEvent, ProviderEventKind, RefundInfo, RefundStatus
from tests.factories import NOW, order_request

pytestmark = pytest.mark.unit

D = Decimal
K = ProviderEventKind
P = PaymentStatus
PI = "pi_3QyZ4uB7WZ01zgkW1Hc8Lr2d"
TOTAL = D("20.00")
_event_ids = itertools.count(1)


def payment(status: str = "authorized", amount: str = "20.00",
            provider: PaymentProvider | None = PaymentProvider.STRIPE, intent_id: str | None = PI) -> Payment:
    return opened(status, D(amount), TOTAL, "EUR", provider, intent_id, NOW)  # type: ignore[arg-type]


def order(status: str = "authorized", amount: str = "20.00", intent_id: str | None = PI,
          holds: tuple[HoldReason, ...] = ()) -> Order:
    """An order of 2 x 10.00 EUR paying `status`; held for `holds` when given."""
    paid: dict = {"status": status, "amount": amount}
    if intent_id:
        paid.update(provider="stripe", intent_id=intent_id)
    request = order_request([("SKU-1", 2)], payment=paid)
    made = Order(order_id="o1", channel="web", created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)
    if holds:
        made.holds = [Hold(reason=reason, detail="held", placed_at=NOW) for reason in holds]
        made.move_to(OrderStatus.ON_HOLD, NOW)
    return made


def event(kind: ProviderEventKind, event_id: str | None = None, currency: str = "EUR", **fields) -> ProviderEvent:
    return ProviderEvent(provider="stripe", event_id=event_id or f"evt_{next(_event_ids)}", kind=kind, created=NOW,
                         currency=currency, intent_id=fields.pop("intent_id", PI), **fields)


def authorized(amount: str = "20.00", **kw) -> ProviderEvent:
    return event(K.AUTHORIZED, amount=D(amount), amount_capturable=D(amount), amount_received=D(0), **kw)


def succeeded(received: str = "20.00", **kw) -> ProviderEvent:
    return event(K.SUCCEEDED, amount=D(received), amount_capturable=D(0), amount_received=D(received), **kw)


def failed(**kw) -> ProviderEvent:
    return event(K.FAILED, failure="card_declined: Your card was declined.", **kw)


def canceled(received: str = "0", **kw) -> ProviderEvent:
    return event(K.CANCELED, amount_capturable=D(0), amount_received=D(received), failure="automatic", **kw)


def refund(refund_id: str, amount: str, status: RefundStatus = RefundStatus.SUCCEEDED, **kw) -> ProviderEvent:
    return event(K.REFUNDED, refunds=(RefundInfo(refund_id, D(amount), status),), **kw)


def types(decision) -> list[str]:
    return [e.event_type for e in decision.events]


# --- the record: status derived from the amounts ---------------------------------------------------

@pytest.mark.parametrize(("status", "expected", "held", "captured", "open_"), [
    ("authorized", P.AUTHORIZED, D("20.00"), D(0), True),
    ("paid", P.CAPTURED, D("20.00"), D("20.00"), False),
    ("pending", P.PENDING, D(0), D(0), False),
])
def test_a_new_order_opens_its_payment_from_what_the_channel_says(status, expected, held, captured, open_):
    pay = payment(status)
    assert (pay.status, pay.authorized, pay.captured, pay.authorization_open) == (expected, held, captured, open_)
    assert (pay.method, pay.provider, pay.intent_id) == (PaymentMethod.PREPAID, PaymentProvider.STRIPE, PI)


def test_cash_on_delivery_is_due_and_without_a_provider_the_channel_settles():
    pay = payment("cod", provider=None, intent_id=None)
    assert (pay.method, pay.provider, pay.status) == (PaymentMethod.CASH_ON_DELIVERY, PaymentProvider.EXTERNAL,
                                                      P.COD_DUE)
    assert not pay.moves_money and not payment("authorized", provider=None, intent_id=None).moves_money


def test_the_status_follows_captures_and_refunds_forward():
    pay = payment("authorized")
    seen = [pay.status]
    for kind, key, amount in [(MovementKind.CAPTURE, "S-1", "15"), (MovementKind.CAPTURE, "S-2", "5"),
                              (MovementKind.REFUND, "re_1", "5"), (MovementKind.REFUND, "re_2", "15")]:
        assert pay.record(kind, key, D(amount), NOW)
        seen.append(pay.status)
    assert seen == [P.AUTHORIZED, P.PARTIALLY_CAPTURED, P.CAPTURED, P.PARTIALLY_REFUNDED, P.REFUNDED]
    assert (pay.captured, pay.refunded, pay.refundable) == (D(20), D(20), D(0))


def test_the_rest_released_after_a_partial_capture_makes_it_captured():
    pay = payment("authorized")
    pay.record(MovementKind.CAPTURE, "S-1", D("15"), NOW)
    assert pay.capturable == D(5)

    pay.release(NOW)

    assert (pay.status, pay.capturable) == (P.CAPTURED, D(0))


def test_an_authorisation_released_before_any_capture_is_voided_and_never_reopens():
    pay = payment("authorized")
    pay.release(NOW)
    assert pay.status == P.VOIDED

    pay.authorize(D("30"), NOW)

    assert (pay.status, pay.authorized, pay.authorization_open) == (P.VOIDED, D(20), False)


def test_an_authorisation_only_rises_and_never_after_a_capture():
    pay = payment("authorized")
    pay.authorize(D("10"), NOW)
    assert pay.authorized == D(20)
    pay.record(MovementKind.CAPTURE, "S-1", D("5"), NOW)
    pay.authorize(D("40"), NOW)
    assert pay.authorized == D(20)


def test_money_moved_under_a_key_is_recorded_once():
    pay = payment("authorized")
    assert pay.record(MovementKind.CAPTURE, "S-1", D("15"), NOW)
    assert not pay.record(MovementKind.CAPTURE, "S-1", D("15"), NOW)
    assert not pay.record(MovementKind.CAPTURE, "S-2", D(0), NOW)
    assert (pay.captured, len(pay.movements)) == (D(15), 1)


def test_the_providers_totals_merge_by_maximum_with_our_own_movements():
    pay = payment("authorized")
    pay.record(MovementKind.CAPTURE, "S-1", D("15"), NOW)
    pay.reported(captured=D("15"))              # the webhook about our own capture counts once
    assert pay.captured == D(15)
    assert pay.reported(captured=D("18"))
    assert not pay.reported(captured=D("10"))    # an older report lowers nothing
    assert pay.captured == D(18)


def test_a_failure_gives_up_only_while_nothing_is_authorised():
    pending, held = payment("pending"), payment("authorized")
    pending.fail("declined", give_up=True, now=NOW)
    held.fail("declined", give_up=True, now=NOW)
    assert (pending.status, pending.failures) == (P.FAILED, 1)
    assert (held.status, held.failures) == (P.AUTHORIZED, 1)


def test_cash_on_delivery_collected_then_refunded():
    pay = payment("cod", provider=None, intent_id=None)
    pay.record(MovementKind.COLLECTION, "delivery", TOTAL, NOW)
    assert (pay.status, pay.collected, pay.refundable) == (P.COD_COLLECTED, TOTAL, TOTAL)
    pay.record(MovementKind.REFUND, "r-1", D("5"), NOW)
    assert pay.status == P.PARTIALLY_REFUNDED


def test_only_the_latest_applied_event_ids_are_kept():
    pay = payment()
    for n in range(MAX_APPLIED_EVENTS + 5):
        pay.applied(f"evt_{n}")
    assert len(pay.applied_events) == MAX_APPLIED_EVENTS
    assert pay.has_applied(f"evt_{MAX_APPLIED_EVENTS + 4}") and not pay.has_applied("evt_4")


# --- check_forward: the invariant ------------------------------------------------------------------

def _captured(amount: str) -> Payment:
    pay = payment("authorized")
    pay.record(MovementKind.CAPTURE, "S-1", D(amount), NOW)
    return pay


@pytest.mark.parametrize(("change", "refused"), [
    ({"movements": []}, "captured went down"),
    ({"authorized": D(10)}, "authorized went down"),
    ({"reported_refunded": D(16)}, "refunded more than was paid"),
    ({"reported_captured": D(25)}, "captured more than was authorised"),
])
def test_check_forward_refuses_every_way_back(change, refused):
    before = _captured("15")
    with pytest.raises(PaymentWentBackwards, match=refused):
        check_forward(before, before.model_copy(update=change))


def test_check_forward_refuses_a_released_authorisation_reopening():
    voided = payment("authorized")
    voided.release(NOW)
    reopened = voided.model_copy(update={"authorization_open": True})
    with pytest.raises(PaymentWentBackwards, match="reopened"):
        check_forward(voided, reopened)


def test_check_forward_refuses_an_early_status_once_money_moved_past_it():
    authorized = payment("authorized")
    pending = authorized.model_copy(update={"authorized": D(0), "authorization_open": False})
    with pytest.raises(PaymentWentBackwards):
        check_forward(authorized, pending)


def test_a_pending_payment_may_be_captured_beyond_its_authorisation():
    before = payment("pending")
    check_forward(before, before.model_copy(update={"reported_captured": D("20")}))  # paid straight away


# --- a provider event applied to an order ----------------------------------------------------------

def test_an_event_is_applied_once():
    held = order("pending", holds=(HoldReason.AWAITING_PAYMENT,))
    auth = authorized()
    assert apply_provider_event(held, auth, NOW, 3).applied
    snapshot = held.model_copy(deep=True)

    again = apply_provider_event(held, auth, NOW, 3)

    assert (again.applied, again.events) == (False, [])
    assert held == snapshot


def test_an_event_in_another_currency_changes_nothing_and_is_flagged():
    held = order("pending", holds=(HoldReason.AWAITING_PAYMENT,))
    decision = apply_provider_event(held, authorized(currency="USD"), NOW, 3)
    assert decision.applied and decision.events == []
    assert "USD" in decision.problem
    assert (held.pay.status, held.status) == (P.PENDING, OrderStatus.ON_HOLD)


@pytest.mark.parametrize("paid", [authorized, succeeded], ids=["amount_capturable_updated", "succeeded"])
def test_the_payment_releases_the_awaiting_payment_hold_and_the_order_goes_back_to_allocation(paid):
    held = order("pending", holds=(HoldReason.AWAITING_PAYMENT,))

    decision = apply_provider_event(held, paid(), NOW, 3)

    assert held.status == OrderStatus.RECEIVED and held.open_holds == []
    assert held.holds[0].released_by == "payment:stripe"
    released = [e for e in decision.events if isinstance(e, OrderReleased)]
    assert [e.released for e in released] == [["AWAITING_PAYMENT"]]
    assert decision.events[0].event_type in ("PaymentAuthorized", "PaymentCaptured")


def test_with_another_hold_open_the_order_stays_on_hold():
    held = order("pending", holds=(HoldReason.AWAITING_PAYMENT, HoldReason.UNKNOWN_SKU))

    decision = apply_provider_event(held, authorized(), NOW, 3)

    assert held.status == OrderStatus.ON_HOLD
    assert [h.reason for h in held.open_holds] == [HoldReason.UNKNOWN_SKU]
    assert types(decision) == ["PaymentAuthorized"]


def test_a_payment_for_an_order_not_held_for_it_releases_nothing():
    held = order("pending", holds=(HoldReason.UNKNOWN_SKU,))
    decision = apply_provider_event(held, authorized(), NOW, 3)
    assert (held.status, types(decision)) == (OrderStatus.ON_HOLD, ["PaymentAuthorized"])


def test_failures_are_counted_and_the_last_one_gives_up_and_cancels():
    held = order("pending", holds=(HoldReason.AWAITING_PAYMENT,))
    decisions = [apply_provider_event(held, failed(), NOW, max_failures=3) for _ in range(3)]

    assert [d.cancel for d in decisions[:2]] == [None, None]
    assert decisions[2].cancel == "payment failed 3 times"
    assert [(e.failures, e.gave_up) for d in decisions for e in d.events if isinstance(e, PaymentFailed)] == [
        (1, False), (2, False), (3, True)]
    assert (held.pay.status, held.pay.last_failure) == (P.FAILED, "card_declined: Your card was declined.")


def test_a_failure_reported_after_the_authorisation_is_stale():
    paid = order("authorized")
    decision = apply_provider_event(paid, failed(), NOW, max_failures=1)
    assert (decision.events, decision.cancel, paid.pay.failures, paid.pay.status) == ([], None, 0, P.AUTHORIZED)


def test_an_intent_canceled_before_any_payment_fails_it_and_cancels_the_order():
    pending = order("pending", holds=(HoldReason.AWAITING_PAYMENT,))
    decision = apply_provider_event(pending, canceled(), NOW, 3)
    assert (pending.pay.status, decision.cancel, types(decision)) == (P.FAILED, "the payment intent was canceled",
                                                                      ["PaymentFailed"])


def test_an_authorisation_canceled_before_any_capture_is_voided_and_cancels_the_order():
    paid = order("authorized")
    decision = apply_provider_event(paid, canceled(), NOW, 3)
    assert (paid.pay.status, decision.cancel) == (P.VOIDED, "the payment intent was canceled")
    (voided,) = decision.events
    assert isinstance(voided, PaymentVoided) and voided.amount == "20.00"


def test_an_intent_canceled_after_a_capture_releases_the_rest_and_cancels_nothing():
    paid = order("authorized")
    paid.pay.record(MovementKind.CAPTURE, "S-1", D("15"), NOW)
    decision = apply_provider_event(paid, canceled(received="15.00"), NOW, 3)
    assert (paid.pay.status, paid.pay.authorization_open, decision.cancel) == (P.CAPTURED, False, None)


def test_a_refund_is_recorded_once_per_refund_id_however_it_is_reported():
    paid = order("paid")
    first = apply_provider_event(paid, refund("re_1", "5.00"), NOW, 3)              # refund.updated
    charge = event(K.REFUNDED, charge_id="ch_1", amount_refunded=D("5.00"),      # charge.refunded, same refund
                   refunds=(RefundInfo("re_1", D("5.00"), RefundStatus.SUCCEEDED),))
    second = apply_provider_event(paid, charge, NOW, 3)

    assert (types(first), types(second)) == (["PaymentRefunded"], [])
    assert (paid.pay.refunded, paid.pay.status) == (D(5), P.PARTIALLY_REFUNDED)


def test_a_refund_not_succeeded_yet_moves_nothing():
    paid = order("paid")
    decision = apply_provider_event(paid, refund("re_1", "5.00", RefundStatus.PENDING), NOW, 3)
    assert (decision.events, paid.pay.refunded) == ([], D(0))


def test_a_charges_refunded_total_counts_refunds_it_does_not_list():
    paid = order("paid")
    decision = apply_provider_event(paid, event(K.REFUNDED, charge_id="ch_1", amount_refunded=D("20.00")), NOW, 3)
    (refunded,) = decision.events
    assert isinstance(refunded, PaymentRefunded) and (refunded.amount, refunded.refund_id) == ("20.00", "ch_1")
    assert paid.pay.status == P.REFUNDED


def test_a_dispute_flags_the_payment_and_tells_an_operator_once():
    paid = order("paid")
    dispute = dict(amount=D("20.00"), dispute_id="dp_1", dispute_reason="fraudulent")
    first = apply_provider_event(paid, event(K.DISPUTED, **dispute), NOW, 3)
    second = apply_provider_event(paid, event(K.DISPUTED, **dispute), NOW, 3)

    assert paid.pay.disputed and paid.pay.status == P.CAPTURED
    (disputed,) = first.events
    assert isinstance(disputed, PaymentDisputed) and (disputed.dispute_id, disputed.reason) == ("dp_1", "fraudulent")
    assert "fraudulent" in first.problem
    assert (second.events, second.problem) == ([], None)


def test_succeeded_delivered_before_the_authorisation_moves_nothing_back():
    pending = order("pending")
    apply_provider_event(pending, succeeded(), NOW, 3)
    decision = apply_provider_event(pending, authorized(), NOW, 3)
    assert (pending.pay.status, pending.pay.captured, pending.pay.authorization_open) == (P.CAPTURED, D(20), False)
    assert decision.events == []


def test_money_taken_for_a_payment_already_given_up_is_flagged():
    pending = order("pending")
    for _ in range(3):
        apply_provider_event(pending, failed(), NOW, 3)
    decision = apply_provider_event(pending, succeeded(), NOW, 3)
    assert pending.pay.status == P.FAILED and pending.pay.captured == D(20)
    assert "refund" in decision.problem and types(decision) == ["PaymentCaptured"]


def test_an_order_without_an_intent_adopts_the_events_and_the_provider_moves_its_money():
    external = order("pending", intent_id=None)
    decision = apply_provider_event(external, authorized(intent_id="pi_new"), NOW, 3)
    assert decision.adopted_intent == "pi_new"
    assert (external.pay.intent_id, external.pay.provider, external.pay.moves_money) == (
        "pi_new", PaymentProvider.STRIPE, True)


def test_the_announced_amounts_are_the_payment_after_the_change():
    paid = order("authorized")
    decision = apply_provider_event(paid, event(K.SUCCEEDED, amount=D("20.00"), amount_capturable=D("5.00"),
                                                amount_received=D("15.00")), NOW, 3)
    (captured,) = decision.events
    assert isinstance(captured, PaymentCaptured)
    assert (captured.amount, captured.captured, captured.previous, captured.status, captured.final) == (
        "15.00", "15.00", "authorized", "partially_captured", False)
    assert not any(isinstance(e, PaymentAuthorized) for e in decision.events)


# --- bugs found ---------------------------------------------------------------------------------

def test_a_refund_delivered_before_the_payment_succeeded_event_is_applied():
    """payment_events._refunded records the refund but never reports the capture that the refund
    proves (charge.refunded even carries amount_captured, read as amount_received), so check_forward
    sees refunded > captured and raises: the worker fails on valid input until succeeded arrives."""
    pending = order("pending")
    charge = event(K.REFUNDED, charge_id="ch_1", amount_received=D("20.00"), amount_refunded=D("5.00"),
                   refunds=(RefundInfo("re_1", D("5.00"), RefundStatus.SUCCEEDED),))

    apply_provider_event(pending, charge, NOW, 3)

    assert (pending.pay.captured, pending.pay.refunded) == (D(20), D(5))


def test_money_taken_after_the_authorisation_was_released_is_flagged():
    paid = order("authorized")
    paid.pay.release(NOW)                  # e.g. settle_cancellation voided it
    assert paid.pay.status == P.VOIDED

    decision = apply_provider_event(paid, succeeded(), NOW, 3)

    assert decision.problem and "refund" in decision.problem


def test_a_capture_after_the_first_capture_was_refunded_in_full_is_applied():
    """Two shipments: the first captured and refunded in full (a return), then the second one's
    capture is reported. The truth is partially_refunded; RANK puts refunded above it."""
    paid = order("authorized")
    paid.pay.record(MovementKind.CAPTURE, "S-1", D("15.00"), NOW)
    apply_provider_event(paid, refund("re_1", "15.00"), NOW, 3)
    assert paid.pay.status == P.REFUNDED

    apply_provider_event(paid, succeeded("20.00"), NOW, 3)

    assert (paid.pay.captured, paid.pay.refunded, paid.pay.status) == (D(20), D(15), P.PARTIALLY_REFUNDED)


def test_a_partial_refund_of_money_taken_after_the_payment_failed_is_applied():
    """The payment failed for good (the order cancelled), the payer paid anyway: _authorized raises
    'money was taken for a payment already given up: refund it'. The operator refunds part of it
    (or all of it in two refunds): the first refund's event crashes the worker."""
    pending = order("pending")
    apply_provider_event(pending, failed(), NOW, max_failures=1)
    apply_provider_event(pending, succeeded("20.00"), NOW, 3)
    assert (pending.pay.status, pending.pay.captured) == (P.FAILED, D(20))

    apply_provider_event(pending, refund("re_1", "5.00"), NOW, 3)

    assert pending.pay.refunded == D(5)


# --- the property: random provider events never move a payment backwards -------------------------

AMOUNTS = st.sampled_from([D(0), D(5), D("7.50"), D(10), D(20), D(25)])


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["authorized", "paid", "pending", "cod"]), st.data())
def test_any_sequence_of_provider_events_never_moves_a_payment_backwards(status, data):
    """Random kinds and amounts, repeated and stale events, foreign currencies. A refund is at most
    what was paid (as the provider allows), and once the intent is canceled no more money is
    captured (as the provider allows). Money captured after a refund or after the payment was given
    up still counts: the status may then move between the late statuses, never back before them."""
    made = order(status, intent_id=None if status == "cod" else PI)
    pay = made.pay
    sent: list[ProviderEvent] = []
    ceiling: Decimal | None = None  # what was captured when the intent was canceled
    for _ in range(data.draw(st.integers(1, 10), label="events")):
        if sent and data.draw(st.booleans(), label="redelivered"):
            chosen = data.draw(st.sampled_from(sent), label="again")
            if data.draw(st.booleans(), label="as a new event"):   # the same facts, reported again
                chosen = replace(chosen, event_id=f"evt_{next(_event_ids)}")
        else:
            kind = data.draw(st.sampled_from(list(K)), label="kind")
            received = data.draw(AMOUNTS, label="received")
            if ceiling is not None:
                received = min(received, ceiling)
            fields: dict = dict(amount=data.draw(AMOUNTS), amount_capturable=data.draw(AMOUNTS),
                                amount_received=received,
                                currency=data.draw(st.sampled_from(["EUR", "EUR", "EUR", "USD"])))
            if kind == K.REFUNDED:
                room = pay.captured + pay.collected - pay._sum(MovementKind.REFUND)
                amount = data.draw(st.sampled_from(sorted({D(0), room / 2, room})), label="refund")
                fields.update(amount_received=None, amount_refunded=min(pay.captured + pay.collected,
                                                                        pay.refunded + amount),
                              refunds=(RefundInfo(data.draw(st.sampled_from(["re_1", "re_2", "re_3"])), amount,
                                                  data.draw(st.sampled_from(list(RefundStatus)))),))
            if kind == K.DISPUTED:
                fields.update(dispute_id="dp_1", dispute_reason="fraudulent")
            chosen = event(kind, **fields)
            sent.append(chosen)
        before = pay.model_copy(deep=True)

        apply_provider_event(made, chosen, NOW, max_failures=2)

        if ceiling is None and chosen.kind == K.CANCELED and chosen.currency == "EUR":
            ceiling = pay.captured
        assert RANK[pay.status] >= min(RANK[before.status], RANK[P.CAPTURED])
        for name in ("authorized", "captured", "refunded", "collected"):
            assert getattr(pay, name) >= getattr(before, name)
        assert pay.refunded <= pay.captured + pay.collected
        assert len(pay.applied_events) == len(set(pay.applied_events))


def test_an_authorisation_after_the_payment_was_given_up_is_flagged_not_applied():
    """Guard: the card held for an order already cancelled must be let go by a person."""
    made = order("pending")
    for _ in range(2):
        apply_provider_event(made, failed(), NOW, max_failures=2)
    assert made.pay.status == P.FAILED

    decision = apply_provider_event(made, authorized(), NOW, max_failures=2)

    assert made.pay.status == P.FAILED and made.pay.authorized == D(0)
    assert decision.problem is not None and "given up" in decision.problem
