"""Table stream -> EventBridge: relays each new outbox item's domain events, in order.

An item holds a transaction's events (shared/outbox_format.py reads both its shape and the
single-event shape written before it); each event is one PutEvents entry, and entries of several
items share a call.

Written with the Powertools stream data classes rather than BatchProcessor: BatchProcessor handles
one record at a time, and PutEvents takes ten, so batching here cuts the relay's calls tenfold.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, event_source
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

from shared.adapters.event_bus import OutboxRecord, publish_to_bus
from shared.observability import logger, traced
from shared.outbox_format import OUTBOX_PREFIX, outbox_entries


def outbox_records(event: DynamoDBStreamEvent) -> list[OutboxRecord]:
    records = []
    for r in event.records:
        stream = r.dynamodb
        image = stream.new_image if stream else None
        if stream is None or r.event_name != DynamoDBRecordEventName.INSERT or not image:
            continue
        if not str(image.get("pk", "")).startswith(OUTBOX_PREFIX):
            continue
        if stream.sequence_number is None:
            # Lambda always sends one; without it a failure could not be reported for retry.
            raise ValueError("a DynamoDB stream record without a SequenceNumber")
        records += [OutboxRecord(stream.sequence_number, entry.detail_type, entry.detail)
                    for entry in outbox_entries(image)]
    return records


@logger.inject_lambda_context
@traced
@event_source(data_class=DynamoDBStreamEvent)
def lambda_handler(event: DynamoDBStreamEvent, context) -> dict:
    records = outbox_records(event)
    failed = publish_to_bus(records)
    if failed:
        # Stream semantics: Lambda retries from the first failed record (the stream record, that is
        # the whole outbox item of the first refused entry). Its entries that were accepted, and the
        # events of the items after it, are then sent twice, which consumers tolerate: they are
        # idempotent on event_id / order version.
        logger.warning("events not accepted by EventBridge", extra={"count": len(failed)})
        return {"batchItemFailures": [{"itemIdentifier": failed[0].sequence_number}]}
    return {"batchItemFailures": []}
