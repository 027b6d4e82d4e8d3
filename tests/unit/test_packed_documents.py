"""Orders, fulfilment orders and shipments keep their document compressed (shared/adapters/packed.py):
smaller items are fewer write units on every rewrite, and what earlier versions stored still reads."""

from __future__ import annotations

import zlib

import pytest

from bench.capacity import item_size
from shared.adapters.dynamo import to_attrs
from shared.adapters.expressions import Put
from shared.adapters.orders_repo import OrderRepository
from shared.adapters.packed import DICTIONARIES, PACKED, document_json, pack, unpack
from shared.adapters.packed_dictionaries import ORDER_V1
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


# --- orders: compressed with a preset dictionary ---------------------------------------------------


def stream_of(item: dict) -> bytes:
    value = item[PACKED]
    return bytes(value.value if hasattr(value, "value") else value)


def test_the_order_item_names_its_dictionary_in_the_stream_and_reads_back_the_same():
    order = an_order()
    item = OrderRepository._item(order)
    header = stream_of(item)[:6]
    assert header[1] & 0x20 and int.from_bytes(header[2:6], "big") == zlib.adler32(ORDER_V1)
    assert unpack(Order, item) == order
    assert document_json(item) == order.model_dump_json()


def test_the_dictionary_makes_the_order_far_smaller_than_zlib_alone():
    order = an_order()
    alone = len(stream_of(pack(order)))
    assert len(stream_of(OrderRepository._item(order))) < 0.6 * alone


def test_the_order_dictionary_is_frozen():
    """Items written with it need the very same bytes to be read: a new dictionary is added, never edited."""
    assert zlib.adler32(ORDER_V1) == 0x94A24E64
    assert zlib.adler32(ORDER_V1) in DICTIONARIES


def test_an_order_packed_without_a_dictionary_as_the_previous_version_did_still_reads():
    repos = in_memory()
    order = an_order()
    old = {k: v for k, v in OrderRepository._item(order).items() if k != PACKED} | pack(order)
    assert not stream_of(old)[1] & 0x20
    repos.commit(Put(old))
    assert repos.orders.get(order.order_id) == order
    assert repos.orders.many([order.order_id]) == [order]
    assert document_json(repos.store.get(f"ORDER#{order.order_id}", "ORDER") or {}) == order.model_dump_json()


def test_only_a_known_dictionary_packs_and_an_unknown_one_is_named_on_read():
    with pytest.raises(ValueError, match="DICTIONARIES"):
        pack(an_order(), b"a dictionary nobody could read back with")
    packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY, b"elsewhere")
    with pytest.raises(ValueError, match=f"{zlib.adler32(b'elsewhere'):#010x}"):
        unpack(Order, {PACKED: packer.compress(b"{}") + packer.flush()})
