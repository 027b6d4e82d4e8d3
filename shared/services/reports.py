"""The operator's reports and FX rates (docs/reports.md).

A report reads the live generation's aggregates of each day of the range, one query per day and
dimension (in parallel), and the range's FX rates in one query; never an order. `group_by=day`,
`channel`, `country` and the totals read the market aggregates (channel x country: every order is in
exactly one); `customer` reads the day's order contributions, which are its customer aggregates.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.adapters.analytics_repo import StoredRates, days
from shared.domain.analytics import Dimension, Metrics
from shared.domain.principal import Principal
from shared.domain.reports import ALLOWED, MAX_RANGE_DAYS, SHAPE, GroupBy, Rates, ReportKind, Row, ordered
from shared.errors import AccessDenied, InvalidInput, NotFound

if TYPE_CHECKING:
    from shared.repositories import Repositories

READERS = 8  # day queries in flight at once
DIMENSION = {GroupBy.DAY: Dimension.MARKET, GroupBy.CHANNEL: Dimension.MARKET, GroupBy.COUNTRY: Dimension.MARKET,
             GroupBy.LOCATION: Dimension.LOCATION, GroupBy.SKU: Dimension.SKU}


@dataclass(frozen=True)
class ReportQuery:
    kind: ReportKind
    from_day: date
    to_day: date
    group_by: GroupBy
    limit: int = 1000


def _operator(caller: Principal) -> None:
    if not caller.is_operator:
        raise AccessDenied("only an operator may read reports and FX rates")


def check(query: ReportQuery) -> None:
    if query.to_day < query.from_day:
        raise InvalidInput(f"to ({query.to_day}) is before from ({query.from_day})", field="to")
    if (query.to_day - query.from_day).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"a report covers at most {MAX_RANGE_DAYS} days", field="to")
    if query.group_by not in ALLOWED[query.kind]:
        allowed = ", ".join(g.value for g in ALLOWED[query.kind])
        raise InvalidInput(f"the {query.kind} report groups by {allowed}", field="group_by")


def report(query: ReportQuery, caller: Principal, repos: Repositories, base_currency: str) -> dict:
    """The report as JSON-ready data: rows (at most `limit`), totals, the FX rates it lacked."""
    _operator(caller)
    check(query)
    analytics = repos.analytics
    gen = analytics.live_generation()
    rates = Rates(base_currency, analytics.fx_rates(query.from_day, query.to_day))
    rows: dict[str, Row] = {}
    totals = Row("total")
    for day, value, metrics in _cells(query, gen, repos):
        group = _group(query.group_by, day, value)
        rows.setdefault(group, Row(group)).add(day, metrics, rates)
    if query.group_by in (GroupBy.DAY, GroupBy.CHANNEL, GroupBy.COUNTRY):
        for row in rows.values():
            totals.add_row(row)
    else:
        for day, _, metrics in _read(repos, gen, Dimension.MARKET, days(query.from_day, query.to_day)):
            totals.add(day, metrics, rates)
    shape = SHAPE[query.kind]
    listed = ordered(rows.values(), query.group_by)
    return {
        "report": query.kind.value, "from": query.from_day.isoformat(), "to": query.to_day.isoformat(),
        "group_by": query.group_by.value, "base_currency": base_currency,
        "rows": [shape(r) for r in listed[:query.limit]], "row_count": len(listed),
        "truncated": len(listed) > query.limit, "totals": shape(totals),
        "fx_missing": [{"date": d.isoformat(), "currency": c} for d, c in sorted(rates.missing)],
    }


def _group(group_by: GroupBy, day: date, value: str) -> str:
    if group_by is GroupBy.DAY:
        return day.isoformat()
    if group_by in (GroupBy.SKU, GroupBy.CHANNEL):
        return value.split("#", 1)[0]
    if group_by is GroupBy.COUNTRY:
        return value.split("#", 1)[1]
    return value


def _cells(query: ReportQuery, gen: int, repos: Repositories) -> Iterator[tuple[date, str, Metrics]]:
    wanted = days(query.from_day, query.to_day)
    if query.group_by is GroupBy.CUSTOMER:
        def customers(day: date) -> list[tuple[date, str, Metrics]]:
            return [(day, c.customer, c.order_metrics()) for c in repos.analytics.day_contributions(gen, day)]
        with ThreadPoolExecutor(READERS) as pool:
            for found in pool.map(customers, wanted):
                yield from found
        return
    yield from _read(repos, gen, DIMENSION[query.group_by], wanted)


def _read(repos: Repositories, gen: int, dimension: Dimension, wanted: list[date]
          ) -> Iterator[tuple[date, str, Metrics]]:
    def one(day: date) -> list[tuple[date, str, Metrics]]:
        return [(day, value, metrics) for value, metrics in repos.analytics.day_aggregates(gen, dimension, day)]
    with ThreadPoolExecutor(READERS) as pool:
        for found in pool.map(one, wanted):
            yield from found


# ---------------------------------------------------------------- FX rates

RatesWritten = StoredRates  # a day's rates as stored: what a PUT wrote and a GET reads


def put_rates(day: date, rates: dict[str, Decimal], caller: Principal, repos: Repositories, base_currency: str,
              now: datetime) -> RatesWritten:
    """A day's rates into the base currency (units of the base per unit of each currency), replaced
    whole. Reports convert when they are read, so a rate put late or corrected applies at once."""
    _operator(caller)
    if day > now.date() + timedelta(days=1):
        raise InvalidInput(f"{day} is in the future: rates are put for days that have begun", field="date")
    if base_currency in rates:
        raise InvalidInput(f"{base_currency} is the base currency: its rate is 1", field=f"rates.{base_currency}")
    repos.commit(repos.analytics.put_fx_rates(day, rates, base_currency, now, caller.name))
    return RatesWritten(day, dict(sorted(rates.items())), base_currency, now.isoformat(), caller.name)


def get_rates(day: date, caller: Principal, repos: Repositories) -> RatesWritten:
    _operator(caller)
    stored = repos.analytics.fx_rates_of(day)
    if stored is None:
        raise NotFound(f"no FX rates for {day}", field="date")
    return stored
