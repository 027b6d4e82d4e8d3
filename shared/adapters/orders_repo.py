"""Orders and their channel idempotency keys. The only module that knows their keys and indexes.

Access patterns (docs/data-model.md):
- order by id: pk=ORDER#<id>, sk=ORDER
- channel order id -> order: pk=CHANNEL_ORDER#<channel>#<channel order id>, sk=KEY
- orders of a channel by creation time: gsi1 (CHANNEL#<channel>, <created_at>#<id>)
- orders in a status by creation time (backorders oldest first): gsi2 (STATUS#<status>, ...)
- all orders of a month by creation time: gsi3 (MONTH#<yyyy-mm>, ...)
- orders of a channel's customer by creation time: gsi5 (CUSTOMER#<channel>#<customer id>, ...)
The indexes hold keys, `status` (gsi1, gsi5) and `waiting_skus` (gsi2), not the order: a listing reads
the orders behind its entries (shared/adapters/index_reads.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.cursors import decode_cursor, encode_cursor
from shared.adapters.expressions import NEW, PRESENT, Check, Cond, Contains, KeyQuery, Put, SortRange, eq, ne
from shared.adapters.index_reads import items_behind, stream_behind
from shared.adapters.packed import pack, unpack
from shared.adapters.packed_dictionaries import ORDER_V1
from shared.adapters.reads import Wanted
from shared.domain.orders import ChannelOrderKey, Order, OrderStatus
from shared.errors import InvalidInput
from shared.unit_of_work import AlreadyExists, OrderClosed, StaleVersion, Store

ORDER_SK = "ORDER"
MAX_QUERIES_PER_PAGE = 10


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def channel_key_pk(channel: str, channel_order_id: str) -> str:
    return f"CHANNEL_ORDER#{channel}#{channel_order_id}"


def customer_pk(channel: str, customer_id: str) -> str:
    """A customer's orders on one channel: customer ids are each channel's own."""
    return f"CUSTOMER#{channel}#{customer_id}"


@dataclass(frozen=True)
class OrderFilter:
    channel: str | None = None
    status: OrderStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Read from the channel's customer partition: needs `channel` (a channel caller's own).
    customer_id: str | None = None
    # Answered by the channel key item, not an index: needs `channel` (a channel caller's own).
    channel_order_id: str | None = None


class OrderRepository:
    def __init__(self, store: Store):
        self.store = store

    def get(self, order_id: str) -> Order | None:
        item = self.store.get(order_pk(order_id), ORDER_SK)
        return unpack(Order, item) if item else None

    def wanted(self, order_id: str) -> Wanted:
        """The order, to read beside other repositories' items (Repositories.read)."""
        return Wanted((order_pk(order_id), ORDER_SK), lambda item: unpack(Order, item))

    def many(self, order_ids: Iterable[str]) -> list[Order]:
        """Orders by id, strongly consistent, in batch reads of 100; unknown ids are left out."""
        items = self.store.batch_get([(order_pk(order_id), ORDER_SK) for order_id in dict.fromkeys(order_ids)])
        return [unpack(Order, item) for item in items]

    def get_channel_key(self, channel: str, channel_order_id: str) -> ChannelOrderKey | None:
        item = self.store.get(channel_key_pk(channel, channel_order_id), "KEY")
        return _channel_key(item)

    def by_channel_order_id(self, channel: str, channel_order_id: str) -> Order | None:
        """The order a channel's own order id made: its channel key, then the order (two reads, both
        strongly consistent; no index)."""
        key = self.get_channel_key(channel, channel_order_id)
        return self.get(key.order_id) if key else None

    def create(self, order: Order) -> list[Put]:
        """The channel key and the order, both new. The key's condition is what stops a duplicate:
        refused, it is AlreadyExists("channel_order", ...) with the stored ChannelOrderKey."""
        channel_order_id = order.request.channel_order_id
        key_item = {
            "pk": channel_key_pk(order.channel, channel_order_id),
            "sk": "KEY",
            "order_id": order.order_id,
            "fingerprint": order.request_fingerprint,
        }
        return [
            Put(key_item, when=NEW,
                refused=lambda old: AlreadyExists("channel_order", channel_order_id, _channel_key(old))),
            Put(self._item(order), when=NEW, refused=lambda _old: AlreadyExists("order", order.order_id)),
        ]

    def save(self, order: Order, expected_version: int) -> Put:
        """Replace the order if nobody changed it since we read it (optimistic concurrency)."""
        return Put(self._item(order), when=eq("version", expected_version),
                   refused=lambda _old: StaleVersion("order", order.order_id))

    def still_open(self, order_id: str) -> Check:
        """A transaction condition: the order exists and is not cancelled."""
        return Check(order_pk(order_id), ORDER_SK, PRESENT & ne("status", OrderStatus.CANCELLED.value),
                     refused=lambda _old: OrderClosed(order_id))

    @staticmethod
    def _item(order: Order) -> dict:
        created = order.created_at.isoformat()
        sort = f"{created}#{order.order_id}"
        return {
            "pk": order_pk(order.order_id),
            "sk": ORDER_SK,
            "version": order.version,
            "status": order.status.value,
            "channel": order.channel,
            "waiting_skus": order.waiting_skus or None,
            "gsi1pk": f"CHANNEL#{order.channel}",
            "gsi1sk": sort,
            "gsi2pk": f"STATUS#{order.status.value}",
            "gsi2sk": sort,
            "gsi3pk": f"MONTH#{created[:7]}",
            "gsi3sk": sort,
            "gsi5pk": customer_pk(order.channel, order.request.customer.id),
            "gsi5sk": sort,
            **pack(order, ORDER_V1),
        }

    # -------------------------------------------------------------- listings

    def list(self, f: OrderFilter, limit: int, cursor: str | None, months: list[str]) -> tuple[list[Order], str | None]:
        """One page of orders, oldest first. `months` (yyyy-mm, ascending) bound an unfiltered scan.

        A channel's listing always reads a partition of the channel's own (status is then a filter):
        its cursor, DynamoDB's last evaluated key (which can be an item the filter removed), can only
        ever name that channel's own orders. A customer's listing reads the customer's partition on
        the channel, so it needs `channel` as well."""
        if f.customer_id is not None:
            if f.channel is None:
                raise InvalidInput("a customer's orders are listed per channel: name the channel too "
                                   "(customer ids are each channel's own)", field="channel")
            index, pk_value = "gsi5", customer_pk(f.channel, f.customer_id)
        elif f.channel is not None:
            index, pk_value = "gsi1", f"CHANNEL#{f.channel}"
        elif f.status is not None:
            index, pk_value = "gsi2", f"STATUS#{f.status.value}"
        else:
            return self._list_by_month(f, limit, cursor, months)
        where = self._filters(f, status_in_filter=index in ("gsi1", "gsi5"))
        start = decode_cursor(cursor, {"pk", "sk", f"{index}pk", f"{index}sk"}, (f"{index}pk", pk_value))
        items, last = self._query_page(index, pk_value, f, limit, start, where)
        return items, encode_cursor(last)

    def _list_by_month(self, f, limit, cursor, months):
        # The cursor carries the month it stopped in so the next page resumes there.
        month_index = 0
        start = None
        if cursor:
            try:
                month_part, _, key_part = cursor.partition(".")
                month_index = months.index(month_part)
            except ValueError:
                raise InvalidInput("cursor is not one this listing returned", field="cursor") from None
            start = decode_cursor(key_part, {"pk", "sk", "gsi3pk", "gsi3sk"}, ("gsi3pk", f"MONTH#{month_part}"))
        where = self._filters(f, status_in_filter=False)
        found: list[Order] = []
        while month_index < len(months) and len(found) < limit:
            month = months[month_index]
            items, last = self._query_page("gsi3", f"MONTH#{month}", f, limit - len(found), start, where)
            found.extend(items)
            if last:
                return found, f"{month}.{encode_cursor(last)}"
            month_index, start = month_index + 1, None
        if month_index < len(months):
            return found, f"{months[month_index]}."
        return found, None

    @staticmethod
    def _filters(f: OrderFilter, status_in_filter: bool) -> Cond | None:
        return eq("status", f.status.value) if status_in_filter and f.status is not None else None

    def _query_page(self, index, pk_value, f, limit, start, where: Cond | None):
        low = f.created_from.isoformat() if f.created_from else None
        # "~" sorts after every "<iso time>#<id>" that starts with the bound.
        high = f"{f.created_to.isoformat()}~" if f.created_to else None
        sort = (SortRange.between(low, high) if low and high else SortRange(">=", low) if low
                else SortRange("<=", high) if high else None)
        key = KeyQuery(pk_value, sort, index=index)
        found: list[dict] = []
        last = start
        # A filter applies after DynamoDB's Limit, so one query can return fewer items than asked
        # (even none) while more exist; keep reading, within bounds, until the page is full.
        for _ in range(MAX_QUERIES_PER_PAGE):
            items, last = self.store.query(key, where=where, limit=limit - len(found), start_key=last)
            found += items
            if not last or len(found) >= limit:
                break
        orders = [unpack(Order, i) for i in items_behind(self.store, found)]
        # The index lags the orders: one that has left the status asked for since is not listed in it.
        return [o for o in orders if f.status is None or o.status == f.status], last

    def of_customer(self, channel: str, customer_id: str) -> Iterator[Order]:
        """Every order of a channel's customer, oldest first (gsi5, then the orders 100 a batch read)
        as the caller consumes them: the customer view's lifetime value stops where it must."""
        entries = self.store.query_all(KeyQuery(customer_pk(channel, customer_id), index="gsi5"))
        for item in stream_behind(self.store, entries):
            yield unpack(Order, item)

    def awaiting_stock(self, sku: str) -> Iterator[Order]:
        """Orders with lines waiting for `sku`, oldest first: backordered, partially allocated, or
        partially shipped with a backorder left."""
        streams = []
        for status in (OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_ALLOCATED, OrderStatus.PARTIALLY_SHIPPED):
            streams.append(self.store.query_all(KeyQuery(f"STATUS#{status.value}", index="gsi2"),
                                                where=Contains("waiting_skus", sku)))
        merged = heapq.merge(*streams, key=lambda i: i["gsi2sk"])
        for item in stream_behind(self.store, merged):
            order = unpack(Order, item)
            if sku in order.waiting_skus:  # still: the index lags the order
                yield order


def _channel_key(item: dict | None) -> ChannelOrderKey | None:
    return ChannelOrderKey(item["order_id"], item["fingerprint"]) if item else None
