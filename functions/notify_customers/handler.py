"""Customer moments from SQS -> per event, one email and (where the order's channel sends SMS) one
text message to the customer (SES and End User Messaging SMS, or the local outbox).

Once per event and medium: a message cannot be un-sent and no table write of ours can carry the
event's id in the same transaction as the send, so Powertools Idempotency records each `event_id`
per medium in the table (pk `IDEMPOTENCY#notify-customers`, sk `notify-customers#<hash of the event
id>` for the email, `notify-customers-sms#<hash>` for the SMS, TTL `expires_at`) around the send. A
failed send deletes its in-progress record, so the SQS retry sends it again; the medium already sent
finds its record and sends nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Field, Json

from shared.adapters.idempotency import table_persistence
from shared.batch import sqs_processor
from shared.domain.notifications import Medium
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.notification_sending import SENDERS, already_sent
from shared.services.notifications import Skipped, messages_for

# Long enough to cover a redrive from a DLQ (14 days' retention) of a duplicate whose twin was sent.
KEEP_SECONDS = 15 * 24 * 3600
# The email's prefix is the one used before SMS existed: records written then still count.
KEY_PREFIX = {Medium.EMAIL: "notify-customers", Medium.SMS: "notify-customers-sms"}


class CustomerEvent(BaseModel):
    detail_type: str = Field(alias="detail-type")
    detail: dict


class CustomerEventRecord(SqsRecordModel):
    body: Json[CustomerEvent]


processor = sqs_processor(CustomerEventRecord)
idempotency = IdempotencyConfig(event_key_jmespath="detail.event_id", raise_on_no_idempotency_key=True,
                                expires_after_seconds=KEEP_SECONDS, response_hook=already_sent)




@cache
def send_once(medium: Medium):
    """The medium's sender behind the idempotency guard; built on first use (it needs settings and a client)."""
    return idempotent_function(SENDERS[medium], data_keyword_argument="event",
                               persistence_store=table_persistence("notify-customers"),
                               config=idempotency, key_prefix=KEY_PREFIX[medium])


def notify(record: CustomerEventRecord) -> None:
    """Email first, then SMS; a failed send fails the record after what was sent is recorded."""
    event: dict[str, Any] = {"detail_type": record.body.detail_type, "detail": record.body.detail}
    order_id = event["detail"].get("order_id")
    outcome = messages_for(event["detail_type"], event["detail"], repositories(), utc_now())
    if isinstance(outcome, Skipped):
        logger.info("no message for this event", extra={"order_id": order_id, "reason": outcome.reason,
                                                        "detail_type": event["detail_type"]})
        count("NotificationSkipped")
        return
    for medium, message in outcome.by_medium():
        if isinstance(message, Skipped):
            logger.info("no message by this medium", extra={"order_id": order_id, "medium": medium.value,
                                                            "reason": message.reason})
            count("NotificationSkipped" if medium is Medium.EMAIL else "SmsSkipped")
            continue
        send_once(medium)(event=event, message=message)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    # The in-progress record expires with this invocation: a timed-out send does not block the retry.
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=notify, processor=processor, context=context)
