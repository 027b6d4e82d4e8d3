"""The stock feed on the in-memory store (shared/services/stock_feed.py feed_channels): coalesced per
batch, sent only when the figure changed, and never left on a figure from an older reading whatever
order concurrent batches commit in. Each guard has a test that fails without it."""

from __future__ import annotations

import pytest

from shared.adapters.expressions import Put
from shared.adapters.stock_feed_repo import StockFeedRepository
from shared.domain.channels import Channel, ChannelSettings
from shared.domain.routing import Assignment
from shared.domain.stock import SetStockRequest
from shared.services.inventory import set_stock
from shared.services.stock_feed import current_figure, feed_channels
from tests.factories import NOW, TWO_WAREHOUSES, location_request, seed
from tests.service.flows import events, interleave

SKU = "SKU-1"


def add_channel(repos, channel_id: str, **settings) -> Channel:
    channel = Channel(channel_id=channel_id, settings=ChannelSettings(**settings), created_at=NOW, updated_at=NOW,
                      updated_by="test")
    repos.commit(repos.channels.save(channel, None))
    return channel


@pytest.fixture
def feed(repos) -> StockFeedRepository:
    return getattr(repos, "stock_feed", None) or StockFeedRepository(repos.store)


@pytest.fixture
def stocked(repos):
    closed = location_request("DE", active=False)
    nowhere = location_request("DE").model_copy(update={"ships_to": []})  # neither ships nor hands over
    pickup = location_request("DE", pickup_enabled=True).model_copy(update={"ships_to": []})
    seed(repos, {**TWO_WAREHOUSES, "CLOSED": closed, "NOWHERE": nowhere, "STORE": pickup},
         {(SKU, "BER"): 600, (SKU, "MAD"): 500, (SKU, "CLOSED"): 1000, (SKU, "NOWHERE"): 70, (SKU, "STORE"): 4})
    return repos


def sent(repos, channel_id: str | None = None) -> list[dict]:
    """The ChannelStockChanged events, oldest reading first (the outbox is kept by event id)."""
    told = [e for e in events(repos, "ChannelStockChanged") if channel_id in (None, e["channel_id"])]
    return sorted(told, key=lambda e: (e["stamp"], e["channel_id"]))


def reserve(repos, order_id: str, location_id: str = "BER", quantity: int = 1) -> None:
    repos.commit(repos.stock.reserve(order_id, [Assignment(location_id, SKU, quantity)], NOW))


def true_figure(repos, buffer: int) -> int:
    """From the levels as they are, independently of the code under test."""
    serving = {"BER", "MAD", "STORE"}
    total = sum(max(0, lv.available) for lv in repos.stock.levels_for_sku(SKU) if lv.location_id in serving)
    return max(0, total - buffer)


def test_a_burst_of_reservations_is_told_once_per_batch_and_ends_on_the_true_figure(stocked, feed, monkeypatch):
    repos = stocked
    add_channel(repos, "shop", stock_feed=True)
    add_channel(repos, "market", stock_feed=True, stock_buffer=500)
    add_channel(repos, "quiet")  # no feed: never told
    reads = []
    real_levels = repos.stock.levels_for_sku
    monkeypatch.setattr(repos.stock, "levels_for_sku", lambda sku: reads.append(sku) or real_levels(sku))

    batches = []
    for batch in range(10):  # 1,000 reservations, the feed running once per batch of 100
        for i in range(100):
            reserve(repos, f"o{batch:02d}{i:03d}", "BER" if i % 2 else "MAD")
        before = {e["event_id"] for e in sent(repos)}
        report = feed_channels({SKU}, repos, feed, NOW)
        batches.append([e for e in sent(repos) if e["event_id"] not in before])
        assert report.skus == 1

    assert reads == [SKU] * 10  # one reading per batch, not per reservation
    for told in batches:
        assert len([e for e in told if e["channel_id"] == "shop"]) <= 1
        assert len([e for e in told if e["channel_id"] == "market"]) <= 1
    assert {e["channel_id"] for e in sent(repos)} == {"shop", "market"}
    # 1,104 units at serving locations, 1,000 reserved: 104 left; the market holds 500 back.
    assert true_figure(repos, 0) == 104 and true_figure(repos, 500) == 0
    assert feed.last("shop", SKU).figure == sent(repos, "shop")[-1]["available_to_sell"] == 104
    assert feed.last("market", SKU).figure == sent(repos, "market")[-1]["available_to_sell"] == 0
    # The market's figure reached 0 after the 7th batch (604 - 700) and stayed there: no more events for it.
    assert len(sent(repos, "shop")) == 10
    assert [e["available_to_sell"] for e in sent(repos, "market")] == [504, 404, 304, 204, 104, 4, 0]
    shop = sent(repos, "shop")
    assert [e["previous"] for e in shop[:2]] == [None, shop[0]["available_to_sell"]]
    assert all(a["stamp"] < b["stamp"] for a, b in zip(shop, shop[1:], strict=False))


def test_an_older_reading_committed_last_is_refused(stocked, feed, monkeypatch):
    repos = stocked
    add_channel(repos, "shop", stock_feed=True)

    def newer_batch():  # a reservation and the batch it triggered, between our reading and our write
        reserve(repos, "o-late", quantity=4)
        feed_channels({SKU}, repos, feed, NOW)

    interleave(monkeypatch, repos, newer_batch)
    report = feed_channels({SKU}, repos, feed, NOW)

    assert report.stale == 1 and report.sent == []  # the refusal happened: ours was the older reading
    assert [e["available_to_sell"] for e in sent(repos)] == [1100]
    assert feed.last("shop", SKU).figure == true_figure(repos, 0) == 1100


def test_without_the_stamp_condition_the_older_reading_would_win(stocked, feed, monkeypatch):
    """The same race as above with the condition removed: the figure left is the older, wrong one. So
    the refusal above is what keeps the feed true."""
    repos = stocked
    add_channel(repos, "shop", stock_feed=True)
    real_record = StockFeedRepository.record
    monkeypatch.setattr(StockFeedRepository, "record",
                        lambda self, *args: Put(real_record(self, *args).item))  # no condition

    def newer_batch():
        reserve(repos, "o-late", quantity=4)
        feed_channels({SKU}, repos, feed, NOW)

    interleave(monkeypatch, repos, newer_batch)
    feed_channels({SKU}, repos, feed, NOW)

    assert feed.last("shop", SKU).figure == 1104 != true_figure(repos, 0)


def test_a_later_reading_with_an_unchanged_figure_still_stops_an_older_one(stocked, feed, monkeypatch):
    """Told 1,104; our reading sees a reservation (1,103). Before we write, it is cancelled and its batch
    reads 1,104 again: unchanged, no event, but the stamp moves, so our older 1,103 is refused."""
    repos = stocked
    add_channel(repos, "shop", stock_feed=True)
    feed_channels({SKU}, repos, feed, NOW)
    reserve(repos, "o-1")

    def cancelled_and_fed():
        version = repos.stock.level(SKU, "BER").version
        repos.commit(repos.stock.release("o-1", [_allocation("BER", 1)], NOW, {(SKU, "BER"): version}))
        assert feed_channels({SKU}, repos, feed, NOW).unchanged == 1

    interleave(monkeypatch, repos, cancelled_and_fed)
    report = feed_channels({SKU}, repos, feed, NOW)

    assert report.stale == 1
    assert [e["available_to_sell"] for e in sent(repos)] == [1104]
    assert feed.last("shop", SKU).figure == true_figure(repos, 0) == 1104


def test_contention_is_retried_on_a_fresh_read(stocked, feed, monkeypatch):
    from shared.unit_of_work import Contention

    repos = stocked
    add_channel(repos, "shop", stock_feed=True)
    store_type = type(repos.store)
    real, failures = store_type.transact, [1]

    def transact(self, writes):
        if failures:
            failures.pop()
            raise Contention("another transaction on the same item")
        return real(self, writes)

    monkeypatch.setattr(store_type, "transact", transact)
    report = feed_channels({SKU}, repos, feed, NOW)

    assert report.sent == [("shop", SKU, 1104)] and len(sent(repos)) == 1


def test_without_a_fed_channel_nothing_but_the_channel_list_is_read(stocked, feed, monkeypatch):
    repos = stocked
    add_channel(repos, "plain")
    add_channel(repos, "paused", stock_feed=True, active=False)
    calls: list[tuple[str, str]] = []

    def counted(name, real):
        def call(*args, **kwargs):
            first = args[0] if args else None
            calls.append((name, getattr(first, "partition", None) or str(first)))
            return real(*args, **kwargs)
        return call

    # Every request the memory store answers goes through one of these (query_all pages through query).
    for name in ("get", "batch_get", "query", "transact", "write"):
        monkeypatch.setattr(repos.store, name, counted(name, getattr(repos.store, name)))

    report = feed_channels({SKU, "SKU-2", "SKU-3"}, repos, feed, NOW)

    assert calls == [("query", "CHANNEL")]  # the channel list, once
    assert report.channels == [] and report.skus == 0 and sent(repos) == []


def test_the_buffer_is_held_back_and_the_figure_never_goes_below_zero(stocked, feed):
    repos = stocked
    add_channel(repos, "small", stock_feed=True, stock_buffer=4)
    add_channel(repos, "huge", stock_feed=True, stock_buffer=5000)

    feed_channels({SKU}, repos, feed, NOW)

    figures = {e["channel_id"]: e["available_to_sell"] for e in sent(repos)}
    assert figures == {"small": 1100, "huge": 0}


def test_only_locations_that_may_serve_count(stocked, feed):
    repos = stocked
    add_channel(repos, "shop", stock_feed=True)

    feed_channels({SKU}, repos, feed, NOW)

    # BER 600 + MAD 500 + the pickup store 4; not the closed location nor the one that serves nobody.
    [told] = sent(repos)
    assert told["available_to_sell"] == 1104 == true_figure(repos, 0)
    assert current_figure(repos.channels.get("shop", NOW), SKU, repos).figure == 1104


def test_an_unchanged_figure_is_not_told_again(stocked, feed):
    repos = stocked
    add_channel(repos, "shop", stock_feed=True)
    feed_channels({SKU}, repos, feed, NOW)
    first = feed.last("shop", SKU)

    again = feed_channels({SKU}, repos, feed, NOW)  # a redelivered batch
    set_stock(SKU, "CLOSED", SetStockRequest(on_hand=5), repos, NOW)  # a change the channel cannot sell
    moved = feed_channels({SKU}, repos, feed, NOW)

    assert again.stale == 1 and moved.unchanged == 1
    assert len(sent(repos)) == 1
    last = feed.last("shop", SKU)
    assert last.figure == first.figure and last.stamp > first.stamp  # the later reading is remembered


def test_the_channel_is_told_under_its_own_sku(stocked, feed):
    repos = stocked
    add_channel(repos, "shop", stock_feed=True, sku_mapping={"variant:99": SKU, "SHOP-1": SKU, SKU: "SKU-9"})
    add_channel(repos, "swapped", stock_feed=True, sku_mapping={SKU: "SKU-9"})  # its SKU-1 is our SKU-9

    feed_channels({SKU}, repos, feed, NOW)

    assert [(e["channel_id"], e["sku"], e["channel_sku"]) for e in sent(repos)] == [("shop", SKU, "SHOP-1")]


def _allocation(location_id: str, quantity: int):
    from shared.domain.orders import Allocation

    return Allocation(sku=SKU, location_id=location_id, quantity=quantity)
