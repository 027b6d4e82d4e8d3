"""The suite's guard against a test running across midnight UTC (tests/conftest.py): one that starts
near midnight waits until the day has turned, so the date it reads is the date the handlers stamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import DAY_TURN_MARGIN, seconds_to_wait_for_the_day


def test_a_test_starting_well_before_midnight_does_not_wait():
    assert seconds_to_wait_for_the_day(datetime(2026, 12, 4, 12, 0, tzinfo=UTC)) == 0
    assert seconds_to_wait_for_the_day(datetime(2026, 12, 4, 0, 0, tzinfo=UTC)) == 0
    assert seconds_to_wait_for_the_day(datetime(2026, 12, 5, tzinfo=UTC) - DAY_TURN_MARGIN) == 0


def test_a_test_starting_near_midnight_waits_past_it_whatever_the_month_or_year():
    for midnight in (datetime(2026, 12, 5, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC),
                     datetime(2028, 3, 1, tzinfo=UTC)):
        start = midnight - timedelta(seconds=40)
        wait = seconds_to_wait_for_the_day(start)
        assert (start + timedelta(seconds=wait)).date() == midnight.date() and wait == 41
