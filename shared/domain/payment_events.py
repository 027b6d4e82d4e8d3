"""What a payment provider's event does to an order: pure, given the order, the event and `now`.

Rules, in order:
1. An event applied before (its id is in the payment's applied events) changes nothing.
2. An event in another currency than the order's changes nothing and is flagged for an operator.
3. Amounts only grow: the provider's reported totals merge by maximum and refunds count once per
   refund id, so an older or repeated report never moves the payment backwards.
4. authorized / succeeded: the payment holds (or has taken) the money. An order on hold awaiting
   payment has that hold released; with no other hold left it goes back to allocation.
5. failed: counted; after `max_failures` while nothing is authorised the payment has failed and the
   order is cancelled (its stock released). A failure after an authorisation is stale: ignored.
6. canceled: the authorisation is released; with nothing captured the order is cancelled.
7. refunded: each refund id (succeeded) is recorded once, however often it is reported.
8. disputed: the payment is flagged and an operator is told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.domain.events import (
    DomainEvent,
    OrderReleased,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDisputed,
    PaymentEvent,
    PaymentFailed,
    PaymentRefunded,
    PaymentVoided,
)
from shared.domain.money import ZERO
from shared.domain.orders import HoldReason, Order, OrderStatus
from shared.domain.payments import MovementKind, Payment, PaymentProvider, PaymentStatus, check_forward
from shared.payments.provider import ProviderEvent, ProviderEventKind, RefundStatus


@dataclass
class PaymentDecision:
    """The order after the event (payment and holds changed in place), what to announce, and what
    else must happen: the order cancelled (`cancel`), an operator told (`problem`)."""

    applied: bool
    events: list[DomainEvent] = field(default_factory=list)
    cancel: str | None = None
    problem: str | None = None
    adopted_intent: str | None = None     # the event named the intent of an order that had none
    reasons: list[str] = field(default_factory=list)


def payment_event(cls: type[PaymentEvent], order: Order, before: Payment, amount: Decimal, now: datetime,
                  **extra) -> DomainEvent:
    pay = order.pay
    return cls(occurred_at=now, order_id=order.order_id, channel=order.channel, provider=pay.provider.value,
               status=pay.status.value, previous=before.status.value, currency=pay.currency, amount=str(amount),
               authorized=str(pay.authorized), captured=str(pay.captured), refunded=str(pay.refunded), **extra)


def apply_provider_event(order: Order, event: ProviderEvent, now: datetime, max_failures: int) -> PaymentDecision:
    pay = order.pay
    if pay.has_applied(event.event_id):
        return PaymentDecision(applied=False, reasons=["event already applied"])
    if event.currency != pay.currency:
        pay.applied(event.event_id)
        return PaymentDecision(applied=True, problem=f"{event.provider} event {event.event_id} is in {event.currency}, "
                                                     f"the order in {pay.currency}: not applied",
                               reasons=["currency differs"])
    before = pay.model_copy(deep=True)
    decision = PaymentDecision(applied=True)
    if pay.intent_id is None and event.intent_id is not None:
        pay.intent_id, decision.adopted_intent = event.intent_id, event.intent_id
        if pay.provider == PaymentProvider.EXTERNAL:
            pay.provider = PaymentProvider(event.provider)
    pay.charge_id = event.charge_id or pay.charge_id
    handler = _HANDLERS[event.kind]
    handler(order, before, event, now, max_failures, decision)
    pay.applied(event.event_id)
    pay.updated_at = now
    check_forward(before, pay)
    return decision


def _authorized(order: Order, before: Payment, event: ProviderEvent, now: datetime, _max: int,
                decision: PaymentDecision) -> None:
    pay = order.pay
    received = event.amount_received or ZERO
    pay.reported(captured=received, now=now)
    capturable = event.amount_capturable or ZERO
    if capturable > 0:
        pay.authorize(received + capturable, now)
    elif event.kind == ProviderEventKind.SUCCEEDED and received > 0:
        pay.release(now)  # automatic capture: nothing stays authorised
    if pay.status != before.status or pay.captured != before.captured:
        cls = PaymentCaptured if pay.captured > before.captured else PaymentAuthorized
        extra = {"final": not pay.authorization_open} if cls is PaymentCaptured else {}
        amount = pay.captured - before.captured if cls is PaymentCaptured else pay.authorized
        decision.events.append(payment_event(cls, order, before, amount, now, **extra))
    if pay.status in (PaymentStatus.AUTHORIZED, PaymentStatus.PARTIALLY_CAPTURED, PaymentStatus.CAPTURED):
        decision.events += release_payment_hold(order, f"payment:{event.provider}", now)
    if before.status in (PaymentStatus.FAILED, PaymentStatus.VOIDED) and pay.captured > before.captured:
        decision.problem = "money was taken for a payment already given up (the order may be cancelled): refund it"
    elif before.status == PaymentStatus.FAILED and capturable > 0:
        decision.problem = ("the card was authorised after the payment was given up (the order is cancelled): "
                            "cancel the payment intent so the hold on the payer's card ends")


def _failed(order: Order, before: Payment, event: ProviderEvent, now: datetime, max_failures: int,
            decision: PaymentDecision) -> None:
    pay = order.pay
    if before.status != PaymentStatus.PENDING:
        decision.reasons.append(f"a failure reported while the payment is {before.status}: stale, ignored")
        return
    give_up = pay.failures + 1 >= max_failures
    reason = event.failure or "payment failed"
    pay.fail(reason, give_up, now)
    decision.events.append(payment_event(PaymentFailed, order, before, ZERO, now, failures=pay.failures,
                                         gave_up=pay.failed, reason=reason[:200]))
    if pay.failed:
        decision.cancel = f"payment failed {pay.failures} times"


def _canceled(order: Order, before: Payment, event: ProviderEvent, now: datetime, _max: int,
              decision: PaymentDecision) -> None:
    pay = order.pay
    pay.reported(captured=event.amount_received, now=now)
    if pay.authorized == 0 and not pay.failed:
        # Never authorised: the intent is gone, and with it the way to pay this order.
        pay.fail("the payment intent was canceled", True, now)
        decision.events.append(payment_event(PaymentFailed, order, before, ZERO, now, failures=pay.failures,
                                             gave_up=True, reason="the payment intent was canceled"))
    elif pay.authorization_open:
        uncaptured = pay.capturable
        pay.release(now)
        decision.events.append(payment_event(PaymentVoided, order, before, uncaptured, now))
    if pay.captured == 0:
        decision.cancel = "the payment intent was canceled"


def _refunded(order: Order, before: Payment, event: ProviderEvent, now: datetime, _max: int,
              decision: PaymentDecision) -> None:
    pay = order.pay
    # Stripe does not deliver in order: a refund can come before the capture it refunds. The charge
    # says what it captured; a refund alone is proof enough of a capture at least as large.
    pay.reported(captured=event.amount_received, now=now)
    succeeded = sum((r.amount for r in event.refunds if r.status == RefundStatus.SUCCEEDED), ZERO)
    pay.reported(captured=max(succeeded, event.amount_refunded or ZERO) - pay.collected, now=now)
    for refund in event.refunds:
        if refund.status == RefundStatus.SUCCEEDED:
            was = pay.refunded
            # provider_ref: what the refund was for when we made it (our idempotency key less its
            # refund- prefix, as the call records it), so the call retried later finds it here.
            if pay.record(MovementKind.REFUND, refund.refund_id, refund.amount, now,
                          provider_ref=(refund.idempotency_key or refund.refund_id).removeprefix("refund-")):
                decision.events.append(payment_event(PaymentRefunded, order, before, pay.refunded - was, now,
                                                     refund_id=refund.refund_id))
    pay.reported(captured=pay.refunded - pay.collected, now=now)
    was = pay.refunded
    if pay.reported(refunded=event.amount_refunded, now=now) and pay.refunded > was:
        decision.events.append(payment_event(PaymentRefunded, order, before, pay.refunded - was, now,
                                             refund_id=event.charge_id or event.event_id))


def _disputed(order: Order, before: Payment, event: ProviderEvent, now: datetime, _max: int,
              decision: PaymentDecision) -> None:
    pay = order.pay
    if pay.disputed:
        return
    pay.disputed = True
    decision.events.append(payment_event(PaymentDisputed, order, before, event.amount or ZERO, now,
                                         dispute_id=event.dispute_id or event.event_id,
                                         reason=event.dispute_reason))
    decision.problem = f"the payer disputed the charge ({event.dispute_reason or 'no reason given'})"


_HANDLERS = {
    ProviderEventKind.AUTHORIZED: _authorized,
    ProviderEventKind.SUCCEEDED: _authorized,
    ProviderEventKind.FAILED: _failed,
    ProviderEventKind.CANCELED: _canceled,
    ProviderEventKind.REFUNDED: _refunded,
    ProviderEventKind.DISPUTED: _disputed,
}


def release_payment_hold(order: Order, by: str, now: datetime) -> list[DomainEvent]:
    """The payment came: an open AWAITING_PAYMENT hold is released, and with no other hold left the
    order goes back to allocation (OrderReleased, as an operator's release does)."""
    waiting = [h for h in order.open_holds if h.reason == HoldReason.AWAITING_PAYMENT]
    if not waiting or order.status != OrderStatus.ON_HOLD:
        return []
    for hold in waiting:
        hold.released_at, hold.released_by = now, by
    if order.open_holds:
        return []  # another reason still holds it: a person releases that one
    order.move_to(OrderStatus.RECEIVED, now, note=f"payment received ({by})")
    return [OrderReleased(occurred_at=now, order_id=order.order_id, channel=order.channel,
                          released=[HoldReason.AWAITING_PAYMENT.value], released_by=by)]
