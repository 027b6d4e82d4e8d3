"""The order aggregate: what a channel sends, what we keep, and the lifecycle it may follow."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from shared.domain.address import Address as Address  # re-exported: its home before address.py
from shared.domain.base import DeferredModel
from shared.domain.bounds import AwareMoment, Integer
from shared.domain.identifiers import ID_PATTERN as ID_PATTERN  # re-exported, as below
from shared.domain.identifiers import MAX_LINES as MAX_LINES
from shared.domain.identifiers import ORDER_ID_PATTERN as ORDER_ID_PATTERN
from shared.domain.identifiers import ExternalId as ExternalId
from shared.domain.identifiers import LocationId as LocationId
from shared.domain.identifiers import Sku as Sku
from shared.domain.money import ZERO, Amount, CurrencyCode
from shared.domain.payments import Payment as PaymentRecord
from shared.domain.payments import PaymentProvider, ProviderRef, opened
from shared.errors import Conflict

MAX_CANCELLATIONS = 50  # line cancellations one order keeps (it is one item, at most 400 KB)
# Optional request fields added after the first release: left out of the fingerprint while unset, so
# an order captured before they existed still matches its own retry.
LATER_FIELDS = ("note", "tax_total")
LATER_PAYMENT_FIELDS = ("provider", "intent_id")
MAX_TOTAL = Decimal("10000000000")  # an Amount has at most 14 digits, 4 of them decimals


class OrderStatus(StrEnum):
    RECEIVED = "RECEIVED"
    ON_HOLD = "ON_HOLD"
    BACKORDERED = "BACKORDERED"
    PARTIALLY_ALLOCATED = "PARTIALLY_ALLOCATED"
    ALLOCATED = "ALLOCATED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.RECEIVED: frozenset({S.ON_HOLD, S.BACKORDERED, S.PARTIALLY_ALLOCATED, S.ALLOCATED, S.CANCELLED, S.REJECTED}),
    S.ON_HOLD: frozenset({S.RECEIVED, S.CANCELLED, S.REJECTED}),
    S.BACKORDERED: frozenset({S.PARTIALLY_ALLOCATED, S.ALLOCATED, S.CANCELLED}),
    # A rejecting location can send an allocated order (part) back: to a partial allocation or a backorder,
    # or, when it is the pickup store of a click-and-collect order, on hold.
    S.PARTIALLY_ALLOCATED: frozenset({S.ALLOCATED, S.PARTIALLY_SHIPPED, S.BACKORDERED, S.ON_HOLD, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.PARTIALLY_ALLOCATED, S.BACKORDERED, S.ON_HOLD,
                            S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
}
CANCELLABLE = frozenset({S.RECEIVED, S.ON_HOLD, S.BACKORDERED, S.PARTIALLY_ALLOCATED, S.ALLOCATED})
AWAITING_STOCK = (S.BACKORDERED, S.PARTIALLY_ALLOCATED)


class HoldReason(StrEnum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    PAYMENT_MISMATCH = "PAYMENT_MISMATCH"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    UNDELIVERABLE_ADDRESS = "UNDELIVERABLE_ADDRESS"
    PICKUP_UNAVAILABLE = "PICKUP_UNAVAILABLE"
    TOO_LARGE = "TOO_LARGE"
    # The routing strategy says to hold what it cannot fill for an operator.
    ROUTING_SHORTFALL = "ROUTING_SHORTFALL"
    PAYMENT_METHOD_NOT_ALLOWED = "PAYMENT_METHOD_NOT_ALLOWED"
    # A channel's own format could not be mapped completely (Order.intake_problems says what).
    CHANNEL_MAPPING = "CHANNEL_MAPPING"


class IllegalTransition(Conflict):
    """A move the order lifecycle does not allow: a conflict with the order's state (409), never a crash."""

    def __init__(self, current: OrderStatus, target: OrderStatus):
        super().__init__(f"an order in {current} cannot become {target}", field="status")
        self.current, self.target = current, target


# ------------------------------------------------------------------ what a channel sends


class Customer(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    id: ExternalId
    # None where the channel does not share it (a marketplace, a POS sale): no email messages then.
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 ()\-]{4,31}$")] | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="BCP 47, e.g. en, de-CH")] = "en"


class OrderLine(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Annotated[Integer, Field(gt=0, le=10_000)]
    unit_price: Amount


class Payment(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["authorized", "paid", "pending", "cod"]
    amount: Amount
    provider: PaymentProvider | None = Field(
        default=None, description="Who moves the money: stripe or sandbox (the OMS captures on shipment through "
                                  "it), external (the channel settles), store_credit (the customer's store credit, "
                                  "debited at capture: status paid). Left out: the configured provider when "
                                  "intent_id is given, else external")
    intent_id: ProviderRef | None = Field(
        default=None, description="The provider's payment intent (Stripe: pi_...), authorised or awaiting payment; "
                                  "its webhooks are matched to the order by it")

    @model_validator(mode="after")
    def _provider_needs_intent(self) -> Payment:
        if self.provider in (PaymentProvider.STRIPE, PaymentProvider.SANDBOX) and self.intent_id is None:
            raise ValueError(f"intent_id is required when provider is {self.provider.value}")
        if self.status == "cod" and self.intent_id is not None:
            raise ValueError("a cash on delivery payment has no intent_id")
        if self.provider == PaymentProvider.STORE_CREDIT and (self.status != "paid" or self.intent_id is not None):
            raise ValueError("store credit pays at capture: status paid and no intent_id")
        return self


class Fulfillment(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["ship", "pickup"] = "ship"
    location_id: LocationId | None = Field(default=None, description="The pickup store (pickup only)")

    @model_validator(mode="after")
    def _pickup_needs_location(self) -> Fulfillment:
        if self.type == "pickup" and not self.location_id:
            raise ValueError("location_id is required when type is pickup")
        if self.type == "ship" and self.location_id:
            raise ValueError("location_id is only for pickup orders")
        return self


class OrderRequest(DeferredModel):
    """POST /orders: one order in the OMS canonical format."""

    model_config = ConfigDict(extra="forbid")
    channel_order_id: ExternalId
    customer: Customer
    shipping_address: Address
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]
    currency: CurrencyCode
    payment: Payment
    fulfillment: Fulfillment = Fulfillment()
    shipping_price: Amount = ZERO
    discount_total: Amount = ZERO
    tax_total: Amount | None = Field(
        default=None, description="Tax the channel charged on top of its prices (channels that price without "
                                  "tax, e.g. a US Shopify shop); part of the total the payment must cover")
    promised_by: AwareMoment | None = None
    note: Annotated[str, Field(min_length=1, max_length=1000)] | None = Field(
        default=None, description="The customer's note for whoever prepares the order (delivery instructions, "
                                  "a gift message); the fulfilment orders carry it")

    @property
    def total(self) -> Decimal:
        subtotal = sum((line.unit_price * line.quantity for line in self.lines), ZERO)
        return subtotal + self.shipping_price - self.discount_total + (self.tax_total or ZERO)

    @model_validator(mode="after")
    def _total_is_a_sane_amount(self) -> OrderRequest:
        if self.total < 0:
            raise ValueError("discount_total exceeds the lines and shipping: the total would be negative")
        if self.total >= MAX_TOTAL:
            raise ValueError(f"the order total must be below {MAX_TOTAL}")
        return self

    def fingerprint(self) -> str:
        """Hash of the canonical body: the same id with a different body is a conflict. Amounts are
        compared as numbers: "10.0" and "10.00" are the same price. (Orders captured before that
        hashed amounts as written: capture compares a resend with such an order's stored request.)"""
        body = self.model_dump(mode="json")
        for name in LATER_FIELDS:
            if body.get(name) is None:
                body.pop(name, None)
        for name in ("shipping_price", "discount_total", "tax_total"):
            if getattr(self, name) is not None:
                body[name] = _number(getattr(self, name))
        for name in LATER_PAYMENT_FIELDS:
            if body["payment"].get(name) is None:
                body["payment"].pop(name, None)
        body["payment"]["amount"] = _number(self.payment.amount)
        for line, dumped in zip(self.lines, body["lines"], strict=True):
            dumped["unit_price"] = _number(line.unit_price)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _number(amount: Decimal) -> str:
    """An amount as the number it is: 10.00, 10.0 and 10 are all "10"."""
    return format(amount.normalize(), "f")


# ------------------------------------------------------------------ what we keep


class Allocation(DeferredModel):
    location_id: str
    sku: str
    quantity: int


class Hold(DeferredModel):
    reason: HoldReason
    detail: str
    placed_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None


class StatusChange(DeferredModel):
    status: OrderStatus
    at: datetime
    note: str | None = None
    # Who made the change when someone asked for it: "operator" (the machine key), a channel's name,
    # or "user:<username>" for a person (never their email). None for the OMS's own steps.
    by: str | None = None


class RouteEstimate(DeferredModel):
    """The chosen plan's estimates as stored (shared/domain/routing.py PlanEstimate)."""

    parcels: int
    distance_km: float | None = None
    cost: Decimal | None = None
    currency: str | None = None
    co2e_kg: Decimal | None = None
    delivery_by: date | None = None


class RoutingRecord(DeferredModel):
    """The routing decision as stored on the order: which locations and why."""

    decided_at: datetime
    locations: list[str]
    reasons: list[str]
    excluded: dict[str, str] = {}  # at most 20 (routing_replay.bounded_excluded)
    excluded_omitted: int = 0  # locations left out that `excluded` does not list
    strategy_id: str = "default"
    strategy_version: int = 0
    estimate: RouteEstimate | None = None
    # What the router saw, so that a what-if replay routes the order against the same picture: the
    # available units of the order's SKUs at the locations that could take it (shipping there, capacity
    # left, some stock; at most 20, the chosen ones first, then the strategy's next best), and the
    # orders each capacity-limited one of them had taken that day (shared/domain/routing_replay.py).
    stock_seen: dict[str, dict[str, int]] = {}
    orders_today: dict[str, int] = {}
    picture_omitted: int = 0  # locations that could take the order left out of the picture by the cap
    # Allocation recorded the picture above (even an empty one: no stock anywhere), so a replay can route
    # the order again. Records from before the flag tell by their picture, estimate or strategy version.
    picture_recorded: bool = False
    # The plan's units by location and SKU (the reservation it made), so a replay can tell whether it
    # lands on the same plan, not only the same locations. Written with the picture.
    assigned: dict[str, dict[str, int]] = {}


class BackorderedLine(DeferredModel):
    sku: str
    quantity: int


class ShipmentDelay(DeferredModel):
    """A parcel running late: the carrier's estimate passed the promise, or it reported a problem."""

    shipment_id: str
    tracking_code: str | None = None
    reason: str
    estimated_delivery: datetime | None = None
    at: datetime


class CancelledLine(DeferredModel):
    sku: str
    quantity: int


class LineCancellation(DeferredModel):
    """Lines cancelled before they shipped (POST /orders/{id}/cancel with `lines`), kept on the order: its
    id is the caller's, so a repeat finds it here, under the order's version condition."""

    cancellation_id: str
    lines: list[CancelledLine] = Field(description="What was asked, one entry per SKU, by SKU")
    reason: str
    at: datetime
    by: str = Field(description="The channel or operator that asked")

    @property
    def units(self) -> dict[str, int]:
        return {line.sku: line.quantity for line in self.lines}


class IntakeProblem(DeferredModel):
    """Something a channel sent in its own format that could not be mapped (channel's field path)."""

    field: str
    problem: str


class ChannelRecord(DeferredModel):
    """What the channel's own format said of this order, beside our canonical request."""

    revision: datetime = Field(description="The channel's last revision applied (its updated_at)")
    display_id: str | None = Field(default=None, description="The number people see, e.g. Shopify's #1001")
    status: str | None = Field(default=None, description="The channel's payment or order status as last sent")
    problems: list[IntakeProblem] = Field(default=[], description="What could not be mapped (holds the order)")


@dataclass(frozen=True)
class ChannelOrderKey:
    """What a channel order id points at: the order it made, and the request it made it from."""

    order_id: str
    fingerprint: str


class Order(DeferredModel):
    order_id: str
    channel: str
    version: int = 0
    status: OrderStatus = OrderStatus.RECEIVED
    created_at: datetime
    updated_at: datetime
    request: OrderRequest
    request_fingerprint: str
    total: Amount
    allocations: list[Allocation] = []
    backordered: list[BackorderedLine] = []
    holds: list[Hold] = []
    history: list[StatusChange] = []
    routing: list[RoutingRecord] = []
    fulfillment_order_ids: list[str] = []
    # Locations that rejected a fulfilment order of this order: routing does not offer them again.
    rejected_locations: list[str] = []
    # Every parcel shipped for the order (the order is DELIVERED when all of them are).
    shipment_ids: list[str] = []
    delays: list[ShipmentDelay] = []
    cancel_reason: str | None = None
    # Line cancellations applied, oldest first (at most MAX_CANCELLATIONS: the order is one item).
    cancellations: list[LineCancellation] = []
    # Its own lifecycle beside the status (shared/domain/payments.py). Orders stored before it existed
    # get theirs from the request when read.
    payment: PaymentRecord | None = None
    # Orders that came in a channel's own format (Shopify, WooCommerce, Amazon): what it said.
    channel_record: ChannelRecord | None = None

    @model_validator(mode="after")
    def _payment_record(self) -> Order:
        if self.payment is None:
            paid = self.request.payment
            self.payment = opened(paid.status, paid.amount, self.total, self.request.currency, paid.provider,
                                  paid.intent_id, self.created_at)
        return self

    @property
    def pay(self) -> PaymentRecord:
        """The payment record (always there once the order is built)."""
        assert self.payment is not None
        return self.payment

    def move_to(self, status: OrderStatus, at: datetime, note: str | None = None, by: str | None = None) -> None:
        if status != self.status and status not in TRANSITIONS[self.status]:
            raise IllegalTransition(self.status, status)
        if status != self.status:
            self.status = status
            self.history.append(StatusChange(status=status, at=at, note=note, by=by))
        self.updated_at = at

    @property
    def open_holds(self) -> list[Hold]:
        return [h for h in self.holds if h.released_at is None]

    @property
    def released_hold_reasons(self) -> set[HoldReason]:
        return {h.reason for h in self.holds if h.released_at is not None}

    @property
    def awaits_stock(self) -> bool:
        """Backordered lines that a restock may fill (also after other parts have shipped)."""
        return self.status in AWAITING_STOCK or (self.status == OrderStatus.PARTIALLY_SHIPPED and bool(self.backordered))

    @property
    def waiting_skus(self) -> list[str]:
        return sorted({b.sku for b in self.backordered})

    def remaining_lines(self) -> list[BackorderedLine]:
        """What still needs stock: all lines before the first allocation (less what was cancelled of
        them), else the backorder."""
        if self.status == OrderStatus.RECEIVED:
            return self.remaining_lines_of_request()
        return list(self.backordered)

    def remaining_lines_of_request(self) -> list[BackorderedLine]:
        """The request's lines less what line cancellations took off them."""
        cancelled = self.cancelled_units()
        lines = []
        for ln in self.request.lines:
            taken = min(ln.quantity, cancelled.get(ln.sku, 0))
            cancelled[ln.sku] = cancelled.get(ln.sku, 0) - taken
            if ln.quantity > taken:
                lines.append(BackorderedLine(sku=ln.sku, quantity=ln.quantity - taken))
        return lines

    def cancellation(self, cancellation_id: str) -> LineCancellation | None:
        return next((c for c in self.cancellations if c.cancellation_id == cancellation_id), None)

    def cancelled_units(self) -> dict[str, int]:
        """Units of each SKU taken off the order by line cancellations."""
        units: dict[str, int] = {}
        for cancellation in self.cancellations:
            for line in cancellation.lines:
                units[line.sku] = units.get(line.sku, 0) + line.quantity
        return units
