"""The Amazon poll over the in-memory store and a fake Amazon (never the network): page by page
from the channel's checkpoint, resumed where a crash or a throttle stopped it, with no order
missed, and the ORDER_CHANGE notification path.

Amazon's search is played by `Search`: the orders it can find so far, oldest update first, two a
page, each page's token standing for the next one (a token is good only with the lastUpdatedAfter
it was issued for, as Amazon documents). The capture path is played by `Capture`: idempotent per
channel order id, ignoring a revision not newer than the one it holds, as the real one does.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.channel_sync_repo import (
    CHECKPOINT_SK,
    ChannelSyncRepository,
    CheckpointMoved,
    SyncCheckpoint,
    checkpoint_pk,
)
from shared.channels.amazon import AmazonOrder, AmazonOrders, AmazonUnavailable
from shared.channels.intake import ChannelOrder, IntakeAction, SkuMap, UnreadableOrder
from shared.repositories import in_memory
from shared.services.amazon_poll import OVERLAP, poll_amazon, receive_order_change
from tests.unit.test_amazon_orders import CREDENTIALS, NA, Clock, FakeAmazon, ok, sample

CHANNEL = "amazon-uk"
MARKETPLACES = ["A1F83G8C2ARO7P"]
T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
SEARCH = "/orders/2026-01-01/orders"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def amazon_order(order_id: str, updated: str) -> dict:
    order = copy.deepcopy(sample("search_orders_page")["orders"][0])  # the UK MFN order
    order.update({"orderId": order_id, "lastUpdatedTime": updated})
    return order


class Search:
    """searchOrders as Amazon answers it: what is findable so far, `size` a page."""

    def __init__(self, *orders: dict, size: int = 2, rate: str | None = "0.0056"):
        self.findable = list(orders)
        self.size = size
        self.headers = {"x-amzn-RateLimit-Limit": rate} if rate else {}  # searchOrders' default rate
        self.issued: dict[str, tuple[str, int]] = {}  # token -> (lastUpdatedAfter, offset)

    def __call__(self, call):
        after = call.query["lastUpdatedAfter"]
        since = at(after.replace("Z", "+00:00"))
        matching = sorted((o for o in self.findable if at(o["lastUpdatedTime"].replace("Z", "+00:00")) >= since),
                          key=lambda o: (o["lastUpdatedTime"], o["orderId"]))
        offset = 0
        if "paginationToken" in call.query:
            issued = self.issued.get(call.query["paginationToken"])
            if issued is None or issued[0] != after:
                return 400, {}, sample("error_invalid_input_400")
            offset = issued[1]
        body: dict = {"orders": matching[offset:offset + self.size]}
        if offset + self.size < len(matching):
            token = f"page-{offset + self.size}"
            self.issued[token] = (after, offset + self.size)
            body["pagination"] = {"nextToken": token}
        return 200, self.headers, body


class Capture:
    """The capture path: once per channel order id, a revision not newer than the one held is ignored."""

    def __init__(self, fail_once_on: str | None = None):
        self.handed: list[str] = []
        self.revisions: dict[str, datetime] = {}
        self.applied: list[str] = []
        self.fail_once_on = fail_once_on

    def __call__(self, order: ChannelOrder) -> str:
        self.handed.append(order.channel_order_id)
        if order.channel_order_id == self.fail_once_on:
            self.fail_once_on = None
            raise RuntimeError("the capture's transaction failed")
        held = self.revisions.get(order.channel_order_id)
        if held is not None and order.revision <= held:
            return "stale"
        self.revisions[order.channel_order_id] = order.revision
        self.applied.append(order.channel_order_id)
        return "applied"


def six_orders() -> list[dict]:
    return [amazon_order(f"203-0000000-000000{i}", f"2026-11-02T10:0{i}:00Z") for i in range(1, 7)]


IDS = [f"203-0000000-000000{i}" for i in range(1, 7)]


@pytest.fixture
def sync(repos) -> ChannelSyncRepository:
    return ChannelSyncRepository(repos.store)


def amazon(fake: FakeAmazon, clock: Clock | None = None, **kwargs) -> AmazonOrders:
    clock = clock or Clock()
    return AmazonOrders(NA, CREDENTIALS, fake, sleep=clock.sleep, clock=clock, **kwargs)


def poll(fake, sync, capture, now=T0, budget=10, clock=None, **kwargs):
    client = amazon(fake, clock, **{k: kwargs.pop(k) for k in ("max_attempts", "legacy_v0") if k in kwargs})
    return poll_amazon(CHANNEL, client, SkuMap(), MARKETPLACES, sync, capture, now, budget, **kwargs)


def searches(fake: FakeAmazon) -> list[tuple[str, str | None]]:
    return [(c.query["lastUpdatedAfter"], c.query.get("paginationToken")) for c in fake.api(SEARCH)]


# ------------------------------------------------------------------ a pass


def test_a_pass_takes_every_page_and_moves_the_checkpoint_to_its_start_less_the_overlap(sync):
    fake, capture = FakeAmazon().on(SEARCH, Search(*six_orders())), Capture()
    report = poll(fake, sync, capture)

    # The first pass of a channel starts a day back; every page with the same lower bound.
    assert searches(fake) == [("2026-11-01T13:00:00Z", None), ("2026-11-01T13:00:00Z", "page-2"),
                              ("2026-11-01T13:00:00Z", "page-4")]
    assert capture.handed == IDS
    assert (report.pages, report.received, report.actions, report.completed) == (3, 6, {"upsert": 6}, True)
    checkpoint = sync.checkpoint(CHANNEL)
    assert checkpoint.updated_after == T0 - OVERLAP == T0 - timedelta(minutes=5)
    assert not checkpoint.in_progress and checkpoint.pass_started_at is None

    # The next pass starts there.
    later = FakeAmazon().on(SEARCH, Search(*six_orders()))
    poll(later, sync, Capture(), now=T0 + timedelta(minutes=5))
    assert searches(later) == [("2026-11-02T12:55:00Z", None)]


def test_the_checkpoint_is_saved_after_each_page_and_the_next_run_continues_the_same_pass(sync):
    search, capture = Search(*six_orders()), Capture()
    first = FakeAmazon().on(SEARCH, search)
    report = poll(first, sync, capture, budget=1)
    assert (report.pages, report.completed) == (1, False)
    checkpoint = sync.checkpoint(CHANNEL)
    assert (checkpoint.next_token, checkpoint.updated_after, checkpoint.pass_started_at, checkpoint.pages) == (
        "page-2", T0 - timedelta(days=1), T0, 1)

    second = FakeAmazon().on(SEARCH, search)
    report = poll(second, sync, capture, now=T0 + timedelta(minutes=5), budget=1)
    # The same lower bound as the page that gave the token, not "now less a day".
    assert searches(second) == [("2026-11-01T13:00:00Z", "page-2")]
    assert report.resumed and sync.checkpoint(CHANNEL).next_token == "page-4"

    third = FakeAmazon().on(SEARCH, search)
    report = poll(third, sync, capture, now=T0 + timedelta(minutes=10), budget=1)
    assert report.completed and capture.handed == IDS
    # From when the pass started (T0), not when it ended: what changed meanwhile comes next pass.
    assert sync.checkpoint(CHANNEL).updated_after == T0 - OVERLAP


# ------------------------------------------------------------------ crashes and throttles


def test_a_crash_in_receive_resumes_at_the_page_it_crashed_on_and_misses_nothing(sync):
    search = Search(*six_orders())
    capture = Capture(fail_once_on=IDS[3])  # the second order of page 2
    with pytest.raises(RuntimeError):
        poll(FakeAmazon().on(SEARCH, search), sync, capture)
    assert sync.checkpoint(CHANNEL).next_token == "page-2"  # page 1 was taken, page 2 was not

    rerun = FakeAmazon().on(SEARCH, search)
    report = poll(rerun, sync, capture, now=T0 + timedelta(minutes=5))
    assert searches(rerun) == [("2026-11-01T13:00:00Z", "page-2"), ("2026-11-01T13:00:00Z", "page-4")]
    assert report.completed
    handed = Counter(capture.handed)
    # Only what the crash forces comes twice: the crashed page up to the failed order.
    assert {i for i, n in handed.items() if n > 1} == {IDS[2], IDS[3]}
    assert all(n <= 2 for n in handed.values())
    assert sorted(capture.revisions) == IDS and sorted(capture.applied) == IDS  # each captured once


def test_a_transport_failure_between_pages_resumes_at_the_next_page_without_repeats(sync):
    search = Search(*six_orders())
    failures = iter([ConnectionResetError(104, "Connection reset by peer")])

    def flaky(call):
        if call.query.get("paginationToken") == "page-4":
            failure = next(failures, None)
            if failure is not None:
                return failure
        return search(call)

    capture = Capture()
    with pytest.raises(AmazonUnavailable):
        poll(FakeAmazon().on(SEARCH, flaky), sync, capture)
    assert sync.checkpoint(CHANNEL).next_token == "page-4" and capture.handed == IDS[:4]

    rerun = FakeAmazon().on(SEARCH, flaky)
    assert poll(rerun, sync, capture, now=T0 + timedelta(minutes=5)).completed
    assert searches(rerun) == [("2026-11-01T13:00:00Z", "page-4")]
    assert capture.handed == IDS  # every order exactly once


def test_a_throttled_page_is_asked_again_after_a_backoff_that_honours_amazons_rate(sync):
    search, throttles = Search(*six_orders(), rate=None), iter(range(2))

    def throttled_twice(call):
        if call.query.get("paginationToken") == "page-2" and next(throttles, None) is not None:
            return 429, {"x-amzn-RateLimit-Limit": "0.5"}, sample("error_quota_exceeded_429")
        return search(call)

    clock, capture = Clock(), Capture()
    report = poll(FakeAmazon().on(SEARCH, throttled_twice), sync, capture, clock=clock)
    # Two retries of page 2 after max(1 s then 2 s of backoff, 1 / 0.5 per second); then page 3 is
    # paced at that rate: once throttled, no more than 0.5 requests a second.
    assert clock.waits == [2.0, 2.0, 2.0]
    assert report.completed and not report.throttled and capture.handed == IDS


def test_a_call_still_throttled_ends_the_pass_early_and_the_next_run_continues(sync):
    search = Search(*six_orders(), rate=None)

    def throttled(call):
        if call.query.get("paginationToken") == "page-2":
            return 429, {}, sample("error_quota_exceeded_429")
        return search(call)

    clock, capture = Clock(), Capture()
    report = poll(FakeAmazon().on(SEARCH, throttled), sync, capture, clock=clock, max_attempts=3)
    assert (report.throttled, report.completed, report.pages) == (True, False, 1)
    assert clock.waits == [1.0, 2.0]  # injected: nothing really slept
    assert sync.checkpoint(CHANNEL).next_token == "page-2"  # kept for the next run

    # At searchOrders' documented rate (one request per 180 s) a 429 ends the pass without waiting.
    clock = Clock()
    at_default_rate = Search(*six_orders())
    report = poll(FakeAmazon().on(SEARCH, lambda call: throttled(call) if "paginationToken" in call.query
                                  else at_default_rate(call)), ChannelSyncRepository(in_memory().store),
                  Capture(), clock=clock)
    assert report.throttled and clock.waits == []

    rerun = FakeAmazon().on(SEARCH, search)
    report = poll(rerun, sync, capture, now=T0 + timedelta(minutes=5))
    assert report.completed and searches(rerun)[0] == ("2026-11-01T13:00:00Z", "page-2")
    assert capture.handed == IDS


def test_a_saved_token_amazon_no_longer_takes_starts_the_pass_over_from_the_same_lower_bound(sync):
    since = T0 - timedelta(hours=30)
    sync.save(SyncCheckpoint(CHANNEL), SyncCheckpoint(CHANNEL).page_taken(since, "token-from-yesterday",
                                                                          T0 - timedelta(hours=26)), T0)
    fake, capture = FakeAmazon().on(SEARCH, Search(*six_orders())), Capture()
    report = poll(fake, sync, capture)
    assert report.restarted and report.completed
    assert searches(fake) == [("2026-11-01T07:00:00Z", "token-from-yesterday"), ("2026-11-01T07:00:00Z", None),
                              ("2026-11-01T07:00:00Z", "page-2"), ("2026-11-01T07:00:00Z", "page-4")]
    assert capture.handed == IDS
    assert sync.checkpoint(CHANNEL).updated_after == T0 - OVERLAP  # the restarted pass began at T0


# ------------------------------------------------------------------ the overlap


@pytest.mark.parametrize(("overlap", "late_order_found"), [(OVERLAP, True), (timedelta(0), False)])
def test_the_overlap_finds_an_order_whose_update_became_searchable_late(repos, overlap, late_order_found):
    sync = ChannelSyncRepository(repos.store)
    early = [amazon_order("203-0000000-0000001", "2026-11-02T12:40:00Z"),
             amazon_order("203-0000000-0000002", "2026-11-02T12:56:00Z")]
    search, capture = Search(*early), Capture()
    assert poll(FakeAmazon().on(SEARCH, search), sync, capture, overlap=overlap).completed

    # Updated at 12:58, before the first pass started at 13:00, but findable only after it asked.
    search.findable.append(amazon_order("203-0000000-0000009", "2026-11-02T12:58:00Z"))
    second = FakeAmazon().on(SEARCH, search)
    poll(second, sync, capture, now=T0 + timedelta(minutes=5), overlap=overlap)

    assert ("203-0000000-0000009" in capture.revisions) is late_order_found
    if late_order_found:
        assert searches(second)[0][0] == "2026-11-02T12:55:00Z"
        # The 12:56 order came again in the overlap: handed twice, applied once.
        assert Counter(capture.handed)["203-0000000-0000002"] == 2
        assert capture.applied.count("203-0000000-0000002") == 1


# ------------------------------------------------------------------ the rest


def test_two_runs_at_once_the_one_that_finds_the_checkpoint_moved_stops(sync):
    search = Search(*six_orders())

    class OtherRunMovesTheCheckpoint(Capture):
        def __call__(self, order):
            if not self.handed:  # meanwhile, another run of the channel saved its checkpoint
                read = sync.checkpoint(CHANNEL)
                sync.save(read, read.page_taken(T0 - timedelta(days=1), "page-4", T0), T0)
            return super().__call__(order)

    capture = OtherRunMovesTheCheckpoint()
    report = poll(FakeAmazon().on(SEARCH, search), sync, capture)
    assert report.superseded and report.pages == 1 and capture.handed == IDS[:2]
    assert sync.checkpoint(CHANNEL).next_token == "page-4"  # the other run's, not moved back to page-2


def test_an_unreadable_order_is_reported_and_kept_and_the_pass_goes_on(sync):
    orders = six_orders()
    orders[1]["fulfillment"]["fulfillmentStatus"] = "TELEPORTED"
    kept: list[tuple[AmazonOrder, UnreadableOrder]] = []
    capture = Capture()
    report = poll(FakeAmazon().on(SEARCH, Search(*orders)), sync, capture,
                  unreadable=lambda order, error: kept.append((order, error)))
    assert report.completed and report.unreadable == [IDS[1]]
    assert [(o.order_id, e.field) for o, e in kept] == [(IDS[1], "fulfillment.fulfillmentStatus")]
    assert capture.handed == IDS[:1] + IDS[2:]


def test_a_v0_poll_counts_what_it_acknowledged_cancelled_and_left_to_amazon(sync):
    fake = FakeAmazon().on("/orders/v0/orders", ok(sample("get_orders_page")),
                           ok({"payload": {"Orders": []}}))
    fake.on("/orders/v0/orders/113-0000001-0000001/orderItems",
            ok(sample("get_order_items_page1")), ok(sample("get_order_items_page2")))
    capture = Capture()
    report = poll(fake, sync, capture, legacy_v0=True)
    assert report.completed and report.pages == 2
    assert report.actions == {"upsert": 1, "acknowledge": 2, "cancel": 1}
    assert report.fulfilled_by_amazon == 1
    orders_calls = fake.api("/orders/v0/orders")
    assert [c.query.get("NextToken") for c in orders_calls] == [None, "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"]
    assert {c.query["LastUpdatedAfter"] for c in orders_calls} == {"2026-11-01T13:00:00Z"}


def test_an_order_change_notification_fetches_the_order_and_hands_it_to_the_capture():
    fake = FakeAmazon().on(f"{SEARCH}/203-0000001-0000001", ok(sample("get_order")))
    capture = Capture()
    report = receive_order_change((json.dumps(sample("order_change_notification"))), amazon(fake), SkuMap(), capture)
    assert report.received == ["203-0000001-0000001"] and capture.applied == ["203-0000001-0000001"]
    assert capture.revisions["203-0000001-0000001"] == at("2026-11-02T09:10:00+00:00")

    message = sample("order_change_notification")
    message["Payload"]["OrderChangeNotification"]["Summary"]["FulfillmentType"] = "AFN"
    quiet = FakeAmazon()
    assert receive_order_change(json.dumps(message), amazon(quiet), SkuMap(), capture).received == []
    assert quiet.calls == []  # nothing asked of Amazon for an order it ships itself

    with pytest.raises(UnreadableOrder):
        receive_order_change('{"NotificationType": "REPORT_PROCESSING_FINISHED"}', amazon(quiet), SkuMap(), capture)


def test_an_order_change_whose_order_cannot_be_read_is_kept_not_received():
    broken = sample("get_order")
    del broken["order"]["fulfillment"]
    fake = FakeAmazon().on(f"{SEARCH}/203-0000001-0000001", ok(broken))
    kept: list[str] = []
    capture = Capture()
    report = receive_order_change(json.dumps(sample("order_change_notification")), amazon(fake), SkuMap(), capture,
                                  unreadable=lambda order, error: kept.append(order.order_id))
    assert report.unreadable == kept == ["203-0000001-0000001"] and capture.handed == []


def test_the_checkpoint_is_one_versioned_item_per_channel(repos, sync):
    assert sync.checkpoint(CHANNEL) == SyncCheckpoint(CHANNEL)
    first = sync.save(SyncCheckpoint(CHANNEL),
                      SyncCheckpoint(CHANNEL).page_taken(T0 - timedelta(days=1), "page-2", T0), T0)
    assert sync.checkpoint(CHANNEL) == first and first.version == 1
    item = repos.store.get(checkpoint_pk(CHANNEL), CHECKPOINT_SK)
    assert item is not None and item["pk"] == "CHANNEL_SYNC#amazon-uk" and item["next_token"] == "page-2"

    done = sync.save(first, first.pass_completed(T0 - OVERLAP, T0 + timedelta(minutes=1)), T0 + timedelta(minutes=1))
    assert sync.checkpoint(CHANNEL) == done
    assert (done.version, done.next_token, done.pass_started_at, done.updated_after) == (2, None, None, T0 - OVERLAP)
    assert "next_token" not in (repos.store.get(checkpoint_pk(CHANNEL), CHECKPOINT_SK) or {})

    with pytest.raises(CheckpointMoved):  # saved over a checkpoint read before the last save
        sync.save(first, replace(first, next_token="page-4"), T0)
    assert sync.checkpoint(CHANNEL) == done
    assert sync.checkpoint("amazon-de") == SyncCheckpoint("amazon-de")  # one per channel


def test_an_acknowledged_order_is_still_handed_so_the_capture_records_its_revision(sync):
    pending = amazon_order("203-0000000-0000001", "2026-11-02T10:01:00Z")
    pending["fulfillment"]["fulfillmentStatus"] = "PENDING"
    capture = Capture()
    report = poll(FakeAmazon().on(SEARCH, Search(pending)), sync, capture)
    assert report.actions == {IntakeAction.ACKNOWLEDGE.value: 1} and capture.handed == ["203-0000000-0000001"]
