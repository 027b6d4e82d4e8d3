"""Tax arithmetic (shared/domain/tax.py): the rounding rule's properties in currencies of 0, 2 and 3
decimals, the largest-remainder allocation, and rate lookup by country and date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.money import quantum
from shared.domain.tax import (
    PriceBasis,
    TaxableLine,
    TaxRate,
    TaxTable,
    allocate,
    share,
    tax_lines,
)

pytestmark = pytest.mark.unit

CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD"])
BASES = st.sampled_from(list(PriceBasis))
# 0% to 30% with up to three decimals of a percent: 19%, 5.5%, 7.25%, 8.875%.
RATES = st.integers(min_value=0, max_value=30_000).map(lambda n: Decimal(n).scaleb(-5))


def is_whole(amount: Decimal, currency: str) -> bool:
    return amount % quantum(currency) == 0


@st.composite
def priced_lines(draw, currency: str) -> list[TaxableLine]:
    units = draw(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=26))
    return [TaxableLine(f"L{i}", Decimal(u) * quantum(currency)) for i, u in enumerate(units)]


@given(data=st.data(), currency=CURRENCIES, basis=BASES, rate=RATES)
def test_lines_add_up_to_the_totals_and_every_amount_is_whole(data, currency, basis, rate):
    lines = data.draw(priced_lines(currency))
    taxed = tax_lines(lines, basis, rate, currency)

    assert len(taxed.lines) == len(lines)
    assert sum(ln.net for ln in taxed.lines) == taxed.net
    assert sum(ln.tax for ln in taxed.lines) == taxed.tax
    assert sum(ln.gross for ln in taxed.lines) == taxed.gross
    assert taxed.net + taxed.tax == taxed.gross
    for line, out in zip(lines, taxed.lines, strict=True):
        assert out.key == line.key
        assert out.net + out.tax == out.gross
        assert all(is_whole(x, currency) and x >= 0 for x in (out.net, out.tax, out.gross))
        # The priced amount is kept; the tax is the exact tax rounded to the nearest minor unit.
        priced = out.gross if basis is PriceBasis.INCLUSIVE else out.net
        assert priced == line.amount
        exact = Fraction(line.amount) * Fraction(rate) / ((1 + Fraction(rate)) if basis is PriceBasis.INCLUSIVE else 1)
        assert abs(Fraction(out.tax) - exact) <= Fraction(quantum(currency)) / 2
    assert all(is_whole(x, currency) for x in (taxed.net, taxed.tax, taxed.gross))


@given(currency=CURRENCIES, basis=BASES, rate=RATES,
       amounts=st.lists(st.decimals(min_value=0, max_value=10**6, places=4), min_size=1, max_size=10))
def test_amounts_finer_than_the_minor_unit_are_rounded_on_the_line(currency, basis, rate, amounts):
    taxed = tax_lines([TaxableLine(str(i), a) for i, a in enumerate(amounts)], basis, rate, currency)
    assert taxed.net + taxed.tax == taxed.gross
    assert all(is_whole(x, currency) for ln in taxed.lines for x in (ln.net, ln.tax, ln.gross))


@pytest.mark.parametrize("basis, amount, rate, currency, net, tax, gross", [
    (PriceBasis.INCLUSIVE, "19.99", "0.19", "EUR", "16.80", "3.19", "19.99"),
    (PriceBasis.EXCLUSIVE, "16.80", "0.19", "EUR", "16.80", "3.19", "19.99"),
    (PriceBasis.EXCLUSIVE, "0.10", "0.05", "EUR", "0.10", "0.01", "0.11"),  # 0.005: half up
    (PriceBasis.INCLUSIVE, "1000", "0.10", "JPY", "909", "91", "1000"),
    (PriceBasis.EXCLUSIVE, "1.234", "0.05", "KWD", "1.234", "0.062", "1.296"),
    (PriceBasis.INCLUSIVE, "0", "0.19", "EUR", "0.00", "0.00", "0.00"),
])
def test_known_values(basis, amount, rate, currency, net, tax, gross):
    taxed = tax_lines([TaxableLine("a", Decimal(amount))], basis, Decimal(rate), currency)
    (line,) = taxed.lines
    assert (str(line.net), str(line.tax), str(line.gross)) == (net, tax, gross)


def test_per_line_rounding_is_what_the_totals_show():
    # Three lines of 0.05 net at 10%: 0.005 each rounds up to 0.01, so the document shows 0.03 tax
    # (rounding the total's 0.015 would show 0.02 beside lines adding up to 0.03).
    taxed = tax_lines([TaxableLine(str(i), Decimal("0.05")) for i in range(3)], PriceBasis.EXCLUSIVE,
                      Decimal("0.10"), "EUR")
    assert [str(ln.tax) for ln in taxed.lines] == ["0.01"] * 3
    assert str(taxed.tax) == "0.03"


def test_a_negative_line_is_refused():
    with pytest.raises(ValueError):
        tax_lines([TaxableLine("a", Decimal("-1"))], PriceBasis.INCLUSIVE, Decimal("0.19"), "EUR")


# ------------------------------------------------------------------ discount allocation


@given(data=st.data(), currency=CURRENCIES)
def test_allocations_sum_to_the_discount_and_never_exceed_a_line(data, currency):
    q = quantum(currency)
    weights = [Decimal(u) * q for u in data.draw(st.lists(st.integers(0, 10**7), min_size=1, max_size=26))]
    whole = sum(weights)
    if whole == 0:
        assert allocate(Decimal(0), weights, currency) == [Decimal(0) * q] * len(weights)
        return
    discount = Decimal(data.draw(st.integers(0, int(whole / q)))) * q
    parts = allocate(discount, weights, currency)

    assert sum(parts) == discount
    for part, weight in zip(parts, weights, strict=True):
        assert is_whole(part, currency)
        assert 0 <= part <= weight
        # Largest remainder: within one minor unit of the exact pro rata share.
        assert abs(Fraction(part) - Fraction(discount) * Fraction(weight) / Fraction(whole)) < Fraction(q)


def test_largest_remainders_get_the_units_left_over():
    # 0.10 over three equal lines: 0.0333... each; the one cent left goes to the first (a tie).
    assert allocate(Decimal("0.10"), [Decimal("1.00")] * 3, "EUR") == [Decimal("0.04"), Decimal("0.03"),
                                                                      Decimal("0.03")]
    # 10 JPY over 1:2 -> 3.33, 6.67: the larger remainder (0.67) takes the unit left.
    assert allocate(Decimal("10"), [Decimal("100"), Decimal("200")], "JPY") == [Decimal("3"), Decimal("7")]


def test_a_discount_with_nothing_to_allocate_over_is_refused():
    with pytest.raises(ValueError):
        allocate(Decimal("1.00"), [Decimal("0")], "EUR")


@given(currency=CURRENCIES, total_units=st.integers(0, 10**7), n=st.integers(1, 12), data=st.data())
def test_cumulative_shares_add_up_to_the_whole(currency, total_units, n, data):
    total = Decimal(total_units) * quantum(currency)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=6)))
    points = [0, *cuts, n]
    parts = [share(total, Fraction(b, n), currency) - share(total, Fraction(a, n), currency)
             for a, b in zip(points, points[1:], strict=False)]
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)


# ------------------------------------------------------------------ rates by country and date


TABLE = TaxTable(default=Decimal("0.20"), rates=(
    TaxRate("DE", Decimal("0.19"), date(2007, 1, 1), date(2020, 6, 30)),
    TaxRate("DE", Decimal("0.16"), date(2020, 7, 1), date(2020, 12, 31)),
    TaxRate("DE", Decimal("0.19"), date(2021, 1, 1)),
    TaxRate("FR", Decimal("0.20"), date(2014, 1, 1)),
))


@pytest.mark.parametrize("country, on, rate", [
    ("DE", date(2020, 6, 30), "0.19"), ("DE", date(2020, 7, 1), "0.16"), ("DE", date(2020, 12, 31), "0.16"),
    ("DE", date(2021, 1, 1), "0.19"), ("DE", date(2006, 12, 31), "0.20"), ("FR", date(2026, 5, 1), "0.20"),
    ("IT", date(2026, 5, 1), "0.20"),
])
def test_rate_lookup_respects_validity_dates(country, on, rate):
    assert TABLE.rate_for(country, on) == Decimal(rate)


@given(on=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)))
def test_the_rate_is_the_period_s_that_holds_the_day(on):
    expected = next((r.rate for r in TABLE.rates if r.country == "DE" and r.valid_from <= on
                     and (r.valid_to is None or on <= r.valid_to)), TABLE.default)
    assert TABLE.rate_for("DE", on) == expected
    assert TABLE.rate_for("DE", on) == (Decimal("0.16") if date(2020, 7, 1) <= on <= date(2020, 12, 31)
                                        else Decimal("0.20") if on < date(2007, 1, 1) else Decimal("0.19"))


def test_the_table_is_read_from_its_json_configuration():
    table = TaxTable.from_json('''{"default": "0.19", "rates": [
        {"country": "DE", "rate": "0.16", "valid_from": "2020-07-01", "valid_to": "2020-12-31"},
        {"country": "AT", "rate": 0.2, "valid_from": "2016-01-01"}],
        "price_basis": {"default": "INCLUSIVE", "b2b": "EXCLUSIVE"}}''')
    assert table.rate_for("DE", date(2020, 8, 1)) == Decimal("0.16")
    assert table.rate_for("DE", date(2021, 8, 1)) == Decimal("0.19")
    assert table.rate_for("AT", date(2021, 8, 1)) == Decimal("0.2")  # a JSON number read as a decimal
    assert table.basis_for("b2b") is PriceBasis.EXCLUSIVE
    assert table.basis_for("web") is PriceBasis.INCLUSIVE
    assert TaxTable.from_json('{"default": "0"}').basis_for("web") is PriceBasis.INCLUSIVE


@pytest.mark.parametrize("text", [
    "not json", "{}", '{"default": "19"}', '{"default": "-0.1"}', '{"default": true}',
    '{"default": "0.19", "rates": [{"country": "de", "rate": "0.19", "valid_from": "2021-01-01"}]}',
    '{"default": "0.19", "rates": [{"country": "DE", "rate": "0.19", "valid_from": "2021-13-01"}]}',
    '{"default": "0.19", "rates": [{"country": "DE", "rate": "0.19", "valid_from": "2021-01-01"},'
    ' {"country": "DE", "rate": "0.07", "valid_from": "2024-01-01"}]}',
    '{"default": "0.19", "price_basis": {"web": "GROSS"}}',
])
def test_a_configuration_mistake_is_a_value_error(text):
    with pytest.raises(ValueError):
        TaxTable.from_json(text)


def test_periods_ending_the_day_before_the_next_do_not_overlap():
    TaxTable(default=Decimal("0.19"), rates=(TaxRate("DE", Decimal("0.19"), date(2020, 1, 1), date(2020, 6, 30)),
                                             TaxRate("DE", Decimal("0.16"), date(2020, 6, 30) + timedelta(days=1))))
