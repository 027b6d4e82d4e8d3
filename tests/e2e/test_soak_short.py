"""A short soak inside `make test`: orders through the local runtime with every kind of fault injected
(bench/soak.py, bench/soak_faults.py), then every invariant checked over the whole table
(bench/invariants). `make soak` runs the long one; docs/reliability.md explains both."""

from __future__ import annotations

import pytest

from bench import soak
from bench.soak_faults import KINDS, FaultRates

pytestmark = pytest.mark.e2e

ORDERS = 40
SEED = 20261204
# Higher than the long soak's rates, so that each kind of fault happens in a run this short.
RATES = FaultRates(throttled=0.02, transaction_cancelled=0.06, timeout_before=0.01, timeout_after=0.02, died=0.05,
                   provider_answer_lost=0.3)


def test_a_short_soak_with_faults_of_every_kind_breaks_no_invariant():
    result = soak.run(ORDERS, SEED, workers=20, rates=RATES, progress=False)
    printed = soak.report(result)
    assert result.report.violations == [], printed
    assert {kind: result.faults[kind] for kind in KINDS if not result.faults[kind]} == {}, printed
    assert not [o for o in result.outcomes if o.problem], printed
    assert result.report.skipped == [], printed
