"""Fulfilment orders. The only module that knows their keys.

Access patterns (docs/data-model.md):
- fulfilment order by id: pk=FULFILLMENT#<id>, sk=FULFILLMENT; a ship or collect reads it with its
  order (and location) in one BatchGetItem when the id names them (`wanted`)
- a location's fulfilment orders by status, oldest first: gsi1 (LOCATION_FO#<location>,
  <status>#<created_at>#<id>)
- an order's fulfilment orders: by id, from the order's `fulfillment_order_ids` (BatchGetItem). Items
  written before also carry gsi2 keys (ORDER_FO#<order id>), which nothing queries: new ones do not
  (one index write less per fulfilment order).
"""

from __future__ import annotations

from shared.adapters.cursors import decode_cursor, encode_cursor
from shared.adapters.expressions import NEW, Check, KeyQuery, Put, SortRange, eq
from shared.adapters.index_reads import items_behind
from shared.adapters.packed import pack, unpack
from shared.adapters.reads import Wanted
from shared.domain.fulfillment import FulfillmentOrder, FulfillmentStatus
from shared.unit_of_work import AlreadyExists, StaleVersion, Store

SK = "FULFILLMENT"


def fulfillment_pk(fulfillment_order_id: str) -> str:
    return f"FULFILLMENT#{fulfillment_order_id}"


class FulfillmentRepository:
    def __init__(self, store: Store):
        self.store = store

    def get(self, fulfillment_order_id: str) -> FulfillmentOrder | None:
        item = self.store.get(fulfillment_pk(fulfillment_order_id), SK)
        return unpack(FulfillmentOrder, item) if item else None

    def wanted(self, fulfillment_order_id: str) -> Wanted:
        """The fulfilment order, to read beside its order (Repositories.read: a ship's one read)."""
        return Wanted((fulfillment_pk(fulfillment_order_id), SK), lambda item: unpack(FulfillmentOrder, item))

    def create(self, fo: FulfillmentOrder) -> Put:
        """New only: a redelivered request finds it there (AlreadyExists) and creates nothing."""
        return Put(self._item(fo), when=NEW,
                   refused=lambda _old: AlreadyExists("fulfillment_order", fo.fulfillment_order_id))

    def absent(self, fulfillment_order_id: str) -> Check:
        """A transaction condition: this fulfilment order does not exist (yet)."""
        return Check(fulfillment_pk(fulfillment_order_id), SK, NEW,
                     refused=lambda _old: AlreadyExists("fulfillment_order", fulfillment_order_id))

    def save(self, fo: FulfillmentOrder, expected_version: int) -> Put:
        return Put(self._item(fo), when=eq("version", expected_version),
                   refused=lambda _old: StaleVersion("fulfillment_order", fo.fulfillment_order_id))

    @staticmethod
    def _item(fo: FulfillmentOrder) -> dict:
        created = fo.created_at.isoformat()
        return {
            "pk": fulfillment_pk(fo.fulfillment_order_id), "sk": SK, "version": fo.version,
            "gsi1pk": f"LOCATION_FO#{fo.location_id}",
            "gsi1sk": f"{fo.status.value}#{created}#{fo.fulfillment_order_id}",
            **pack(fo),
        }

    def many(self, ids: list[str]) -> list[FulfillmentOrder]:
        items = self.store.batch_get([(fulfillment_pk(i), SK) for i in ids])
        return [unpack(FulfillmentOrder, i) for i in items]

    def for_location(self, location_id: str, status: FulfillmentStatus | None, limit: int, cursor: str | None
                     ) -> tuple[list[FulfillmentOrder], str | None]:
        pk_value = f"LOCATION_FO#{location_id}"
        sort = SortRange.prefix(f"{status.value}#") if status is not None else None
        start = decode_cursor(cursor, {"pk", "sk", "gsi1pk", "gsi1sk"}, ("gsi1pk", pk_value))
        entries, last = self.store.query(KeyQuery(pk_value, sort, index="gsi1"), limit=limit, start_key=start)
        found = [unpack(FulfillmentOrder, i)
                 for i in items_behind(self.store, entries)]
        # The index lags: one that has moved on from the status asked for since is not listed in it.
        return [fo for fo in found if status is None or fo.status == status], encode_cursor(last)
