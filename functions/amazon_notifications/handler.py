"""SP-API ORDER_CHANGE notifications, which Amazon sends to this queue -> fetch each named order and
hand it to intake. A notification that is lost only delays the order to the next poll."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from shared.batch import sqs_processor
from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services.amazon_channels import take_order_change
from shared.services.clock import utc_now

processor = sqs_processor(SqsRecordModel)


def take(record: SqsRecordModel) -> None:
    # An unreadable notification raises: after the queue's receives it rests in the DLQ, logged.
    report = take_order_change(str(record.body), repositories(), utc_now())
    logger.info("amazon order change taken", extra={"orders": report.received, "unreadable": report.unreadable})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=take, processor=processor, context=context)
