"""Step 1a: orders ON_HOLD for AWAITING_PAYMENT longer than the unpaid limit are cancelled (they
hold no stock yet). No TTL: the index of orders by status, oldest first, up to the limit."""

from __future__ import annotations

from shared.domain import reconciliation as rules
from shared.domain.events import OrderCancelled
from shared.domain.orders import Order, OrderStatus
from shared.services.reconciliation.context import Cursor, Run, Step, StepResult, walk
from shared.unit_of_work import CommitFailed


def expire_holds(run: Run, cursor: Cursor) -> StepResult:
    upto = run.now - run.cfg.unpaid_hold_after  # the hold came after creation
    items = run.store.orders_in_status(OrderStatus.ON_HOLD, (cursor or {}).get("after"), upto)

    def handle(indexed: Order) -> None:
        order = run.repos.orders.get(indexed.order_id)
        if order is not None and rules.unpaid_hold_expired(order, run.now, run.cfg.unpaid_hold_after):
            try:
                _cancel_unpaid(order, run)
            except CommitFailed:
                fresh = run.repos.orders.get(order.order_id)
                if fresh is not None and rules.unpaid_hold_expired(fresh, run.now, run.cfg.unpaid_hold_after):
                    raise  # still due: a real failure, tried again next run
                return  # released (or cancelled) by someone a moment earlier: theirs wins
            run.report.holds_expired += 1

    return walk(run, Step.EXPIRE_HOLDS, cursor, items, handle, lambda position: {"after": position})


def _cancel_unpaid(order: Order, run: Run) -> None:
    """Cancel a held order as read (a held order has no reservations): conditioned on its version,
    so an operator's release a moment earlier wins."""
    hours = int(run.cfg.unpaid_hold_after.total_seconds() // 3600)
    reason = f"payment not received within {hours} h (reconciliation)"
    expected = order.version
    order.backordered, order.cancel_reason = [], reason
    order.move_to(OrderStatus.CANCELLED, run.now, note=reason)
    order.version += 1
    event = OrderCancelled(occurred_at=run.now, order_id=order.order_id, channel=order.channel, reason=reason,
                           released=[])
    run.repos.commit(run.repos.orders.save(order, expected), run.repos.events.publish(event))
