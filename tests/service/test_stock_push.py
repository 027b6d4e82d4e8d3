"""The stock feed's two consumers on the in-memory store: feed-channel-stock coalesces a batch's SKUs
into one computation, push-channel-stock sets a Shopify channel's figure (shared/services/stock_feed.py
push_to_shopify) through a fake transport answering with recorded Shopify payloads. Nothing reaches
the network: an unconfigured channel is skipped before any call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.adapters.stock_feed_repo import StockFeedRepository
from shared.channels.shopify_inventory import ShopifyInventory, ShopifyThrottled
from shared.domain.channels import Channel, ChannelKind, ChannelSettings
from shared.domain.events import ChannelStockChanged
from shared.services.stock_feed import Pushed, ShopifyInventories, idempotency_key, push_to_shopify
from tests.factories import NOW

PAYLOADS = Path(__file__).parents[1] / "unit" / "channel_payloads" / "shopify"
ITEM = "gid://shopify/InventoryItem/46708345028712"  # graphql_product_variants.json
LOCATION = "gid://shopify/Location/987654321"


def payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


class FakeShopify:
    """A transport answering each call with the next recorded (status, body); it records what was sent."""

    def __init__(self, *answers: tuple[int, bytes]):
        self.answers = list(answers)
        self.sent: list[dict] = []

    def __call__(self, method, url, headers, body):
        self.sent.append({"method": method, "url": url, "headers": headers, "json": json.loads(body)})
        status, raw = self.answers.pop(0)
        return status, {}, raw


def shopify_channel(**overrides) -> Channel:
    settings = dict(kind=ChannelKind.SHOPIFY, secret_ref="oms/channels/shop", stock_feed=True,
                    shop_domain="oms-test.myshopify.com", external_location_id=LOCATION)
    settings.update(overrides)
    return Channel(channel_id="shop", settings=ChannelSettings(**settings), created_at=NOW, updated_at=NOW,
                   updated_by="test")


def changed(figure: int = 7, stamp: int = 42, sku: str = "SKU-1", channel_sku: str = "TSHIRT-BLK-M"
            ) -> ChannelStockChanged:
    return ChannelStockChanged(occurred_at=NOW, channel_id="shop", sku=sku, channel_sku=channel_sku,
                               available_to_sell=figure, previous=None, stamp=stamp)


@pytest.fixture
def feed(repos) -> StockFeedRepository:
    return getattr(repos, "stock_feed", None) or StockFeedRepository(repos.store)


def inventory(transport) -> ShopifyInventory:
    return ShopifyInventory("oms-test.myshopify.com", "shpat_test", transport)


def test_the_figure_is_set_at_the_channels_location_under_the_channel_sku(feed):
    shop = FakeShopify((200, payload("graphql_product_variants")), (200, payload("graphql_inventory_set_quantities")))

    result = push_to_shopify(changed(), shopify_channel(), inventory(shop), NOW, sent=feed)

    assert result.outcome == Pushed.SET and result.inventory_item_id == ITEM
    lookup, mutation = shop.sent
    assert lookup["json"]["variables"] == {"query": 'sku:"TSHIRT-BLK-M"'}
    assert mutation["json"]["variables"]["idempotencyKey"] == "shop:SKU-1:42"
    assert mutation["json"]["variables"]["input"]["quantities"] == [
        {"inventoryItemId": ITEM, "locationId": LOCATION, "quantity": 7, "changeFromQuantity": None}]
    assert mutation["url"] == "https://oms-test.myshopify.com/admin/api/2026-10/graphql.json"


def test_a_redelivered_event_carries_the_same_idempotency_key(feed):
    shop = FakeShopify((200, payload("graphql_product_variants")), (200, payload("graphql_inventory_set_quantities")),
                       (200, payload("graphql_inventory_set_quantities")))
    event = changed()
    redelivered = ChannelStockChanged.model_validate_json(event.model_dump_json())
    same_shop = inventory(shop)

    push_to_shopify(event, shopify_channel(), same_shop, NOW, sent=feed)
    push_to_shopify(redelivered, shopify_channel(), same_shop, NOW, sent=feed)

    keys = [call["json"]["variables"].get("idempotencyKey") for call in shop.sent]
    assert keys == [None, "shop:SKU-1:42", "shop:SKU-1:42"]  # the variant was looked up once (cached)
    assert idempotency_key(changed(stamp=43)) != idempotency_key(event)  # a later reading is another request


@pytest.mark.parametrize("overrides, missing", [
    ({"shop_domain": None}, "shop_domain"),
    ({"external_location_id": None}, "external_location_id"),
])
def test_a_channel_without_its_shopify_settings_is_skipped_without_a_call(feed, overrides, missing):
    shop = FakeShopify()
    channel = shopify_channel(**overrides)
    inventories = ShopifyInventories(lambda _c: pytest.fail("no secret is read"), lambda: shop)

    result = push_to_shopify(changed(), channel, inventories.for_channel(channel), NOW, sent=feed)

    assert result.outcome == Pushed.SKIPPED and missing in (result.reason or "")
    assert shop.sent == []


@pytest.mark.parametrize("overrides", [{"stock_feed": False}, {"active": False}])
def test_a_channel_that_turned_the_feed_off_since_is_not_pushed(feed, overrides):
    shop = FakeShopify()

    result = push_to_shopify(changed(), shopify_channel(**overrides), inventory(shop), NOW, sent=feed)

    assert result.outcome == Pushed.SKIPPED and "turned off" in (result.reason or "")
    assert shop.sent == []


def test_a_channel_whose_secret_has_no_access_token_is_skipped(feed):
    shop = FakeShopify()
    inventories = ShopifyInventories(lambda _c: {"webhook_secret": "s"}, lambda: shop)

    result = push_to_shopify(changed(), shopify_channel(), inventories.for_channel(shopify_channel()), NOW, sent=feed)

    assert result.outcome == Pushed.SKIPPED and "access_token" in (result.reason or "")
    assert shop.sent == []


def test_the_inventory_is_kept_per_channel_and_rebuilt_when_the_token_rotates():
    tokens = ["one"]
    inventories = ShopifyInventories(lambda _c: {"access_token": tokens[0]}, FakeShopify)
    first = inventories.for_channel(shopify_channel())

    assert inventories.for_channel(shopify_channel()) is first  # its SKU -> item cache survives
    tokens[0] = "two"
    assert inventories.for_channel(shopify_channel()) is not first


def test_throttling_raises_so_the_record_is_retried(feed):
    shop = FakeShopify((200, payload("graphql_product_variants")), (200, payload("graphql_throttled")))

    with pytest.raises(ShopifyThrottled) as throttled:
        push_to_shopify(changed(), shopify_channel(), inventory(shop), NOW, sent=feed)

    assert throttled.value.retry_after > 0


def test_a_refusal_is_logged_and_dropped(feed):
    shop = FakeShopify((200, payload("graphql_product_variants")),
                       (200, payload("graphql_inventory_set_quantities_user_errors")))

    result = push_to_shopify(changed(), shopify_channel(), inventory(shop), NOW, sent=feed)

    assert result.outcome == Pushed.REJECTED and "location could not be found" in (result.reason or "")


def test_a_sku_the_shop_does_not_have_is_dropped(feed):
    shop = FakeShopify((200, payload("graphql_product_variants")))

    result = push_to_shopify(changed(channel_sku="NOT-IN-SHOP"), shopify_channel(), inventory(shop), NOW, sent=feed)

    assert result.outcome == Pushed.NOT_FOUND and len(shop.sent) == 1  # looked up, nothing set


def test_an_event_a_later_figure_superseded_is_not_pushed(repos, feed):
    repos.commit(feed.record("shop", "SKU-1", 3, 50, NOW))  # a later reading, already recorded
    shop = FakeShopify()

    result = push_to_shopify(changed(figure=7, stamp=42), shopify_channel(), inventory(shop), NOW, sent=feed)

    assert result.outcome == Pushed.SUPERSEDED and shop.sent == []


# --- the two consumers ----------------------------------------------------------------------------

def sqs(*bodies: dict | str) -> dict:
    return {"Records": [{
        "messageId": f"m-{n}", "receiptHandle": "r", "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
        for n, body in enumerate(bodies)]}


def bus_event(detail_type: str, detail: dict) -> dict:
    return {"version": "0", "id": "e-1", "detail-type": detail_type, "source": "oms", "time": "2026-11-25T09:00:00Z",
            "region": "us-east-1", "resources": [], "detail": detail}


def context():
    from local.functions import LambdaContext

    return LambdaContext("stock-feed", 128, 10)


def test_feed_consumer_computes_once_for_the_distinct_skus_of_a_batch(repos, monkeypatch):
    from functions.feed_channel_stock import handler

    calls = []
    monkeypatch.setattr(handler, "repositories", lambda: repos)
    monkeypatch.setattr(handler, "feed_channels", lambda skus, *a: calls.append(set(skus)) or _report())
    batch = sqs(bus_event("StockChanged", {"sku": "A", "location_id": "BER"}),
                bus_event("OrderAllocated", {"order_id": "o1", "allocations": [
                    {"sku": "A", "location_id": "BER", "quantity": 1}, {"sku": "B", "location_id": "MAD", "quantity": 2}]}),
                bus_event("StockDriftRepaired", {"sku": "C", "location_id": "BER"}),
                "not json")

    answer = handler.lambda_handler(batch, context())

    assert calls == [{"A", "B", "C"}]
    assert answer["batchItemFailures"] == [{"itemIdentifier": "m-3"}]  # only the unreadable record


def test_push_consumer_pushes_shopify_channels_only(repos, monkeypatch):
    from functions.push_channel_stock import handler

    shop = FakeShopify((200, payload("graphql_product_variants")), (200, payload("graphql_inventory_set_quantities")))
    monkeypatch.setattr(handler, "repositories", lambda: repos)
    monkeypatch.setattr(handler, "inventories", ShopifyInventories(lambda _c: {"access_token": "t"}, lambda: shop))
    repos.commit(repos.channels.save(shopify_channel(), None))
    web = Channel(channel_id="web-eu", settings=ChannelSettings(stock_feed=True), created_at=NOW, updated_at=NOW,
                  updated_by="test")
    repos.commit(repos.channels.save(web, None))
    other = changed().model_copy(update={"channel_id": "web-eu"})
    batch = sqs(bus_event("ChannelStockChanged", json.loads(changed().model_dump_json())),
                bus_event("ChannelStockChanged", json.loads(other.model_dump_json())))

    answer = handler.lambda_handler(batch, context())

    assert answer["batchItemFailures"] == []
    assert [call["json"]["variables"].get("idempotencyKey") for call in shop.sent] == [None, "shop:SKU-1:42"]


def test_push_consumer_retries_a_throttled_record(repos, monkeypatch):
    from functions.push_channel_stock import handler

    shop = FakeShopify((200, payload("graphql_product_variants")), (429, b"{}"))
    monkeypatch.setattr(handler, "repositories", lambda: repos)
    monkeypatch.setattr(handler, "inventories", ShopifyInventories(lambda _c: {"access_token": "t"}, lambda: shop))
    repos.commit(repos.channels.save(shopify_channel(), None))

    answer = handler.lambda_handler(sqs(bus_event("ChannelStockChanged", json.loads(changed().model_dump_json()))),
                                    context())

    assert answer["batchItemFailures"] == [{"itemIdentifier": "m-0"}]


def _report():
    from shared.services.stock_feed import FeedReport

    return FeedReport()
