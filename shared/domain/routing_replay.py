"""What-if replay: route past orders again, through the strategy version that decided them and through a
candidate set of strategies, and add up both sides. Pure: no AWS, no clock.

The picture each order is replayed against is the one it was routed against: the available units of its
SKUs and the orders each capacity-limited location had taken that day, as recorded on its first
RoutingRecord (`stock_seen`, `orders_today`). Locations are the current ones (where they are, what they
ship to, their costs and cut-offs), as is the shipping profile and the channel's policy. Because routing
is deterministic, the baseline side reproduces the recorded decision unless a location changed since;
`baseline_differs` counts the orders where it did not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.domain.locations import Location
from shared.domain.money import ZERO, quantum
from shared.domain.orders import Order, RoutingRecord
from shared.domain.routing import Candidate, Destination, Line, RoutingDecision, RoutingRequest, Stock, route
from shared.domain.routing_filters import promised_day
from shared.domain.routing_strategy import OrderFacts, RoutingStrategy, select_strategy
from shared.domain.shipping_profile import ShippingProfile

MAX_SAMPLE_REASONS = 20  # per decision: the sample is kept on the job item, which is bounded
# Locations whose stock a routing record keeps: the order item is rewritten (and copied into its indexes)
# on every change of the order, so its picture must not grow with the network.
MAX_PICTURE_LOCATIONS = 20
MAX_EXCLUDED_KEPT = 20  # the same bound for the locations a routing record says it left out, and why
CO2E_PLACES = Decimal("0.001")


# ------------------------------------------------------------------ one order's inputs


@dataclass(frozen=True)
class ReplayCase:
    """One order as its first routing saw it."""

    order_id: str
    decided_at: datetime
    request: RoutingRequest
    facts: OrderFacts
    stock: Stock
    orders_today: Mapping[str, int]
    baseline: RoutingStrategy  # the version that decided it
    recorded_locations: frozenset[str]
    picture_omitted: int = 0  # locations that could have taken it, left out of the recorded picture
    # Where it went and how much from each (location, sku, units); None for a record from before plans
    # were recorded: then only the locations are compared.
    recorded_plan: frozenset[tuple[str, str, int]] | None = None

    @property
    def day(self) -> date:
        return self.decided_at.astimezone(UTC).date()


@dataclass(frozen=True)
class Picture:
    """What a routing record keeps of what the router saw (RoutingRecord's `stock_seen`, `orders_today`,
    `picture_omitted`)."""

    stock_seen: dict[str, dict[str, int]]
    orders_today: dict[str, int]
    omitted: int
    assigned: dict[str, dict[str, int]]  # the plan: units by location and SKU


def picture_of(decision: RoutingDecision, stock: Stock, orders_today: Mapping[str, int],
               capacity_limited: Iterable[str]) -> Picture:
    """Only what a replay needs, bounded: the locations that could take the order (the others are
    ineligible in a replay too, whatever their stock), the chosen ones first, then the deciding strategy's
    next best, at most MAX_PICTURE_LOCATIONS (more only when the plan itself uses more); their available
    units of the order's SKUs where some were, and the day's orders of the capacity-limited ones."""
    chosen = list(decision.locations)
    ranked = chosen + [loc for loc in decision.eligible if loc not in set(chosen)]
    kept = ranked[:max(MAX_PICTURE_LOCATIONS, len(chosen))]
    keep = set(kept)
    seen: dict[str, dict[str, int]] = {}
    for (sku, loc), available in sorted(stock.items()):
        if available > 0 and loc in keep:
            seen.setdefault(sku, {})[loc] = available
    limited = set(capacity_limited)
    assigned: dict[str, dict[str, int]] = {}
    for a in decision.assignments:
        by_sku = assigned.setdefault(a.location_id, {})
        by_sku[a.sku] = by_sku.get(a.sku, 0) + a.quantity
    return Picture(seen, {loc: orders_today.get(loc, 0) for loc in sorted(kept) if loc in limited},
                   len(ranked) - len(kept), assigned)


def bounded_excluded(excluded: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """The locations left out, and why, as a routing record keeps them: at most MAX_EXCLUDED_KEPT, one of
    each distinct reason first (so every reason shows), then by location id; and how many were dropped.
    A network of hundreds of locations would otherwise put a reason per location on the order item
    (6 KB at 300 locations), rewritten on every change of the order."""
    if len(excluded) <= MAX_EXCLUDED_KEPT:
        return dict(excluded), 0
    ordered = sorted(excluded.items())
    kept: dict[str, str] = {}
    reasons_shown: set[str] = set()
    for loc, why in ordered:
        if why not in reasons_shown and len(kept) < MAX_EXCLUDED_KEPT:
            kept[loc] = why
            reasons_shown.add(why)
    for loc, why in ordered:
        if len(kept) >= MAX_EXCLUDED_KEPT:
            break
        kept.setdefault(loc, why)
    return dict(sorted(kept.items())), len(excluded) - len(kept)


def replayable(record: RoutingRecord) -> bool:
    """Whether the record carries the picture its order was routed against: allocation says so
    (`picture_recorded`, even of no stock at all). Records written before that flag show it by a picture,
    an estimate or a strategy's version (strategies came with the picture). Orders routed before the
    picture was recorded (strategy "default" version 0, no `stock_seen`, no estimate) are not replayable:
    there is nothing honest to replay them against."""
    return (record.picture_recorded or bool(record.stock_seen) or record.estimate is not None
            or record.strategy_version > 0)


def lines_as_first_routed(order: Order, at: datetime) -> tuple[Line, ...]:
    """The request's lines less what line cancellations before `at` took off them."""
    cancelled: dict[str, int] = {}
    for c in order.cancellations:
        if c.at <= at:
            for gone in c.lines:
                cancelled[gone.sku] = cancelled.get(gone.sku, 0) + gone.quantity
    lines = []
    for ln in order.request.lines:
        taken = min(ln.quantity, cancelled.get(ln.sku, 0))
        cancelled[ln.sku] = cancelled.get(ln.sku, 0) - taken
        if ln.quantity > taken:
            lines.append(Line(ln.sku, ln.quantity - taken))
    return tuple(lines)


def facts_of(order: Order) -> OrderFacts:
    """What strategy conditions are matched against, from the order."""
    return OrderFacts.of(order)


def case_of(order: Order, record: RoutingRecord, baseline: RoutingStrategy, allow_split: bool,
            allow_partial: bool) -> ReplayCase:
    """The replay inputs of `order` from its first routing record (`allow_*`: the channel's policy now)."""
    req = order.request
    address = req.shipping_address
    request = RoutingRequest(
        lines=lines_as_first_routed(order, record.decided_at),
        destination=Destination(address.country, address.lat, address.lon),
        pickup_location_id=req.fulfillment.location_id if req.fulfillment.type == "pickup" else None,
        allow_split=allow_split, allow_partial=allow_partial, promised_by=req.promised_by)
    stock = {(sku, loc): n for sku, by_loc in record.stock_seen.items() for loc, n in by_loc.items()}
    plan = None
    if record.picture_recorded:
        plan = frozenset((loc, sku, n) for loc, by_sku in record.assigned.items() for sku, n in by_sku.items())
    return ReplayCase(order.order_id, record.decided_at, request, facts_of(order), stock, dict(record.orders_today),
                      baseline, frozenset(record.locations), record.picture_omitted, plan)


class Candidates:
    """The current active locations as routing candidates, with the capacity each order saw. Built once
    per location and count seen (counts move by one an order, so they repeat across a day's orders)."""

    def __init__(self, locations: Iterable[Location]):
        self.locations = sorted((loc for loc in locations if loc.active), key=lambda loc: loc.location_id)
        self._free = tuple(loc.candidate(0) for loc in self.locations)
        self._limited = {i for i, loc in enumerate(self.locations) if loc.daily_order_capacity is not None}
        self._seen: dict[tuple[int, int], Candidate] = {}

    def seen_with(self, orders_today: Mapping[str, int]) -> tuple[Candidate, ...]:
        if not self._limited or not orders_today:
            return self._free
        found = list(self._free)
        for i in self._limited:
            taken = orders_today.get(self.locations[i].location_id, 0)
            if taken:
                hit = self._seen.get((i, taken))
                if hit is None:
                    hit = self.locations[i].candidate(taken)
                    if len(self._seen) < 100_000:
                        self._seen[(i, taken)] = hit
                found[i] = hit
        return tuple(found)


# ------------------------------------------------------------------ replaying one order

Router = Callable[[RoutingRequest, Sequence[Candidate], Stock, RoutingStrategy, ShippingProfile, datetime],
                  RoutingDecision]


def _engine(request: RoutingRequest, candidates: Sequence[Candidate], stock: Stock, strategy: RoutingStrategy,
            profile: ShippingProfile, now: datetime) -> RoutingDecision:
    return route(request, candidates, stock, strategy=strategy, profile=profile, now=now)


@dataclass(frozen=True)
class Replayed:
    case: ReplayCase
    baseline: RoutingDecision
    candidate: RoutingDecision

    @property
    def changed(self) -> bool:
        """The plan differs: other locations, other quantities, or another outcome (fill, hold)."""
        return _plan(self.baseline) != _plan(self.candidate)

    @property
    def locations_changed(self) -> bool:
        return set(self.baseline.locations) != set(self.candidate.locations)

    @property
    def baseline_differs(self) -> bool:
        """The baseline replay does not land on the plan the order really got (a location changed since):
        other locations, or other units from them."""
        if self.case.recorded_plan is not None:
            return _units(self.baseline) != self.case.recorded_plan
        return set(self.baseline.locations) != self.case.recorded_locations


def _units(d: RoutingDecision) -> frozenset[tuple[str, str, int]]:
    units: dict[tuple[str, str], int] = {}
    for a in d.assignments:
        units[(a.location_id, a.sku)] = units.get((a.location_id, a.sku), 0) + a.quantity
    return frozenset((loc, sku, n) for (loc, sku), n in units.items())


def _plan(d: RoutingDecision) -> tuple:
    return (tuple(sorted((a.location_id, a.sku, a.quantity) for a in d.assignments)),
            tuple(sorted((u.sku, u.quantity) for u in d.unfilled)), d.hold)


def same_rules(a: RoutingStrategy, b: RoutingStrategy) -> bool:
    """Whether two strategies route any order they both apply to the same way (conditions and rank only
    select; criteria, split and shortfall decide)."""
    return (a.criteria, a.allow_split, a.when_short) == (b.criteria, b.allow_split, b.when_short)


def replay(case: ReplayCase, candidates: Sequence[Candidate], candidate_set: list[RoutingStrategy],
           profile: ShippingProfile, router: Router = _engine) -> Replayed:
    """Route the order through the version that decided it and through the candidate set."""
    baseline = router(case.request, candidates, case.stock, case.baseline, profile, case.decided_at)
    chosen = select_strategy(candidate_set, case.facts, case.decided_at)
    if same_rules(chosen, case.baseline):
        # Routing is deterministic: the same rules on the same inputs give the same plan.
        candidate = replace(baseline, strategy_id=chosen.strategy_id, strategy_version=chosen.version)
    else:
        candidate = router(case.request, candidates, case.stock, chosen, profile, case.decided_at)
    return Replayed(case, baseline, candidate)


# ------------------------------------------------------------------ adding up


@dataclass
class SideTally:
    """One side's figures so far (plain numbers: they are kept on the job item between chunks)."""

    orders: int = 0
    planned: int = 0  # orders with something reserved by the plan
    parcels: int = 0
    split: int = 0
    distance_km: float = 0.0
    distance_unknown: int = 0
    cost: Decimal = ZERO
    cost_unknown: int = 0
    co2e_kg: Decimal = ZERO
    co2e_unknown: int = 0
    promised: int = 0
    meets_promise: int = 0
    promise_unknown: int = 0
    backordered: int = 0  # nothing planned, the whole order waits
    partial: int = 0  # planned in part, the rest waits
    held: int = 0  # the strategy holds what it cannot fill for an operator
    load: dict[str, dict[str, int]] = field(default_factory=dict)  # location -> UTC day -> orders

    def add(self, d: RoutingDecision, day: date, promised_by: datetime | None, currency: str) -> None:
        self.orders += 1
        locations = d.locations
        if d.hold:
            self.held += 1
        elif not d.assignments:
            self.backordered += 1
        elif d.unfilled:
            self.partial += 1
        if promised_by is not None:
            self.promised += 1
        if not d.assignments or d.hold:
            return
        self.planned += 1
        est = d.estimate
        self.parcels += est.parcels if est is not None else len(locations)
        self.split += len(locations) > 1
        if est is not None and est.distance_km is not None:
            self.distance_km += est.distance_km
        else:
            self.distance_unknown += 1
        if est is not None and est.cost is not None and (est.currency or currency) == currency:
            self.cost += est.cost
        else:
            self.cost_unknown += 1
        if est is not None and est.co2e_kg is not None:
            self.co2e_kg += est.co2e_kg
        else:
            self.co2e_unknown += 1
        if promised_by is not None:
            if est is None or est.delivery_by is None:
                self.promise_unknown += 1
            elif not d.unfilled and est.delivery_by <= promised_day(promised_by):
                self.meets_promise += 1
        key = day.isoformat()
        for loc in locations:
            by_day = self.load.setdefault(loc, {})
            by_day[key] = by_day.get(key, 0) + 1

    def to_state(self) -> dict[str, Any]:
        state = {k: v for k, v in vars(self).items() if k not in ("cost", "co2e_kg")}
        return state | {"cost": str(self.cost), "co2e_kg": str(self.co2e_kg)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> SideTally:
        return cls(**{**state, "cost": Decimal(state["cost"]), "co2e_kg": Decimal(state["co2e_kg"])})

    def figures(self, currency: str) -> dict[str, Any]:
        """The side's figures as answered: totals, averages per planned order, shares."""
        n = self.planned
        known_distance = n - self.distance_unknown
        known_cost = n - self.cost_unknown
        known_co2e = n - self.co2e_unknown
        q = quantum(currency)
        return {
            "orders": self.orders,
            "planned": n,
            "parcels": self.parcels,
            "parcels_per_order": _ratio(self.parcels, n),
            "split_orders": self.split,
            "split_rate": _ratio(self.split, n),
            "distance_km": {"total": round(self.distance_km, 1),
                            "average": round(self.distance_km / known_distance, 1) if known_distance else None,
                            "unknown": self.distance_unknown},
            "cost": {"currency": currency, "total": str(self.cost.quantize(q, ROUND_HALF_UP)),
                     "average": str((self.cost / known_cost).quantize(q, ROUND_HALF_UP)) if known_cost else None,
                     "unknown": self.cost_unknown},
            "co2e_kg": {"total": str(self.co2e_kg.quantize(CO2E_PLACES, ROUND_HALF_UP)),
                        "average": str((self.co2e_kg / known_co2e).quantize(CO2E_PLACES, ROUND_HALF_UP))
                        if known_co2e else None,
                        "unknown": self.co2e_unknown},
            "promised_by": {"orders": self.promised, "can_meet": self.meets_promise,
                            "share": _ratio(self.meets_promise, self.promised), "unknown": self.promise_unknown},
            "backordered": self.backordered,
            "partially_filled": self.partial,
            "held": self.held,
            "load": {loc: dict(sorted(days.items())) for loc, days in sorted(self.load.items())},
        }


def _ratio(part: int | float, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class ReplayTally:
    """Both sides and what changed, over the orders replayed so far; resumable between chunks."""

    currency: str
    sample_size: int = 10
    read: int = 0  # orders of the period looked at
    replayed: int = 0
    changed: int = 0
    locations_changed: int = 0
    baseline_differs: int = 0
    not_routed: int = 0  # never routed (held, cancelled or rejected first)
    no_picture: int = 0  # routed before the picture was recorded
    strategy_missing: int = 0  # decided by a strategy version no longer stored
    capped_picture: int = 0  # replayed against a picture that left some eligible locations out (the cap)
    baseline: SideTally = field(default_factory=SideTally)
    candidate: SideTally = field(default_factory=SideTally)
    sample: list[dict[str, Any]] = field(default_factory=list)

    def add(self, r: Replayed) -> None:
        self.replayed += 1
        promised = r.case.request.promised_by
        self.baseline.add(r.baseline, r.case.day, promised, self.currency)
        self.candidate.add(r.candidate, r.case.day, promised, self.currency)
        self.baseline_differs += r.baseline_differs
        self.capped_picture += r.case.picture_omitted > 0
        if r.changed:
            self.changed += 1
            self.locations_changed += r.locations_changed
            if len(self.sample) < self.sample_size:
                self.sample.append({"order_id": r.case.order_id, "routed_at": r.case.decided_at.isoformat(),
                                    "baseline": decision_view(r.baseline), "candidate": decision_view(r.candidate)})

    def to_state(self) -> dict[str, Any]:
        plain = {k: v for k, v in vars(self).items() if k not in ("baseline", "candidate")}
        return plain | {"baseline": self.baseline.to_state(), "candidate": self.candidate.to_state()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ReplayTally:
        return cls(**{**state, "baseline": SideTally.from_state(state["baseline"]),
                      "candidate": SideTally.from_state(state["candidate"])})

    def result(self) -> dict[str, Any]:
        """The side-by-side answer."""
        return {
            "orders": {"read": self.read, "replayed": self.replayed, "changed": self.changed,
                       "locations_changed": self.locations_changed, "baseline_differs_from_record":
                           self.baseline_differs, "replayed_on_a_capped_picture": self.capped_picture,
                       "not_replayable": {"never_routed": self.not_routed,
                                          "routed_before_the_picture_was_recorded": self.no_picture,
                                          "strategy_version_missing": self.strategy_missing}},
            "baseline": self.baseline.figures(self.currency),
            "candidate": self.candidate.figures(self.currency),
            "sample": list(self.sample),
        }


def decision_view(d: RoutingDecision) -> dict[str, Any]:
    """A decision as the sample shows it (bounded: at most MAX_SAMPLE_REASONS reasons)."""
    est = d.estimate
    return {
        "strategy_id": d.strategy_id, "strategy_version": d.strategy_version, "locations": list(d.locations),
        "assignments": [{"location_id": a.location_id, "sku": a.sku, "quantity": a.quantity} for a in d.assignments],
        "unfilled": [{"sku": u.sku, "quantity": u.quantity} for u in d.unfilled],
        "hold": d.hold,
        "reasons": [r[:300] for r in d.reasons[:MAX_SAMPLE_REASONS]],
        "estimate": None if est is None else {
            "parcels": est.parcels, "distance_km": None if est.distance_km is None else round(est.distance_km, 1),
            "cost": None if est.cost is None else str(est.cost), "currency": est.currency,
            "co2e_kg": None if est.co2e_kg is None else str(est.co2e_kg),
            "delivery_by": None if est.delivery_by is None else est.delivery_by.isoformat()},
    }

