"""Domain events of the reconciliation run (shared/services/reconciliation/): what it repaired,
what it found stuck, and its summary. Public through `shared.domain.events`."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.domain.events_base import DomainEvent


class StockDriftRepaired(DomainEvent):
    event_type = "StockDriftRepaired"
    description = ("Reconciliation found a stock level whose reserved count disagreed with its reservation "
                   "records and set it (and available) from the records.")
    sku: str
    location_id: str
    run_id: str
    on_hand: int
    safety_stock: int
    reserved_before: int
    reserved_after: int
    available_before: int
    available_after: int


class OrderStuck(DomainEvent):
    event_type = "OrderStuck"
    description = "An order stayed in one status longer than that status's SLA (raised once per stay)."
    order_id: str
    channel: str
    status: str
    since: datetime
    sla_minutes: int
    reason: str
    suggested_action: str


class ReconciliationCompleted(DomainEvent):
    event_type = "ReconciliationCompleted"
    description = "A reconciliation run ended: what it looked at and what it fixed, and where the next run continues."
    run_id: str
    trigger: str = Field(description="schedule, or operator (POST /admin/reconcile, also what make reconcile sends)")
    started_at: datetime
    pass_complete: bool = Field(description="true when this run finished the last step of a whole pass")
    resumed_from: str | None = Field(description="the step a checkpoint made this run start in, if any")
    stopped_in: str | None = Field(description="the step the budget ran out in (the next run continues there)")
    holds_expired: int
    pickups_expired: int
    pickups_flagged: int = Field(default=0, description="uncollected pickups of partly collected orders, listed for "
                                                        "an operator (GET /admin/exceptions)")
    stock_items_checked: int
    drift_repaired: int
    backorders_examined: int
    backorders_allocated: int
    shipments_polled: int
    shipments_flagged: int
    orders_stuck: int
    authorizations_aging: int = Field(default=0, description="card authorisations open longer than the limit and "
                                                             "not fully captured, listed for an operator "
                                                             "(GET /admin/exceptions)")
    exceptions_resolved: int
    errors: int
