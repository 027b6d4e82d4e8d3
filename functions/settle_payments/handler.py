"""Order events from the payment-settlement queue -> the order's payment settled as goods move:
captured per shipment (or collected pickup), released when nothing more ships or the order is
cancelled, refunded when a paid order is cancelled, cash on delivery collected on delivery; and a
return's refund (RefundIssued) gets its credit notes, even when the call that refunded died first."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Field, Json

from shared.batch import sqs_processor
from shared.config import settings
from shared.observability import count, logger, metrics, traced
from shared.payments.credentials import payment_provider
from shared.repositories import Repositories, repositories
from shared.services import settlement
from shared.services.clock import utc_now
from shared.services.invoicing import InvoicingSettings
from shared.services.return_credit_notes import credit_return_refund


class Line(BaseModel):
    sku: str
    quantity: int


class Detail(BaseModel):
    order_id: str
    shipment_id: str | None = None
    fulfillment_order_id: str | None = None
    lines: list[Line] = []
    cancellation_id: str | None = None
    amount: Decimal | None = None
    rma_id: str | None = None      # RefundIssued of a return
    refund_id: str | None = None


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
    event, repos, now = record.body, repositories(), utc_now()
    detail = event.detail
    if event.detail_type == "RefundIssued":
        credit(detail, repos, now)
        return
    if event.detail_type == "ShipmentDispatched" and detail.shipment_id:
        handed = {line.sku: line.quantity for line in detail.lines}
        result = settlement.settle_handover(detail.order_id, detail.shipment_id, handed, repos, payment_provider, now,
                                            invoicing())
    elif event.detail_type == "FulfillmentOrderChanged" and detail.fulfillment_order_id:
        result = settlement.settle_collection(detail.order_id, detail.fulfillment_order_id, repos, payment_provider,
                                              now, invoicing())
    elif event.detail_type == "OrderLinesCancelled" and detail.cancellation_id and detail.amount is not None:
        result = settlement.settle_line_cancellation(detail.order_id, detail.cancellation_id, detail.amount, repos,
                                                     payment_provider, now)
    elif event.detail_type == "OrderCancelled":
        result = settlement.settle_cancellation(detail.order_id, repos, payment_provider, now)
    elif event.detail_type == "OrderDelivered":
        result = settlement.settle_delivery(detail.order_id, repos, payment_provider, now)
    else:
        logger.warning("not a settlement event; ignored", extra={"detail_type": event.detail_type})
        return
    if result.problem:
        count("PaymentProblems")
    logger.info("payment settled", extra={"detail_type": event.detail_type, "order_id": detail.order_id,
                                          "announced": result.events, "problem": bool(result.problem)})


def credit(detail: Detail, repos: Repositories, now: datetime) -> None:
    """A return's refund, finished: its credit notes (idempotent, so a redelivery issues nothing)."""
    if not (detail.rma_id and detail.refund_id):  # refunded by another system: its documents are its own
        logger.info("refund without a return; nothing to credit", extra={"order_id": detail.order_id})
        return
    credited = credit_return_refund(detail.order_id, detail.rma_id, detail.refund_id, repos, now)
    logger.info("return refund credited", extra={"order_id": detail.order_id, "rma_id": detail.rma_id,
                                                 "refund_id": detail.refund_id, "credited": credited})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=settle, processor=processor, context=context)
