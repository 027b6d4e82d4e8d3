"""The pure rules under the report aggregates: shares add up to the whole, a delta takes the old
contribution to the new one, percentiles are read inside their bucket."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.analytics import BUCKETS_H, Contribution, Dimension, bucket, delta, merge, share
from shared.domain.reports import percentile, to_csv

pytestmark = pytest.mark.unit

weights = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 10_000), max_size=4)


@given(st.integers(0, 10**12), weights)
def test_shares_add_up_to_the_whole_and_follow_the_weights(total, w):
    parts = share(total, w)
    assert set(parts) == set(w)
    if w:
        assert sum(parts.values()) == total and all(p >= 0 for p in parts.values())
    for k in w:
        if sum(w.values()):
            assert abs(parts[k] - total * w[k] / sum(w.values())) < 1 + 1e-6 * total


cells = st.dictionaries(st.tuples(st.sampled_from(list(Dimension)), st.sampled_from(["x", "y", "-"])),
                        st.dictionaries(st.sampled_from(["n", "u", "g_EUR", "ha3"]), st.integers(-5, 5), min_size=1),
                        max_size=5)


def nonzero(c: dict) -> dict:
    return {k: {m: v for m, v in ms.items() if v} for k, ms in c.items() if any(ms.values())}


@given(cells, cells)
def test_a_delta_takes_the_recorded_contribution_to_the_new_one(old, new):
    day = date(2026, 3, 1)
    before = Contribution("o1", day, 1, "web#c", cells=old)
    after = Contribution("o1", day, 2, "web#c", cells=new)
    applied = {k: dict(v) for k, v in old.items()}
    merge(applied, delta(before, after))
    assert nonzero(applied) == nonzero(new)
    assert delta(after, after) == {}


def test_durations_fall_in_their_bucket_and_percentiles_interpolate_inside_it():
    assert [bucket(h) for h in (0, 1, 1.01, 12, 336, 337)] == [0, 0, 1, 4, 10, len(BUCKETS_H)]
    assert percentile({}, 0.5) is None
    assert percentile({4: 4}, 0.5) == 10.0  # (8, 12]: half-way
    assert percentile({0: 1, 6: 1}, 0.5) == 1.0 and percentile({0: 1, 6: 1}, 0.9) == 43.2
    assert percentile({11: 2}, 0.5) == 528.0  # the open bucket, read as (336, 720]


def test_csv_flattens_nested_fields_and_defuses_formulas_in_groups():
    text = to_csv([{"group": "=cmd()", "gross": {"EUR": "1.00"}, "base": {"net": None}},
                   {"group": "-", "gross": {"USD": "-2.00"}, "base": {"net": "-2.00"}}])
    assert text.splitlines() == ["group,gross_EUR,base_net,gross_USD", "'=cmd(),1.00,,", "-,,-2.00,-2.00"]
