"""Which settlement an event asks for (settle-payments): the event's detail as the queue delivers it,
dispatched to shared/services/settlement.py, or to a return refund's credit notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from shared.observability import logger
from shared.repositories import Repositories
from shared.services import settlement
from shared.services.invoice_batch import Handover, Invoiced, invoice_handovers
from shared.services.invoicing import InvoicingSettings


class Line(BaseModel):
    sku: str
    quantity: int


class Detail(BaseModel):
    """What settlement reads of the events it hears (extra fields ignored)."""

    order_id: str
    shipment_id: str | None = None
    fulfillment_order_id: str | None = None
    lines: list[Line] = []
    cancellation_id: str | None = None
    amount: Decimal | None = None
    rma_id: str | None = None      # RefundIssued of a return
    refund_id: str | None = None


def invoice_shipments(events: Sequence[tuple[str, Detail]], repos: Repositories, now: datetime,
                      invoicing: InvoicingSettings) -> dict[tuple[str, str], Invoiced]:
    """A batch's shipments invoiced together (numbers as one block, shared/services/invoice_batch.py),
    before each event is settled: `settle_event` is then given what this answers for its shipment."""
    handovers = [Handover(d.order_id, d.shipment_id, {line.sku: line.quantity for line in d.lines})
                 for t, d in events if t == "ShipmentDispatched" and d.shipment_id]
    return invoice_handovers(handovers, repos, now, invoicing) if handovers else {}


def settle_event(detail_type: str, detail: Detail, repos: Repositories, gateway_for: settlement.GatewayFor,
                 now: datetime, invoicing: InvoicingSettings,
                 invoiced: Mapping[tuple[str, str], Invoiced] | None = None) -> settlement.Settled | None:
    """The settlement the event asks for; None when it asks for none (logged). `invoiced`: what
    `invoice_shipments` answered for the batch."""
    if detail_type == "RefundIssued":
        _credit(detail, repos, now)
        return None
    if detail_type == "ShipmentDispatched" and detail.shipment_id:
        handed = {line.sku: line.quantity for line in detail.lines}
        found = (invoiced or {}).get((detail.order_id, detail.shipment_id))
        return settlement.settle_handover(detail.order_id, detail.shipment_id, handed, repos, gateway_for, now,
                                          invoicing, read=(found.order, found.documents) if found else None)
    if detail_type == "FulfillmentOrderChanged" and detail.fulfillment_order_id:
        return settlement.settle_collection(detail.order_id, detail.fulfillment_order_id, repos, gateway_for, now,
                                            invoicing)
    if detail_type == "OrderLinesCancelled" and detail.cancellation_id and detail.amount is not None:
        return settlement.settle_line_cancellation(detail.order_id, detail.cancellation_id, detail.amount, repos,
                                                   gateway_for, now)
    if detail_type == "OrderCancelled":
        return settlement.settle_cancellation(detail.order_id, repos, gateway_for, now)
    if detail_type == "OrderDelivered":
        return settlement.settle_delivery(detail.order_id, repos, gateway_for, now)
    logger.warning("not a settlement event; ignored", extra={"detail_type": detail_type})
    return None


def _credit(detail: Detail, repos: Repositories, now: datetime) -> None:
    """A return's refund, finished: its credit notes (idempotent, so a redelivery issues nothing)."""
    from shared.services.return_credit_notes import credit_return_refund

    if not (detail.rma_id and detail.refund_id):  # refunded by another system: its documents are its own
        logger.info("refund without a return; nothing to credit", extra={"order_id": detail.order_id})
        return
    credited = credit_return_refund(detail.order_id, detail.rma_id, detail.refund_id, repos, now)
    logger.info("return refund credited", extra={"order_id": detail.order_id, "rma_id": detail.rma_id,
                                                 "refund_id": detail.refund_id, "credited": credited})
