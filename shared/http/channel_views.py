"""Answers of the channel routes: a channel written (with its new key, once), a payload a channel's
webhook refused, and the stock figure a channel is told."""

from __future__ import annotations

from pydantic import Field

from shared.domain.base import DeferredModel
from shared.domain.channels import Channel


class ChannelWritten(DeferredModel):
    channel: Channel
    created: bool
    api_key: str | None = Field(description="The channel's new API key: shown this once, never again (keep it)")


class RejectedPayload(DeferredModel):
    received_at: str
    topic: str
    problem: str
    field: str | None
    body: str = Field(description="The payload as it was sent (signed by the channel)")
    truncated: bool


class ChannelStock(DeferredModel):
    channel_id: str
    sku: str
    channel_sku: str = Field(description="The SKU as the channel knows it")
    available_to_sell: int = Field(description="Available at the locations that may serve the channel, minus its "
                                               "buffer, never below zero")
    buffer: int
