"""OrderAllocated from SQS -> one fulfilment order per location, announced by FulfillmentRequested."""

from __future__ import annotations

from functools import partial

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.batch import batch_saving, event_order_id, sqs_processor
from shared.events_in import AllocatedEventRecord
from shared.observability import logger, metrics, traced
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
    return batch_saving(event.get("Records", []), event_order_id,
                        lambda ids: {o.order_id: o for o in repositories().orders.many(ids)} if ids else {}, {},
                        "order read-ahead")
