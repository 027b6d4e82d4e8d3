"""StockChanged, StockDriftRepaired and OrderAllocated from SQS -> each channel with the stock feed on is
told the new available-to-sell figure of every SKU the batch touched (one computation per SKU per batch)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Json

from shared.batch import sqs_processor
from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.stock_feed import feed_channels


class SkuLine(BaseModel):
    sku: str


class Detail(BaseModel):
    sku: str | None = None  # StockChanged, StockDriftRepaired
    allocations: list[SkuLine] = []  # OrderAllocated


class StockEvent(BaseModel):
    detail: Detail


class StockRecord(SqsRecordModel):
    body: Json[StockEvent]


processor = sqs_processor(StockRecord)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    skus: set[str] = set()

    def collect(record: StockRecord) -> None:
        detail = record.body.detail
        skus.update([detail.sku] if detail.sku else [], (line.sku for line in detail.allocations))

    response = process_partial_response(event=event, record_handler=collect, processor=processor, context=context)
    try:
        report = feed_channels(skus, repositories(), repositories().stock_feed, utc_now())
    except Exception:  # an invocation error: SQS redelivers the whole batch, whose figures are recomputed
        logger.exception("stock feed failed; the batch is retried", extra={"skus": len(skus)})
        raise
    logger.info("stock fed", extra={"skus": report.skus, "channels": report.channels, "sent": len(report.sent),
                                    "unchanged": report.unchanged, "stale": report.stale})
    return response
