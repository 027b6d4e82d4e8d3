"""Allocation with the merchant's routing strategies, on the in-memory store: the first matching
strategy routes and is recorded with its version and the picture it saw; none matching leaves
today's behaviour; a strategy that holds puts the order on hold with nothing reserved; and strategies
changing while orders are allocated never route an order by anything but one whole version."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared.adapters import routing_repo
from shared.domain.orders import HoldReason, OrderStatus
from shared.domain.principal import OPERATOR, Principal
from shared.domain.routing import route
from shared.domain.routing_strategy import (
    DEFAULT_STRATEGY,
    AllowLocations,
    Conditions,
    DenyLocations,
    MeetsPromise,
    RankBy,
    Ranking,
    Shortfall,
    StrategyRequest,
)
from shared.services.allocation import Outcome, allocate_order
from shared.services.order_actions import release_order
from shared.services.routing_strategies import put_strategy
from tests.factories import NOW, TWO_WAREHOUSES, capture, level, location_request, seed
from tests.service.flows import events, policy

pytestmark = pytest.mark.unit

OPERATOR_PRINCIPAL = Principal(OPERATOR)
# Berlin is nearer to the Berlin customers of the factories' orders; Munich comes first by priority.
NEAR_AND_FIRST = {
    "BER": location_request("DE", lat=52.52, lon=13.40, priority=5, daily_order_capacity=100),
    "MUC": location_request("DE", lat=48.14, lon=11.58, priority=1),
}


def strategy(*criteria, **fields) -> StrategyRequest:
    return StrategyRequest(name="test", criteria=list(criteria), **fields)


@pytest.fixture
def stocked(repos):
    seed(repos, NEAR_AND_FIRST, {("SKU-1", "BER"): 5, ("SKU-1", "MUC"): 5, ("SKU-2", "MUC"): 1})
    return repos


def test_without_strategies_the_default_routes_and_is_recorded_with_what_it_saw(stocked):
    repos = stocked
    first = capture(repos, ("SKU-1", 1), coid="A")
    allocate_order(first.order_id, repos, policy, NOW)
    order = capture(repos, ("SKU-1", 2), coid="B")

    assert allocate_order(order.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED

    record = repos.orders.get(order.order_id).routing[-1]
    assert record.locations == ["BER"]  # nearest, as before strategies existed
    assert (record.strategy_id, record.strategy_version) == ("default", 0)
    assert record.stock_seen == {"SKU-1": {"BER": 4, "MUC": 5}}  # after the first order's unit
    assert record.orders_today == {"BER": 1}  # only the capacity-limited location
    assert record.estimate is not None and record.estimate.parcels == 1


def test_the_first_matching_strategy_routes_by_its_rankings_and_records_its_version(stocked):
    repos = stocked
    put_strategy("app-only", strategy(RankBy(by=Ranking.NEAREST), conditions=Conditions(channels=["app"]), rank=1),
                 OPERATOR_PRINCIPAL, repos, NOW)
    put_strategy("by-priority", strategy(RankBy(by=Ranking.PRIORITY)), OPERATOR_PRINCIPAL, repos, NOW)
    put_strategy("by-priority", strategy(RankBy(by=Ranking.PRIORITY), RankBy(by=Ranking.NEAREST)),
                 OPERATOR_PRINCIPAL, repos, NOW)
    order = capture(repos, ("SKU-1", 1))

    allocate_order(order.order_id, repos, policy, NOW)

    stored = repos.orders.get(order.order_id)
    assert [a.location_id for a in stored.allocations] == ["MUC"]  # priority first, not distance
    assert (stored.routing[-1].strategy_id, stored.routing[-1].strategy_version) == ("by-priority", 2)


def test_a_change_routes_the_orders_after_it_and_never_touches_allocated_ones(stocked):
    repos = stocked
    put_strategy("by-priority", strategy(RankBy(by=Ranking.PRIORITY)), OPERATOR_PRINCIPAL, repos, NOW)
    before = capture(repos, ("SKU-1", 1), coid="A")
    allocate_order(before.order_id, repos, policy, NOW)

    put_strategy("by-priority", strategy(RankBy(by=Ranking.PRIORITY), active=False), OPERATOR_PRINCIPAL, repos, NOW)
    after = capture(repos, ("SKU-1", 1), coid="B")
    allocate_order(after.order_id, repos, policy, NOW)

    assert repos.orders.get(before.order_id).routing[-1].locations == ["MUC"]
    assert repos.orders.get(after.order_id).routing[-1].locations == ["BER"]  # inactive: the default again


def test_a_strategy_that_holds_puts_the_order_on_hold_with_nothing_reserved(stocked):
    repos = stocked
    put_strategy("hold-short", strategy(RankBy(by=Ranking.NEAREST), when_short=Shortfall.HOLD), OPERATOR_PRINCIPAL,
                 repos, NOW)
    order = capture(repos, ("SKU-1", 20))

    assert allocate_order(order.order_id, repos, policy, NOW).outcome == Outcome.ON_HOLD

    held = repos.orders.get(order.order_id)
    assert held.status == OrderStatus.ON_HOLD
    assert [h.reason for h in held.holds] == [HoldReason.ROUTING_SHORTFALL]
    assert held.routing[-1].strategy_id == "hold-short" and held.allocations == []
    assert level(repos, "SKU-1", "BER").reserved == level(repos, "SKU-1", "MUC").reserved == 0
    assert [e["holds"][0]["reason"] for e in events(repos, "OrderOnHold")] == ["ROUTING_SHORTFALL"]

    # Released, it is not held again for the same shortfall: the channel's policy (web: backorder) decides.
    release_order(order.order_id, OPERATOR_PRINCIPAL, repos, NOW + timedelta(minutes=5))
    assert allocate_order(order.order_id, repos, policy, NOW + timedelta(minutes=5)).outcome == Outcome.BACKORDERED


def test_a_strategy_that_can_fill_does_not_hold(stocked):
    repos = stocked
    put_strategy("hold-short", strategy(RankBy(by=Ranking.NEAREST), when_short=Shortfall.HOLD), OPERATOR_PRINCIPAL,
                 repos, NOW)
    order = capture(repos, ("SKU-1", 2))

    assert allocate_order(order.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED


def test_strategies_changing_while_orders_are_allocated(monkeypatch):
    """Each order records a version that was saved, and its plan is exactly what that version gives
    against the picture it recorded: no order is routed by a half-written strategy."""
    from shared.repositories import in_memory

    monkeypatch.setattr(routing_repo, "CACHE_SECONDS", 0.0)  # every allocation reads the strategies afresh
    repos = in_memory()
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 10_000, ("SKU-1", "MAD"): 10_000})
    orders = [capture(repos, ("SKU-1", 1), coid=f"CO-{n}") for n in range(30)]
    flips = [strategy(DenyLocations(location_ids=["BER"]), RankBy(by=Ranking.NEAREST)),
             strategy(AllowLocations(location_ids=["BER"]), RankBy(by=Ranking.PRIORITY))]
    done = threading.Event()

    def change():
        n = 0
        while not done.is_set():
            put_strategy("flip", flips[n % 2], OPERATOR_PRINCIPAL, repos, NOW)
            n += 1

    def allocate(part):
        for order in part:
            allocate_order(order.order_id, repos, policy, NOW)

    changer = threading.Thread(target=change)
    changer.start()
    while repos.routing.strategy("flip") is None:  # allocate while versions are being saved, not before
        threading.Event().wait(0.001)
    _run([threading.Thread(target=allocate, args=(orders[i::2],)) for i in range(2)])
    done.set()
    changer.join()

    locations = {loc.location_id: loc for loc in repos.locations.all()}
    for order in orders:
        stored = repos.orders.get(order.order_id)
        assert stored is not None and stored.status == OrderStatus.ALLOCATED
        record = stored.routing[-1]
        version = repos.routing.version("flip", record.strategy_version) if record.strategy_id == "flip" else None
        assert record.strategy_id == "default" or version is not None, record
        replayed = route(_request_of(stored), [loc.candidate(record.orders_today.get(i, 0))
                                               for i, loc in sorted(locations.items())],
                         {(sku, loc): n for sku, by in record.stock_seen.items() for loc, n in by.items()},
                         version or DEFAULT_STRATEGY, now=record.decided_at)
        assert list(replayed.locations) == record.locations, (record.strategy_version, record.locations)


def _request_of(order):
    from shared.config import ChannelPolicy
    from shared.services.allocation import _request

    p: ChannelPolicy = policy(order.channel)
    return _request(order, order.remaining_lines_of_request(), p)


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_rerouting_after_a_rejection_follows_the_orders_strategy(repos):
    """A location rejecting its part sends it elsewhere by the order's strategy (its deny list and
    rankings), not by the built-in rules, and the new record names the strategy."""
    from shared.services.rerouting import reject_fulfillment_order
    from tests.service.flows import fulfil

    seed(repos, {**NEAR_AND_FIRST, "HAM": location_request("DE", lat=53.55, lon=9.99, priority=2)},
         {("SKU-1", "BER"): 5, ("SKU-1", "MUC"): 5, ("SKU-1", "HAM"): 5})
    # Nearest would send Berlin's rejected order to Hamburg; the strategy denies Hamburg.
    put_strategy("no-hamburg", strategy(DenyLocations(location_ids=["HAM"]), RankBy(by=Ranking.NEAREST)),
                 OPERATOR_PRINCIPAL, repos, NOW)
    order = capture(repos, ("SKU-1", 1))
    allocate_order(order.order_id, repos, policy, NOW)
    assert repos.orders.get(order.order_id).allocations[0].location_id == "BER"
    [fo_id] = fulfil(repos, order.order_id, NOW)

    reject_fulfillment_order(fo_id, "cannot find it", OPERATOR_PRINCIPAL, repos, policy, NOW)

    stored = repos.orders.get(order.order_id)
    assert [a.location_id for a in stored.allocations] == ["MUC"]
    record = stored.routing[-1]
    assert (record.strategy_id, record.strategy_version) == ("no-hamburg", 1)
    assert record.excluded["HAM"].startswith("deny_locations")


def test_the_picture_kept_is_the_locations_that_could_take_the_order_the_best_twenty(repos):
    """With many locations a routing record keeps only what a replay needs: the locations that could take
    the order (not those shipping elsewhere: a replay finds them ineligible whatever their stock), the
    chosen one and the strategy's next best, 20 in all; the others are counted. Replayed, the order lands
    where it went and is counted as replayed on a capped picture."""
    from shared.domain.routing_replay import Candidates, ReplayTally, case_of, replay
    from shared.domain.shipping_profile import ShippingProfile

    # DE-29 is the nearest to the Berlin customer (52.5, 13.4), DE-00 the farthest.
    near = {f"DE-{i:02d}": location_request("DE", lat=52.0 + i / 100, lon=13.0,
                                             daily_order_capacity=100 if i % 2 else None) for i in range(30)}
    elsewhere = {f"FR-{i}": location_request("FR", lat=52.5, lon=13.4) for i in range(5)}  # nearer, but not to DE
    seed(repos, {**near, **elsewhere}, {("SKU-1", loc): 3 for loc in [*near, *elsewhere]})
    order = capture(repos, ("SKU-1", 2))

    allocate_order(order.order_id, repos, policy, NOW)

    stored = repos.orders.get(order.order_id)
    record = stored.routing[0]
    assert record.locations == ["DE-29"] and record.assigned == {"DE-29": {"SKU-1": 2}}
    assert set(record.stock_seen["SKU-1"]) == {f"DE-{i:02d}" for i in range(10, 30)}  # the nearest 20
    assert record.picture_omitted == 10
    assert set(record.orders_today) == {f"DE-{i:02d}" for i in range(11, 30, 2)}  # the capped ones kept
    again = replay(case_of(stored, record, DEFAULT_STRATEGY, True, False),
                   Candidates(repos.locations.all()).seen_with(record.orders_today), [], ShippingProfile())
    assert again.baseline.locations == ("DE-29",) and not again.baseline_differs
    tally = ReplayTally(currency="EUR")
    tally.add(again)
    assert tally.result()["orders"]["replayed_on_a_capped_picture"] == 1


# Berlin is the nearest to the factories' Berlin customer but takes 3 days; Munich and Hamburg take 1.
# NOW is Wednesday 2026-11-25 09:00 UTC, before every cut-off: Berlin delivers Saturday, the others Thursday.
TIMED = {
    "BER": location_request("DE", lat=52.52, lon=13.40, cutoff_utc="15:00", transit_days={"domestic": 3}),
    "MUC": location_request("DE", lat=48.14, lon=11.58, cutoff_utc="15:00", transit_days={"domestic": 1}),
    "HAM": location_request("DE", lat=53.55, lon=9.99, cutoff_utc="15:00", transit_days={"domestic": 1}),
}
BY_FRIDAY = "2026-11-27T12:00:00Z"


def test_allocation_routes_with_the_orders_promise(repos):
    """The order's promised_by reaches the strategy's meets_promise filter: Berlin, the nearest, cannot
    keep it. (Without the promise the filter removes nothing and Berlin ships.)"""
    seed(repos, TIMED, {("SKU-1", loc): 5 for loc in TIMED})
    put_strategy("on-time", strategy(MeetsPromise(), RankBy(by=Ranking.NEAREST)), OPERATOR_PRINCIPAL, repos, NOW)
    promised = capture(repos, ("SKU-1", 1), coid="P", promised_by=BY_FRIDAY)
    unpromised = capture(repos, ("SKU-1", 1), coid="U")

    allocate_order(promised.order_id, repos, policy, NOW)
    allocate_order(unpromised.order_id, repos, policy, NOW)

    record = repos.orders.get(promised.order_id).routing[-1]
    assert record.locations == ["HAM"]  # the nearer of the two that deliver by Friday
    assert record.excluded["BER"] == "meets_promise: estimated delivery 2026-11-28 is after the promised 2026-11-27"
    assert repos.orders.get(unpromised.order_id).routing[-1].locations == ["BER"]


def test_rerouting_after_a_rejection_keeps_the_orders_promise(repos):
    """Hamburg rejects: the rejected part is routed again with the order's promise, so it goes to Munich
    (on time), not to Berlin (the nearest, too late)."""
    from shared.services.rerouting import reject_fulfillment_order
    from tests.service.flows import fulfil

    seed(repos, TIMED, {("SKU-1", loc): 5 for loc in TIMED})
    put_strategy("on-time", strategy(MeetsPromise(), RankBy(by=Ranking.NEAREST)), OPERATOR_PRINCIPAL, repos, NOW)
    order = capture(repos, ("SKU-1", 1), promised_by=BY_FRIDAY)
    allocate_order(order.order_id, repos, policy, NOW)
    [fo_id] = fulfil(repos, order.order_id, NOW)

    reject_fulfillment_order(fo_id, "cannot find it", OPERATOR_PRINCIPAL, repos, policy, NOW)

    record = repos.orders.get(order.order_id).routing[-1]
    assert record.locations == ["MUC"]
    assert record.excluded["BER"].startswith("meets_promise: estimated delivery 2026-11-28")


def test_a_routing_record_names_at_most_twenty_locations_left_out_and_counts_the_rest(repos):
    """Hundreds of locations shipping elsewhere would put a reason each on the order item, rewritten on every
    change of the order: the record keeps 20 and the count."""
    elsewhere = {f"FR-{i:02d}": location_request("FR", lat=52.5, lon=13.4) for i in range(30)}
    seed(repos, {"DE-1": location_request("DE"), **elsewhere}, {("SKU-1", loc): 3 for loc in ["DE-1", *elsewhere]})
    order = capture(repos, ("SKU-1", 2))

    allocate_order(order.order_id, repos, policy, NOW)

    record = repos.orders.get(order.order_id).routing[0]
    assert record.locations == ["DE-1"]
    assert len(record.excluded) == 20 and record.excluded_omitted == 10
    assert set(record.excluded) <= set(elsewhere)
