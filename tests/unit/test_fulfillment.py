"""Fulfilment order rules: idempotent actions that never move backwards, partial shipments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.fulfillment import (
    TERMINAL,
    Action,
    Decision,
    FulfillmentStatus,
    LineProgress,
    OrderProgress,
    ShipmentTooLarge,
    decide,
    order_progress,
    ship_lines,
)

F = FulfillmentStatus


@pytest.mark.parametrize(("current", "action", "pickup", "expected"), [
    (F.OPEN, Action.ACCEPT, False, Decision.APPLY),
    (F.ACCEPTED, Action.ACCEPT, False, Decision.ALREADY),      # repeated call
    (F.PACKED, Action.PICK, False, Decision.ALREADY),          # late call: no step back
    (F.OPEN, Action.PACK, False, Decision.REFUSE),             # skipping steps
    (F.PACKED, Action.SHIP, False, Decision.APPLY),
    (F.OPEN, Action.SHIP, False, Decision.APPLY),              # a WMS reports only the shipment
    (F.ACCEPTED, Action.READY, True, Decision.APPLY),
    (F.PARTIALLY_SHIPPED, Action.SHIP, False, Decision.APPLY),
    (F.PACKED, Action.SHIP, True, Decision.REFUSE),            # pickup orders are collected
    (F.PACKED, Action.READY, True, Decision.APPLY),
    (F.READY_FOR_PICKUP, Action.COLLECT, True, Decision.APPLY),
    (F.COLLECTED, Action.COLLECT, True, Decision.ALREADY),
    (F.PICKED, Action.REJECT, False, Decision.REFUSE),         # goods in hand: cancel, not reject
    (F.OPEN, Action.REJECT, False, Decision.APPLY),
    (F.REJECTED, Action.ACCEPT, False, Decision.REFUSE),
    (F.SHIPPED, Action.CANCEL, False, Decision.REFUSE),
    (F.CANCELLED, Action.CANCEL, False, Decision.ALREADY),
])
def test_decisions(current, action, pickup, expected):
    assert decide(current, action, pickup).decision == expected


@given(st.lists(st.sampled_from(list(Action)), max_size=12), st.booleans())
def test_no_sequence_of_calls_moves_a_fulfilment_order_backwards_or_out_of_a_terminal_state(actions, pickup):
    order = [F.OPEN, F.ACCEPTED, F.PICKED, F.PACKED, F.PARTIALLY_SHIPPED, F.READY_FOR_PICKUP, F.SHIPPED,
             F.COLLECTED]
    status = F.OPEN
    for action in actions:
        verdict = decide(status, action, pickup)
        if verdict.decision == Decision.APPLY:
            assert status not in TERMINAL
            if verdict.target in order and status in order:
                assert order.index(verdict.target) >= order.index(status) or status == F.PARTIALLY_SHIPPED
            status = verdict.target


def test_partial_shipments_until_every_line_has_shipped():
    lines = [LineProgress("A", 3), LineProgress("B", 1)]
    lines, done = ship_lines(lines, {"A": 2})
    assert not done and [(x.sku, x.shipped) for x in lines] == [("A", 2), ("B", 0)]
    lines, done = ship_lines(lines, {})
    assert done and all(x.remaining == 0 for x in lines)


@pytest.mark.parametrize("shipping", [{"A": 4}, {"C": 1}, {"A": -1}, {"A": 0}])
def test_a_shipment_cannot_exceed_what_remains(shipping):
    with pytest.raises(ShipmentTooLarge):
        ship_lines([LineProgress("A", 3)], shipping)


def test_order_progress_follows_its_parts():
    assert order_progress([F.PACKED, F.OPEN]) is None
    assert order_progress([F.SHIPPED, F.PACKED]) is OrderProgress.PARTIALLY_SHIPPED
    assert order_progress([F.PARTIALLY_SHIPPED]) is OrderProgress.PARTIALLY_SHIPPED
    assert order_progress([F.SHIPPED, F.REJECTED, F.COLLECTED]) is OrderProgress.SHIPPED
