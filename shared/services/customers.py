"""The customer view and its service notes (docs/architecture.md, "The customer view").

Customer ids are the channels' own (`customer.id` of an order), and an order is found by its
channel's customer partition (gsi5, `CUSTOMER#<channel>#<customer id>`): no scan and no extra write
per order. An operator sees the id on every channel (or the one named), a channel its own orders
only: the channels a view covers are decided here, once, and every read below goes through them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.adapters.orders_repo import OrderFilter
from shared.domain.customers import (
    LTV_ORDER_LIMIT,
    NOTES_SHOWN,
    CustomerNote,
    LifetimeValue,
    NoteRequest,
    OpenException,
    capture_day,
    lifetime_value,
    order_exceptions,
    still_open,
)
from shared.domain.exception_records import ExceptionKind
from shared.domain.orders import Order
from shared.domain.principal import Principal
from shared.domain.returns import Return
from shared.errors import AccessDenied, Conflict, InvalidInput
from shared.unit_of_work import AlreadyExists, Refused

if TYPE_CHECKING:
    from shared.repositories import Repositories

# The reconciliation's exceptions about an order; read for the orders not settled for good and those
# changed lately (a payment problem can outlive delivery), not for years of delivered orders.
ORDER_EXCEPTION_KINDS = (ExceptionKind.STUCK_ORDER, ExceptionKind.PAYMENT_PROBLEM, ExceptionKind.AUTHORIZATION_AGING,
                         ExceptionKind.CHANNEL_CONFLICT)
RECENT = timedelta(days=30)


@dataclass(frozen=True)
class OrderRefund:
    order_id: str
    channel: str
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class CustomerSummary:
    """What the first page adds to the orders: over every order of the customer the caller may see."""

    lifetime_value: LifetimeValue
    returns: list[Return]
    refunds: list[OrderRefund]
    store_credit: dict[str, dict[str, Decimal]]  # channel -> currency -> balance
    exceptions: list[OpenException]
    notes: list[CustomerNote] | None             # the operator's only; None for a channel


@dataclass(frozen=True)
class CustomerView:
    customer_id: str
    channels: list[str]
    orders: list[Order]
    next_cursor: str | None
    summary: CustomerSummary | None              # on the first page (no cursor)


def channels_seen(channel: str | None, principal: Principal, repos: Repositories, now: datetime) -> list[str]:
    """The channels a view covers: a channel's own, or for an operator the one named, else every channel."""
    if not principal.is_operator:
        if channel not in (None, principal.channel):
            raise AccessDenied("a channel sees only its own customers' orders", field="channel")
        return [principal.name]
    if channel is not None:
        return [channel]
    from shared.services.channels import list_channels

    return [c.channel_id for c in list_channels(repos, now)]


def customer_view(customer_id: str, channel: str | None, limit: int, cursor: str | None, principal: Principal,
                  repos: Repositories, base_currency: str, now: datetime) -> CustomerView:
    channels = channels_seen(channel, principal, repos, now)
    orders, next_cursor = _orders_page(customer_id, channels, limit, cursor, repos)
    summary = None if cursor else _summary(customer_id, channels, principal, repos, base_currency, now)
    return CustomerView(customer_id, channels, orders, next_cursor, summary)


def _orders_page(customer_id: str, channels: list[str], limit: int, cursor: str | None, repos: Repositories
                 ) -> tuple[list[Order], str | None]:
    """Channel by channel (by id), each oldest first. The cursor names the channel it stopped in and
    that partition's own cursor, which the repository checks belongs to it: a channel's cursor can
    name nothing but its own customer partition."""
    index, inner = 0, None
    if cursor:
        name, _, inner = cursor.rpartition(".")
        if name not in channels:
            raise InvalidInput("cursor is not one this listing returned", field="cursor")
        index = channels.index(name)
    found: list[Order] = []
    while index < len(channels) and len(found) < limit:
        page, after = repos.orders.list(OrderFilter(channel=channels[index], customer_id=customer_id),
                                        limit - len(found), inner or None, months=[])
        found += page
        if after:
            return found, f"{channels[index]}.{after}"
        index, inner = index + 1, None
    return found, (f"{channels[index]}." if index < len(channels) else None)


def _summary(customer_id: str, channels: list[str], principal: Principal, repos: Repositories, base_currency: str,
             now: datetime) -> CustomerSummary:
    orders: list[Order] = []
    complete = True
    for name in channels:
        for order in repos.orders.of_customer(name, customer_id):
            if len(orders) == LTV_ORDER_LIMIT:
                complete = False
                break
            orders.append(order)
        if not complete:
            break
    days = [capture_day(o) for o in orders]
    rates = repos.analytics.fx_rates(min(days), max(days)) if days else {}
    rma_ids = [rma for ids in repos.returns.rma_ids_of(o.order_id for o in orders).values() for rma in ids]
    returns = sorted(repos.returns.many(rma_ids), key=lambda r: (r.created_at, r.rma_id)) if rma_ids else []
    refunds = [OrderRefund(o.order_id, o.channel, o.request.currency, o.payment.refunded)
               for o in orders if o.payment is not None and o.payment.refunded > 0]
    credit = {name: balances for name in channels if (balances := repos.store_credit.balances(name, customer_id))}
    return CustomerSummary(
        lifetime_value=lifetime_value(orders, rates, base_currency, complete), returns=returns, refunds=refunds,
        store_credit=credit, exceptions=_exceptions(orders, repos, now),
        notes=repos.customer_notes.newest(customer_id, NOTES_SHOWN) if principal.is_operator else None)


def _exceptions(orders: list[Order], repos: Repositories, now: datetime) -> list[OpenException]:
    found = [e for o in orders for e in order_exceptions(o)]
    watched = [o.order_id for o in orders if still_open(o) or now - o.updated_at <= RECENT]
    for record in repos.reconciliation.open_exceptions_of(watched, ORDER_EXCEPTION_KINDS):
        found.append(OpenException(record.order_id or record.subject, record.kind.value,
                                   f"{record.reason} ({record.suggested_action})", record.since))
    return sorted(found, key=lambda e: (e.order_id, e.kind))


def add_note(customer_id: str, body: NoteRequest, principal: Principal, repos: Repositories, now: datetime
             ) -> tuple[CustomerNote, bool]:
    """(the note, whether it was written before under the body's request id). Operator only: notes are
    the merchant's service record, and channels are its sales outlets, not its staff."""
    if not principal.is_operator:
        raise AccessDenied("only an operator writes customer notes")
    note = CustomerNote(note_id=f"n{int(now.timestamp() * 1000):012x}{secrets.token_hex(4)}",
                        customer_id=customer_id, text=body.text, by=principal.name, at=now)
    try:
        repos.unit_of_work().add(repos.customer_notes.add(note, body.request_id)).commit()
    except Refused as refused:
        taken = refused.find(AlreadyExists)
        earlier = repos.customer_notes.get(customer_id, taken.existing) if taken and taken.existing else None
        if earlier is None:
            raise
        if earlier.text != body.text:
            raise Conflict("this request id wrote another note", field="request_id") from None
        return earlier, True
    return note, False
