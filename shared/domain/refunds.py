"""Refund arithmetic: what the customer paid for each order line, and what returning units of it gives back.

A refund is computed, never typed in (issue 16). The rules, in order:

1. What was paid (`paid_breakdown`). Each line's value (unit price x quantity) and the shipping price
   are taken in whole minor units (an amount finer than the minor unit, which only the canonical API
   accepts, is rounded half up, as invoices round it). The order-level discount is shared out over
   the item lines pro rata to their values by the largest-remainder method (`tax.allocate`): the
   shares are whole minor units, add up to the discount exactly and never exceed a line. A discount
   beyond the items' value comes off the shipping (and beyond that off the tax). The tax a channel
   charged on top (`tax_total`) is then shared over the discounted lines and the shipping, pro rata,
   the same way. So the lines and the shipping add up to the order total exactly.
2. A line's units (`quote_refund`) are refunded at cumulative shares of what was paid for the line
   (`tax.share`): the refund for units `before+1 .. before+n` of `q` is
   `share(paid, (before+n)/q) - share(paid, before/q)`. Returning every unit of a line, in any number
   of refunds, gives back exactly what was paid for it; never more.
3. Shipping, when the policy refunds it, is what was paid for it less what was refunded of it before:
   at most once in all.
4. A restocking fee is a percentage of the items' refund (never of the shipping), rounded half up to
   the minor unit, never more than the items' refund.

Pure: no AWS, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from shared.domain.money import ZERO, from_minor
from shared.domain.orders import Order
from shared.domain.tax import allocate, share

ONE = Fraction(1)


@dataclass(frozen=True)
class PaidBreakdown:
    """What the customer paid for each order line (by index) and for shipping, discount and tax included."""

    lines: tuple[Decimal, ...]
    shipping: Decimal
    currency: str

    @property
    def total(self) -> Decimal:
        return sum(self.lines, from_minor(0, self.currency)) + self.shipping


@dataclass(frozen=True)
class RefundQuote:
    """A refund worked out: `amount` = `items` + `shipping` - `restocking_fee`, all in whole minor units."""

    lines: dict[int, Decimal]      # order line index -> refund for the units returned now
    items: Decimal
    shipping: Decimal
    restocking_fee: Decimal
    amount: Decimal
    currency: str
    reasons: tuple[str, ...]


def paid_breakdown(order: Order) -> PaidBreakdown:
    """Rule 1 of the module docstring: sum(lines) + shipping == the order's total (in whole minor units)."""
    req, cur = order.request, order.request.currency

    def whole(x: Decimal) -> Decimal:
        return share(x, ONE, cur)

    values = [whole(ln.unit_price * ln.quantity) for ln in req.lines]
    shipping = whole(req.shipping_price)
    discount, tax = whole(req.discount_total), whole(req.tax_total or ZERO)
    on_items = min(discount, sum(values, ZERO))
    on_shipping = min(discount - on_items, shipping)
    beyond = discount - on_items - on_shipping   # only when the tax pays for part of the discount
    lines = [v - d for v, d in zip(values, _allocate(on_items, values, cur), strict=True)]
    shipping -= on_shipping
    tax = max(tax - beyond, ZERO)
    bases = [*lines, shipping]
    if not any(bases):  # everything discounted away yet tax charged: share it over the lines evenly
        bases = [Decimal(1)] * len(lines) + [ZERO]
    taxes = _allocate(tax, bases, cur)
    return PaidBreakdown(lines=tuple(ln + t for ln, t in zip(lines, taxes[:-1], strict=True)),
                         shipping=shipping + taxes[-1], currency=cur)


def _allocate(total: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    if total == 0:
        return [from_minor(0, currency)] * len(weights)
    return allocate(total, weights, currency)


def quote_refund(order: Order, units: Mapping[int, int], refunded_before: Mapping[int, int], *,
                 include_shipping: bool, shipping_refunded_before: Decimal,
                 restocking_fee_percent: Decimal) -> RefundQuote:
    """The refund for `units` (order line index -> units returned now), given the units of each line
    refunded before (`refunded_before`, over every earlier refund of the order) and the shipping
    refunded before. Raises ValueError for a line the order does not have, a negative count or more
    units than the line has left to refund: the caller checked the request (return_policy) already."""
    paid, req = paid_breakdown(order), order.request
    cur = paid.currency
    if not 0 <= restocking_fee_percent <= 100:
        raise ValueError(f"a restocking fee is a percentage from 0 to 100, not {restocking_fee_percent}")
    lines: dict[int, Decimal] = {}
    reasons: list[str] = []
    for i, n in sorted(units.items()):
        if not 0 <= i < len(req.lines):
            raise ValueError(f"order {order.order_id} has no line {i}")
        qty, before = req.lines[i].quantity, refunded_before.get(i, 0)
        if n < 0 or before < 0 or before + n > qty:
            raise ValueError(f"line {i}: cannot refund {n} more of {qty} units, {before} refunded before")
        if n == 0:
            continue
        lines[i] = share(paid.lines[i], Fraction(before + n, qty), cur) - share(paid.lines[i], Fraction(before, qty), cur)
        reasons.append(f"line {i} ({req.lines[i].sku}): {n} of {qty} units, {lines[i]} of the {paid.lines[i]} "
                       f"{cur} paid for the line after discount and tax")
    zero = from_minor(0, cur)
    items = sum(lines.values(), zero)
    shipping = max(paid.shipping - shipping_refunded_before, zero) if include_shipping else zero
    if shipping:
        reasons.append(f"shipping: {shipping} {cur}" + (" (the rest of it)" if shipping_refunded_before else ""))
    fee = min(share(items, Fraction(restocking_fee_percent) / 100, cur), items)
    if fee:
        reasons.append(f"restocking fee: {restocking_fee_percent}% of {items} = {fee} {cur}")
    return RefundQuote(lines=lines, items=items, shipping=shipping, restocking_fee=fee,
                       amount=items + shipping - fee, currency=cur, reasons=tuple(reasons))
