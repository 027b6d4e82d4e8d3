"""EventBridge schedule (every 5 minutes) -> one reconciliation run, bounded by the invocation's
time left; reports what it did as ReconciliationCompleted and CloudWatch metrics (namespace OMS,
dimension service=oms; see `publish_metrics`)."""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit

from shared.config import settings
from shared.observability import logger, metrics, traced
from shared.services.clock import utc_now
from shared.repositories import repositories
from shared.services.reconciliation import Budget, RunReport, config, reconcile

# Seconds kept back from the Lambda timeout: the last item, the final checkpoint and the event.
MARGIN_S = 20

METRIC_NAMES = {
    "holds_expired": "ReconciliationHoldsExpired",
    "pickups_expired": "ReconciliationPickupsExpired",
    "pickups_flagged": "ReconciliationPickupsFlagged",
    "stock_items_checked": "ReconciliationStockChecked",
    "drift_repaired": "ReconciliationDriftRepaired",
    "backorders_allocated": "ReconciliationBackordersAllocated",
    "shipments_polled": "ReconciliationShipmentsPolled",
    "shipments_flagged": "ReconciliationShipmentsFlagged",
    "orders_stuck": "ReconciliationOrdersStuck",
    "exceptions_resolved": "ReconciliationExceptionsResolved",
    "errors": "ReconciliationErrors",
}


def publish_metrics(report: RunReport) -> None:
    """Every count of a run that worked, zeros included, so alarms always have a data point;
    ReconciliationSkipped for a run that found the lease held."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return
    if report.skipped:
        metrics.add_metric(name="ReconciliationSkipped", unit=MetricUnit.Count, value=1)
        return
    # A run that lost its lease still did (and repaired) what it counted: the alarms must see it.
    metrics.add_metric(name="ReconciliationRuns", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ReconciliationPassesCompleted", unit=MetricUnit.Count, value=int(report.pass_complete))
    for field, name in METRIC_NAMES.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=getattr(report, field))
    metrics.add_metric(name="ReconciliationDuration", unit=MetricUnit.Seconds, value=report.seconds)


def run(context, trigger: str, margin_s: float = MARGIN_S) -> RunReport:
    cfg = config()
    report = reconcile(repositories(), utc_now(), policy_for=settings().channel_policy, trigger=trigger,
                       budget=Budget.for_lambda(context, cfg.budget, margin_s), cfg=cfg)
    publish_metrics(report)
    logger.info("reconciliation run", extra={"report": report.as_dict()})
    return report


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return run(context, "schedule").as_dict()
