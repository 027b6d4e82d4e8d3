"""The plain data routing works on and answers with (re-exported by `shared/domain/routing.py`).

In a module of their own so that locations (which build a `Candidate`) and the strategy models
(which name location types) do not import the engine, and the engine can import them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Destination:
    country: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Candidate:
    """What routing needs to know of a location."""

    location_id: str
    country: str
    ships_to: frozenset[str]
    lat: float | None = None
    lon: float | None = None
    priority: int = 100
    handling_cost: Decimal = Decimal("0")
    pickup_enabled: bool = False
    # None: no daily limit. 0: today's capacity is used up.
    capacity_left: int | None = None
    location_type: str = "warehouse"  # LocationType's value
    daily_capacity: int | None = None  # orders per UTC day (balance_load); None: no limit
    orders_today: int = 0
    cutoff_utc: time | None = None  # the latest order time (UTC) that still ships that day
    transit_days: Mapping[str, int] = field(default_factory=dict, hash=False)  # by destination zone
    transport_mode: str = "van"  # TransportMode's value


@dataclass(frozen=True)
class RoutingRequest:
    lines: tuple[Line, ...]
    destination: Destination
    pickup_location_id: str | None = None
    # The channel's policy: a ceiling a strategy cannot exceed.
    allow_split: bool = True
    allow_partial: bool = False
    promised_by: datetime | None = None


@dataclass(frozen=True)
class PlanEstimate:
    """What the chosen plan is estimated to take; None where the data to estimate it is missing
    (no coordinates, no rate for the zone and weight, no transit days for the zone)."""

    parcels: int
    distance_km: float | None = None
    cost: Decimal | None = None  # handling + shipping, in the shipping profile's currency
    currency: str | None = None
    co2e_kg: Decimal | None = None
    delivery_by: date | None = None  # estimated delivery of the last parcel


@dataclass(frozen=True)
class Assignment:
    location_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class RoutingDecision:
    assignments: tuple[Assignment, ...]
    unfilled: tuple[Line, ...]
    reasons: tuple[str, ...]
    excluded: Mapping[str, str] = field(default_factory=dict)
    strategy_id: str = "default"
    strategy_version: int = 0
    estimate: PlanEstimate | None = None
    # The strategy says HOLD and the plan does not fill the order: nothing is reserved, an
    # operator decides (HoldReason.ROUTING_SHORTFALL).
    hold: bool = False
    # The locations that could take part (rule 1: ship there, capacity left, some stock), best first for
    # the strategy: those its filters kept in its rank order of single locations, then those they removed.
    eligible: tuple[str, ...] = ()

    @property
    def locations(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for a in self.assignments:
            seen.setdefault(a.location_id, None)
        return tuple(seen)

    @property
    def complete(self) -> bool:
        return not self.unfilled


Stock = Mapping[tuple[str, str], int]
"""Available units by (sku, location_id)."""


def merge_lines(lines: Iterable[Line]) -> tuple[Line, ...]:
    """One line per SKU, in first-seen order (two lines of one SKU draw on the same stock)."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return tuple(Line(sku, qty) for sku, qty in totals.items() if qty > 0)
