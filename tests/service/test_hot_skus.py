"""Hot SKUs: a level split into buckets, on the in-memory store. Reservations draw from buckets,
releases return units to the bucket they came from, every read of available is the exact sum, and
each guard has a test that fails without it."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from shared.adapters import stock_repo
from shared.adapters.expressions import KeyQuery, SortRange
from shared.adapters.stock_repo import StockRepository, bucket_sk, stock_pk
from shared.domain.orders import HoldReason, OrderStatus
from shared.domain.stock import Adjustment, AdjustmentReason, SetStockRequest
from shared.services import allocation
from shared.services.allocation import Outcome, allocate_order
from shared.services.inventory import adjust_stock, set_stock, stock_for_sku
from shared.services.order_actions import cancel_order
from shared.services.reconciliation.drift import repair_level
from shared.unit_of_work import Refused, StockMoved
from tests.factories import NOW, TWO_WAREHOUSES, capture, location_request, reservations, seed
from tests.service.flows import OPERATOR_PRINCIPAL, placed_and_packed, policy, ship_lines

pytestmark = pytest.mark.unit

ONE_WAREHOUSE = {"BER": location_request("DE", ships_to=["DE", "FR"], lat=52.52, lon=13.40, priority=1)}


class _NoAudit:
    def audit(self, *args):
        return []


NO_AUDIT = _NoAudit()


def buckets(repos, sku="HOT", loc="BER") -> list[int]:
    items = repos.store.query_all(KeyQuery(stock_pk(sku), SortRange.prefix(f"BKT#{loc}#")))
    return [int(i["available"]) for i in items]


def level_item(repos, sku="HOT", loc="BER") -> dict:
    return repos.store.get(stock_pk(sku), f"LOC#{loc}")


@pytest.fixture
def hot(repos):
    seed(repos, ONE_WAREHOUSE, {})
    set_stock("HOT", "BER", SetStockRequest(on_hand=10, buckets=4), repos, NOW)
    return repos


def start_at(monkeypatch, bucket: int) -> None:
    monkeypatch.setattr(stock_repo.random, "randrange", lambda n: bucket % n)


def test_a_bucketed_level_spreads_its_units_and_reads_as_the_exact_sum(hot):
    assert buckets(hot) == [3, 3, 2, 2]
    assert level_item(hot)["available"] == 0  # all of it in the buckets
    [level] = stock_for_sku("HOT", hot)
    assert (level.on_hand, level.reserved, level.available, level.buckets) == (10, 0, 10, 4)
    levels, _ = hot.stock.snapshot(["HOT"], ["BER"], NOW.date())
    assert levels[("HOT", "BER")].available == 10


def test_a_reservation_draws_from_one_bucket_and_leaves_the_level_item_alone(hot, monkeypatch):
    start_at(monkeypatch, 2)
    version = level_item(hot)["version"]
    order = capture(hot, ("HOT", 2))
    assert allocate_order(order.order_id, hot, policy, NOW).outcome == Outcome.ALLOCATED
    assert buckets(hot) == [3, 3, 0, 2]
    assert level_item(hot)["version"] == version  # no write to the hot item
    record = hot.store.get(stock_pk("HOT"), f"RES#BER#{order.order_id}")
    assert (record["quantity"], record["draw_2"]) == (2, 2)
    level = hot.stock.level("HOT", "BER")
    assert (level.reserved, level.available) == (2, 8)


def test_a_line_larger_than_any_bucket_draws_from_several_so_nothing_is_stranded(hot, monkeypatch):
    start_at(monkeypatch, 3)
    order = capture(hot, ("HOT", 10))
    assert allocate_order(order.order_id, hot, policy, NOW).outcome == Outcome.ALLOCATED
    assert buckets(hot) == [0, 0, 0, 0]
    assert hot.stock.level("HOT", "BER").available == 0
    late = capture(hot, ("HOT", 1), coid="late")
    assert allocate_order(late.order_id, hot, policy, NOW).outcome == Outcome.BACKORDERED


def test_a_cancel_returns_units_to_the_bucket_they_came_from(hot, monkeypatch):
    start_at(monkeypatch, 1)
    order = capture(hot, ("HOT", 3))
    allocate_order(order.order_id, hot, policy, NOW)
    assert buckets(hot) == [3, 0, 2, 2]
    cancel_order(order.order_id, OPERATOR_PRINCIPAL, "customer asked", hot, NOW)
    assert buckets(hot) == [3, 3, 2, 2]
    level = hot.stock.level("HOT", "BER")
    assert (level.on_hand, level.reserved, level.available) == (10, 0, 10)
    assert reservations(hot, "HOT") == {}


def test_a_shipment_consumes_units_and_keeps_the_sums_exact(hot, monkeypatch):
    start_at(monkeypatch, 0)
    order_id, fo_id = placed_and_packed(hot, [("HOT", 3)], NOW)
    ship_lines(hot, fo_id, "SH-1", {"HOT": 3}, NOW)
    level = hot.stock.level("HOT", "BER")
    assert (level.on_hand, level.reserved, level.available) == (7, 0, 7)
    assert hot.orders.get(order_id).status == OrderStatus.SHIPPED


def test_receipts_spread_over_the_buckets_and_a_loss_is_taken_from_them(hot):
    adjust_stock(Adjustment(adjustment_id="A-1", sku="HOT", location_id="BER", delta=4,
                            reason=AdjustmentReason.RECEIVED), hot, NOW)
    assert buckets(hot) == [4, 4, 3, 3]
    adjust_stock(Adjustment(adjustment_id="A-2", sku="HOT", location_id="BER", delta=-9,
                            reason=AdjustmentReason.DAMAGED), hot, NOW)
    assert sum(buckets(hot)) == 5 and min(buckets(hot)) >= 0
    assert hot.stock.level("HOT", "BER").available == 5
    assert level_item(hot)["available"] == 0


def test_the_number_of_buckets_grows_but_never_shrinks(hot):
    set_stock("HOT", "BER", SetStockRequest(on_hand=10, buckets=6), hot, NOW)
    assert sum(buckets(hot)) == 10 and len(buckets(hot)) == 6
    from shared.errors import Conflict
    with pytest.raises(Conflict):
        set_stock("HOT", "BER", SetStockRequest(on_hand=10, buckets=2), hot, NOW)


def test_two_orders_racing_for_one_buckets_last_units_never_oversell(hot, monkeypatch):
    """Guard: `available >= q` on each bucket. Both plan on the same picture and draw from the same
    bucket; the second transaction is refused and its retry re-plans onto what is left."""
    start_at(monkeypatch, 0)
    first, second = capture(hot, ("HOT", 3), coid="A"), capture(hot, ("HOT", 3), coid="B")
    stale_second = hot.orders.get(second.order_id)
    levels, _ = hot.stock.snapshot({"HOT"}, ["BER"], NOW.date())
    allocate_order(first.order_id, hot, policy, NOW)
    hot.stock.snapshot = lambda *a, **k: (levels, {})
    with pytest.raises(Refused) as refused:
        allocation._attempt(stale_second, hot, policy("web"), NOW)
    del hot.stock.snapshot
    assert refused.value.outcomes == [StockMoved("HOT", "BER")]
    assert min(buckets(hot)) >= 0
    assert allocate_order(second.order_id, hot, policy, NOW).outcome == Outcome.ALLOCATED  # from bucket 1
    assert buckets(hot) == [0, 0, 2, 2]


def test_without_the_bucket_condition_the_race_oversells(hot, monkeypatch):
    """The guard above, removed: the stale plan takes bucket 0 below zero."""
    start_at(monkeypatch, 0)
    real = StockRepository._draw

    def unguarded(self, *args):
        return [replace(w, when=None) if w.sk.startswith("BKT#") else w for w in real(self, *args)]

    monkeypatch.setattr(StockRepository, "_draw", unguarded)
    first, second = capture(hot, ("HOT", 3), coid="A"), capture(hot, ("HOT", 3), coid="B")
    stale_second = hot.orders.get(second.order_id)
    levels, _ = hot.stock.snapshot({"HOT"}, ["BER"], NOW.date())
    allocate_order(first.order_id, hot, policy, NOW)
    hot.stock.snapshot = lambda *a, **k: (levels, {})
    allocation._attempt(stale_second, hot, policy("web"), NOW)
    assert buckets(hot)[0] == -3


def test_drift_repair_sees_no_drift_in_a_bucketed_level(hot, monkeypatch):
    start_at(monkeypatch, 2)
    allocate_order(capture(hot, ("HOT", 2)).order_id, hot, policy, NOW)
    assert not repair_level("HOT", "BER", hot, NO_AUDIT, NOW, "run-1")


def test_ordinary_levels_keep_their_single_item_path(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3})
    order = capture(repos, ("SKU-1", 2))
    allocate_order(order.order_id, repos, policy, NOW)
    assert list(repos.store.query_all(KeyQuery(stock_pk("SKU-1"), SortRange.prefix("BKT#")))) == []
    item = repos.store.get(stock_pk("SKU-1"), "LOC#BER")
    assert "buckets" not in item and (item["reserved"], item["available"]) == (2, 1)


@pytest.mark.parametrize("seed_value", range(5))
def test_many_orders_sell_out_exactly(repos, seed_value):
    """A small flash sale: 30 orders of 1-3 units for 20 units in 4 buckets, in random order: what
    was allocated is what was there, every bucket ends at zero or holds what no order could take."""
    rng = random.Random(seed_value)
    seed(repos, ONE_WAREHOUSE, {})
    set_stock("HOT", "BER", SetStockRequest(on_hand=20, buckets=4), repos, NOW)
    allocated = 0
    for n in range(30):
        q = rng.randint(1, 3)
        outcome = allocate_order(capture(repos, ("HOT", q), coid=f"C{n}").order_id, repos, policy, NOW).outcome
        allocated += q if outcome == Outcome.ALLOCATED else 0
    level = repos.stock.level("HOT", "BER")
    assert level.available == 20 - allocated == sum(buckets(repos)) and min(buckets(repos)) >= 0
    assert level.available < 3  # a line of what is left was always filled while enough remained
    assert sum(reservations(repos, "HOT").values()) == allocated == level.reserved
    assert bucket_sk("BER", 0) == "BKT#BER#00"


def test_drift_repair_recounts_when_a_reservation_lands_between_its_reads(hot, monkeypatch):
    """Guard: a hot SKU's reservation moves a bucket, not the level's version, so the recount reads
    the level again after the records. Without it, an order reserved between the two reads looks
    like drift and the repair takes a unit away."""
    start_at(monkeypatch, 2)
    real = StockRepository.live_reservations
    late = [capture(hot, ("HOT", 1), coid="between")]

    def reserve_in_between(self, sku, location_id):
        if late:
            allocate_order(late.pop().order_id, hot, policy, NOW)
        return real(self, sku, location_id)

    monkeypatch.setattr(StockRepository, "live_reservations", reserve_in_between)
    assert not repair_level("HOT", "BER", hot, NO_AUDIT, NOW, "run-1")
    level = hot.stock.level("HOT", "BER")
    assert (level.reserved, level.available) == (1, 9)


def test_a_restock_between_reading_and_backordering_a_hot_sku_is_not_missed(hot, monkeypatch):
    """Guard: a backorder on a bucketed level checks one bucket's version, and a restock moves every
    bucket's. Without the check, the order would wait with the restocked units on the shelf."""
    start_at(monkeypatch, 0)
    order = capture(hot, ("HOT", 12))  # 10 there: the whole order waits
    real_snapshot = hot.stock.snapshot
    calls = {"n": 0}

    def restock_after_first_read(*args, **kwargs):
        result = real_snapshot(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            set_stock("HOT", "BER", SetStockRequest(on_hand=14), hot, NOW)
        return result

    hot.stock.snapshot = restock_after_first_read
    assert allocate_order(order.order_id, hot, policy, NOW).outcome == Outcome.ALLOCATED
    assert hot.stock.level("HOT", "BER").available == 2


def test_a_cancel_moves_every_buckets_version(hot, monkeypatch):
    start_at(monkeypatch, 1)
    order = capture(hot, ("HOT", 1))
    allocate_order(order.order_id, hot, policy, NOW)
    before = hot.stock.level("HOT", "BER").bucket_versions
    cancel_order(order.order_id, OPERATOR_PRINCIPAL, "customer asked", hot, NOW)
    assert [v - 1 for v in hot.stock.level("HOT", "BER").bucket_versions] == before


def test_the_channel_stock_stamp_grows_with_a_hot_skus_reservations(hot, monkeypatch):
    """Guard: a reservation moves the bucket's version. The feed records a figure only over an older
    stamp; were the stamp the levels' versions alone, a sale's figures would never be sent."""
    from shared.domain.stock_feed import available_to_sell

    locations = hot.locations.all()
    before = available_to_sell(hot.stock.levels_for_sku("HOT"), locations, 0)
    start_at(monkeypatch, 0)
    allocate_order(capture(hot, ("HOT", 1)).order_id, hot, policy, NOW)
    after = available_to_sell(hot.stock.levels_for_sku("HOT"), locations, 0)
    assert (before.figure, after.figure) == (10, 9) and after.stamp > before.stamp


STOCK_RULES = {"stock_never_negative", "stock_available_formula", "stock_reserved_equals_records"}


def test_the_soaks_invariant_checker_reads_a_bucketed_level_as_its_sum(hot, monkeypatch):
    """The checker folds the buckets into their level, as the OMS reads it: a sale, a cancel and a
    shipment leave no stock violation; a bucket driven below zero is one."""
    from bench.invariants import check, load

    start_at(monkeypatch, 1)
    allocate_order(capture(hot, ("HOT", 3), coid="A").order_id, hot, policy, NOW)
    cancel_order(capture(hot, ("HOT", 2), coid="B").order_id, OPERATOR_PRINCIPAL, "no", hot, NOW)
    _, fo_id = placed_and_packed(hot, [("HOT", 2)], NOW, channel_order_id="C")
    ship_lines(hot, fo_id, "SH-1", {"HOT": 2}, NOW)
    assert check(load(hot.store.items.values()), only=STOCK_RULES).violations == []

    hot.store.items[(stock_pk("HOT"), bucket_sk("BER", 0))]["available"] = -1
    found = check(load(hot.store.items.values()), only=STOCK_RULES).violations
    assert {v.invariant for v in found} >= {"stock_never_negative", "stock_available_formula"}


def test_an_order_whose_bucket_draws_outgrow_one_transaction_goes_on_hold_whole(repos):
    """Guard: the writes the plan really needs are counted (`len(work)` in `_reserve`). Six hot lines,
    each drawn from all 16 of its one-unit buckets, are 6 x 17 writes: more than a transaction takes.
    Without the count the commit failed outright on every delivery and the order stayed RECEIVED
    until its message went to the DLQ; now it waits on hold for a person, nothing reserved."""
    seed(repos, ONE_WAREHOUSE, {})
    skus = [f"HOT-{n}" for n in range(6)]
    for sku in skus:
        set_stock(sku, "BER", SetStockRequest(on_hand=16, buckets=16), repos, NOW)
    order = capture(repos, *[(sku, 16) for sku in skus])

    result = allocate_order(order.order_id, repos, policy, NOW)

    stored = repos.orders.get(order.order_id)
    assert result.outcome == Outcome.ON_HOLD
    assert stored.status == OrderStatus.ON_HOLD and stored.holds[0].reason == HoldReason.TOO_LARGE
    assert "writes" in stored.holds[0].detail and stored.fulfillment_order_ids == []
    assert all(sum(buckets(repos, sku)) == 16 for sku in skus)  # nothing reserved


def test_an_order_changed_while_its_oversized_plan_was_built_is_planned_again_not_held(repos, monkeypatch):
    """Guard: the hold for an oversized plan goes on the order as planned (its version), not on a newer
    one. Here the customer cuts every line to 1 unit between the plan and the check: the order is read
    and planned again, and now fits. Holding the newer order instead held one that fits."""
    from shared.services.line_cancellation import cancel_order_lines

    seed(repos, ONE_WAREHOUSE, {})
    skus = [f"HOT-{n}" for n in range(6)]
    for sku in skus:
        set_stock(sku, "BER", SetStockRequest(on_hand=16, buckets=16), repos, NOW)
    order = capture(repos, *[(sku, 16) for sku in skus])
    reads = []
    real_get = type(repos.orders).get

    def get(self, order_id):
        reads.append(order_id)
        if len(reads) == 2:  # the check's read, after the plan: the customer's cut lands first
            cancel_order_lines(order_id, OPERATOR_PRINCIPAL, "C-1", {sku: 15 for sku in skus}, "fewer", repos, NOW)
        return real_get(self, order_id)

    monkeypatch.setattr(type(repos.orders), "get", get)
    result = allocate_order(order.order_id, repos, policy, NOW)

    assert result.outcome == Outcome.ALLOCATED
    assert repos.orders.get(order.order_id).status == OrderStatus.ALLOCATED
