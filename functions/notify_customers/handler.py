"""Customer moments from SQS -> per event, one email and (where the order's channel sends SMS) one
text message to the customer (SES and End User Messaging SMS, or the local outbox).

Once per event and medium, a batch at a time (shared/services/notification_batch.py): the batch's
orders are read at once, its messages claimed in one transaction in the table (pk
`IDEMPOTENCY#notify-customers`, sk `notify-customers#<hash of the event id>` for the email,
`notify-customers-sms#<hash>` for the SMS, TTL `expires_at`: the records Powertools Idempotency
wrote before, which still count), sent, and recorded as sent in one batch write. A failed send is
released, so the SQS retry sends it again; the medium already sent finds its record and sends
nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationError

from shared.adapters.notification_claims import NotificationClaims
from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.notification_batch import Incoming, notify_batch
from shared.services.notification_sending import SENDERS

# Long enough to cover a redrive from a DLQ (14 days' retention) of a duplicate whose twin was sent.
KEEP_SECONDS = 15 * 24 * 3600


class CustomerEvent(BaseModel):
    detail_type: str = Field(alias="detail-type")
    detail: dict


def incoming(records: list[dict]) -> tuple[list[Incoming], list[str]]:
    """The records as events, and the ids of those that are none (failed: retried, then dead-lettered)."""
    batch, unreadable = [], []
    for record in records:
        try:
            body = CustomerEvent.model_validate_json(record["body"])
        except ValidationError as error:
            logger.warning("record failed; it will be retried, then dead-lettered",
                           extra={"message_id": record["messageId"], "error_type": type(error).__name__})
            unreadable.append(record["messageId"])
            continue
        batch.append(Incoming(record["messageId"], body.detail_type, body.detail))
    return batch, unreadable


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    records = event.get("Records", [])
    batch, unreadable = incoming(records)
    repos, now = repositories(), utc_now()
    # A claim lapses with this invocation: a sender that timed out does not block the retry.
    deadline_ms = int(now.timestamp() * 1000) + context.get_remaining_time_in_millis()
    failed = set(unreadable) | notify_batch(batch, repos, NotificationClaims(repos.store, KEEP_SECONDS), SENDERS,
                                            now, deadline_ms)
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["messageId"] in failed]}
