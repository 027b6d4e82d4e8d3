"""The customer view's decisions (docs/architecture.md, "The customer view"): what an order is worth
to the customer's lifetime value, what about it needs a person, and the service notes. Pure: orders,
rates and the clock come in, values come out.

Rules, in order:
1. An order's value is what the customer still owes or paid for it: its total less the lines
   cancelled (the payment's `due`) less what was refunded, never below zero; a cancelled or
   rejected order is worth nothing. In the order's currency.
2. The lifetime value in the base currency converts each order at the rate of its capture day
   (UTC), the rate the reports use. An order whose currency has no rate that day is never guessed
   (nor counted as 0): it is listed in `fx_missing` and left out of the base amount, which then says
   how many orders it covers.
3. An order's open exceptions come from the order itself (open holds, a disputed, failed or refused
   payment, a late parcel, what a channel's format could not map) and from the reconciliation's open
   exceptions about it (stuck past its SLA, a payment problem, an aging authorisation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator

from shared.domain.base import DeferredModel
from shared.domain.orders import Order, OrderStatus

MAX_NOTE_CHARS = 2000
NOTES_SHOWN = 50  # the newest; a note is a few hundred bytes, 50 keep the answer small
# The lifetime value reads every order of the customer (100 a batch read). Past this many it stops and
# says so (`complete` false): a reseller with tens of thousands of orders must not time a view out.
LTV_ORDER_LIMIT = 2000
WORTHLESS = frozenset({OrderStatus.CANCELLED, OrderStatus.REJECTED})
ZERO = Decimal(0)


class NoteRequest(DeferredModel):
    """A service note about a customer (who and when are the caller and now)."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS,
                               description=f"What happened, for the next person (at most {MAX_NOTE_CHARS} "
                                           "characters)")]
    request_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
                                     description="Yours: the same request id again answers the note it wrote "
                                                 "(a retry adds no second note)")] | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("a note has some text")
        return text


class CustomerNote(DeferredModel):
    note_id: str
    customer_id: str
    text: str
    by: str = Field(description="The principal that wrote it")
    at: datetime


class ExceptionKind(StrEnum):
    """Order-borne exceptions; the reconciliation's kinds (STUCK_ORDER, ...) are reported by their own names."""

    ON_HOLD = "ON_HOLD"
    PAYMENT_DISPUTED = "PAYMENT_DISPUTED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    CAPTURE_REFUSED = "CAPTURE_REFUSED"
    PARCEL_DELAYED = "PARCEL_DELAYED"
    CHANNEL_MAPPING = "CHANNEL_MAPPING"


@dataclass(frozen=True)
class OpenException:
    order_id: str
    kind: str
    detail: str
    since: datetime | None = None


@dataclass(frozen=True)
class MissingRate:
    order_id: str
    date: date
    currency: str


@dataclass(frozen=True)
class LifetimeValue:
    base_currency: str
    base_amount: Decimal          # over the orders converted (orders_converted of orders_counted)
    by_currency: dict[str, Decimal]
    orders_counted: int
    orders_converted: int
    fx_missing: list[MissingRate] = field(default_factory=list)
    complete: bool = True         # every order of the customer was read (LTV_ORDER_LIMIT)


def order_value(order: Order) -> Decimal:
    """Rule 1: the order's worth to the customer's lifetime value, in its currency."""
    if order.status in WORTHLESS:
        return ZERO
    if order.payment is None:
        return order.total
    return max(order.payment.due - order.payment.refunded, ZERO)


def capture_day(order: Order) -> date:
    return order.created_at.astimezone(UTC).date()


def lifetime_value(orders: Iterable[Order], rates: Mapping[date, Mapping[str, Decimal]], base: str,
                   complete: bool = True) -> LifetimeValue:
    """Rule 2: the orders' values per currency, and in the base currency at each capture day's rate."""
    by_currency: dict[str, Decimal] = {}
    base_amount, counted, converted = ZERO, 0, 0
    missing: list[MissingRate] = []
    for order in orders:
        counted += 1
        value = order_value(order)
        currency = order.request.currency
        by_currency[currency] = by_currency.get(currency, ZERO) + value
        rate = Decimal(1) if currency == base else rates.get(capture_day(order), {}).get(currency)
        if rate is None:
            missing.append(MissingRate(order.order_id, capture_day(order), currency))
            continue
        base_amount += value * rate
        converted += 1
    return LifetimeValue(base_currency=base, base_amount=base_amount.quantize(Decimal("0.01")),
                         by_currency=by_currency, orders_counted=counted, orders_converted=converted,
                         fx_missing=missing, complete=complete)


def order_exceptions(order: Order) -> list[OpenException]:
    """Rule 3, the order's own part: what about this order waits for a person now."""
    found = [OpenException(order.order_id, ExceptionKind.ON_HOLD.value, f"{h.reason.value}: {h.detail}", h.placed_at)
             for h in order.open_holds] if order.status == OrderStatus.ON_HOLD else []
    payment = order.payment
    if payment is not None:
        if payment.disputed:
            found.append(OpenException(order.order_id, ExceptionKind.PAYMENT_DISPUTED.value,
                                       "the payment is disputed with the provider", payment.updated_at))
        if payment.failed and order.status not in WORTHLESS:
            found.append(OpenException(order.order_id, ExceptionKind.PAYMENT_FAILED.value,
                                       payment.last_failure or "the payment failed", payment.updated_at))
        if payment.capture_problem:
            found.append(OpenException(order.order_id, ExceptionKind.CAPTURE_REFUSED.value,
                                       payment.capture_problem, payment.updated_at))
    if order.status in (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED):
        found += [OpenException(order.order_id, ExceptionKind.PARCEL_DELAYED.value,
                                f"parcel {d.shipment_id}: {d.reason}", d.at) for d in order.delays]
    if order.channel_record is not None and order.channel_record.problems and order.status == OrderStatus.ON_HOLD:
        found.append(OpenException(order.order_id, ExceptionKind.CHANNEL_MAPPING.value,
                                   "; ".join(f"{p.field}: {p.problem}" for p in order.channel_record.problems)))
    return found


def still_open(order: Order) -> bool:
    """An order the reconciliation can still raise an exception about (not settled for good)."""
    return order.status not in (*WORTHLESS, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
