"""Step 3: orders waiting for stock, oldest first across BACKORDERED, PARTIALLY_ALLOCATED and
PARTIALLY_SHIPPED, go through `allocate_order` (the restock path) when one of their SKUs has
something available somewhere."""

from __future__ import annotations

import heapq

from shared.domain.orders import Order, OrderStatus
from shared.services.allocation import Outcome, allocate_order
from shared.services.reconciliation.context import Cursor, Run, Step, StepResult, walk

WAITING_STATUSES = (OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_ALLOCATED, OrderStatus.PARTIALLY_SHIPPED)


def backorders(run: Run, cursor: Cursor) -> StepResult:
    after = (cursor or {}).get("after")
    streams = [run.store.orders_in_status(s, after, waiting_only=True) for s in WAITING_STATUSES]
    merged = heapq.merge(*streams, key=lambda pair: pair[0])  # oldest first across the statuses
    available: dict[str, int] = {}
    location_ids = [loc.location_id for loc in run.repos.locations.all() if loc.active]

    def free(sku: str) -> int:
        if sku not in available:  # one batch read of the SKU at every location, once per run
            levels, _ = run.repos.stock.snapshot([sku], location_ids, run.now.date())
            available[sku] = sum(max(0, lv.available) for lv in levels.values())
        return available[sku]

    def handle(order: Order) -> None:
        run.report.backorders_examined += 1
        skus = list(order.waiting_skus)
        if not any(free(s) > 0 for s in skus):
            return  # nothing of what it waits for is anywhere: do not even try
        result = allocate_order(order.order_id, run.repos, run.policy_for, run.now)
        if result.outcome in (Outcome.ALLOCATED, Outcome.PARTIALLY_ALLOCATED):
            run.report.backorders_allocated += 1
            for s in skus:
                available.pop(s, None)  # read again for the next order

    return walk(run, Step.BACKORDERS, cursor, merged, handle, lambda position: {"after": position})
