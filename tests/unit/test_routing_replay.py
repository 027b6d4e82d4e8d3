"""The what-if replay's pure parts: the inputs rebuilt from an order's first routing record, the replay of
both sides, and the figures added up (Decimal money, promises, load per location and day)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.locations import Location
from shared.domain.orders import CancelledLine, LineCancellation, Order, RoutingRecord
from shared.domain.routing import Assignment, Line, PlanEstimate, RoutingDecision
from shared.domain.routing_replay import (
    MAX_EXCLUDED_KEPT,
    MAX_PICTURE_LOCATIONS,
    Candidates,
    Replayed,
    ReplayTally,
    SideTally,
    bounded_excluded,
    case_of,
    decision_view,
    lines_as_first_routed,
    picture_of,
    replay,
    replayable,
)
from shared.domain.routing_strategy import DEFAULT_STRATEGY, RankBy, Ranking, RoutingStrategy
from shared.domain.shipping_profile import ShippingProfile
from tests.factories import location_request, order_request

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOCS = [
    Location(**dict(location_request("DE", ships_to=["DE", "FR"], lat=52.52, lon=13.40, priority=1)),
             location_id="BER", updated_at=AT),
    Location(**dict(location_request("ES", ships_to=["ES", "FR", "DE"], lat=40.42, lon=-3.70, priority=2)),
             location_id="MAD", updated_at=AT),
    Location(**dict(location_request("FR", ships_to=["FR"], lat=48.85, lon=2.35, daily_order_capacity=10)),
             location_id="PAR", updated_at=AT),
]
NEAREST_ONLY = RoutingStrategy(strategy_id="nearest", version=3, name="n", criteria=[RankBy(by=Ranking.NEAREST)],
                               updated_at=AT, updated_by="op")


def order(lines=(("A", 2), ("B", 1)), country="DE", lat=52.5, lon=13.4, **kw) -> Order:
    req = order_request(list(lines), country=country, lat=lat, lon=lon, **kw)
    return Order(order_id="o" + "0" * 24, channel="web", created_at=AT, updated_at=AT, request=req,
                 request_fingerprint=req.fingerprint(), total=req.total)


def record(seen: dict[str, dict[str, int]], went: list[str], **kw) -> RoutingRecord:
    return RoutingRecord(decided_at=AT + timedelta(minutes=1), locations=went, reasons=["r"], stock_seen=seen, **kw)


def decision(*assignments: tuple[str, str, int], unfilled=(), hold=False, estimate=None, sid="default"):
    return RoutingDecision(tuple(Assignment(loc, sku, q) for loc, sku, q in assignments),
                           tuple(Line(s, q) for s, q in unfilled), ("why",), strategy_id=sid, hold=hold,
                           estimate=estimate)


def two_cancellations(a: int, b: int) -> list[LineCancellation]:
    """`a` units of line A cancelled at AT, `b` of line B an hour later."""
    return [
        LineCancellation(cancellation_id="c1", lines=[CancelledLine(sku="A", quantity=a)], reason="x", at=AT, by="web"),
        LineCancellation(cancellation_id="c2", lines=[CancelledLine(sku="B", quantity=b)], reason="x",
                         at=AT + timedelta(hours=1), by="web"),
    ]


# ------------------------------------------------------------------ inputs


def test_lines_as_first_routed_leave_out_only_what_was_cancelled_before():
    o = order(lines=(("A", 3), ("B", 1)))
    o.cancellations = two_cancellations(1, 1)
    assert lines_as_first_routed(o, AT + timedelta(minutes=1)) == (Line("A", 2), Line("B", 1))
    assert lines_as_first_routed(o, AT + timedelta(hours=2)) == (Line("A", 2),)


def test_a_record_without_the_picture_is_not_replayable():
    assert not replayable(RoutingRecord(decided_at=AT, locations=["BER"], reasons=[]))
    assert replayable(record({"A": {"BER": 1}}, ["BER"]))
    assert replayable(RoutingRecord(decided_at=AT, locations=[], reasons=[], estimate={"parcels": 0}))
    # no stock anywhere, no estimate: recorded all the same (or decided by a strategy, which came with it)
    assert replayable(RoutingRecord(decided_at=AT, locations=[], reasons=[], picture_recorded=True))
    assert replayable(RoutingRecord(decided_at=AT, locations=[], reasons=[], strategy_id="s", strategy_version=2))


def test_the_picture_kept_is_the_chosen_locations_then_the_strategys_next_best_up_to_the_cap():
    eligible = tuple(f"L{i:02d}" for i in range(30))
    chosen = decision(("L25", "A", 1), ("L07", "B", 1))
    chosen = replace(chosen, eligible=eligible)
    stock = {(sku, loc): 2 for sku in "AB" for loc in eligible} | {("A", "FAR"): 9, ("B", "L01"): 0}

    pic = picture_of(chosen, stock, {"L25": 4, "L29": 1, "FAR": 7}, ["L25", "L29", "FAR"])

    kept = {"L25", "L07", *(f"L{i:02d}" for i in range(19) if i != 7)}
    assert len(kept) == MAX_PICTURE_LOCATIONS == 20
    assert set(pic.stock_seen["A"]) == kept and set(pic.stock_seen["B"]) == kept - {"L01"}  # none left: not kept
    assert pic.orders_today == {"L25": 4}  # L29 and FAR were left out
    assert pic.omitted == 10


def test_a_record_keeps_at_most_twenty_excluded_locations_showing_every_reason_and_counts_the_rest():
    excluded = {f"L{i:03d}": "does not ship to FR" for i in range(300)} | {"Z1": "no order capacity left today"}

    kept, omitted = bounded_excluded(excluded)

    assert len(kept) == MAX_EXCLUDED_KEPT == 20 and omitted == 281
    assert set(kept.values()) == {"does not ship to FR", "no order capacity left today"}  # the rare one shows
    assert all(excluded[loc] == why for loc, why in kept.items())
    assert bounded_excluded({"A": "x"}) == ({"A": "x"}, 0)


@given(st.dictionaries(st.text(min_size=1, max_size=4), st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
                       max_size=60))
def test_the_kept_excluded_are_a_bounded_true_subset_and_the_count_adds_up(excluded):
    kept, omitted = bounded_excluded(excluded)

    assert len(kept) <= MAX_EXCLUDED_KEPT and len(kept) + omitted == len(excluded)
    assert kept.items() <= excluded.items()
    assert len(set(kept.values())) == min(len(set(excluded.values())), MAX_EXCLUDED_KEPT)


def test_the_case_is_the_order_and_the_picture_its_record_kept():
    o = order(promised_by="2026-03-05T18:00:00Z")
    rec = record({"A": {"BER": 2, "MAD": 4}, "B": {"MAD": 1}}, ["BER", "MAD"], orders_today={"PAR": 3})

    case = case_of(o, rec, NEAREST_ONLY, allow_split=False, allow_partial=True)

    assert case.stock == {("A", "BER"): 2, ("A", "MAD"): 4, ("B", "MAD"): 1}
    assert case.request.lines == (Line("A", 2), Line("B", 1))
    assert (case.request.allow_split, case.request.allow_partial) == (False, True)
    assert case.request.promised_by == datetime(2026, 3, 5, 18, tzinfo=UTC)
    assert (case.facts.channel, case.facts.country, case.facts.total) == ("web", "DE", Decimal("30.00"))
    assert case.day == date(2026, 3, 2) and case.recorded_locations == {"BER", "MAD"}


def test_the_case_routes_the_lines_as_they_were_when_first_routed():
    """A line cancelled before the first routing is not replayed; one cancelled after it is."""
    o = order(lines=(("A", 3), ("B", 2)))
    o.cancellations = two_cancellations(2, 2)

    case = case_of(o, record({"A": {"BER": 9}, "B": {"BER": 9}}, ["BER"]), DEFAULT_STRATEGY, True, False)

    assert case.request.lines == (Line("A", 1), Line("B", 2))


def test_candidates_are_the_active_locations_with_the_capacity_each_order_saw():
    pool = Candidates(LOCS + [Location(**dict(location_request("DE", active=False)), location_id="OFF",
                                       updated_at=AT)])

    full = {c.location_id: c for c in pool.seen_with({"PAR": 10, "BER": 99})}
    fresh = {c.location_id: c for c in pool.seen_with({})}

    assert set(full) == {"BER", "MAD", "PAR"}
    assert (full["PAR"].capacity_left, fresh["PAR"].capacity_left, full["BER"].capacity_left) == (0, 10, None)
    assert pool.seen_with({"PAR": 10, "MAD": 1}) == pool.seen_with({"PAR": 10})  # uncapped counts do not matter
    assert pool.seen_with({"MAD": 4}) == pool.seen_with({})


# ------------------------------------------------------------------ replay


class Router:
    """Routes everything to the first candidate, and counts its calls."""

    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, request, candidates, stock, strategy, profile, now):
        self.calls.append(strategy.strategy_id)
        first = sorted(c.location_id for c in candidates)[0 if strategy.strategy_id == "default" else 1]
        return decision(*((first, ln.sku, ln.quantity) for ln in request.lines), sid=strategy.strategy_id)


def test_a_candidate_with_the_deciding_rules_is_not_routed_again():
    case = case_of(order(), record({"A": {"BER": 9}}, ["BER"]), DEFAULT_STRATEGY, True, False)
    router = Router()

    same = replay(case, Candidates(LOCS).seen_with({}), [], ShippingProfile(), router)

    assert router.calls == ["default"]
    assert not same.changed and same.candidate.strategy_id == "default"
    other = replay(case, Candidates(LOCS).seen_with({}), [NEAREST_ONLY], ShippingProfile(), router)
    assert router.calls[1:] == ["default", "nearest"]
    assert other.changed and other.locations_changed
    assert (other.baseline.locations, other.candidate.locations) == (("BER",), ("MAD",))


def test_other_quantities_at_the_same_locations_are_a_change_of_plan_not_of_locations():
    case = case_of(order(), record({"A": {"BER": 9}}, ["BER", "MAD"]), DEFAULT_STRATEGY, True, False)
    r = Replayed(case, decision(("BER", "A", 1), ("MAD", "A", 1)), decision(("BER", "A", 2), ("MAD", "B", 1)))
    assert r.changed and not r.locations_changed and not r.baseline_differs
    held = Replayed(case, r.baseline, replace(r.baseline, hold=True))
    assert held.changed


def test_the_baseline_differs_from_the_record_when_it_takes_other_units_from_the_same_locations():
    o = order(lines=(("A", 3),))
    went = {"BER": {"A": 2}, "MAD": {"A": 1}}
    case = case_of(o, record({"A": {"BER": 2, "MAD": 9}}, ["BER", "MAD"], picture_recorded=True, assigned=went),
                   DEFAULT_STRATEGY, True, False)
    as_recorded = decision(("BER", "A", 2), ("MAD", "A", 1))
    other_units = decision(("BER", "A", 1), ("MAD", "A", 2))

    assert not Replayed(case, as_recorded, as_recorded).baseline_differs
    assert Replayed(case, other_units, other_units).baseline_differs
    # a record from before plans were recorded: only the locations can be compared
    older = case_of(o, record({"A": {"BER": 2, "MAD": 9}}, ["BER", "MAD"]), DEFAULT_STRATEGY, True, False)
    assert not Replayed(older, other_units, other_units).baseline_differs


# ------------------------------------------------------------------ adding up


def test_a_side_adds_parcels_distance_cost_co2e_promises_and_load():
    side = SideTally()
    promise = datetime(2026, 3, 4, 23, tzinfo=UTC)
    side.add(decision(("BER", "A", 1), estimate=PlanEstimate(1, 10.25, Decimal("4.105"), "EUR", Decimal("0.2"),
                                                              date(2026, 3, 4))), date(2026, 3, 2), promise, "EUR")
    side.add(decision(("BER", "A", 1), ("MAD", "B", 1), estimate=PlanEstimate(2, 100.0, Decimal("8.10"), "EUR",
                                                                              None, date(2026, 3, 6))),
             date(2026, 3, 2), promise, "EUR")
    side.add(decision(("MAD", "A", 1)), date(2026, 3, 3), None, "EUR")  # no estimate at all
    side.add(decision(unfilled=[("A", 1)]), date(2026, 3, 3), promise, "EUR")
    side.add(decision(unfilled=[("A", 1)], hold=True), date(2026, 3, 3), None, "EUR")
    side.add(decision(("MAD", "A", 1), unfilled=[("B", 1)]), date(2026, 3, 3), None, "EUR")

    f = side.figures("EUR")

    assert (f["orders"], f["planned"], f["parcels"], f["split_orders"]) == (6, 4, 5, 1)
    assert (f["parcels_per_order"], f["split_rate"]) == (1.25, 0.25)
    assert f["distance_km"] == {"total": 110.2, "average": 55.1, "unknown": 2}
    assert f["cost"] == {"currency": "EUR", "total": "12.21", "average": "6.10", "unknown": 2}
    assert f["co2e_kg"] == {"total": "0.200", "average": "0.200", "unknown": 3}
    # three promised: the first meets it, the second arrives after, the backorder cannot
    assert f["promised_by"] == {"orders": 3, "can_meet": 1, "share": 0.3333, "unknown": 0}
    assert (f["backordered"], f["partially_filled"], f["held"]) == (1, 1, 1)
    assert f["load"] == {"BER": {"2026-03-02": 2}, "MAD": {"2026-03-02": 1, "2026-03-03": 2}}


def test_a_promise_is_met_by_its_own_day_in_its_own_offset():
    def met(promised_by: str) -> int:
        side = SideTally()
        side.add(decision(("BER", "A", 1), estimate=PlanEstimate(1, delivery_by=date(2026, 3, 5))), date(2026, 3, 2),
                 datetime.fromisoformat(promised_by), "EUR")
        return side.meets_promise

    assert met("2026-03-04T23:30:00-05:00") == 0  # Wednesday in New York (Thursday 04:30 in UTC)
    assert met("2026-03-05T08:00:00+09:00") == 1  # Thursday in Tokyo (Wednesday 23:00 in UTC)


def test_a_partial_plan_never_meets_a_promise_even_when_its_parcels_arrive_in_time():
    side = SideTally()
    early = PlanEstimate(1, delivery_by=date(2026, 3, 3))
    promise = datetime(2026, 3, 5, 12, tzinfo=UTC)
    side.add(decision(("BER", "A", 1), unfilled=[("B", 1)], estimate=early), date(2026, 3, 2), promise, "EUR")
    side.add(decision(("BER", "A", 1), ("BER", "B", 1), estimate=early), date(2026, 3, 2), promise, "EUR")

    assert side.figures("EUR")["promised_by"] == {"orders": 2, "can_meet": 1, "share": 0.5, "unknown": 0}


def test_costs_are_rounded_to_the_currencys_minor_unit_only_when_answered():
    side = SideTally()
    for _ in range(3):
        side.add(decision(("BER", "A", 1), estimate=PlanEstimate(1, cost=Decimal("0.3333"), currency="JPY")),
                 date(2026, 3, 2), None, "JPY")
    assert side.cost == Decimal("0.9999")
    assert side.figures("JPY")["cost"]["total"] == "1"


def test_the_tally_survives_its_trip_through_the_job_item_and_keeps_a_bounded_sample():
    case = case_of(order(), record({"A": {"BER": 9}}, ["BER"]), DEFAULT_STRATEGY, True, False)
    tally = ReplayTally(currency="EUR", sample_size=2)
    for _ in range(3):
        tally.add(Replayed(case, decision(("BER", "A", 2), estimate=PlanEstimate(1, 1.5, Decimal("2.50"), "EUR")),
                           decision(("MAD", "A", 2), sid="nearest")))
    tally.no_picture += 1

    again = ReplayTally.from_state(json.loads(json.dumps(tally.to_state())))

    assert again == tally
    result = again.result()
    assert result["orders"]["changed"] == 3 and len(result["sample"]) == 2
    assert result["sample"][0]["candidate"] == decision_view(decision(("MAD", "A", 2), sid="nearest"))
    assert result["orders"]["not_replayable"]["routed_before_the_picture_was_recorded"] == 1


# ------------------------------------------------------------------ the real engine, both sides


@given(st.dictionaries(st.sampled_from(["BER", "MAD", "PAR"]), st.integers(1, 5), min_size=1),
       st.integers(1, 6), st.sampled_from([(52.5, 13.4, "DE"), (48.85, 2.35, "FR"), (40.4, -3.7, "ES")]),
       st.integers(0, 12), st.booleans())
def test_the_built_in_rules_replayed_against_the_recorded_picture_land_where_the_order_went(seen, qty, where, taken,
                                                                                              split):
    """What allocation records is enough to route the order again to the same place: routing each order
    through the engine, recording it as allocation does, and replaying it gives the same plan."""
    lat, lon, country = where
    o = order(lines=(("A", qty),), country=country, lat=lat, lon=lon)
    first = case_of(o, record({"A": seen}, [], orders_today={"PAR": taken}), DEFAULT_STRATEGY, split, False)
    live = replay(first, Candidates(LOCS).seen_with({"PAR": taken}), [], ShippingProfile()).baseline
    rec = record({"A": seen}, list(live.locations), orders_today={"PAR": taken})

    again = replay(case_of(o, rec, DEFAULT_STRATEGY, split, False), Candidates(LOCS).seen_with(rec.orders_today),
                   [], ShippingProfile())

    assert not again.baseline_differs and not again.changed
    assert again.baseline.assignments == live.assignments
