"""The stock feed's decision: how many units of a SKU a channel may sell, and under which SKU it knows it.

Pure: no store, no clock. The use case (shared/services/stock_feed.py) reads the levels and the
locations and sends a figure only when it changed.

The figure is the `available` units (on hand minus reserved minus safety stock; a negative level
counts as 0) of the locations that may serve a channel: active ones that ship somewhere or hand
orders over in store, minus the channel's buffer, never below zero.

The stamp orders two readings of one SKU: every change of a level increments its version and levels
are never deleted, so the sum of the versions read only grows. Of two figures for one SKU, the one
with the larger stamp was read later (every change it saw, the other saw too, or an older state).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.domain.channels import ChannelSettings
from shared.domain.locations import Location
from shared.domain.stock import StockLevel

VARIANT_PREFIX = "variant:"  # a Shopify variant id in a SKU mapping: no SKU the channel can be told about


@dataclass(frozen=True)
class AvailableToSell:
    figure: int  # what the channel is told: never negative
    stamp: int  # the sum of the levels' versions: a larger stamp is a later reading
    total: int  # available at the serving locations before the buffer


def serves_channels(location: Location) -> bool:
    """A location whose stock a channel may sell: active, and it ships somewhere or offers pickup."""
    return location.active and (bool(location.ships_to) or location.pickup_enabled)


def available_to_sell(levels: Iterable[StockLevel], locations: Iterable[Location], buffer: int) -> AvailableToSell:
    """The available-to-sell figure of one SKU's `levels` for a channel holding back `buffer` units."""
    serving = {location.location_id for location in locations if serves_channels(location)}
    total, stamp = 0, 0
    for level in levels:
        # A hot SKU's reservations move its buckets' versions, not the level's (stock_buckets.py).
        stamp += level.version + sum(level.bucket_versions)
        if level.location_id in serving:
            total += max(0, level.available)
    return AvailableToSell(figure=max(0, total - max(0, buffer)), stamp=stamp, total=total)


def channel_sku(settings: ChannelSettings, our_sku: str) -> str:
    """The SKU the channel knows our SKU by: the channel SKU its mapping points at our SKU (the first in
    order when several do), else our SKU as it is. "variant:<id>" keys name no SKU and are ignored."""
    mapped = sorted(key for key, ours in settings.sku_mapping.items()
                    if ours == our_sku and not key.startswith(VARIANT_PREFIX))
    return mapped[0] if mapped else our_sku


def sold_as_itself(settings: ChannelSettings, our_sku: str) -> bool:
    """False when the channel SKU `channel_sku` answers is mapped to another of our SKUs (the channel's
    "A" is our "B" and nothing maps to our "A"): telling the channel our "A"'s figure under "A" would
    set the figure of our "B"."""
    told_as = channel_sku(settings, our_sku)
    return settings.sku_mapping.get(told_as, our_sku) == our_sku
