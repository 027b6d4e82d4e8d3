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
    (S.OUT_FOR_DELIVERY, S.EXCEPTION, True),    # a failed delivery attempt
    (S.AVAILABLE_FOR_PICKUP, S.EXCEPTION, True),
    (S.DELIVERED, S.EXCEPTION, False),
    (S.IN_TRANSIT, S.DELIVERED, True),
    (S.DELIVERED, S.OUT_FOR_DELIVERY, False),
    (S.DELIVERED, S.RETURNED_TO_SENDER, False),
])
def test_status_only_moves_forward(current, update, allowed):
    assert moves_forward(current, update) is allowed


def test_nothing_leaves_a_terminal_status():
    for terminal in TERMINAL:
        assert not any(moves_forward(terminal, s) for s in ShipmentStatus)


def _update(status=S.IN_TRANSIT, eta=None, message=None):
    from datetime import UTC, datetime

    from shared.domain.tracking import TrackingUpdate

    return TrackingUpdate("sandbox", "e1", "1Z", "UPS", status, datetime(2026, 11, 25, tzinfo=UTC), eta, message)


def test_late_when_the_estimate_passes_the_promise_or_the_carrier_reports_trouble():
    from datetime import UTC, datetime

    from shared.domain.tracking import lateness

    promise = datetime(2026, 11, 28, tzinfo=UTC)
    assert lateness(promise, _update(eta=datetime(2026, 11, 27, tzinfo=UTC))) is None
    assert "after the promised" in lateness(promise, _update(eta=datetime(2026, 11, 29, tzinfo=UTC)))
    assert "EXCEPTION: weather" in lateness(promise, _update(S.EXCEPTION, message="weather"))
    assert lateness(None, _update(eta=datetime(2026, 11, 29, tzinfo=UTC))) is None


def test_an_older_exception_does_not_overwrite_a_newer_in_transit():
    from datetime import UTC, datetime, timedelta

    from shared.domain.tracking import supersedes

    late_exception = _update(S.EXCEPTION)
    newer = late_exception.occurred_at + timedelta(hours=1)
    assert not supersedes(S.IN_TRANSIT, newer, late_exception)
    assert supersedes(S.IN_TRANSIT, late_exception.occurred_at - timedelta(hours=1), late_exception)
    assert supersedes(S.LABEL_CREATED, None, _update())
    assert not supersedes(S.DELIVERED, datetime(2000, 1, 1, tzinfo=UTC), _update())
