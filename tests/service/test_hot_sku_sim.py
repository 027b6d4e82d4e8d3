"""The flash-sale simulation's model on a tiny run: whatever the contention, the real allocation it
drives neither oversells nor strands stock, and every order ends allocated or backordered. (No
timing is asserted: bench/hot_sku_sim.py prints its figures.)"""

from __future__ import annotations

import pytest

from bench.hot_sku_sim import simulate

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("buckets", [1, 4])
def test_a_tiny_flash_sale_sells_exactly_the_stock(buckets):
    result = simulate(buckets, orders=40, units=25, rate=5000, seed=3)
    assert result.oversell == 0 and result.stranded == 0
    assert result.allocated + result.backordered == 40
    assert result.allocated >= 12  # 25 units of 1-2 unit lines: at least 12 orders were filled
    assert result.conflicts > 0  # the model did make them collide
