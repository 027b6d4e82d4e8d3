"""The variables the stack and the local runtime set (named in the wiring) are the ones read."""

from __future__ import annotations

import json

from infra import wiring
from shared.config import ChannelPolicy, settings
from shared.domain.channels import seed_policy


def test_settings_read_the_variables_the_wiring_names(monkeypatch):
    monkeypatch.setenv(wiring.ENV.table, "orders-table")
    monkeypatch.setenv(wiring.ENV.bus, "orders-bus")
    monkeypatch.setenv(wiring.ENV.principals, json.dumps({"key-1": "web"}))
    settings.cache_clear()
    try:
        s = settings()
        assert (s.table_name, s.event_bus_name, s.principals) == ("orders-table", "orders-bus", {"key-1": "web"})
    finally:
        settings.cache_clear()


def test_the_channels_once_fixed_in_code_keep_their_policies_as_seeds():
    assert seed_policy("marketplace") == ChannelPolicy(allow_split=True, allow_partial=True)
    assert seed_policy("web").allow_cod and not seed_policy("app").allow_cod
    assert seed_policy("pos") == ChannelPolicy(allow_split=False, allow_partial=False)
    assert seed_policy("unknown") == ChannelPolicy()


def test_queue_urls_are_found_under_the_names_the_wiring_gives_them(monkeypatch):
    monkeypatch.setenv(wiring.queue_url_env(wiring.on.TRACKING_UPDATES), "https://sqs.example/1/Oms-Generated-Name")
    settings.cache_clear()
    try:
        assert settings().queue_urls[wiring.on.TRACKING_UPDATES] == "https://sqs.example/1/Oms-Generated-Name"
    finally:
        settings.cache_clear()
