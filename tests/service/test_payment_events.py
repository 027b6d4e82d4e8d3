"""Stripe webhooks on the in-memory store: real Stripe-shaped events (tests/unit/payment_payloads),
signed as Stripe signs them, through receive_payment_webhook (a fake queue) and the worker
apply_payment_event. The hold released by the payment, failures up to giving up, an intent canceled,
refunds and disputes; the order found by metadata.order_id or by the intent linked at capture; every
event applied at most once (redelivered, racing, out of order), and a crash between the payment's
commit and the order's cancellation repaired by the redelivery. Pure rules: tests/unit/test_payments.py."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.domain.orders import HoldReason, OrderStatus
from shared.domain.payments import PaymentProvider, PaymentStatus
from shared.domain.reconciliation import ExceptionKind
from shared.errors import Conflict, InvalidInput
from shared.payments.stripe_webhooks import StripeSignatureRejected
from shared.services import order_actions
from shared.services.allocation import Outcome as Allocated
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.order_actions import release_order
from shared.services.payment_webhooks import (
    OrderNotYetKnown,
    Outcome,
    Result,
    apply_payment_event,
    read_queued,
    receive_payment_webhook,
)
from tests.factories import TWO_WAREHOUSES, level, order_request, seed
from tests.service.flows import OPERATOR_PRINCIPAL, events, interleave, policy

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).parents[1] / "unit" / "payment_payloads"
SECRET = "whsec_5e7v1ce7e575e7v1ce7e575e7v1ce7e575e7v1ce7e575e7v1ce7e575"
PI = "pi_3QyZ4uB7WZ01zgkW1Hc8Lr2d"        # the samples' intent; their amounts are 12340 (123.40 EUR)
TOTAL = "123.40"

SUCCEEDED = "payment_intent_succeeded"
AUTHORIZED = "payment_intent_amount_capturable_updated"
FAILED = "payment_intent_payment_failed"
CANCELED = "payment_intent_canceled"
CHARGE_REFUNDED = "charge_refunded_2020_08_27"
REFUND_UPDATED = "refund_updated"
DISPUTE = "charge_dispute_created"


# --- the webhook and the worker ---------------------------------------------------------------------

def stripe_event(name: str, order_id: str | None = None, event_id: str | None = None, created: int | None = None,
                 **changes) -> bytes:
    """A sample event in EUR, naming `order_id` in metadata (else no metadata: matched by intent)."""
    document = json.loads((PAYLOADS / f"stripe_event_{name}.json").read_text())
    resource = document["data"]["object"]
    resource.update(currency="eur", metadata={"order_id": order_id} if order_id else {}, **changes)
    for refund in (resource.get("refunds") or {}).get("data", []):
        refund["currency"] = "eur"
    document["id"] = event_id or document["id"]
    document["created"] = created or document["created"]
    return json.dumps(document).encode()


def signed(body: bytes) -> dict[str, str]:
    t = int(NOW.timestamp())
    v1 = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={v1}"}


def received(body: bytes) -> list[str]:
    """What payment-webhooks queues for this signed body."""
    queued: list[str] = []
    receive_payment_webhook("stripe", body, signed(body), NOW, secrets=lambda: [SECRET], send=queued.extend)
    return queued


def deliver(repos, body: bytes, max_failures: int = 3, at: datetime = NOW) -> Result:
    """Stripe delivers the event once: verified, queued, applied by the worker (at `at`)."""
    (queued,) = received(body)
    message = read_queued(queued)
    return apply_payment_event(message.event, message.received_at, repos, at, max_failures=max_failures)


LATER = NOW + timedelta(days=3)  # the samples were created a day after NOW: this is past WAIT_FOR_ORDER


# --- orders -----------------------------------------------------------------------------------------

def captured(repos, status: str = "pending", lines=(("SKU-1", 1),), coid: str = "CO-1", intent: str | None = PI,
             **paid) -> str:
    """An order of `lines` at 123.40 each (one line: the samples' amount), paid through Stripe."""
    payment = {"status": status, "amount": str(Decimal(TOTAL) * sum(q for _, q in lines)), **paid}
    if intent:
        payment.update(provider="stripe", intent_id=intent)
    request = order_request(list(lines), channel_order_id=coid, price=TOTAL, payment=payment)
    return capture_order(request, "web", repos, NOW).order.order_id


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    return repos


def awaiting_payment(repos, lines=(("SKU-1", 1),)) -> str:
    order_id = captured(repos, "pending", lines)
    assert allocate_order(order_id, repos, policy, NOW).outcome == Allocated.ON_HOLD
    return order_id


def allocated(repos, status: str = "authorized") -> str:
    """An order with its stock reserved at BER. A pending one got there by an operator's release of
    its AWAITING_PAYMENT hold (the payment is still to come)."""
    order_id = captured(repos, status)
    if allocate_order(order_id, repos, policy, NOW).outcome == Allocated.ON_HOLD:
        release_order(order_id, OPERATOR_PRINCIPAL, repos, NOW)
        allocate_order(order_id, repos, policy, NOW)
    assert repos.orders.get(order_id).status == OrderStatus.ALLOCATED
    assert level(repos, "SKU-1", "BER").reserved == 1
    return order_id


def of(repos, detail_type: str, order_id: str) -> list[dict]:
    return [e for e in events(repos, detail_type) if e["order_id"] == order_id]


# --- the payment releases the hold -----------------------------------------------------------------

@pytest.mark.parametrize(("name", "announced"), [(SUCCEEDED, "PaymentCaptured"), (AUTHORIZED, "PaymentAuthorized")])
def test_the_payment_releases_the_awaiting_payment_hold_and_allocation_runs(stocked, name, announced):
    order_id = awaiting_payment(stocked)

    result = deliver(stocked, stripe_event(name, order_id))

    assert result == Result(order_id, Outcome.APPLIED)
    order = stocked.orders.get(order_id)
    assert (order.status, order.open_holds, order.pay.authorized) == (OrderStatus.RECEIVED, [], Decimal(TOTAL))
    (released,) = of(stocked, "OrderReleased", order_id)
    assert (released["released"], released["released_by"]) == (["AWAITING_PAYMENT"], "payment:stripe")
    assert len(of(stocked, announced, order_id)) == 1
    assert allocate_order(order_id, stocked, policy, NOW).outcome == Allocated.ALLOCATED


def test_with_another_hold_open_the_paid_order_stays_on_hold(stocked):
    order_id = awaiting_payment(stocked, lines=(("SKU-404", 1),))     # no location stocks it
    assert {h.reason for h in stocked.orders.get(order_id).open_holds} == {HoldReason.AWAITING_PAYMENT,
                                                                           HoldReason.UNKNOWN_SKU}

    deliver(stocked, stripe_event(AUTHORIZED, order_id))

    order = stocked.orders.get(order_id)
    assert (order.status, [h.reason for h in order.open_holds]) == (OrderStatus.ON_HOLD, [HoldReason.UNKNOWN_SKU])
    assert order.pay.status == PaymentStatus.AUTHORIZED
    assert of(stocked, "OrderReleased", order_id) == []


# --- failures, cancellation --------------------------------------------------------------------------

def failure(order_id: str, n: int) -> bytes:
    return stripe_event(FAILED, order_id, event_id=f"evt_failed_{n}")


def test_failures_are_recorded_and_the_order_stays_held_until_it_gives_up(stocked):
    order_id = awaiting_payment(stocked)

    first, second = (deliver(stocked, failure(order_id, n), max_failures=3) for n in (1, 2))

    assert (first.cancelled, second.cancelled) == (False, False)
    order = stocked.orders.get(order_id)
    assert (order.status, order.pay.failures, order.pay.status) == (OrderStatus.ON_HOLD, 2, PaymentStatus.PENDING)
    assert order.pay.last_failure == "card_declined: Your card was declined."

    third = deliver(stocked, failure(order_id, 3), max_failures=3)

    assert third == Result(order_id, Outcome.APPLIED, cancelled=True)
    order = stocked.orders.get(order_id)
    assert (order.status, order.pay.status) == (OrderStatus.CANCELLED, PaymentStatus.FAILED)
    assert sorted((e["failures"], e["gave_up"]) for e in of(stocked, "PaymentFailed", order_id)) == [
        (1, False), (2, False), (3, True)]
    assert len(of(stocked, "OrderCancelled", order_id)) == 1


def test_a_payment_given_up_releases_the_stock_the_order_had_reserved(stocked):
    order_id = allocated(stocked, "pending")

    results = [deliver(stocked, failure(order_id, n), max_failures=3) for n in (1, 2, 3)]

    assert [r.cancelled for r in results] == [False, False, True]
    assert stocked.orders.get(order_id).status == OrderStatus.CANCELLED
    assert (level(stocked, "SKU-1", "BER").reserved, level(stocked, "SKU-1", "BER").available) == (0, 5)


@pytest.mark.parametrize("status", ["authorized", "pending"])
def test_an_intent_canceled_before_any_capture_cancels_the_order(stocked, status):
    order_id = allocated(stocked, status)

    result = deliver(stocked, stripe_event(CANCELED, order_id))

    assert result.cancelled
    order = stocked.orders.get(order_id)
    assert (order.status, order.pay.status) == (OrderStatus.CANCELLED, {"authorized": PaymentStatus.VOIDED,
                                                                        "pending": PaymentStatus.FAILED}[status])
    assert level(stocked, "SKU-1", "BER").reserved == 0


def test_a_crash_between_the_payment_and_the_cancellation_is_repaired_by_the_redelivery(stocked, monkeypatch):
    """Guard: _cancel_if_due decides from the stored payment, also for a duplicate. The first
    delivery commits the payment and dies before cancelling; SQS delivers the event again."""
    order_id = allocated(stocked)
    real, crashes = order_actions.cancel_order, [RuntimeError("the Lambda died")]

    def cancel_once(*args, **kwargs):
        if crashes:
            raise crashes.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(order_actions, "cancel_order", cancel_once)
    body = stripe_event(CANCELED, order_id)
    with pytest.raises(RuntimeError):
        deliver(stocked, body)
    assert stocked.orders.get(order_id).pay.status == PaymentStatus.VOIDED
    assert stocked.orders.get(order_id).status == OrderStatus.ALLOCATED

    again = deliver(stocked, body)

    assert (again.outcome, again.cancelled) == (Outcome.DUPLICATE, True)
    assert stocked.orders.get(order_id).status == OrderStatus.CANCELLED
    assert level(stocked, "SKU-1", "BER").reserved == 0
    assert len(of(stocked, "PaymentVoided", order_id)) == 1


# --- refunds made outside the OMS, disputes ---------------------------------------------------------

RE = "re_3QyZ4uB7WZ01zgkW1Lq2Ws8p"    # 12.00, the refund.updated sample's


def charge_refunded(order_id: str) -> bytes:
    """charge.refunded listing RE (succeeded) as its only refund: the charge's refunded total is 12.00."""
    document = json.loads(stripe_event(CHARGE_REFUNDED, order_id))
    charge = document["data"]["object"]
    (listed,) = [r for r in charge["refunds"]["data"] if r["id"] == RE]
    listed["status"] = "succeeded"
    charge.update(amount_refunded=1200, refunds={**charge["refunds"], "data": [listed]})
    return json.dumps(document).encode()


@pytest.mark.parametrize("first", ["refund.updated", "charge.refunded"])
def test_a_refund_made_in_stripe_is_recorded_once_whichever_event_reports_it(repos, first):
    order_id = captured(repos, "paid")
    bodies = {"refund.updated": stripe_event(REFUND_UPDATED, order_id), "charge.refunded": charge_refunded(order_id)}
    other = next(name for name in bodies if name != first)

    outcomes = [deliver(repos, bodies[name]).outcome for name in (first, other, first)]

    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED, Outcome.DUPLICATE]
    pay = repos.orders.get(order_id).pay
    assert (pay.refunded, pay.status) == (Decimal("12.00"), PaymentStatus.PARTIALLY_REFUNDED)
    assert [m.key for m in pay.movements if m.kind == "refund"] == [RE]
    (refunded,) = of(repos, "PaymentRefunded", order_id)
    assert (refunded["amount"], refunded["refund_id"]) == ("12.00", RE)


def test_a_dispute_flags_the_payment_raises_a_payment_problem_and_is_announced(repos):
    order_id = captured(repos, "paid")

    result = deliver(repos, stripe_event(DISPUTE))        # no metadata: the intent linked at capture

    assert (result.order_id, result.outcome) == (order_id, Outcome.APPLIED) and "fraudulent" in result.problem
    assert repos.orders.get(order_id).pay.disputed
    exceptions, _ = repos.reconciliation.exceptions_page(10, None)
    assert [(x.kind, x.subject, x.order_id) for x in exceptions] == [(ExceptionKind.PAYMENT_PROBLEM, order_id,
                                                                      order_id)]
    (disputed,) = of(repos, "PaymentDisputed", order_id)
    assert (disputed["dispute_id"], disputed["reason"], disputed["amount"]) == (
        "dp_1QzA2bB7WZ01zgkW0Dk3Lm6n", "fraudulent", "123.40")


def test_an_event_in_another_currency_changes_nothing_and_is_listed_for_an_operator(stocked):
    order_id = awaiting_payment(stocked)
    body = json.loads(stripe_event(SUCCEEDED, order_id))
    body["data"]["object"]["currency"] = "usd"

    result = deliver(stocked, json.dumps(body).encode())

    assert result.outcome == Outcome.APPLIED and "USD" in result.problem
    assert stocked.orders.get(order_id).pay.status == PaymentStatus.PENDING
    assert [x.kind for x in stocked.reconciliation.exceptions_page(10, None)[0]] == [ExceptionKind.PAYMENT_PROBLEM]


# --- finding the order -------------------------------------------------------------------------------

def test_without_metadata_the_event_finds_the_order_by_the_intent_linked_at_capture(stocked):
    order_id = awaiting_payment(stocked)
    assert stocked.payments.order_for_intent(PI) == order_id

    assert deliver(stocked, stripe_event(SUCCEEDED)).order_id == order_id
    assert stocked.orders.get(order_id).pay.status == PaymentStatus.CAPTURED


def test_an_event_for_an_intent_no_order_names_yet_is_retried_for_a_while(repos):
    """Stripe can be faster than the shop's POST /orders: the record fails (SQS delivers it again)."""
    body = stripe_event(SUCCEEDED, "o-nobody-knows", created=int(NOW.timestamp()))
    with pytest.raises(OrderNotYetKnown):
        deliver(repos, body)
    assert repos.payments.unmatched("stripe") == []


def test_an_event_for_no_known_order_is_recorded_and_answered_unknown(repos):
    result = deliver(repos, stripe_event(SUCCEEDED, "o-nobody-knows"), at=LATER)

    assert result == Result(None, Outcome.UNKNOWN)
    (kept,) = repos.payments.unmatched("stripe")
    assert kept["sk"] == "evt_3QyZ4uB7WZ01zgkW1Hc8Lr2d1yKp3ZsB"
    assert json.loads(kept["event"])["order_id"] == "o-nobody-knows"


def test_an_order_named_in_metadata_that_pays_with_another_intent_is_not_the_events(repos):
    order_id = captured(repos, "pending", intent="pi_another")

    assert deliver(repos, stripe_event(SUCCEEDED, order_id), at=LATER).outcome == Outcome.UNKNOWN
    assert repos.orders.get(order_id).pay.status == PaymentStatus.PENDING


def test_an_order_without_an_intent_adopts_the_one_its_event_names(repos):
    order_id = captured(repos, "pending", intent=None)

    deliver(repos, stripe_event(AUTHORIZED, order_id))

    assert repos.orders.get(order_id).pay.intent_id == PI
    assert repos.payments.order_for_intent(PI) == order_id


def test_an_event_type_we_do_not_act_on_is_acknowledged_and_not_queued():
    assert received(stripe_event("payment_intent_created", "o1")) == []


def test_an_unsigned_event_is_refused_and_not_queued():
    body, queued = stripe_event(SUCCEEDED, "o1"), []
    with pytest.raises(StripeSignatureRejected):
        receive_payment_webhook("stripe", body, {"Stripe-Signature": f"t={int(NOW.timestamp())},v1=00"}, NOW,
                                secrets=lambda: [SECRET], send=queued.extend)
    assert queued == []


# --- at most once ---------------------------------------------------------------------------------

def test_an_event_redelivered_is_applied_once(stocked):
    order_id = awaiting_payment(stocked)
    body = stripe_event(SUCCEEDED, order_id)

    assert [deliver(stocked, body).outcome for _ in range(3)] == [Outcome.APPLIED, Outcome.DUPLICATE,
                                                                  Outcome.DUPLICATE]
    assert len(of(stocked, "PaymentCaptured", order_id)) == len(of(stocked, "OrderReleased", order_id)) == 1
    assert stocked.orders.get(order_id).pay.applied_events == ["evt_3QyZ4uB7WZ01zgkW1Hc8Lr2d1yKp3ZsB"]


def test_two_deliveries_racing_apply_the_event_once(repos, monkeypatch):
    """Guard: the order's version condition. The other delivery commits between our read and our
    write; ours is refused, reads again and finds the event applied."""
    order_id = captured(repos, "paid")
    body = stripe_event(DISPUTE, order_id)
    theirs: list[Result] = []
    interleave(monkeypatch, repos, lambda: theirs.append(deliver(repos, body)))

    ours = deliver(repos, body)

    assert [r.outcome for r in theirs] == [Outcome.APPLIED]
    assert ours.outcome == Outcome.DUPLICATE
    assert len(of(repos, "PaymentDisputed", order_id)) == 1


def test_succeeded_delivered_before_amount_capturable_updated_moves_nothing_back(stocked):
    order_id = awaiting_payment(stocked)

    deliver(stocked, stripe_event(SUCCEEDED, order_id))
    late = deliver(stocked, stripe_event(AUTHORIZED, order_id))

    pay = stocked.orders.get(order_id).pay
    assert late.outcome == Outcome.APPLIED
    assert (pay.status, pay.captured, pay.authorized, pay.authorization_open) == (
        PaymentStatus.CAPTURED, Decimal(TOTAL), Decimal(TOTAL), False)
    assert of(stocked, "PaymentAuthorized", order_id) == []
    assert len(of(stocked, "OrderReleased", order_id)) == 1


# --- an intent's owner ---------------------------------------------------------------------------

def test_an_event_whose_intent_pays_another_order_applies_to_the_intents_order(repos):
    """The metadata names one order, the intent is linked to another: the intent's order owns its
    events (it is what the money pays), and the named order never takes that intent."""
    named = captured(repos, "pending", intent=None, coid="CO-1")
    owner = captured(repos, "pending", intent=PI, coid="CO-2")

    result = deliver(repos, stripe_event(AUTHORIZED, named))

    assert result == Result(owner, Outcome.APPLIED)
    assert repos.orders.get(named).pay.intent_id is None
    assert repos.payments.order_for_intent(PI) == owner


# --- capture's guards on the payment it is given -----------------------------------------------------

def test_one_payment_intent_pays_one_order(repos):
    captured(repos, "pending", coid="CO-1")
    with pytest.raises(Conflict) as refused:
        captured(repos, "pending", coid="CO-2")
    assert refused.value.field == "payment.intent_id"


def test_the_sandbox_provider_is_refused_where_money_is_real(repos):
    request = order_request([("SKU-1", 1)], price=TOTAL, payment={
        "status": "authorized", "amount": TOTAL, "provider": "sandbox", "intent_id": "pi_sandbox_1"})
    with pytest.raises(InvalidInput) as refused:
        capture_order(request, "web", repos, NOW, PaymentProvider.STRIPE)
    assert refused.value.field == "payment.provider"
    assert capture_order(request, "web", repos, NOW, PaymentProvider.SANDBOX).created
