"""A late or duplicate tracking message never moves a shipment backwards."""

from __future__ import annotations

import pytest

from shared.domain.tracking import TERMINAL, ShipmentStatus, moves_forward

S = ShipmentStatus


@pytest.mark.parametrize(("current", "update", "allowed"), [
    (S.LABEL_CREATED, S.IN_TRANSIT, True),
    (S.IN_TRANSIT, S.LABEL_CREATED, False),
    (S.OUT_FOR_DELIVERY, S.IN_TRANSIT, False),
    (S.IN_TRANSIT, S.EXCEPTION, True),
    (S.EXCEPTION, S.IN_TRANSIT, True),
    (S.IN_TRANSIT, S.DELIVERED, True),
    (S.DELIVERED, S.OUT_FOR_DELIVERY, False),
    (S.DELIVERED, S.RETURNED_TO_SENDER, False),
])
def test_status_only_moves_forward(current, update, allowed):
    assert moves_forward(current, update) is allowed


def test_nothing_leaves_a_terminal_status():
    for terminal in TERMINAL:
        assert not any(moves_forward(terminal, s) for s in ShipmentStatus)
