"""Payment provider webhooks, in two steps (as carrier tracking does).

1. `receive_payment_webhook` (payment-webhooks, behind the public route): verify Stripe's signature on
   the raw body before anything else, read the event, queue it on payment-events and answer 200. No
   table access: a slow table never makes Stripe time out and retry.
2. `apply_payment_event` (apply-payment-events, from that queue): find the order (metadata.order_id,
   else the intent recorded with the order), apply the event to its payment once and never backwards
   (shared/domain/payment_events.py), in one transaction with the events it announces and the hold
   it releases; cancel the order when the payment is given up.

Guards of step 2 (each has a test that fails without it, tests/service/test_payment_events.py):
- once per event id: the id is kept in the payment's own applied events and written under the
  order's version condition, so a duplicate delivered twice at once is applied once;
- never backwards: amounts merge by maximum and refunds count once per refund id (domain);
- an event for no order we know is recorded (UNMATCHED_PAYMENT, 30 days) and acknowledged.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, ConfigDict

from shared.errors import Busy, NotFound
from shared.payments.provider import ProviderEvent

if TYPE_CHECKING:  # the webhook function needs none of the worker's table and order modules
    from shared.adapters.expressions import Write
    from shared.domain.orders import Order
    from shared.repositories import Repositories

PAYMENT_QUEUE = "payment-events"  # infra/wiring.py PAYMENT_EVENTS
# How long an event for an intent no order names yet is retried before it is recorded as unmatched:
# less than the queue's receives x visibility timeout (5 x 90 s), so it is recorded, not dead-lettered.
WAIT_FOR_ORDER = timedelta(minutes=5)


class OrderNotYetKnown(Exception):
    """A provider event came before the order it pays: retried by the queue, not an error."""
PROVIDERS = ("stripe",)
ATTEMPTS = 5
SIGNATURE_HEADER = "stripe-signature"


class QueuedPaymentEvent(BaseModel):
    """One provider event as read from the webhook, with when we received it. Built on first use:
    the webhook function pays for it only when it queues an event."""

    model_config = ConfigDict(defer_build=True)

    event: ProviderEvent
    received_at: AwareDatetime


def send_to_queue(bodies: list[str]) -> None:
    from shared.adapters.queues import send

    send(PAYMENT_QUEUE, bodies)


def _stripe_secrets() -> list[str]:
    from shared.payments.credentials import stripe_webhook_secrets

    return stripe_webhook_secrets()


def receive_payment_webhook(provider: str, raw_body: bytes, headers: Mapping[str, str], now: datetime, *,
                            secrets: Callable[[], list[str]] = _stripe_secrets,
                            send: Callable[[list[str]], None] = send_to_queue) -> ProviderEvent | None:
    """Verify, read, queue. The event queued, or None for an event type we do not act on (it is
    acknowledged all the same, so the provider does not retry it). StripeSignatureRejected (401)
    before the body is even parsed, and nothing is queued."""
    from shared.payments.stripe_webhooks import parse, verify

    if provider not in PROVIDERS:
        raise NotFound(f"no payment provider named {provider!r}", field="provider")
    signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
    verify(raw_body, signature, secrets(), now)
    event = parse(raw_body)
    if event is not None:
        send([QueuedPaymentEvent(event=event, received_at=now).model_dump_json()])
    return event


# --- step 2: the worker -----------------------------------------------------------------------------

class Outcome(StrEnum):
    APPLIED = "APPLIED"          # the payment (and maybe the order) changed
    DUPLICATE = "DUPLICATE"      # this event id was applied before
    UNKNOWN = "UNKNOWN"          # no order: recorded, acknowledged


@dataclass(frozen=True)
class Result:
    order_id: str | None
    outcome: Outcome
    cancelled: bool = False
    problem: str | None = None


def read_queued(body: str) -> QueuedPaymentEvent:
    return QueuedPaymentEvent.model_validate_json(body)


def apply_payment_event(event: ProviderEvent, received_at: datetime, repos: Repositories, now: datetime,
                        max_failures: int) -> Result:
    from shared.domain.payment_events import apply_provider_event
    from shared.unit_of_work import AlreadyExists, CommitFailed, Refused

    order = _order_for(event, repos)
    if order is None:
        if event.intent_id and now - event.created < WAIT_FOR_ORDER:
            # Stripe can be faster than the shop: its webhook may arrive before the order that names
            # the intent. Failing the record lets SQS deliver it again in a moment.
            raise OrderNotYetKnown(f"no order for payment intent {event.intent_id} yet; retried")
        repos.payments.record_unmatched(event, received_at)
        return Result(None, Outcome.UNKNOWN)
    raise_problem = True
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
            order = _order_for(event, repos) or order  # read again; the intent may have been linked meanwhile
        expected = order.version
        decision = apply_provider_event(order, event, now, max_failures)
        if not decision.applied:
            _credit_refunds(order, repos, now)
            return Result(order.order_id, Outcome.DUPLICATE, cancelled=_cancel_if_due(order, repos, now))
        order.version += 1
        writes: list[Write | Sequence[Write]] = [repos.orders.save(order, expected),
                                                 repos.events.publish_all(decision.events)]
        if decision.adopted_intent:
            writes.append(repos.payments.link_intent(decision.adopted_intent, order.order_id))
        if decision.problem and raise_problem:
            writes.append(repos.reconciliation.raise_exception(_payment_exception(order, decision.problem, now)))
        try:
            repos.commit(*writes)
        except Refused as refused:
            # The problem is listed already (same moment): write the rest without it. The intent
            # linked to another order meanwhile: the next read finds that order (`_order_for`).
            if any(isinstance(o, AlreadyExists) and o.entity == "exception" for o in refused.outcomes):
                raise_problem = False
            continue
        except CommitFailed:
            continue
        _credit_refunds(order, repos, now)
        return Result(order.order_id, Outcome.APPLIED, cancelled=_cancel_if_due(order, repos, now),
                      problem=decision.problem)
    raise Busy(f"order {order.order_id} is changing too fast to apply payment event {event.event_id}")


def _order_for(event: ProviderEvent, repos: Repositories) -> Order | None:
    """The order an intent is linked to (at capture, or by an earlier event) owns its events, whatever
    the metadata says; else metadata.order_id names the order (the shop created the intent after the
    order), unless that order pays with another intent."""
    if event.intent_id:
        linked = repos.payments.order_for_intent(event.intent_id)
        if linked:
            return repos.orders.get(linked)
    if event.order_id:
        order = repos.orders.get(event.order_id)
        if order is not None and (event.intent_id is None or order.pay.intent_id in (None, event.intent_id)):
            return order
    return None


def _cancel_if_due(order: Order, repos: Repositories, now: datetime) -> bool:
    """A payment given up, or an intent canceled before any capture, cancels the order (stock
    released). Decided from the stored state, so a redelivery after a crash between the payment's
    commit and the cancellation still cancels."""
    from shared.domain.orders import CANCELLABLE, OrderStatus
    from shared.domain.payments import PaymentStatus
    from shared.domain.principal import OPERATOR, Principal
    from shared.errors import Conflict
    from shared.services.order_actions import cancel_order

    pay = order.pay
    given_up = pay.status == PaymentStatus.FAILED or (pay.status == PaymentStatus.VOIDED and pay.captured == 0)
    if not given_up or order.status == OrderStatus.CANCELLED or order.status not in CANCELLABLE:
        return False
    reason = f"payment {pay.status.value}: {pay.last_failure or 'the authorisation was released'}"
    try:
        # On the payment's behalf: the operator principal sees every channel's orders.
        cancel_order(order.order_id, Principal(OPERATOR), reason[:200], repos, now)
    except Conflict:
        return False  # it moved past cancelling meanwhile (shipped): the payment problem stays listed
    return True


def _credit_refunds(order: Order, repos: Repositories, now: datetime) -> None:
    from shared.services.invoicing import credit_refunds

    credit_refunds(order, repos, now)


def _payment_exception(order: Order, problem: str, now: datetime):
    from shared.domain.reconciliation import ExceptionKind, ExceptionRecord

    return ExceptionRecord(kind=ExceptionKind.PAYMENT_PROBLEM, subject=order.order_id, since=now, raised_at=now,
                           reason=problem, suggested_action="look at the payment in the provider's dashboard and "
                           "refund, capture or contact the payer as needed", order_id=order.order_id,
                           status=order.pay.status.value, channel=order.channel)
