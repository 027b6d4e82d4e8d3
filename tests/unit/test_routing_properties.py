"""Properties of routing under any strategy (hypothesis): random locations, stock, orders and
strategies built from every criterion. The plan never takes more than is available, uses only
locations that ship there and pass the strategy's filters, splits only when both the strategy and the
channel allow it, honours promised_by when the strategy says so, reserves nothing on hold, and is
deterministic. The plan search is checked against brute force on small cases."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.geo import haversine_km
from shared.domain.routing import Candidate, Destination, Line, RoutingRequest, route
from shared.domain.routing_estimates import estimator_for
from shared.domain.routing_plans import Keyer, Site, fill, search
from shared.domain.routing_strategy import (
    AllowLocations,
    DenyLocations,
    LocationTypes,
    MaxDistance,
    MeetsPromise,
    RankBy,
    Ranking,
    RoutingStrategy,
    Shortfall,
)
from shared.domain.shipping_profile import Rate, ShippingProfile, SkuWeight, Zone

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SKUS = ["A", "B", "C"]
LOCS = ["L1", "L2", "L3", "L4", "L5"]
COUNTRIES = ["DE", "FR", "US"]
EU = ["DE", "FR"]
TYPES = ["warehouse", "store", "3pl"]
PROFILE = ShippingProfile(
    zones=[Zone(name="eu", countries=EU)],
    # No rate for rest_of_world, and none above 3 kg in the eu: unknown rates take part too.
    rates=[Rate(zone="domestic", max_weight_kg=Decimal("1"), price=Decimal("4")),
           Rate(zone="domestic", max_weight_kg=Decimal("20"), price=Decimal("7")),
           Rate(zone="eu", max_weight_kg=Decimal("3"), price=Decimal("9"))],
    unit_weights=[SkuWeight(sku_pattern="A", kg=Decimal("0.3"))],
)

coordinates = st.one_of(st.none(), st.tuples(st.floats(35, 60), st.floats(-10, 25)))
candidates = st.lists(
    st.builds(
        lambda country, ships, where, prio, cost, cap, kind, daily, today, cutoff, transit, mode: dict(
            country=country, ships_to=frozenset(ships), lat=where and where[0], lon=where and where[1], priority=prio,
            handling_cost=Decimal(cost), capacity_left=cap, location_type=kind, daily_capacity=daily,
            orders_today=today, cutoff_utc=cutoff, transit_days=transit, transport_mode=mode),
        st.sampled_from(COUNTRIES),
        st.one_of(st.sets(st.sampled_from(COUNTRIES)).map(lambda s: s | {"DE"}), st.sets(st.sampled_from(COUNTRIES))),
        coordinates, st.integers(1, 3), st.sampled_from(["0", "1.50", "4"]),
        st.one_of(st.none(), st.none(), st.integers(0, 2)),
        st.sampled_from(TYPES), st.one_of(st.none(), st.integers(1, 10)), st.integers(0, 9),
        st.one_of(st.none(), st.sampled_from([time(8), time(9), time(17)])),
        st.dictionaries(st.sampled_from(["domestic", "eu", "rest_of_world"]), st.integers(0, 4)),
        st.sampled_from(["van", "truck", "rail", "air", "sea", "drone"]),
    ),
    min_size=2, max_size=len(LOCS),
).map(lambda specs: [Candidate(LOCS[i], **spec) for i, spec in enumerate(specs)])
stocks = st.lists(st.sampled_from([3, 1, 5, 0, 2, 8, -1]), min_size=len(SKUS) * len(LOCS),
                  max_size=len(SKUS) * len(LOCS)).map(
    lambda levels: dict(zip([(sku, loc) for sku in SKUS for loc in LOCS], levels, strict=True)))
requests = st.builds(
    lambda lines, country, where, split, partial, hours: RoutingRequest(
        tuple(Line(s, q) for s, q in lines), Destination(country, *(where or (None, None))), None, split, partial,
        None if hours is None else NOW + timedelta(hours=hours)),
    st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 6)), min_size=1, max_size=4),
    st.sampled_from(["DE", "DE", "FR", "US"]), coordinates, st.booleans(), st.booleans(),
    st.one_of(st.none(), st.integers(0, 150)),
)
filters = st.lists(st.one_of(
    st.builds(lambda kinds: LocationTypes(allowed=sorted(kinds)), st.sets(st.sampled_from(TYPES), min_size=1)),
    st.builds(lambda ids: AllowLocations(location_ids=sorted(ids)), st.sets(st.sampled_from(LOCS), min_size=1)),
    st.builds(lambda ids: DenyLocations(location_ids=sorted(ids)), st.sets(st.sampled_from(LOCS), min_size=1)),
    st.builds(lambda km: MaxDistance(km=km), st.integers(1, 2500)),
    st.just(MeetsPromise()),
), max_size=2)
rankings = st.permutations(list(Ranking)).flatmap(lambda order: st.integers(1, len(order)).map(lambda n: order[:n]))
strategies = st.builds(
    lambda fs, rs, seed, split, short: RoutingStrategy(
        strategy_id="prop", version=7, name="prop", criteria=_shuffled([*fs, *(RankBy(by=r) for r in rs)], seed),
        allow_split=split, when_short=short, updated_at=NOW, updated_by="test"),
    filters, rankings, st.integers(0, 1000), st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.sampled_from(list(Shortfall))),
)


def _shuffled(criteria: list, seed: int) -> list:
    random.Random(seed).shuffle(criteria)
    return criteria


def delivery(c: Candidate, dest: str, now: datetime):
    """Worked out independently of the engine: ship day by the cut-off, plus transit days to the zone."""
    zone = "domestic" if dest == c.country else "eu" if dest in EU else "rest_of_world"
    if zone not in c.transit_days:
        return None
    leaves = now.date() if c.cutoff_utc is None or now.time() < c.cutoff_utc else now.date() + timedelta(days=1)
    return leaves + timedelta(days=c.transit_days[zone])


def passes_filters(c: Candidate, strategy: RoutingStrategy, req: RoutingRequest) -> bool:
    for f in strategy.filters:
        if isinstance(f, LocationTypes) and c.location_type not in f.allowed:
            return False
        if isinstance(f, AllowLocations) and c.location_id not in f.location_ids:
            return False
        if isinstance(f, DenyLocations) and c.location_id in f.location_ids:
            return False
        if isinstance(f, MaxDistance) and None not in (c.lat, c.lon, req.destination.lat, req.destination.lon):
            if haversine_km(c.lat, c.lon, req.destination.lat, req.destination.lon) > f.km:  # type: ignore[arg-type]
                return False
        if isinstance(f, MeetsPromise) and req.promised_by is not None:
            when = delivery(c, req.destination.country, NOW)
            if when is None or when > req.promised_by.date():
                return False
    return True


@settings(max_examples=300, deadline=None)
@given(requests, stocks, candidates, strategies)
def test_properties_of_every_plan_under_any_strategy(req, stock, cands, strategy):
    check(req, stock, cands, strategy)


@settings(max_examples=150, deadline=None)
@given(requests.filter(lambda r: r.promised_by is not None), stocks, candidates,
       strategies.map(lambda s: s.model_copy(update={"criteria": [MeetsPromise(), *s.criteria]})))
def test_a_promise_is_kept_when_the_strategy_says_so(req, stock, cands, strategy):
    decision = check(req, stock, cands, strategy)
    for place in decision.locations:
        when = delivery(next(c for c in cands if c.location_id == place), req.destination.country, NOW)
        assert when is not None and req.promised_by is not None and when <= req.promised_by.date()


def check(req: RoutingRequest, stock, cands: list[Candidate], strategy: RoutingStrategy):
    decision = route(req, cands, stock, strategy, PROFILE, NOW)

    ordered = Counter()
    for line in req.lines:
        ordered[line.sku] += line.quantity
    assigned, per_place = Counter(), Counter()
    for a in decision.assignments:
        assert a.quantity > 0
        assigned[a.sku] += a.quantity
        per_place[(a.sku, a.location_id)] += a.quantity
    assert assigned + Counter({u.sku: u.quantity for u in decision.unfilled}) == ordered
    assert (decision.strategy_id, decision.strategy_version) == ("prop", 7)

    by_id = {c.location_id: c for c in cands}
    for (sku, place), q in per_place.items():
        assert q <= max(0, stock.get((sku, place), 0)), "never more than available"
        c = by_id[place]
        assert req.destination.country in c.ships_to and (c.capacity_left is None or c.capacity_left > 0)
        assert passes_filters(c, strategy, req), "only locations the strategy's filters keep"
        assert place not in decision.excluded

    split = req.allow_split and strategy.allow_split is not False
    if not split:
        assert len(decision.locations) <= 1, "splits only when the strategy and the channel allow it"
    short = strategy.when_short or (Shortfall.PARTIAL if req.allow_partial else Shortfall.BACKORDER)
    if not (short == Shortfall.PARTIAL and req.allow_partial):
        assert not decision.assignments or decision.complete, "all or nothing unless partial is allowed"
    if decision.hold:
        assert short == Shortfall.HOLD and not decision.assignments and not decision.complete
    elif short == Shortfall.HOLD:
        assert decision.complete
    if decision.assignments:
        assert decision.estimate is not None and decision.estimate.parcels == len(decision.locations)
    else:
        assert decision.estimate is None

    # Deterministic: the same inputs, in any order, give the same decision.
    shuffled = list(cands)
    random.Random(len(cands)).shuffle(shuffled)
    assert route(req, shuffled, dict(reversed(list(stock.items()))), strategy, PROFILE, NOW) == decision
    return decision


# ---------------------------------------------------------------- the search against brute force

sites = st.lists(
    st.tuples(st.one_of(st.none(), st.floats(0, 3000)), st.sampled_from(["domestic", "eu", "rest_of_world"]),
              st.one_of(st.none(), st.integers(0, 5)), st.sampled_from([0.0, 0.25, 0.5]), st.integers(1, 3),
              st.sampled_from(["0", "2"]), st.sampled_from(["van", "rail", "drone"]),
              st.tuples(st.integers(0, 4), st.integers(0, 4))),
    min_size=1, max_size=6,
)


def build_sites(specs) -> list[Site]:
    built = []
    for i, (km, zone, days, share, prio, cost, mode, available) in enumerate(specs):
        c = Candidate(f"S{i}", "DE", frozenset({"DE"}), priority=prio, handling_cost=Decimal(cost),
                      transport_mode=mode)
        when = None if days is None else NOW.date() + timedelta(days=days)
        built.append(Site(c, km, zone, when, share, available))
    return built


@settings(max_examples=300, deadline=None)
@given(sites, st.tuples(st.integers(0, 5), st.integers(0, 5)).filter(any), rankings, st.booleans())
def test_the_search_finds_the_best_plan_and_the_runner_up(specs, need, order, split):
    keyer = Keyer(order, estimator_for(PROFILE), [300_000, 500_000])
    ranked = keyer.rank(build_sites(specs), need)

    plans = []  # every plan: a set of locations, each contributing, filled in rank order
    for k in range(1, (len(ranked) if split else 1) + 1):
        for subset in combinations(ranked, k):
            plan, left = fill(subset, need, keyer)
            if not any(left) and len(plan) == k:
                plans.append(keyer.key(plan))
    plans.sort()

    result = search(ranked, need, keyer, split)
    if not plans:
        assert result.best is None
        return
    assert result.best is not None and keyer.key(result.best) == plans[0]
    if order[0] != Ranking.FEWEST_PARCELS:
        assert (keyer.key(result.runner_up) if result.runner_up else None) == (plans[1] if len(plans) > 1 else None)
    elif result.runner_up is not None:
        same_size = [p for p in plans if p[0] == plans[0][0]]
        assert keyer.key(result.runner_up) == same_size[1]
