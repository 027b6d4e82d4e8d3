"""A channel's signed webhook (Shopify, WooCommerce): the channel named in the path, its signature
checked on the raw bytes with that channel's own secret before anything is parsed, then its
format's mapping, then intake. A payload signed with another channel's secret verifies nowhere but
there: a channel's webhook can never act as another channel.

Refused 401 and stored nowhere: a missing or wrong signature. Answered 4xx and kept for an operator
(GET /admin/exceptions, GET /channels/{id}/rejected): a signed payload that is no order we can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.channels.credentials import webhook_secrets
from shared.channels.intake import ChannelOrder, SkuMap, UnreadableOrder
from shared.domain.channels import Channel, ChannelKind
from shared.errors import MalformedBody, NotFound, Unauthenticated
from shared.repositories import Repositories
from shared.services.channel_intake import IntakeOutcome, IntakeResult, keep_unreadable, receive_channel_order

SHOPIFY_HEADERS = ("x-shopify-hmac-sha256", "x-shopify-topic", "x-shopify-webhook-id", "x-shopify-event-id")
WOO_HEADERS = ("x-wc-webhook-signature", "x-wc-webhook-topic", "x-wc-webhook-delivery-id")


def receive_channel_webhook(kind: str, channel_id: str, raw: bytes, headers: Mapping[str, str],
                            repos: Repositories, now: datetime) -> IntakeResult:
    channel = repos.channels.get_cached(channel_id, now)
    if channel is None or channel.kind.value != kind or not channel.kind.signs_webhooks:
        raise NotFound(f"no {kind} channel {channel_id} takes webhooks", field="channel_id")
    lower = {k.lower(): v for k, v in headers.items()}
    if channel.kind == ChannelKind.SHOPIFY:
        message, delivery_id, topic = _shopify(channel, raw, lower, repos, now)
    else:
        from shared.channels import woocommerce

        if woocommerce.is_activation_ping(raw, lower.get("content-type")):
            return IntakeResult(IntakeOutcome.ACKNOWLEDGED, detail="webhook activation ping")
        woocommerce.verify(raw, lower.get("x-wc-webhook-signature"), webhook_secrets(channel))
        delivery_id, topic = lower.get("x-wc-webhook-delivery-id"), lower.get("x-wc-webhook-topic", "")
        message = _read(channel, raw, topic, delivery_id, repos, now,
                        lambda: woocommerce.read(topic, raw, SkuMap(channel.settings.sku_mapping)))
    if not channel.settings.active:  # verified first: only its own shop learns it is switched off
        raise NotFound(f"channel {channel_id} is inactive", field="channel_id")
    return receive_channel_order(channel, message, repos, now, delivery_id=f"{topic}:{delivery_id}"
                                 if delivery_id else None)


def _shopify(channel: Channel, raw: bytes, lower: Mapping[str, str], repos: Repositories,
             now: datetime) -> tuple[ChannelOrder, str | None, str]:
    from shared.channels import shopify

    shopify.verify(raw, lower.get("x-shopify-hmac-sha256"), webhook_secrets(channel))
    domain = lower.get("x-shopify-shop-domain")
    if channel.settings.shop_domain and (domain or "").lower() != channel.settings.shop_domain:
        raise Unauthenticated(f"this webhook comes from {(domain or 'no shop')[:100]}, not the channel's shop",
                              field="x-shopify-shop-domain")
    # Shopify's own advice: the webhook id names one delivery (retries keep it); the event id names
    # the change, the same across subscriptions.
    delivery_id = lower.get("x-shopify-webhook-id") or lower.get("x-shopify-event-id")
    topic = lower.get("x-shopify-topic", "")
    message = _read(channel, raw, topic, delivery_id, repos, now,
                    lambda: shopify.read(topic, raw, SkuMap(channel.settings.sku_mapping)))
    return message, delivery_id, topic


def _read(channel: Channel, raw: bytes, topic: str, delivery_id: str | None, repos: Repositories, now: datetime,
          read) -> ChannelOrder:
    """The format's mapping; a signed payload it cannot read is kept for an operator, then refused."""
    try:
        return read()
    except (UnreadableOrder, MalformedBody) as unreadable:
        keep_unreadable(channel, delivery_id, topic, raw.decode("utf-8", "replace"), unreadable, repos, now)
        raise
