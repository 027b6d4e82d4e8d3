"""The last step of a pass: close the open exceptions whose cause is gone (the order left the
status, the shipment spoke, the late parcel arrived, the pickup was collected or cancelled)."""

from __future__ import annotations

from shared.adapters.channels_repo import REJECT_RETENTION
from shared.domain import reconciliation as rules
from shared.domain.reconciliation import ExceptionKind, ExceptionRecord
from shared.services.reconciliation.context import Cursor, Run, Step, StepResult, walk


def close_resolved(run: Run, cursor: Cursor) -> StepResult:
    def handle(record: ExceptionRecord) -> None:
        if cause_gone(record, run) and run.store.resolve_exception(record):
            run.report.exceptions_resolved += 1

    return walk(run, Step.EXCEPTIONS, cursor, run.store.exceptions((cursor or {}).get("after")), handle,
                lambda position: {"after": position})


def cause_gone(record: ExceptionRecord, run: Run) -> bool:
    if record.kind == ExceptionKind.UNCOLLECTED_PICKUP:
        fo = run.repos.fulfillment.get(record.subject)
        return fo is None or not rules.pickup_abandoned(fo, run.now, run.cfg.pickup_after)
    if record.kind in (ExceptionKind.PAYMENT_PROBLEM, ExceptionKind.CHANNEL_CONFLICT):
        return run.repos.orders.get(record.subject) is None
    if record.kind == ExceptionKind.CHANNEL_PAYLOAD_REJECTED:  # its payload is kept as long
        return run.now - record.since > REJECT_RETENTION
    if record.kind == ExceptionKind.AUTHORIZATION_AGING:
        order = run.repos.orders.get(record.subject)
        return order is None or rules.aging_authorization(order, run.now, run.cfg.authorization_max_age) is None
    if record.kind == ExceptionKind.STUCK_ORDER:
        order = run.repos.orders.get(record.subject)
        return (order is None or order.status.value != record.status
                or rules.state_since(order) != record.since
                or rules.stuck(order, run.now, run.cfg.sla) is None)
    if record.kind == ExceptionKind.LATE_SHIPMENT:
        late = run.store.shipments([record.subject])
        return rules.late_settled(late[0] if late else None,
                                  run.repos.orders.get(record.order_id) if record.order_id else None)
    found = run.store.shipments([record.subject])
    return not found or not rules.silent(found[0], run.now, run.cfg.silent_after) \
        or rules.last_heard(found[0]) != record.since
