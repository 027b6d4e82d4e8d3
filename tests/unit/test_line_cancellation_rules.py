"""The rules of a line cancellation on one fulfilment order (shared/domain/fulfillment.py cancel_units):
exactly the units asked come off, a line left with nothing drops out, nothing left to do is CANCELLED
(nothing shipped) or SHIPPED (some shipped), and more than remains is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.fulfillment import FulfillmentLine, FulfillmentOrder, FulfillmentStatus

F = FulfillmentStatus
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def fo(lines: list[tuple[str, int, int]], status: F = F.OPEN, pickup: bool = False) -> FulfillmentOrder:
    return FulfillmentOrder(fulfillment_order_id="f1", order_id="o1", channel="web", location_id="BER", pickup=pickup,
                            status=status, lines=[FulfillmentLine(sku=s, quantity=q, shipped=d) for s, q, d in lines],
                            created_at=NOW, updated_at=NOW)


def lines(f: FulfillmentOrder) -> list[tuple[str, int, int]]:
    return [(x.sku, x.quantity, x.shipped) for x in f.lines]


def test_part_of_a_line_and_a_whole_line_come_off():
    f = fo([("A", 3, 0), ("B", 1, 0)], F.PACKED)

    assert f.cancel_units({"A": 2, "B": 1}, NOW, "asked") is False

    assert lines(f) == [("A", 1, 0)] and f.status == F.PACKED and f.version == 1
    assert (f.history[-1].status, f.history[-1].note) == (F.PACKED, "asked")


def test_nothing_left_and_nothing_shipped_is_cancelled_with_its_lines_kept():
    f = fo([("A", 2, 0)], F.READY_FOR_PICKUP, pickup=True)

    assert f.cancel_units({"A": 2}, NOW) is True

    assert f.status == F.CANCELLED and lines(f) == [("A", 2, 0)]


def test_only_shipped_lines_left_is_shipped():
    f = fo([("A", 3, 1), ("B", 2, 0)], F.PARTIALLY_SHIPPED)

    assert f.cancel_units({"A": 2, "B": 2}, NOW) is True

    assert f.status == F.SHIPPED and lines(f) == [("A", 1, 1)]


@pytest.mark.parametrize("asked", [{"A": 2}, {"A": 0}, {"C": 1}])
def test_more_than_remains_or_another_sku_is_refused_and_changes_nothing(asked):
    f = fo([("A", 2, 1)], F.PARTIALLY_SHIPPED)

    with pytest.raises(ValueError):
        f.cancel_units(asked, NOW)
    assert lines(f) == [("A", 2, 1)] and f.version == 0


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=4),
       st.data())
def test_exactly_the_units_asked_come_off(specs, data):
    rows = [(f"S{n}", q, min(d, q)) for n, (q, d, _) in enumerate(specs)]
    shipped_any = any(d for _, _, d in rows)
    status = F.PARTIALLY_SHIPPED if shipped_any else F.ACCEPTED
    asked = {}
    for sku, q, d in rows:
        if q > d and data.draw(st.booleans()):
            asked[sku] = data.draw(st.integers(1, q - d))
    if not asked:
        return
    f = fo(rows, status)
    remaining_before = sum(q - d for _, q, d in rows)

    f.cancel_units(asked, NOW)

    if f.status == F.CANCELLED:
        assert not shipped_any and sum(asked.values()) == remaining_before
    else:
        assert sum(x.quantity - x.shipped for x in f.lines) == remaining_before - sum(asked.values())
        assert sum(x.shipped for x in f.lines) == sum(d for _, _, d in rows)
        assert all(x.quantity > 0 for x in f.lines)
        assert (f.status == F.SHIPPED) == all(x.quantity == x.shipped for x in f.lines)
