"""Settling an order's payment as its goods move (settle-payments, from domain events):

- a shipment left (ShipmentDispatched) or a pickup was collected (FulfillmentOrderChanged COLLECTED):
  invoice what was handed over (shared/services/invoicing.py) and capture the invoice's total, at
  most what is still authorised; once the order has nothing more to ship and every handover is
  captured, release the uncaptured rest;
- the order was cancelled (OrderCancelled): release what is authorised, refund what was captured;
- the order was delivered (OrderDelivered): cash on delivery is collected.

Money moves at most once per intent: every provider call carries an idempotency key derived from
what it settles (`capture-<order>-<handover>`, `release-<order>`, `refund-cancel-<order>`), so a
Lambda that crashes after the provider answered and before the order was written repeats the same
call on redelivery and gets the first answer back, and the recorded movement is keyed the same way,
so it is counted once. A capture the provider refuses does not undo the shipment: the order's
payment records the refusal and an operator gets an exception (PAYMENT_PROBLEM).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.adapters.expressions import Write
from shared.domain.events import (
    CodCollected,
    DomainEvent,
    PaymentCaptured,
    PaymentCaptureRefused,
    PaymentRefunded,
    PaymentVoided,
)
from shared.domain.exception_records import ExceptionKind, ExceptionRecord
from shared.domain.fulfillment import FulfillmentStatus
from shared.domain.invoices import InvoiceDocument
from shared.domain.money import ZERO
from shared.domain.orders import Order, OrderStatus
from shared.domain.payment_events import payment_event
from shared.domain.payments import Movement, MovementKind, Payment, PaymentMethod, PaymentProvider, check_forward
from shared.errors import Busy
from shared.payments.provider import PaymentDeclined
from shared.payments.provider import PaymentProvider as Gateway
from shared.payments.sandbox import SandboxProvider
from shared.repositories import Repositories
from shared.services.invoicing import InvoicingSettings, issue_invoice
from shared.unit_of_work import CommitFailed

ATTEMPTS = 5
DONE_SHIPPING = (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
GatewayFor = Callable[[PaymentProvider], Gateway]


@dataclass
class Settled:
    order_id: str
    events: list[str] = field(default_factory=list)   # the event types announced
    problem: str | None = None


def settle_handover(order_id: str, handover_id: str, handed: dict[str, int], repos: Repositories,
                    gateway_for: GatewayFor, now: datetime, invoicing: InvoicingSettings,
                    read: tuple[Order, list[InvoiceDocument]] | None = None) -> Settled:
    """Invoice one shipment or collected pickup, capture the invoice's total (once, at most what is
    still authorised), then release the rest if nothing more ships. The invoice comes first and is
    idempotent per handover: a redelivery after a crash finds it and captures the same amount.
    `read`: the order and its documents as the batch's invoicing left them (shared/services/invoice_batch.py)."""
    # One read of the order's partition, unless the batch's invoicing just made it.
    order, documents = read if read is not None else repos.invoices.order_and_documents(order_id)
    if order is None:
        return Settled(order_id, problem="no such order")
    invoice = issue_invoice(order, handover_id, handed, repos, now, invoicing, documents)

    def change(order: Order, pay: Payment, events: list[DomainEvent]) -> str | None:
        problem = None
        done = next((m for m in pay.movements if m.key == handover_id and m.kind in (
            MovementKind.CAPTURE, MovementKind.CAPTURE_REFUSED, MovementKind.NOTHING_DUE)), None)
        # From what the provider's reports do not move (webhooks may raise `captured` meanwhile), so a
        # retry asks for the same amount under the same key and gets the first answer back.
        ours = sum((m.amount for m in pay.movements if m.kind == MovementKind.CAPTURE), ZERO)
        room = max(pay.authorized - ours, ZERO) if pay.authorization_open else ZERO
        amount = min(invoice.gross, room)
        if done is None and invoice.gross <= 0 and pay.authorization_open:
            # Free items: nothing to capture, yet the handover is settled (the rest can be released).
            pay.record(MovementKind.NOTHING_DUE, handover_id, ZERO, now)
        elif done is None and amount > 0 and pay.method == PaymentMethod.PREPAID:
            before = pay.model_copy(deep=True)
            try:
                if pay.moves_money:
                    answer = _gateway(pay, gateway_for).capture(
                        pay.intent_id or "", amount, pay.currency, f"capture-{order_id}-{handover_id}", final=False)
                    pay.charge_id = answer.charge_id or pay.charge_id
                    pay.record(MovementKind.CAPTURE, handover_id, amount, now, provider_ref=answer.charge_id)
                    pay.reported(captured=answer.amount_received, now=now)
                else:  # the channel captures: the event is its instruction
                    pay.record(MovementKind.CAPTURE, handover_id, amount, now)
                if pay.captured > before.captured:  # else the provider's webhook reported (and announced) it
                    events.append(payment_event(PaymentCaptured, order, before, amount, now,
                                                shipment_id=handover_id, final=False))
                if amount < invoice.gross:
                    problem = (f"invoice {invoice.number} is {invoice.gross} {pay.currency}; only {amount} was "
                               "still authorised to capture")
            except PaymentDeclined as declined:
                pay.record(MovementKind.CAPTURE_REFUSED, handover_id, amount, now)
                pay.capture_problem = problem = f"capture of {amount} {pay.currency} for {handover_id} refused: " \
                                                f"{declined.message}"[:500]
                events.append(payment_event(PaymentCaptureRefused, order, before, amount, now,
                                            shipment_id=handover_id, reason=declined.code))
        if order.status in DONE_SHIPPING and every_handover_settled(order, pay):
            _release(order, pay, gateway_for, now, events)
        return problem

    return _settle(order_id, repos, now, change, first_read=order)


def settle_collection(order_id: str, fulfillment_order_id: str, repos: Repositories, gateway_for: GatewayFor,
                      now: datetime, invoicing: InvoicingSettings) -> Settled:
    """A click-and-collect order was handed over in the store: capture its lines as a shipment's."""
    fo = repos.fulfillment.get(fulfillment_order_id)
    if fo is None or fo.status != FulfillmentStatus.COLLECTED:
        return Settled(order_id)
    handed = {line.sku: line.quantity for line in fo.lines}
    return settle_handover(order_id, fulfillment_order_id, handed, repos, gateway_for, now, invoicing)


def settle_cancellation(order_id: str, repos: Repositories, gateway_for: GatewayFor, now: datetime) -> Settled:
    """The order was cancelled: release the authorisation, refund what was captured (paid at checkout)."""
    def change(order: Order, pay: Payment, events: list[DomainEvent]) -> str | None:
        if order.status != OrderStatus.CANCELLED:
            return None
        _release(order, pay, gateway_for, now, events)
        refundable = pay.refundable if pay.method == PaymentMethod.PREPAID else ZERO
        return _refund(order, pay, refundable, f"cancel-{order_id}", gateway_for, now, events)

    return _settle(order_id, repos, now, change)


def settle_line_cancellation(order_id: str, cancellation_id: str, amount: Decimal, repos: Repositories,
                             gateway_for: GatewayFor, now: datetime) -> Settled:
    """Lines were cancelled before they shipped (`amount`: their value): less is owed. What was
    captured beyond what is still owed (a paid order) is refunded; what was only authorised is not
    captured for them, and once nothing more ships the rest is released."""
    def change(order: Order, pay: Payment, events: list[DomainEvent]) -> str | None:
        # Cancellation ids are the caller's, unique per order only: the order is in the key (a
        # provider's idempotency keys are unique per account).
        key = f"lines-{order_id}-{cancellation_id}"
        pay.record(MovementKind.DUE_REDUCED, key, amount, now)
        problem = None
        # The last lines cancelled cancel the order too: its own settlement refunds all that was paid
        # (two refunds racing for the same money would make one of them fail).
        if pay.method == PaymentMethod.PREPAID and order.status != OrderStatus.CANCELLED:
            problem = _refund(order, pay, min(amount, pay.refundable - pay.due), key, gateway_for, now, events)
        if order.status in DONE_SHIPPING and every_handover_settled(order, pay):
            _release(order, pay, gateway_for, now, events)
        return problem

    return _settle(order_id, repos, now, change)


def settle_return_refund(order_id: str, refund_key: str, amount: Decimal, repos: Repositories,
                         gateway_for: GatewayFor, now: datetime) -> Settled:
    """A return's refund to the original payment, once per `refund_key` (the provider's idempotency
    key is `refund-<refund_key>`, and the movement remembers the key): a retry after a crash between
    the provider's refund and our record finds the provider's first answer and records it once.
    More than what was paid and not yet refunded is refused (a problem for a person), not trimmed."""
    def change(order: Order, pay: Payment, events: list[DomainEvent]) -> str | None:
        if any(_made_for(m, refund_key) for m in pay.movements):
            return None
        # Through a provider, ask it first even when our books say too little is left: a refund of this
        # very key it already made (its webhook recorded it under the provider's id) is answered again
        # and matched, where a check on our books would call it refused. The provider itself refuses a
        # refund of more than was paid.
        if not pay.moves_money and amount > pay.refundable:
            return (f"return refund {refund_key} of {amount} {pay.currency} is more than the {pay.refundable} "
                    "paid and not yet refunded")
        return _refund(order, pay, amount, refund_key, gateway_for, now, events)

    return _settle(order_id, repos, now, change)


def refund_of(order: Order, refund_key: str) -> str | None:
    """The provider's refund id (or our key, when the channel refunds) recorded for `refund_key`."""
    return next((m.key for m in order.pay.movements if _made_for(m, refund_key)), None)


def _made_for(m: Movement, key: str) -> bool:
    """A refund movement made for `key`: recorded by the call (keyed or referenced by it) or by the
    provider's webhook, which carries our idempotency key `refund-<key>`."""
    return m.kind == MovementKind.REFUND and (key in (m.key, m.provider_ref) or m.provider_ref == f"refund-{key}")


def settle_delivery(order_id: str, repos: Repositories, gateway_for: GatewayFor, now: datetime) -> Settled:
    """Delivered (or collected in store): cash on delivery is in."""
    def change(order: Order, pay: Payment, events: list[DomainEvent]) -> str | None:
        if pay.method != PaymentMethod.CASH_ON_DELIVERY or order.status not in (OrderStatus.DELIVERED,
                                                                                OrderStatus.COMPLETED):
            return None
        before = pay.model_copy(deep=True)
        if pay.record(MovementKind.COLLECTION, "delivery", pay.due, now):
            events.append(payment_event(CodCollected, order, before, pay.due, now))
        return None

    return _settle(order_id, repos, now, change)


def _gateway(pay: Payment, gateway_for: GatewayFor) -> Gateway:
    gateway = gateway_for(pay.provider)
    if isinstance(gateway, SandboxProvider) and pay.intent_id and not gateway.knows(pay.intent_id):
        # No web shop made the sandbox's intent (the local demo pays with a signed webhook alone): it
        # learns the authorisation from the order.
        gateway.register_intent(pay.intent_id, pay.authorized, pay.currency)
    return gateway


def _refund(order: Order, pay: Payment, amount: Decimal, key: str, gateway_for: GatewayFor, now: datetime,
            events: list[DomainEvent]) -> str | None:
    """Refund `amount` once for `key` (a cancellation). Through the provider the movement is keyed by
    the provider's refund id (its webhook about the same refund then counts once) and remembers
    `key`; the provider call carries `refund-<key>` as idempotency key, so a retry refunds nothing
    more."""
    done = any(_made_for(m, key) for m in pay.movements)
    if amount <= 0 or done:
        return None
    before = pay.model_copy(deep=True)
    if pay.moves_money:
        try:
            refund = _gateway(pay, gateway_for).refund(pay.intent_id or "", amount, pay.currency, f"refund-{key}",
                                                      reason="requested_by_customer")
        except PaymentDeclined as declined:  # e.g. refunded in the dashboard meanwhile: a person looks
            return f"refund of {amount} {pay.currency} ({key}) refused: {declined.message}"[:500]
        refund_id = refund.refund_id
        if not pay.record(MovementKind.REFUND, refund_id, refund.amount, now, provider_ref=key):
            # Its webhook came first and recorded (and announced) it: remember what it was for.
            known = pay.movement(MovementKind.REFUND, refund_id)
            if known is not None:
                known.provider_ref = key
            return None
    else:  # the channel refunds: the event is its instruction
        pay.record(MovementKind.REFUND, key, amount, now)
        refund_id = key
    events.append(payment_event(PaymentRefunded, order, before, amount, now, refund_id=refund_id))
    return None


def every_handover_settled(order: Order, pay: Payment) -> bool:
    """Nothing more ships, and each parcel (or, for a pickup order, the collection) has its capture
    recorded or refused: the rest of the authorisation is not needed any more."""
    settled = {m.key for m in pay.movements
               if m.kind in (MovementKind.CAPTURE, MovementKind.CAPTURE_REFUSED, MovementKind.NOTHING_DUE)}
    if order.request.fulfillment.type == "pickup":
        return bool(settled)
    return all(shipment_id in settled for shipment_id in order.shipment_ids)


def _release(order: Order, pay: Payment, gateway_for: GatewayFor, now: datetime, events: list[DomainEvent]) -> None:
    if not pay.authorization_open:
        return
    before = pay.model_copy(deep=True)
    rest = pay.capturable
    if pay.moves_money and rest > 0:
        answer = _gateway(pay, gateway_for).void(pay.intent_id or "", f"release-{order.order_id}")
        pay.reported(captured=answer.amount_received, now=now)
    pay.release(now)
    if rest > 0:  # all of it captured: closing it releases nothing worth announcing
        events.append(payment_event(PaymentVoided, order, before, rest, now))


def _to_store_credit(order: Order, events: list[DomainEvent], repos: Repositories, now: datetime) -> list[Write]:
    """What is refunded of an order paid with store credit goes back to the customer's ledger in the
    transaction that records the refund (one entry per refund id: a retry credits nothing more)."""
    if order.pay.provider != PaymentProvider.STORE_CREDIT:
        return []
    from shared.domain.money import quantum
    from shared.domain.return_events import StoreCreditIssued

    writes: list[Write] = []
    for e in events:
        if isinstance(e, PaymentRefunded):
            # Cancelled lines are valued to the currency's minor unit already; quantize all the same, as
            # a ledger holds whole minor units.
            amount = Decimal(e.amount).quantize(quantum(order.request.currency))
            entry = f"refund-{e.refund_id}"
            writes.extend(repos.store_credit.move(order.channel, order.request.customer.id, entry, amount,
                                                  order.request.currency, now, order_id=order.order_id,
                                                  note="refund of an order paid with store credit"))
            writes.append(repos.events.publish(StoreCreditIssued(
                occurred_at=now, channel=order.channel, customer_id=order.request.customer.id, entry_id=entry,
                order_id=order.order_id, amount=str(amount), currency=order.request.currency)))
    return writes


Change = Callable[[Order, Payment, list[DomainEvent]], str | None]


def _settle(order_id: str, repos: Repositories, now: datetime, change: Change, first_read: Order | None = None
            ) -> Settled:
    """`first_read`: the order as the caller just read it, for the first attempt (a read saved)."""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
        order = first_read if attempt == 0 and first_read is not None else repos.orders.get(order_id)
        if order is None:
            return Settled(order_id, problem="no such order")
        expected, pay = order.version, order.pay
        before = pay.model_copy(deep=True)
        events: list[DomainEvent] = []
        problem = change(order, pay, events)
        if not events and pay == before and not problem:
            return Settled(order_id)
        check_forward(before, pay)
        order.version += 1
        order.updated_at = now
        all_writes: list[Write | Sequence[Write]] = [repos.orders.save(order, expected),
                                                     repos.events.publish_all(events),
                                                     _to_store_credit(order, events, repos, now)]
        if problem:
            all_writes.append(repos.reconciliation.raise_exception(ExceptionRecord(
                kind=ExceptionKind.PAYMENT_PROBLEM, subject=order_id, since=now, raised_at=now, reason=problem,
                suggested_action="look at the payment at the provider: capture (a new authorisation), refund or "
                                 "write off as the reason says",
                order_id=order_id, status=pay.status.value, channel=order.channel)))
        try:
            repos.commit(*all_writes)
        except CommitFailed:
            continue  # the order moved meanwhile: read again; provider calls repeat under the same keys
        return Settled(order_id, events=[e.event_type for e in events], problem=problem)
    raise Busy(f"order {order_id} is changing too fast to settle its payment")
