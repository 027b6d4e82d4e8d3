"""Tracking updates from the tracking-updates queue -> shipments or return parcels (once each, never backwards),
late parcels flagged, orders delivered. Failed records return to the queue (partial batch)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from shared.batch import sqs_processor
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.tracking import Outcome, QueuedUpdate, apply_update


class TrackingRecord(SqsRecordModel):
    body: Json[QueuedUpdate]


processor = sqs_processor(TrackingRecord)


def apply(record: TrackingRecord) -> None:
    queued = record.body
    results = apply_update(queued.update(), queued.received_at, repositories(), utc_now())
    if any(r.outcome == Outcome.UNKNOWN for r in results):
        count("TrackingNumberUnknown")
    logger.info("tracking update applied", extra={
        "provider": queued.provider, "provider_event_id": queued.provider_event_id,
        "results": {r.subject or queued.tracking_code: r.outcome.value for r in results}})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=apply, processor=processor, context=context)
