"""The demand history the forecast reads: AnalyticsRepository.daily_units, per SKU and fulfilling
location and capture day, from the aggregates the analytics consumer keeps."""

from __future__ import annotations

from datetime import date

from shared.adapters.analytics_repo import AnalyticsRepository
from shared.domain.analytics import UNALLOCATED, Dimension


def test_daily_units_gives_every_day_of_the_range_with_zero_where_nothing_was_ordered(repos):
    analytics: AnalyticsRepository = repos.analytics
    gen = analytics.live_generation()
    repos.commit(analytics.add(gen, Dimension.SKU, date(2026, 3, 1), "TEE-M#WH-1", {"u": 3, "n": 1}),
                 analytics.add(gen, Dimension.SKU, date(2026, 3, 3), "TEE-M#WH-1", {"u": 2, "n": 1}),
                 analytics.add(gen, Dimension.SKU, date(2026, 3, 3), "TEE-M#WH-2", {"u": 7, "n": 1}),
                 analytics.add(gen, Dimension.SKU, date(2026, 3, 3), f"TEE-M#{UNALLOCATED}", {"u": 4, "n": 1}))
    repos.commit(analytics.add(gen, Dimension.SKU, date(2026, 3, 3), "TEE-M#WH-1", {"u": -1}))

    units = analytics.daily_units("TEE-M", "WH-1", date(2026, 2, 28), date(2026, 3, 4))

    assert units == {date(2026, 2, 28): 0, date(2026, 3, 1): 3, date(2026, 3, 2): 0, date(2026, 3, 3): 1,
                     date(2026, 3, 4): 0}
    assert analytics.daily_units("TEE-M", UNALLOCATED, date(2026, 3, 3), date(2026, 3, 3)) == {date(2026, 3, 3): 4}


def test_daily_units_reads_a_long_range_in_batches(repos):
    analytics: AnalyticsRepository = repos.analytics
    gen = analytics.live_generation()
    repos.commit(analytics.add(gen, Dimension.SKU, date(2026, 12, 31), "TEE-M#WH-1", {"u": 5}))

    units = analytics.daily_units("TEE-M", "WH-1", date(2026, 1, 1), date(2026, 12, 31))

    assert len(units) == 365 and sum(units.values()) == 5 and units[date(2026, 12, 31)] == 5
