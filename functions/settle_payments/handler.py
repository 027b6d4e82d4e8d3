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

from shared.batch import batch_saving, sqs_processor
from shared.config import settings
from shared.observability import count, logger, metrics, traced
from shared.payments.credentials import payment_provider
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.invoice_batch import Invoiced
from shared.services.invoicing import InvoicingSettings
from shared.services.settlement_events import Detail, invoice_shipments, settle_event


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


def invoiced_first(records: list[dict]) -> dict[tuple[str, str], Invoiced]:
    """The batch's shipments invoiced together, their numbers one block (one counter update, not one
    per invoice); whatever this leaves out, or if it fails, each record invoices its own as it settles."""
    def event(raw: dict) -> tuple[str, Detail]:
        body = SettlementRecord.model_validate(raw).body
        return body.detail_type, body.detail

    return batch_saving(records, event, lambda events: invoice_shipments(events, repositories(), utc_now(), invoicing()),
                        {}, "batch invoicing")


def settle(record: SettlementRecord, invoiced: dict[tuple[str, str], Invoiced]) -> None:
    event = record.body
    result = settle_event(event.detail_type, event.detail, repositories(), payment_provider, utc_now(), invoicing(),
                          invoiced)
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
    invoiced = invoiced_first(event.get("Records", []))
    return process_partial_response(event=event, record_handler=lambda record: settle(record, invoiced),
                                    processor=processor, context=context)
