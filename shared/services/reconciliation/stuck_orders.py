"""Step 5: an order longer in its status than that status's SLA raises OrderStuck and an open
exception (STUCK_ORDER), once per stay in the status."""

from __future__ import annotations

from shared.domain import reconciliation as rules
from shared.domain.events import OrderStuck
from shared.domain.orders import Order, OrderStatus
from shared.domain.reconciliation import ExceptionKind, ExceptionRecord
from shared.services.reconciliation.context import Cursor, Run, Step, StepResult, orders_by_status, status_cursor, walk
from shared.unit_of_work import AlreadyExists, Refused


def stuck_orders(run: Run, cursor: Cursor) -> StepResult:
    statuses = [s for s in OrderStatus if s in run.cfg.sla]
    # An order entered its status after its creation: the index bound is the SLA from now.
    items = orders_by_status(run, statuses, cursor, lambda status: run.now - run.cfg.sla[status])

    def handle(indexed: Order) -> None:
        if rules.stuck(indexed, run.now, run.cfg.sla) is None:
            return
        order = run.repos.orders.get(indexed.order_id)  # the index may lag: read it
        verdict = rules.stuck(order, run.now, run.cfg.sla) if order is not None else None
        if order is None or verdict is None:
            return
        raised = run.store.open_exception(ExceptionKind.STUCK_ORDER, order.order_id)
        if raised is not None and raised.since == verdict.since:
            return  # raised before for this stay in the status: once, and without a refused write each run
        event = OrderStuck(occurred_at=run.now, order_id=order.order_id, channel=order.channel,
                           status=order.status.value, since=verdict.since,
                           sla_minutes=int(verdict.sla.total_seconds() // 60), reason=verdict.reason,
                           suggested_action=verdict.suggested_action)
        record = ExceptionRecord(
            kind=ExceptionKind.STUCK_ORDER, subject=order.order_id, since=verdict.since, raised_at=run.now,
            order_id=order.order_id, channel=order.channel, status=order.status.value,
            sla_minutes=event.sla_minutes, reason=verdict.reason, suggested_action=verdict.suggested_action)
        try:
            run.repos.commit(run.store.raise_exception(record), run.repos.events.publish(event))
            run.report.orders_stuck += 1
        except Refused as refused:
            if not refused.only(AlreadyExists):
                raise
            # Raised before for this stay in the status: once, not on every run.

    return walk(run, Step.STUCK_ORDERS, cursor, items, handle, status_cursor)
