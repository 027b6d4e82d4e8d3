"""The flash-sale simulation's model on a tiny run: whatever the contention, the real allocation it
drives neither oversells nor strands stock, and every order ends allocated or backordered. (No
timing is asserted: bench/hot_sku_sim.py prints its figures.)"""

from __future__ import annotations

import pytest

from bench.hot_sku_sim import simulate

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("buckets", [1, 4, "auto"])
def test_a_tiny_flash_sale_sells_exactly_the_stock(buckets):
    result = simulate(buckets, orders=40, units=25, rate=5000, seed=3)
    assert result.oversell == 0 and result.stranded == 0
    assert result.allocated + result.backordered == 40
    assert result.allocated >= 12  # 25 units of 1-2 unit lines: at least 12 orders were filled
    assert result.conflicts > 0  # the model did make them collide


def test_a_hot_level_left_as_one_item_is_split_by_the_allocator_during_the_sale():
    result = simulate("auto", orders=200, units=120, rate=5000, seed=3)
    assert result.buckets_at_end == 16
    assert result.oversell == 0 and result.stranded == 0
    assert result.allocated + result.backordered == 200
    # A fixed single item is never split (promotion off): the same sale keeps one item.
    assert simulate(1, orders=200, units=120, rate=5000, seed=3).buckets_at_end == 1
