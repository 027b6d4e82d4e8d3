"""A report's totals over groups that split the whole: each group's sums added (shared/domain/reports.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain.reports import Row

pytestmark = pytest.mark.unit


def test_totals_add_every_groups_counts_amounts_and_missing_rates():
    totals = Row("total")
    totals.add_row(Row("web", metrics={"n": 2, "g_EUR": 500}, base={"g": Decimal("5.00")}))
    totals.add_row(Row("pos", metrics={"n": 1, "g_USD": 300}, base={"g": Decimal("2.50")}, base_missing=True))
    totals.add_row(Row("b2b", metrics={"n": 4}))
    assert totals.metrics == {"n": 7, "g_EUR": 500, "g_USD": 300}
    assert totals.base == {"g": Decimal("7.50")} and totals.base_missing
