"""Allocation on the in-memory store: the happy path, then every guard with a test that fails
without it. The consumer around it (redelivery, crashes, poison messages, the transaction size
limit) is tested on moto in tests/integration/test_allocation.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.orders import OrderStatus
from shared.domain.stock import SetStockRequest
from shared.services import allocation
from shared.services.allocation import Outcome, allocate_order
from shared.services.inventory import set_stock
from shared.unit_of_work import CommitFailed, OutOfStock, Refused
from tests.factories import NOW, TWO_WAREHOUSES, capture, level, location_request, reservations, seed
from tests.service.flows import events, policy

pytestmark = pytest.mark.unit


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3, ("SKU-1", "MAD"): 2, ("SKU-2", "MAD"): 4})
    return repos


def test_allocates_from_the_best_location_and_records_why(stocked):
    repos = stocked
    order = capture(repos, ("SKU-1", 2))

    result = allocate_order(order.order_id, repos, policy, NOW)

    assert result.outcome == Outcome.ALLOCATED
    stored = repos.orders.get(order.order_id)
    assert stored.status == OrderStatus.ALLOCATED
    assert [(a.location_id, a.sku, a.quantity) for a in stored.allocations] == [("BER", "SKU-1", 2)]
    assert "BER" in stored.routing[-1].reasons[0]
    ber = level(repos, "SKU-1", "BER")
    assert (ber.on_hand, ber.reserved, ber.available) == (3, 2, 1)
    assert reservations(repos, "SKU-1") == {("BER", order.order_id): 2}


def test_splits_across_locations_when_one_cannot_fill(stocked):
    repos = stocked
    together = capture(repos, ("SKU-1", 2), ("SKU-2", 1))  # only MAD has both
    assert allocate_order(together.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED
    assert {a.location_id for a in repos.orders.get(together.order_id).allocations} == {"MAD"}

    split = capture(repos, ("SKU-1", 3), ("SKU-2", 3), coid="CO-2")  # SKU-1 only at BER, SKU-2 only at MAD now
    assert allocate_order(split.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED
    assert {a.location_id for a in repos.orders.get(split.order_id).allocations} == {"BER", "MAD"}

    short = capture(repos, ("SKU-1", 1), coid="CO-3")  # nothing left anywhere
    assert allocate_order(short.order_id, repos, policy, NOW).outcome == Outcome.BACKORDERED


def test_a_stale_attempt_cannot_reserve_twice(stocked):
    """Guard: the order's version condition. Two allocators read the same RECEIVED order; the one
    that commits second must be refused, not reserve again."""
    repos = stocked
    order = capture(repos, ("SKU-1", 2))
    stale = repos.orders.get(order.order_id)
    allocate_order(order.order_id, repos, policy, NOW)

    with pytest.raises(CommitFailed):
        allocation._attempt(stale, repos, policy("web"), NOW)

    assert level(repos, "SKU-1", "BER").reserved == 2


def test_two_orders_racing_for_the_last_units_cannot_both_win(stocked):
    """Guard: `available >= q` on each decrement. Both plan against the same stock; the second
    transaction is refused, and its retry re-plans onto what is really left."""
    repos = stocked
    first = capture(repos, ("SKU-1", 3), coid="A")
    second = capture(repos, ("SKU-1", 3), coid="B")
    stale_second = repos.orders.get(second.order_id)
    locations = repos.locations.all()
    levels, _ = repos.stock.snapshot({"SKU-1"}, [x.location_id for x in locations], NOW.date())

    allocate_order(first.order_id, repos, policy, NOW)
    # Force the second attempt to plan on the snapshot taken before the first reserved.
    repos.stock.snapshot = lambda *a, **k: (levels, {})
    with pytest.raises(Refused) as refused:
        allocation._attempt(stale_second, repos, policy("web"), NOW)
    del repos.stock.snapshot

    assert refused.value.outcomes == [OutOfStock("SKU-1", "BER")]
    assert allocate_order(second.order_id, repos, policy, NOW).outcome == Outcome.BACKORDERED
    for loc in ("BER", "MAD"):
        lv = level(repos, "SKU-1", loc)
        assert lv.available >= 0 and lv.reserved + lv.available == lv.on_hand
    assert sum(reservations(repos, "SKU-1").values()) == 3


def test_partial_allocation_when_the_channel_allows_it(stocked):
    repos = stocked
    order = capture(repos, ("SKU-1", 7), channel="marketplace")
    result = allocate_order(order.order_id, repos, policy, NOW)
    assert result.outcome == Outcome.PARTIALLY_ALLOCATED
    stored = repos.orders.get(order.order_id)
    assert sum(a.quantity for a in stored.allocations) == 5
    assert [(b.sku, b.quantity) for b in stored.backordered] == [("SKU-1", 2)]

    set_stock("SKU-1", "BER", SetStockRequest(on_hand=5), repos, NOW)  # +2 at BER
    assert allocate_order(order.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED
    assert sum(a.quantity for a in repos.orders.get(order.order_id).allocations) == 7


def test_daily_capacity_sends_the_next_order_elsewhere(repos):
    seed(repos, {"BER": location_request("DE", priority=1, daily_order_capacity=1),
                 "HAM": location_request("DE", lat=53.55, lon=9.99, priority=2)},
         {("SKU-1", "BER"): 5, ("SKU-1", "HAM"): 5})
    first = capture(repos, ("SKU-1", 1), coid="1")
    second = capture(repos, ("SKU-1", 1), coid="2")
    allocate_order(first.order_id, repos, policy, NOW)
    allocate_order(second.order_id, repos, policy, NOW)
    assert repos.orders.get(second.order_id).allocations[0].location_id == "HAM"
    assert "capacity" in repos.orders.get(second.order_id).routing[-1].excluded["BER"]
    # Tomorrow the capacity is back.
    third = capture(repos, ("SKU-1", 1), coid="3")
    allocate_order(third.order_id, repos, policy, NOW + timedelta(days=1))
    assert repos.orders.get(third.order_id).allocations[0].location_id == "BER"


def test_a_restock_between_reading_and_backordering_is_not_missed(stocked):
    """Guard: the backorder write is conditioned on the stock it saw. A restock that commits in
    between (and so finds no BACKORDERED order to wake) forces a re-plan instead."""
    repos = stocked
    order = capture(repos, ("SKU-2", 5))  # MAD has 4: nothing fits, whole order waits
    real_snapshot = repos.stock.snapshot
    calls = {"n": 0}

    def restock_after_first_read(*args, **kwargs):
        result = real_snapshot(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            set_stock("SKU-2", "MAD", SetStockRequest(on_hand=9), repos, NOW)
        return result

    repos.stock.snapshot = restock_after_first_read
    try:
        assert allocate_order(order.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED
    finally:
        del repos.stock.snapshot
    assert level(repos, "SKU-2", "MAD").reserved == 5


def test_stock_low_is_announced_once_with_the_real_count(stocked):
    """Guard: a reservation that announces StockLow is pinned to the level version it read, so
    the event's count is the one the write produced."""
    repos = stocked
    set_stock("SKU-1", "BER", SetStockRequest(on_hand=5, low_stock_threshold=2), repos, NOW)
    first = capture(repos, ("SKU-1", 1), coid="A")
    second = capture(repos, ("SKU-1", 3), coid="B")
    stale_second = repos.orders.get(second.order_id)
    levels, _ = repos.stock.snapshot({"SKU-1"}, ["BER", "MAD"], NOW.date())

    allocate_order(first.order_id, repos, policy, NOW)  # 5 -> 4 available
    repos.stock.snapshot = lambda *a, **k: (levels, {})  # the second plans on 5 -> 2
    with pytest.raises(CommitFailed):
        allocation._attempt(stale_second, repos, policy("web"), NOW)
    del repos.stock.snapshot
    allocate_order(second.order_id, repos, policy, NOW)  # re-planned: 4 -> 1

    assert [e["available"] for e in events(repos, "StockLow")] == [1]


def test_a_location_takes_no_more_orders_than_its_capacity_under_a_stale_read(repos):
    """Guard: the capacity counter's condition. Two allocations read 'one order left today';
    only one may take it."""
    seed(repos, {"BER": location_request("DE", priority=1, daily_order_capacity=1),
                 "HAM": location_request("DE", lat=53.55, lon=9.99, priority=2)},
         {("SKU-1", "BER"): 5, ("SKU-1", "HAM"): 5})
    first = capture(repos, ("SKU-1", 1), coid="1")
    second = capture(repos, ("SKU-1", 1), coid="2")
    stale_second = repos.orders.get(second.order_id)
    before = repos.stock.snapshot({"SKU-1"}, ["BER", "HAM"], NOW.date())

    allocate_order(first.order_id, repos, policy, NOW)
    repos.stock.snapshot = lambda *a, **k: before  # BER's counter read before the first took it
    with pytest.raises(CommitFailed):
        allocation._attempt(stale_second, repos, policy("web"), NOW)
    del repos.stock.snapshot

    allocate_order(second.order_id, repos, policy, NOW)
    assert repos.orders.get(second.order_id).allocations[0].location_id == "HAM"


def test_setting_stock_never_overwrites_a_concurrent_reservation(stocked):
    """Guard: set/adjust write counts computed from a read, conditioned on its version. A reservation
    committed in between must not be overwritten (that would free reserved units: an oversell)."""
    repos = stocked
    order = capture(repos, ("SKU-1", 2))
    real_level = repos.stock.level
    calls = {"n": 0}

    def reservation_sneaks_in(sku, loc):
        found = real_level(sku, loc)
        calls["n"] += 1
        if calls["n"] == 1:
            allocate_order(order.order_id, repos, policy, NOW)  # BER: reserved 0 -> 2
        return found

    repos.stock.level = reservation_sneaks_in
    try:
        set_stock("SKU-1", "BER", SetStockRequest(on_hand=10), repos, NOW)
    finally:
        del repos.stock.level
    ber = level(repos, "SKU-1", "BER")
    assert (ber.on_hand, ber.reserved, ber.available) == (10, 2, 8)
