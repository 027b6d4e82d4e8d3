"""Customer moments from SQS -> one message per event to the customer (SES, or the local outbox).

Once per event: an email cannot be un-sent and no table write of ours can carry the event's id in
the same transaction as the send, so Powertools Idempotency records each `event_id` in the table
(pk `IDEMPOTENCY#notify-customers`, sk `notify-customers#<hash of the event id>`, TTL `expires_at`)
around the send. A failed send deletes the in-progress record, so the SQS retry can send.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Field, Json

from shared.adapters.idempotency import table_persistence
from shared.adapters.mailer import mailer, masked
from shared.batch import sqs_processor
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.notifications import Skipped, notification_for

# Long enough to cover a redrive from a DLQ (14 days' retention) of a duplicate whose twin was sent.
KEEP_SECONDS = 15 * 24 * 3600


class CustomerEvent(BaseModel):
    detail_type: str = Field(alias="detail-type")
    detail: dict


class CustomerEventRecord(SqsRecordModel):
    body: Json[CustomerEvent]


def _already_done(response, data_record):
    logger.info("event already handled; nothing sent again", extra={"outcome": response})
    count("NotificationDuplicate")
    return response


processor = sqs_processor(CustomerEventRecord)
idempotency = IdempotencyConfig(event_key_jmespath="detail.event_id", raise_on_no_idempotency_key=True,
                                expires_after_seconds=KEEP_SECONDS, response_hook=_already_done)


def deliver(event: dict) -> dict:
    """Compose and send; what it returns is stored as the event's outcome (no personal data)."""
    outcome = notification_for(event["detail_type"], event["detail"], repositories())
    order_id = event["detail"].get("order_id")
    if isinstance(outcome, Skipped):
        logger.info("no message for this event", extra={"order_id": order_id, "reason": outcome.reason,
                                                        "detail_type": event["detail_type"]})
        count("NotificationSkipped")
        return {"skipped": outcome.reason}
    reference = mailer().send(outcome)
    logger.info("customer notified", extra={"order_id": order_id, "moment": outcome.moment.value,
                                            "language": outcome.message.language,
                                            "to": masked(outcome.recipient), "reference": reference})
    count("CustomerNotified")
    return {"sent": outcome.moment.value, "reference": reference}


@cache
def deliver_once():
    """`deliver` behind the idempotency guard; built on first use (it needs settings and a client)."""
    return idempotent_function(deliver, data_keyword_argument="event",
                               persistence_store=table_persistence("notify-customers"),
                               config=idempotency, key_prefix="notify-customers")


def notify(record: CustomerEventRecord) -> None:
    deliver_once()(event={"detail_type": record.body.detail_type, "detail": record.body.detail})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    # The in-progress record expires with this invocation: a timed-out send does not block the retry.
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=notify, processor=processor, context=context)
