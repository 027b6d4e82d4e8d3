"""The analytics consumer's guards: two batches on one order count its change once, and a batch that
read the order before another batch recorded a later state never writes the older figures over it."""

from __future__ import annotations

import pytest

from shared.services import analytics
from tests.service.analytics_fixture import D1, fixture_orders, store

pytestmark = pytest.mark.unit


def o1(states: int):
    order = next(o for o in fixture_orders() if o.order_id == "o1")
    return order.model_copy(update={"history": order.history[:states], "status": order.history[states - 1].status})


def web_day(repos) -> dict:
    return dict(next(repos.analytics.day_aggregates(1, analytics.Dimension.MARKET, D1))[1])


def test_two_batches_recording_one_change_at_once_count_it_once(repos, monkeypatch):
    store(repos, [o1(1)])
    real = type(repos.store).transact
    other_ran = []

    def transact(self, writes):
        if not other_ran:  # the other batch commits between our reads and our write
            other_ran.append(True)
            analytics.refresh(["o1"], repos)
        return real(self, writes)

    monkeypatch.setattr(type(repos.store), "transact", transact)
    report = analytics.refresh(["o1"], repos)

    assert web_day(repos)["n"] == 1 and web_day(repos)["u"] == 3 and web_day(repos)["na"] == 1
    assert report.retried == 1  # refused once (the revision moved), then found nothing left to add


def test_a_batch_that_read_an_older_state_never_writes_it_over_a_later_one(repos, monkeypatch):
    store(repos, [o1(1)])
    analytics.refresh(["o1"], repos)
    store(repos, [o1(2)])  # shipped: what our batch reads
    real = type(repos.analytics).contributions
    other_ran = []

    def contributions(self, generation, keys):
        if not other_ran:  # delivered, and recorded by another batch after our order read
            other_ran.append(True)
            store(repos, [o1(3)])
            analytics.refresh(["o1"], repos)
        return real(self, generation, keys)

    monkeypatch.setattr(type(repos.analytics), "contributions", contributions)
    analytics.refresh(["o1"], repos)

    figures = web_day(repos)
    assert (figures.get("ns"), figures.get("nd"), figures.get("nt")) == (1, 1, 1)
    recorded = repos.analytics.contributions(1, [(D1, "o1")])["o1"]
    assert recorded.version == repos.orders.get("o1").version
