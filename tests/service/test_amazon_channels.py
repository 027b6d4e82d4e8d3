"""Amazon channels end to end on the fake store and a fake Amazon: the scheduled poll captures each
active Amazon channel's orders through the one intake (once, whatever the overlap repeats), and an
ORDER_CHANGE notification reaches the channel selling in its marketplace."""

from __future__ import annotations

import json

import pytest

from shared.channels.credentials import ChannelNotConfigured
from shared.channels.intake import UnreadableOrder
from shared.domain.channels import Channel, ChannelKind, ChannelSettings
from shared.services.amazon_channels import PollFailed, poll_channels, take_order_change
from tests.factories import NOW
from tests.service.flows import events
from tests.service.test_amazon_poll import IDS, SEARCH, T0, Search, amazon, six_orders
from tests.unit.test_amazon_orders import FakeAmazon, ok, sample

UK = "A1F83G8C2ARO7P"


def amazon_channel(repos, channel_id: str, marketplaces: list[str], active: bool = True) -> Channel:
    channel = Channel(channel_id=channel_id, settings=ChannelSettings(
        kind=ChannelKind.AMAZON, secret_ref=f"oms/channels/{channel_id}", marketplace_ids=marketplaces, region="eu",
        active=active), created_at=NOW, updated_at=NOW, updated_by="test")
    repos.commit(repos.channels.save(channel, None))
    return channel


def test_the_poll_captures_each_active_amazon_channels_orders_once(repos):
    amazon_channel(repos, "amazon-uk", [UK])
    amazon_channel(repos, "amazon-old", [UK], active=False)
    fake = FakeAmazon().on(SEARCH, Search(*six_orders()))
    asked: list[str] = []

    def client_for(channel):
        asked.append(channel.channel_id)
        return amazon(fake)

    [report] = poll_channels(repos, T0, page_budget=10, client_for=client_for)
    assert asked == ["amazon-uk"] and report.completed
    captured = {e["channel_order_id"] for e in events(repos, "OrderReceived")}
    assert captured == set(IDS)
    # The next run's overlap finds the same orders again: nothing is captured twice.
    again = FakeAmazon().on(SEARCH, Search(*six_orders()))
    poll_channels(repos, T0.replace(minute=5), page_budget=10, client_for=lambda channel: amazon(again))
    assert len(events(repos, "OrderReceived")) == len(IDS)
    order = repos.orders.get(repos.orders.get_channel_key("amazon-uk", IDS[0]).order_id)
    assert order.channel == "amazon-uk" and order.pay.provider.value == "external"


def test_no_amazon_channel_no_call(repos):
    assert poll_channels(repos, T0, page_budget=10, client_for=lambda channel: pytest.fail("no client")) == []


def test_an_order_change_goes_to_the_channel_of_its_marketplace(repos):
    amazon_channel(repos, "amazon-de", ["A1PA6795UKMFR9"])
    amazon_channel(repos, "amazon-uk", [UK])
    fake = FakeAmazon().on(f"{SEARCH}/203-0000001-0000001", ok(sample("get_order")))
    report = take_order_change(json.dumps(sample("order_change_notification")), repos, T0,
                               client_for=lambda channel: amazon(fake))
    assert report.received == ["203-0000001-0000001"]
    assert repos.orders.get_channel_key("amazon-uk", "203-0000001-0000001") is not None
    assert repos.orders.get_channel_key("amazon-de", "203-0000001-0000001") is None
    # Another seller's or marketplace's notification is none of ours: dropped, not retried into the DLQ.
    elsewhere = sample("order_change_notification")
    elsewhere["Payload"]["OrderChangeNotification"]["Summary"]["MarketplaceId"] = "ATVPDKIKX0DER"
    assert take_order_change(json.dumps(elsewhere), repos, T0,
                             client_for=lambda channel: pytest.fail("no call")).received == []
    with pytest.raises(UnreadableOrder):
        take_order_change('{"Payload": {}}', repos, T0, client_for=lambda channel: pytest.fail("no call"))


def test_two_seller_accounts_in_one_marketplace_each_take_their_own_notifications(repos):
    mine = amazon_channel(repos, "amazon-uk-a", [UK])
    mine = mine.model_copy(update={"settings": mine.settings.model_copy(update={"seller_id": "A3FAKESELLER01"}),
                                   "version": 1})
    repos.commit(repos.channels.save(mine, 0))
    other = amazon_channel(repos, "amazon-uk-b", [UK])
    other = other.model_copy(update={"settings": other.settings.model_copy(update={"seller_id": "A9OTHERSELLER"}),
                                     "version": 1})
    repos.commit(repos.channels.save(other, 0))
    fake = FakeAmazon().on(f"{SEARCH}/203-0000001-0000001", ok(sample("get_order")))
    asked: list[str] = []
    take_order_change(json.dumps(sample("order_change_notification")), repos, T0,
                      client_for=lambda channel: asked.append(channel.channel_id) or amazon(fake))
    assert asked == ["amazon-uk-a"]


def test_one_channel_that_cannot_be_polled_does_not_stop_the_others(repos):
    amazon_channel(repos, "amazon-broken", [UK])
    amazon_channel(repos, "amazon-uk", [UK])
    fake = FakeAmazon().on(SEARCH, Search(*six_orders()))

    def client_for(channel):
        if channel.channel_id == "amazon-broken":
            raise ChannelNotConfigured("the secret of channel amazon-broken lacks refresh_token")
        return amazon(fake)

    with pytest.raises(PollFailed, match="amazon-broken"):
        poll_channels(repos, T0, page_budget=10, client_for=client_for)
    assert {e["channel_order_id"] for e in events(repos, "OrderReceived")} == set(IDS)
