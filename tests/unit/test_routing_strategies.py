"""Routing strategies on the Lyon worked example of docs/routing.md: each criterion alone, the filters,
what happens to what cannot be filled, the estimates and the reasons. The numbers here are the ones
the document works out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from shared.domain.locations import Location, LocationType
from shared.domain.routing import Destination, Line, PlanEstimate, RoutingRequest, plan_route, route
from shared.domain.routing_strategy import (
    DEFAULT_STRATEGY,
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
from shared.domain.shipping_profile import Rate, ShippingProfile, SkuWeight, TransportMode, Zone

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # a Monday, 13:00 UTC
EU = ["AT", "BE", "CH", "DE", "DK", "ES", "FR", "IT", "LU", "NL", "PL", "PT", "SE"]
LYON = Destination("FR", 45.764, 4.8357)


def location(location_id: str, **fields) -> Location:
    return Location(location_id=location_id, updated_at=NOW, name=location_id, **fields)


LOCATIONS = [
    location("WH-DE-BER", type=LocationType.WAREHOUSE, country="DE", lat=52.52, lon=13.405, ships_to=EU,
             priority=1, handling_cost=Decimal("2.50"), daily_order_capacity=500, cutoff_utc="15:00",
             transit_days={"domestic": 1, "eu": 1}, transport_mode=TransportMode.RAIL),
    location("WH-ES-MAD", type=LocationType.THIRD_PARTY, country="ES", lat=40.4168, lon=-3.7038,
             ships_to=["ES", "PT", "FR"], priority=2, handling_cost=Decimal("3.10"), daily_order_capacity=1000,
             cutoff_utc="12:00", transit_days={"domestic": 1, "eu": 3}, transport_mode=TransportMode.TRUCK),
    location("STORE-FR-PAR", type=LocationType.STORE, country="FR", lat=48.8606, lon=2.3376, ships_to=["FR"],
             pickup_enabled=True, priority=5, handling_cost=Decimal("4.00"), daily_order_capacity=200,
             cutoff_utc="12:00", transit_days={"domestic": 1}),
    location("WH-US-NJ", type=LocationType.WAREHOUSE, country="US", lat=40.0583, lon=-74.4057, ships_to=["US", "CA"],
             priority=1, handling_cost=Decimal("2.00")),
]
ORDERS_TODAY = {"WH-DE-BER": 400, "WH-ES-MAD": 99, "STORE-FR-PAR": 150}
CANDIDATES = [loc.candidate(ORDERS_TODAY.get(loc.location_id, 0)) for loc in LOCATIONS]
STOCK = {
    ("TEE-BLK-M", "WH-DE-BER"): 6, ("TEE-BLK-M", "WH-ES-MAD"): 20, ("TEE-BLK-M", "STORE-FR-PAR"): 33,
    ("TEE-BLK-M", "WH-US-NJ"): 6, ("TEE-WHT-XL", "WH-DE-BER"): 15, ("TEE-WHT-XL", "WH-ES-MAD"): 29,
    ("TEE-WHT-XL", "STORE-FR-PAR"): 2, ("TEE-WHT-XL", "WH-US-NJ"): 15,
}
PROFILE = ShippingProfile(
    zones=[Zone(name="eu", countries=EU)],
    rates=[Rate(zone="domestic", max_weight_kg=Decimal("2"), price=Decimal("4.90")),
           Rate(zone="domestic", max_weight_kg=Decimal("10"), price=Decimal("6.90")),
           Rate(zone="eu", max_weight_kg=Decimal("2"), price=Decimal("8.90")),
           Rate(zone="eu", max_weight_kg=Decimal("10"), price=Decimal("12.90"))],
    unit_weights=[SkuWeight(sku_pattern="TEE-*", kg=Decimal("0.25"))],
)


def order(black: int, white: int, *, split: bool = True, partial: bool = False, promised_by=None,
          dest: Destination = LYON) -> RoutingRequest:
    return RoutingRequest((Line("TEE-BLK-M", black), Line("TEE-WHT-XL", white)), dest, None, split, partial,
                          promised_by)


SMALL = order(4, 2)  # 6 shirts, 1.5 kg: Berlin, Madrid and Paris can each ship it alone
BIG = order(25, 5)  # the document's order: no single location has both


def strategy(*criteria, **fields) -> RoutingStrategy:
    return RoutingStrategy(strategy_id="lyon", version=3, name="lyon", criteria=list(criteria), updated_at=NOW,
                           updated_by="test", **fields)


def rank(*rankings: Ranking) -> list[RankBy]:
    return [RankBy(by=r) for r in rankings]


def decide(request: RoutingRequest, *criteria, **fields):
    return route(request, CANDIDATES, STOCK, strategy(*criteria, **fields), PROFILE, NOW)


def placed(decision) -> list[tuple[str, str, int]]:
    return [(a.location_id, a.sku, a.quantity) for a in decision.assignments]


# ---------------------------------------------------------------- the default strategy


def test_the_default_strategy_is_the_documented_lyon_decision():
    decision = route(BIG, CANDIDATES, STOCK, DEFAULT_STRATEGY, PROFILE, NOW)

    assert placed(decision) == [("STORE-FR-PAR", "TEE-BLK-M", 25), ("STORE-FR-PAR", "TEE-WHT-XL", 2),
                                ("WH-ES-MAD", "TEE-WHT-XL", 3)]
    assert decision.excluded == {"WH-US-NJ": "does not ship to FR"}
    assert (decision.strategy_id, decision.strategy_version) == ("default", 0)
    assert decision.reasons == (
        "no single location can fill the order; split over 2 locations",
        "STORE-FR-PAR: 392 km from the destination, priority 5, handling cost 4.00",
        "WH-ES-MAD: 913 km from the destination, priority 2, handling cost 3.10",
        "fewest_parcels: 2 parcels, tied with STORE-FR-PAR + WH-DE-BER",
        "nearest: STORE-FR-PAR + WH-ES-MAD 1,305 km vs STORE-FR-PAR + WH-DE-BER 1,367 km",
        "priority: total 7 (not needed: decided by nearest)",
        "lowest_handling_cost: EUR 7.10 (not needed: decided by nearest)",
    )
    # Paris ships 27 shirts (6.75 kg, domestic band up to 10 kg: 6.90), Madrid 3 (0.75 kg, eu up to 2 kg: 8.90);
    # van 392.4 km x 0.00675 t x 0.63823 + truck 912.5 km x 0.00075 t x 0.10163.
    assert decision.estimate == PlanEstimate(parcels=2, distance_km=1304.9, cost=Decimal("22.90"), currency="EUR",
                                             co2e_kg=Decimal("1.760"), delivery_by=date(2026, 3, 6))
    assert plan_route(BIG, CANDIDATES, STOCK).assignments == decision.assignments


def test_without_a_profile_or_a_clock_estimates_what_they_can():
    estimate = plan_route(BIG, CANDIDATES, STOCK).estimate
    assert estimate is not None
    assert (estimate.parcels, estimate.distance_km, estimate.cost, estimate.delivery_by) == (2, 1304.9, None, None)
    # The default 0.5 kg a unit: 392.4 km x 0.0135 t x 0.63823 + 912.5 km x 0.0015 t x 0.10163.
    assert estimate.co2e_kg == Decimal("3.520")


# ---------------------------------------------------------------- each ranking alone

SMALL_ALONE = {
    Ranking.FEWEST_PARCELS: ("STORE-FR-PAR", "tie on every ranking: the locations' rank order decides "
                                             "(STORE-FR-PAR before WH-DE-BER)"),
    Ranking.NEAREST: ("STORE-FR-PAR", "nearest: STORE-FR-PAR 392 km vs WH-ES-MAD 913 km"),
    Ranking.LOWEST_COST: ("STORE-FR-PAR", "lowest_cost: STORE-FR-PAR EUR 8.90 vs WH-DE-BER EUR 11.40"),
    Ranking.LOWEST_HANDLING_COST: ("WH-DE-BER", "lowest_handling_cost: WH-DE-BER EUR 2.50 vs WH-ES-MAD EUR 3.10"),
    Ranking.FASTEST: ("WH-DE-BER", "fastest: WH-DE-BER delivered by 2026-03-03 vs STORE-FR-PAR delivered by "
                                   "2026-03-04"),
    Ranking.PRIORITY: ("WH-DE-BER", "priority: WH-DE-BER total 1 vs WH-ES-MAD total 2"),
    Ranking.BALANCE_LOAD: ("WH-ES-MAD", "balance_load: WH-ES-MAD busiest at 10% of today's capacity vs "
                                        "STORE-FR-PAR busiest at 76% of today's capacity"),
    Ranking.LOWEST_EMISSIONS: ("WH-DE-BER", "lowest_emissions: WH-DE-BER 0.04 kg CO2e vs WH-ES-MAD 0.14 kg CO2e"),
}


@pytest.mark.parametrize("ranking", list(Ranking))
def test_each_ranking_alone_on_an_order_every_location_can_ship(ranking):
    chosen, reason = SMALL_ALONE[ranking]

    decision = decide(SMALL, *rank(ranking))

    assert decision.locations == (chosen,)
    assert decision.reasons[0].startswith(f"{chosen}: fills the whole order in one shipment")
    assert decision.reasons[-1] == reason
    assert (decision.strategy_id, decision.strategy_version) == ("lyon", 3)


BIG_ALONE = {
    Ranking.FEWEST_PARCELS: ["STORE-FR-PAR", "WH-DE-BER"],  # every pair ties: the location ids decide
    Ranking.NEAREST: ["STORE-FR-PAR", "WH-ES-MAD"],
    Ranking.LOWEST_COST: ["STORE-FR-PAR", "WH-DE-BER"],  # 10.90 + 11.40 against 10.90 + 12.00
    Ranking.LOWEST_HANDLING_COST: ["WH-DE-BER", "WH-ES-MAD"],
    Ranking.FASTEST: ["WH-DE-BER", "STORE-FR-PAR"],  # both by 03-04; Madrid's parcel would arrive 03-06
    Ranking.PRIORITY: ["WH-DE-BER", "WH-ES-MAD"],
    Ranking.BALANCE_LOAD: ["WH-ES-MAD", "STORE-FR-PAR"],  # 76% at Paris against 80% at Berlin
    Ranking.LOWEST_EMISSIONS: ["WH-DE-BER", "WH-ES-MAD"],  # 0.52 kg against 0.89 (Madrid + Paris)
}


@pytest.mark.parametrize("ranking", list(Ranking))
def test_each_ranking_alone_on_the_order_that_needs_a_split(ranking):
    decision = decide(BIG, *rank(ranking))
    assert list(decision.locations) == BIG_ALONE[ranking]
    assert decision.complete


def test_lowest_emissions_takes_the_train_from_berlin_and_the_rest_from_madrid():
    decision = decide(BIG, *rank(Ranking.LOWEST_EMISSIONS))

    # Ranked alone by emissions, Berlin (rail) comes first: it ships all it has, Madrid the rest.
    assert placed(decision) == [("WH-DE-BER", "TEE-BLK-M", 6), ("WH-ES-MAD", "TEE-BLK-M", 19),
                                ("WH-DE-BER", "TEE-WHT-XL", 5)]
    assert decision.reasons[-1] == ("lowest_emissions: WH-DE-BER + WH-ES-MAD 0.52 kg CO2e vs "
                                    "WH-ES-MAD + STORE-FR-PAR 0.89 kg CO2e")
    assert decision.estimate is not None and decision.estimate.co2e_kg == Decimal("0.515")


def test_a_strategy_without_fewest_parcels_first_may_prefer_a_split():
    # 10 + 2 shirts: Madrid or Paris could ship them alone. By emissions, Berlin's train takes what it
    # has (8 shirts, 0.05 kg CO2e) and Madrid's truck the other 4 (0.09): 0.15 kg against 0.28 for
    # Madrid alone.
    split = decide(order(10, 2), *rank(Ranking.LOWEST_EMISSIONS))
    assert split.locations == ("WH-DE-BER", "WH-ES-MAD")
    assert split.reasons[0] == "split over 2 locations: the strategy's rankings prefer it to one shipment"
    assert split.reasons[-1] == "lowest_emissions: WH-DE-BER + WH-ES-MAD 0.15 kg CO2e vs WH-ES-MAD 0.28 kg CO2e"

    fewest = decide(order(10, 2), *rank(Ranking.FEWEST_PARCELS, Ranking.LOWEST_EMISSIONS))
    assert fewest.locations == ("WH-ES-MAD",)


def test_the_decision_does_not_depend_on_the_order_locations_come_in():
    for ranking in Ranking:
        first = decide(BIG, *rank(ranking))
        again = route(BIG, list(reversed(CANDIDATES)), STOCK, strategy(*rank(ranking)), PROFILE, NOW)
        assert first == again


# ---------------------------------------------------------------- filters


def test_location_types_allow_and_deny_lists():
    no_stores = decide(SMALL, LocationTypes(allowed=[LocationType.WAREHOUSE, LocationType.THIRD_PARTY]),
                       *rank(Ranking.NEAREST))
    assert no_stores.locations == ("WH-ES-MAD",)
    assert no_stores.excluded["STORE-FR-PAR"] == "location_types: a store, not one the strategy allows"
    assert "location_types (warehouse, 3pl): removed STORE-FR-PAR" in no_stores.reasons

    allowed = decide(SMALL, AllowLocations(location_ids=["WH-DE-BER"]), *rank(Ranking.NEAREST))
    assert allowed.locations == ("WH-DE-BER",)
    assert "allow_locations: removed STORE-FR-PAR, WH-ES-MAD" in allowed.reasons

    denied = decide(SMALL, DenyLocations(location_ids=["STORE-FR-PAR"]), *rank(Ranking.NEAREST))
    assert denied.locations == ("WH-ES-MAD",)
    assert denied.excluded["STORE-FR-PAR"] == "deny_locations: on the strategy's list"


def test_max_distance_removes_the_far_ones_and_keeps_unknown_distances_with_a_reason():
    decision = decide(SMALL, MaxDistance(km=950), *rank(Ranking.PRIORITY))
    assert decision.locations == ("WH-ES-MAD",)
    assert decision.excluded["WH-DE-BER"] == "max_distance: 975 km from the destination, over 950 km"
    assert "max_distance 950 km: removed WH-DE-BER (975 km)" in decision.reasons

    nowhere = order(4, 2, dest=Destination("FR"))
    unknown = decide(nowhere, MaxDistance(km=950), *rank(Ranking.PRIORITY))
    assert unknown.locations == ("WH-DE-BER",)
    assert ("max_distance 950 km: removed none; kept STORE-FR-PAR, WH-DE-BER, WH-ES-MAD (distance unknown: "
            "no coordinates)") in unknown.reasons


def test_meets_promise_uses_cut_offs_and_transit_days():
    # Monday 13:00: Berlin (cut-off 15:00) ships today, 1 day to the eu zone: Tuesday. Paris (12:00)
    # ships Tuesday, 1 day: Wednesday. Madrid (12:00) ships Tuesday, 3 days: Friday.
    by_wednesday = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)
    decision = decide(order(4, 2, promised_by=by_wednesday), MeetsPromise(), *rank(Ranking.LOWEST_HANDLING_COST))
    assert decision.locations == ("WH-DE-BER",)
    assert decision.excluded["WH-ES-MAD"] == "meets_promise: estimated delivery 2026-03-06 is after the promised " \
                                            "2026-03-04"
    assert "meets_promise (by 2026-03-04): removed WH-ES-MAD (delivery 2026-03-06)" in decision.reasons

    by_tuesday = datetime(2026, 3, 3, 23, 59, tzinfo=UTC)
    tight = decide(order(4, 2, promised_by=by_tuesday), MeetsPromise(), *rank(Ranking.NEAREST))
    assert tight.locations == ("WH-DE-BER",)

    at_the_cutoff = route(order(4, 2, promised_by=by_tuesday), CANDIDATES, STOCK,
                          strategy(MeetsPromise(), *rank(Ranking.NEAREST)), PROFILE,
                          datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    assert at_the_cutoff.assignments == ()  # from 15:00 Berlin ships Tuesday, arriving Wednesday


def test_meets_promise_keeps_the_day_the_customer_was_promised_in_the_promises_own_offset():
    # Berlin delivers Tuesday 03-03, Paris (the nearest) Wednesday 03-04.
    new_york_tuesday = datetime.fromisoformat("2026-03-03T23:30:00-05:00")  # Wednesday 04:30 in UTC
    tight = decide(order(4, 2, promised_by=new_york_tuesday), MeetsPromise(), *rank(Ranking.NEAREST))
    assert tight.locations == ("WH-DE-BER",)
    assert tight.excluded["STORE-FR-PAR"] == "meets_promise: estimated delivery 2026-03-04 is after the promised " \
                                             "2026-03-03"

    tokyo_wednesday = datetime.fromisoformat("2026-03-04T01:00:00+09:00")  # Tuesday 16:00 in UTC
    kept = decide(order(4, 2, promised_by=tokyo_wednesday), MeetsPromise(), *rank(Ranking.NEAREST))
    assert kept.locations == ("STORE-FR-PAR",)


def test_meets_promise_excludes_a_zone_without_transit_days_and_ignores_orders_without_a_promise():
    promise = datetime(2026, 3, 20, tzinfo=UTC)
    to_spain = RoutingRequest((Line("TEE-BLK-M", 1),), Destination("ES", 40.4, -3.7), promised_by=promise)
    assert decide(to_spain, MeetsPromise(), *rank(Ranking.NEAREST)).locations == ("WH-ES-MAD",)  # domestic

    paris = replace(CANDIDATES[2], ships_to=frozenset({"FR", "BE"}))  # gives transit days for domestic only
    belgium = RoutingRequest((Line("TEE-BLK-M", 1),), Destination("BE", 50.85, 4.35), promised_by=promise)
    refused = route(belgium, [paris], STOCK, strategy(MeetsPromise(), *rank(Ranking.NEAREST)), PROFILE, NOW)
    assert refused.excluded == {"STORE-FR-PAR": "meets_promise: cannot promise (no transit days for zone eu)"}
    assert refused.reasons[0] == "no eligible location"

    no_clock = route(order(4, 2, promised_by=promise), CANDIDATES, STOCK,
                     strategy(MeetsPromise(), *rank(Ranking.NEAREST)), PROFILE)
    assert no_clock.assignments == ()
    assert no_clock.excluded["WH-DE-BER"] == "meets_promise: cannot promise (no routing time given)"

    unpromised = decide(SMALL, MeetsPromise(), *rank(Ranking.NEAREST))
    assert unpromised.locations == ("STORE-FR-PAR",)
    assert "meets_promise: the order has no promised_by; removed none" in unpromised.reasons


def test_a_pickup_is_promised_for_the_day_the_store_gets_it_ready():
    def pickup(promised_by: datetime) -> RoutingRequest:
        return RoutingRequest((Line("TEE-BLK-M", 1),), LYON, "STORE-FR-PAR", promised_by=promised_by)

    # Paris's cut-off (12:00) has passed: ready on Tuesday.
    ready = decide(pickup(datetime(2026, 3, 3, 18, 0, tzinfo=UTC)), MeetsPromise(), *rank(Ranking.NEAREST))
    assert ready.locations == ("STORE-FR-PAR",)
    assert ready.estimate is not None and ready.estimate.delivery_by == date(2026, 3, 3)
    today = decide(pickup(datetime(2026, 3, 2, 18, 0, tzinfo=UTC)), MeetsPromise(), *rank(Ranking.NEAREST))
    assert today.excluded["STORE-FR-PAR"] == "meets_promise: estimated delivery 2026-03-03 is after the promised " \
                                             "2026-03-02"


# ---------------------------------------------------------------- splitting and shortfall


def test_splitting_needs_both_the_strategy_and_the_channel():
    assert decide(BIG, *rank(Ranking.NEAREST)).complete
    no_split = decide(BIG, *rank(Ranking.NEAREST), allow_split=False)
    assert no_split.assignments == ()
    assert no_split.reasons[0] == ("no single location can fill the order and the strategy does not allow "
                                   "splitting; the whole order waits for stock")
    channel_says_no = decide(order(25, 5, split=False), *rank(Ranking.NEAREST), allow_split=True)
    assert channel_says_no.assignments == ()
    assert "the channel does not allow splitting" in channel_says_no.reasons[0]


def test_partial_allocation_only_where_the_channel_allows_it():
    partial = decide(order(25, 5, partial=True), *rank(Ranking.NEAREST), allow_split=False,
                     when_short=Shortfall.PARTIAL)
    assert placed(partial) == [("STORE-FR-PAR", "TEE-BLK-M", 25), ("STORE-FR-PAR", "TEE-WHT-XL", 2)]
    assert partial.unfilled == (Line("TEE-WHT-XL", 3),)

    refused = decide(order(25, 5), *rank(Ranking.NEAREST), allow_split=False, when_short=Shortfall.PARTIAL)
    assert refused.assignments == () and not refused.hold
    assert refused.reasons[-1] == ("the strategy asks for partial allocation but the channel does not allow it: "
                                   "the whole order waits instead")

    backorder = decide(order(25, 5, partial=True), *rank(Ranking.NEAREST), allow_split=False,
                       when_short=Shortfall.BACKORDER)
    assert backorder.assignments == () and backorder.unfilled == BIG.lines


def test_hold_reserves_nothing_and_says_why():
    held = decide(BIG, *rank(Ranking.NEAREST), allow_split=False, when_short=Shortfall.HOLD)
    assert held.hold and held.assignments == () and held.unfilled == BIG.lines
    assert held.reasons[-1] == "held for an operator: the strategy holds an order it cannot fill"
    assert held.estimate is None

    filled = decide(BIG, *rank(Ranking.NEAREST), when_short=Shortfall.HOLD)
    assert not filled.hold and filled.complete


def test_location_candidate_carries_the_routing_fields():
    berlin = LOCATIONS[0].candidate(400)
    assert (berlin.location_type, berlin.daily_capacity, berlin.orders_today, berlin.capacity_left) == \
        ("warehouse", 500, 400, 100)
    assert (berlin.cutoff_utc, dict(berlin.transit_days), berlin.transport_mode) == \
        (time(15, 0), {"domestic": 1, "eu": 1}, "rail")
    plain = LOCATIONS[3].candidate(0)
    assert (plain.cutoff_utc, dict(plain.transit_days), plain.transport_mode) == (None, {}, "van")


@pytest.mark.parametrize("cutoff", ["24:00", "9:00", "12:60", "noon"])
def test_a_cutoff_is_hh_mm(cutoff):
    with pytest.raises(ValueError):
        location("X", type=LocationType.WAREHOUSE, country="DE", lat=1, lon=1, cutoff_utc=cutoff)


def test_transit_days_are_bounded():
    with pytest.raises(ValueError):
        location("X", type=LocationType.WAREHOUSE, country="DE", lat=1, lon=1, transit_days={"eu": 61})
