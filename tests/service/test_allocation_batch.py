"""Allocation a batch at a time (shared/services/allocation_ahead.py): the batch's orders read in one
request and their stock in another, each order then reserved in its own transaction on the picture
its predecessors' commits left; a stale picture costs a retry, never an oversell or a second
reservation. The handler around it (partial batch failure, duplicates) is tested on moto in
tests/integration/test_allocation_batches.py."""

from __future__ import annotations

import pytest

from shared.domain.orders import OrderStatus
from shared.domain.stock import SetStockRequest
from shared.repositories import Repositories
from shared.services.allocation import Outcome, allocate_order
from shared.services.allocation_ahead import read_ahead
from shared.services.inventory import set_stock
from tests.factories import NOW, TWO_WAREHOUSES, capture, level, location_request, reservations, seed
from tests.service.flows import events, policy
from tests.service.test_notification_batch import Counted

pytestmark = pytest.mark.unit

ONE_WAREHOUSE = {"BER": location_request("DE", ships_to=["DE", "FR"], lat=52.52, lon=13.40, priority=1)}


def counted(repos) -> tuple[Repositories, Counted]:
    """Repositories counting their store's calls, warm: what a warm container caches (locations,
    routing strategies and profile) already read."""
    store = Counted(repos.store)
    reading = Repositories.on(store)  # type: ignore[arg-type]
    reading.locations.all_cached()
    reading.routing.strategies_cached()
    reading.routing.profile_cached()
    store.calls.clear()
    return reading, store


def allocate_batch(order_ids: list[str], repos: Repositories) -> list[Outcome]:
    ahead = read_ahead(order_ids, repos, NOW)
    return [allocate_order(i, repos, policy, NOW, ahead).outcome for i in order_ids]


def test_a_batch_reads_its_orders_once_and_their_stock_once_then_writes_each_order(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 20, ("SKU-1", "MAD"): 20, ("SKU-2", "MAD"): 20})
    reading, store = counted(repos)
    orders = [capture(repos, ("SKU-1", 1), ("SKU-2", 1), coid=f"A{n}").order_id for n in range(3)]
    orders += [capture(repos, ("SKU-1", 2), coid=f"B{n}").order_id for n in range(3)]
    store.calls.clear()

    ahead = read_ahead(orders, reading, NOW)
    assert store.calls == ["batch_get", "batch_get"]  # the six orders; every level they need, once
    store.calls.clear()

    assert [allocate_order(i, reading, policy, NOW, ahead).outcome for i in orders] == [Outcome.ALLOCATED] * 6
    assert store.calls == ["transact"] * 6  # no order read again, no retry
    assert level(repos, "SKU-1", "BER").reserved + level(repos, "SKU-1", "MAD").reserved == 3 + 6
    assert level(repos, "SKU-2", "MAD").reserved == 3


def test_orders_of_a_batch_for_one_level_both_reserve_on_what_the_first_left(repos):
    """Guard: a committed reservation is applied to the batch's picture, counts and version. On the
    picture as read, the second order would not see that it takes the level down to its threshold
    (no StockLow), and the version its StockLow pins would be the old one (a conflict, a retry)."""
    seed(repos, ONE_WAREHOUSE, {})
    set_stock("SKU-1", "BER", SetStockRequest(on_hand=5, low_stock_threshold=1), repos, NOW)
    reading, store = counted(repos)
    first, second = (capture(repos, ("SKU-1", 2), coid=c).order_id for c in ("A", "B"))
    ahead = read_ahead([first, second], reading, NOW)
    store.calls.clear()

    outcomes = [allocate_order(i, reading, policy, NOW, ahead).outcome for i in (first, second)]

    assert outcomes == [Outcome.ALLOCATED, Outcome.ALLOCATED]
    assert store.calls == ["transact", "transact"]  # the second planned on 3 available, not 5: no retry
    assert [e["available"] for e in events(repos, "StockLow")] == [1]
    ber = level(repos, "SKU-1", "BER")
    assert (ber.reserved, ber.available) == (4, 1)
    assert ahead.levels[("SKU-1", "BER")].version == ber.version  # the picture is the stored level


def test_a_batch_cannot_oversell_what_its_orders_share(repos):
    seed(repos, ONE_WAREHOUSE, {("SKU-1", "BER"): 3})
    first, second = (capture(repos, ("SKU-1", 2), coid=c).order_id for c in ("A", "B"))

    assert allocate_batch([first, second], repos) == [Outcome.ALLOCATED, Outcome.BACKORDERED]

    ber = level(repos, "SKU-1", "BER")
    assert (ber.reserved, ber.available) == (2, 1)
    assert reservations(repos, "SKU-1") == {("BER", first): 2}


def test_a_partial_channel_takes_what_the_batch_left(repos):
    seed(repos, ONE_WAREHOUSE, {("SKU-1", "BER"): 3})
    first = capture(repos, ("SKU-1", 2), coid="A").order_id
    second = capture(repos, ("SKU-1", 2), coid="B", channel="marketplace").order_id

    assert allocate_batch([first, second], repos) == [Outcome.ALLOCATED, Outcome.PARTIALLY_ALLOCATED]
    assert reservations(repos, "SKU-1") == {("BER", first): 2, ("BER", second): 1}
    assert level(repos, "SKU-1", "BER").available == 0


def test_stock_taken_by_others_after_the_batch_read_costs_a_retry_not_an_oversell(repos):
    """Guard: `available >= q` on the reservation. The batch planned on 3 units; another consumer
    took 2 meanwhile: the batch's order is refused, reads afresh and is backordered."""
    seed(repos, ONE_WAREHOUSE, {("SKU-1", "BER"): 3})
    ours, theirs = (capture(repos, ("SKU-1", 2), coid=c).order_id for c in ("A", "B"))
    ahead = read_ahead([ours], repos, NOW)
    assert allocate_order(theirs, repos, policy, NOW).outcome == Outcome.ALLOCATED  # another invocation

    assert allocate_order(ours, repos, policy, NOW, ahead).outcome == Outcome.BACKORDERED
    assert (level(repos, "SKU-1", "BER").reserved, level(repos, "SKU-1", "BER").available) == (2, 1)
    assert ahead.levels[("SKU-1", "BER")].available == 1  # the retry's fresh read is the batch's picture now


def test_an_order_twice_in_a_batch_is_allocated_once(repos):
    seed(repos, ONE_WAREHOUSE, {("SKU-1", "BER"): 5})
    order = capture(repos, ("SKU-1", 2)).order_id
    reading, store = counted(repos)
    ahead = read_ahead([order, order], reading, NOW)
    store.calls.clear()

    outcomes = [allocate_order(order, reading, policy, NOW, ahead).outcome for _ in range(2)]

    assert outcomes == [Outcome.ALLOCATED, Outcome.NOTHING_TO_DO]
    assert store.calls == ["transact"]  # the copy saw the order as committed
    assert reservations(repos, "SKU-1") == {("BER", order): 2}
    assert level(repos, "SKU-1", "BER").reserved == 2


def test_an_order_in_two_batches_at_once_is_allocated_once(repos):
    """Guard: the order's version condition. A redelivered message in another invocation's batch,
    read before this one committed: its picture says RECEIVED, its transaction must be refused."""
    seed(repos, ONE_WAREHOUSE, {("SKU-1", "BER"): 5})
    order = capture(repos, ("SKU-1", 2)).order_id
    one, other = read_ahead([order], repos, NOW), read_ahead([order], repos, NOW)

    assert allocate_order(order, repos, policy, NOW, one).outcome == Outcome.ALLOCATED
    assert allocate_order(order, repos, policy, NOW, other).outcome == Outcome.NOTHING_TO_DO

    assert reservations(repos, "SKU-1") == {("BER", order): 2}
    assert level(repos, "SKU-1", "BER").reserved == 2
    assert repos.orders.get(order).status == OrderStatus.ALLOCATED


def test_a_failed_order_is_read_again_by_its_retry_not_taken_from_the_batch(repos, monkeypatch):
    """A try mutates its copy of the order before writing: a refused or failed one must not leave
    that copy for the record's retry (or a second record of it) in the same batch."""
    seed(repos, ONE_WAREHOUSE, {("SKU-1", "BER"): 5})
    order = capture(repos, ("SKU-1", 2)).order_id
    ahead = read_ahead([order], repos, NOW)
    real = type(repos.store).transact

    def crashing(self, actions):
        raise RuntimeError("injected crash")

    monkeypatch.setattr(type(repos.store), "transact", crashing)
    with pytest.raises(RuntimeError):
        allocate_order(order, repos, policy, NOW, ahead)
    monkeypatch.setattr(type(repos.store), "transact", real)

    assert allocate_order(order, repos, policy, NOW, ahead).outcome == Outcome.ALLOCATED
    assert reservations(repos, "SKU-1") == {("BER", order): 2}


def test_orders_of_a_batch_for_a_hot_level_draw_on_its_buckets_as_left(repos):
    """A bucketed level's picture follows the draws: the buckets drawn from lose their units and move
    their versions, so the next order's draw and checks see what is there."""
    seed(repos, ONE_WAREHOUSE, {})
    set_stock("HOT", "BER", SetStockRequest(on_hand=8, buckets=4), repos, NOW)
    reading, store = counted(repos)
    orders = [capture(repos, ("HOT", 2), coid=f"H{n}").order_id for n in range(5)]
    ahead = read_ahead(orders, reading, NOW)
    store.calls.clear()

    outcomes = [allocate_order(i, reading, policy, NOW, ahead).outcome for i in orders]

    assert outcomes == [Outcome.ALLOCATED] * 4 + [Outcome.BACKORDERED]
    assert store.calls == ["transact"] * 5  # each drew on buckets it saw full, the last saw none left
    stored, seen = level(repos, "HOT", "BER"), ahead.levels[("HOT", "BER")]
    assert (stored.available, stored.reserved) == (seen.available, seen.reserved) == (0, 8)
    assert stored.bucket_available == seen.bucket_available
    assert stored.bucket_versions == seen.bucket_versions


def test_a_hold_decided_on_the_batch_picture_is_decided_again_on_a_fresh_read(repos):
    """Guard: a hold commits under the order's version alone, so nothing refuses one planned on a stale
    picture. Here the SKU's first level is created after the batch read: on the picture the SKU is
    unknown (UNKNOWN_SKU hold), on a fresh read it is there and the order allocates."""
    seed(repos, ONE_WAREHOUSE, {})
    order_id = capture(repos, ("SKU-NEW", 1), coid="A").order_id
    ahead = read_ahead([order_id], repos, NOW)
    assert ("SKU-NEW", "BER") not in ahead.levels
    set_stock("SKU-NEW", "BER", SetStockRequest(on_hand=3), repos, NOW)

    assert allocate_order(order_id, repos, policy, NOW, ahead).outcome == Outcome.ALLOCATED
    assert repos.orders.get(order_id).status == OrderStatus.ALLOCATED
    assert level(repos, "SKU-NEW", "BER").reserved == 1


def test_a_hold_the_fresh_read_confirms_is_placed(repos):
    seed(repos, ONE_WAREHOUSE, {})
    order_id = capture(repos, ("SKU-NOWHERE", 1), coid="A").order_id
    ahead = read_ahead([order_id], repos, NOW)

    assert allocate_order(order_id, repos, policy, NOW, ahead).outcome == Outcome.ON_HOLD
    assert repos.orders.get(order_id).status == OrderStatus.ON_HOLD
