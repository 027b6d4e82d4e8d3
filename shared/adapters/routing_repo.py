"""Routing strategies and the shipping profile: the only module that knows their keys.

A merchant has a handful of strategies, so every current one sits in one partition beside the
shipping profile: allocation reads all it needs to route with one Query, at most once a minute per
warm container. Every change is a new version; versions are immutable items of their own.

Access patterns (docs/data-model.md):
- current strategies and the shipping profile: Query pk=ROUTING (sk STRATEGY#<id>, SHIPPING_PROFILE,
  and STRATEGY_COUNT: how many strategies there are, written by every creation conditioned on the
  count it read, so two creations racing for the last place under the cap cannot both win)
- one strategy's current version: pk=ROUTING, sk=STRATEGY#<id>
- a strategy's versions, newest first: Query pk=ROUTING_STRATEGY#<id> (sk V#<10-digit version>)
- the shipping profile's versions: pk=SHIPPING_PROFILE, sk=V#<10-digit version>
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.cursors import decode_cursor, encode_cursor
from shared.adapters.expressions import NEW, KeyQuery, Put, SortRange, eq
from shared.domain.bounds import STORED
from shared.domain.routing_strategy import RoutingStrategy, StrategyRequest
from shared.domain.shipping_profile import DEFAULT_SHIPPING_PROFILE, ShippingProfile
from shared.unit_of_work import StaleVersion, Store

PK = "ROUTING"
PROFILE_SK = "SHIPPING_PROFILE"
PROFILE_VERSIONS_PK = "SHIPPING_PROFILE"
STRATEGY_PREFIX = "STRATEGY#"
COUNT_SK = "STRATEGY_COUNT"
CACHE_SECONDS = 60.0  # the issue: a change applies to every order routed from at most a minute later


def versions_pk(strategy_id: str) -> str:
    return f"ROUTING_STRATEGY#{strategy_id}"


def version_sk(version: int) -> str:
    return f"V#{version:010d}"  # zero-padded: the sort key orders versions numerically


def fingerprint(body: StrategyRequest | ShippingProfile) -> str:
    """The body as the merchant sent it, hashed: a PUT of what is already current writes nothing."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


@dataclass(frozen=True)
class StoredProfile:
    profile: ShippingProfile
    version: int
    updated_at: datetime
    updated_by: str
    fingerprint: str


@dataclass(frozen=True)
class Current:
    """What one Query of the routing partition answers."""

    strategies: dict[str, tuple[RoutingStrategy, str]]  # id -> (current version, its fingerprint)
    profile: StoredProfile | None
    counted: int | None = None  # the count item as read (None: none yet)


class RoutingRepository:
    def __init__(self, store: Store):
        self.store = store
        self._cache: tuple[float, Current] | None = None

    # ------------------------------------------------------------------ reads

    def current(self) -> Current:
        """Every current strategy and the profile (strongly consistent: a PUT's answer is what the
        next read shows)."""
        strategies: dict[str, tuple[RoutingStrategy, str]] = {}
        profile = None
        counted = None
        for item in self.store.query_all(KeyQuery(PK), consistent=True):
            if item["sk"] == PROFILE_SK:
                profile = _profile(item)
            elif item["sk"] == COUNT_SK:
                counted = int(item["count"])
            elif item["sk"].startswith(STRATEGY_PREFIX):
                strategy = _strategy(item)
                strategies[strategy.strategy_id] = (strategy, item["fingerprint"])
        return Current(strategies, profile, counted)

    def strategy(self, strategy_id: str) -> tuple[RoutingStrategy, str] | None:
        """The current version and its fingerprint, or None."""
        item = self.store.get(PK, STRATEGY_PREFIX + strategy_id)
        return None if item is None else (_strategy(item), item["fingerprint"])

    def version(self, strategy_id: str, version: int) -> RoutingStrategy | None:
        item = self.store.get(versions_pk(strategy_id), version_sk(version))
        return None if item is None else _strategy(item)

    def versions(self, strategy_id: str, limit: int, cursor: str | None) -> tuple[list[RoutingStrategy], str | None]:
        """Versions, newest first, a page at a time."""
        pk = versions_pk(strategy_id)
        start = decode_cursor(cursor, {"pk", "sk"}, ("pk", pk))
        items, last = self.store.query(KeyQuery(pk, SortRange.prefix("V#")), limit=limit, start_key=start,
                                       forward=False, consistent=True)
        return [_strategy(i) for i in items], encode_cursor(last)

    def profile(self) -> StoredProfile | None:
        item = self.store.get(PK, PROFILE_SK)
        return None if item is None else _profile(item)

    def strategies_cached(self) -> list[RoutingStrategy]:
        """The current strategies, re-read at most once a minute per warm container: routing every
        order on a read of its own would cost a request per order. An order routed on the previous
        minute's strategies is still a valid decision of a version that existed, and it records which."""
        return [s for s, _ in self._cached().strategies.values()]

    def profile_cached(self) -> ShippingProfile:
        """The shipping profile (the defaults until one is set, always the same object), from the same cached
        read."""
        stored = self._cached().profile
        return stored.profile if stored else DEFAULT_SHIPPING_PROFILE

    def _cached(self) -> Current:
        tick = time.monotonic()
        if self._cache is None or tick - self._cache[0] > CACHE_SECONDS:
            self._cache = (tick, self.current())
        return self._cache[1]

    # ------------------------------------------------------------------ writes

    def save_strategy(self, strategy: RoutingStrategy, body_fingerprint: str,
                      among: Current | None = None) -> list[Put]:
        """The new current version and its immutable version item, for one transaction. Conditioned
        on the version read (`strategy.version - 1`; none for version 1): a concurrent save is
        refused StaleVersion, and nothing of it is written. A creation (version 1) also writes the
        count of strategies, one more than `among` (what the caller read), conditioned on the count item
        as read: another creation since is refused StaleVersion."""
        self._cache = None
        doc = strategy.model_dump_json()
        common = {"version": strategy.version, "doc": doc, "fingerprint": body_fingerprint,
                  "updated_at": strategy.updated_at.isoformat(), "updated_by": strategy.updated_by}
        previous = strategy.version - 1
        refused = StaleVersion("routing_strategy", strategy.strategy_id)
        writes = [
            Put({"pk": PK, "sk": STRATEGY_PREFIX + strategy.strategy_id, **common},
                when=NEW if previous == 0 else eq("version", previous), refused=lambda _old: refused),
            Put({"pk": versions_pk(strategy.strategy_id), "sk": version_sk(strategy.version), **common}, when=NEW,
                refused=lambda _old: refused),
        ]
        if previous == 0:
            read = among or Current({}, None)
            writes.append(Put({"pk": PK, "sk": COUNT_SK, "count": len(read.strategies) + 1},
                              when=NEW if read.counted is None else eq("count", read.counted),
                              refused=lambda _old: refused))
        return writes

    def save_profile(self, stored: StoredProfile) -> list[Put]:
        """As `save_strategy`: the current profile under the version read, and its version item."""
        self._cache = None
        common = {"version": stored.version, "doc": stored.profile.model_dump_json(),
                  "fingerprint": stored.fingerprint, "updated_at": stored.updated_at.isoformat(),
                  "updated_by": stored.updated_by}
        previous = stored.version - 1
        refused = StaleVersion("shipping_profile", PROFILE_SK)
        return [
            Put({"pk": PK, "sk": PROFILE_SK, **common}, when=NEW if previous == 0 else eq("version", previous),
                refused=lambda _old: refused),
            Put({"pk": PROFILE_VERSIONS_PK, "sk": version_sk(stored.version), **common}, when=NEW,
                refused=lambda _old: refused),
        ]


def _strategy(item: dict) -> RoutingStrategy:
    return RoutingStrategy.model_validate_json(item["doc"], context=STORED)


def _profile(item: dict) -> StoredProfile:
    return StoredProfile(ShippingProfile.model_validate_json(item["doc"], context=STORED), int(item["version"]),
                         datetime.fromisoformat(item["updated_at"]), item["updated_by"], item["fingerprint"])
