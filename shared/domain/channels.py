"""Sales channels as data: what an operator configures per channel at run time (PUT /channels/{id}).

A channel is a source of orders with its own API key, its own format (canonical JSON, or Shopify's,
WooCommerce's, Amazon's), its split, partial and cash-on-delivery policy, a SKU mapping from its
SKUs or variant ids to ours, a stock-feed buffer, and its secrets by reference only: the name of a
Secrets Manager secret under `oms/channels/` (webhook signing secrets, API credentials). The API
never returns a secret's value, and a function may read only secrets under that prefix.

The channels that were fixed in code before (web, app, pos, marketplace) are the `SEED_CHANNELS`:
a deployment that never configured a channel keeps their policies, and an operator's PUT replaces
them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from shared.config import ChannelPolicy
from shared.domain.base import DeferredModel
from shared.domain.bounds import Flag, Integer
from shared.domain.identifiers import Sku
from shared.domain.money import CurrencyCode

ChannelId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", examples=["shopify-eu"],
                                 description="Lower-case letters, digits and hyphens, at most 40")]
SECRET_PREFIX = "oms/channels/"
SecretRef = Annotated[str, Field(pattern=r"^oms/channels/[A-Za-z0-9/_+=.@-]{1,200}$",
                                 examples=["oms/channels/shopify-eu"],
                                 description="The name of a Secrets Manager secret under oms/channels/")]
MappingKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
MAX_MAPPINGS = 2000  # the channel is one item (400 KB); a larger catalogue maps SKUs one to one
OPERATOR_NAME = "operator"


class ChannelKind(StrEnum):
    """The format a channel sends its orders in."""

    CANONICAL = "canonical"  # POST /orders with our JSON and the channel's API key
    POS = "pos"  # a store's point of sale: canonical JSON, usually no split
    SHOPIFY = "shopify"  # Shopify's order webhooks, X-Shopify-Hmac-Sha256
    WOOCOMMERCE = "woocommerce"  # WooCommerce's order webhooks, X-WC-Webhook-Signature
    AMAZON = "amazon"  # polled from the Selling Partner API, plus ORDER_CHANGE notifications

    @property
    def signs_webhooks(self) -> bool:
        return self in (ChannelKind.SHOPIFY, ChannelKind.WOOCOMMERCE)


class ChannelSettings(DeferredModel):
    """PUT /channels/{channel_id}: everything an operator sets. Omitted fields take their defaults."""

    model_config = ConfigDict(extra="forbid")
    kind: ChannelKind = ChannelKind.CANONICAL
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="A label for people")
    active: Flag = Field(default=True, description="An inactive channel's key, webhooks and polls are refused")
    allow_split: Flag = Field(default=True, description="May one order ship from several locations")
    allow_partial: Flag = Field(default=False, description="May what is in stock ship while the rest is backordered")
    allow_cod: Flag = Field(default=False, description="Cash on delivery: otherwise such orders are held")
    sms_notifications: Flag = Field(
        default=False, description="Text the customer (SMS) beside the email for every message they get, when "
                                   "they gave a phone number written internationally (+ and country code)")
    currencies: Annotated[list[CurrencyCode], Field(max_length=50)] = Field(
        default=[], description="Currencies this channel may sell in; empty: any. Another one holds the order")
    sku_mapping: dict[MappingKey, Sku] = Field(
        default={}, description='Channel SKU, or "variant:<id>", -> our SKU. A SKU with no entry is ours as it is')
    stock_feed: Flag = Field(default=False, description="Tell the channel its available-to-sell figure per SKU "
                                                        "(ChannelStockChanged; pushed to Shopify when configured)")
    stock_buffer: Annotated[Integer, Field(ge=0, le=1_000_000)] = Field(
        default=0, description="Units held back from the available-to-sell figure the channel is told")
    secret_ref: SecretRef | None = Field(
        default=None, description="Secrets Manager secret with this channel's webhook signing secret(s) "
                                  "(webhook_secret, comma-separated while rotating) and API credentials")
    shop_domain: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")] | None = Field(
        default=None, description="Shopify: the shop's myshopify.com domain (stock feed)")
    external_location_id: Annotated[str, Field(max_length=200, pattern=r"^[\x21-\x7e]+$")] | None = Field(
        default=None, description="Shopify: the location (gid://shopify/Location/...) the stock feed sets")
    marketplace_ids: Annotated[list[Annotated[str, Field(pattern=r"^[A-Z0-9]{5,20}$")]], Field(max_length=20)] = Field(
        default=[], description="Amazon: the marketplaces to poll (e.g. A1PA6795UKMFR9)")
    region: Annotated[str, Field(pattern=r"^(na|eu|fe)$")] | None = Field(
        default=None, description="Amazon: the Selling Partner API region (na, eu, fe)")
    seller_id: Annotated[str, Field(pattern=r"^[A-Z0-9]{5,20}$")] | None = Field(
        default=None, description="Amazon: the seller (merchant token) whose ORDER_CHANGE notifications are this "
                                  "channel's")
    rate_limit_rps: Annotated[Integer, Field(ge=1, le=10_000)] = Field(
        default=50, description="Requests per second its API key may make (API Gateway usage plan)")
    burst_limit: Annotated[Integer, Field(ge=1, le=20_000)] = 100

    @model_validator(mode="after")
    def _kind_needs(self) -> ChannelSettings:
        if len(self.sku_mapping) > MAX_MAPPINGS:
            raise ValueError(f"sku_mapping: at most {MAX_MAPPINGS} entries")
        if self.kind.signs_webhooks and self.secret_ref is None:
            raise ValueError(f"secret_ref is required for a {self.kind.value} channel (its webhook signing secret)")
        if self.kind == ChannelKind.AMAZON and (self.secret_ref is None or not self.marketplace_ids
                                                or self.region is None):
            raise ValueError("an amazon channel needs secret_ref (LWA credentials), marketplace_ids and region")
        if self.burst_limit < self.rate_limit_rps:
            raise ValueError("burst_limit must be at least rate_limit_rps")
        return self


class Channel(DeferredModel):
    """A channel as kept: its settings, its API key's id (never the key) and who changed it."""

    channel_id: str
    settings: ChannelSettings
    version: int = 0
    api_key_id: str | None = Field(default=None, description="The id of its API Gateway key (not the key)")
    usage_plan_id: str | None = Field(default=None, description="Its API Gateway usage plan (its throttle)")
    created_at: datetime
    updated_at: datetime
    updated_by: str
    seeded: bool = Field(default=False, description="One of the built-in channels, never configured")

    @property
    def kind(self) -> ChannelKind:
        return self.settings.kind

    def webhook_path(self) -> str | None:
        if not self.kind.signs_webhooks:
            return None
        return f"/webhooks/channels/{self.kind.value}/{self.channel_id}"


# The channels fixed in code before channels were data: their policies hold until an operator PUTs.
SEED_CHANNELS: dict[str, ChannelSettings] = {
    "web": ChannelSettings(name="Web shop", allow_cod=True),
    "app": ChannelSettings(name="Mobile app"),
    "pos": ChannelSettings(name="Store POS", kind=ChannelKind.POS, allow_split=False),
    "marketplace": ChannelSettings(name="Marketplace", allow_partial=True),
}


def seeded(channel_id: str, now: datetime) -> Channel | None:
    found = SEED_CHANNELS.get(channel_id)
    if found is None:
        return None
    return Channel(channel_id=channel_id, settings=found, created_at=now, updated_at=now, updated_by="seed",
                   seeded=True)



def policy_of(settings: ChannelSettings) -> ChannelPolicy:
    return ChannelPolicy(allow_split=settings.allow_split, allow_partial=settings.allow_partial,
                         allow_cod=settings.allow_cod)


def seed_policy(channel_id: str) -> ChannelPolicy:
    """A channel's policy as seeded (tests and tools without a store): defaults for any other name."""
    return policy_of(SEED_CHANNELS.get(channel_id) or ChannelSettings())
