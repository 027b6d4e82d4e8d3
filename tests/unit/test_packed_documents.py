"""Orders, fulfilment orders and shipments keep their document compressed (shared/adapters/packed.py):
smaller items are fewer write units on every rewrite, and what earlier versions stored still reads."""

from __future__ import annotations

import pytest

from bench.capacity import item_size
from shared.adapters.dynamo import to_attrs
from shared.adapters.orders_repo import OrderRepository
from shared.adapters.packed import PACKED, document_json, pack, unpack
from shared.domain.orders import Order
from shared.repositories import in_memory
from tests.factories import NOW, order_request

pytestmark = pytest.mark.unit


def an_order() -> Order:
    request = order_request([("SKU-1", 2), ("SKU-2", 1)])
    return Order(order_id="o" + "1" * 24, channel="web", created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)


def test_a_packed_document_reads_back_the_same():
    order = an_order()
    item = pack(order)
    assert set(item) == {PACKED}
    assert unpack(Order, item) == order
    assert document_json(item) == order.model_dump_json()


def test_the_order_item_is_stored_packed_and_is_smaller_than_plain():
    order = an_order()
    item = OrderRepository._item(order)
    assert "doc" not in item
    plain = {k: v for k, v in item.items() if k != PACKED} | {"doc": order.model_dump_json()}
    assert item_size(to_attrs(item)) < 0.75 * item_size(to_attrs(plain))


def test_a_plain_document_an_earlier_version_wrote_is_read_and_wins_over_a_packed_one():
    order = an_order()
    older = order.model_copy(update={"version": 7})
    assert unpack(Order, {"doc": order.model_dump_json()}) == order
    assert unpack(Order, pack(order) | {"doc": older.model_dump_json()}) == older


def test_orders_round_trip_through_the_store_packed():
    repos = in_memory()
    order = an_order()
    repos.commit(*repos.orders.create(order))
    stored = repos.store.get(f"ORDER#{order.order_id}", "ORDER")
    assert stored is not None and PACKED in stored and "doc" not in stored
    assert repos.orders.get(order.order_id) == order
    assert repos.orders.many([order.order_id]) == [order]
