"""An order's payment: its own small lifecycle beside the order's status.

The record keeps amounts, not a status to be set: what was authorised, captured, refunded and
collected, and whether the authorisation is still open. The status is derived from them, so it
can only say what the amounts say, and it moves only forward because the amounts only grow
(captures and refunds are recorded once each, under the id that made them) and a released
authorisation never reopens:

    pending -> authorized -> partially_captured -> captured -> partially_refunded -> refunded
    pending | authorized -> voided (released before any capture)      pending -> failed
    cod_due -> cod_collected -> partially_refunded -> refunded

Who moves the money (`PaymentProvider`):
    stripe, sandbox   the OMS captures and voids through the provider adapter (shared/payments/);
    store_credit      the customer's store credit ledger: debited when the order is captured, and
                      every refund credited back in the transaction that records it;
    external          the channel settles (Amazon, a shop that captures itself): the OMS decides
                      what to capture when, records it and announces it (PaymentCaptured), and the
                      channel or ERP acts on the event.

Pure: no AWS, no clock; callers pass `now`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, computed_field

from shared.domain.base import DeferredModel
from shared.domain.money import ZERO

# Stripe's ids (pi_..., ch_..., re_...) and the sandbox's: printable ASCII, bounded.
ProviderRef = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
# The provider events applied to a payment, kept to refuse a redelivery. A payment sees a handful;
# the cap only bounds the item (an event older than the last 200 is a forgotten duplicate that the
# forward-only amounts make harmless anyway).
MAX_APPLIED_EVENTS = 200


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PARTIALLY_CAPTURED = "partially_captured"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    FAILED = "failed"
    COD_DUE = "cod_due"
    COD_COLLECTED = "cod_collected"


class PaymentProvider(StrEnum):
    STRIPE = "stripe"
    SANDBOX = "sandbox"
    EXTERNAL = "external"
    STORE_CREDIT = "store_credit"  # the customer's store credit: debited at capture, refunds credited back


class PaymentMethod(StrEnum):
    PREPAID = "prepaid"                      # card, wallet, ...: authorised or paid before shipping
    CASH_ON_DELIVERY = "cash_on_delivery"


class MovementKind(StrEnum):
    CAPTURE = "capture"
    REFUND = "refund"
    COLLECTION = "collection"                # cash on delivery, counted in on delivery
    CAPTURE_REFUSED = "capture_refused"      # the provider refused it: moved nothing, settles the handover
    DUE_REDUCED = "due_reduced"              # lines cancelled: less is owed (moves no money by itself)
    NOTHING_DUE = "nothing_due"              # a handover worth nothing (free items): settled without a capture


class Movement(DeferredModel):
    """Money that moved once: keyed by what moved it (a shipment, a refund id, a cancellation)."""

    kind: MovementKind
    key: str
    amount: Decimal
    at: datetime
    provider_ref: str | None = None          # what moved it: our key (a refund we made), else the provider's id


# Rank of each status along the lifecycle: a change may never lower it.
RANK: dict[PaymentStatus, int] = {
    PaymentStatus.PENDING: 0, PaymentStatus.COD_DUE: 0,
    PaymentStatus.AUTHORIZED: 1,
    PaymentStatus.PARTIALLY_CAPTURED: 2,
    PaymentStatus.CAPTURED: 3, PaymentStatus.COD_COLLECTED: 3,
    PaymentStatus.PARTIALLY_REFUNDED: 4,
    PaymentStatus.REFUNDED: 5,
    PaymentStatus.VOIDED: 5, PaymentStatus.FAILED: 5,
}


class PaymentWentBackwards(Exception):
    """A change would lower the payment's status or an amount: a bug in the caller, never input."""


class Payment(DeferredModel):
    """The payment record kept on the order (`Order.payment`)."""

    method: PaymentMethod
    provider: PaymentProvider
    currency: str
    amount_due: Decimal                      # what the order asks to be paid (its total)
    authorized: Decimal = ZERO
    # The provider's own totals as last reported (webhooks, call results): merged by maximum, so a
    # webhook about a capture we also recorded from the call's answer counts once, in either order.
    reported_captured: Decimal = ZERO
    reported_refunded: Decimal = ZERO
    authorization_open: bool = False         # released by a void, a final capture or cancellation
    authorized_at: datetime | None = None
    intent_id: ProviderRef | None = None
    charge_id: ProviderRef | None = None
    failures: int = 0
    failed: bool = False
    last_failure: str | None = None
    disputed: bool = False
    capture_problem: str | None = None       # the provider refused a capture: an operator looks
    movements: list[Movement] = []
    applied_events: list[str] = []
    updated_at: datetime

    @computed_field(description="Captured so far: our captures, or what the provider reports if more")  # type: ignore[prop-decorator]
    @property
    def captured(self) -> Decimal:
        return max(self._sum(MovementKind.CAPTURE), self.reported_captured)

    @computed_field(description="Refunded so far: refunds by id, or what the provider reports if more")  # type: ignore[prop-decorator]
    @property
    def refunded(self) -> Decimal:
        return max(self._sum(MovementKind.REFUND), self.reported_refunded)

    @computed_field(description="Cash on delivery collected")  # type: ignore[prop-decorator]
    @property
    def collected(self) -> Decimal:
        return self._sum(MovementKind.COLLECTION)

    def _sum(self, kind: MovementKind) -> Decimal:
        return sum((m.amount for m in self.movements if m.kind == kind), ZERO)

    @computed_field(description="What is still owed for the order: its total less cancelled lines")  # type: ignore[prop-decorator]
    @property
    def due(self) -> Decimal:
        return max(self.amount_due - self._sum(MovementKind.DUE_REDUCED), ZERO)

    @computed_field(description="Derived from the amounts: it moves only forward")  # type: ignore[prop-decorator]
    @property
    def status(self) -> PaymentStatus:
        if self.refunded > 0:
            paid = self.captured + self.collected
            return PaymentStatus.REFUNDED if self.refunded >= paid else PaymentStatus.PARTIALLY_REFUNDED
        if self.method == PaymentMethod.CASH_ON_DELIVERY:
            return PaymentStatus.COD_COLLECTED if self.collected > 0 else PaymentStatus.COD_DUE
        if self.failed:
            return PaymentStatus.FAILED
        if self.captured > 0:
            done = self.captured >= self.authorized or not self.authorization_open
            return PaymentStatus.CAPTURED if done else PaymentStatus.PARTIALLY_CAPTURED
        if self.authorization_open:
            return PaymentStatus.AUTHORIZED
        return PaymentStatus.VOIDED if self.authorized > 0 else PaymentStatus.PENDING

    @property
    def capturable(self) -> Decimal:
        """Authorised and not captured yet, while the authorisation is open."""
        return max(self.authorized - self.captured, ZERO) if self.authorization_open else ZERO

    @property
    def refundable(self) -> Decimal:
        return max(self.captured + self.collected - self.refunded, ZERO)

    @property
    def moves_money(self) -> bool:
        """The OMS itself captures, voids and refunds through a provider (not the channel)."""
        return self.provider != PaymentProvider.EXTERNAL and self.intent_id is not None

    def movement(self, kind: MovementKind, key: str) -> Movement | None:
        return next((m for m in self.movements if m.kind == kind and m.key == key), None)

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied_events

    # ---------------------------------------------------------------- changes (each keeps rank)

    def authorize(self, amount: Decimal, now: datetime) -> None:
        """The provider holds `amount` for us (only ever raised, never lowered)."""
        if self.failed or self.captured > 0 or (self.authorized > 0 and not self.authorization_open):
            return  # too late: a capture, a void or a failure came first
        if amount > self.authorized:
            self.authorized = amount
            self.authorized_at = self.authorized_at or now
            self.authorization_open = True

    def record(self, kind: MovementKind, key: str, amount: Decimal, now: datetime,
               provider_ref: str | None = None) -> bool:
        """Money moved once under `key`: False (and nothing changes) when it was recorded before."""
        if (amount <= 0 and kind != MovementKind.NOTHING_DUE) or self.movement(kind, key) is not None:
            return False
        self.movements.append(Movement(kind=kind, key=key, amount=amount, at=now, provider_ref=provider_ref))
        if kind == MovementKind.CAPTURE:
            self.authorized = max(self.authorized, self.captured)  # a "paid" order: captured at once
        self.updated_at = now
        return True

    def reported(self, captured: Decimal | None = None, refunded: Decimal | None = None,
                 now: datetime | None = None) -> bool:
        """The provider's totals (never lowered: an older report changes nothing). True if one rose."""
        rose = False
        if captured is not None and captured > self.reported_captured:
            self.reported_captured, rose = captured, True
            self.authorized = max(self.authorized, captured)
        if refunded is not None and refunded > self.reported_refunded:
            self.reported_refunded, rose = refunded, True
        if rose and now is not None:
            self.updated_at = now
        return rose

    def release(self, now: datetime) -> None:
        """The uncaptured rest of the authorisation is released (void, final capture, cancellation)."""
        self.authorization_open = False
        self.updated_at = now

    def fail(self, reason: str, give_up: bool, now: datetime) -> None:
        self.failures += 1
        self.last_failure = reason[:500]
        self.failed = self.failed or (give_up and self.captured == 0 and self.authorized == 0)
        self.updated_at = now

    def applied(self, event_id: str) -> None:
        self.applied_events = [*self.applied_events, event_id][-MAX_APPLIED_EVENTS:]


def opened(status: Literal["authorized", "paid", "pending", "cod"], amount: Decimal, amount_due: Decimal,
           currency: str, provider: PaymentProvider | None, intent_id: str | None, now: datetime) -> Payment:
    """The payment record of a new order, from what the channel says about its payment.

    `provider` left out: an intent id means the merchant's configured provider moves the money
    (resolved by the caller); without one, the channel settles (external)."""
    chosen = provider or PaymentProvider.EXTERNAL
    method = PaymentMethod.CASH_ON_DELIVERY if status == "cod" else PaymentMethod.PREPAID
    payment = Payment(method=method, provider=chosen, currency=currency, amount_due=amount_due,
                      intent_id=intent_id, updated_at=now)
    if status == "authorized":
        payment.authorize(amount, now)
    elif status == "paid":
        payment.record(MovementKind.CAPTURE, "paid-at-checkout", amount, now)
    return payment


def check_forward(before: Payment, after: Payment) -> None:
    """The invariant every change keeps. Forward means: no amount ever goes down (so a status that
    money reached is never left for an earlier one: captured money never makes a payment pending or
    authorised again), a released authorisation never reopens, a failure or a dispute is never
    forgotten, and no more is refunded than was paid. The status itself may still move between the
    late statuses as money keeps moving: a payment refunded in full becomes partially refunded when
    a later shipment is captured, a voided one shows the money a provider still reports taken.
    `RANK` orders the lifecycle for readers; it is not a bound on such moves."""
    for name in ("authorized", "captured", "refunded", "collected", "reported_captured", "reported_refunded"):
        if getattr(after, name) < getattr(before, name):
            raise PaymentWentBackwards(f"payment {name} went down")
    if before.authorized > 0 and not before.authorization_open and after.authorization_open:
        raise PaymentWentBackwards("a released authorisation reopened")
    if (before.failed and not after.failed) or (before.disputed and not after.disputed):
        raise PaymentWentBackwards("a failure or a dispute was forgotten")
    if after.refunded > after.captured + after.collected:
        raise PaymentWentBackwards("refunded more than was paid")
    if before.status != PaymentStatus.PENDING and after.captured > max(after.authorized, before.authorized):
        raise PaymentWentBackwards("captured more than was authorised")
    if RANK[after.status] < RANK[before.status] and RANK[after.status] < RANK[PaymentStatus.CAPTURED]:
        raise PaymentWentBackwards(f"payment status {before.status} -> {after.status}")
