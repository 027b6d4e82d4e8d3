"""OrderReceived / OrderReleased from SQS -> verify, route and reserve stock for the order."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.batch import sqs_processor
from shared.events_in import OrderEventRecord
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.allocation import allocate_order
from shared.services.clock import utc_now

processor = sqs_processor(OrderEventRecord)


def allocate(record: OrderEventRecord) -> None:
    order_id = record.body.detail.order_id
    result = allocate_order(order_id, repositories(), repositories().channels.policy, utc_now())
    logger.info("allocation", extra={"order_id": order_id, "outcome": result.outcome.value})
    count(f"Allocation{result.outcome.value.title().replace('_', '')}")


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=allocate, processor=processor, context=context)
