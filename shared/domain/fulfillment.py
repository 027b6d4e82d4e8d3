"""Fulfilment orders: what one location must pick, pack and ship (or hand over) for an order.

Pure rules, no AWS. A fulfilment order moves OPEN -> ACCEPTED -> PICKED -> PACKED -> SHIPPED
(PARTIALLY_SHIPPED while some lines wait), or for click-and-collect PACKED -> READY_FOR_PICKUP ->
COLLECTED; REJECTED and CANCELLED end it early. Every action is idempotent and never moves it
backwards: a repeated or late call answers the current state instead (see `decide`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import Field

from shared.domain.address import Address
from shared.domain.base import DeferredModel

if TYPE_CHECKING:  # annotation only: the fulfilment API and the exceptions list don't load the order aggregate
    from shared.domain.orders import Allocation

# f<12 hex of the allocation step>.<order id>.<location id>: a fulfilment order's id names its order
# and location, so a ship or collect reads all three in one request (docs/data-model.md). Ids made
# before this (f<24 hex>, `legacy_fulfillment_order_id`) name neither and are read in two steps.
FULFILLMENT_ORDER_ID = re.compile(r"f[0-9a-f]{12}\.(o[0-9a-f]{24})\.([A-Za-z0-9][A-Za-z0-9._\-]{0,63})")


def fulfillment_order_id(allocation_event_id: str, location_id: str, order_id: str) -> str:
    """Derived from the allocation event: the order knows its fulfilment orders' ids when it is
    allocated, and a redelivered event names the same ones."""
    step = hashlib.sha256(f"{allocation_event_id}:{location_id}".encode()).hexdigest()[:12]
    return f"f{step}.{order_id}.{location_id}"


def legacy_fulfillment_order_id(allocation_event_id: str, location_id: str) -> str:
    """The id the code before `fulfillment_order_id` gave: orders allocated then name these."""
    return "f" + hashlib.sha256(f"{allocation_event_id}:{location_id}".encode()).hexdigest()[:24]


def named_by(fulfillment_order_id: str) -> tuple[str, str] | None:
    """(order id, location id) a fulfilment order's id names, or None for a legacy id."""
    found = FULFILLMENT_ORDER_ID.fullmatch(fulfillment_order_id)
    return (found.group(1), found.group(2)) if found else None


class FulfillmentStatus(StrEnum):
    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    PICKED = "PICKED"
    PACKED = "PACKED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    COLLECTED = "COLLECTED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class Action(StrEnum):
    ACCEPT = "accept"
    PICK = "pick"
    PACK = "pack"
    SHIP = "ship"
    READY = "ready"
    COLLECT = "collect"
    REJECT = "reject"
    CANCEL = "cancel"


F = FulfillmentStatus
# Progress along the happy path; the two branches (ship, collect) share ranks.
_RANK = {F.OPEN: 0, F.ACCEPTED: 1, F.PICKED: 2, F.PACKED: 3, F.PARTIALLY_SHIPPED: 4, F.READY_FOR_PICKUP: 4,
         F.SHIPPED: 5, F.COLLECTED: 5}
TERMINAL = frozenset({F.SHIPPED, F.COLLECTED, F.REJECTED, F.CANCELLED})
# Where each action leads, and from which statuses it may be taken.
_RULES: dict[Action, tuple[F, frozenset[F]]] = {
    Action.ACCEPT: (F.ACCEPTED, frozenset({F.OPEN})),
    Action.PICK: (F.PICKED, frozenset({F.ACCEPTED})),
    Action.PACK: (F.PACKED, frozenset({F.PICKED})),
    # Shipping (and making ready) may come straight from OPEN: a WMS or 3PL reports only the outcome,
    # as Shopify lets a fulfilment be created from an open fulfilment order. accept, pick and pack
    # are progress reports for locations working from the pull list, and stay in order.
    Action.SHIP: (F.SHIPPED, frozenset({F.OPEN, F.ACCEPTED, F.PICKED, F.PACKED, F.PARTIALLY_SHIPPED})),
    Action.READY: (F.READY_FOR_PICKUP, frozenset({F.OPEN, F.ACCEPTED, F.PICKED, F.PACKED})),
    Action.COLLECT: (F.COLLECTED, frozenset({F.READY_FOR_PICKUP})),
    # A location may reject until it has picked; after that the goods are in hand.
    Action.REJECT: (F.REJECTED, frozenset({F.OPEN, F.ACCEPTED})),
    Action.CANCEL: (F.CANCELLED, frozenset({F.OPEN, F.ACCEPTED, F.PICKED, F.PACKED, F.READY_FOR_PICKUP})),
}
_PICKUP_ONLY = frozenset({Action.READY, Action.COLLECT})
_SHIP_ONLY = frozenset({Action.SHIP})


class Decision(StrEnum):
    APPLY = "APPLY"        # do it
    ALREADY = "ALREADY"    # done before (or overtaken): answer the current state, change nothing
    REFUSE = "REFUSE"      # not possible from here: a conflict


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    target: FulfillmentStatus
    reason: str = ""


def decide(current: FulfillmentStatus, action: Action, pickup: bool) -> Verdict:
    """What an action does to a fulfilment order in `current` status."""
    target, allowed_from = _RULES[action]
    if (action in _PICKUP_ONLY and not pickup) or (action in _SHIP_ONLY and pickup):
        kind = "a pickup" if pickup else "a shipping"
        return Verdict(Decision.REFUSE, target, f"{action.value} does not apply to {kind} fulfilment order")
    if current in allowed_from:
        return Verdict(Decision.APPLY, target)
    if current == target or (current in _RANK and target in _RANK and _RANK[current] > _RANK[target]
                             and current not in (F.REJECTED, F.CANCELLED)):
        return Verdict(Decision.ALREADY, target, f"already {current.value}")
    return Verdict(Decision.REFUSE, target, f"cannot {action.value} a fulfilment order that is {current.value}")


@dataclass(frozen=True)
class LineProgress:
    sku: str
    quantity: int
    shipped: int = 0

    @property
    def remaining(self) -> int:
        return self.quantity - self.shipped


class ShipmentTooLarge(ValueError):
    def __init__(self, sku: str, asked: int, remaining: int):
        super().__init__(f"{sku}: {asked} asked, {remaining} left to ship")
        self.sku, self.asked, self.remaining = sku, asked, remaining


def ship_lines(lines: Iterable[LineProgress], shipping: Mapping[str, int]) -> tuple[list[LineProgress], bool]:
    """Lines after shipping `shipping` (SKU -> units), and whether everything has now shipped.
    An empty `shipping` ships everything that remains."""
    lines = list(lines)
    known = {line.sku for line in lines}
    for sku in shipping:
        if sku not in known:
            raise ShipmentTooLarge(sku, shipping[sku], 0)
    updated = []
    for line in lines:
        take = line.remaining if not shipping else shipping.get(line.sku, 0)
        if take < 0 or take > line.remaining:
            raise ShipmentTooLarge(line.sku, take, line.remaining)
        updated.append(LineProgress(line.sku, line.quantity, line.shipped + take))
    if all(line.shipped == before.shipped for line, before in zip(updated, lines, strict=True)):
        raise ShipmentTooLarge(next(iter(shipping), "lines"), 0, sum(x.remaining for x in lines))
    return updated, all(line.remaining == 0 for line in updated)


class OrderProgress(StrEnum):
    """How far an order's fulfilment orders have got, as far as the order is concerned."""

    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"


def order_progress(statuses: Iterable[FulfillmentStatus]) -> OrderProgress | None:
    """What an order's fulfilment orders say about the order: None (nothing shipped yet),
    PARTIALLY_SHIPPED or SHIPPED. Rejected and cancelled parts do not count."""
    live = [s for s in statuses if s not in (F.REJECTED, F.CANCELLED)]
    done = [s for s in live if s in (F.SHIPPED, F.COLLECTED)]
    if live and len(done) == len(live):
        return OrderProgress.SHIPPED
    if done or any(s == F.PARTIALLY_SHIPPED for s in live):
        return OrderProgress.PARTIALLY_SHIPPED
    return None


# ------------------------------------------------------------------ the stored fulfilment order


class FulfillmentLine(DeferredModel):
    sku: str
    quantity: int
    shipped: int = 0


class FulfillmentChange(DeferredModel):
    status: FulfillmentStatus
    at: datetime
    note: str | None = None
    # Who asked for it (the operator key, or a person: "user:<username>"); None for the OMS's own steps.
    by: str | None = None


class FulfillmentOrder(DeferredModel):
    fulfillment_order_id: str
    order_id: str
    channel: str
    location_id: str
    pickup: bool
    status: FulfillmentStatus = FulfillmentStatus.OPEN
    lines: list[FulfillmentLine]
    version: int = 0
    created_at: datetime
    updated_at: datetime
    history: list[FulfillmentChange] = []
    reject_reason: str | None = None
    # Click-and-collect: the code the customer shows at the store (sent to them, never in events
    # or in the API's fulfilment order answers).
    pickup_code: str | None = None
    # What the location needs to ship or hand over without reading the order. Personal data: the
    # fulfilment order is the location's working document, but none of this goes into an event.
    customer_name: str | None = Field(default=None, description="Who the parcel is for, or who collects it")
    ship_to: Address | None = Field(default=None, description="Where it goes, with the recipient's name "
                                                              "(shipping fulfilment orders only)")
    promised_by: datetime | None = Field(default=None, description="When the customer was promised delivery")
    customer_note: str | None = Field(default=None, description="The customer's note on the order")

    def ship(self, shipping: Mapping[str, int], at: datetime, note: str | None = None,
             by: str | None = None) -> dict[str, int]:
        """Ship `shipping` (SKU -> units; empty: all that remains) after `decide` said APPLY; returns
        what shipped. Raises ShipmentTooLarge for more than remains."""
        progress = [LineProgress(x.sku, x.quantity, x.shipped) for x in self.lines]
        updated, done = ship_lines(progress, shipping)
        shipped = {after.sku: after.shipped - before.shipped for after, before in zip(updated, progress, strict=True)
                   if after.shipped != before.shipped}
        self.lines = [FulfillmentLine(sku=x.sku, quantity=x.quantity, shipped=x.shipped) for x in updated]
        self.status = FulfillmentStatus.SHIPPED if done else FulfillmentStatus.PARTIALLY_SHIPPED
        self.updated_at = at
        self.version += 1
        self.history.append(FulfillmentChange(status=self.status, at=at, note=note, by=by))
        return shipped

    def cancel_units(self, cancelling: Mapping[str, int], at: datetime, note: str | None = None) -> bool:
        """Take `cancelling` (SKU -> units, at most what remains to ship of each line) off this fulfilment
        order: a line cancellation of its order. A line left with nothing drops out (one that shipped
        some keeps those). Left with nothing to do, it is CANCELLED when nothing of it shipped (its lines
        kept as they were, as a whole-order cancel leaves them) and SHIPPED when some did, as `decide`
        allows. Returns whether its status changed."""
        lines = {x.sku: x for x in self.lines}
        for sku, units in cancelling.items():
            line = lines.get(sku)
            if line is None or not 0 < units <= line.quantity - line.shipped:
                raise ValueError(f"{sku}: cannot cancel {units} of fulfilment order {self.fulfillment_order_id}")
        after = [FulfillmentLine(sku=x.sku, quantity=x.quantity - cancelling.get(x.sku, 0), shipped=x.shipped)
                 for x in self.lines]
        after = [x for x in after if x.quantity > 0]
        previous = self.status
        if all(x.quantity == x.shipped for x in after):
            action = Action.SHIP if any(x.shipped for x in after) else Action.CANCEL
            verdict = decide(self.status, action, self.pickup)
            if verdict.decision != Decision.APPLY:
                raise ValueError(f"fulfilment order {self.fulfillment_order_id} is {self.status}: {verdict.reason}")
            self.status = verdict.target
        if self.status != FulfillmentStatus.CANCELLED:
            self.lines = after
        self.updated_at = at
        self.version += 1
        self.history.append(FulfillmentChange(status=self.status, at=at, note=note))
        return self.status != previous

    def apply(self, action: Action, at: datetime, note: str | None = None, by: str | None = None) -> Verdict:
        """Take `action` if the rules allow it; the verdict says what happened."""
        verdict = decide(self.status, action, self.pickup)
        if verdict.decision == Decision.APPLY:
            self.status = verdict.target
            self.updated_at = at
            self.version += 1
            self.history.append(FulfillmentChange(status=verdict.target, at=at, note=note, by=by))
        return verdict


def spent_reservations(allocations: Iterable[Allocation], parts: Iterable[FulfillmentOrder],
                       taking: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """The (SKU, location) reservation records among `taking` that hold nothing once this change
    commits, so its transaction deletes them instead of leaving them at 0 units for the
    reconciliation's sweep. A record holds what the order has allocated at the location less what
    its fulfilment orders there shipped or handed over, whatever their status (the soak's checker,
    bench/invariants/stock.py, holds the store to it). `allocations` and `parts`: the order's, all of
    them, as this change leaves them. A part read stale has shipped at most as much as it says, so it
    can only make a record look fuller than it is (shrunk to 0, as before); the write's condition
    that the record holds exactly what is taken refuses the rest."""
    left: dict[tuple[str, str], int] = {}
    for a in allocations:
        left[(a.sku, a.location_id)] = left.get((a.sku, a.location_id), 0) + a.quantity
    for fo in parts:
        for line in fo.lines:
            left[(line.sku, fo.location_id)] = left.get((line.sku, fo.location_id), 0) - line.shipped
    return frozenset(key for key in taking if left.get(key, 0) == 0)
