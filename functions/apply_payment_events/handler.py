"""Payment provider events from the payment-events queue -> the order's payment (once each, never
backwards), held orders released, given-up payments cancelled. Failed records return to the queue."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from shared.batch import sqs_processor
from shared.config import settings
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.payment_webhooks import Outcome, QueuedPaymentEvent, apply_payment_event


class PaymentEventRecord(SqsRecordModel):
    body: Json[QueuedPaymentEvent]


processor = sqs_processor(PaymentEventRecord)


def apply(record: PaymentEventRecord) -> None:
    queued = record.body
    result = apply_payment_event(queued.event, queued.received_at, repositories(), utc_now(),
                                 settings().payment_max_failures)
    if result.outcome == Outcome.UNKNOWN:
        count("PaymentEventUnmatched")
    if result.problem:
        count("PaymentProblems")
    logger.info("payment event applied", extra={
        "provider": queued.event.provider, "event_id": queued.event.event_id, "kind": queued.event.kind.value,
        "order_id": result.order_id, "outcome": result.outcome.value, "cancelled": result.cancelled})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=apply, processor=processor, context=context)
