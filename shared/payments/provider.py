"""What the OMS asks of a payment provider, and what it hears back: the contract that the Stripe
adapter (shared/payments/stripe.py) and the sandbox (shared/payments/sandbox.py) both keep.

Amounts are Decimal in the order's currency (never minor units: each adapter converts at its edge).
Every call that moves money takes an idempotency key that the caller derives from what it is doing
(`capture-<order>-<shipment>`), so a retried Lambda repeats the same call and the provider answers
the first result instead of moving the money again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class IntentStatus(StrEnum):
    """A payment intent's state at the provider (Stripe's PaymentIntent statuses)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class RefundStatus(StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class ProviderPayment:
    """A payment intent as the provider reports it after a call."""

    intent_id: str
    status: IntentStatus
    currency: str
    amount: Decimal               # what was asked for (authorised once requires_capture/succeeded)
    amount_capturable: Decimal    # authorised and not yet captured
    amount_received: Decimal      # captured so far
    charge_id: str | None = None  # the latest charge
    failure: str | None = None    # the last payment error's message, if any


@dataclass(frozen=True)
class ProviderRefund:
    refund_id: str
    intent_id: str | None
    charge_id: str | None
    currency: str
    amount: Decimal
    status: RefundStatus


class PaymentDeclined(Exception):
    """The provider refused the request for a reason a retry will not change (card declined, amount
    above what is capturable, intent already canceled): the caller records it for an operator."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class IdempotencyKeyReused(Exception):
    """The same idempotency key was sent before with other parameters: always a bug in the caller
    (a key must name one request), never the payer's doing. Not a decline: the caller must not
    record it as one; the message fails and lands in its DLQ with this reason."""


class ProviderUnavailable(Exception):
    """The provider could not answer (network, 5xx, 429 rate limit, lock timeout): retry later with
    the same idempotency key."""


class PaymentProvider(Protocol):
    name: str

    def authorize(self, amount: Decimal, currency: str, payment_method: str, order_id: str,
                  idempotency_key: str) -> ProviderPayment:
        """Create and confirm an intent for `amount` with manual capture (an authorisation)."""
        ...

    def capture(self, intent_id: str, amount: Decimal, currency: str, idempotency_key: str,
                final: bool) -> ProviderPayment:
        """Capture `amount` of the authorisation; `final` releases what stays uncaptured."""
        ...

    def void(self, intent_id: str, idempotency_key: str) -> ProviderPayment:
        """Release what is authorised and not captured (cancel the intent)."""
        ...

    def refund(self, intent_id: str, amount: Decimal, currency: str, idempotency_key: str,
               reason: str | None = None) -> ProviderRefund:
        """Refund `amount` of what was captured."""
        ...

    def retrieve(self, intent_id: str) -> ProviderPayment:
        ...


# ------------------------------------------------------------------ webhooks, read into one shape


class ProviderEventKind(StrEnum):
    AUTHORIZED = "authorized"            # payment_intent.amount_capturable_updated
    SUCCEEDED = "succeeded"              # payment_intent.succeeded (captured, or authorised: see amounts)
    FAILED = "failed"                    # payment_intent.payment_failed
    CANCELED = "canceled"                # payment_intent.canceled
    REFUNDED = "refunded"                # charge.refunded, refund.updated (refunds listed in `refunds`)
    DISPUTED = "disputed"                # charge.dispute.created


@dataclass(frozen=True)
class RefundInfo:
    refund_id: str
    amount: Decimal
    status: RefundStatus
    idempotency_key: str | None = None  # ours, when the OMS made the refund (Stripe: metadata)


@dataclass(frozen=True)
class ProviderEvent:
    """One provider webhook event, read from the provider's documented format. Amounts are in the
    event's currency as Decimal; anything the kind does not carry is None."""

    provider: str
    event_id: str
    kind: ProviderEventKind
    created: datetime                    # UTC, when the provider created the event
    currency: str
    intent_id: str | None = None
    order_id: str | None = None          # metadata.order_id, when the intent carries it
    charge_id: str | None = None
    amount: Decimal | None = None
    amount_capturable: Decimal | None = None
    amount_received: Decimal | None = None
    amount_refunded: Decimal | None = None   # charge.amount_refunded: the charge's refunded total
    refunds: tuple[RefundInfo, ...] = field(default=())
    failure: str | None = None
    dispute_id: str | None = None
    dispute_reason: str | None = None
    livemode: bool = False
