"""Tests by cost: unit (pure), integration (handlers on moto), infra (CDK synth), e2e (local runtime).

Each folder's tests get its marker, so `make test-unit` etc. select them.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: timing belongs in benchmarks, and a property must not fail because the
# machine running it is busy (CI has two cores shared by pytest's workers).
settings.register_profile("oms", deadline=None)
settings.load_profile("oms")

_MARKERS = {"unit", "integration", "infra", "e2e"}


def pytest_collection_modifyitems(items):
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in _MARKERS:
            item.add_marker(getattr(pytest.mark, folder))


# Tests that read today's date (reports by day, simulations' date limits, month partitions) compare it
# with what the handlers stamp. Across midnight UTC those are two days, and a run that crossed it failed
# three tests. So no test starts within this margin of midnight: it waits until the day has turned.
DAY_TURN_MARGIN = timedelta(minutes=2)


def seconds_to_wait_for_the_day(now: datetime) -> float:
    """0 when midnight UTC is at least the margin away, else until a second past it."""
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return 0.0 if midnight - now >= DAY_TURN_MARGIN else (midnight - now).total_seconds() + 1


@pytest.fixture(autouse=True)
def _the_day_does_not_turn_during_a_test():
    if wait := seconds_to_wait_for_the_day(datetime.now(UTC)):
        time.sleep(wait)


@pytest.fixture
def today(_the_day_does_not_turn_during_a_test) -> date:
    """Today in UTC, read when the test starts (never at collection, which may be on the day before)."""
    return datetime.now(UTC).date()
