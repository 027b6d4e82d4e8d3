"""Routing: which locations fill an order, and why. A pure function of plain data.

Rules, in order (docs/routing.md explains them to merchants):
1. A location is eligible when it ships to the destination country (or is the chosen pickup store),
   has capacity left today, and holds some of what the order needs.
2. The strategy's filters remove more, in its order (location types, allow and deny lists, maximum
   distance, can meet `promised_by`); every location left out is recorded with its reason.
3. Plans: a single location that fills everything; when splitting is allowed (by the strategy, never
   beyond the channel's policy) a set of locations that together fill it, each line taken from them
   in their rank order. With fewest parcels as the first ranking, only the smallest covering sets.
4. The strategy's rankings compare whole plans, the first ranking first; then fewer parcels, then the
   better-ranked locations (so the decision is deterministic). The built-in default ranks by fewest
   parcels, nearest (haversine), priority, handling cost: one location that fills everything beats
   any split; among equals the nearest, then priority (1 first), then handling cost, then location id.
5. What cannot be filled: backorder (nothing reserved, the whole order waits), partial allocation
   (the fillable part is planned, the rest waits) or hold for an operator; by default the channel's
   policy says which (partial if it allows partial allocation, else backorder).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from shared.domain.geo import haversine_km
from shared.domain.routing_estimates import Clock, Estimator, estimator_for
from shared.domain.routing_filters import apply_filters
from shared.domain.routing_plans import (
    MAX_SUBSETS_EXAMINED,
    Keyer,
    Plan,
    Site,
    best_single,
    estimate,
    fill,
    greedy_cover,
    search,
)
from shared.domain.routing_reasons import ranking_reasons
from shared.domain.routing_strategy import DEFAULT_STRATEGY, RoutingStrategy, Shortfall
from shared.domain.routing_types import (
    Assignment,
    Candidate,
    Destination,
    Line,
    PlanEstimate,
    RoutingDecision,
    RoutingRequest,
    Stock,
    merge_lines,
)
from shared.domain.shipping_profile import DEFAULT_SHIPPING_PROFILE, ShippingProfile

__all__ = [
    "DEFAULT_PROFILE", "MAX_SUBSETS_EXAMINED", "Assignment", "Candidate", "Destination", "Line", "PlanEstimate",
    "RoutingDecision", "RoutingRequest", "Stock", "merge_lines", "plan_route", "route",
]

DEFAULT_PROFILE = DEFAULT_SHIPPING_PROFILE
"""No zones, rates or unit weights: cost is unknown, emissions use the default factors."""


def route(request: RoutingRequest, candidates: Iterable[Candidate], stock: Stock,
          strategy: RoutingStrategy = DEFAULT_STRATEGY, profile: ShippingProfile = DEFAULT_PROFILE,
          now: datetime | None = None) -> RoutingDecision:
    """Which locations fill the order under the strategy. `now` (UTC) dates the delivery estimates;
    without it nothing can be promised and delivery dates are unknown."""
    decision = _route(request, candidates, stock, strategy, profile, now)
    return replace(decision, strategy_id=strategy.strategy_id, strategy_version=strategy.version)


def plan_route(request: RoutingRequest, candidates: Iterable[Candidate], stock: Stock) -> RoutingDecision:
    """The built-in default strategy: the rules routing always had."""
    return route(request, candidates, stock)


def _route(request: RoutingRequest, candidates: Iterable[Candidate], stock: Stock, strategy: RoutingStrategy,
           profile: ShippingProfile, now: datetime | None) -> RoutingDecision:
    lines = merge_lines(request.lines)
    if not lines:
        return RoutingDecision((), (), ("nothing left to allocate",))
    estimator = estimator_for(profile)
    clock = None if now is None else Clock(now)
    excluded: dict[str, str] = {}
    sites: list[Site] = []
    for c in sorted(candidates, key=lambda c: c.location_id):
        why_not = _ineligible(c, request, lines, stock)
        if why_not:
            excluded[c.location_id] = why_not
        else:
            sites.append(_site(c, request, lines, stock, estimator, clock))
    before_filters = [s.location_id for s in sites]
    sites, reasons = apply_filters(strategy.filters, sites, request, now, excluded)
    keyer = Keyer(strategy.rankings, estimator, [estimator.unit_weight_mg(line.sku) for line in lines])
    need = tuple(line.quantity for line in lines)
    sites = keyer.rank(sites, need)
    kept = [s.location_id for s in sites]
    eligible = (*kept, *sorted(set(before_filters) - set(kept)))
    split = request.allow_split if strategy.allow_split is None else strategy.allow_split and request.allow_split

    result = search(sites, need, keyer, split)
    if result.best is not None:
        plan = result.best
        return RoutingDecision(_assignments(plan, lines), (), (*_headline(plan, sites, need), *reasons,
                                                                *ranking_reasons(result, keyer)),
                               excluded, estimate=estimate(plan, keyer), eligible=eligible)
    return replace(_short(request, strategy, lines, sites, keyer, split, reasons, excluded), eligible=eligible)


def _short(request: RoutingRequest, strategy: RoutingStrategy, lines: tuple[Line, ...], sites: list[Site],
           keyer: Keyer, split: bool, reasons: list[str], excluded: dict[str, str]) -> RoutingDecision:
    """No plan fills the order: backorder, partial allocation or hold, as the strategy (or channel) says."""
    when_short = strategy.when_short or (Shortfall.PARTIAL if request.allow_partial else Shortfall.BACKORDER)
    notes: list[str] = []
    if when_short == Shortfall.PARTIAL and not request.allow_partial:
        notes.append("the strategy asks for partial allocation but the channel does not allow it: the whole "
                     "order waits instead")
        when_short = Shortfall.BACKORDER
    hold = when_short == Shortfall.HOLD
    if hold:
        notes.append("held for an operator: the strategy holds an order it cannot fill")
    if not sites:
        return RoutingDecision((), lines, ("no eligible location", *reasons, *notes), excluded, hold=hold)
    if when_short == Shortfall.PARTIAL:
        need = tuple(line.quantity for line in lines)
        pool = greedy_cover(sites, need) if split else [best_single(sites, need)]
        plan, left = fill(pool, need, keyer)
        unfilled = tuple(Line(line.sku, q) for line, q in zip(lines, left, strict=True) if q)
        head = ("not enough stock for the whole order; allocating what is available (partial allowed)",
                *(f"{p.site.location_id}: {_describe(p.site)}" for p in plan))
        return RoutingDecision(_assignments(plan, lines), unfilled, (*head, *reasons, *notes), excluded,
                               estimate=estimate(plan, keyer))
    if split:
        why = "not enough stock across eligible locations"
    else:
        whose = "channel" if not request.allow_split else "strategy"
        why = f"no single location can fill the order and the {whose} does not allow splitting"
    waits = "; the whole order waits for stock" if not hold else "; nothing is reserved"
    return RoutingDecision((), lines, (why + waits, *reasons, *notes), excluded, hold=hold)


def _headline(plan: Plan, sites: Sequence[Site], need: tuple[int, ...]) -> tuple[str, ...]:
    if len(plan) == 1:
        site = plan[0].site
        return (f"{site.location_id}: fills the whole order in one shipment; {_describe(site)}",)
    if any(all(a >= q for a, q in zip(s.available, need, strict=True)) for s in sites):
        first = f"split over {len(plan)} locations: the strategy's rankings prefer it to one shipment"
    else:
        first = f"no single location can fill the order; split over {len(plan)} locations"
    return (first, *(f"{p.site.location_id}: {_describe(p.site)}" for p in plan))


def _assignments(plan: Plan, lines: tuple[Line, ...]) -> tuple[Assignment, ...]:
    """Line by line, each from the plan's locations in their order."""
    return tuple(Assignment(p.site.location_id, line.sku, p.takes[j])
                 for j, line in enumerate(lines) for p in plan if p.takes[j])


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


def _site(c: Candidate, request: RoutingRequest, lines: tuple[Line, ...], stock: Stock, estimator: Estimator,
          clock: Clock | None) -> Site:
    dest = request.destination
    distance = None
    if c.lat is not None and c.lon is not None and dest.lat is not None and dest.lon is not None:
        distance = haversine_km(c.lat, c.lon, dest.lat, dest.lon)
    zone = estimator.zone(c.country, dest.country)
    if clock is None:
        delivery = None
    elif request.pickup_location_id is not None:  # collected at the store: ready the day it ships
        delivery = clock.ship_day(c.cutoff_utc)
    else:
        delivery = clock.delivery(c.cutoff_utc, c.transit_days.get(zone))
    share = (c.orders_today + 1) / c.daily_capacity if c.daily_capacity else 0.0
    available = tuple([max(0, stock.get((line.sku, c.location_id), 0)) for line in lines])
    return Site(c, distance, zone, delivery, share, available)


def _describe(site: Site) -> str:
    c, d = site.candidate, site.distance
    where = f"{d:.0f} km from the destination" if d is not None else "distance unknown"
    return f"{where}, priority {c.priority}, handling cost {c.handling_cost}"
