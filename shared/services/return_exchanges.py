"""Exchanges: a return that asks for replacement lines gets them as a new order when it is approved.

The replacement order is captured through the ordinary capture path (so it is reserved and routed at
once, or waits as a backorder like any order), on the original's channel, for the same customer and
address, under the channel order id `EXCHANGE-<rma>`: approving again (after a crash between the
capture and the return's save) answers the same order. It is paid by the returned units' value:
its payment is recorded as paid for up to that value. When the replacement costs more, the order is
held PAYMENT_MISMATCH naming the difference, for the channel to collect before an operator releases
it; when it costs less, the rest of the value is refunded when the units come back
(shared/services/return_refunds.py takes what paid the exchange off the refund).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shared.domain.orders import Order, OrderLine, OrderRequest, Payment
from shared.domain.return_events import ExchangeCreated, ReturnedUnits
from shared.domain.returns import ExchangeLine, Return
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


def create_exchange(ret: Return, order: Order, repos: Repositories, now: datetime) -> ExchangeCreated:
    """The replacement order for an approved return (idempotent per RMA) and the event announcing it."""
    from shared.services.capture import capture_order

    total = exchange_total(ret.exchange_lines)
    paid = min(total, ret.value)
    req = order.request
    request = OrderRequest(
        channel_order_id=f"EXCHANGE-{ret.rma_id}", customer=req.customer, shipping_address=req.shipping_address,
        lines=[OrderLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price or Decimal(0))
               for ln in ret.exchange_lines],
        currency=req.currency, payment=Payment(status="paid", amount=paid), fulfillment=req.fulfillment,
        note=f"Exchange for return {ret.rma_id} of order {req.channel_order_id}")
    made = capture_order(request, order.channel, repos, now).order
    return ExchangeCreated(occurred_at=now, rma_id=ret.rma_id, order_id=ret.order_id, channel=ret.channel,
                           status=ret.status.value, exchange_order_id=made.order_id,
                           lines=[ReturnedUnits(line=n, sku=ln.sku, quantity=ln.quantity)
                                  for n, ln in enumerate(ret.exchange_lines)],
                           difference=str(total - ret.value), currency=req.currency)


def exchange_credit(ret: Return) -> Decimal:
    """What of the returned value paid the exchange and is not refunded: at most the replacement's
    total, less what earlier refunds of the return already counted."""
    if ret.exchange_order_id is None:
        return Decimal(0)
    used = min(exchange_total(ret.exchange_lines), ret.value)
    return max(used - sum((r.exchanged for r in ret.refunds), Decimal(0)), Decimal(0))
