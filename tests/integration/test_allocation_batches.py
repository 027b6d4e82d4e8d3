"""allocate-orders a batch at a time on moto: the batch's orders and stock read once, each order's
transaction in turn; one order's failure returns only its record to the queue, and an order twice in
a batch is reserved once. The use case's guards are tested in tests/service/test_allocation_batch.py."""

from __future__ import annotations

import pytest

from shared.domain.orders import OrderStatus
from tests.factories import TWO_WAREHOUSES, capture, level, reservations, seed
from tests.integration.conftest import count_store_calls, sqs_event


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 10, ("SKU-1", "MAD"): 10, ("SKU-2", "MAD"): 10})
    return repos


def batch(*order_ids: str) -> dict:
    """One SQS event with an OrderReceived record per order id (message ids m-1, m-2, ...)."""
    records = [sqs_event("OrderReceived", {"order_id": order_id}, f"m-{n}")["Records"][0]
               for n, order_id in enumerate(order_ids, start=1)]
    return {"Records": records}




def test_a_batch_reads_its_orders_and_stock_once_and_writes_each_order(stocked, functions, monkeypatch):
    orders = [capture(stocked, ("SKU-1", 1), ("SKU-2", 1), coid=f"CO-{n}").order_id for n in range(4)]
    functions.invoke("allocate-orders", batch(capture(stocked, ("SKU-1", 1), coid="WARM").order_id))  # caches filled
    calls = count_store_calls(monkeypatch, stocked, ("get", "batch_get", "transact"))

    assert functions.invoke("allocate-orders", batch(*orders)) == {"batchItemFailures": []}

    assert calls == {"batch_get": 2, "transact": 4}  # orders once, stock once; one transaction per order
    assert all(stocked.orders.get(o).status == OrderStatus.ALLOCATED for o in orders)
    assert level(stocked, "SKU-2", "MAD").reserved == 4


def test_one_failed_order_returns_only_its_record(stocked, functions, monkeypatch):
    first, second, third = (capture(stocked, ("SKU-1", 2), coid=f"CO-{n}").order_id for n in range(3))
    real = type(stocked.store).transact
    calls = {"n": 0}

    def second_crashes(self, actions):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected crash")
        return real(self, actions)

    monkeypatch.setattr(type(stocked.store), "transact", second_crashes)
    assert functions.invoke("allocate-orders", batch(first, second, third)) == {
        "batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert [stocked.orders.get(o).status for o in (first, second, third)] == [
        OrderStatus.ALLOCATED, OrderStatus.RECEIVED, OrderStatus.ALLOCATED]

    assert functions.invoke("allocate-orders", batch(second)) == {"batchItemFailures": []}  # SQS's retry
    assert stocked.orders.get(second).status == OrderStatus.ALLOCATED
    assert sum(reservations(stocked, "SKU-1").values()) == 6
    assert level(stocked, "SKU-1", "BER").reserved + level(stocked, "SKU-1", "MAD").reserved == 6


def test_an_order_twice_in_a_batch_is_reserved_once(stocked, functions):
    order = capture(stocked, ("SKU-1", 2)).order_id

    assert functions.invoke("allocate-orders", batch(order, order)) == {"batchItemFailures": []}

    assert reservations(stocked, "SKU-1") == {("BER", order): 2}
    assert level(stocked, "SKU-1", "BER").reserved == 2


def test_orders_of_a_batch_cannot_oversell_a_level(repos, functions):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3})
    first, second = (capture(repos, ("SKU-1", 2), coid=c).order_id for c in ("A", "B"))

    assert functions.invoke("allocate-orders", batch(first, second)) == {"batchItemFailures": []}

    assert [repos.orders.get(o).status for o in (first, second)] == [OrderStatus.ALLOCATED, OrderStatus.BACKORDERED]
    ber = level(repos, "SKU-1", "BER")
    assert (ber.reserved, ber.available) == (2, 1)


def test_a_failed_read_ahead_only_costs_the_saving(stocked, functions, monkeypatch):
    """The batch read is a saving: when it fails, each record reads its own order and stock."""
    first, second = (capture(stocked, ("SKU-1", 1), coid=c).order_id for c in ("A", "B"))
    real = type(stocked.store).batch_get
    calls = {"n": 0}

    def first_read_fails(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected read failure")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(stocked.store), "batch_get", first_read_fails)
    assert functions.invoke("allocate-orders", batch(first, second)) == {"batchItemFailures": []}
    assert [stocked.orders.get(o).status for o in (first, second)] == [OrderStatus.ALLOCATED] * 2
