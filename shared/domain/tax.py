"""Tax arithmetic for invoices and credit notes: rates by destination country and date, and lines
taxed so that what a document prints always adds up.

Rounding rule (one place, used by every document):

- Every line is rounded on its own, to the currency's minor unit (JPY 0 decimals, EUR 2, KWD 3),
  half up (ROUND_HALF_UP), computed exactly (fractions, no intermediate rounding).
- Tax-inclusive prices (a B2C shop's "19.99 incl. VAT"): the line's amount is its gross;
  tax = gross * r / (1 + r), rounded; net = gross - tax.
- Tax-exclusive prices (B2B, marketplaces quoting net): the line's amount is its net;
  tax = net * r, rounded; gross = net + tax.
- A document's totals are the sums of its rounded lines, so lines and totals always agree and
  net + tax == gross holds per line and in total.

Why per line rather than per total: a document prints each line's tax, and a credit note or a
partial refund takes back lines; with per-total rounding the printed lines could differ from the
printed total by up to half a minor unit per line, and a line refunded on its own would not carry
the tax it was invoiced with. The price of the rule: the total tax can differ from
`rate * total net` by up to half a minor unit per line, which VAT practice accepts.

Shipping is a line like any other. A discount (an order's `discount_total`) is allocated across the
lines pro rata to their amounts by the largest-remainder method (`allocate`), so the allocations
are whole minor units that sum to the discount exactly, and no line goes below zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from shared.domain.money import from_minor, minor_unit


class PriceBasis(StrEnum):
    """Whether a channel's prices include tax (gross) or exclude it (net)."""

    INCLUSIVE = "INCLUSIVE"
    EXCLUSIVE = "EXCLUSIVE"


# ------------------------------------------------------------------ rates


@dataclass(frozen=True)
class TaxRate:
    """One country's rate over a period; `valid_to` is the last day it applies (inclusive), None
    while it has no end."""

    country: str
    rate: Decimal
    valid_from: date
    valid_to: date | None = None

    def applies(self, country: str, on: date) -> bool:
        return country == self.country and self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class TaxTable:
    """The rates the OMS taxes with (configuration `OMS_TAX_RATES`), and each channel's price basis.

    A country without a rate for the day is taxed at `default`; a channel not named has
    `default_basis`.
    """

    default: Decimal
    rates: tuple[TaxRate, ...] = ()
    default_basis: PriceBasis = PriceBasis.INCLUSIVE
    bases: Mapping[str, PriceBasis] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rate in (self.default, *(r.rate for r in self.rates)):
            if not Decimal(0) <= rate < Decimal(1):
                raise ValueError(f"a tax rate is a fraction from 0 up to 1 (0.19 for 19%), not {rate}")
        by_country = sorted(self.rates, key=lambda r: (r.country, r.valid_from))
        for before, after in zip(by_country, by_country[1:], strict=False):
            if before.country == after.country and (before.valid_to is None or before.valid_to >= after.valid_from):
                raise ValueError(f"tax rates for {after.country} overlap on {after.valid_from}")

    def rate_for(self, country: str, on: date) -> Decimal:
        """The rate for goods sent to `country` (ISO 3166-1 alpha-2) on the day `on`."""
        return next((r.rate for r in self.rates if r.applies(country, on)), self.default)

    def basis_for(self, channel: str) -> PriceBasis:
        return self.bases.get(channel, self.default_basis)

    @classmethod
    def from_json(cls, text: str) -> TaxTable:
        """Reads the configuration, e.g.
        {"default": "0.19", "rates": [{"country": "DE", "rate": "0.16", "valid_from": "2020-07-01",
        "valid_to": "2020-12-31"}, {"country": "FR", "rate": "0.20", "valid_from": "2014-01-01"}],
        "price_basis": {"default": "INCLUSIVE", "b2b": "EXCLUSIVE"}}.
        Rates are decimal strings (or JSON numbers, read as decimals, never floats). A mistake is a
        ValueError naming it: a function must not start taxing with a rate it misread."""
        try:
            raw = json.loads(text, parse_float=Decimal)
            bases = {k: PriceBasis(v) for k, v in raw.get("price_basis", {}).items()}
            return cls(
                default=_rate(raw["default"]),
                rates=tuple(TaxRate(country=_country(r["country"]), rate=_rate(r["rate"]),
                                    valid_from=date.fromisoformat(r["valid_from"]),
                                    valid_to=date.fromisoformat(r["valid_to"]) if r.get("valid_to") else None)
                            for r in raw.get("rates", [])),
                default_basis=bases.pop("default", PriceBasis.INCLUSIVE),
                bases=bases,
            )
        except (KeyError, TypeError, AttributeError, ArithmeticError, json.JSONDecodeError) as e:
            raise ValueError(f"tax rate configuration is not valid: {e!r}") from e


def _rate(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise TypeError(f"a rate is a decimal string such as \"0.19\", not {value!r}")
    return Decimal(value)


def _country(value: Any) -> str:
    if not (isinstance(value, str) and len(value) == 2 and value.isascii() and value.isupper()):
        raise TypeError(f"a country is an ISO 3166-1 alpha-2 code such as DE, not {value!r}")
    return value


# ------------------------------------------------------------------ lines


@dataclass(frozen=True)
class TaxableLine:
    """A line's amount as priced: gross under INCLUSIVE, net under EXCLUSIVE."""

    key: str
    amount: Decimal


@dataclass(frozen=True)
class TaxedLine:
    key: str
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class TaxBreakdown:
    """Lines taxed at one rate, and their totals (the sums of the lines)."""

    rate: Decimal
    currency: str
    lines: tuple[TaxedLine, ...]
    net: Decimal
    tax: Decimal
    gross: Decimal


def to_units(amount: Decimal, currency: str) -> int:
    """An amount in whole minor units, rounded half up when it is finer than the minor unit."""
    return _half_up(Fraction(amount) * 10 ** minor_unit(currency))


def _half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2)) if x >= 0 else -math.floor(-x + Fraction(1, 2))


def tax_lines(lines: Sequence[TaxableLine], basis: PriceBasis, rate: Decimal, currency: str) -> TaxBreakdown:
    """Each line taxed and rounded by the rule in the module docstring; totals are the line sums."""
    r = Fraction(rate)
    taxed = []
    for line in lines:
        if line.amount < 0:
            raise ValueError(f"line {line.key} has a negative amount {line.amount}")
        units = to_units(line.amount, currency)
        if basis is PriceBasis.INCLUSIVE:
            tax = _half_up(units * r / (1 + r))
            net, gross = units - tax, units
        else:
            tax = _half_up(units * r)
            net, gross = units, units + tax
        taxed.append((line.key, net, tax, gross))

    def money(units: int) -> Decimal:
        return from_minor(units, currency)

    return TaxBreakdown(
        rate=rate, currency=currency,
        lines=tuple(TaxedLine(key, money(n), money(t), money(g)) for key, n, t, g in taxed),
        net=money(sum(n for _, n, _, _ in taxed)), tax=money(sum(t for _, _, t, _ in taxed)),
        gross=money(sum(g for _, _, _, g in taxed)),
    )


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """`total` split pro rata to `weights` in whole minor units, by the largest-remainder method:
    everyone gets the floor of their exact share, and the units left over go one each to the
    largest remainders (the earlier weight on a tie). The parts sum to `total` exactly; when the
    weights are whole minor units and `total` is at most their sum, no part exceeds its weight."""
    units = to_units(total, currency)
    whole = sum((Fraction(w) for w in weights), Fraction(0))
    if units == 0:
        return [from_minor(0, currency) for _ in weights]
    if units < 0 or whole <= 0 or any(w < 0 for w in weights):
        raise ValueError(f"cannot allocate {total} over {list(weights)}")
    exact = [units * Fraction(w) / whole for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:units - sum(parts)]:
        parts[i] += 1
    return [from_minor(p, currency) for p in parts]


def share(total: Decimal, part: Fraction, currency: str) -> Decimal:
    """`total * part` rounded half up to the minor unit. Taking a cumulative share and subtracting
    the share taken before keeps a sequence of partial documents exact: the last one takes what is
    left, so they add up to the whole."""
    return from_minor(_half_up(to_units(total, currency) * part), currency)
