"""A hand-computed fixture for the report aggregates: five orders over three capture days in EUR, USD
and GBP (a full order, a cancelled one, a partly allocated and partly shipped one, a split one with a
line cancellation, a return refunded and a return declined, a rejected one), built as the order and
return documents the use cases store, so each figure can be worked out by hand.

Base currency USD; rates: EUR 1.10 on day 1, GBP 1.25 on day 2 (USD needs none).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.domain.orders import (
    Allocation,
    BackorderedLine,
    CancelledLine,
    LineCancellation,
    Order,
    OrderRequest,
    StatusChange,
)
from shared.domain.orders import OrderStatus as S
from shared.domain.returns import RefundMethod, RefundState, Return, ReturnLine, ReturnPolicy, ReturnRefund
from shared.domain.returns import ReturnStatus as R

D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def at(day: date, hour: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def request(coid: str, country: str, currency: str, lines: list[tuple[str, int, str]], discount: str = "0",
            promised_by: datetime | None = None, customer: str = "cust-1") -> OrderRequest:
    total = sum(Decimal(p) * q for _, q, p in lines) - Decimal(discount)
    return OrderRequest.model_validate({
        "channel_order_id": coid, "customer": {"id": customer, "name": "Ana Test", "email": "ana@example.com"},
        "shipping_address": {"line1": "Hauptstr. 1", "city": "Berlin", "country": country},
        "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines], "currency": currency,
        "payment": {"status": "paid", "amount": str(total)}, "discount_total": discount,
        **({"promised_by": promised_by.isoformat()} if promised_by else {})})


def order(order_id: str, channel: str, created: datetime, req: OrderRequest, history: list[tuple[S, datetime]],
          allocations: dict[tuple[str, str], int] | None = None, **fields) -> Order:
    status = history[-1][0] if history else S.RECEIVED
    return Order(order_id=order_id, channel=channel, created_at=created, updated_at=history[-1][1] if history else created,
                 request=req, request_fingerprint=req.fingerprint(), total=req.total, status=status,
                 history=[StatusChange(status=s, at=t) for s, t in history],
                 allocations=[Allocation(location_id=loc, sku=sku, quantity=q)
                              for (loc, sku), q in (allocations or {}).items()], **fields)


def a_return(rma_id: str, order_id: str, status: R, reason: str, lines: list[tuple[int, str, int]],
             refunds: list[tuple[str, dict[int, int], str, str]] = (), version: int = 0) -> Return:
    now = at(D3, 12)
    return Return(rma_id=rma_id, request_id=f"req-{rma_id}", request_fingerprint="f", order_id=order_id, channel="web",
                  customer_id="cust-4", status=status, reason=reason, merchant_pays_shipping=False,
                  lines=[ReturnLine(line=i, sku=sku, quantity=q, received=q) for i, sku, q in lines],
                  policy=ReturnPolicy(), value=Decimal("30"), currency="GBP", created_at=now, updated_at=now,
                  refunds=[ReturnRefund(refund_id=rid, method=RefundMethod.ORIGINAL_PAYMENT, lines=ls,
                                        amount=Decimal(amount), currency="GBP", shipping=Decimal(shipping),
                                        state=RefundState.DONE, created_at=now, done_at=now)
                           for rid, ls, amount, shipping in refunds], version=version)


def fixture_orders() -> list[Order]:
    o1 = order("o1", "web", at(D1, 10),
               request("CO-1", "DE", "EUR", [("TEE", 2, "20.00"), ("CAP", 1, "10.00")], discount="5.00",
                       promised_by=at(D3, 12)),
               [(S.ALLOCATED, at(D1, 10.5)), (S.SHIPPED, at(D1, 22)), (S.DELIVERED, at(D3, 10))],
               {("WH-DE", "TEE"): 2, ("WH-DE", "CAP"): 1}, shipment_ids=["S1"])
    o2 = order("o2", "web", at(D1, 12), request("CO-2", "DE", "EUR", [("TEE", 1, "20.00")]),
               [(S.ALLOCATED, at(D1, 12 + 1 / 6)), (S.CANCELLED, at(D1, 13))], cancel_reason="customer")
    o3 = order("o3", "app", at(D2, 8), request("CO-3", "US", "USD", [("TEE", 3, "25.00")], customer="cust-3"),
               [(S.PARTIALLY_ALLOCATED, at(D2, 9)), (S.PARTIALLY_SHIPPED, at(D2, 20))],
               {("WH-US", "TEE"): 2}, backordered=[BackorderedLine(sku="TEE", quantity=1)], shipment_ids=["S2"])
    o4 = order("o4", "web", at(D2, 9),
               request("CO-4", "GB", "GBP", [("TEE", 1, "30.00"), ("HAT", 2, "15.00")], promised_by=at(D3, 12),
                       customer="cust-4"),
               [(S.ALLOCATED, at(D2, 9.25)), (S.SHIPPED, at(D2, 19)), (S.DELIVERED, at(D3, 21))],
               {("WH-DE", "TEE"): 1, ("WH-UK", "HAT"): 1}, shipment_ids=["S3", "S4"],
               cancellations=[LineCancellation(cancellation_id="c1", lines=[CancelledLine(sku="HAT", quantity=1)],
                                               reason="customer", at=at(D2, 9.1), by="web")])
    o5 = order("o5", "pos", at(D3, 10), request("CO-5", "DE", "EUR", [("CAP", 1, "10.00")], customer="cust-5"),
               [(S.ON_HOLD, at(D3, 10.1)), (S.REJECTED, at(D3, 11))])
    return [o1, o2, o3, o4, o5]


def fixture_returns() -> list[Return]:
    return [a_return("RMA-1", "o4", R.REFUNDED, "damaged", [(0, "TEE", 1)], [("RMA-1-R1", {0: 1}, "30.00", "0")],
                     version=4),
            a_return("RMA-2", "o4", R.DECLINED, "changed_mind", [(1, "HAT", 1)], version=1)]


RATES = {D1: {"EUR": Decimal("1.10")}, D2: {"GBP": Decimal("1.25")}}


def store(repos, orders: list[Order], returns: list[Return] = ()) -> None:
    """The documents as the use cases store them: orders (new, or over their version) and returns."""
    for o in orders:
        current = repos.orders.get(o.order_id)
        if current is None:
            repos.commit(repos.orders.create(o))
        else:
            repos.commit(repos.orders.save(o.model_copy(update={"version": current.version + 1}), current.version))
    for ret in returns:
        current = repos.returns.get(ret.rma_id)
        if current is None:
            repos.commit(repos.returns.create(ret, repos.returns.of_order(ret.order_id)))
        else:
            repos.commit(repos.returns.save(ret.model_copy(update={"version": current.version + 1}), current.version))

