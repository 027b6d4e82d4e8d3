"""The merchant's routing strategies and shipping profile: save (every change a new version, with who
and when), read, list; and the checks a strategy must pass against the channels and locations it names.

A save reads the current version and writes the next one conditioned on it (one transaction: the
current item and the immutable version item). A concurrent save of the same strategy makes ours
refused: we read again and write the version after theirs, so two saves give two consecutive
versions and neither is lost. A save of exactly what is current writes nothing and answers the
current version (a retried PUT makes no spurious version).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.routing_repo import StoredProfile, fingerprint
from shared.domain.principal import Principal
from shared.domain.routing_strategy import (
    DEFAULT_STRATEGY,
    DEFAULT_STRATEGY_ID,
    MAX_STRATEGIES,
    AllowLocations,
    DenyLocations,
    MeetsPromise,
    Ranking,
    RoutingStrategy,
    Shortfall,
    StrategyRequest,
)
from shared.domain.shipping_profile import ShippingProfile
from shared.errors import AccessDenied, Busy, InvalidInput, NotFound
from shared.repositories import Repositories
from shared.unit_of_work import CommitFailed

ATTEMPTS = 5
# A version is written twice (current and version items), each under DynamoDB's 400 KB item limit.
MAX_DOC_CHARS = 300_000


@dataclass(frozen=True)
class Notice:
    """Something the merchant should know about a saved strategy that does not make it wrong."""

    field: str
    problem: str


@dataclass(frozen=True)
class StrategyWritten:
    strategy: RoutingStrategy
    created: bool  # this PUT wrote version 1
    changed: bool  # this PUT wrote a new version (false: the body was already current)
    notices: list[Notice]


@dataclass(frozen=True)
class ProfileWritten:
    stored: StoredProfile
    changed: bool


# ------------------------------------------------------------------ strategies


def put_strategy(strategy_id: str, body: StrategyRequest, principal: Principal, repos: Repositories,
                 now: datetime) -> StrategyWritten:
    _operator(principal)
    if strategy_id == DEFAULT_STRATEGY_ID:
        raise InvalidInput(f"{DEFAULT_STRATEGY_ID} is the built-in strategy's id: choose another", field="strategy_id")
    _fits(body.model_dump_json(), "criteria")
    notices = check_strategy(body, repos, now)
    body_fp = fingerprint(body)

    def attempt() -> StrategyWritten:
        found = repos.routing.strategy(strategy_id)
        if found is not None and found[1] == body_fp:
            return StrategyWritten(found[0], created=False, changed=False, notices=notices)
        among = None
        if found is None:  # a new strategy: within the cap (the count item's condition settles a race)
            among = repos.routing.current()
            if len(among.strategies) >= MAX_STRATEGIES and strategy_id not in among.strategies:
                raise InvalidInput(f"there are {len(among.strategies)} strategies, the most there may be: change "
                                   "or deactivate one of them instead of adding another", field="strategy_id")
        version = found[0].version + 1 if found else 1
        strategy = RoutingStrategy.model_validate({**dict(body), "strategy_id": strategy_id, "version": version,
                                                   "updated_at": now, "updated_by": principal.name})
        repos.commit(repos.routing.save_strategy(strategy, body_fp, among))
        return StrategyWritten(strategy, created=version == 1, changed=True, notices=notices)

    return _retried(attempt, f"routing strategy {strategy_id}")


def check_strategy(body: StrategyRequest, repos: Repositories, now: datetime) -> list[Notice]:
    """InvalidInput (422) naming the field for what contradicts the channels or locations it names;
    notices for what is allowed but will not do much yet. (Unknown criteria, empty rankings and bad
    conditions are refused by the model itself.)"""
    from shared.domain.channels import policy_of

    for i, channel_id in enumerate(body.conditions.channels or []):
        channel = repos.channels.get(channel_id, now)
        if channel is None:
            raise InvalidInput(f"no channel {channel_id}", field=f"conditions.channels.{i}")
        policy = policy_of(channel.settings)
        if body.when_short is Shortfall.PARTIAL and not policy.allow_partial:
            raise InvalidInput(f"channel {channel_id} does not allow partial allocation: when_short cannot be "
                               "partial for its orders", field="when_short")
        if body.allow_split is True and not policy.allow_split:
            raise InvalidInput(f"channel {channel_id} does not allow split shipments: allow_split cannot be true "
                               "for its orders", field="allow_split")
    locations = repos.locations.all()
    known = {loc.location_id for loc in locations}
    for i, criterion in enumerate(body.criteria):
        if isinstance(criterion, AllowLocations | DenyLocations):
            unknown = [loc for loc in criterion.location_ids if loc not in known]
            if unknown:
                raise InvalidInput(f"unknown locations {', '.join(unknown[:10])}", field=f"criteria.{i}.location_ids")
    return _notices(body, locations, repos)


def _notices(body: StrategyRequest, locations: list, repos: Repositories) -> list[Notice]:
    notices = []
    timed = any(getattr(loc, "transit_days", None) for loc in locations if loc.active)
    for i, criterion in enumerate(body.criteria):
        needs_transit = isinstance(criterion, MeetsPromise) or getattr(criterion, "by", None) is Ranking.FASTEST
        if needs_transit and not timed:
            notices.append(Notice(f"criteria.{i}", "no active location has transit days by zone (transit_days) yet: "
                                                   "no delivery date can be estimated until one has"))
        if getattr(criterion, "by", None) is Ranking.LOWEST_COST and not _has_rates(repos):
            notices.append(Notice(f"criteria.{i}", "the shipping profile has no rates yet: shipping costs cannot be "
                                                   "estimated until PUT /routing/shipping-profile sets them"))
    return notices


def _has_rates(repos: Repositories) -> bool:
    stored = repos.routing.profile()
    return stored is not None and bool(stored.profile.rates)


def list_strategies(principal: Principal, repos: Repositories) -> list[RoutingStrategy]:
    """The current versions in the order they are tried (rank, then id; inactive ones too, marked),
    then the built-in default, which routes whatever none of them matches."""
    _operator(principal)
    current = [s for s, _ in repos.routing.current().strategies.values()]
    return sorted(current, key=lambda s: (s.rank, s.strategy_id)) + [DEFAULT_STRATEGY]


def get_strategy(strategy_id: str, principal: Principal, repos: Repositories) -> RoutingStrategy:
    _operator(principal)
    if strategy_id == DEFAULT_STRATEGY_ID:
        return DEFAULT_STRATEGY
    found = repos.routing.strategy(strategy_id)
    if found is None:
        raise NotFound(f"no routing strategy {strategy_id}", field="strategy_id")
    return found[0]


def strategy_versions(strategy_id: str, principal: Principal, repos: Repositories, limit: int,
                      cursor: str | None) -> tuple[list[RoutingStrategy], str | None]:
    """Newest first, a page at a time."""
    _operator(principal)
    if strategy_id == DEFAULT_STRATEGY_ID:
        return [DEFAULT_STRATEGY], None
    found, next_cursor = repos.routing.versions(strategy_id, limit, cursor)
    if not found and cursor is None:
        raise NotFound(f"no routing strategy {strategy_id}", field="strategy_id")
    return found, next_cursor


def strategy_version(strategy_id: str, version: int, principal: Principal, repos: Repositories) -> RoutingStrategy:
    _operator(principal)
    if strategy_id == DEFAULT_STRATEGY_ID and version == DEFAULT_STRATEGY.version:
        return DEFAULT_STRATEGY
    found = repos.routing.version(strategy_id, version)
    if found is None:
        raise NotFound(f"routing strategy {strategy_id} has no version {version}", field="version")
    return found


# ------------------------------------------------------------------ shipping profile


def put_profile(body: ShippingProfile, principal: Principal, repos: Repositories, now: datetime) -> ProfileWritten:
    _operator(principal)
    _fits(body.model_dump_json(), "body")
    body_fp = fingerprint(body)

    def attempt() -> ProfileWritten:
        found = repos.routing.profile()
        if found is not None and found.fingerprint == body_fp:
            return ProfileWritten(found, changed=False)
        stored = StoredProfile(body, found.version + 1 if found else 1, now, principal.name, body_fp)
        repos.commit(repos.routing.save_profile(stored))
        return ProfileWritten(stored, changed=True)

    return _retried(attempt, "the shipping profile")


def get_profile(principal: Principal, repos: Repositories) -> StoredProfile | None:
    """The profile as last saved, or None: the defaults apply (no zones, no rates, 0.5 kg a unit)."""
    _operator(principal)
    return repos.routing.profile()


# ------------------------------------------------------------------ helpers


def _operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise AccessDenied("only an operator may read or change routing")


def _fits(doc: str, field: str) -> None:
    if len(doc) > MAX_DOC_CHARS:
        raise InvalidInput(f"too large to store: {len(doc)} characters, at most {MAX_DOC_CHARS}", field=field)


def _retried[T](attempt: Callable[[], T], what: str) -> T:
    for n in range(ATTEMPTS):
        try:
            return attempt()
        except CommitFailed:
            # Another save committed between our read and our write: read it, write after it.
            time.sleep(random.uniform(0, 0.005 * 2**n))
    raise Busy(f"{what} is changing too fast; retry")
