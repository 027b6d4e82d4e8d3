"""Channels as data on the fake store, with a fake API Gateway: keys issued once per channel, a
rotation that leaves the old key naming no channel whatever API Gateway answers, nothing left behind
by a creation that lost a race, and the key following the saved settings."""

from __future__ import annotations

import pytest

from shared.adapters.api_keys import IssuedKey
from shared.domain.channels import ChannelKind, ChannelSettings
from shared.errors import Conflict, InvalidInput
from shared.services.channels import list_channels, put_channel, rotate_key
from tests.factories import NOW
from tests.service.flows import events


class FakeGateway:
    def __init__(self):
        self.issued: list[IssuedKey] = []
        self.calls: list[tuple] = []
        self.fail_retire = False

    def issue(self, channel_id, rate, burst, usage_plan_id=None):
        n = len(self.issued) + 1
        key = IssuedKey(f"k{n}", f"value-{n}-{'x' * 20}", usage_plan_id or f"plan-{n}", new_plan=usage_plan_id is None)
        self.issued.append(key)
        return key

    def throttle(self, plan, rate, burst):
        self.calls.append(("throttle", plan, rate, burst))

    def set_enabled(self, key_id, enabled):
        self.calls.append(("enabled", key_id, enabled))

    def withdraw(self, issued):
        self.calls.append(("withdraw", issued.key_id, issued.usage_plan_id))

    def retire(self, key_id, plan):
        if self.fail_retire:
            raise RuntimeError("TooManyRequestsException")
        self.calls.append(("retire", key_id, plan))


@pytest.fixture
def gateway():
    return FakeGateway()


def test_a_new_channel_gets_one_key_whose_value_is_answered_once(repos, gateway):
    made = put_channel("tiktok", ChannelSettings(name="TikTok"), "operator", repos, gateway, NOW)
    assert made.created and made.api_key == gateway.issued[0].value
    assert repos.channels.channel_for_key("k1") == "tiktok"
    again = put_channel("tiktok", ChannelSettings(name="TikTok", rate_limit_rps=5, burst_limit=10, active=False),
                        "operator", repos, gateway, NOW)
    assert not again.created and again.api_key is None and len(gateway.issued) == 1
    assert ("throttle", "plan-1", 5, 10) in gateway.calls and ("enabled", "k1", False) in gateway.calls
    assert sorted(e["created"] for e in events(repos, "ChannelChanged")) == [False, True]


def test_a_seed_channel_keeps_the_deployments_key(repos, gateway):
    made = put_channel("web", ChannelSettings(allow_cod=False), "operator", repos, gateway, NOW)
    assert made.created and made.api_key is None and gateway.issued == []
    assert {c.channel_id for c in list_channels(repos, NOW)} >= {"web", "app", "pos", "marketplace"}


def test_a_rotation_unlinks_the_old_key_even_when_api_gateway_fails(repos, gateway):
    put_channel("tiktok", ChannelSettings(), "operator", repos, gateway, NOW)
    gateway.fail_retire = True
    rotated = rotate_key("tiktok", "operator", repos, gateway, NOW)
    assert rotated.api_key == gateway.issued[1].value and rotated.channel.api_key_id == "k2"
    assert gateway.issued[1].usage_plan_id == "plan-1"  # the channel's plan, not a new one
    assert repos.channels.channel_for_key("k2") == "tiktok"
    assert repos.channels.channel_for_key("k1") is None


def test_a_creation_that_loses_a_race_leaves_no_key_behind(repos, gateway):
    put_channel("tiktok", ChannelSettings(), "operator", repos, gateway, NOW)
    original_get = repos.channels.get
    repos.channels.get = lambda channel_id, now: None  # as if read before the other creator committed
    with pytest.raises(Conflict):
        put_channel("tiktok", ChannelSettings(), "operator", repos, gateway, NOW)
    repos.channels.get = original_get
    assert ("withdraw", "k2", "plan-2") in gateway.calls
    assert repos.channels.channel_for_key("k2") is None


def test_settings_that_cannot_be_are_refused_naming_the_field(repos, gateway):
    with pytest.raises(InvalidInput):
        put_channel("operator", ChannelSettings(), "operator", repos, gateway, NOW)
    shop = ChannelSettings(kind=ChannelKind.SHOPIFY, secret_ref="oms/channels/a", shop_domain="a.myshopify.com")
    put_channel("shop-a", shop, "operator", repos, gateway, NOW)
    with pytest.raises(Conflict) as taken:
        put_channel("shop-b", shop.model_copy(update={"secret_ref": "oms/channels/b"}), "operator", repos, gateway,
                    NOW)
    assert taken.value.field == "shop_domain"
    with pytest.raises(Conflict) as kind:
        put_channel("shop-a", ChannelSettings(), "operator", repos, gateway, NOW)
    assert kind.value.field == "kind"


def test_a_run_time_key_acts_only_while_it_is_its_channels_current_key(repos, gateway, monkeypatch):
    import shared.repositories
    from shared.http import api

    def the_repos():
        return repos

    the_repos.cache_clear = lambda: None  # type: ignore[attr-defined]  # as the cached original has
    monkeypatch.setattr(shared.repositories, "repositories", the_repos)
    put_channel("tiktok", ChannelSettings(), "operator", repos, gateway, NOW)
    assert api._channel_of_issued_key("k1") == "tiktok"
    # A link left behind (a rotation's unlink lost, a hand edit) does not make an old key work.
    repos.commit(repos.channels.link_key("k-old", "tiktok"))
    assert api._channel_of_issued_key("k-old") is None
    assert api._channel_of_issued_key("k-unknown") is None
