"""Keep the report aggregates as events happen: recompute each touched order's contribution from its
current state and write what changed, exactly once (docs/reports.md).

For a batch of events: the orders they name in one batch read, their recorded contributions in
another, their returns in a third (only orders with returns, or named by a return event); each
order's new contribution (shared/domain/analytics.py) against the recorded one; the deltas merged per
aggregate across the batch; then per group of orders one transaction of at most 100 writes: each
order's contribution, conditioned on the revision read, and the merged deltas of the group.

Why it is exact whatever the delivery:
- A duplicate event finds its change recorded already: the new contribution equals the recorded
  one, nothing is written.
- Events in any order converge: the contribution is computed from the state, not from the event.
- Two batches on one order: the second's contribution write is refused (the revision moved), the
  whole transaction with it, and it reads again.
- A read older than the recorded contribution (another batch read later and wrote first) is never
  written over it: the contribution carries the order version and the returns stamp it was computed
  from, and only a state newer in both replaces it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from shared.domain.analytics import Contribution, Dimension, Metrics, capture_day, contribution, delta, merge
from shared.unit_of_work import MAX_WRITES, Contention, Refused

if TYPE_CHECKING:
    from shared.adapters.expressions import Write
    from shared.domain.orders import Order
    from shared.domain.returns import Return
    from shared.repositories import Repositories

MAX_ROUNDS = 6


class AnalyticsBusy(Exception):
    """Some orders could not be recorded after MAX_ROUNDS (contention): the batch is delivered again."""

    def __init__(self, order_ids: Collection[str]):
        super().__init__(f"{len(order_ids)} orders not recorded after {MAX_ROUNDS} rounds")
        self.order_ids = set(order_ids)


@dataclass
class RefreshReport:
    orders: int = 0
    changed: int = 0  # contributions written
    unchanged: int = 0  # duplicates, or changes that move no figure
    unknown: int = 0  # events for orders that are not in the table
    transactions: int = 0
    retried: int = 0
    aggregates_written: int = 0


@dataclass
class _Planned:
    order_id: str
    write: Write
    day: date
    deltas: dict[tuple[Dimension, str], Metrics] = field(default_factory=dict)


def refresh(order_ids: Iterable[str], repos: Repositories, rma_ids: Mapping[str, Collection[str]] | None = None,
            generation: int | None = None) -> RefreshReport:
    """Bring the contributions of these orders up to date in `generation` (the live one by default).
    `rma_ids`: returns a return event named, per order (a return is found through its order's
    recorded contribution otherwise). Raises AnalyticsBusy when contention outlasts the rounds."""
    gen = generation if generation is not None else repos.analytics.live_generation()
    pending = set(order_ids)
    named = {order_id: set(rmas) for order_id, rmas in (rma_ids or {}).items()}
    report = RefreshReport(orders=len(pending))
    for round_ in range(MAX_ROUNDS):
        if not pending:
            return report
        if round_:
            report.retried += len(pending)
            time.sleep(random.uniform(0.01, 0.05) * 2 ** round_)
        pending = _round(pending, named, gen, repos, report)
    if pending:
        raise AnalyticsBusy(pending)
    return report


def _round(order_ids: set[str], named: dict[str, set[str]], gen: int, repos: Repositories,
           report: RefreshReport) -> set[str]:
    """One read-compute-write pass; answers the orders to try again."""
    orders = {o.order_id: o for o in repos.orders.many(sorted(order_ids))}
    report.unknown += len(order_ids - set(orders))
    recorded = repos.analytics.contributions(gen, [(capture_day(o), o.order_id) for o in orders.values()])
    returns = _returns(orders, recorded, named, repos)
    planned: list[_Planned] = []
    again: set[str] = set()
    for order_id in sorted(orders):
        order, old = orders[order_id], recorded.get(order_id)
        new = contribution(order, returns.get(order_id, []))
        if old is not None and not new.newer_than(old):
            if (new.version, new.returns_stamp) == (old.version, old.returns_stamp) or old.newer_than(new):
                report.unchanged += 1  # the same state, or one older than what is recorded
            else:
                again.add(order_id)  # read the order after one change and its returns before another
            continue
        planned.append(_Planned(order_id, repos.analytics.record(gen, new, old), new.day, delta(old, new)))
    for group in _groups(planned):
        merged: dict[date, dict[tuple[Dimension, str], Metrics]] = {}
        for p in group:
            merge(merged.setdefault(p.day, {}), p.deltas)  # drops the figures that cancel out
        adds = [repos.analytics.add(gen, dim, day, value, metrics)
                for day, cells in merged.items() for (dim, value), metrics in cells.items()]
        writes: list[Write] = [p.write for p in group]
        writes.extend(adds)
        writes.sort(key=lambda w: w.key)
        try:
            repos.commit(writes)
        except (Refused, Contention):
            again.update(p.order_id for p in group)
            continue
        report.transactions += 1
        report.changed += len(group)
        report.aggregates_written += len(adds)
    return again


def _returns(orders: Mapping[str, Order], recorded: Mapping[str, Contribution], named: Mapping[str, set[str]],
             repos: Repositories) -> dict[str, list[Return]]:
    wanted: set[str] = set()
    for order_id in orders:
        wanted.update(named.get(order_id, ()))
        if order_id in recorded:
            wanted.update(recorded[order_id].rma_ids)
    by_order: dict[str, list[Return]] = {}
    for ret in repos.returns.many(sorted(wanted)) if wanted else []:
        by_order.setdefault(ret.order_id, []).append(ret)
    return by_order


def _groups(planned: list[_Planned]) -> list[list[_Planned]]:
    """Orders packed into transactions of at most MAX_WRITES writes: their contributions and the
    distinct aggregates their deltas touch (shared aggregates counted once per group)."""
    groups: list[list[_Planned]] = []
    current: list[_Planned] = []
    keys: set[tuple[date, Dimension, str]] = set()
    for p in planned:
        mine = {(p.day, dim, value) for dim, value in p.deltas}
        if current and len(current) + 1 + len(keys | mine) > MAX_WRITES:
            groups.append(current)
            current, keys = [], set()
        current.append(p)
        keys |= mine
    if current:
        groups.append(current)
    return groups


def merged_cells(contributions: Iterable[Contribution]) -> dict[tuple[Dimension, str], Metrics]:
    """The cells of several contributions of one day added up (a rebuild's aggregates)."""
    out: dict[tuple[Dimension, str], Metrics] = {}
    for c in contributions:
        merge(out, c.cells)
    return out
