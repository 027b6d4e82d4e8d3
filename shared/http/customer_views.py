"""What the customer view answers (GET /customers/{customer_id}, POST .../notes)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import Field

from shared.domain.base import DeferredModel

if TYPE_CHECKING:
    from shared.domain.customers import CustomerNote, LifetimeValue, OpenException
    from shared.domain.orders import Order
    from shared.services.customers import CustomerSummary, CustomerView


class CustomerOrderView(DeferredModel):
    order_id: str
    channel: str
    channel_order_id: str
    status: str
    placed_at: datetime
    total: Decimal
    currency: str

    @classmethod
    def of(cls, order: Order) -> CustomerOrderView:
        return cls(order_id=order.order_id, channel=order.channel, channel_order_id=order.request.channel_order_id,
                   status=order.status.value, placed_at=order.created_at, total=order.total,
                   currency=order.request.currency)


class MissingRateView(DeferredModel):
    order_id: str
    date: date
    currency: str


class LifetimeValueView(DeferredModel):
    base_currency: str
    base_amount: Decimal = Field(description="The orders' values at their capture day's rates, over the "
                                             "`orders_converted` orders that had one")
    by_currency: dict[str, Decimal] = Field(description="The orders' values in their own currencies")
    orders_counted: int
    orders_converted: int
    fx_missing: list[MissingRateView] = Field(description="Orders left out of `base_amount`: no rate for their "
                                                          "currency on their capture day (PUT /fx-rates/{date})")
    complete: bool = Field(description="false: the customer has more orders than the view reads (2000)")

    @classmethod
    def of(cls, ltv: LifetimeValue) -> LifetimeValueView:
        return cls(base_currency=ltv.base_currency, base_amount=ltv.base_amount, by_currency=ltv.by_currency,
                   orders_counted=ltv.orders_counted, orders_converted=ltv.orders_converted,
                   fx_missing=[MissingRateView(**vars(m)) for m in ltv.fx_missing], complete=ltv.complete)


class ReturnRefundView(DeferredModel):
    refund_id: str
    method: str
    amount: Decimal
    currency: str
    state: str


class CustomerReturnView(DeferredModel):
    rma_id: str
    order_id: str
    status: str
    value: Decimal
    currency: str
    created_at: datetime
    refunds: list[ReturnRefundView]


class OrderRefundView(DeferredModel):
    order_id: str
    channel: str
    amount: Decimal = Field(description="Refunded to the order's payment so far (returns, cancellations, "
                                        "the provider's own refunds)")
    currency: str


class OpenExceptionView(DeferredModel):
    order_id: str
    kind: str = Field(description="ON_HOLD, PAYMENT_DISPUTED, PAYMENT_FAILED, CAPTURE_REFUSED, PARCEL_DELAYED, "
                                  "CHANNEL_MAPPING, or the reconciliation's STUCK_ORDER, PAYMENT_PROBLEM, "
                                  "AUTHORIZATION_AGING, CHANNEL_CONFLICT")
    detail: str
    since: datetime | None = None

    @classmethod
    def of(cls, e: OpenException) -> OpenExceptionView:
        return cls(order_id=e.order_id, kind=e.kind, detail=e.detail, since=e.since)


class NoteView(DeferredModel):
    note_id: str
    text: str
    by: str
    at: datetime

    @classmethod
    def of(cls, note: CustomerNote) -> NoteView:
        return cls(note_id=note.note_id, text=note.text, by=note.by, at=note.at)


class NoteWritten(NoteView):
    duplicate: bool = Field(description="true: this request id wrote the note before; nothing new was written")


class CustomerSummaryView(DeferredModel):
    lifetime_value: LifetimeValueView
    returns: list[CustomerReturnView]
    refunds: list[OrderRefundView]
    store_credit: dict[str, dict[str, Decimal]] = Field(description="Balance per channel and currency")
    exceptions: list[OpenExceptionView]
    notes: list[NoteView] | None = Field(description="The newest 50 service notes, newest first (operator only)")

    @classmethod
    def of(cls, s: CustomerSummary) -> CustomerSummaryView:
        return cls(
            lifetime_value=LifetimeValueView.of(s.lifetime_value),
            returns=[CustomerReturnView(rma_id=r.rma_id, order_id=r.order_id, status=r.status.value, value=r.value,
                                        currency=r.currency, created_at=r.created_at,
                                        refunds=[ReturnRefundView(refund_id=f.refund_id, method=f.method.value,
                                                                  amount=f.amount, currency=f.currency,
                                                                  state=f.state.value) for f in r.refunds])
                     for r in s.returns],
            refunds=[OrderRefundView(**vars(r)) for r in s.refunds],
            store_credit=s.store_credit,
            exceptions=[OpenExceptionView.of(e) for e in s.exceptions],
            notes=[NoteView.of(n) for n in s.notes] if s.notes is not None else None)


class CustomerViewBody(DeferredModel):
    """A customer's orders (a page: channel by channel, each oldest first) and, on the first page, the
    summary over all of them the caller may see."""

    customer_id: str
    channels: list[str] = Field(description="The channels this view covers (a channel: its own)")
    orders: list[CustomerOrderView]
    next_cursor: str | None
    summary: CustomerSummaryView | None = Field(description="On the first page (no cursor) only")

    @classmethod
    def of(cls, view: CustomerView) -> CustomerViewBody:
        return cls(customer_id=view.customer_id, channels=view.channels,
                   orders=[CustomerOrderView.of(o) for o in view.orders], next_cursor=view.next_cursor,
                   summary=CustomerSummaryView.of(view.summary) if view.summary else None)
