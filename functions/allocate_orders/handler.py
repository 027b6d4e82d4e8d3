"""OrderReceived / OrderReleased from SQS -> verify, route and reserve stock for the order.

A batch's orders and the stock they need are read once (shared/services/allocation_ahead.py), then
each record's order is allocated in turn; a failed record alone returns to the queue (partial batch).
"""

from __future__ import annotations

from functools import partial

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.batch import batch_saving, event_order_id, sqs_processor
from shared.events_in import OrderEventRecord
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.allocation import allocate_order
from shared.services.allocation_ahead import Ahead, read_ahead
from shared.services.clock import utc_now

processor = sqs_processor(OrderEventRecord)


def allocate(record: OrderEventRecord, ahead: Ahead | None = None) -> None:
    order_id = record.body.detail.order_id
    result = allocate_order(order_id, repositories(), repositories().channels.policy, utc_now(), ahead)
    logger.info("allocation", extra={"order_id": order_id, "outcome": result.outcome.value})
    count(f"Allocation{result.outcome.value.title().replace('_', '')}")


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=partial(allocate, ahead=ahead(event)),
                                    processor=processor, context=context)


def ahead(event: dict) -> Ahead | None:
    """The batch's orders and their stock in one read each."""
    return batch_saving(event.get("Records", []), event_order_id, lambda ids: read_ahead(ids, repositories(), utc_now()),
                        None, "allocation read-ahead")
