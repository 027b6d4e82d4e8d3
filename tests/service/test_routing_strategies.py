"""Routing strategies and the shipping profile as stored data, on the in-memory store: every save a
new version with who and when, a repeated save none; racing saves serialised into consecutive
versions; the checks against channels and locations; and the cached read allocation uses."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.adapters import routing_repo
from shared.domain.principal import OPERATOR, Principal
from shared.domain.routing_strategy import (
    MAX_STRATEGIES,
    AllowLocations,
    Conditions,
    DenyLocations,
    MeetsPromise,
    RankBy,
    Ranking,
    Shortfall,
    StrategyRequest,
)
from shared.domain.shipping_profile import Rate, ShippingProfile
from shared.errors import AccessDenied, InvalidInput, NotFound
from shared.services import routing_strategies as routing
from shared.services.routing_strategies import put_strategy
from tests.factories import NOW, TWO_WAREHOUSES, seed
from tests.service.flows import interleave

pytestmark = pytest.mark.unit

OPERATOR_PRINCIPAL = Principal(OPERATOR)


def strategy(*criteria, **fields) -> StrategyRequest:
    return StrategyRequest(name="test", criteria=list(criteria) or [RankBy(by=Ranking.NEAREST)], **fields)


@pytest.fixture
def located(repos):
    seed(repos, TWO_WAREHOUSES, {})
    return repos


def test_a_repeated_save_writes_no_new_version(located):
    repos = located
    first = put_strategy("s", strategy(), OPERATOR_PRINCIPAL, repos, NOW)
    again = put_strategy("s", strategy(), OPERATOR_PRINCIPAL, repos, NOW + timedelta(minutes=1))

    assert (first.created, first.changed, again.created, again.changed) == (True, True, False, False)
    assert again.strategy == first.strategy
    assert [v.version for v in repos.routing.versions("s", 10, None)[0]] == [1]


def test_versions_stay_readable_with_who_and_when(located):
    repos = located
    later = NOW + timedelta(hours=1)
    put_strategy("s", strategy(RankBy(by=Ranking.PRIORITY)), OPERATOR_PRINCIPAL, repos, NOW)
    put_strategy("s", strategy(RankBy(by=Ranking.NEAREST)), OPERATOR_PRINCIPAL, repos, later)

    first, second = repos.routing.version("s", 1), repos.routing.version("s", 2)

    assert (first.rankings, first.updated_at, first.updated_by) == ((Ranking.PRIORITY,), NOW, OPERATOR)
    assert (second.rankings, second.updated_at) == ((Ranking.NEAREST,), later)
    assert repos.routing.strategy("s")[0] == second


def test_a_save_racing_another_is_written_after_it_and_neither_is_lost(located, monkeypatch):
    """Guard: the current item's version condition. The other save commits between our read and our
    write: ours is refused, read again and written as the next version."""
    repos = located
    put_strategy("s", strategy(RankBy(by=Ranking.PRIORITY)), OPERATOR_PRINCIPAL, repos, NOW)
    interleave(monkeypatch, repos, lambda: put_strategy("s", strategy(RankBy(by=Ranking.NEAREST)),
                                                        OPERATOR_PRINCIPAL, repos, NOW))

    ours = put_strategy("s", strategy(RankBy(by=Ranking.FEWEST_PARCELS)), OPERATOR_PRINCIPAL, repos, NOW)

    assert ours.strategy.version == 3
    versions, _ = repos.routing.versions("s", 10, None)
    assert [(v.version, v.rankings) for v in versions] == [
        (3, (Ranking.FEWEST_PARCELS,)), (2, (Ranking.NEAREST,)), (1, (Ranking.PRIORITY,))]


def test_concurrent_saves_give_consecutive_versions(located):
    repos = located
    bodies = [strategy(RankBy(by=r)) for r in (Ranking.PRIORITY, Ranking.NEAREST, Ranking.FASTEST, Ranking.BALANCE_LOAD)]
    start = threading.Barrier(len(bodies))

    written = []

    def save(body):
        start.wait()
        written.append(put_strategy("s", body, OPERATOR_PRINCIPAL, repos, NOW).strategy.version)

    _run([threading.Thread(target=save, args=(b,)) for b in bodies])

    versions, _ = repos.routing.versions("s", 10, None)
    assert sorted(v.version for v in versions) == sorted(written) == [1, 2, 3, 4]
    assert sorted(v.rankings[0] for v in versions) == sorted(b.rankings[0] for b in bodies)


def test_at_most_fifty_strategies_and_a_full_set_can_still_change(located):
    repos = located
    for n in range(MAX_STRATEGIES):
        put_strategy(f"s-{n}", strategy(), OPERATOR_PRINCIPAL, repos, NOW)

    with pytest.raises(InvalidInput) as refused:
        put_strategy("one-more", strategy(), OPERATOR_PRINCIPAL, repos, NOW)

    assert refused.value.field == "strategy_id"
    assert put_strategy("s-7", strategy(RankBy(by=Ranking.PRIORITY)), OPERATOR_PRINCIPAL, repos, NOW).changed
    assert len(repos.routing.current().strategies) == MAX_STRATEGIES


def test_two_creations_racing_for_the_last_place_cannot_both_win(located, monkeypatch):
    """Guard: the count item's condition. Another creation commits between our read (49 strategies) and
    our write: ours is refused, reads again, finds 50 and is refused with a 422."""
    repos = located
    for n in range(MAX_STRATEGIES - 1):
        put_strategy(f"s-{n}", strategy(), OPERATOR_PRINCIPAL, repos, NOW)
    interleave(monkeypatch, repos, lambda: put_strategy("theirs", strategy(), OPERATOR_PRINCIPAL, repos, NOW))

    with pytest.raises(InvalidInput):
        put_strategy("ours", strategy(), OPERATOR_PRINCIPAL, repos, NOW)

    assert len(repos.routing.current().strategies) == MAX_STRATEGIES
    assert repos.routing.strategy("theirs") is not None and repos.routing.strategy("ours") is None


def test_the_built_in_id_is_reserved_and_readable(located):
    with pytest.raises(InvalidInput) as refused:
        put_strategy("default", strategy(), OPERATOR_PRINCIPAL, located, NOW)
    assert refused.value.field == "strategy_id"
    assert routing.get_strategy("default", OPERATOR_PRINCIPAL, located).version == 0
    assert [s.strategy_id for s in routing.list_strategies(OPERATOR_PRINCIPAL, located)] == ["default"]


@pytest.mark.parametrize(("body", "field"), [
    (strategy(when_short=Shortfall.PARTIAL, conditions=Conditions(channels=["web"])), "when_short"),
    (strategy(allow_split=True, conditions=Conditions(channels=["web", "pos"])), "allow_split"),
    (strategy(conditions=Conditions(channels=["web", "nowhere"])), "conditions.channels.1"),
    (strategy(RankBy(by=Ranking.NEAREST), AllowLocations(location_ids=["BER", "PAR"])), "criteria.1.location_ids"),
    (strategy(DenyLocations(location_ids=["LIS"]), RankBy(by=Ranking.NEAREST)), "criteria.0.location_ids"),
])
def test_contradictions_and_unknown_names_are_refused_naming_the_field(located, body, field):
    with pytest.raises(InvalidInput) as refused:
        put_strategy("s", body, OPERATOR_PRINCIPAL, located, NOW)

    assert refused.value.field == field
    assert routing.list_strategies(OPERATOR_PRINCIPAL, located)[0].strategy_id == "default"  # nothing written


def test_what_a_channel_allows_is_accepted(located):
    marketplace = strategy(when_short=Shortfall.PARTIAL, allow_split=True,
                           conditions=Conditions(channels=["marketplace"]))
    no_split_anywhere = strategy(allow_split=False, when_short=Shortfall.HOLD)

    assert put_strategy("m", marketplace, OPERATOR_PRINCIPAL, located, NOW).strategy.version == 1
    assert put_strategy("n", no_split_anywhere, OPERATOR_PRINCIPAL, located, NOW).strategy.version == 1


def test_notices_name_criteria_that_cannot_be_estimated_yet(located):
    written = put_strategy("s", strategy(MeetsPromise(), RankBy(by=Ranking.LOWEST_COST)), OPERATOR_PRINCIPAL, located,
                           NOW)
    assert [n.field for n in written.notices] == ["criteria.0", "criteria.1"]

    routing.put_profile(ShippingProfile(rates=[Rate(zone="domestic", max_weight_kg=Decimal(5), price=Decimal(4))]),
                        OPERATOR_PRINCIPAL, located, NOW)
    again = put_strategy("s", strategy(MeetsPromise(), RankBy(by=Ranking.LOWEST_COST)), OPERATOR_PRINCIPAL, located,
                         NOW)
    assert [n.field for n in again.notices] == ["criteria.0"]


def test_only_an_operator_reads_or_changes_routing(located):
    web = Principal("web")
    for call in (lambda: put_strategy("s", strategy(), web, located, NOW),
                 lambda: routing.list_strategies(web, located),
                 lambda: routing.get_profile(web, located),
                 lambda: routing.put_profile(ShippingProfile(), web, located, NOW)):
        with pytest.raises(AccessDenied):
            call()


def test_unknown_strategies_and_versions_are_not_found(located):
    put_strategy("s", strategy(), OPERATOR_PRINCIPAL, located, NOW)
    for call, field in ((lambda: routing.get_strategy("t", OPERATOR_PRINCIPAL, located), "strategy_id"),
                        (lambda: routing.strategy_versions("t", OPERATOR_PRINCIPAL, located, 10, None), "strategy_id"),
                        (lambda: routing.strategy_version("s", 2, OPERATOR_PRINCIPAL, located), "version")):
        with pytest.raises(NotFound) as missing:
            call()
        assert missing.value.field == field


def test_a_strategy_too_large_to_store_is_refused(located):
    many = [f"L{n:04d}-{'x' * 30}" for n in range(500)]
    body = strategy(RankBy(by=Ranking.NEAREST), *[DenyLocations(location_ids=many) for _ in range(19)])

    with pytest.raises(InvalidInput) as refused:
        put_strategy("s", body, OPERATOR_PRINCIPAL, located, NOW)
    assert refused.value.field == "criteria"


def test_the_profile_is_versioned_and_a_repeat_writes_nothing(located):
    profile = ShippingProfile(rates=[Rate(zone="domestic", max_weight_kg=Decimal(5), price=Decimal("4.90"))])
    first = routing.put_profile(profile, OPERATOR_PRINCIPAL, located, NOW)
    again = routing.put_profile(profile, OPERATOR_PRINCIPAL, located, NOW)
    other = routing.put_profile(ShippingProfile(), OPERATOR_PRINCIPAL, located, NOW + timedelta(hours=1))

    assert (first.stored.version, first.changed, again.changed, other.stored.version) == (1, True, False, 2)
    stored = routing.get_profile(OPERATOR_PRINCIPAL, located)
    assert (stored.version, stored.updated_by, stored.profile) == (2, OPERATOR, ShippingProfile())


def test_without_a_stored_profile_every_order_shares_the_defaults_and_their_estimator(located):
    from shared.domain.routing_estimates import estimator_for

    first, again = located.routing.profile_cached(), located.routing.profile_cached()

    assert first is again and first == ShippingProfile()
    assert estimator_for(first) is estimator_for(again)  # built once, not once per order


def test_allocation_reads_strategies_and_profile_once_a_minute(located, monkeypatch):
    """One Query serves both, and another only after a minute: no request per order."""
    repos = located
    clock = [1000.0]
    monkeypatch.setattr(routing_repo.time, "monotonic", lambda: clock[0])
    put_strategy("s", strategy(), OPERATOR_PRINCIPAL, repos, NOW)
    queries = []
    counting = [True]  # not the other container's save (a creation reads the partition to count strategies)
    real = type(repos.store).query_all
    monkeypatch.setattr(type(repos.store), "query_all", lambda self, key, **kw: (
        queries.append(key) if counting[0] else None) or real(self, key, **kw))

    seen = [repos.routing.strategies_cached(), repos.routing.profile_cached(), repos.routing.strategies_cached()]
    counting[0] = False
    routing.put_strategy("t", strategy(rank=1), OPERATOR_PRINCIPAL, _other_container(repos), NOW)
    counting[0] = True
    still = repos.routing.strategies_cached()
    clock[0] += routing_repo.CACHE_SECONDS + 1
    fresh = repos.routing.strategies_cached()

    assert [s.strategy_id for s in seen[0]] == [s.strategy_id for s in still] == ["s"]
    assert sorted(s.strategy_id for s in fresh) == ["s", "t"]
    assert len([q for q in queries if q.partition == routing_repo.PK]) == 2


def _other_container(repos):
    """Repositories over the same store with caches of their own: another warm Lambda container."""
    from shared.repositories import Repositories

    return Repositories.on(repos.store)


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()
