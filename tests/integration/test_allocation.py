"""Allocation on moto: the happy path, then every guard with a test that fails without it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.unit_of_work import CommitFailed
from shared.config import ChannelPolicy, settings
from shared.domain.orders import HoldReason, OrderStatus
from shared.domain.stock import SetStockRequest
from shared.services import allocation
from shared.services.allocation import Outcome, allocate_order
from shared.services.capture import capture_order
from shared.services.inventory import set_stock
from tests.factories import NOW, TWO_WAREHOUSES, location_request, order_request, seed
from tests.integration.conftest import sqs_event


def policy(channel: str) -> ChannelPolicy:
    return settings().channel_policy(channel)


def capture(repos, *lines, channel="web", **kw):
    return capture_order(order_request(list(lines), channel_order_id=kw.pop("coid", "CO-1"), **kw), channel, repos,
                         NOW).order


def level(repos, sku, loc):
    return repos.stock.level(sku, loc)


def reservations(repos, sku):
    from shared.adapters.expressions import KeyQuery, SortRange

    items = repos.store.query_all(KeyQuery(f"STOCK#{sku}", SortRange.prefix("RES#")), consistent=True)
    return {(i["location_id"], i["order_id"]): int(i["quantity"]) for i in items}


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3, ("SKU-1", "MAD"): 2, ("SKU-2", "MAD"): 4})
    return repos


def test_allocates_from_the_best_location_and_records_why(stocked):
    repos = stocked
    order = capture(repos, ("SKU-1", 2))

    result = allocate_order(order.order_id, repos, policy, NOW)

    assert result.outcome == Outcome.ALLOCATED
    stored = repos.orders.get(order.order_id)
    assert stored.status == OrderStatus.ALLOCATED
    assert [(a.location_id, a.sku, a.quantity) for a in stored.allocations] == [("BER", "SKU-1", 2)]
    assert "BER" in stored.routing[-1].reasons[0]
    ber = level(repos, "SKU-1", "BER")
    assert (ber.on_hand, ber.reserved, ber.available) == (3, 2, 1)
    assert reservations(repos, "SKU-1") == {("BER", order.order_id): 2}


def test_splits_across_locations_when_one_cannot_fill(stocked):
    repos = stocked
    together = capture(repos, ("SKU-1", 2), ("SKU-2", 1))  # only MAD has both
    assert allocate_order(together.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED
    assert {a.location_id for a in repos.orders.get(together.order_id).allocations} == {"MAD"}

    split = capture(repos, ("SKU-1", 3), ("SKU-2", 3), coid="CO-2")  # SKU-1 only at BER, SKU-2 only at MAD now
    assert allocate_order(split.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED
    assert {a.location_id for a in repos.orders.get(split.order_id).allocations} == {"BER", "MAD"}

    short = capture(repos, ("SKU-1", 1), coid="CO-3")  # nothing left anywhere
    assert allocate_order(short.order_id, repos, policy, NOW).outcome == Outcome.BACKORDERED


def test_redelivered_message_reserves_once(stocked, functions):
    repos = stocked
    order = capture(repos, ("SKU-1", 2))
    event = sqs_event("OrderReceived", {"order_id": order.order_id})

    first = functions.invoke("allocate-orders", event)
    second = functions.invoke("allocate-orders", event)

    assert first == second == {"batchItemFailures": []}
    assert level(repos, "SKU-1", "BER").reserved == 2
    assert reservations(repos, "SKU-1") == {("BER", order.order_id): 2}


def test_a_stale_attempt_cannot_reserve_twice(stocked):
    """Guard: the order's version condition. Two allocators read the same RECEIVED order; the one
    that commits second must be refused, not reserve again."""
    repos = stocked
    order = capture(repos, ("SKU-1", 2))
    stale = repos.orders.get(order.order_id)
    allocate_order(order.order_id, repos, policy, NOW)

    with pytest.raises(CommitFailed):
        allocation._attempt(stale, repos, policy("web"), NOW)

    assert level(repos, "SKU-1", "BER").reserved == 2


def test_two_orders_racing_for_the_last_units_cannot_both_win(stocked):
    """Guard: `available >= q` on each decrement. Both plan against the same stock; the second
    transaction is refused, and its retry re-plans onto what is really left."""
    repos = stocked
    first = capture(repos, ("SKU-1", 3), coid="A")
    second = capture(repos, ("SKU-1", 3), coid="B")
    stale_second = repos.orders.get(second.order_id)
    locations = repos.locations.all()
    levels, _ = repos.stock.snapshot({"SKU-1"}, [x.location_id for x in locations], NOW.date())

    allocate_order(first.order_id, repos, policy, NOW)
    # Force the second attempt to plan on the snapshot taken before the first reserved.
    repos.stock.snapshot = lambda *a, **k: (levels, {})
    with pytest.raises(CommitFailed):
        allocation._attempt(stale_second, repos, policy("web"), NOW)
    del repos.stock.snapshot

    assert allocate_order(second.order_id, repos, policy, NOW).outcome == Outcome.BACKORDERED
    for loc in ("BER", "MAD"):
        lv = level(repos, "SKU-1", loc)
        assert lv.available >= 0 and lv.reserved + lv.available == lv.on_hand
    assert sum(reservations(repos, "SKU-1").values()) == 3


@pytest.mark.parametrize("crash_after_commit", [True, False])
def test_a_crash_around_the_reservation_converges_on_retry(stocked, functions, monkeypatch, crash_after_commit):
    repos = stocked
    order = capture(repos, ("SKU-1", 2))
    real = type(repos.store).transact
    calls = {"n": 0}

    def crashing(self, actions):
        calls["n"] += 1
        if calls["n"] == 1:
            if crash_after_commit:
                real(self, actions)  # reserved and recorded, then the Lambda dies
            raise RuntimeError("injected crash")
        return real(self, actions)

    monkeypatch.setattr(type(repos.store), "transact", crashing)
    event = sqs_event("OrderReceived", {"order_id": order.order_id})
    assert functions.invoke("allocate-orders", event)["batchItemFailures"]  # SQS will redeliver
    assert functions.invoke("allocate-orders", event) == {"batchItemFailures": []}

    assert repos.orders.get(order.order_id).status == OrderStatus.ALLOCATED
    ber = level(repos, "SKU-1", "BER")
    assert (ber.reserved, ber.available) == (2, 1)
    assert reservations(repos, "SKU-1") == {("BER", order.order_id): 2}


def test_pending_payment_holds_until_an_operator_releases(stocked, api, pump):
    repos = stocked
    order_id = api("POST", "/orders", as_="web", json=_body(payment_status="pending")).json["order_id"]
    pump()
    held = api("GET", f"/orders/{order_id}", as_="web").json
    assert held["status"] == "ON_HOLD"
    assert [h["reason"] for h in held["holds"]] == [HoldReason.AWAITING_PAYMENT]

    assert api("POST", f"/orders/{order_id}/release", as_="operator").json["status"] == "RECEIVED"
    pump()
    assert repos.orders.get(order_id).status == OrderStatus.ALLOCATED
    assert api("POST", f"/orders/{order_id}/reject", as_="operator").status_code == 409


def test_an_operator_rejects_a_held_order(stocked, api, pump):
    order_id = api("POST", "/orders", as_="web", json=_body(lines=[("NO-SUCH-SKU", 1)])).json["order_id"]
    pump()
    assert api("GET", f"/orders/{order_id}", as_="web").json["holds"][0]["reason"] == "UNKNOWN_SKU"
    rejected = api("POST", f"/orders/{order_id}/reject", as_="operator", json={"reason": "discontinued"})
    assert rejected.json["status"] == "REJECTED"
    assert api("POST", f"/orders/{order_id}/cancel", as_="web").status_code == 409


def test_partial_allocation_when_the_channel_allows_it(stocked):
    repos = stocked
    order = capture(repos, ("SKU-1", 7), channel="marketplace")
    result = allocate_order(order.order_id, repos, policy, NOW)
    assert result.outcome == Outcome.PARTIALLY_ALLOCATED
    stored = repos.orders.get(order.order_id)
    assert sum(a.quantity for a in stored.allocations) == 5
    assert [(b.sku, b.quantity) for b in stored.backordered] == [("SKU-1", 2)]

    set_stock("SKU-1", "BER", SetStockRequest(on_hand=5), repos, NOW)  # +2 at BER
    assert allocate_order(order.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED
    assert sum(a.quantity for a in repos.orders.get(order.order_id).allocations) == 7


def test_backorders_are_released_oldest_first_when_stock_arrives(stocked, api, pump):
    repos = stocked
    ids = [api("POST", "/orders", as_="web", json=_body([("SKU-2", 3)], coid=f"B-{n}")).json["order_id"]
           for n in range(3)]
    pump()
    statuses = [repos.orders.get(i).status for i in ids]
    assert statuses == [OrderStatus.ALLOCATED, OrderStatus.BACKORDERED, OrderStatus.BACKORDERED]

    api("PUT", "/inventory/SKU-2/BER", json={"on_hand": 3})
    pump()
    assert [repos.orders.get(i).status for i in ids] == [OrderStatus.ALLOCATED, OrderStatus.ALLOCATED,
                                                        OrderStatus.BACKORDERED]


def test_cancel_releases_every_reservation_and_feeds_backorders(stocked, api, pump):
    repos = stocked
    first = api("POST", "/orders", as_="web", json=_body([("SKU-2", 4)], coid="C-1")).json["order_id"]
    pump()
    waiting = api("POST", "/orders", as_="web", json=_body([("SKU-2", 2)], coid="C-2")).json["order_id"]
    pump()
    assert repos.orders.get(waiting).status == OrderStatus.BACKORDERED

    cancelled = api("POST", f"/orders/{first}/cancel", as_="web", json={"reason": "customer changed mind"})
    assert cancelled.json["status"] == "CANCELLED"
    assert api("POST", f"/orders/{first}/cancel", as_="web").json["status"] == "CANCELLED"
    pump()

    assert reservations(repos, "SKU-2") == {("MAD", waiting): 2}
    assert repos.orders.get(waiting).status == OrderStatus.ALLOCATED
    mad = level(repos, "SKU-2", "MAD")
    assert (mad.reserved, mad.available) == (2, 2)


def test_daily_capacity_sends_the_next_order_elsewhere(repos):
    seed(repos, {"BER": location_request("DE", priority=1, daily_order_capacity=1),
                 "HAM": location_request("DE", lat=53.55, lon=9.99, priority=2)},
         {("SKU-1", "BER"): 5, ("SKU-1", "HAM"): 5})
    first = capture(repos, ("SKU-1", 1), coid="1")
    second = capture(repos, ("SKU-1", 1), coid="2")
    allocate_order(first.order_id, repos, policy, NOW)
    allocate_order(second.order_id, repos, policy, NOW)
    assert repos.orders.get(second.order_id).allocations[0].location_id == "HAM"
    assert "capacity" in repos.orders.get(second.order_id).routing[-1].excluded["BER"]
    # Tomorrow the capacity is back.
    third = capture(repos, ("SKU-1", 1), coid="3")
    allocate_order(third.order_id, repos, policy, NOW + timedelta(days=1))
    assert repos.orders.get(third.order_id).allocations[0].location_id == "BER"


def test_poison_message_fails_its_record_only(functions, stocked):
    good = capture(stocked, ("SKU-1", 1))
    event = sqs_event("OrderReceived", {"order_id": good.order_id})
    event["Records"].append({**event["Records"][0], "messageId": "poison", "body": "{not json"})
    assert functions.invoke("allocate-orders", event) == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert stocked.orders.get(good.order_id).status == OrderStatus.ALLOCATED


def _body(lines=None, coid="CO-1", **kw):
    from tests.factories import order_body

    return order_body(lines or [("SKU-1", 1)], channel_order_id=coid, **kw)


def test_a_plan_too_large_for_one_transaction_is_held_not_dead_lettered(repos, functions):
    skus = [f"S-{n:02d}" for n in range(25)]
    seed(repos, TWO_WAREHOUSES, {(s, loc): 1 for s in skus for loc in ("BER", "MAD")})
    order = capture(repos, *[(s, 2) for s in skus])  # 50 allocations over two locations

    result = functions.invoke("allocate-orders", sqs_event("OrderReceived", {"order_id": order.order_id}))

    assert result == {"batchItemFailures": []}
    stored = repos.orders.get(order.order_id)
    assert stored.status == OrderStatus.ON_HOLD and stored.holds[0].reason == HoldReason.TOO_LARGE
    assert all(level(repos, s, "BER").reserved == 0 for s in skus)


def test_a_restock_between_reading_and_backordering_is_not_missed(stocked):
    """Guard: the backorder write is conditioned on the stock it saw. A restock that commits in
    between (and so finds no BACKORDERED order to wake) forces a re-plan instead."""
    repos = stocked
    order = capture(repos, ("SKU-2", 5))  # MAD has 4: nothing fits, whole order waits
    real_snapshot = repos.stock.snapshot
    calls = {"n": 0}

    def restock_after_first_read(*args, **kwargs):
        result = real_snapshot(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            set_stock("SKU-2", "MAD", SetStockRequest(on_hand=9), repos, NOW)
        return result

    repos.stock.snapshot = restock_after_first_read
    try:
        assert allocate_order(order.order_id, repos, policy, NOW).outcome == Outcome.ALLOCATED
    finally:
        del repos.stock.snapshot
    assert level(repos, "SKU-2", "MAD").reserved == 5


def test_stock_low_is_announced_once_with_the_real_count(stocked):
    """Guard: a reservation that announces StockLow is pinned to the level version it read, so
    the event's count is the one the write produced."""
    repos = stocked
    set_stock("SKU-1", "BER", SetStockRequest(on_hand=5, low_stock_threshold=2), repos, NOW)
    first = capture(repos, ("SKU-1", 1), coid="A")
    second = capture(repos, ("SKU-1", 3), coid="B")
    stale_second = repos.orders.get(second.order_id)
    levels, _ = repos.stock.snapshot({"SKU-1"}, ["BER", "MAD"], NOW.date())

    allocate_order(first.order_id, repos, policy, NOW)  # 5 -> 4 available
    repos.stock.snapshot = lambda *a, **k: (levels, {})  # the second plans on 5 -> 2
    with pytest.raises(CommitFailed):
        allocation._attempt(stale_second, repos, policy("web"), NOW)
    del repos.stock.snapshot
    allocate_order(second.order_id, repos, policy, NOW)  # re-planned: 4 -> 1

    outbox = repos.store.client.scan(TableName=repos.store.name, FilterExpression="detail_type = :t",
                                     ExpressionAttributeValues={":t": {"S": "StockLow"}})["Items"]
    assert [json.loads(i["detail"]["S"])["available"] for i in outbox] == [1]


def test_a_repeated_release_answers_the_released_order(stocked, api, pump):
    order_id = api("POST", "/orders", as_="web", json=_body(payment_status="pending")).json["order_id"]
    pump()
    first = api("POST", f"/orders/{order_id}/release", as_="operator")
    again = api("POST", f"/orders/{order_id}/release", as_="operator")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json["holds"][0]["released_by"] == "operator"


def test_a_location_takes_no_more_orders_than_its_capacity_under_a_stale_read(repos):
    """Guard: the capacity counter's condition. Two allocations read 'one order left today';
    only one may take it."""
    seed(repos, {"BER": location_request("DE", priority=1, daily_order_capacity=1),
                 "HAM": location_request("DE", lat=53.55, lon=9.99, priority=2)},
         {("SKU-1", "BER"): 5, ("SKU-1", "HAM"): 5})
    first = capture(repos, ("SKU-1", 1), coid="1")
    second = capture(repos, ("SKU-1", 1), coid="2")
    stale_second = repos.orders.get(second.order_id)
    before = repos.stock.snapshot({"SKU-1"}, ["BER", "HAM"], NOW.date())

    allocate_order(first.order_id, repos, policy, NOW)
    repos.stock.snapshot = lambda *a, **k: before  # BER's counter read before the first took it
    with pytest.raises(CommitFailed):
        allocation._attempt(stale_second, repos, policy("web"), NOW)
    del repos.stock.snapshot

    allocate_order(second.order_id, repos, policy, NOW)
    assert repos.orders.get(second.order_id).allocations[0].location_id == "HAM"


def test_setting_stock_never_overwrites_a_concurrent_reservation(stocked):
    """Guard: set/adjust write counts computed from a read, conditioned on its version. A reservation
    committed in between must not be overwritten (that would free reserved units: an oversell)."""
    repos = stocked
    order = capture(repos, ("SKU-1", 2))
    real_level = repos.stock.level
    calls = {"n": 0}

    def reservation_sneaks_in(sku, loc):
        found = real_level(sku, loc)
        calls["n"] += 1
        if calls["n"] == 1:
            allocate_order(order.order_id, repos, policy, NOW)  # BER: reserved 0 -> 2
        return found

    repos.stock.level = reservation_sneaks_in
    try:
        set_stock("SKU-1", "BER", SetStockRequest(on_hand=10), repos, NOW)
    finally:
        del repos.stock.level
    ber = level(repos, "SKU-1", "BER")
    assert (ber.on_hand, ber.reserved, ber.available) == (10, 2, 8)
