"""Order, return and refund events from SQS -> each order they name has its contribution to the report
aggregates recomputed from its current state and what changed written once (shared/services/analytics.py):
one batch read per kind of item and one transaction per up to 100 writes for the whole batch."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Json

from shared.batch import sqs_processor
from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services.analytics import refresh


class Detail(BaseModel):
    order_id: str
    rma_id: str | None = None  # return events: the return to read with the order


class OrderEvent(BaseModel):
    detail: Detail


class OrderRecord(SqsRecordModel):
    body: Json[OrderEvent]


processor = sqs_processor(OrderRecord)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    order_ids: set[str] = set()
    rma_ids: dict[str, set[str]] = {}

    def collect(record: OrderRecord) -> None:
        detail = record.body.detail
        order_ids.add(detail.order_id)
        if detail.rma_id:
            rma_ids.setdefault(detail.order_id, set()).add(detail.rma_id)

    response = process_partial_response(event=event, record_handler=collect, processor=processor, context=context)
    try:
        report = refresh(order_ids, repositories(), rma_ids)
    except Exception:  # an invocation error: SQS redelivers the batch, which recomputes and writes nothing twice
        logger.exception("analytics batch failed; it is retried", extra={"orders": len(order_ids)})
        raise
    logger.info("analytics recorded", extra={"orders": report.orders, "changed": report.changed,
                                             "unchanged": report.unchanged, "unknown": report.unknown,
                                             "transactions": report.transactions, "retried": report.retried,
                                             "aggregates": report.aggregates_written})
    return response
