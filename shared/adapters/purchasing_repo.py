"""Suppliers, purchase orders and their receipts: the only module that knows their keys.

Access patterns (docs/data-model.md):
- a supplier: pk=SUPPLIER, sk=<supplier id>; every supplier: Query pk=SUPPLIER (a merchant has tens)
- a purchase order and its receipts: Query pk=PURCHASE_ORDER#<id> (sk ORDER, and RECEIPT#<receipt id>)
- a receipt id, once per purchase order: pk=PURCHASE_ORDER#<id>, sk=RECEIPT#<receipt id>,
  attribute_not_exists, in the transaction that raises the stock and saves the order under its version
- every purchase order by creation time: gsi1 (PURCHASE_ORDERS, <created_at>#<id>; gsi1 projects
  `status`, so ?status= is a filter of the query)
- a supplier's purchase orders by creation time: gsi3 (SUPPLIER_PO#<supplier id>, <created_at>#<id>)
Purchase orders are written a few times in their life (placed, received, cancelled), so the two index
entries cost next to nothing; orders placed before the keys existed are listed from their next write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.adapters.cursors import decode_cursor, encode_cursor
from shared.adapters.expressions import NEW, KeyQuery, Put, eq
from shared.adapters.index_reads import items_behind
from shared.domain.bounds import STORED
from shared.domain.purchasing import PurchaseOrder, PurchaseOrderStatus, Receipt, Supplier
from shared.unit_of_work import AlreadyApplied, AlreadyExists, StaleVersion, Store

if TYPE_CHECKING:
    from shared.adapters.expressions import Item

SUPPLIER_PK = "SUPPLIER"
ORDER_SK = "ORDER"
RECEIPT_PREFIX = "RECEIPT#"
ALL_ORDERS = "PURCHASE_ORDERS"
MAX_QUERIES_PER_PAGE = 10


def order_pk(purchase_order_id: str) -> str:
    return f"PURCHASE_ORDER#{purchase_order_id}"


@dataclass(frozen=True)
class OrderWithReceipts:
    order: PurchaseOrder
    receipts: list[Receipt]

    def receipt(self, receipt_id: str) -> Receipt | None:
        return next((r for r in self.receipts if r.receipt_id == receipt_id), None)


class PurchasingRepository:
    def __init__(self, store: Store):
        self.store = store

    # ------------------------------------------------------------------ suppliers

    def supplier(self, supplier_id: str) -> Supplier | None:
        item = self.store.get(SUPPLIER_PK, supplier_id)
        return _supplier(item) if item else None

    def suppliers(self) -> list[Supplier]:
        return [_supplier(i) for i in self.store.query_all(KeyQuery(SUPPLIER_PK), consistent=True)]

    def put_supplier(self, supplier: Supplier, expected_version: int | None) -> Put:
        """The supplier as `supplier.version`: new when `expected_version` is None, else over that version."""
        item = {"pk": SUPPLIER_PK, "sk": supplier.supplier_id, "version": supplier.version,
                "doc": supplier.model_dump_json(), "updated_at": supplier.updated_at.isoformat()}
        return Put(item, when=NEW if expected_version is None else eq("version", expected_version),
                   refused=lambda _old: StaleVersion("supplier", supplier.supplier_id))

    # ------------------------------------------------------------------ purchase orders

    def order(self, purchase_order_id: str) -> OrderWithReceipts | None:
        """The order and its receipts, in one strongly consistent query of its partition."""
        items = list(self.store.query_all(KeyQuery(order_pk(purchase_order_id)), consistent=True))
        head = next((i for i in items if i["sk"] == ORDER_SK), None)
        if head is None:
            return None
        receipts = sorted((_receipt(i) for i in items if i["sk"].startswith(RECEIPT_PREFIX)),
                          key=lambda r: (r.received_at, r.receipt_id))
        return OrderWithReceipts(_order(head), receipts)

    def create(self, order: PurchaseOrder) -> Put:
        """A new order: AlreadyExists (with the stored order) when its id was used before."""
        return Put(self._item(order), when=NEW,
                   refused=lambda old: AlreadyExists("purchase_order", order.purchase_order_id,
                                                     _order(old) if old else None))

    def save(self, order: PurchaseOrder, expected_version: int) -> Put:
        return Put(self._item(order), when=eq("version", expected_version),
                   refused=lambda _old: StaleVersion("purchase_order", order.purchase_order_id))

    def claim_receipt(self, receipt: Receipt) -> Put:
        """The receipt, once per id and order: AlreadyApplied (with the stored receipt) when taken."""
        item = {"pk": order_pk(receipt.purchase_order_id), "sk": f"{RECEIPT_PREFIX}{receipt.receipt_id}",
                "fingerprint": receipt.fingerprint, "doc": receipt.model_dump_json()}
        return Put(item, when=NEW,
                   refused=lambda old: AlreadyApplied(receipt.receipt_id, _receipt(old) if old else None))

    def orders(self, status: PurchaseOrderStatus | None, supplier_id: str | None, limit: int, cursor: str | None
               ) -> tuple[list[PurchaseOrder], str | None]:
        """A page of purchase orders, oldest first: a supplier's (gsi3) or all (gsi1), `status` filtered (in the
        query on gsi1, which projects it; after reading on gsi3). A page can come back short with a cursor."""
        index, pk_value = ("gsi3", f"SUPPLIER_PO#{supplier_id}") if supplier_id else ("gsi1", ALL_ORDERS)
        where = eq("status", status.value) if status is not None and index == "gsi1" else None
        last = decode_cursor(cursor, {"pk", "sk", f"{index}pk", f"{index}sk"}, (f"{index}pk", pk_value))
        found: list[dict] = []
        for _ in range(MAX_QUERIES_PER_PAGE):
            items, last = self.store.query(KeyQuery(pk_value, index=index), where=where, limit=limit - len(found),
                                           start_key=last)
            found += items
            if not last or len(found) >= limit:
                break
        orders = [_order(i) for i in items_behind(self.store, found)]
        # gsi3 does not project the status, and an index lags its items: the order's own status decides.
        return [o for o in orders if status is None or o.status == status], encode_cursor(last)

    @staticmethod
    def _item(order: PurchaseOrder) -> dict:
        sort = f"{order.created_at.isoformat()}#{order.purchase_order_id}"
        return {"pk": order_pk(order.purchase_order_id), "sk": ORDER_SK, "version": order.version,
                "status": order.status.value, "fingerprint": order.fingerprint, "doc": order.model_dump_json(),
                "gsi1pk": ALL_ORDERS, "gsi1sk": sort, "gsi3pk": f"SUPPLIER_PO#{order.supplier_id}", "gsi3sk": sort}


def _supplier(item: Item) -> Supplier:
    return Supplier.model_validate_json(item["doc"], context=STORED)


def _order(item: Item) -> PurchaseOrder:
    order = PurchaseOrder.model_validate_json(item["doc"], context=STORED)
    order.fingerprint = item.get("fingerprint", "")
    return order


def _receipt(item: Item) -> Receipt:
    receipt = Receipt.model_validate_json(item["doc"], context=STORED)
    receipt.fingerprint = item.get("fingerprint", "")
    return receipt
