"""Refund arithmetic (shared/domain/refunds.py) in currencies of 0, 2 and 3 decimals: what each line
was paid after the discount and tax are shared out, and refunds that never give back more than was
paid and, for a full return, exactly what was paid."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.money import from_minor, quantum
from shared.domain.orders import Order, OrderRequest
from shared.domain.refunds import paid_breakdown, quote_refund
from shared.domain.tax import share
from tests.factories import NOW, order_body

pytestmark = pytest.mark.unit

CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD"])
NOTHING = Decimal(0)


def make_order(lines: list[tuple[int, str]], *, shipping: str = "0", discount: str = "0", tax: str | None = None,
               currency: str = "EUR") -> Order:
    """An order of (quantity, unit price) lines, SKU-0, SKU-1, ...; payment pending, so any total is accepted."""
    extra: dict[str, Any] = {} if tax is None else {"tax_total": tax}
    body = order_body([(f"SKU-{i}", q) for i, (q, _) in enumerate(lines)], payment_status="pending",
                      shipping_price=shipping, discount_total=discount, currency=currency, **extra)
    for line, (_, price) in zip(body["lines"], lines, strict=True):
        line["unit_price"] = price
    request = OrderRequest.model_validate(body)
    return Order(order_id="o" + "0" * 24, channel="web", created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)


def refund(order: Order, units: dict[int, int], before: dict[int, int] | None = None, *, shipping: bool = False,
           shipping_before: Decimal = NOTHING, fee: str = "0"):
    return quote_refund(order, units, before or {}, include_shipping=shipping, shipping_refunded_before=shipping_before,
                        restocking_fee_percent=Decimal(fee))


def is_whole(amount: Decimal, currency: str) -> bool:
    return amount % quantum(currency) == 0


# ------------------------------------------------------------------ worked examples


def test_the_discount_is_shared_over_the_lines_by_value_and_shipping_is_kept():
    # Lines 2 x 10.00 = 20.00 and 1 x 30.00 = 30.00; discount 5.00 shared 20:30 -> 2.00 and 3.00.
    order = make_order([(2, "10.00"), (1, "30.00")], shipping="4.90", discount="5.00")

    paid = paid_breakdown(order)

    assert paid.lines == (Decimal("18.00"), Decimal("27.00"))
    assert paid.shipping == Decimal("4.90")
    assert paid.total == order.request.total == Decimal("49.90")


def test_a_discount_that_does_not_divide_evenly_gives_the_leftover_cent_to_the_earliest_line():
    # 1.00 over three lines of 10.00: 33.33 cents each; the leftover cent to line 0 (ties: earlier).
    order = make_order([(1, "10.00")] * 3, discount="1.00")

    assert paid_breakdown(order).lines == (Decimal("9.66"), Decimal("9.67"), Decimal("9.67"))


def test_tax_on_top_is_shared_over_lines_and_shipping():
    # Bases 100.00, 30.00, shipping 10.00 (sum 140.00); tax 14.00 -> 10.00, 3.00, 1.00.
    order = make_order([(1, "100.00"), (3, "10.00")], shipping="10.00", tax="14.00")

    paid = paid_breakdown(order)

    assert paid.lines == (Decimal("110.00"), Decimal("33.00"))
    assert paid.shipping == Decimal("11.00")
    assert paid.total == order.request.total == Decimal("154.00")


def test_units_refunded_one_at_a_time_take_cumulative_shares_and_add_up_to_the_line():
    # One line 3 x 5.00 less 5.00 discount: 10.00 paid. Cumulative shares 3.33 | 6.67 | 10.00,
    # so the units refund 3.33, 3.34, 3.33.
    order = make_order([(3, "5.00")], discount="5.00")

    first = refund(order, {0: 1})
    second = refund(order, {0: 1}, {0: 1})
    third = refund(order, {0: 1}, {0: 2})

    assert [first.amount, second.amount, third.amount] == [Decimal("3.33"), Decimal("3.34"), Decimal("3.33")]
    assert first.lines == {0: Decimal("3.33")}
    assert "line 0 (SKU-0): 1 of 3 units" in first.reasons[0]


def test_jpy_discount_and_tax_in_whole_yen():
    # Lines 1000 and 2 x 500 = 1000. Discount 101: 50.5 each -> 51 (line 0, the tie) and 50: 949, 950.
    # Tax 190 over 949, 950 and no shipping: 94.95 and 95.05 -> floors 94, 95 and the leftover yen to
    # the larger remainder (line 0): 95, 95. Paid: 1044 and 1045 (total 2000 - 101 + 190 = 2089).
    # Line 1's two units: share(1045, 1/2) = 522.5 -> 523, then 1045 - 523 = 522.
    order = make_order([(1, "1000"), (2, "500")], discount="101", tax="190", currency="JPY")

    paid = paid_breakdown(order)

    assert paid.lines == (Decimal("1044"), Decimal("1045"))
    assert paid.total == order.request.total == Decimal("2089")
    assert refund(order, {1: 1}).amount == Decimal("523")
    assert refund(order, {1: 1}, {1: 1}).amount == Decimal("522")


def test_kwd_restocking_fee_rounds_half_up_to_the_fils():
    # 15% of 12.345 = 1.85175 -> 1.852; refund 12.345 - 1.852 = 10.493.
    order = make_order([(1, "12.345")], currency="KWD")

    quote = refund(order, {0: 1}, fee="15")

    assert (quote.items, quote.restocking_fee, quote.amount) == (Decimal("12.345"), Decimal("1.852"), Decimal("10.493"))
    assert quote.currency == "KWD"


def test_a_discount_beyond_the_items_comes_off_the_shipping():
    order = make_order([(1, "10.00")], shipping="5.00", discount="12.00")

    paid = paid_breakdown(order)

    assert paid.lines == (Decimal("0.00"),)
    assert paid.shipping == Decimal("3.00")
    assert paid.total == order.request.total


def test_a_price_finer_than_the_minor_unit_is_rounded_half_up_like_on_invoices():
    # 3 x 0.333 = 0.999 -> 1.00: what a payment in whole cents could have been.
    order = make_order([(3, "0.333")])

    assert paid_breakdown(order).lines == (Decimal("1.00"),)


# ------------------------------------------------------------------ shipping and the restocking fee


def test_shipping_is_refunded_once_whatever_is_asked():
    order = make_order([(2, "10.00")], shipping="4.90")

    first = refund(order, {0: 1}, shipping=True)
    again = refund(order, {0: 1}, {0: 1}, shipping=True, shipping_before=first.shipping)

    assert (first.shipping, again.shipping) == (Decimal("4.90"), Decimal("0.00"))
    assert first.amount + again.amount == order.request.total


def test_no_shipping_unless_asked():
    order = make_order([(1, "10.00")], shipping="4.90")

    assert refund(order, {0: 1}).shipping == Decimal("0.00")


@pytest.mark.parametrize(("items", "percent", "fee"), [
    ("10.00", "0", "0.00"),           # no fee
    ("10.00", "100", "10.00"),        # the whole of the items, never more
    ("0.05", "10", "0.01"),           # 0.005 rounds half up to a cent
    ("0.04", "10", "0.00"),           # 0.004 rounds down
    ("0.00", "50", "0.00"),           # nothing to take a fee from
])
def test_restocking_fee_edges(items, percent, fee):
    order = make_order([(1, items)], shipping="4.90")

    quote = refund(order, {0: 1}, shipping=True, fee=percent)

    assert quote.restocking_fee == Decimal(fee)
    assert quote.amount == Decimal(items) + Decimal("4.90") - Decimal(fee)  # the fee never touches shipping


@pytest.mark.parametrize("percent", ["-1", "100.01"])
def test_a_restocking_fee_outside_0_to_100_percent_is_a_bug(percent):
    with pytest.raises(ValueError, match="percentage"):
        refund(make_order([(1, "10.00")]), {0: 1}, fee=percent)


@pytest.mark.parametrize(("units", "before"), [({0: 3}, {}), ({0: 1}, {0: 2}), ({0: -1}, {}), ({1: 1}, {})])
def test_units_beyond_the_line_or_a_line_not_on_the_order_are_a_bug(units, before):
    order = make_order([(2, "10.00")])

    with pytest.raises(ValueError):
        refund(order, units, before)


# ------------------------------------------------------------------ properties


@st.composite
def orders(draw) -> Order:
    currency = draw(CURRENCIES)

    def money(units: int) -> str:
        return str(from_minor(units, currency))

    lines = draw(st.lists(st.tuples(st.integers(1, 6), st.integers(0, 10**6)), min_size=1, max_size=5))
    shipping = draw(st.integers(0, 10**5))
    value = sum(q * p for q, p in lines) + shipping
    discount = draw(st.integers(0, value))
    tax = draw(st.none() | st.integers(0, 10**5))
    return make_order([(q, money(p)) for q, p in lines], shipping=money(shipping), discount=money(discount),
                      tax=None if tax is None else money(tax), currency=currency)


@st.composite
def chunks(draw, order: Order, *, complete: bool) -> list[tuple[int, int]]:
    """Refunds of (line, units), in a random order: every unit of every line when `complete`."""
    out = []
    for i, line in enumerate(order.request.lines):
        left = line.quantity if complete else draw(st.integers(0, line.quantity))
        while left:
            n = draw(st.integers(1, left))
            out.append((i, n))
            left -= n
    return draw(st.permutations(out))


@given(orders())
def test_the_breakdown_adds_up_to_the_total_in_whole_minor_units(order):
    paid = paid_breakdown(order)
    currency = order.request.currency

    assert paid.total == order.request.total
    assert len(paid.lines) == len(order.request.lines)
    assert all(is_whole(x, currency) and x >= 0 for x in (*paid.lines, paid.shipping))


@settings(deadline=None)
@given(data=st.data(), order=orders())
def test_a_full_return_in_any_chunks_refunds_exactly_what_was_paid(data, order):
    refunds = data.draw(chunks(order, complete=True))
    with_shipping = data.draw(st.sets(st.integers(0, len(refunds) - 1), min_size=1))  # asked more than once
    before: dict[int, int] = {}
    shipping_before = NOTHING
    total = NOTHING
    for n, (line, units) in enumerate(refunds):
        quote = refund(order, {line: units}, before, shipping=n in with_shipping, shipping_before=shipping_before)
        assert all(is_whole(x, quote.currency) and x >= 0 for x in (quote.amount, quote.items, quote.shipping))
        before[line] = before.get(line, 0) + units
        shipping_before += quote.shipping
        total += quote.amount

    assert total == order.request.total
    assert shipping_before == paid_breakdown(order).shipping


@settings(deadline=None)
@given(data=st.data(), order=orders(), fee=st.integers(0, 10_000).map(lambda n: Decimal(n).scaleb(-2)))
def test_partial_refunds_never_exceed_what_was_paid(data, order, fee):
    paid = paid_breakdown(order)
    refunds = data.draw(chunks(order, complete=False))
    before: dict[int, int] = {}
    per_line: dict[int, Decimal] = {}
    total = NOTHING
    for line, units in refunds:
        quote = quote_refund(order, {line: units}, before, include_shipping=False, shipping_refunded_before=NOTHING,
                             restocking_fee_percent=fee)
        assert 0 <= quote.restocking_fee <= quote.items
        assert all(is_whole(x, quote.currency) for x in (quote.amount, quote.items, quote.restocking_fee))
        before[line] = before.get(line, 0) + units
        per_line[line] = per_line.get(line, NOTHING) + quote.lines[line]
        total += quote.amount
        # Never more than the line's share of what was paid for the units refunded so far (+ rounding).
        q = order.request.lines[line].quantity
        assert per_line[line] == share(paid.lines[line], Fraction(before[line], q), quote.currency)

    assert all(per_line[i] <= paid.lines[i] for i in per_line)
    assert total <= paid.total - paid.shipping
