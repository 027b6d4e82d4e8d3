"""What every step of a run works with: the run (`Run`: repositories, clock, settings, budget,
report), the steps' names, and `walk`, which handles a step's items one by one, counts what fails
and checkpoints as it goes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.adapters.reconciliation_repo import ReconciliationRepository
from shared.domain import reconciliation as rules
from shared.domain.orders import Order, OrderStatus
from shared.domain.principal import OPERATOR, Principal
from shared.domain.shipments import Shipment
from shared.errors import OmsError
from shared.observability import logger
from shared.repositories import Repositories
from shared.services.allocation import PolicyFor
from shared.services.reconciliation.steps import Step
from shared.unit_of_work import CommitFailed

if TYPE_CHECKING:
    from shared.services.reconciliation.report import RunReport
    from shared.services.settlement import GatewayFor

CHECKPOINT_EVERY = 50
RECONCILER = Principal(OPERATOR)

Cursor = dict | None
StepResult = tuple[bool, Cursor]  # (the step is done, the cursor after the last item it handled)
Tracker = Callable[[Shipment, datetime], list]  # the carrier's updates for a shipment


class Budget:
    """How long a run may work: a monotonic deadline and, for tests, a number of items."""

    def __init__(self, seconds: float, max_items: int | None = None):
        self.deadline = time.monotonic() + seconds
        self.max_items = max_items
        self.items = 0

    @classmethod
    def for_lambda(cls, context, limit: timedelta, margin_s: float) -> Budget:
        """The configured budget, cut to what the invocation has left minus a margin."""
        seconds = limit.total_seconds()
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            seconds = min(seconds, context.get_remaining_time_in_millis() / 1000 - margin_s)
        return cls(max(1.0, seconds))

    def spend(self) -> None:
        self.items += 1

    @property
    def exhausted(self) -> bool:
        return time.monotonic() >= self.deadline or (self.max_items is not None and self.items >= self.max_items)


@dataclass
class Run:
    repos: Repositories
    now: datetime
    cfg: rules.ReconcileConfig
    budget: Budget
    policy_for: PolicyFor
    report: RunReport
    tracker: Tracker | None
    # Called with (step, item key) for every item handled: tests and the benchmark watch coverage.
    observer: Callable[[str, str], None] | None = None
    # The payment adapters (pending_refunds); None: the configured ones. Tests hand in a fake.
    gateway_for: GatewayFor | None = None
    since_checkpoint: int = 0

    @property
    def store(self) -> ReconciliationRepository:
        return self.repos.reconciliation


def walk[P, T](run: Run, step: Step, start: Cursor, items: Iterable[tuple[P, T | ValueError]],
               handle: Callable[[T], None], cursor_of: Callable[[P], dict]) -> StepResult:
    """Handle each (position, item) after `start` until the items or the budget run out. An item
    that could not be read comes as its ValueError and counts as that item's failure. Returns
    (done, the cursor after the last item handled)."""
    last = start
    for position, item in items:
        if run.budget.exhausted:
            return False, last
        try:
            if isinstance(item, ValueError):
                raise item
            handle(item)
        except (OmsError, CommitFailed, LookupError, ValueError) as error:
            # One bad item must not block the pass for ever: count it, say why, go on.
            run.report.errors += 1
            if len(run.report.error_samples) < 5:
                run.report.error_samples.append(f"{step} {position}: {error}")
            logger.warning("reconciliation item failed", extra={"step": step.value, "item": str(position),
                                                               "error": str(error)})
        run.budget.spend()
        run.report.items += 1
        if run.observer:
            run.observer(step.value, str(position))
        last = cursor_of(position)
        run.since_checkpoint += 1
        if run.since_checkpoint >= CHECKPOINT_EVERY:
            run.store.checkpoint(run.report.run_id, step.value, last)
            run.since_checkpoint = 0
    return True, None


def orders_by_status(run: Run, statuses: Sequence[OrderStatus], cursor: Cursor,
                     upto: Callable[[OrderStatus], datetime]) -> Iterator[tuple[tuple[str, str], Order | ValueError]]:
    """The orders in each of `statuses` in turn (each up to its `upto`), from the cursor
    {"status", "after"} on, as ((status, position), order). A cursor in a status no longer walked
    (its SLA was switched off since the checkpoint) starts over."""
    start, after = (cursor or {}).get("status"), (cursor or {}).get("after")
    names = [s.value for s in statuses]
    if start not in names:
        start, after = None, None
    for status in statuses:
        if start is not None and names.index(status.value) < names.index(start):
            continue
        resume = after if status.value == start else None
        for position, order in run.store.orders_in_status(status, resume, upto(status)):
            yield (status.value, position), order


def status_cursor(position: tuple[str, str]) -> dict:
    return {"status": position[0], "after": position[1]}
