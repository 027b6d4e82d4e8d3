"""Amazon channels: the scheduled poll of each active Amazon channel, and ORDER_CHANGE notifications
from SP-API's SQS destination, both handing orders to the one intake (shared/services/channel_intake.py).

Credentials come from the channel's secret (`lwa_client_id`, `lwa_client_secret`, `refresh_token`);
the endpoint from its region. Nothing is called for a channel that is inactive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from shared.channels.amazon import AmazonOrder, AmazonOrders, LwaCredentials
from shared.channels.credentials import ChannelNotConfigured, channel_credentials
from shared.channels.intake import ChannelOrder, SkuMap, UnreadableOrder
from shared.domain.channels import Channel, ChannelKind
from shared.repositories import Repositories
from shared.services.amazon_poll import ChangeReport, PollReport, poll_amazon, receive_order_change
from shared.services.channel_intake import keep_unreadable, receive_channel_order

ClientFactory = Callable[[Channel], AmazonOrders]


def amazon_client(channel: Channel) -> AmazonOrders:
    """The SP-API client of a channel, from its secret and region."""
    secret = channel_credentials(channel)
    missing = [k for k in ("lwa_client_id", "lwa_client_secret", "refresh_token") if not secret.get(k)]
    if missing:
        raise ChannelNotConfigured(f"the secret of channel {channel.channel_id} lacks {', '.join(missing)}")
    credentials = LwaCredentials(secret["lwa_client_id"], secret["lwa_client_secret"], secret["refresh_token"])
    return AmazonOrders(f"https://sellingpartnerapi-{channel.settings.region}.amazon.com", credentials)


def active_amazon_channels(repos: Repositories) -> list[Channel]:
    return [c for c in repos.channels.configured() if c.kind == ChannelKind.AMAZON and c.settings.active]


def poll_channels(repos: Repositories, now: datetime, page_budget: int,
                  client_for: ClientFactory = amazon_client) -> list[PollReport]:
    """One poll run over every active Amazon channel (most deployments have none: one query)."""
    reports = []
    for channel in active_amazon_channels(repos):
        reports.append(poll_amazon(
            channel.channel_id, client_for(channel), SkuMap(channel.settings.sku_mapping),
            channel.settings.marketplace_ids, repos.channel_sync, _receiver(channel, repos, now), now, page_budget,
            unreadable=_keeper(channel, repos, now)))
    return reports


def take_order_change(body: str, repos: Repositories, now: datetime,
                      client_for: ClientFactory = amazon_client) -> ChangeReport:
    """An ORDER_CHANGE notification: the channel selling in its marketplace fetches the order."""
    channel = _channel_for(body, repos)
    return receive_order_change(body, client_for(channel), SkuMap(channel.settings.sku_mapping),
                                _receiver(channel, repos, now), unreadable=_keeper(channel, repos, now))


def _channel_for(body: str, repos: Repositories) -> Channel:
    try:
        summary = json.loads(body)["Payload"]["OrderChangeNotification"]["Summary"]
        marketplace = summary["MarketplaceId"]
    except (ValueError, KeyError, TypeError):
        raise UnreadableOrder("an ORDER_CHANGE notification names its marketplace in "
                              "Payload.OrderChangeNotification.Summary.MarketplaceId", field="MarketplaceId") from None
    found = [c for c in active_amazon_channels(repos) if marketplace in c.settings.marketplace_ids]
    if not found:
        raise UnreadableOrder(f"no active amazon channel sells in marketplace {str(marketplace)[:20]}",
                              field="MarketplaceId")
    return found[0]


def _receiver(channel: Channel, repos: Repositories, now: datetime) -> Callable[[ChannelOrder], object]:
    return lambda order: receive_channel_order(channel, order, repos, now)


def _keeper(channel: Channel, repos: Repositories, now: datetime) -> Callable[[AmazonOrder, UnreadableOrder], None]:
    def keep(order: AmazonOrder, error: UnreadableOrder) -> None:
        keep_unreadable(channel, order.order_id, "order", json.dumps(order.order, default=str), error, repos, now)
    return keep
