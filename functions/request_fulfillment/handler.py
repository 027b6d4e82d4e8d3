"""OrderAllocated from SQS -> one fulfilment order per location, announced by FulfillmentRequested."""

from __future__ import annotations

import json
from functools import partial

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.batch import sqs_processor
from shared.events_in import AllocatedEventRecord
from shared.observability import failure_reason, logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.fulfillment import request_fulfillment

processor = sqs_processor(AllocatedEventRecord)


def request(record: AllocatedEventRecord, orders: dict | None = None) -> None:
    d = record.body.detail
    created = request_fulfillment(d.event_id, d.order_id, d.channel, d.allocations, d.pickup, repositories(),
                                  utc_now(), (orders or {}).pop(d.order_id, None))
    logger.info("fulfilment requested", extra={"order_id": d.order_id,
                                               "fulfillment_orders": [f.fulfillment_order_id for f in created]})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=partial(request, orders=ahead(event)),
                                    processor=processor, context=context)


def ahead(event: dict) -> dict:
    """The batch's orders in one read, each used by one record (a second record of an order reads it again)."""
    ids = []
    for r in event.get("Records", []):
        try:
            ids.append(str(json.loads(r["body"])["detail"]["order_id"]))
        except (ValueError, KeyError, TypeError):
            continue  # the processor fails the record
    try:
        return {o.order_id: o for o in repositories().orders.many(ids)} if ids else {}
    except Exception as error:  # noqa: BLE001 - only a saving: each record then reads its own order
        logger.warning("order read-ahead failed; records read one by one", extra={"reason": failure_reason(error, 300)})
        return {}
