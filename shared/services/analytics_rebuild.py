"""Rebuild the report aggregates from the stored orders and returns, and check the live ones against a
rebuild (docs/reports.md, "Rebuild and check").

- `rebuild` walks the orders of some creation months (the month index, a page at a time), computes
  each order's contribution as the consumer would, and writes contributions and summed aggregates
  into a fresh generation, which nothing reads yet. `activate` then makes it live and catches up:
  every order of those months is refreshed once more in the new generation, so what changed while the
  rebuild ran (the consumer still wrote to the old generation) is added exactly once, by the
  consumer's own guarded path.
- `check` rebuilds in memory only and compares with the live generation, aggregate by aggregate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from shared.adapters.analytics_repo import GENERATION_TTL_S, days
from shared.domain.analytics import Contribution, Dimension, Metrics, contribution, merge
from shared.services import analytics

if TYPE_CHECKING:
    from shared.domain.orders import Order
    from shared.repositories import Repositories

PAGE = 500
WRITES = 100  # a transaction's writes: the fresh generation is written a hundred items at a time


def months_between(first: str, last: str) -> list[str]:
    """yyyy-mm from `first` to `last` inclusive."""
    y, m = map(int, first.split("-"))
    end = tuple(map(int, last.split("-")))
    months = []
    while (y, m) <= end:
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def month_days(months: list[str]) -> list[date]:
    if not months:
        return []
    first = date.fromisoformat(f"{months[0]}-01")
    y, m = map(int, months[-1].split("-"))
    after = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    return days(first, date.fromordinal(after.toordinal() - 1))


def walk(repos: Repositories, months: list[str]) -> Iterator[list[Order]]:
    """The orders created in `months`, oldest first, a page at a time."""
    from shared.adapters.orders_repo import OrderFilter

    cursor: str | None = None
    while True:
        page, cursor = repos.orders.list(OrderFilter(), PAGE, cursor, months)
        if page:
            yield page
        if not cursor:
            return


def contributions_of(repos: Repositories, orders: list[Order]) -> list[Contribution]:
    """Each order's contribution from its stored state and its returns (two batch reads for the page)."""
    listed = repos.returns.rma_ids_of(o.order_id for o in orders)
    returns: dict[str, list] = {}
    wanted = sorted({rma for rmas in listed.values() for rma in rmas})
    for ret in repos.returns.many(wanted) if wanted else []:
        returns.setdefault(ret.order_id, []).append(ret)
    return [contribution(o, returns.get(o.order_id, [])) for o in orders]


@dataclass
class Built:
    orders: int = 0
    aggregates: dict[tuple[date, Dimension, str], Metrics] = field(default_factory=dict)
    contributions: list[Contribution] = field(default_factory=list)

    def add(self, c: Contribution) -> None:
        self.orders += 1
        by_day: dict[tuple[Dimension, str], Metrics] = {}
        merge(by_day, c.cells)
        for (dim, value), metrics in by_day.items():
            cell = self.aggregates.setdefault((c.day, dim, value), {})
            for k, v in metrics.items():
                cell[k] = cell.get(k, 0) + v


def build(repos: Repositories, months: list[str], keep: Callable[[Contribution], None] | None = None) -> Built:
    """The aggregates of the orders of `months`, in memory; `keep` sees each contribution."""
    built = Built()
    for page in walk(repos, months):
        for c in contributions_of(repos, page):
            built.add(c)
            if keep is not None:
                keep(c)
    return built


@dataclass(frozen=True)
class RebuildReport:
    generation: int
    orders: int
    aggregates: int


def rebuild(repos: Repositories, months: list[str], progress: Callable[[str], None] = lambda _: None
            ) -> RebuildReport:
    """The orders of `months` into a fresh generation (not live). Answers its number."""
    store = repos.analytics
    generation = store.next_generation()
    pending: list = []

    def flush(force: bool = False) -> None:
        while len(pending) >= WRITES or (force and pending):
            repos.commit(pending[:WRITES])
            del pending[:WRITES]

    def keep(c: Contribution) -> None:
        pending.append(store.record(generation, c, None))
        flush()

    built = build(repos, months, keep)
    progress(f"generation {generation}: {built.orders} orders walked, writing {len(built.aggregates)} aggregates")
    for (day, dim, value), metrics in sorted(built.aggregates.items()):
        metrics = {k: v for k, v in metrics.items() if v}
        if metrics:
            pending.append(store.put_aggregate(generation, dim, day, value, metrics))
            flush()
    flush(force=True)
    return RebuildReport(generation, built.orders, len(built.aggregates))


def activate(repos: Repositories, generation: int, months: list[str],
             sleep: Callable[[float], None] = time.sleep) -> analytics.RefreshReport:
    """Make `generation` live, wait until no consumer can still be writing the old one (each reads the
    live generation at most once a minute), then refresh every order of `months` in it once: what
    changed while it was built is added by the consumer's guarded path; an unchanged order writes nothing."""
    store = repos.analytics
    previous = store.live_generation(fresh=True)
    repos.commit(store.make_live(generation, previous))
    sleep(GENERATION_TTL_S + 5)
    total = analytics.RefreshReport()
    for page in walk(repos, months):
        ids = [o.order_id for o in page]
        named = {k: set(v) for k, v in repos.returns.rma_ids_of(ids).items()}
        done = analytics.refresh(ids, repos, named, generation=generation)
        total.orders += done.orders
        total.changed += done.changed
        total.unchanged += done.unchanged
    return total


@dataclass(frozen=True)
class Difference:
    day: date
    dimension: str
    value: str
    metric: str
    live: int
    rebuilt: int


def check(repos: Repositories, months: list[str]) -> tuple[int, list[Difference]]:
    """The live generation's aggregates of `months` against a rebuild in memory: (orders, differences).
    Events still in flight show as differences until the consumer has handled them."""
    built = build(repos, months)
    live: dict[tuple[date, Dimension, str], Metrics] = {}
    gen = repos.analytics.live_generation(fresh=True)
    for day in month_days(months):
        for dim in Dimension:
            for value, metrics in repos.analytics.day_aggregates(gen, dim, day):
                live[(day, dim, value)] = metrics
    differences = []
    for key in sorted(set(live) | set(built.aggregates)):
        a, b = live.get(key, {}), built.aggregates.get(key, {})
        for metric in sorted(set(a) | set(b)):
            if a.get(metric, 0) != b.get(metric, 0):
                day, dim, value = key
                differences.append(Difference(day, dim.value, value, metric, a.get(metric, 0), b.get(metric, 0)))
    return built.orders, differences
