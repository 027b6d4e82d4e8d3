"""Step 4: shipments of SHIPPED / PARTIALLY_SHIPPED orders with no tracking news for the silent
limit are polled at their carrier; updates are applied through the tracking service (once each,
never backwards); a shipment still silent is flagged as an open exception (SILENT_SHIPMENT), and its
carrier asked again only every REPOLL_FLAGGED."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta

from shared.domain import reconciliation as rules
from shared.domain.orders import Order, OrderStatus
from shared.domain.reconciliation import ExceptionKind, ExceptionRecord
from shared.domain.shipments import Shipment
from shared.services.reconciliation.context import Cursor, Run, Step, StepResult, orders_by_status, status_cursor, walk
from shared.unit_of_work import AlreadyExists, Refused

STATUSES = (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED)
# A shipment flagged silent is asked about again at most this often, not on every run.
REPOLL_FLAGGED = timedelta(hours=6)


def carrier_tracker(shipment: Shipment, now: datetime) -> list:
    """Ask the carrier adapter for every known event of the parcel."""
    from shared.services.labels import label_adapter

    if not shipment.tracking_code:
        return []  # nothing to ask about (_chase polls only shipments that have a tracking number)
    adapter = label_adapter()
    kwargs = {}
    accepted = inspect.signature(adapter.track).parameters
    if "labelled_at" in accepted:  # the sandbox carrier derives its events from the label's time
        kwargs["labelled_at"] = shipment.created_at
    if "now" in accepted:
        kwargs["now"] = now
    return adapter.track(shipment.tracking_code, shipment.carrier, **kwargs)


def silent_shipments(run: Run, cursor: Cursor) -> StepResult:
    upto = run.now - run.cfg.silent_after  # a shipment is younger than its order
    items = orders_by_status(run, STATUSES, cursor, lambda _status: upto)

    def handle(order: Order) -> None:
        for shipment in run.store.shipments(order.shipment_ids):
            if rules.silent(shipment, run.now, run.cfg.silent_after):
                _chase(shipment, run)

    return walk(run, Step.SILENT_SHIPMENTS, cursor, items, handle, status_cursor)


def _chase(shipment: Shipment, run: Run) -> None:
    kind = ExceptionKind.SILENT_SHIPMENT
    flagged = run.store.open_exception(kind, shipment.shipment_id)
    if flagged is not None and flagged.since == rules.last_heard(shipment):  # still flagged
        if run.now - (flagged.polled_at or flagged.raised_at) < REPOLL_FLAGGED:
            return  # flagged already and asked recently: a carrier call every 5 minutes tells us nothing new
        run.store.mark_polled(kind, shipment.shipment_id, run.now)
    problem = None
    if shipment.tracking_code:
        run.report.shipments_polled += 1
        try:
            updates = (run.tracker or carrier_tracker)(shipment, run.now)
            if updates:
                from shared.services.tracking import apply_update

                for update in updates:
                    apply_update(update, run.now, run.repos, run.now)
                shipment = run.store.shipments([shipment.shipment_id])[0]
        except Exception as error:  # noqa: BLE001 - a carrier outage must not stop the pass
            problem = f"the carrier did not answer: {error}"
    if not rules.silent(shipment, run.now, run.cfg.silent_after):
        return
    record = ExceptionRecord(
        kind=kind, subject=shipment.shipment_id, since=rules.last_heard(shipment), raised_at=run.now,
        order_id=shipment.order_id, status=shipment.status.value,
        reason=rules.silent_reason(shipment, run.now, problem), suggested_action=rules.silent_action(shipment))
    try:
        run.repos.commit(run.store.raise_exception(record))
        run.report.shipments_flagged += 1
    except Refused as refused:
        if not refused.only(AlreadyExists):
            raise  # not "already flagged": a conflict to retry next run
