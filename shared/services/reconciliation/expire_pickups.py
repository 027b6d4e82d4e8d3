"""Step 1b: click-and-collect orders READY_FOR_PICKUP longer than the pickup limit are cancelled
through the ordinary cancel, which cancels the fulfilment order and releases the reservation in
one transaction. One whose order is partly collected cannot be cancelled as a whole: it is listed
for an operator (UNCOLLECTED_PICKUP)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from shared.domain import reconciliation as rules
from shared.domain.fulfillment import FulfillmentOrder
from shared.domain.reconciliation import ExceptionKind, ExceptionRecord
from shared.errors import Conflict
from shared.services.reconciliation.context import RECONCILER, Cursor, Run, Step, StepResult, walk
from shared.unit_of_work import AlreadyExists, Refused


def expire_pickups(run: Run, cursor: Cursor) -> StepResult:
    from shared.services.order_actions import cancel_order

    upto = run.now - run.cfg.pickup_after
    start_loc, after = (cursor or {}).get("loc"), (cursor or {}).get("after")
    locations = sorted(loc.location_id for loc in run.repos.locations.all() if loc.pickup_enabled)

    def items() -> Iterator[tuple[tuple[str, str], FulfillmentOrder | ValueError]]:
        for loc in locations:
            if start_loc is not None and loc < start_loc:
                continue
            for position, fo in run.store.ready_for_pickup(loc, after if loc == start_loc else None, upto):
                yield (loc, position), fo

    def handle(indexed: FulfillmentOrder) -> None:
        fo = run.repos.fulfillment.get(indexed.fulfillment_order_id) or indexed
        if rules.pickup_abandoned(fo, run.now, run.cfg.pickup_after):
            limit = _duration_words(run.cfg.pickup_after)
            try:
                cancel_order(fo.order_id, RECONCILER, f"not collected within {limit} (reconciliation)", run.repos,
                             run.now)
            except Conflict:
                fresh = run.repos.fulfillment.get(fo.fulfillment_order_id)
                if fresh is None or not rules.pickup_abandoned(fresh, run.now, run.cfg.pickup_after):
                    return  # collected (or otherwise moved on) a moment earlier
                # Part of the order is already collected, so the order cannot be cancelled as a
                # whole: what to do with the rest (refund it, call the customer) is a person's call.
                _raise_uncollected(fresh, limit, run)
                return
            run.report.pickups_expired += 1

    return walk(run, Step.EXPIRE_PICKUPS, cursor, items(), handle, lambda pos: {"loc": pos[0], "after": pos[1]})


def _duration_words(limit: timedelta) -> str:
    hours = int(limit.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 24 else f"{hours} hours"


def _raise_uncollected(fo: FulfillmentOrder, limit: str, run: Run) -> None:
    since = fo.history[-1].at if fo.history else fo.updated_at
    record = ExceptionRecord(
        kind=ExceptionKind.UNCOLLECTED_PICKUP, subject=fo.fulfillment_order_id, since=since, raised_at=run.now,
        order_id=fo.order_id, status=fo.status.value,
        reason=f"ready for pickup at {fo.location_id} for more than {limit}; other parts of the order "
               "were already collected, so the order cannot be cancelled as a whole",
        suggested_action="contact the customer; if they will not come, cancel this fulfilment order's "
                         "lines with the store and refund them")
    try:
        run.repos.commit(run.store.raise_exception(record))
        run.report.pickups_flagged += 1
    except Refused as refused:
        if not refused.only(AlreadyExists):
            raise  # not "already open"
