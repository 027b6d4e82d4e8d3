"""Exchanges: a return that asks for replacement lines gets them as a new order when it is approved.

The replacement order is captured through the ordinary capture path (so it is reserved and routed at
once, or waits as a backorder like any order), on the original's channel, for the same customer and
address, under the channel order id `EXCHANGE-<rma>`, after the return's approval is committed:
approving again (after a crash before the return records it) answers the same order. It is paid by
the returned units' value, through the customer's store credit (see `create_exchange`). When the
replacement costs more, the order is held PAYMENT_MISMATCH naming the difference, for the channel
to collect before an operator releases it; when it costs less, the rest of the value is refunded
when the units come back (shared/services/return_refunds.py takes what paid the exchange off the
refund, and a credit note on the original order takes that part back as well).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shared.domain.events import DomainEvent
from shared.domain.orders import Order, OrderLine, OrderRequest, Payment
from shared.domain.return_events import ExchangeCreated, ReturnedUnits
from shared.domain.returns import ExchangeLine, RefundState, Return
from shared.errors import InvalidInput
from shared.repositories import Repositories


def exchange_prices(order: Order, lines: list[ExchangeLine]) -> list[ExchangeLine]:
    """Each replacement priced: as given, else at the order's price for that SKU (its first line)."""
    prices: dict[str, Decimal] = {}
    for ordered in order.request.lines:
        prices.setdefault(ordered.sku, ordered.unit_price)
    priced = []
    for n, line in enumerate(lines):
        price = line.unit_price if line.unit_price is not None else prices.get(line.sku)
        if price is None:
            raise InvalidInput(f"{line.sku} is not in the order: give its unit_price",
                               field=f"exchange_lines.{n}.unit_price")
        priced.append(line.model_copy(update={"unit_price": price}))
    return priced


def exchange_total(lines: list[ExchangeLine]) -> Decimal:
    return sum(((ln.unit_price or Decimal(0)) * ln.quantity for ln in lines), Decimal(0))


def exchange_request(ret: Return, order: Order) -> OrderRequest:
    """The replacement order's request: its lines at their prices, paid with the store credit the
    returned value becomes (up to the replacement's total). Checked when the return is requested, so
    a replacement that could never be an order is a 422 then, not a failure at approval."""
    from pydantic import ValidationError

    from shared.domain.payments import PaymentProvider

    req = order.request
    try:
        return OrderRequest(
            channel_order_id=f"EXCHANGE-{ret.rma_id}", customer=req.customer, shipping_address=req.shipping_address,
            lines=[OrderLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price or Decimal(0))
                   for ln in ret.exchange_lines],
            currency=req.currency, fulfillment=req.fulfillment,
            payment=Payment(status="paid", amount=_paid(ret), provider=PaymentProvider.STORE_CREDIT),
            note=f"Exchange for return {ret.rma_id} of order {req.channel_order_id}")
    except ValidationError as invalid:
        problem = invalid.errors()[0]
        raise InvalidInput(f"the replacement cannot be an order: {problem['msg']}", field="exchange_lines") from None


def _paid(ret: Return) -> Decimal:
    return min(exchange_total(ret.exchange_lines), ret.value)


def create_exchange(ret: Return, order: Order, repos: Repositories, now: datetime) -> list[DomainEvent]:
    """The replacement order for an approved return, idempotent per RMA, in two steps that each
    repeat safely: the returned value credited to the customer's store credit (entry
    `exchange-<rma>`, with StoreCreditIssued), then the order captured paying with it (the capture's
    transaction spends it under `order-EXCHANGE-<rma>`). So the books show what happened: the
    customer was given the value in advance and spent it on the replacement; a later refund of the
    replacement goes back to their store credit."""
    from shared.domain.return_events import StoreCreditIssued
    from shared.services.capture import capture_order
    from shared.unit_of_work import AlreadyApplied, Refused

    paid, req = _paid(ret), order.request
    if paid > 0:
        entry = f"exchange-{ret.rma_id}"
        credited = StoreCreditIssued(occurred_at=now, channel=ret.channel, customer_id=ret.customer_id,
                                     entry_id=entry, order_id=ret.order_id, rma_id=ret.rma_id, amount=str(paid),
                                     currency=req.currency)
        try:
            repos.commit(repos.store_credit.move(ret.channel, ret.customer_id, entry, paid, req.currency, now,
                                                 order_id=ret.order_id, rma_id=ret.rma_id,
                                                 note="returned value, for an exchange"),
                         repos.events.publish(credited))
        except Refused as refused:
            if refused.find(AlreadyApplied) is None:
                raise
    made = capture_order(exchange_request(ret, order), order.channel, repos, now).order
    return [ExchangeCreated(occurred_at=now, rma_id=ret.rma_id, order_id=ret.order_id, channel=ret.channel,
                            status=ret.status.value, exchange_order_id=made.order_id,
                            lines=[ReturnedUnits(line=n, sku=ln.sku, quantity=ln.quantity)
                                   for n, ln in enumerate(ret.exchange_lines)],
                            difference=str(exchange_total(ret.exchange_lines) - ret.value), currency=req.currency)]


def exchange_credit(ret: Return) -> Decimal:
    """What of the returned value paid the exchange and is not refunded: at most the replacement's
    total, less what earlier refunds of the return already counted."""
    if ret.exchange_order_id is None:
        return Decimal(0)
    used = min(exchange_total(ret.exchange_lines), ret.value)
    counted = sum((r.exchanged for r in ret.refunds if r.state is not RefundState.REFUSED), Decimal(0))
    return max(used - counted, Decimal(0))
