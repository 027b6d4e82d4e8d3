"""Channels: the only module that knows their keys. A merchant has tens of channels, not millions: all
live in one partition.

Access patterns (docs/data-model.md):
- all channels: Query pk=CHANNEL; one channel: pk=CHANNEL, sk=<channel id>
- API key id -> channel: pk=CHANNEL_KEY#<key id>, sk=CHANNEL (written with the channel when its key is
  issued; the functions resolve a caller's key through it)
- webhook deliveries taken: pk=CHANNEL_WEBHOOK#<channel id>, sk=<delivery id> (7 days, then TTL)
- signed payloads that are no order: pk=CHANNEL_REJECT#<channel id>, sk=<received at>#<delivery id>
  (30 days, then TTL)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared.adapters.expressions import NEW, Delete, KeyQuery, Put, eq
from shared.unit_of_work import AlreadyApplied, AlreadyExists, StaleVersion, Store

if TYPE_CHECKING:  # the channel models are built on first use: most functions never read a channel
    from shared.config import ChannelPolicy
    from shared.domain.channels import Channel

PK = "CHANNEL"
KEY_SK = "CHANNEL"
CACHE_SECONDS = 60.0  # a change applies to every function within a minute
DELIVERY_RETENTION = timedelta(days=7)  # Shopify retries a delivery for up to 48 hours
REJECT_RETENTION = timedelta(days=30)
MAX_KEPT_BODY = 300_000  # characters of a refused payload kept (the item stays under 400 KB)


def key_pk(key_id: str) -> str:
    return f"CHANNEL_KEY#{key_id}"


class ChannelRepository:
    def __init__(self, store: Store):
        self.store = store
        self._cache: dict[str, tuple[float, Channel | None]] = {}
        self._keys: dict[str, tuple[float, str | None]] = {}

    # ------------------------------------------------------------------ channels

    def get(self, channel_id: str, now: datetime) -> Channel | None:
        """The channel as configured, else the built-in seed of that name, else None."""
        from shared.domain.bounds import STORED
        from shared.domain.channels import Channel, seeded

        item = self.store.get(PK, channel_id)
        if item is None:
            return seeded(channel_id, now)
        return Channel.model_validate_json(item["doc"], context=STORED)

    def get_cached(self, channel_id: str, now: datetime) -> Channel | None:
        """`get`, re-read at most once a minute per warm container: a channel's settings change
        rarely, and reading them on every order would cost a request per order."""
        tick = time.monotonic()
        hit = self._cache.get(channel_id)
        if hit is None or tick - hit[0] > CACHE_SECONDS:
            hit = (tick, self.get(channel_id, now))
            self._cache[channel_id] = hit
        return hit[1]

    def policy(self, channel_id: str) -> ChannelPolicy:
        """Routing's view of a channel (split, partial, cash on delivery), cached like `get_cached`.
        A channel nobody configured gets the defaults."""
        from shared.domain.channels import ChannelSettings, policy_of

        found = self.get_cached(channel_id, datetime.now(UTC))
        return policy_of(found.settings if found else ChannelSettings())

    def configured(self) -> list[Channel]:
        from shared.domain.bounds import STORED
        from shared.domain.channels import Channel

        return [Channel.model_validate_json(i["doc"], context=STORED)
                for i in self.store.query_all(KeyQuery(PK), consistent=True)]

    def save(self, channel: Channel, expected_version: int | None) -> Put:
        """Create (`expected_version` None: refused AlreadyExists when someone created it first) or
        replace the version read (refused StaleVersion)."""
        self._cache.pop(channel.channel_id, None)
        item = {"pk": PK, "sk": channel.channel_id, "version": channel.version, "doc": channel.model_dump_json()}
        if expected_version is None:
            return Put(item, when=NEW, refused=lambda _old: AlreadyExists("channel", channel.channel_id))
        return Put(item, when=eq("version", expected_version),
                   refused=lambda _old: StaleVersion("channel", channel.channel_id))

    # ------------------------------------------------------------------ API keys

    def link_key(self, key_id: str, channel_id: str) -> Put:
        return Put({"pk": key_pk(key_id), "sk": KEY_SK, "channel_id": channel_id}, when=NEW,
                   refused=lambda old: AlreadyExists("channel_key", key_id, (old or {}).get("channel_id")))

    def unlink_key(self, key_id: str) -> Delete:
        """A rotated key names no channel from the moment the rotation commits, whether or not API
        Gateway could be told to disable it."""
        self._keys.pop(key_id, None)
        return Delete(key_pk(key_id), KEY_SK)

    def channel_for_key(self, key_id: str) -> str | None:
        """The channel an API key belongs to, cached a minute (a key is never moved to another
        channel; a miss is re-read at once so a channel's new key works on its first call)."""
        tick = time.monotonic()
        hit = self._keys.get(key_id)
        if hit is not None and hit[1] is not None and tick - hit[0] <= CACHE_SECONDS:
            return hit[1]
        item = self.store.get(key_pk(key_id), KEY_SK)
        found = item["channel_id"] if item else None
        self._keys[key_id] = (tick, found)
        return found

    # ------------------------------------------------------------------ webhook deliveries

    def take_delivery(self, channel_id: str, delivery_id: str, now: datetime) -> Put:
        """A channel's webhook delivery, taken once: a redelivery is refused AlreadyApplied. Written in
        the same transaction as what the delivery changed, so a crash leaves it untaken."""
        return Put({"pk": f"CHANNEL_WEBHOOK#{channel_id}", "sk": delivery_id[:512], "taken_at": now.isoformat(),
                    "expires_at": int((now + DELIVERY_RETENTION).timestamp())}, when=NEW,
                   refused=lambda old: AlreadyApplied(delivery_id, (old or {}).get("taken_at")))

    def delivery_taken(self, channel_id: str, delivery_id: str) -> bool:
        return self.store.get(f"CHANNEL_WEBHOOK#{channel_id}", delivery_id[:512]) is not None

    def keep_rejected(self, channel_id: str, delivery_id: str, topic: str, body: str, problem: str,
                      field: str | None, now: datetime) -> None:
        """A signed payload that is no order we can read: kept for an operator, never lost."""
        self.store.write(Put({
            "pk": f"CHANNEL_REJECT#{channel_id}", "sk": f"{now.isoformat()}#{delivery_id[:200]}",
            "topic": topic[:200], "problem": problem[:1000], "field": field, "body": body[:MAX_KEPT_BODY],
            "truncated": len(body) > MAX_KEPT_BODY, "received_at": now.isoformat(),
            "expires_at": int((now + REJECT_RETENTION).timestamp())}))

    def rejected(self, channel_id: str) -> list[dict]:
        return list(self.store.query_all(KeyQuery(f"CHANNEL_REJECT#{channel_id}"), consistent=True))
