"""Domain events of money: a payment's movements and the invoices and credit notes issued for them.
Public through `shared.domain.events`. (What a provider's event does to an order is
shared/domain/payment_events.py.)"""

from __future__ import annotations

from pydantic import Field

from shared.domain.events_base import DomainEvent


class PaymentEvent(DomainEvent):
    """What every payment event carries: the payment as it is after the change (amounts are decimal
    strings in the order's currency). Ids and amounts only: no payer details."""

    event_type = "PaymentEvent"
    description = "(base)"
    order_id: str
    channel: str
    provider: str = Field(description="stripe, sandbox, or external (the channel settles)")
    status: str = Field(description="the payment's status after the change")
    previous: str = Field(description="the payment's status before the change")
    currency: str
    amount: str = Field(description="what this change moved or holds")
    authorized: str
    captured: str
    refunded: str


class PaymentAuthorized(PaymentEvent):
    event_type = "PaymentAuthorized"
    description = "The provider holds the amount for the order (an order awaiting payment is released to allocation)."


class PaymentCaptured(PaymentEvent):
    event_type = "PaymentCaptured"
    description = ("Money was captured for what shipped (per shipment), or paid at checkout. With provider external "
                   "this is the instruction to the channel to capture `amount`.")
    shipment_id: str | None = None
    final: bool = Field(description="true when the uncaptured rest of the authorisation was released with it")


class PaymentCaptureRefused(PaymentEvent):
    event_type = "PaymentCaptureRefused"
    description = "The provider refused a capture for a shipment; the shipment stands, an operator is asked to act."
    shipment_id: str | None = None
    reason: str


class PaymentFailed(PaymentEvent):
    event_type = "PaymentFailed"
    description = "A payment attempt failed; after the configured number of failures the order is cancelled."
    failures: int
    gave_up: bool
    reason: str


class PaymentVoided(PaymentEvent):
    event_type = "PaymentVoided"
    description = "What was authorised and not captured was released (order cancelled, completed, or the intent canceled)."


class PaymentRefunded(PaymentEvent):
    event_type = "PaymentRefunded"
    description = "Money went back to the payer (by the OMS or outside it, e.g. in Stripe's dashboard); once per refund id."
    refund_id: str


class CodCollected(PaymentEvent):
    event_type = "CodCollected"
    description = "Cash on delivery was collected: the last parcel was delivered (or the order collected in store)."


class PaymentDisputed(PaymentEvent):
    event_type = "PaymentDisputed"
    description = "The payer disputed the charge (a chargeback): the order is flagged DISPUTED for an operator."
    dispute_id: str
    reason: str | None


class DocumentIssued(DomainEvent):
    event_type = "DocumentIssued"
    description = ("An invoice (for a shipment or collected pickup) or a credit note (for a refund) was issued with "
                   "the next number of its series. Totals only: the buyer's name and address are in the document.")
    kind: str = Field(description="INVOICE or CREDIT_NOTE")
    number: str = Field(description="e.g. INV-2026-000123: gapless per selling entity, kind and year")
    order_id: str
    channel: str
    covers: str = Field(description="the shipment id (invoice) or the refund id (credit note)")
    corrects: str | None = Field(description="a credit note: the number of the invoice it corrects")
    currency: str
    net: str
    tax: str
    gross: str
