"""One reconciliation run: take the lease, walk the steps from the checkpoint until the pass is
done or the budget is spent, give the lease back with the next checkpoint and the run's report.

Runs never fight: a run first takes the lease (one conditional write); a second run finds it held
and does nothing. The checkpoint (step and cursor: the last item handled) is written every
`CHECKPOINT_EVERY` items and when the budget runs out, each write conditioned on still holding the
lease. A run that stops early leaves the checkpoint for the next one, which resumes right after the
last item handled; a crashed run's lease expires after its budget plus `LEASE_MARGIN` and the next
run redoes at most `CHECKPOINT_EVERY` items, all of which are idempotent.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.adapters.reconciliation_repo import LeaseLost
from shared.domain import reconciliation as rules
from shared.domain.events import ReconciliationCompleted
from shared.observability import logger
from shared.repositories import Repositories
from shared.services.allocation import PolicyFor
from shared.services.reconciliation.aging_authorizations import aging_authorizations
from shared.services.reconciliation.backorders import backorders
from shared.services.reconciliation.context import Budget, Cursor, Run, Step, StepResult, Tracker
from shared.services.reconciliation.drift import drift
from shared.services.reconciliation.exceptions import close_resolved
from shared.services.reconciliation.expire_holds import expire_holds
from shared.services.reconciliation.expire_pickups import expire_pickups
from shared.services.reconciliation.pending_refunds import pending_refunds
from shared.services.reconciliation.report import RunReport, publish_metrics
from shared.services.reconciliation.silent_shipments import silent_shipments
from shared.services.reconciliation.stuck_orders import stuck_orders
from shared.unit_of_work import LeaseLost as LeaseLostOutcome
from shared.unit_of_work import Refused

if TYPE_CHECKING:
    from shared.services.settlement import GatewayFor

LEASE_MARGIN = timedelta(seconds=60)

STEP_FUNCTIONS: dict[Step, Callable[[Run, Cursor], StepResult]] = {
    Step.EXPIRE_HOLDS: expire_holds,
    Step.EXPIRE_PICKUPS: expire_pickups,
    Step.PENDING_REFUNDS: pending_refunds,
    Step.DRIFT: drift,
    Step.BACKORDERS: backorders,
    Step.SILENT_SHIPMENTS: silent_shipments,
    Step.STUCK_ORDERS: stuck_orders,
    Step.AGING_AUTHORIZATIONS: aging_authorizations,
    Step.EXCEPTIONS: close_resolved,
}
STEPS = tuple(Step)
assert tuple(STEP_FUNCTIONS) == STEPS, "every step, in the order of Step"


def config() -> rules.ReconcileConfig:
    return rules.config_from_env(os.environ)


def run_reconciliation(repos: Repositories, now: datetime, *, policy_for: PolicyFor, trigger: str, context=None,
                       margin_s: float = 0.0, cfg: rules.ReconcileConfig | None = None) -> RunReport:
    """The functions' one way in (the schedule, POST /admin/reconcile): the configured budget cut
    to what the invocation has left minus `margin_s`, one run, its metrics and its log line. A
    broken OMS_RECONCILE_* setting is a ValueError."""
    cfg = cfg or config()
    report = reconcile(repos, now, policy_for=policy_for, trigger=trigger,
                       budget=Budget.for_lambda(context, cfg.budget, margin_s), cfg=cfg)
    publish_metrics(report)
    logger.info("reconciliation run", extra={"report": report.as_dict()})
    return report


def reconcile(repos: Repositories, now: datetime, *, policy_for: PolicyFor, trigger: str = "schedule",
              budget: Budget | None = None, cfg: rules.ReconcileConfig | None = None, tracker: Tracker | None = None,
              run_id: str | None = None, observer: Callable[[str, str], None] | None = None,
              gateway_for: GatewayFor | None = None) -> RunReport:
    cfg = cfg or config()
    budget = budget or Budget(cfg.budget.total_seconds())
    started = time.monotonic()
    report = RunReport(run_id=run_id or uuid.uuid4().hex, trigger=trigger, started_at=now)
    store = repos.reconciliation
    # The lease outlives the budget by a margin: a run that overruns a little keeps it.
    lease = timedelta(seconds=max(0.0, budget.deadline - time.monotonic())) + LEASE_MARGIN
    state = store.acquire(report.run_id, now, lease)
    if state is None:
        report.skipped = True
        logger.info("reconciliation skipped: another run holds the lease", extra={"run_id": report.run_id})
        return report
    run = Run(repos, now, cfg, budget, policy_for, report, tracker, observer, gateway_for)
    if state.step is not None and state.step in {s.value for s in STEPS}:
        step, cursor = Step(state.step), state.cursor
    else:
        step, cursor = STEPS[0], None
    if step != STEPS[0] or cursor:
        report.resumed_from = step
    try:
        step, cursor = _walk_steps(run, step, cursor)
        report.seconds = round(time.monotonic() - started, 3)
        counts = report.counts()
        reported: dict[str, Any] = {k: v for k, v in counts.items() if k in ReconciliationCompleted.model_fields}
        event = ReconciliationCompleted(
            occurred_at=now, run_id=report.run_id, trigger=trigger, started_at=now, pass_complete=report.pass_complete,
            resumed_from=_value(report.resumed_from), stopped_in=_value(report.stopped_in), **reported)
        try:
            repos.commit(store.release(report.run_id, step.value, cursor, report.pass_complete,
                                       {**counts, "seconds": report.seconds}, now),
                         repos.events.publish(event))
        except Refused as refused:
            if refused.find(LeaseLostOutcome) is None:
                raise
            raise LeaseLost() from None
    except LeaseLost:
        # Our lease ran out and another run took it: that run owns the checkpoint now.
        report.lease_lost = True
        report.seconds = round(time.monotonic() - started, 3)
        logger.warning("reconciliation lost its lease and stopped", extra={"run_id": report.run_id})
    except Exception:
        # Not an item's problem (those are counted and skipped): the table or the code failed. The
        # invocation fails (the function's error alarm fires); the next run continues from the last
        # checkpoint without waiting for our lease to expire.
        store.abandon(report.run_id)
        raise
    return report


def _walk_steps(run: Run, step: Step, cursor: Cursor) -> tuple[Step, Cursor]:
    """The steps from `step` (at `cursor`) on, until the pass is complete or the budget is spent.
    Returns where the next run starts: the step and its cursor."""
    report, index = run.report, STEPS.index(step)
    while True:
        done, cursor = STEP_FUNCTIONS[STEPS[index]](run, cursor)
        if not done:
            report.stopped_in = STEPS[index]
            return STEPS[index], cursor
        cursor = None
        if index == len(STEPS) - 1:
            report.pass_complete = True
            return STEPS[0], None
        index += 1
        if run.budget.exhausted:
            report.stopped_in = STEPS[index]  # nothing of it done yet; the next run starts it
            return STEPS[index], None
        run.store.checkpoint(report.run_id, STEPS[index].value, None)


def _value(step: Step | None) -> str | None:
    return step.value if step is not None else None
