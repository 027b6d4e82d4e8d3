"""The pure decisions of hot-SKU buckets: a draw never takes more than a source holds, takes exactly
what is asked, and takes from several sources when no single one suffices (no stranded stock)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.stock_buckets import MAX_DRAW_SOURCES, POOL, draw, give_back, spread

pytestmark = pytest.mark.unit

buckets = st.lists(st.integers(min_value=-3, max_value=40), min_size=1, max_size=64)


@given(buckets, st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=200),
       st.integers(min_value=1, max_value=300))
def test_a_draw_takes_exactly_the_quantity_and_never_more_than_a_source_holds(available, pool, start, quantity):
    taken = draw(available, quantity, start % len(available), pool)
    holds = {n: max(0, units) for n, units in enumerate(available)} | {POOL: max(0, pool)}
    if taken is None:
        # Refused only when the sources together are short, or a filling draw needs too many items.
        enough = sorted(holds.values(), reverse=True)
        assert sum(enough) < quantity or sum(enough[:MAX_DRAW_SOURCES]) < quantity
        return
    assert sum(taken.values()) == quantity
    assert all(0 < units <= holds[source] for source, units in taken.items())
    assert len(taken) <= MAX_DRAW_SOURCES


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=2, max_size=16), st.integers(min_value=0, max_value=5))
def test_a_line_larger_than_any_bucket_is_filled_while_the_buckets_together_hold_enough(available, pool):
    """No stranded stock at sell-out: whatever the split, every unit left can be reserved."""
    total = sum(available) + pool
    taken = draw(available, total, 0, pool) if total else {}
    assert taken is not None and sum(taken.values()) == total


def test_one_bucket_serves_a_line_it_can_fill_alone():
    assert draw([5, 5, 5, 5], 3, 2) == {2: 3}  # one item: the least contention
    assert draw([5, 1, 5, 5], 3, 1) == {1: 1, 2: 2}  # short at the start: the next ones in turn
    assert draw([0, 0], 2, 0, pool=2) == {POOL: 2}  # the pool comes last
    assert draw([1, 1], 3, 0, pool=0) is None


def test_a_scattered_line_draws_from_the_largest_buckets_first():
    available = [1] * 40 + [30]
    taken = draw(available, 35, 0)
    assert taken is not None and taken[40] == 30 and len(taken) == 6


@given(st.dictionaries(st.integers(min_value=-1, max_value=63), st.integers(min_value=0, max_value=20), max_size=10),
       st.integers(min_value=0, max_value=200))
def test_units_given_back_go_where_they_came_from_and_no_more(drawn, quantity):
    if quantity > sum(drawn.values()):
        with pytest.raises(ValueError):
            give_back(drawn, quantity)
        return
    back = give_back(drawn, quantity)
    assert sum(back.values()) == quantity
    assert all(0 < units <= drawn[source] for source, units in back.items())


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=64))
def test_spread_is_exact_and_even(units, n):
    shares = spread(units, n)
    assert sum(shares) == units and len(shares) == n and max(shares) - min(shares) <= 1
