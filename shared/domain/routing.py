"""Routing: which locations fill an order, and why. A pure function of plain data.

Rules, in order (docs/routing.md explains them to merchants):
1. A location is eligible when it ships to the destination country (or is the chosen pickup store),
   has capacity left today, and holds some of what the order needs.
2. Prefer the fewest shipments: one location that fills everything beats any split.
3. Among equals: nearest to the destination (haversine), then priority (1 is first), then handling
   cost, then location id (so the decision is deterministic).
4. Split across locations only when no single one can fill the order and the channel allows it.
5. What cannot be filled is left unfilled: the caller backorders it (the whole order, unless the
   channel allows partial allocation, in which case the fillable part is planned).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import combinations

from shared.domain.geo import haversine_km

# Exhaustive search over location subsets is exact but combinatorial; past this many subsets we
# fall back to a greedy cover (merchants with dozens of locations), which is still never wrong
# about stock, only possibly one parcel more than optimal.
MAX_SUBSETS_EXAMINED = 20_000


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


def plan_route(request: RoutingRequest, candidates: Iterable[Candidate], stock: Stock) -> RoutingDecision:
    lines = merge_lines(request.lines)
    if not lines:
        return RoutingDecision((), (), ("nothing left to allocate",))
    excluded: dict[str, str] = {}
    eligible: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: c.location_id):
        why_not = _ineligible(c, request, lines, stock)
        if why_not:
            excluded[c.location_id] = why_not
        else:
            eligible.append(c)
    distance = {c.location_id: _distance(c, request.destination) for c in eligible}
    ranked = sorted(eligible, key=lambda c: _rank(c, distance))

    def available(sku: str, loc: str) -> int:
        return max(0, stock.get((sku, loc), 0))

    # Rule 2: one location that fills everything.
    for c in ranked:
        if all(available(line.sku, c.location_id) >= line.quantity for line in lines):
            assignments = tuple(Assignment(c.location_id, line.sku, line.quantity) for line in lines)
            reason = f"{c.location_id}: fills the whole order in one shipment; {_describe(c, distance)}"
            return RoutingDecision(assignments, (), (reason,), excluded)

    if not ranked:
        return RoutingDecision((), lines, ("no eligible location",), excluded)

    if request.allow_split:
        subset = _smallest_covering_subset(ranked, lines, available, distance)
        if subset is not None:
            assignments, _ = _fill(lines, subset, available)
            reasons = (f"no single location can fill the order; split over {len(subset)} locations",) + tuple(
                f"{c.location_id}: {_describe(c, distance)}" for c in subset
            )
            return RoutingDecision(assignments, (), reasons, excluded)

    if not request.allow_partial:
        why = "not enough stock across eligible locations" if request.allow_split else (
            "no single location can fill the order and the channel does not allow splitting"
        )
        return RoutingDecision((), lines, (why + "; the whole order waits for stock",), excluded)

    # Partial allocation: plan what can be filled now, the rest waits.
    if request.allow_split:
        pool = _greedy_cover(ranked, lines, available)
    else:
        pool = [_best_single(ranked, lines, available)]
    assignments, unfilled = _fill(lines, pool, available)
    used = {a.location_id for a in assignments}
    reasons = ("not enough stock for the whole order; allocating what is available (partial allowed)",) + tuple(
        f"{c.location_id}: {_describe(c, distance)}" for c in pool if c.location_id in used
    )
    return RoutingDecision(assignments, unfilled, reasons, excluded)


def _ineligible(c: Candidate, request: RoutingRequest, lines: tuple[Line, ...], stock: Stock) -> str | None:
    if request.pickup_location_id is not None:
        if c.location_id != request.pickup_location_id:
            return "not the pickup location the customer chose"
        if not c.pickup_enabled:
            return "pickup is not enabled here"
    elif request.destination.country not in c.ships_to:
        return f"does not ship to {request.destination.country}"
    if c.capacity_left is not None and c.capacity_left <= 0:
        return "no order capacity left today"
    if not any(stock.get((line.sku, c.location_id), 0) > 0 for line in lines):
        return "has none of the ordered SKUs available"
    return None


def _distance(c: Candidate, dest: Destination) -> float | None:
    if None in (c.lat, c.lon, dest.lat, dest.lon):
        return None
    return haversine_km(c.lat, c.lon, dest.lat, dest.lon)  # type: ignore[arg-type]


def _rank(c: Candidate, distance: Mapping[str, float | None]) -> tuple:
    d = distance[c.location_id]
    return (d is None, d or 0.0, c.priority, c.handling_cost, c.location_id)


def _describe(c: Candidate, distance: Mapping[str, float | None]) -> str:
    d = distance[c.location_id]
    where = f"{d:.0f} km from the destination" if d is not None else "distance unknown"
    return f"{where}, priority {c.priority}, handling cost {c.handling_cost}"


def _fill(lines, pool, available) -> tuple[tuple[Assignment, ...], tuple[Line, ...]]:
    """Take each line from the pool's locations in their order; return assignments and shortfall."""
    assignments: list[Assignment] = []
    unfilled: list[Line] = []
    for line in lines:
        need = line.quantity
        for c in pool:
            take = min(need, available(line.sku, c.location_id))
            if take > 0:
                assignments.append(Assignment(c.location_id, line.sku, take))
                need -= take
            if need == 0:
                break
        if need:
            unfilled.append(Line(line.sku, need))
    return tuple(assignments), tuple(unfilled)


def _covers(subset, lines, available) -> bool:
    return all(sum(available(line.sku, c.location_id) for c in subset) >= line.quantity for line in lines)


def _smallest_covering_subset(ranked, lines, available, distance):
    if not _covers(ranked, lines, available):
        return None
    examined = 0
    for k in range(2, len(ranked) + 1):
        best = None
        for subset in combinations(ranked, k):
            examined += 1
            if examined > MAX_SUBSETS_EXAMINED:
                return _greedy_cover(ranked, lines, available)
            if _covers(subset, lines, available):
                key = (
                    sum(distance[c.location_id] or 0.0 for c in subset),
                    sum(c.priority for c in subset),
                    sum(c.handling_cost for c in subset),
                )
                if best is None or key < best[0]:
                    best = (key, subset)
        if best is not None:
            return list(best[1])
    return None  # unreachable: the full ranked list covers


def _greedy_cover(ranked, lines, available):
    """Repeatedly take the location that fills the most still-missing units (rank breaks ties)."""
    need = {line.sku: line.quantity for line in lines}
    chosen = []
    remaining = list(ranked)
    while any(need.values()) and remaining:
        def gain(c):
            return sum(min(q, available(sku, c.location_id)) for sku, q in need.items())

        best = max(remaining, key=lambda c: (gain(c), -remaining.index(c)))
        if gain(best) == 0:
            break
        chosen.append(best)
        remaining.remove(best)
        for sku in need:
            need[sku] -= min(need[sku], available(sku, best.location_id))
    return chosen


def _best_single(ranked, lines, available):
    return max(ranked, key=lambda c: (sum(min(line.quantity, available(line.sku, c.location_id)) for line in lines),
                                      -ranked.index(c)))
