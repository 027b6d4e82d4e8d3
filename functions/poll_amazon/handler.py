"""EventBridge schedule (every 5 minutes) -> poll each active Amazon channel's orders changed since its
checkpoint (shared/services/amazon_poll.py), a bounded number of pages per run: the checkpoint is kept
after every page, and the next run continues where this one stopped."""

from __future__ import annotations

from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services.amazon_channels import poll_channels
from shared.services.clock import utc_now

# searchOrders allows about one request a minute after its burst: a few pages per run, every 5 minutes.
PAGES_PER_RUN = 5


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    reports = poll_channels(repositories(), utc_now(), PAGES_PER_RUN)
    for report in reports:
        logger.info("amazon polled", extra={"channel": report.channel_id, "pages": report.pages,
                                            "received": report.received, "completed": report.completed,
                                            "throttled": report.throttled, "unreadable": len(report.unreadable)})
    return {"channels": len(reports), "received": sum(r.received for r in reports)}
