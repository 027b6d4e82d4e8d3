"""Order events from the payment-settlement queue -> the order's payment settled as goods move:
captured per shipment (or collected pickup), released when nothing more ships or the order is
cancelled, refunded when a paid order is cancelled, cash on delivery collected on delivery; and a
return's refund (RefundIssued) gets its credit notes, even when the call that refunded died first."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Field, Json

from shared.batch import sqs_processor
from shared.config import settings
from shared.observability import count, logger, metrics, traced
from shared.payments.credentials import payment_provider
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.invoicing import InvoicingSettings
from shared.services.settlement_events import Detail, settle_event


class SettlementEvent(BaseModel):
    id: str
    detail_type: str = Field(alias="detail-type")
    detail: Detail


class SettlementRecord(SqsRecordModel):
    body: Json[SettlementEvent]


processor = sqs_processor(SettlementRecord)


@cache
def invoicing() -> InvoicingSettings:
    """Read once per container: a configuration mistake fails every record loudly (DLQ, logged)."""
    return InvoicingSettings.from_json(settings().seller, settings().tax_rates)


def settle(record: SettlementRecord) -> None:
    event = record.body
    result = settle_event(event.detail_type, event.detail, repositories(), payment_provider, utc_now(), invoicing())
    if result is None:
        return
    if result.problem:
        count("PaymentProblems")
    logger.info("payment settled", extra={"detail_type": event.detail_type, "order_id": event.detail.order_id,
                                          "announced": result.events, "problem": bool(result.problem)})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=settle, processor=processor, context=context)
