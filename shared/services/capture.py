"""Capture: one channel order becomes exactly one OMS order, however often the channel retries."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.expressions import Write
from shared.domain.events import LineQuantity, OrderReceived
from shared.domain.money import quantum
from shared.domain.orders import ChannelOrderKey, ChannelRecord, Order, OrderRequest, OrderStatus, StatusChange
from shared.domain.payments import PaymentProvider, opened
from shared.errors import Busy, Conflict, InvalidInput
from shared.repositories import Repositories
from shared.unit_of_work import AlreadyExists, Contention, Refused

ATTEMPTS = 3


@dataclass(frozen=True)
class CaptureResult:
    order: Order
    created: bool


def new_order_id(now: datetime) -> str:
    """Time-ordered and unguessable: 12 hex digits of milliseconds, 12 of randomness."""
    return f"o{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


def capture_order(request: OrderRequest, channel: str, repos: Repositories, now: datetime,
                  payment_provider: PaymentProvider = PaymentProvider.SANDBOX,
                  channel_record: ChannelRecord | None = None, also_write: Sequence[Write] = (),
                  store_credit_given: bool = False) -> CaptureResult:
    """`payment_provider`: who moves the money of an order that names a payment intent but no
    provider (the merchant's configured one). `channel_record`: what a channel's own format said
    (channel intake); `also_write`: writes that must commit with the order (a webhook delivery taken);
    `store_credit_given`: an exchange's replacement, paid with store credit its own transaction gives."""
    if request.fulfillment.type == "pickup":
        # A retry must answer the order it created even if the store changed since: look first.
        known = repos.orders.get_channel_key(channel, request.channel_order_id)
        if known is not None:
            return _existing(known, _draft(request, channel, now), repos)
        store = repos.locations.get(request.fulfillment.location_id or "")
        if store is None or not store.active:
            raise InvalidInput("unknown pickup location", field="fulfillment.location_id")
        if not store.pickup_enabled:
            raise InvalidInput("this location does not offer pickup", field="fulfillment.location_id")

    if request.payment.provider == PaymentProvider.SANDBOX and payment_provider != PaymentProvider.SANDBOX:
        # The sandbox moves no money: an order naming it where real money is moved would ship unpaid.
        raise InvalidInput("the sandbox payment provider is only for the local runtime", field="payment.provider")
    order = _draft(request, channel, now, payment_provider)
    order.channel_record = channel_record
    event = OrderReceived(
        occurred_at=now,
        order_id=order.order_id,
        channel=channel,
        channel_order_id=request.channel_order_id,
        total=str(order.total),
        currency=request.currency,
        lines=[LineQuantity(sku=ln.sku, quantity=ln.quantity) for ln in request.lines],
    )
    for _ in range(ATTEMPTS):
        try:
            # Key, order and event in one transaction: no order without its key, no event without both.
            # The payment intent's link is in it too: one intent pays one order.
            intent = order.pay.intent_id
            repos.commit(repos.orders.create(order), repos.events.publish(event),
                         [repos.payments.link_intent(intent, order.order_id)] if intent else [],
                         _store_credit_spent(order, repos, now, store_credit_given), list(also_write))
            return CaptureResult(order, created=True)
        except Refused as refused:
            taken = next((o for o in refused.outcomes if isinstance(o, AlreadyExists)
                          and o.entity == "channel_order"), None)
            if taken is not None:
                return _existing(taken.existing, order, repos)
            from shared.adapters.store_credit_repo import CreditShort

            if refused.find(CreditShort) is not None:
                raise InvalidInput("the customer's store credit does not cover payment.amount",
                                   field="payment.amount") from None
            if any(isinstance(o, AlreadyExists) and o.entity == "payment_intent" for o in refused.outcomes):
                raise Conflict("payment.intent_id already pays another order", field="payment.intent_id") from None
            raise
        except Contention:
            continue
    raise Busy("the order could not be stored because of contention; retry the same request")


def _store_credit_spent(order: Order, repos: Repositories, now: datetime, given: bool = False) -> list[Write]:
    """An order paid with store credit debits the customer's ledger in its own transaction, once per
    channel order id (the entry is keyed by it) and only while the balance covers it. `given`: the
    credit is a returned value handed over for an exchange in this same transaction (entries for
    both, the balance untouched: one item cannot be updated twice in a transaction)."""
    if order.pay.provider != PaymentProvider.STORE_CREDIT:
        return []
    req = order.request
    if req.payment.amount != req.payment.amount.quantize(quantum(req.currency)):
        raise InvalidInput(f"store credit is spent in whole minor units of {req.currency}", field="payment.amount")
    if given:
        return [*repos.store_credit.passed_through(order.channel, req.customer.id, req.channel_order_id,
                                                   req.payment.amount, req.currency, now, order_id=order.order_id)]
    return list(repos.store_credit.move(order.channel, req.customer.id, f"order-{req.channel_order_id}",
                                        -req.payment.amount, req.currency, now, order_id=order.order_id,
                                        note="paid an order"))


def _draft(request: OrderRequest, channel: str, now: datetime,
           payment_provider: PaymentProvider = PaymentProvider.SANDBOX) -> Order:
    paid = request.payment
    provider = paid.provider or (payment_provider if paid.intent_id else None)
    return Order(
        order_id=new_order_id(now), channel=channel, created_at=now, updated_at=now, request=request,
        request_fingerprint=request.fingerprint(), total=request.total,
        history=[StatusChange(status=OrderStatus.RECEIVED, at=now)],
        payment=opened(paid.status, paid.amount, request.total, request.currency, provider, paid.intent_id, now),
    )


def _existing(key: ChannelOrderKey | None, attempted: Order, repos: Repositories) -> CaptureResult:
    """The order this channel order id already made, when the body is the same; else a conflict."""
    request = attempted.request
    key = key or repos.orders.get_channel_key(attempted.channel, request.channel_order_id)
    if key is None:  # the key vanished between the refusal and now: impossible unless deleted by hand
        raise Busy("retry the same request")
    order = repos.orders.get(key.order_id)
    # The key's fingerprint first; failing that, the stored request's own fingerprint as computed
    # today: an order captured before amounts were compared as numbers stored "10.00" as written, and
    # its resend with "10.0" is still the same order.
    if key.fingerprint != attempted.request_fingerprint and (
            order is None or order.request.fingerprint() != attempted.request_fingerprint):
        raise Conflict(
            f"channel_order_id {request.channel_order_id!r} was already used for a different order",
            field="channel_order_id",
        )
    if order is None:
        raise Busy("retry the same request")
    return CaptureResult(order, created=False)
