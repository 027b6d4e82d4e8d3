"""Tracking updates from the tracking-updates queue -> shipments or return parcels (once each, never backwards),
late parcels flagged, orders delivered. Failed records return to the queue (partial batch)."""

from __future__ import annotations

import json
from functools import partial

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from shared.batch import batch_saving, sqs_processor
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.tracking import Known, Outcome, QueuedUpdate, Result, apply_update, read_ahead
from shared.services.tracking_batch import apply_together


class TrackingRecord(SqsRecordModel):
    body: Json[QueuedUpdate]


processor = sqs_processor(TrackingRecord)


def apply(record: TrackingRecord, known: Known | None = None, settled: dict[str, list[Result]] | None = None) -> None:
    queued = record.body
    results = (settled or {}).get(record.messageId)  # committed with the batch's other parcels
    if results is None:
        results = apply_update(queued.update(), queued.received_at, repositories(), utc_now(), known)
    if any(r.outcome == Outcome.UNKNOWN for r in results):
        count("TrackingNumberUnknown")
    logger.info("tracking update applied", extra={
        "provider": queued.provider, "provider_event_id": queued.provider_event_id,
        "results": {r.subject or queued.tracking_code: r.outcome.value for r in results}})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    known = ahead(event.get("Records", []))
    settled = together(event.get("Records", []), known)
    return process_partial_response(event=event, record_handler=partial(apply, known=known, settled=settled),
                                    processor=processor, context=context)


def together(records: list[dict], known: Known | None) -> dict[str, list[Result]]:
    """The updates of different parcels and orders in as few transactions as they fit, by message id
    (shared/services/tracking_batch.py); the others, and any it could not commit, go one by one."""
    return batch_saving(records, lambda r: (str(r["messageId"]), QueuedUpdate.model_validate_json(r["body"])),
                        lambda updates: apply_together(dict(updates), repositories(), utc_now(), known), {},
                        "combining tracking updates")


def ahead(records: list[dict]) -> Known | None:
    """The batch's shipments and orders in one read."""
    return batch_saving(records, lambda r: str(json.loads(r["body"])["tracking_code"]),
                        lambda codes: read_ahead(codes, repositories()), None, "tracking read-ahead")
