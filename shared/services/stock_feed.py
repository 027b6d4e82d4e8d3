"""The stock feed: tell each channel that asked for it (`stock_feed`) how many units of a SKU it may sell.

Coalesced: the consumer collects the distinct SKUs of a whole SQS batch (StockChanged, OrderAllocated)
and calls `feed_channels` once, so a burst of a thousand orders on one SKU becomes one computation per
batch, and a channel hears of a SKU only when its figure changed (ChannelStockChanged).

Why the last figure sent is the true one: every change of a SKU's levels is followed by an event, and
so by a computation that reads the levels after it. Each reading carries a stamp that only grows (the
sum of the levels' versions) and the figure is recorded only over an older stamp; a later reading
with an unchanged figure still moves the stamp (no event). So whatever order concurrent batches commit
in, the figure recorded last is the one of the latest reading, which saw every change.

Shopify: `push_to_shopify` sets the figure of the channel's location with inventorySetQuantities,
idempotent per channel, SKU and stamp, and skips an event that a later figure superseded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.adapters.stock_feed_repo import FigureChanged, SentFigure, StaleFigure, StockFeedRepository
from shared.channels.shopify_inventory import (
    ShopifyInventory,
    ShopifyRejected,
    Transport,
)
from shared.domain.channels import Channel
from shared.domain.events import ChannelStockChanged
from shared.domain.stock_feed import AvailableToSell, available_to_sell, channel_sku, sold_as_itself
from shared.observability import logger
from shared.repositories import Repositories
from shared.unit_of_work import Contention, Refused

ATTEMPTS = 3  # Contention: another batch wrote the same channel and SKU; a fresh read decides again


class Sent(StrEnum):
    SENT = "sent"  # a new figure: recorded and announced
    UNCHANGED = "unchanged"  # the figure the channel was told already
    STALE = "stale"  # a later reading was recorded by a concurrent batch


@dataclass
class FeedReport:
    channels: list[str] = field(default_factory=list)  # the channels fed
    skus: int = 0  # SKUs whose levels were read
    sent: list[tuple[str, str, int]] = field(default_factory=list)  # (channel, SKU, figure) announced
    unchanged: int = 0
    stale: int = 0


def feed_channels(skus: Iterable[str], repos: Repositories, feed_repo: StockFeedRepository, now: datetime
                  ) -> FeedReport:
    """Recompute each SKU's figure for every active channel with the stock feed on; record and announce
    the figures that changed. Reads the channel list only when no channel has the feed on."""
    report = FeedReport()
    channels = [c for c in repos.channels.configured() if c.settings.stock_feed and c.settings.active]
    report.channels = [c.channel_id for c in channels]
    wanted = sorted(set(skus))
    if not channels or not wanted:
        return report
    locations = repos.locations.all_cached()
    for sku in wanted:
        levels = repos.stock.levels_for_sku(sku)
        report.skus += 1
        last = feed_repo.last_for(sku, report.channels)
        for channel in channels:
            if not sold_as_itself(channel.settings, sku):
                continue  # the channel's SKU of that name is another of ours: nothing to tell it
            reading = available_to_sell(levels, locations, channel.settings.stock_buffer)
            outcome = _send(channel, sku, reading, last.get(channel.channel_id), repos, feed_repo, now)
            if outcome == Sent.SENT:
                report.sent.append((channel.channel_id, sku, reading.figure))
            elif outcome == Sent.STALE:
                report.stale += 1
            else:
                report.unchanged += 1
    return report


def _send(channel: Channel, sku: str, reading: AvailableToSell, last: SentFigure | None, repos: Repositories,
          feed_repo: StockFeedRepository, now: datetime) -> Sent:
    channel_id = channel.channel_id
    for attempt in range(ATTEMPTS):
        if attempt:
            last = feed_repo.last(channel_id, sku)
        if last is not None and last.stamp >= reading.stamp:
            return Sent.STALE
        try:
            if last is not None and last.figure == reading.figure:
                # Nothing to tell; the later stamp stops an older reading with another figure landing.
                repos.commit(feed_repo.advance(channel_id, sku, reading.figure, reading.stamp))
                return Sent.UNCHANGED
            event = ChannelStockChanged(
                occurred_at=now, channel_id=channel_id, sku=sku, channel_sku=channel_sku(channel.settings, sku),
                available_to_sell=reading.figure, previous=last.figure if last else None, stamp=reading.stamp)
            repos.commit(feed_repo.record(channel_id, sku, reading.figure, reading.stamp, now),
                         repos.events.publish(event))
            return Sent.SENT
        except Refused as refused:
            if refused.only(StaleFigure):
                return Sent.STALE
            if not refused.only(FigureChanged):
                raise
        except Contention:
            if attempt == ATTEMPTS - 1:
                raise
    raise Contention(f"the stock feed of {channel_id} for {sku} kept changing; the batch is retried")


def current_figure(channel: Channel, sku: str, repos: Repositories) -> AvailableToSell:
    """GET /channels/{id}/stock?sku=: the figure the channel would be told now, read on demand."""
    return available_to_sell(repos.stock.levels_for_sku(sku), repos.locations.all_cached(),
                             channel.settings.stock_buffer)


# ------------------------------------------------------------------------------------------ Shopify

class Pushed(StrEnum):
    SET = "set"  # Shopify holds the figure now
    SKIPPED = "skipped"  # not configured for the feed: nothing sent
    SUPERSEDED = "superseded"  # a later figure was recorded meanwhile: sending this one would go back
    NOT_FOUND = "not_found"  # no variant with this SKU in the shop
    REJECTED = "rejected"  # Shopify refused it: logged and dropped (a retry would not help)


@dataclass(frozen=True)
class PushResult:
    outcome: Pushed
    reason: str | None = None
    inventory_item_id: str | None = None


Credentials = Callable[[Channel], Mapping[str, str]]


class ShopifyInventories:
    """The ShopifyInventory of each channel, kept per warm container so its SKU -> inventory item cache
    outlives an invocation, and rebuilt when the channel's domain or access token changes. None for a
    channel that cannot be fed (no shop domain, location, secret or access token): never a network call."""

    def __init__(self, credentials: Credentials, transport: Callable[[], Transport]):
        self._credentials, self._transport = credentials, transport
        self._built: dict[str, tuple[tuple[str, str], ShopifyInventory]] = {}

    def for_channel(self, channel: Channel) -> ShopifyInventory | None:
        settings = channel.settings
        if missing_settings(channel) or not settings.shop_domain:
            return None
        token = self._credentials(channel).get("access_token") or ""
        if not token:
            return None
        built = self._built.get(channel.channel_id)
        if built is None or built[0] != (settings.shop_domain, token):
            built = ((settings.shop_domain, token), ShopifyInventory(settings.shop_domain, token, self._transport()))
            self._built[channel.channel_id] = built
        return built[1]


def feed_off(channel: Channel) -> str | None:
    """Why a figure announced earlier is no longer pushed: the operator turned the feed or the channel off."""
    if not channel.settings.stock_feed or not channel.settings.active:
        return f"channel {channel.channel_id} has the stock feed or the channel turned off"
    return None


def missing_settings(channel: Channel) -> str | None:
    """Why the channel's figures cannot be pushed to Shopify, before any secret is read; None: they can."""
    settings = channel.settings
    missing = [name for name, value in (("shop_domain", settings.shop_domain),
                                        ("external_location_id", settings.external_location_id),
                                        ("secret_ref", settings.secret_ref)) if not value]
    return f"channel {channel.channel_id} has no {', '.join(missing)}" if missing else None


def push_to_shopify(event: ChannelStockChanged, channel: Channel, inventory: ShopifyInventory | None,
                    now: datetime, *, sent: StockFeedRepository) -> PushResult:
    """Set the shop's available quantity of the event's SKU at the channel's location to its figure.

    Raises ShopifyThrottled and ShopifyUnavailable (the record is retried, with the same idempotency key);
    a refusal is logged and dropped, so a bad mapping does not block the queue."""
    reason = feed_off(channel) or missing_settings(channel) or (
        None if inventory is not None else f"channel {channel.channel_id} has no access_token in its secret")
    context = {"channel_id": channel.channel_id, "sku": event.sku, "stamp": event.stamp,
               "available_to_sell": event.available_to_sell}
    if reason is not None or inventory is None or channel.settings.external_location_id is None:
        logger.info("stock not pushed to Shopify: not configured", extra={**context, "reason": reason})
        return PushResult(Pushed.SKIPPED, reason)
    latest = sent.last(event.channel_id, event.sku)
    if latest is not None and latest.stamp > event.stamp and latest.figure != event.available_to_sell:
        # Delivered out of order: the later figure's own event sets the shop.
        return PushResult(Pushed.SUPERSEDED, f"a later figure ({latest.figure}) was recorded")
    try:
        item = inventory.inventory_item_for_sku(event.channel_sku)
        if item is None:
            logger.warning("stock not pushed to Shopify: no variant has this SKU",
                           extra={**context, "channel_sku": event.channel_sku})
            return PushResult(Pushed.NOT_FOUND, f"no variant with SKU {event.channel_sku}")
        inventory.set_available(item, channel.settings.external_location_id, event.available_to_sell,
                                idempotency_key=idempotency_key(event))
    except (ShopifyRejected, ValueError) as refused:  # ValueError: a location id or SKU Shopify cannot take
        logger.warning("Shopify refused the stock figure; dropped", extra={
            **context, "reason": str(refused)[:500], "code": getattr(refused, "code", None)})
        return PushResult(Pushed.REJECTED, str(refused)[:500])
    logger.info("stock pushed to Shopify", extra={**context, "at": now.isoformat()})
    return PushResult(Pushed.SET, inventory_item_id=item)


def idempotency_key(event: ChannelStockChanged) -> str:
    """One per channel, SKU and reading: a redelivered event is applied once by Shopify."""
    return f"{event.channel_id}:{event.sku}:{event.stamp}"
