"""Configuration of every function: one pydantic model read from the environment, once, lazily."""

from __future__ import annotations

import json
import os
from functools import cache

from pydantic import BaseModel, Field


class ChannelPolicy(BaseModel):
    allow_split: bool = True
    allow_partial: bool = False


class Settings(BaseModel):
    table_name: str = "oms"
    event_bus_name: str = "oms-events"
    # API Gateway key id -> channel name, or "operator". Set by the stack from the keys it creates.
    principals: dict[str, str] = Field(default_factory=dict)
    channels: dict[str, ChannelPolicy] = Field(default_factory=dict)
    max_body_bytes: int = 262_144

    def channel_policy(self, channel: str) -> ChannelPolicy:
        return self.channels.get(channel, ChannelPolicy())


@cache
def settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("OMS_TABLE_NAME", "oms"),
        event_bus_name=env.get("OMS_EVENT_BUS_NAME", "oms-events"),
        principals=json.loads(env.get("OMS_API_PRINCIPALS") or "{}"),
        channels=json.loads(env.get("OMS_CHANNELS") or "{}"),
    )
