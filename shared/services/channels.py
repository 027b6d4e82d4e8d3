"""Channels configured at run time: create or change one (issuing its API key on creation), rotate its
key, list them. The key's value is answered once, to the operator who asked; only its id is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.adapters.api_keys import IssuedKey
from shared.domain.channels import SEED_CHANNELS, Channel, ChannelSettings
from shared.domain.principal import CONSOLE, OPERATOR
from shared.errors import Busy, Conflict, InvalidInput, NotFound
from shared.repositories import Repositories
from shared.unit_of_work import AlreadyExists, Contention, Refused, StaleVersion

if TYPE_CHECKING:
    from shared.domain.events import ChannelChanged


class KeyIssuer(Protocol):
    def issue(self, channel_id: str, rate_limit_rps: int, burst_limit: int,
              usage_plan_id: str | None = None) -> IssuedKey: ...

    def throttle(self, usage_plan_id: str, rate_limit_rps: int, burst_limit: int) -> None: ...

    def set_enabled(self, key_id: str, enabled: bool) -> None: ...

    def withdraw(self, issued: IssuedKey) -> None: ...

    def retire(self, key_id: str, usage_plan_id: str | None) -> None: ...


@dataclass(frozen=True)
class ChannelWritten:
    channel: Channel
    created: bool
    api_key: str | None = None  # the new key's value: only when one was issued by this call


def put_channel(channel_id: str, wanted: ChannelSettings, by: str, repos: Repositories, keys: KeyIssuer,
                now: datetime) -> ChannelWritten:
    """Create the channel (with a key of its own, unless it is a seed channel whose key came with
    the stack) or replace its settings. Its kind cannot change: orders already taken in one format
    would be answered in another."""
    if channel_id == OPERATOR:
        raise InvalidInput(f"{OPERATOR!r} names the operator, not a channel", field="channel_id")
    if channel_id == CONSOLE:  # the console's key names nobody; a channel of that name would only confuse
        raise InvalidInput(f"{CONSOLE!r} names the operator console's key, not a channel", field="channel_id")
    _shop_is_free(channel_id, wanted, repos)
    current = repos.channels.get(channel_id, now)
    if current is None or current.seeded:
        return _create(channel_id, wanted, by, repos, keys, now, seed=current)
    if current.kind != wanted.kind:
        raise Conflict(f"channel {channel_id} is {current.kind.value}; its kind cannot change (create another "
                       "channel)", field="kind")
    changed = current.model_copy(update={"settings": wanted, "version": current.version + 1, "updated_at": now,
                                         "updated_by": by})
    try:
        repos.commit(repos.channels.save(changed, current.version), repos.events.publish(_announce(changed, False)))
    except Refused as refused:
        if refused.find(StaleVersion):
            raise Conflict(f"channel {channel_id} changed meanwhile; read it and retry", field="channel_id") from None
        raise
    except Contention:
        raise Busy("the channel could not be saved because of contention; retry") from None
    _sync_key(changed, keys)
    return ChannelWritten(changed, created=False)


def _sync_key(channel: Channel, keys: KeyIssuer) -> None:
    """The key and plan as the saved settings say, every time: a PUT repeated after a failed call
    here puts it right (the API also refuses an inactive channel's key by itself)."""
    if channel.usage_plan_id:
        keys.throttle(channel.usage_plan_id, channel.settings.rate_limit_rps, channel.settings.burst_limit)
    if channel.api_key_id:
        keys.set_enabled(channel.api_key_id, channel.settings.active)


def _create(channel_id: str, wanted: ChannelSettings, by: str, repos: Repositories, keys: KeyIssuer,
            now: datetime, seed: Channel | None) -> ChannelWritten:
    # A seed channel already has its key (the stack's, in OMS_API_PRINCIPALS): none is issued.
    issued = None if seed is not None else keys.issue(channel_id, wanted.rate_limit_rps, wanted.burst_limit)
    channel = Channel(channel_id=channel_id, settings=wanted, api_key_id=issued.key_id if issued else None,
                      usage_plan_id=issued.usage_plan_id if issued else None, created_at=now, updated_at=now,
                      updated_by=by)
    writes = [repos.channels.save(channel, None), repos.events.publish(_announce(channel, True))]
    if issued:
        writes.append(repos.channels.link_key(issued.key_id, channel_id))
    try:
        repos.commit(*writes)
    except (Refused, Contention) as failed:
        if issued:  # never leave a key (or a plan) behind that names no channel
            keys.withdraw(issued)
        if isinstance(failed, Refused) and failed.find(AlreadyExists):
            raise Conflict(f"channel {channel_id} was created meanwhile; read it and retry", field="channel_id") \
                from None
        raise Busy("the channel could not be saved because of contention; retry") from None
    if issued and not wanted.active:
        keys.set_enabled(issued.key_id, False)
    return ChannelWritten(channel, created=True, api_key=issued.value if issued else None)


def rotate_key(channel_id: str, by: str, repos: Repositories, keys: KeyIssuer, now: datetime) -> ChannelWritten:
    """A new key for the channel, in its usage plan; the old one names no channel from the commit on
    (its link is deleted in the same transaction), and is then deleted from API Gateway."""
    current = repos.channels.get(channel_id, now)
    if current is None:
        raise NotFound(f"channel {channel_id} not found", field="channel_id")
    if current.seeded or current.api_key_id is None:
        raise Conflict(f"channel {channel_id} has the key its deployment issued; configure it with PUT first",
                       field="channel_id")
    issued = keys.issue(channel_id, current.settings.rate_limit_rps, current.settings.burst_limit,
                        usage_plan_id=current.usage_plan_id)
    changed = current.model_copy(update={"api_key_id": issued.key_id, "usage_plan_id": issued.usage_plan_id,
                                         "version": current.version + 1, "updated_at": now, "updated_by": by})
    try:
        repos.commit(repos.channels.save(changed, current.version), repos.channels.link_key(issued.key_id, channel_id),
                     repos.channels.unlink_key(current.api_key_id),
                     repos.events.publish(_announce(changed, False, rotated=True)))
    except (Refused, Contention):
        keys.withdraw(issued)
        raise Conflict(f"channel {channel_id} changed meanwhile; retry", field="channel_id") from None
    try:
        keys.retire(current.api_key_id, current.usage_plan_id)
    except Exception:  # noqa: BLE001 - the old key already names no channel: the API refuses it anyway
        from shared.observability import logger

        logger.exception("a rotated key could not be deleted from API Gateway", extra={"channel": channel_id,
                                                                                      "key_id": current.api_key_id})
    if not changed.settings.active:
        keys.set_enabled(issued.key_id, False)
    return ChannelWritten(changed, created=False, api_key=issued.value)


def _shop_is_free(channel_id: str, wanted: ChannelSettings, repos: Repositories) -> None:
    """One channel per shop: two channels on one shop domain would each take the other's webhooks."""
    if wanted.shop_domain is None:
        return
    taken = next((c.channel_id for c in repos.channels.configured()
                  if c.settings.shop_domain == wanted.shop_domain and c.channel_id != channel_id), None)
    if taken:
        raise Conflict(f"channel {taken} already takes {wanted.shop_domain}", field="shop_domain")


def list_channels(repos: Repositories, now: datetime) -> list[Channel]:
    """Every configured channel, and the seed channels nobody configured, by id."""
    configured = {c.channel_id: c for c in repos.channels.configured()}
    for channel_id in SEED_CHANNELS:
        if channel_id not in configured:
            seed = repos.channels.get(channel_id, now)
            if seed is not None:
                configured[channel_id] = seed
    return [configured[k] for k in sorted(configured)]


def _announce(channel: Channel, created: bool, rotated: bool = False) -> ChannelChanged:
    # Imported by the writes that announce: a read of channels-api loads no event model (cold start).
    from shared.domain.events import ChannelChanged

    return ChannelChanged(occurred_at=channel.updated_at, channel_id=channel.channel_id, kind=channel.kind.value,
                          created=created, active=channel.settings.active, stock_buffer=channel.settings.stock_buffer,
                          api_key_id=channel.api_key_id, key_rotated=rotated)
