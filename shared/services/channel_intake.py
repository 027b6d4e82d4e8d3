"""Channel intake: a channel's order, in its own format already mapped (shared/channels/), enters the
one capture path, so exactly-once, holds, routing and events stay as they are.

- A new channel order is captured (on hold CHANNEL_MAPPING when something could not be mapped).
- A newer revision of a known order (the channel's `updated_at`) is recorded on the order; where it
  changes lines or the address before allocation it replaces them and the order is verified again;
  a payment the channel now reports as paid releases the order's AWAITING_PAYMENT hold. A revision
  not newer than the one applied is stale: webhooks arrive out of order, and an `orders/updated`
  that comes before its `orders/create` is captured itself, the create then being stale.
- A cancellation cancels the order, or, once it has shipped, lists an exception for an operator.
- A webhook delivery is taken once (its id written in the same transaction as its effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.adapters.expressions import Write
from shared.channels.intake import ChannelOrder, IntakeAction, MappingProblem
from shared.domain.channels import Channel
from shared.domain.events import ChannelOrderUpdated, DomainEvent, OrderReleased
from shared.domain.exception_records import ExceptionKind, ExceptionRecord
from shared.domain.orders import ChannelRecord, HoldReason, IntakeProblem, Order, OrderRequest, OrderStatus
from shared.domain.payment_events import apply_provider_event
from shared.domain.payments import PaymentMethod, PaymentProvider
from shared.domain.principal import Principal
from shared.errors import Busy, Conflict, OmsError
from shared.payments.provider import ProviderEvent, ProviderEventKind
from shared.repositories import Repositories
from shared.services.capture import capture_order
from shared.unit_of_work import AlreadyApplied, Contention, Refused, StaleVersion

ATTEMPTS = 3
# Holds raised from the order's data: a revision that replaces the data drops them, and allocation
# verifies the new data from scratch. Other holds (a person's decision pending) stay.
DATA_HOLDS = frozenset({HoldReason.CHANNEL_MAPPING, HoldReason.UNKNOWN_SKU, HoldReason.UNDELIVERABLE_ADDRESS,
                        HoldReason.PAYMENT_MISMATCH})
BEFORE_ALLOCATION = frozenset({OrderStatus.RECEIVED, OrderStatus.ON_HOLD})
CLOSED = frozenset({OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.COMPLETED})
PAID_STATUSES = frozenset({"paid", "authorized"})


class IntakeOutcome(StrEnum):
    CAPTURED = "captured"
    UPDATED = "updated"  # a newer revision replaced lines or address before allocation
    RECORDED = "recorded"  # a newer revision was recorded (too late to change what it asked)
    STALE = "stale"  # a revision not newer than the one applied: ignored
    DUPLICATE = "duplicate"  # this delivery was taken before
    CANCELLED = "cancelled"
    CANCEL_REFUSED = "cancel_refused"  # too late to cancel: an exception is listed for an operator
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class IntakeResult:
    outcome: IntakeOutcome
    order_id: str | None = None
    detail: str | None = None


def receive_channel_order(channel: Channel, message: ChannelOrder, repos: Repositories, now: datetime,
                          delivery_id: str | None = None) -> IntakeResult:
    # No read of the delivery first: its conditional write in the change's transaction refuses a
    # redelivery (answered duplicate, or stale when the order it made is found first), for one
    # request less per order.
    claim: list[Write] = [repos.channels.take_delivery(channel.channel_id, delivery_id, now)] if delivery_id else []
    try:
        if message.action == IntakeAction.ACKNOWLEDGE or message.request is None and \
                message.action == IntakeAction.UPSERT:
            _write_claim(repos, claim)
            return IntakeResult(IntakeOutcome.ACKNOWLEDGED, _known(channel, message, repos))
        if message.action == IntakeAction.CANCEL:
            return _cancel(channel, message, repos, now, claim)
        return _upsert(channel, message, repos, now, claim)
    except Refused as refused:
        if refused.find(AlreadyApplied):  # this delivery was taken before (or by a concurrent redelivery)
            return IntakeResult(IntakeOutcome.DUPLICATE)
        raise


def _upsert(channel: Channel, message: ChannelOrder, repos: Repositories, now: datetime,
            claim: list[Write]) -> IntakeResult:
    assert message.request is not None
    request = message.request.model_copy(update={"channel_order_id": message.channel_order_id})
    record = ChannelRecord(revision=message.revision, display_id=message.display_id, status=message.channel_status,
                           problems=_problems(channel, message, request))
    for _ in range(ATTEMPTS):
        # Capture first: a new order costs its one transaction, and the channel order key's condition
        # says when the order is known.
        try:
            captured = capture_order(request, channel.channel_id, repos, now, PaymentProvider.EXTERNAL,
                                     channel_record=record, also_write=claim)
        except Conflict:  # known, with another body: this message is a revision of it
            key = repos.orders.get_channel_key(channel.channel_id, message.channel_order_id)
            order = repos.orders.get(key.order_id) if key else None
            if order is None:
                continue
            result = _revise(order, request, record, repos, now, claim)
            if result is not None:
                return result
            continue
        if captured.created:
            return IntakeResult(IntakeOutcome.CAPTURED, captured.order.order_id)
        # The body of its first capture: still a revision to compare (the order may have changed since).
        result = _revise(captured.order, request, record, repos, now, claim)
        if result is not None:
            return result
    raise Busy("the order changed while this revision was applied; retry the same delivery")


def _revise(order: Order, request: OrderRequest, record: ChannelRecord, repos: Repositories, now: datetime,
            claim: list[Write]) -> IntakeResult | None:
    """Apply a newer revision to a known order; None when the order changed meanwhile (retry).

    Before allocation the revision replaces the order's data (lines, address, amounts, problems) and
    the order is verified again; after, it is recorded, and changed lines are an exception for a
    person (stock is reserved and fulfilment may be under way). A closed order takes nothing."""
    known = order.channel_record
    if known is not None and record.revision <= known.revision:
        _write_claim(repos, claim)
        return IntakeResult(IntakeOutcome.STALE, order.order_id, "a revision as new or newer was applied")
    if order.status in CLOSED:
        _write_claim(repos, claim)
        return IntakeResult(IntakeOutcome.STALE, order.order_id, f"the order is {order.status.value}")
    expected = order.version
    changed = _differences(order.request, request)
    problems_changed = known is None or known.problems != record.problems
    applied = order.status in BEFORE_ALLOCATION and (bool(changed) or problems_changed)
    events: list[DomainEvent] = []
    writes: list[Write] = []
    if applied:
        events += _replace_request(order, request, now)
        order.channel_record = record
    else:
        order.channel_record = record.model_copy(update={"problems": known.problems if known else record.problems})
        if changed:
            order.history.append(_note(order, now, f"channel revision {record.revision.isoformat()} not applied "
                                                   f"({', '.join(changed)} changed after allocation)"))
        if "lines" in changed:
            writes.append(repos.reconciliation.raise_exception(ExceptionRecord(
                kind=ExceptionKind.CHANNEL_CONFLICT, subject=order.order_id, since=now, raised_at=now,
                order_id=order.order_id, reason=f"the {order.channel} channel changed the order's lines after its "
                                                "stock was reserved; the OMS keeps the lines it allocated",
                suggested_action="cancel the lines no longer wanted (POST /orders/{id}/cancel with lines), or "
                                 "restore them in the channel")))
    if "payment_status" in changed and request.payment.status in PAID_STATUSES \
            and order.pay.method != PaymentMethod.CASH_ON_DELIVERY:
        # Cash on delivery is collected on delivery (settle-payments): a channel marking it paid
        # afterwards is the same money, not more.
        events += _channel_paid(order, request, record, now)
    events.append(ChannelOrderUpdated(occurred_at=now, order_id=order.order_id, channel=order.channel,
                                      channel_order_id=request.channel_order_id, revision=record.revision,
                                      applied=applied, changed=changed))
    order.updated_at, order.version = now, expected + 1
    try:
        repos.commit(repos.orders.save(order, expected), [repos.events.publish(e) for e in events], writes, claim)
    except Refused as refused:
        if refused.only(StaleVersion):
            return None
        raise
    except Contention:
        return None
    return IntakeResult(IntakeOutcome.UPDATED if applied else IntakeOutcome.RECORDED, order.order_id,
                        ", ".join(changed) or None)


def _replace_request(order: Order, request: OrderRequest, now: datetime) -> list[DomainEvent]:
    """The channel's newer data replaces ours before any stock was reserved, and the order is verified
    again from scratch: every hold raised from the old data goes (open or released: verification
    raises again what still holds), and an order no longer held goes back to allocation."""
    order.request = request
    order.request_fingerprint = request.fingerprint()
    order.total = request.total
    pay = order.pay
    if not pay.movements:
        pay.amount_due = request.total  # the payment's record is kept: only what it is asked to cover moves
    dropped = [h for h in order.holds if h.reason in DATA_HOLDS]
    order.holds = [h for h in order.holds if h not in dropped]
    if order.status != OrderStatus.ON_HOLD or order.open_holds:
        return []
    order.move_to(OrderStatus.RECEIVED, now, note="channel revision replaced the order's data: verified again")
    return [OrderReleased(occurred_at=now, order_id=order.order_id, channel=order.channel,
                          released=sorted({h.reason.value for h in dropped}), released_by="channel revision")]


def _channel_paid(order: Order, request: OrderRequest, record: ChannelRecord, now: datetime) -> list[DomainEvent]:
    """The channel took the money it reported pending before (Shopify orders/paid, a Woo order now
    processing): the payment record learns it as a provider event would, and a hold waiting for the
    payment is released."""
    paid = request.payment
    event = ProviderEvent(
        provider=PaymentProvider.EXTERNAL.value, event_id=f"channel:{order.channel}:{record.revision.isoformat()}",
        kind=ProviderEventKind.SUCCEEDED, created=record.revision, currency=request.currency,
        amount=paid.amount, amount_received=paid.amount if paid.status == "paid" else None,
        amount_capturable=paid.amount if paid.status == "authorized" else None)
    # The decision's events: the payment's own (PaymentCaptured, PaymentAuthorized) and OrderReleased.
    return list(apply_provider_event(order, event, now, max_failures=1_000_000).events)


def _cancel(channel: Channel, message: ChannelOrder, repos: Repositories, now: datetime,
            claim: list[Write]) -> IntakeResult:
    from shared.services.order_actions import cancel_order

    order_id = _known(channel, message, repos)
    if order_id is None:
        if message.request is None:  # nothing of it ever reached us: nothing to cancel
            _write_claim(repos, claim)
            return IntakeResult(IntakeOutcome.ACKNOWLEDGED, None, "unknown order")
        captured = _upsert(channel, message, repos, now, [])  # then cancelled like any other
        order_id = captured.order_id
    assert order_id is not None
    reason = f"cancelled in {channel.kind.value}" + (f": {message.cancel_reason}" if message.cancel_reason else "")
    try:
        cancel_order(order_id, Principal(channel.channel_id), reason, repos, now)
    except Conflict as too_late:
        repos.commit(repos.reconciliation.raise_exception(ExceptionRecord(
            kind=ExceptionKind.CHANNEL_CONFLICT, subject=order_id, since=now, raised_at=now, order_id=order_id,
            reason=f"{channel.kind.value} cancelled the order but it cannot be cancelled here: {too_late.message}",
            suggested_action="stop the parcel with the carrier, or refund and return it in the channel")), claim)
        return IntakeResult(IntakeOutcome.CANCEL_REFUSED, order_id, too_late.message)
    _write_claim(repos, claim)
    return IntakeResult(IntakeOutcome.CANCELLED, order_id)


def _known(channel: Channel, message: ChannelOrder, repos: Repositories) -> str | None:
    key = repos.orders.get_channel_key(channel.channel_id, message.channel_order_id)
    return key.order_id if key else None


def _problems(channel: Channel, message: ChannelOrder, request: OrderRequest) -> list[IntakeProblem]:
    found = list(message.problems)
    allowed = channel.settings.currencies
    if allowed and request.currency not in allowed:
        found.append(MappingProblem("currency", f"{request.currency} is not a currency channel "
                                                f"{channel.channel_id} sells in ({', '.join(allowed)})"))
    return [IntakeProblem(field=p.field, problem=p.problem) for p in found]


def _differences(before: OrderRequest, after: OrderRequest) -> list[str]:
    changed = []
    if [(ln.sku, ln.quantity, ln.unit_price) for ln in before.lines] != \
            [(ln.sku, ln.quantity, ln.unit_price) for ln in after.lines]:
        changed.append("lines")
    if before.shipping_address != after.shipping_address:
        changed.append("shipping_address")
    if before.payment.status != after.payment.status:
        changed.append("payment_status")
    if before.total != after.total:
        changed.append("total")
    if before.note != after.note:
        changed.append("note")
    return changed


def _note(order: Order, now: datetime, text: str):
    from shared.domain.orders import StatusChange

    return StatusChange(status=order.status, at=now, note=text)


def _write_claim(repos: Repositories, claim: list[Write]) -> None:
    """Take a delivery that changed nothing (stale, same body, acknowledged, cancelled before): a
    delivery taken before raises Refused(AlreadyApplied), which the caller answers as a duplicate."""
    if claim:
        repos.commit(claim)


def keep_unreadable(channel: Channel, delivery_id: str | None, topic: str, body: str, error: OmsError,
                    repos: Repositories, now: datetime) -> None:
    """A channel's payload that is no order we can read: kept as sent (30 days) with an exception
    for an operator, so nothing a channel sent is lost."""
    subject = f"{channel.channel_id}/{delivery_id or now.isoformat()}"
    repos.channels.keep_rejected(channel.channel_id, delivery_id or "-", topic, body, error.message, error.field, now)
    repos.commit(repos.reconciliation.raise_exception(ExceptionRecord(
        kind=ExceptionKind.CHANNEL_PAYLOAD_REJECTED, subject=subject[:400], since=now, raised_at=now,
        reason=f"a {channel.kind.value} {topic or 'message'} could not be read: {error.message}",
        suggested_action=f"read it at GET /channels/{channel.channel_id}/rejected, fix the channel's mapping "
                         "or the shop, and resend it")))
