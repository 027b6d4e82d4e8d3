"""StockChanged (available went up) from SQS -> give the SKU to waiting orders, oldest first."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.batch import sqs_processor
from shared.events_in import StockEventRecord
from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services.backorders import release_backorders
from shared.services.clock import utc_now

processor = sqs_processor(StockEventRecord)


def release(record: StockEventRecord) -> None:
    sku, location_id = record.body.detail.sku, record.body.detail.location_id
    report = release_backorders(sku, repositories(), repositories().channels.policy, utc_now(), location_id)
    logger.info("backorders examined", extra={"sku": sku, "location_id": location_id, "examined": report.examined,
                                              "allocated": report.allocated})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=release, processor=processor, context=context)
