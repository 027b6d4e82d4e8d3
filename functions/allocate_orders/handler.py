"""OrderReceived / OrderReleased from SQS -> verify, route and reserve stock for the order.

A batch's orders and the stock they need are read once (shared/services/allocation_ahead.py), then
each record's order is allocated in turn; a failed record alone returns to the queue (partial batch).
"""

from __future__ import annotations

import json
from functools import partial

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.batch import sqs_processor
from shared.events_in import OrderEventRecord
from shared.observability import count, failure_reason, logger, metrics, traced
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
    """The batch's orders and their stock in one read each (a record that is no order event is left
    to the processor, which fails it)."""
    ids = []
    for r in event.get("Records", []):
        try:
            ids.append(str(json.loads(r["body"])["detail"]["order_id"]))
        except (ValueError, KeyError, TypeError):
            continue
    try:
        return read_ahead(ids, repositories(), utc_now())
    except Exception as error:  # noqa: BLE001 - only a saving: each record then reads for itself
        logger.warning("allocation read-ahead failed; orders read one by one", extra={"reason": failure_reason(error, 300)})
        return None
