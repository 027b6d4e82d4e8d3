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
from shared.observability import logger
from shared.repositories import Repositories
from shared.services.amazon_poll import ChangeReport, PollReport, poll_amazon, receive_order_change
from shared.services.channel_intake import keep_unreadable, receive_channel_order

ClientFactory = Callable[[Channel], AmazonOrders]


class PollFailed(Exception):
    """Some channels could not be polled (logged each with its cause); the others were."""


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
    reports, failed = [], []
    for channel in active_amazon_channels(repos):
        try:
            reports.append(poll_amazon(
                channel.channel_id, client_for(channel), SkuMap(channel.settings.sku_mapping),
                channel.settings.marketplace_ids, repos.channel_sync, _receiver(channel, repos, now), now,
                page_budget, unreadable=_keeper(channel, repos, now)))
        except Exception as error:  # noqa: BLE001 - one channel's revoked token must not stop the others
            logger.exception("amazon poll failed", extra={"channel": channel.channel_id,
                                                          "error_type": type(error).__name__})
            failed.append(channel.channel_id)
    if failed:  # after every other channel had its turn: the run fails (and alarms) for these
        raise PollFailed(f"the poll failed for {', '.join(failed)}; the others were polled")
    return reports


def take_order_change(body: str, repos: Repositories, now: datetime,
                      client_for: ClientFactory = amazon_client) -> ChangeReport:
    """An ORDER_CHANGE notification: the channel of its seller (and marketplace) fetches the order.
    One for a seller no channel takes is dropped (logged): no retry would make it ours."""
    channel = _channel_for(body, repos)
    if channel is None:
        return ChangeReport()
    return receive_order_change(body, client_for(channel), SkuMap(channel.settings.sku_mapping),
                                _receiver(channel, repos, now), unreadable=_keeper(channel, repos, now))


def _channel_for(body: str, repos: Repositories) -> Channel | None:
    try:
        change = json.loads(body)["Payload"]["OrderChangeNotification"]
        seller, marketplace = change.get("SellerId"), change["Summary"]["MarketplaceId"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UnreadableOrder("an ORDER_CHANGE notification names its seller and marketplace in "
                              "Payload.OrderChangeNotification", field="Payload") from None
    found = [c for c in active_amazon_channels(repos) if marketplace in c.settings.marketplace_ids
             and c.settings.seller_id in (None, seller)]
    # A channel that names its seller wins over one that does not (two seller accounts, one marketplace).
    found.sort(key=lambda c: c.settings.seller_id is None)
    if not found:
        logger.warning("order change for no amazon channel", extra={"marketplace": str(marketplace)[:20]})
        return None
    return found[0]


def _receiver(channel: Channel, repos: Repositories, now: datetime) -> Callable[[ChannelOrder], object]:
    return lambda order: receive_channel_order(channel, order, repos, now)


def _keeper(channel: Channel, repos: Repositories, now: datetime) -> Callable[[AmazonOrder, UnreadableOrder], None]:
    def keep(order: AmazonOrder, error: UnreadableOrder) -> None:
        keep_unreadable(channel, order.order_id, "order", json.dumps(order.order, default=str), error, repos, now)
    return keep
