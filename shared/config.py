"""Configuration of every function, read from the environment once, lazily.

Plain dataclasses rather than a pydantic model: the event relay reads its settings too, and should
not pay pydantic's import for two strings.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class ChannelPolicy:
    allow_split: bool = True
    allow_partial: bool = False


@dataclass(frozen=True)
class Settings:
    table_name: str = "oms"
    event_bus_name: str = "oms-events"
    # API Gateway key id -> channel name, or "operator". Set by the stack from the keys it creates.
    principals: dict[str, str] = field(default_factory=dict)
    channels: dict[str, ChannelPolicy] = field(default_factory=dict)
    max_body_bytes: int = 262_144
    label_bucket: str = "oms-labels"
    carrier_secret: str = "oms/carriers"
    label_carrier: str = "sandbox"
    email_sender: str = "orders@example.com"
    local_outbox: str | None = None
    # Queue name -> URL, for the queues a function sends to directly (wiring `sends_to`).
    queue_urls: dict[str, str] = field(default_factory=dict)

    def channel_policy(self, channel: str) -> ChannelPolicy:
        return self.channels.get(channel, ChannelPolicy())


@cache
def settings() -> Settings:
    env = os.environ
    channels = json.loads(env.get("OMS_CHANNELS") or "{}")
    return Settings(
        table_name=env.get("OMS_TABLE_NAME", "oms"),
        event_bus_name=env.get("OMS_EVENT_BUS_NAME", "oms-events"),
        principals=json.loads(env.get("OMS_API_PRINCIPALS") or "{}"),
        channels={name: ChannelPolicy(**policy) for name, policy in channels.items()},
        label_bucket=env.get("OMS_LABEL_BUCKET", "oms-labels"),
        carrier_secret=env.get("OMS_CARRIER_SECRET", "oms/carriers"),
        label_carrier=env.get("OMS_LABEL_CARRIER", "sandbox"),
        email_sender=env.get("OMS_EMAIL_SENDER", "orders@example.com"),
        local_outbox=env.get("OMS_LOCAL_OUTBOX") or None,
        # OMS_QUEUE_<NAME>_URL, as infra/wiring.py queue_url_env names them (AWS names the queues).
        queue_urls={key[len("OMS_QUEUE_"):-len("_URL")].lower().replace("_", "-"): url for key, url in env.items()
                    if key.startswith("OMS_QUEUE_") and key.endswith("_URL") and url},
    )
