"""Step 6: a card authorisation open longer than the configured limit
(`OMS_RECONCILE_AUTHORIZATION_MAX_AGE`, 6 days: cards lapse after about 7) and not fully captured
is listed for an operator as an open exception (AUTHORIZATION_AGING), once per authorisation
(`since`: when it was authorised); re-authorisation is suggested. The exceptions step closes it once
the authorisation is captured or released.

The orders walked are those whose authorisation can still be open and still matter: every status
before shipping, and SHIPPED (settlement releases the rest once every parcel's capture is recorded;
a failed settle-payments message waits in its DLQ, with an alarm, until then). Delivered orders
are not walked: they pile up for ever (nothing moves them on), so walking them would make every pass
slower as the history grows, and an authorisation left open after delivery is settle-payments' DLQ
to look at, not a lapse to prevent. Cancelled and rejected orders are not walked: their authorisation is released, never
re-authorised. An order created after now - limit cannot hold an authorisation older than the limit
(it is authorised at or after its creation): that is the index bound.
"""

from __future__ import annotations

from shared.domain import reconciliation as rules
from shared.domain.orders import Order, OrderStatus
from shared.domain.reconciliation import ExceptionKind, ExceptionRecord
from shared.services.reconciliation.context import Cursor, Run, Step, StepResult, orders_by_status, status_cursor, walk
from shared.unit_of_work import AlreadyExists, Refused

S = OrderStatus
# Where an authorisation can be open and still matter, in the order the step walks them.
STATUSES = (S.RECEIVED, S.ON_HOLD, S.BACKORDERED, S.PARTIALLY_ALLOCATED, S.ALLOCATED, S.PARTIALLY_SHIPPED,
            S.SHIPPED)


def aging_authorizations(run: Run, cursor: Cursor) -> StepResult:
    max_age = run.cfg.authorization_max_age
    items = orders_by_status(run, STATUSES, cursor, lambda _status: run.now - max_age)

    def handle(indexed: Order) -> None:
        # The index's copy first: an authorisation never reopens and its time never changes, so a
        # copy that does not qualify means the order does not either (the next pass looks again).
        if rules.aging_authorization(indexed, run.now, max_age) is None:
            return
        order = run.repos.orders.get(indexed.order_id)  # the index may lag: read it
        if order is None or order.status not in STATUSES:
            return  # cancelled meanwhile: the cancellation releases the authorisation
        reason = rules.aging_authorization(order, run.now, max_age)
        since = order.pay.authorized_at
        if reason is None or since is None:
            return
        raised = run.store.open_exception(ExceptionKind.AUTHORIZATION_AGING, order.order_id)
        if raised is not None and raised.since == since:
            return  # listed before for this authorisation: once, and without a refused write each run
        record = ExceptionRecord(
            kind=ExceptionKind.AUTHORIZATION_AGING, subject=order.order_id, since=since, raised_at=run.now,
            order_id=order.order_id, channel=order.channel, status=order.pay.status.value, reason=reason,
            suggested_action=rules.aging_authorization_action(order))
        try:
            run.repos.commit(run.store.raise_exception(record))
            run.report.authorizations_aging += 1
        except Refused as refused:
            if not refused.only(AlreadyExists):
                raise
            # Listed a moment ago by another run for this authorisation: once, not on every run.

    return walk(run, Step.AGING_AUTHORIZATIONS, cursor, items, handle, status_cursor)
