"""Exchanges: a return that asks for replacement lines is settled by a new order instead of (part of) a refund.

The replacement is made when the return is settled, once every unit came back and was inspected
(or what came when an operator closed it): no value is handed out before the goods are back, so a
return that never comes back costs nothing, and the replacement is valued by the same serialised
claim as a refund (shared/services/return_refunds.py). It is part of that claim: the PENDING refund
records `exchanged`, the part of the units' value that pays for the replacement, and moving the
money captures the replacement order through the ordinary capture path (reserved and routed at
once, or backordered like any order) on the original's channel, for the same customer and address,
under the channel order id `EXCHANGE-<rma>`, so a retry or the reconciliation's resume answers the
same order. Only the rest of the value is refunded.

The replacement is paid with store credit that the capture's own transaction gives and spends
(entries `given-EXCHANGE-<rma>` and `order-EXCHANGE-<rma>`, the balance untouched): the books show the
value moving from the return to the new order, and a later refund of the replacement goes back to
the customer's store credit. When the replacement costs more than the value, the order is held
PAYMENT_MISMATCH naming the difference, for the channel to collect before an operator releases it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shared.domain.money import quantum
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
        if price != price.quantize(quantum(order.request.currency)):
            raise InvalidInput(f"an exchange is paid in whole minor units of {order.request.currency}",
                               field=f"exchange_lines.{n}.unit_price")
        priced.append(line.model_copy(update={"unit_price": price}))
    return priced


def exchange_total(lines: list[ExchangeLine]) -> Decimal:
    return sum(((ln.unit_price or Decimal(0)) * ln.quantity for ln in lines), Decimal(0))


def exchange_request(ret: Return, order: Order, paid: Decimal) -> OrderRequest:
    """The replacement order's request: its lines at their prices, `paid` with the returned value
    through store credit. Built when the return is requested too, so a replacement that could never
    be an order is a 422 then, not a failure when the return is settled."""
    from pydantic import ValidationError

    from shared.domain.payments import PaymentProvider

    req = order.request
    try:
        return OrderRequest(
            channel_order_id=f"EXCHANGE-{ret.rma_id}", customer=req.customer, shipping_address=req.shipping_address,
            lines=[OrderLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price or Decimal(0))
                   for ln in ret.exchange_lines],
            currency=req.currency, fulfillment=req.fulfillment,
            payment=Payment(status="paid", amount=paid, provider=PaymentProvider.STORE_CREDIT),
            note=f"Exchange for return {ret.rma_id} of order {req.channel_order_id}")
    except ValidationError as invalid:
        problem = invalid.errors()[0]
        raise InvalidInput(f"the replacement cannot be an order: {problem['msg']}", field="exchange_lines") from None


def exchanged_now(ret: Return, value: Decimal) -> Decimal:
    """Of `value` (the units a claim settles), what pays the replacement: up to its total, less what
    earlier claims of the return (not refused) already put towards it."""
    if not ret.exchange_lines:
        return Decimal(0)
    counted = sum((r.exchanged for r in ret.refunds if r.state is not RefundState.REFUSED), Decimal(0))
    return max(min(value, exchange_total(ret.exchange_lines) - counted), Decimal(0))


def make_exchange(ret: Return, order: Order, paid: Decimal, repos: Repositories, now: datetime) -> str:
    """The replacement order (idempotent per RMA): its id."""
    from shared.services.capture import capture_order

    made = capture_order(exchange_request(ret, order, paid), order.channel, repos, now, store_credit_given=True)
    return made.order.order_id


def exchange_created(ret: Return, exchange_order_id: str, now: datetime) -> ExchangeCreated:
    paid = sum((r.exchanged for r in ret.refunds if r.state is not RefundState.REFUSED), Decimal(0))
    return ExchangeCreated(occurred_at=now, rma_id=ret.rma_id, order_id=ret.order_id, channel=ret.channel,
                           status=ret.status.value, exchange_order_id=exchange_order_id,
                           lines=[ReturnedUnits(line=n, sku=ln.sku, quantity=ln.quantity)
                                  for n, ln in enumerate(ret.exchange_lines)],
                           difference=str(exchange_total(ret.exchange_lines) - paid), currency=ret.currency)
