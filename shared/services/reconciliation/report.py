"""What a run did (`RunReport`) and the CloudWatch metrics made from it.

Every count of the report is a field marked `count()`; its metric is named after the field
(`drift_repaired` -> `ReconciliationDriftRepaired`), so a new count is a new metric with nothing
else to write, and an alarm can only name a metric that some field makes (tests/infra checks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import Enum

from aws_lambda_powertools.metrics import MetricUnit

from shared.observability import metrics
from shared.services.reconciliation.steps import Step

PREFIX = "Reconciliation"
# What every run reports besides its counts.
RUNS, SKIPPED, PASSES_COMPLETED, DURATION = (f"{PREFIX}{n}" for n in ("Runs", "Skipped", "PassesCompleted",
                                                                      "Duration"))


def count():
    """A field of the report that counts something a run did: it gets a metric of its own."""
    return field(default=0, metadata={"count": True})


@dataclass
class RunReport:
    run_id: str
    trigger: str
    started_at: datetime
    skipped: bool = False          # another run holds the lease: this one did nothing
    lease_lost: bool = False       # the lease expired under this run and was taken: it stopped
    pass_complete: bool = False
    resumed_from: Step | None = None
    stopped_in: Step | None = None
    holds_expired: int = count()
    pickups_expired: int = count()
    pickups_flagged: int = count()
    refunds_resumed: int = count()       # return refunds left PENDING, finished
    refunds_failed: int = count()        # ... that could not be: refused (PAYMENT_PROBLEM), or retried next run
    stock_items_checked: int = count()
    reservations_swept: int = count()    # spent (0-unit) reservation records deleted
    drift_repaired: int = count()
    backorders_examined: int = count()
    backorders_allocated: int = count()
    shipments_polled: int = count()
    shipments_flagged: int = count()
    orders_stuck: int = count()
    authorizations_aging: int = count()  # authorisations listed as about to lapse
    exceptions_resolved: int = count()
    errors: int = count()
    items: int = 0
    seconds: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    @classmethod
    def count_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.metadata.get("count"))

    def counts(self) -> dict[str, int]:
        return {n: getattr(self, n) for n in self.count_names()}

    def as_dict(self) -> dict:
        """Plain JSON values: the function's answer and the log line."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["started_at"] = self.started_at.isoformat()
        out["error_samples"] = list(self.error_samples)
        return {k: v.value if isinstance(v, Enum) else v for k, v in out.items()}


def metric_name(count_name: str) -> str:
    """`drift_repaired` -> `ReconciliationDriftRepaired`."""
    return PREFIX + "".join(word.capitalize() for word in count_name.split("_"))


def metric_names() -> tuple[str, ...]:
    """Every metric a run can emit."""
    return (RUNS, SKIPPED, PASSES_COMPLETED, DURATION, *(metric_name(n) for n in RunReport.count_names()))


def publish_metrics(report: RunReport) -> None:
    """Every count of a run that worked, zeros included, so alarms always have a data point;
    ReconciliationSkipped for a run that found the lease held."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return
    if report.skipped:
        metrics.add_metric(name=SKIPPED, unit=MetricUnit.Count, value=1)
        return
    # A run that lost its lease still did (and repaired) what it counted: the alarms must see it.
    metrics.add_metric(name=RUNS, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=PASSES_COMPLETED, unit=MetricUnit.Count, value=int(report.pass_complete))
    for name, value in report.counts().items():
        metrics.add_metric(name=metric_name(name), unit=MetricUnit.Count, value=value)
    metrics.add_metric(name=DURATION, unit=MetricUnit.Seconds, value=report.seconds)
