"""Allocation on moto: the happy path, then every guard with a test that fails without it."""

from __future__ import annotations

import pytest

from shared.config import ChannelPolicy
from shared.domain.channels import seed_policy
from shared.domain.orders import HoldReason, OrderStatus
from tests.factories import TWO_WAREHOUSES, capture, level, reservations, seed
from tests.integration.conftest import sqs_event


def policy(channel: str) -> ChannelPolicy:
    return seed_policy(channel)


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3, ("SKU-1", "MAD"): 2, ("SKU-2", "MAD"): 4})
    return repos


def test_redelivered_message_reserves_once(stocked, functions):
    repos = stocked
    order = capture(repos, ("SKU-1", 2))
    event = sqs_event("OrderReceived", {"order_id": order.order_id})

    first = functions.invoke("allocate-orders", event)
    second = functions.invoke("allocate-orders", event)

    assert first == second == {"batchItemFailures": []}
    assert level(repos, "SKU-1", "BER").reserved == 2
    assert reservations(repos, "SKU-1") == {("BER", order.order_id): 2}


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


def test_a_repeated_release_answers_the_released_order(stocked, api, pump):
    order_id = api("POST", "/orders", as_="web", json=_body(payment_status="pending")).json["order_id"]
    pump()
    first = api("POST", f"/orders/{order_id}/release", as_="operator")
    again = api("POST", f"/orders/{order_id}/release", as_="operator")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json["holds"][0]["released_by"] == "operator"


