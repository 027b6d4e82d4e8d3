"""Backorder release: when a SKU's stock rises, waiting orders get it oldest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.repositories import Repositories
from shared.services.allocation import Outcome, PolicyFor, allocate_order

MAX_ORDERS_PER_SKU = 200  # bounded work per event; the next restock or reconciliation continues


@dataclass
class ReleaseReport:
    sku: str
    examined: int = 0
    allocated: list[str] = field(default_factory=list)


def release_backorders(sku: str, repos: Repositories, policy_for: PolicyFor, now: datetime,
                       location_id: str | None = None) -> ReleaseReport:
    """Offer the SKU to the orders waiting for it, oldest first, until none is left for the rest.

    `location_id` is where stock rose (the StockChanged event's), when known."""
    report = ReleaseReport(sku)
    for order in repos.orders.awaiting_stock(sku):
        if report.examined >= MAX_ORDERS_PER_SKU:
            break
        report.examined += 1
        result = allocate_order(order.order_id, repos, policy_for, now)
        if result.outcome in (Outcome.ALLOCATED, Outcome.PARTIALLY_ALLOCATED):
            report.allocated.append(order.order_id)
        # Nothing of this SKU left to promise: younger orders cannot be served either. Unless this
        # order saw less than they would: it never counts locations it rejected, so when it rejected
        # the location that restocked (any location, when we do not know which), go on.
        if result.available_by_sku is not None and result.available_by_sku.get(sku, 0) == 0 \
                and not _rejected_the_restock(order.rejected_locations, location_id):
            break
    return report


def _rejected_the_restock(rejected: list[str], location_id: str | None) -> bool:
    return location_id in rejected if location_id is not None else bool(rejected)
