"""Routing is a pure function: examples for each rule, then properties over random stock."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.routing import Candidate, Destination, Line, RoutingRequest, plan_route

BERLIN = Destination("DE", 52.52, 13.40)


def loc(location_id: str, *, ships_to=("DE",), lat=52.5, lon=13.4, priority=100, cost="0", pickup=False,
        capacity=None, country="DE") -> Candidate:
    return Candidate(location_id, country, frozenset(ships_to), lat, lon, priority, Decimal(cost), pickup, capacity)


def request(*lines: tuple[str, int], dest=BERLIN, split=True, partial=False, pickup=None) -> RoutingRequest:
    return RoutingRequest(tuple(Line(s, q) for s, q in lines), dest, pickup, split, partial)


def test_one_location_that_fills_everything_beats_a_nearer_split():
    near_a = loc("NEAR-A", lat=52.52, lon=13.40)
    near_b = loc("NEAR-B", lat=52.53, lon=13.41)
    far = loc("FAR", lat=48.1, lon=11.6)  # Munich
    stock = {("A", "NEAR-A"): 5, ("B", "NEAR-B"): 5, ("A", "FAR"): 5, ("B", "FAR"): 5}

    decision = plan_route(request(("A", 1), ("B", 1)), [near_a, near_b, far], stock)

    assert decision.locations == ("FAR",)
    assert decision.complete
    assert "one shipment" in decision.reasons[0]


def test_nearest_then_priority_then_handling_cost_break_ties():
    stock = {("A", x): 5 for x in ("MUNICH", "POTSDAM", "BERLIN-1", "BERLIN-2", "BERLIN-3")}
    munich = loc("MUNICH", lat=48.1, lon=11.6)
    potsdam = loc("POTSDAM", lat=52.39, lon=13.06)
    assert plan_route(request(("A", 1)), [munich, potsdam], stock).locations == ("POTSDAM",)

    same_place = [loc("BERLIN-1", priority=2), loc("BERLIN-2", priority=1, cost="9"), loc("BERLIN-3", priority=1, cost="1")]
    assert plan_route(request(("A", 1)), same_place, stock).locations == ("BERLIN-3",)


def test_location_must_ship_to_the_country_and_have_capacity_today():
    stock = {("A", "FR-ONLY"): 5, ("A", "FULL"): 5, ("A", "OK"): 5}
    candidates = [loc("FR-ONLY", ships_to=("FR",)), loc("FULL", capacity=0), loc("OK", lat=40.0, lon=-3.7)]

    decision = plan_route(request(("A", 1)), candidates, stock)

    assert decision.locations == ("OK",)
    assert decision.excluded == {"FR-ONLY": "does not ship to DE", "FULL": "no order capacity left today"}


def test_split_only_when_no_single_location_can_fill_and_split_allowed():
    stock = {("A", "X"): 2, ("A", "Y"): 2}
    candidates = [loc("X"), loc("Y", lat=53.5, lon=10.0)]

    split = plan_route(request(("A", 3)), candidates, stock)
    assert split.complete and set(split.locations) == {"X", "Y"}
    assert sum(a.quantity for a in split.assignments) == 3

    no_split = plan_route(request(("A", 3), split=False), candidates, stock)
    assert not no_split.assignments and no_split.unfilled == (Line("A", 3),)


def test_split_uses_the_fewest_locations():
    stock = {("A", "SMALL-1"): 1, ("A", "SMALL-2"): 1, ("A", "SMALL-3"): 1, ("A", "BIG"): 2}
    candidates = [loc("SMALL-1"), loc("SMALL-2"), loc("SMALL-3"), loc("BIG", lat=40.0, lon=-3.7)]

    decision = plan_route(request(("A", 3)), candidates, stock)

    assert len(decision.locations) == 2 and "BIG" in decision.locations


def test_whole_order_waits_unless_partial_allowed():
    stock = {("A", "X"): 5, ("B", "X"): 1}
    whole = plan_route(request(("A", 2), ("B", 3)), [loc("X")], stock)
    assert not whole.assignments and set(whole.unfilled) == {Line("A", 2), Line("B", 3)}

    partial = plan_route(request(("A", 2), ("B", 3), partial=True), [loc("X")], stock)
    assert Counter({(a.sku, a.quantity) for a in partial.assignments}) == Counter({("A", 2), ("B", 1)})
    assert partial.unfilled == (Line("B", 2),)


def test_pickup_goes_to_the_chosen_store_only():
    stock = {("A", "STORE"): 1, ("A", "WH"): 9}
    candidates = [loc("STORE", pickup=True, ships_to=()), loc("WH")]

    decision = plan_route(request(("A", 1), pickup="STORE"), candidates, stock)

    assert decision.locations == ("STORE",)
    assert plan_route(request(("A", 2), pickup="STORE"), candidates, stock).unfilled == (Line("A", 2),)


def test_unknown_coordinates_fall_back_to_priority():
    stock = {("A", "P1"): 1, ("A", "P2"): 1}
    candidates = [loc("P2", priority=2), loc("P1", priority=1, lat=None, lon=None)]
    decision = plan_route(request(("A", 1), dest=Destination("DE")), candidates, stock)
    assert decision.locations == ("P1",)
    assert "distance unknown" in decision.reasons[0]


def test_two_lines_of_one_sku_draw_on_the_same_stock():
    decision = plan_route(request(("A", 2), ("A", 2)), [loc("X")], {("A", "X"): 3})
    assert not decision.assignments and decision.unfilled == (Line("A", 4),)


# ---------------------------------------------------------------- properties

SKUS = ["A", "B", "C"]
LOCS = ["L1", "L2", "L3", "L4"]

orders = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 6)), min_size=1, max_size=4)
stocks = st.dictionaries(st.tuples(st.sampled_from(SKUS), st.sampled_from(LOCS)), st.integers(-2, 8))
candidate_sets = st.lists(
    st.builds(
        lambda i, lat, lon, prio, cap, ships: loc(LOCS[i], lat=lat, lon=lon, priority=prio, capacity=cap,
                                                  ships_to=("DE",) if ships else ("FR",)),
        st.integers(0, 3), st.floats(35, 60), st.floats(-10, 25), st.integers(1, 3),
        st.one_of(st.none(), st.integers(0, 2)), st.booleans(),
    ),
    max_size=4, unique_by=lambda c: c.location_id,
)


@settings(max_examples=300, deadline=None)
@given(orders, stocks, candidate_sets, st.booleans(), st.booleans())
def test_properties_of_every_plan(lines, stock, candidates, split, partial):
    req = request(*lines, split=split, partial=partial)
    decision = plan_route(req, candidates, stock)

    ordered = Counter()
    for sku, q in lines:
        ordered[sku] += q
    assigned = Counter()
    per_place = Counter()
    for a in decision.assignments:
        assert a.quantity > 0
        assigned[a.sku] += a.quantity
        per_place[(a.sku, a.location_id)] += a.quantity
    unfilled = Counter({u.sku: u.quantity for u in decision.unfilled})

    # Never more than available, and only from eligible locations.
    eligible = {c.location_id for c in candidates if "DE" in c.ships_to and (c.capacity_left is None or c.capacity_left > 0)}
    for (sku, place), q in per_place.items():
        assert q <= max(0, stock.get((sku, place), 0))
        assert place in eligible
    # Totals match the order.
    assert assigned + unfilled == ordered
    # All or nothing unless partial is allowed.
    if not partial:
        assert not decision.assignments or not decision.unfilled
    # Split only when allowed, and only when no single location could fill the order.
    if not split:
        assert len(decision.locations) <= 1
    single_fills = [p for p in eligible if all(stock.get((s, p), 0) >= q for s, q in ordered.items())]
    if single_fills:
        assert decision.complete and len(decision.locations) == 1
