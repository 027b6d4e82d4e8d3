"""EventBridge schedule (every 5 minutes) -> one reconciliation run, bounded by the invocation's
time left; reports what it did as ReconciliationCompleted and CloudWatch metrics (namespace OMS,
dimension service=oms; one per count of the run report, see
shared/services/reconciliation/report.py). Reads the carrier secret (silent shipments) and the
payment secret (return refunds left pending are finished through the configured payment adapters,
`shared.payments.credentials.payment_provider`)."""

from __future__ import annotations

from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.reconciliation import run_reconciliation

# Seconds kept back from the Lambda timeout: the last item, the final checkpoint and the event.
MARGIN_S = 20


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    report = run_reconciliation(repositories(), utc_now(), policy_for=repositories().channels.policy, trigger="schedule",
                                context=context, margin_s=MARGIN_S)
    return report.as_dict()
