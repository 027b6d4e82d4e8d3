"""Reconciliation rules: when a hold or pickup has expired, when a counter has drifted, when a
shipment has gone silent, when an order is stuck, and what an operator should do about it.

Pure: no AWS, no clock (every rule takes `now`). The run that applies them is the package
shared/services/reconciliation/; its configuration (read by `config_from_env`) is:

| Variable | Default | Meaning |
|---|---|---|
| `OMS_RECONCILE_BUDGET_S` | `240` | Most seconds one run works before it checkpoints and stops (also bounded by the Lambda's remaining time) |
| `OMS_RECONCILE_UNPAID_HOLD_AFTER` | `72h` | An order on hold `AWAITING_PAYMENT` this long is cancelled |
| `OMS_RECONCILE_PICKUP_AFTER` | `7d` | A click-and-collect order ready for pickup this long is cancelled, its stock released |
| `OMS_RECONCILE_SILENT_AFTER` | `72h` | A shipment without a tracking update this long is polled at its carrier, and flagged if still silent |
| `OMS_RECONCILE_AUTHORIZATION_MAX_AGE` | `6d` | A card authorisation open this long and not fully captured is listed for an operator (re-authorise before it lapses) |
| `OMS_RECONCILE_SLA` | see `DEFAULT_SLA` | Per-status SLA overrides, e.g. `RECEIVED=30m,ALLOCATED=2d,SHIPPED=14d`; `STATUS=off` disables one |

Durations are `<number><s|m|h|d>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.domain.exception_records import ExceptionKind as ExceptionKind  # re-exported: their home before
from shared.domain.exception_records import ExceptionRecord as ExceptionRecord
from shared.domain.fulfillment import FulfillmentOrder, FulfillmentStatus
from shared.domain.orders import HoldReason, Order, OrderStatus
from shared.domain.shipments import Shipment
from shared.domain.stock import StockLevel
from shared.domain.tracking import TERMINAL as TERMINAL_SHIPMENT
from shared.domain.tracking import ShipmentStatus

S = OrderStatus

# How long an order may stay in a status before a person should look. Terminal statuses, and
# DELIVERED (nothing moves it to COMPLETED yet), have none.
DEFAULT_SLA: dict[OrderStatus, timedelta] = {
    S.RECEIVED: timedelta(minutes=15),          # allocation takes seconds: a lost message
    S.ON_HOLD: timedelta(hours=24),             # a person must release or reject
    S.BACKORDERED: timedelta(days=14),
    S.PARTIALLY_ALLOCATED: timedelta(days=14),
    S.ALLOCATED: timedelta(days=2),             # picked, packed and shipped within two days
    S.PARTIALLY_SHIPPED: timedelta(days=14),
    S.SHIPPED: timedelta(days=10),              # delivered within ten days
}

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 48h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_sla(text: str, base: Mapping[OrderStatus, timedelta] = DEFAULT_SLA) -> dict[OrderStatus, timedelta]:
    """`RECEIVED=30m,SHIPPED=14d,ON_HOLD=off` over `base`."""
    sla = dict(base)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"{part!r}: expected STATUS=duration")
        status = OrderStatus(name.strip().upper())
        if value.strip().lower() == "off":
            sla.pop(status, None)
        else:
            sla[status] = parse_duration(value)
    return sla


@dataclass(frozen=True)
class ReconcileConfig:
    budget: timedelta = timedelta(seconds=240)
    unpaid_hold_after: timedelta = timedelta(hours=72)
    pickup_after: timedelta = timedelta(days=7)
    silent_after: timedelta = timedelta(hours=72)
    # Card authorisations lapse after about 7 days (Stripe: 7 for online card payments).
    authorization_max_age: timedelta = timedelta(days=6)
    sla: Mapping[OrderStatus, timedelta] = field(default_factory=lambda: dict(DEFAULT_SLA))


class SettingsError(ValueError):
    """An OMS_RECONCILE_* setting that does not parse: the operator's to fix, not a bug."""


def config_from_env(env: Mapping[str, str]) -> ReconcileConfig:
    try:
        return _config_from_env(env)
    except ValueError as error:
        raise SettingsError(f"OMS_RECONCILE_* setting: {error}") from error


def _config_from_env(env: Mapping[str, str]) -> ReconcileConfig:
    def duration(name: str, default: timedelta) -> timedelta:
        value = env.get(name)
        return parse_duration(value) if value else default

    default = ReconcileConfig()
    budget = env.get("OMS_RECONCILE_BUDGET_S")
    return ReconcileConfig(
        budget=timedelta(seconds=float(budget)) if budget else default.budget,
        unpaid_hold_after=duration("OMS_RECONCILE_UNPAID_HOLD_AFTER", default.unpaid_hold_after),
        pickup_after=duration("OMS_RECONCILE_PICKUP_AFTER", default.pickup_after),
        silent_after=duration("OMS_RECONCILE_SILENT_AFTER", default.silent_after),
        authorization_max_age=duration("OMS_RECONCILE_AUTHORIZATION_MAX_AGE", default.authorization_max_age),
        sla=parse_sla(env.get("OMS_RECONCILE_SLA", "")),
    )


# ------------------------------------------------------------------ 1. expiry


def unpaid_hold_expired(order: Order, now: datetime, after: timedelta) -> bool:
    """On hold waiting for a payment that has not come for `after`: cancel it."""
    if order.status != S.ON_HOLD:
        return False
    waiting = [h for h in order.open_holds if h.reason == HoldReason.AWAITING_PAYMENT]
    return bool(waiting) and min(h.placed_at for h in waiting) <= now - after


def ready_since(fo: FulfillmentOrder) -> datetime | None:
    """When a click-and-collect order became ready for pickup (None unless it still is)."""
    if fo.status != FulfillmentStatus.READY_FOR_PICKUP:
        return None
    moments = [c.at for c in fo.history if c.status == FulfillmentStatus.READY_FOR_PICKUP]
    return moments[-1] if moments else fo.updated_at


def pickup_abandoned(fo: FulfillmentOrder, now: datetime, after: timedelta) -> bool:
    since = ready_since(fo)
    return since is not None and since <= now - after


# ------------------------------------------------------------------ 2. drift


@dataclass(frozen=True)
class DriftRepair:
    """A stock level whose counters disagree with its reservation records, and the fix."""

    sku: str
    location_id: str
    before: StockLevel
    after: StockLevel

    @property
    def reserved_delta(self) -> int:
        return self.after.reserved - self.before.reserved


def reserved_from_records(quantities: Iterable[int]) -> int:
    """Reserved is the sum of the live reservation records (0 after shipping or release)."""
    return sum(max(0, int(q)) for q in quantities)


@dataclass(frozen=True)
class ReservationRecord:
    """What one order holds of a SKU at a location; 0 once shipped or released (spent)."""

    sku: str
    location_id: str
    order_id: str
    quantity: int

    @property
    def spent(self) -> bool:
        return self.quantity == 0


@dataclass(frozen=True)
class StockPartition:
    """A SKU's stock as the drift walk reads it: its levels and its reservation records."""

    sku: str
    levels: list[StockLevel]
    reservations: list[ReservationRecord]

    def reserved_by_location(self) -> dict[str, int]:
        """The units the records hold at each location (a candidate filter: the recount decides)."""
        by_location: dict[str, list[int]] = {}
        for r in self.reservations:
            by_location.setdefault(r.location_id, []).append(r.quantity)
        return {loc: reserved_from_records(quantities) for loc, quantities in by_location.items()}


def drift(level: StockLevel, reserved: int, now: datetime) -> DriftRepair | None:
    """The repair of `level` given the units its reservation records hold, or None if it agrees.
    `available` is recomputed too: on_hand - reserved - safety_stock."""
    available = level.on_hand - reserved - level.safety_stock
    if level.reserved == reserved and level.available == available:
        return None
    after = level.model_copy(update={"reserved": reserved, "available": available, "version": level.version + 1,
                                     "updated_at": now})
    return DriftRepair(level.sku, level.location_id, level, after)


# ------------------------------------------------------------------ 4. silent shipments


def last_heard(shipment: Shipment) -> datetime:
    return shipment.last_tracking_at or shipment.created_at


def silent(shipment: Shipment, now: datetime, after: timedelta) -> bool:
    """Not arrived (or otherwise finished) and nothing from the carrier for `after`."""
    return shipment.status not in TERMINAL_SHIPMENT and last_heard(shipment) <= now - after


def silent_reason(shipment: Shipment, now: datetime, problem: str | None = None) -> str:
    hours = int((now - last_heard(shipment)).total_seconds() // 3600)
    what = "no tracking update" if shipment.last_tracking_at else "no tracking update since the label was created"
    reason = f"shipment {shipment.shipment_id} ({shipment.status.value}): {what} for {hours} h"
    return reason + (f"; {problem}" if problem else "")


def silent_action(shipment: Shipment) -> str:
    if not shipment.tracking_code:
        return (f"the shipment has no tracking number: ask location {shipment.location_id} which carrier "
                "took it and add the number")
    carrier = shipment.carrier or "the carrier"
    return f"open a trace with {carrier} for tracking number {shipment.tracking_code}"


def late_record(shipment: Shipment, reason: str, now: datetime) -> ExceptionRecord:
    """The open exception of a parcel found late (tracking: shared/services/tracking.py)."""
    carrier = shipment.carrier or "the carrier"
    return ExceptionRecord(
        kind=ExceptionKind.LATE_SHIPMENT, subject=shipment.shipment_id, since=now, raised_at=now,
        order_id=shipment.order_id, status=shipment.status.value,
        reason=f"shipment {shipment.shipment_id} runs late: {reason}",
        suggested_action=f"tell the customer; ask {carrier} about tracking number {shipment.tracking_code}"
        if shipment.tracking_code else "tell the customer; ask the location which carrier took it")


def late_settled(shipment: Shipment | None, order: Order | None) -> bool:
    """A late parcel's exception closes once it arrived, or its order is settled or gone (a failed or
    returned parcel stays listed until a person settles the order)."""
    return (shipment is None or order is None or shipment.status == ShipmentStatus.DELIVERED
            or order.status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REJECTED))


# ------------------------------------------------------------------ 5. stuck orders


def state_since(order: Order) -> datetime:
    """When the order entered its current status."""
    for change in reversed(order.history):
        if change.status == order.status:
            return change.at
    return order.created_at


@dataclass(frozen=True)
class Stuck:
    order_id: str
    status: OrderStatus
    since: datetime
    sla: timedelta
    reason: str
    suggested_action: str


def aging_authorization(order: Order, now: datetime, max_age: timedelta) -> str | None:
    """Why the order's open authorisation needs a person, or None: authorised longer ago than
    `max_age` and not fully captured (the provider will release it soon, and then nothing can be
    captured for what still ships)."""
    pay = order.pay
    if not pay.authorization_open or pay.capturable <= 0 or pay.authorized_at is None:
        return None
    age = now - pay.authorized_at
    if age <= max_age:
        return None
    return (f"{pay.capturable} {pay.currency} authorised {describe(age)} ago is not captured yet; the authorisation "
            "lapses soon: re-authorise the payment with the payer, or ship and capture before it does")


def aging_authorization_action(order: Order) -> str:
    """What an operator should do about an aging authorisation: while goods are still to ship,
    secure the money; once everything shipped, settle what the handovers are owed and release the rest."""
    pay = order.pay
    if order.status in (S.SHIPPED, S.DELIVERED, S.COMPLETED):
        return (f"everything has shipped but {pay.capturable} {pay.currency} stay authorised: capture what the "
                "shipments are owed (look for a failed settle-payments message) and release the rest")
    return ("re-authorise the payment with the payer (a new authorisation) before this one lapses, or ship and "
            "capture before it does; cancel the order if the payer does not re-authorise")


def stuck(order: Order, now: datetime, sla: Mapping[OrderStatus, timedelta]) -> Stuck | None:
    limit = sla.get(order.status)
    if limit is None:
        return None
    since = state_since(order)
    if now - since <= limit:
        return None
    reason = f"{order.status.value} for {describe(now - since)}, longer than its SLA of {describe(limit)}"
    return Stuck(order.order_id, order.status, since, limit, reason, suggested_action(order))


def suggested_action(order: Order) -> str:
    status = order.status
    waiting = ", ".join(order.waiting_skus) or "the backordered SKUs"
    locations = ", ".join(sorted({a.location_id for a in order.allocations})) or "the allocated locations"
    if status == S.RECEIVED:
        return ("allocation never finished: look for the order's message in allocation-dlq and redrive it, "
                "or cancel the order")
    if status == S.ON_HOLD:
        reasons = ", ".join(h.reason.value for h in order.open_holds) or "unknown"
        return f"release or reject the order (held for: {reasons})"
    if status in (S.BACKORDERED, S.PARTIALLY_ALLOCATED):
        return f"restock {waiting} at a location that ships to {order.request.shipping_address.country}, " \
               "or cancel the order"
    if status == S.ALLOCATED:
        return f"ask {locations} why the fulfilment orders have not shipped, or cancel the order"
    if status == S.PARTIALLY_SHIPPED:
        return f"ship the remaining lines from {locations}, or restock {waiting}"
    if status == S.SHIPPED:
        return "check each shipment's tracking and open a trace with the carrier"
    return "look at the order's history"


def describe(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"
