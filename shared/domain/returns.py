"""A return (RMA): what a customer sends back of a delivered order, and what becomes of it.

    REQUESTED -> APPROVED | DECLINED
    APPROVED -> IN_TRANSIT -> RECEIVED -> INSPECTED -> REFUNDED | EXCHANGED -> CLOSED

A return never goes backwards (`Return.move_to`). Receiving is per line and inspects as it goes:
each receipt names the units' condition and their disposition (restock or write off), so the
return is RECEIVED at its first receipt and INSPECTED once every approved unit is received. A
parcel delivered to us (its tracking) is not a receipt: a person counts what came.

Money is never typed in: each refund is computed (shared/domain/refunds.py) from what was paid for
the line, and recorded here *before* the provider is asked (`ReturnRefund` PENDING, with the key the
provider's idempotency key is made of), so a retry, a crash or a concurrent call finds the first
attempt and repeats it under the same key instead of refunding again.

Pure: no AWS, no clock; callers pass `now`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field

from shared.domain.base import DeferredModel
from shared.domain.identifiers import ExternalId, Sku
from shared.domain.money import Amount
from shared.domain.shipments import StoredLabel, TrackingEntry, has_seen, recorded
from shared.domain.tracking import ShipmentStatus
from shared.errors import Conflict

if TYPE_CHECKING:
    from shared.domain.locations import Location
    from shared.domain.orders import Address


class ReturnReason(StrEnum):
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    SIZE_OR_FIT = "size_or_fit"
    CHANGED_MIND = "changed_mind"
    OTHER = "other"


class ReturnStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    IN_TRANSIT = "IN_TRANSIT"
    RECEIVED = "RECEIVED"
    INSPECTED = "INSPECTED"
    REFUNDED = "REFUNDED"
    EXCHANGED = "EXCHANGED"
    CLOSED = "CLOSED"


# Forward only. An approved return may be received without its parcel ever being tracked (handed in
# at a store, or a carrier that never scanned it), and closed when nothing (or not all) comes back.
TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.REQUESTED: frozenset({ReturnStatus.APPROVED, ReturnStatus.DECLINED}),
    ReturnStatus.APPROVED: frozenset({ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED, ReturnStatus.CLOSED}),
    ReturnStatus.IN_TRANSIT: frozenset({ReturnStatus.RECEIVED, ReturnStatus.CLOSED}),
    # Closed as it stands when the rest never comes back: what came is refunded as usual.
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.INSPECTED, ReturnStatus.CLOSED}),
    ReturnStatus.INSPECTED: frozenset({ReturnStatus.REFUNDED, ReturnStatus.EXCHANGED, ReturnStatus.CLOSED}),
    ReturnStatus.REFUNDED: frozenset({ReturnStatus.CLOSED}),
    ReturnStatus.EXCHANGED: frozenset({ReturnStatus.CLOSED}),
    ReturnStatus.DECLINED: frozenset(),
    ReturnStatus.CLOSED: frozenset(),
}
OPEN = frozenset({ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED,
                  ReturnStatus.INSPECTED})


class Condition(StrEnum):
    """What a person found when the units came back."""

    NEW = "new"                   # unopened, sellable as new
    OPENED = "opened"             # opened, complete, sellable
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    MISSING_PARTS = "missing_parts"
    WRONG_ITEM = "wrong_item"     # not what we sent


class Disposition(StrEnum):
    RESTOCK = "restock"           # on hand goes up at the receiving location
    WRITE_OFF = "write_off"       # recorded with its reason; stock does not change


class RefundMethod(StrEnum):
    ORIGINAL_PAYMENT = "original_payment"   # back through the payment provider (or the channel)
    STORE_CREDIT = "store_credit"           # the customer's store credit ledger


class RefundState(StrEnum):
    PENDING = "PENDING"           # recorded, the money not yet moved (or not yet known to have moved)
    DONE = "DONE"
    REFUSED = "REFUSED"           # the provider refused: a person looks (PAYMENT_PROBLEM)


class IllegalReturnTransition(Conflict):
    def __init__(self, current: ReturnStatus, target: ReturnStatus):
        super().__init__(f"a return that is {current.value} cannot become {target.value}", field="status")


class ReturnPolicy(DeferredModel):
    """A channel's return policy, held as data (`PUT /return-policies/{channel}`)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt rule must be refused, not silently dropped

    window_days: Annotated[int, Field(ge=0, le=3650)] = 30
    non_returnable_skus: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default=[], max_length=200,
        description="SKU patterns that cannot be returned: shell-style, `*` any run of characters (e.g. GIFT-*)")
    merchant_pays_shipping_for: list[ReturnReason] = Field(
        default=[ReturnReason.DAMAGED, ReturnReason.DEFECTIVE, ReturnReason.WRONG_ITEM,
                 ReturnReason.NOT_AS_DESCRIBED],
        description="Reasons for which the merchant pays the return label and refunds the original shipping")
    restocking_fee_percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] = Decimal(0)
    auto_approve_up_to: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)] | None = Field(
        default=None, description="Approve by itself a return worth up to this much in the order's currency; "
                                  "above it (or when unset) an operator approves or declines")
    allow_exchange: bool = True
    refund_methods: Annotated[list[RefundMethod], Field(min_length=1)] = [RefundMethod.ORIGINAL_PAYMENT,
                                                                          RefundMethod.STORE_CREDIT]

    def merchant_pays(self, reason: ReturnReason) -> bool:
        return reason in self.merchant_pays_shipping_for

    def restocking_fee_applies(self, reason: ReturnReason) -> bool:
        """No fee when the merchant is at fault (the reasons it pays the shipping for)."""
        return self.restocking_fee_percent > 0 and not self.merchant_pays(reason)


class RequestedLine(DeferredModel):
    """A line of a return request: units of a SKU of the order (`line`: which order line, when the
    order has the SKU on more than one)."""

    sku: Sku
    quantity: Annotated[int, Field(gt=0, le=10_000)]
    line: Annotated[int, Field(ge=0)] | None = None


class ReturnLine(DeferredModel):
    """Units of one order line coming back, and what became of them."""

    line: int                     # index of the order line
    sku: str
    quantity: int                 # requested, and approved with the return
    received: int = 0
    restocked: int = 0
    written_off: int = 0
    refunded: int = 0             # units refunded or settled by an exchange (never more than received)


class ExchangeLine(DeferredModel):
    """A replacement: its price is the order's for a SKU the order has, else the one given here."""

    sku: Sku
    quantity: Annotated[int, Field(gt=0, le=10_000)]
    unit_price: Amount | None = Field(default=None, description="Needed for a SKU the order does not have")


class ReturnParcel(DeferredModel):
    """The return label and what the carrier has said about the parcel coming back."""

    carrier: str
    service: str
    tracking_code: str
    label: StoredLabel
    status: ShipmentStatus = ShipmentStatus.LABEL_CREATED
    status_at: datetime | None = None
    history: list[TrackingEntry] = []   # bounded like a shipment's (shared/domain/shipments.py)

    def has_seen(self, provider: str, provider_event_id: str) -> bool:
        return has_seen(self.history, provider, provider_event_id)

    def record(self, entry: TrackingEntry) -> None:
        self.history = recorded(self.history, entry)


class Receipt(DeferredModel):
    """Units of one line received, inspected and dispositioned, under a caller-chosen id."""

    receipt_id: ExternalId
    line: int
    sku: str
    quantity: int                 # what moved: the received quantity, capped at what was still awaited
    asked: int                    # what the caller said it received (more than awaited is flagged)
    condition: Condition
    disposition: Disposition
    location_id: str
    note: str | None = None
    at: datetime
    by: str


class ReturnRefund(DeferredModel):
    """One refund of received units: recorded PENDING before the money moves, DONE after."""

    refund_id: str                # `<rma>-R<n>`; the provider's idempotency key is `refund-<refund_id>`
    method: RefundMethod
    lines: dict[int, int]         # order line index -> units this refund covers
    amount: Decimal               # in the order's currency, never typed in
    currency: str
    shipping: Decimal = Decimal(0)      # of `amount`, the original shipping refunded
    restocking_fee: Decimal = Decimal(0)  # taken off `amount`
    exchanged: Decimal = Decimal(0)       # of the units' value, what paid for the exchange order (not refunded)
    state: RefundState = RefundState.PENDING
    provider_refund_id: str | None = None
    problem: str | None = None
    created_at: datetime
    done_at: datetime | None = None


class ReturnStatusChange(DeferredModel):
    status: ReturnStatus
    at: datetime
    by: str
    note: str | None = None


class Return(DeferredModel):
    rma_id: str
    request_id: ExternalId        # the caller's: the same request id answers the same RMA
    request_fingerprint: str
    order_id: str
    channel: str
    customer_id: str
    status: ReturnStatus = ReturnStatus.REQUESTED
    reason: ReturnReason
    comment: str | None = None
    lines: list[ReturnLine]
    refund_method: RefundMethod = RefundMethod.ORIGINAL_PAYMENT
    exchange_lines: list[ExchangeLine] = []
    exchange_order_id: str | None = None
    merchant_pays_shipping: bool
    policy: ReturnPolicy          # as it was when the return was requested: later changes do not apply
    value: Decimal                # what the requested units are worth (the refund quote at request)
    currency: str
    location_id: str | None = None    # where it goes back (chosen at approval)
    parcel: ReturnParcel | None = None
    receipts: list[Receipt] = []
    refunds: list[ReturnRefund] = []
    decision_note: str | None = None
    history: list[ReturnStatusChange] = []
    created_at: datetime
    updated_at: datetime
    version: int = 0

    def move_to(self, status: ReturnStatus, at: datetime, by: str, note: str | None = None) -> None:
        if status == self.status:
            return
        if status not in TRANSITIONS[self.status]:
            raise IllegalReturnTransition(self.status, status)
        self.status = status
        self.history.append(ReturnStatusChange(status=status, at=at, by=by, note=note))
        self.updated_at = at

    def line_of(self, line: int) -> ReturnLine | None:
        return next((ln for ln in self.lines if ln.line == line), None)

    def receipt(self, receipt_id: str) -> Receipt | None:
        return next((r for r in self.receipts if r.receipt_id == receipt_id), None)

    @property
    def pending_refund(self) -> ReturnRefund | None:
        return next((r for r in self.refunds if r.state is RefundState.PENDING), None)

    @property
    def all_received(self) -> bool:
        return all(ln.received >= ln.quantity for ln in self.lines)

    def awaiting_refund(self) -> dict[int, int]:
        """Received units not yet refunded nor claimed by a refund in flight: order line -> units."""
        claimed: dict[int, int] = {}
        for r in self.refunds:
            if r.state is RefundState.PENDING:
                for line, units in r.lines.items():
                    claimed[line] = claimed.get(line, 0) + units
        out = {ln.line: ln.received - ln.refunded - claimed.get(ln.line, 0) for ln in self.lines}
        return {line: units for line, units in out.items() if units > 0}

    @property
    def requested_units(self) -> dict[int, int]:
        return {ln.line: ln.quantity for ln in self.lines}


def choose_return_location(locations: list[Location], customer: Address) -> Location | None:
    """Where a return goes back: an active location that takes returns from the customer's country
    (its own, or one it ships to), the nearest when the customer's address has coordinates, else one
    in the customer's country first; then by priority and id, so the choice is stable."""
    from shared.domain.geo import haversine_km

    eligible = [loc for loc in locations if loc.active and loc.accepts_returns
                and (loc.country == customer.country or customer.country in loc.ships_to)]

    def rank(loc: Location) -> tuple[float, int, int, str]:
        far = (haversine_km(float(loc.lat), float(loc.lon), float(customer.lat), float(customer.lon))
               if customer.lat is not None and customer.lon is not None else 0.0)
        return far, 0 if loc.country == customer.country else 1, loc.priority, loc.location_id

    return min(eligible, key=rank, default=None)
