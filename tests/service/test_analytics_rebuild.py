"""Rebuild and check: a rebuild of the stored orders gives the aggregates the consumer kept; a check
names the aggregate that drifted; a rebuild made live catches up with what changed while it ran."""

from __future__ import annotations

import pytest

from shared.adapters.analytics_repo import GenerationMoved
from shared.domain.analytics import Dimension
from shared.domain.orders import OrderStatus
from shared.services import analytics
from shared.services.analytics_rebuild import activate, check, rebuild
from shared.unit_of_work import Refused
from tests.service.analytics_fixture import D2, fixture_orders, fixture_returns, store

pytestmark = pytest.mark.unit
MONTHS = ["2026-03"]


@pytest.fixture
def recorded(repos):
    store(repos, fixture_orders(), fixture_returns())
    analytics.refresh([o.order_id for o in fixture_orders()], repos, {"o4": {"RMA-1", "RMA-2"}})
    return repos


def generation(repos, number: int) -> dict:
    """A generation's aggregates and contributions, keyed without the generation number."""
    prefix = f"AGG#{number}#"
    return {(i["pk"].removeprefix(prefix), i["sk"]): {k: v for k, v in i.items() if k not in ("pk", "sk", "rev")}
            for i in repos.store.with_prefix(prefix)}


def test_the_live_aggregates_agree_with_a_rebuild_and_a_drifted_one_is_named(recorded):
    assert check(recorded, MONTHS) == (5, [])

    recorded.commit(recorded.analytics.add(1, Dimension.MARKET, D2, "app#US", {"u": 1}))
    orders, differences = check(recorded, MONTHS)

    assert orders == 5 and [(d.day, d.dimension, d.value, d.metric, d.live, d.rebuilt) for d in differences] == [
        (D2, "market", "app#US", "u", 4, 3)]


def test_a_rebuild_writes_a_fresh_generation_equal_to_the_one_kept_by_events(recorded):
    built = rebuild(recorded, MONTHS)

    assert (built.generation, built.orders) == (2, 5)
    assert recorded.analytics.live_generation(fresh=True) == 1  # nothing reads it until it is made live
    ours, theirs = generation(recorded, 1), generation(recorded, 2)
    assert {k: v for k, v in ours.items() if v.get("x") is None} == {k: v for k, v in theirs.items() if v.get("x") is None}
    assert {k for k in ours} == {k for k in theirs}
    assert rebuild(recorded, MONTHS).generation == 3


def test_made_live_it_catches_up_with_changes_made_while_it_was_built(recorded):
    built = rebuild(recorded, MONTHS)
    o3 = next(o for o in fixture_orders() if o.order_id == "o3")
    store(recorded, [o3.model_copy(update={"status": OrderStatus.CANCELLED})])  # handled by the consumer in generation 1
    analytics.refresh(["o3"], recorded)

    caught_up = activate(recorded, built.generation, MONTHS, sleep=lambda _s: None)

    assert recorded.analytics.live_generation(fresh=True) == 2
    assert (caught_up.orders, caught_up.changed) == (5, 1)
    assert check(recorded, MONTHS) == (5, [])
    assert generation(recorded, 1) == {k: v for k, v in generation(recorded, 2).items()}


def test_a_switch_over_a_generation_that_another_switch_moved_is_refused(repos):
    """Two activations overlapping: the later one read generation 1 live before the other made 2 live.
    Its switch is conditioned on the generation read, so it is refused and 2 stays live (and keeps
    1 as its previous) instead of being replaced unseen."""
    repos.commit(repos.analytics.make_live(2, 1))
    with pytest.raises(Refused) as refused:
        repos.commit(repos.analytics.make_live(3, 1))
    assert refused.value.find(GenerationMoved) is not None
    assert repos.analytics.live_generation(fresh=True) == 2
