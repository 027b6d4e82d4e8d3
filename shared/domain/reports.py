"""Reports from the aggregates: rows grouped by a dimension over a range of capture days, amounts in
each order currency and in the base currency, percentiles from duration histograms. Pure.

- Sales: orders (kept: not wholly cancelled nor rejected), units, gross, discounts, refunds, net
  (gross - discounts - refunds), per currency and in the base currency.
- Fulfilment: orders captured, cancelled, rejected, backordered, allocated, shipped, delivered and
  their rates; split and on-time rates; capture to allocation, shipment and delivery p50/p90 (hours).
- Returns: units sold, units asked back (returns not declined), return rate, returns, units by
  reason, refunds.

The base currency: each amount converted at the rate of its capture day. A day and currency without
a rate makes the rows holding such amounts answer `null` in the base currency, and the report lists
every (day, currency) that lacks one: never a silent 0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from shared.domain.analytics import BUCKETS_H, DURATIONS, OPEN_END_H, SCALE, Metrics
from shared.domain.money import quantum

MAX_RANGE_DAYS = 366
MONEY = {"g": "gross", "d": "discounts", "r": "refunds"}


class ReportKind(StrEnum):
    SALES = "sales"
    FULFILLMENT = "fulfillment"
    RETURNS = "returns"


class GroupBy(StrEnum):
    DAY = "day"
    SKU = "sku"
    CHANNEL = "channel"
    COUNTRY = "country"
    LOCATION = "location"
    CUSTOMER = "customer"


ALLOWED: dict[ReportKind, tuple[GroupBy, ...]] = {
    ReportKind.SALES: tuple(GroupBy),
    # Fulfilment is an order's, not a SKU's; per customer it is one or two orders a row.
    ReportKind.FULFILLMENT: (GroupBy.DAY, GroupBy.CHANNEL, GroupBy.COUNTRY, GroupBy.LOCATION),
    ReportKind.RETURNS: (GroupBy.DAY, GroupBy.SKU, GroupBy.CHANNEL, GroupBy.COUNTRY, GroupBy.LOCATION),
}


@dataclass
class Row:
    """One group's metrics summed over days, and its amounts in the base currency."""

    group: str
    metrics: Metrics = field(default_factory=dict)
    base: dict[str, Decimal] = field(default_factory=dict)  # g, d, r in the base currency (unscaled)
    base_missing: bool = False

    def add(self, day: date, metrics: Mapping[str, int], rates: Rates) -> None:
        for name, value in metrics.items():
            self.metrics[name] = self.metrics.get(name, 0) + value
            kind, _, currency = name.partition("_")
            if kind in MONEY and currency and len(currency) == 3 and value:
                rate = rates.rate(day, currency)
                if rate is None:
                    self.base_missing = True
                else:
                    self.base[kind] = self.base.get(kind, Decimal(0)) + Decimal(value) / SCALE * rate

    def add_row(self, other: Row) -> None:
        """Another group's sums added: the totals of groups that split the whole (day, channel, country)."""
        for name, value in other.metrics.items():
            self.metrics[name] = self.metrics.get(name, 0) + value
        for kind, amount in other.base.items():
            self.base[kind] = self.base.get(kind, Decimal(0)) + amount
        self.base_missing |= other.base_missing


class Rates:
    """Rates into the base currency per day; remembers what it was asked for and lacked."""

    def __init__(self, base: str, by_day: Mapping[date, Mapping[str, Decimal]]):
        self.base, self.by_day = base, by_day
        self.missing: set[tuple[date, str]] = set()

    def rate(self, day: date, currency: str) -> Decimal | None:
        if currency == self.base:
            return Decimal(1)
        rate = self.by_day.get(day, {}).get(currency)
        if rate is None:
            self.missing.add((day, currency))
        return rate


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of durations counted in BUCKETS_H buckets, in hours, interpolated
    linearly inside its bucket (the open last bucket read as ending at OPEN_END_H)."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    target, seen = q * total, 0
    bounds = (0, *BUCKETS_H, OPEN_END_H)
    for i in range(len(BUCKETS_H) + 1):
        count = histogram.get(i, 0)
        if count and seen + count >= target:
            low, high = bounds[i], bounds[i + 1]
            return round(low + (high - low) * (target - seen) / count, 1)
        seen += count
    return float(OPEN_END_H)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _amount(scaled: int, currency: str) -> str:
    """A scaled amount in the currency's minor unit (EUR 19.99, JPY 1999), finer only when it is."""
    exact = Decimal(scaled) / SCALE
    rounded = exact.quantize(quantum(currency))
    return str(rounded if rounded == exact else exact.quantize(Decimal("0.0001")))


def _money(metrics: Metrics, kind: str) -> dict[str, str]:
    return {name.split("_", 1)[1]: _amount(v, name.split("_", 1)[1]) for name, v in sorted(metrics.items())
            if name.startswith(kind + "_") and v}


def _net(metrics: Metrics) -> dict[str, str]:
    currencies = {name.split("_", 1)[1] for name in metrics if name[:2] in ("g_", "d_", "r_")}
    return {c: _amount(metrics.get(f"g_{c}", 0) - metrics.get(f"d_{c}", 0) - metrics.get(f"r_{c}", 0), c)
            for c in sorted(currencies)}


def _base(row: Row) -> dict[str, str | None]:
    if row.base_missing:
        return {"gross": None, "discounts": None, "refunds": None, "net": None}
    g, d, r = (row.base.get(k, Decimal(0)) for k in "gdr")
    q = Decimal("0.01")
    return {"gross": str(g.quantize(q)), "discounts": str(d.quantize(q)), "refunds": str(r.quantize(q)),
            "net": str((g - d - r).quantize(q))}


def sales_row(row: Row) -> dict:
    m = row.metrics
    return {"group": row.group, "orders": m.get("k", 0), "units": m.get("u", 0), "gross": _money(m, "g"),
            "discounts": _money(m, "d"), "refunds": _money(m, "r"), "net": _net(m), "base": _base(row)}


def fulfillment_row(row: Row) -> dict:
    m = row.metrics
    out: dict = {"group": row.group, "orders": m.get("n", 0), "cancelled": m.get("nx", 0),
                 "cancellation_rate": _ratio(m.get("nx", 0), m.get("n", 0)), "rejected": m.get("nj", 0),
                 "backordered": m.get("nb", 0), "backorder_rate": _ratio(m.get("nb", 0), m.get("n", 0)),
                 "allocated": m.get("na", 0), "shipped": m.get("ns", 0), "delivered": m.get("nd", 0),
                 "split_rate": _ratio(m.get("nsp", 0), m.get("ns", 0)),
                 "on_time_rate": _ratio(m.get("nt", 0), m.get("np", 0)), "delivered_with_promise": m.get("np", 0)}
    for prefix, name in DURATIONS.items():
        histogram = {i: m.get(f"{prefix}{i}", 0) for i in range(len(BUCKETS_H) + 1)}
        out[name] = {"p50_hours": percentile(histogram, 0.5), "p90_hours": percentile(histogram, 0.9),
                     "count": sum(histogram.values())}
    return out


def returns_row(row: Row) -> dict:
    m = row.metrics
    reasons = {name[3:]: v for name, v in sorted(m.items()) if name.startswith("rr_") and v}
    base = _base(row)
    return {"group": row.group, "units_sold": m.get("u", 0), "units_returned": m.get("ru", 0),
            "return_rate": _ratio(m.get("ru", 0), m.get("u", 0)), "returns": m.get("rq", 0), "reasons": reasons,
            "refunds": _money(m, "r"), "refunds_base": base["refunds"]}


SHAPE = {ReportKind.SALES: sales_row, ReportKind.FULFILLMENT: fulfillment_row, ReportKind.RETURNS: returns_row}


def ordered(rows: Iterable[Row], group_by: GroupBy) -> list[Row]:
    """Days in date order; any other group by orders (then units) descending, then by name."""
    if group_by is GroupBy.DAY:
        return sorted(rows, key=lambda r: r.group)
    return sorted(rows, key=lambda r: (-r.metrics.get("n", 0), -r.metrics.get("u", 0), r.group))


def to_csv(rows: list[dict]) -> str:
    """The rows flattened: nested objects become `<field>_<key>` columns (gross_EUR, base_net,
    capture_to_delivery_p50_hours, reasons_damaged), in the order first seen."""
    flat = [_flatten(r) for r in rows]
    columns: dict[str, None] = {}
    for r in flat:
        columns.update(dict.fromkeys(r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def _flatten(value: Mapping, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, v in value.items():
        name = f"{prefix}{key}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, name + "_"))
        elif name == "group" and isinstance(v, str) and v[:1] in _FORMULA and v != "-":
            out[name] = "'" + v  # a spreadsheet would run it as a formula (customer ids are the channel's)
        else:
            out[name] = "" if v is None else v
    return out


_FORMULA = ("=", "+", "-", "@", "\t", "\r")
