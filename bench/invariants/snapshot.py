"""The whole table, read once and sorted by kind of item, for the invariant checker.

Items are recognised by the key shapes the repositories write (shared/adapters/*_repo.py, listed in
docs/data-model.md) and their documents parsed with the domain models, as the repositories read
them (`context=STORED`). Kinds the checker has no rule for are counted, not parsed.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.adapters.packed import unpack
from shared.domain.bounds import STORED
from shared.domain.fulfillment import FulfillmentOrder
from shared.domain.invoices import InvoiceDocument
from shared.domain.orders import Order
from shared.domain.returns import Return
from shared.domain.shipments import Shipment
from shared.outbox_format import outbox_entries


@dataclass(frozen=True)
class Event:
    event_id: str
    detail_type: str
    detail: dict[str, Any]
    occurred_at: datetime

    def get(self, name: str, default: Any = None) -> Any:
        return self.detail.get(name, default)


@dataclass
class Snapshot:
    """What the table holds, by kind. Keys of the dicts are the items' ids."""

    orders: dict[str, Order] = field(default_factory=dict)
    order_items: dict[str, dict] = field(default_factory=dict)
    channel_keys: dict[tuple[str, str], dict] = field(default_factory=dict)
    levels: dict[tuple[str, str], dict] = field(default_factory=dict)
    reservations: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (sku, location, order) -> units
    # A hot SKU's buckets (BKT#<location>#<nn>) by (sku, location); `levels` holds their sums folded in.
    buckets: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    fulfillment: dict[str, FulfillmentOrder] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    returns: dict[str, Return] = field(default_factory=dict)
    documents: list[InvoiceDocument] = field(default_factory=list)
    series: dict[str, int] = field(default_factory=dict)  # DOCSERIES pk -> last number issued
    document_counts: dict[str, int] = field(default_factory=dict)  # order id -> documents issued
    credit_balances: dict[tuple[str, str], int] = field(default_factory=dict)  # (ledger pk, currency) -> minor units
    credit_entries: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    adjustments: list[dict] = field(default_factory=list)  # {adjustment fields..., applied_at}
    kinds: Counter[str] = field(default_factory=Counter)
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)  # (pk, sk, why)

    # ------------------------------------------------------------------ derived look-ups

    def events_of(self, order_id: str) -> list[Event]:
        return self._by_order().get(order_id, [])

    def events_by_type(self, detail_type: str) -> list[Event]:
        return self._by_type().get(detail_type, [])

    def _by_order(self) -> dict[str, list[Event]]:
        if not hasattr(self, "_order_index"):
            index: dict[str, list[Event]] = defaultdict(list)
            for e in self.events:
                if e.get("order_id"):
                    index[e.get("order_id")].append(e)
            self._order_index = dict(index)
        return self._order_index

    def _by_type(self) -> dict[str, list[Event]]:
        if not hasattr(self, "_type_index"):
            index: dict[str, list[Event]] = defaultdict(list)
            for e in self.events:
                index[e.detail_type].append(e)
            self._type_index = dict(index)
        return self._type_index

    def fulfillment_of(self, order_id: str) -> list[FulfillmentOrder]:
        if not hasattr(self, "_fo_index"):
            index: dict[str, list[FulfillmentOrder]] = defaultdict(list)
            for fo in self.fulfillment.values():
                index[fo.order_id].append(fo)
            self._fo_index = dict(index)
        return self._fo_index.get(order_id, [])

    def returns_of(self, order_id: str) -> list[Return]:
        return [r for r in self.returns.values() if r.order_id == order_id]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def load(items: Iterable[dict]) -> Snapshot:
    """Sort deserialised items (plain Python values, as `shared.adapters.dynamo.from_item` gives) by kind."""
    snap = Snapshot()
    for item in items:
        pk, sk = str(item["pk"]), str(item["sk"])
        kind = _kind(pk, sk)
        snap.kinds[kind] += 1
        try:
            _READERS.get(kind, _ignore)(snap, pk, sk, item)
        except (ValueError, KeyError, TypeError) as error:  # a document the models refuse is a finding
            snap.unreadable.append((pk, sk, f"{type(error).__name__}: {str(error)[:200]}"))
    _fold_buckets(snap)
    return snap


def _fold_buckets(snap: Snapshot) -> None:
    """A bucketed level's item holds its own share; the level is that plus its buckets, as the OMS reads it."""
    for key, buckets in snap.buckets.items():
        if key in snap.levels:
            level = dict(snap.levels[key])
            for name in ("available", "reserved"):
                level[name] = int(level.get(name, 0)) + sum(int(b.get(name, 0)) for b in buckets)
            snap.levels[key] = level


def _kind(pk: str, sk: str) -> str:
    prefix = pk.split("#", 1)[0]
    if prefix == "ORDER":
        return {"ORDER": "order", "DOCUMENTS": "order_documents", "RETURNS": "order_returns"}.get(
            sk, "document" if sk.startswith("DOC#") else "order_other")
    if prefix == "STOCK":
        return ("stock_level" if sk.startswith("LOC#") else "reservation" if sk.startswith("RES#")
                else "stock_bucket" if sk.startswith("BKT#") else "stock_other")
    if prefix == "STORE_CREDIT":
        return "credit_balance" if sk.startswith("BALANCE#") else "credit_entry"
    return {"CHANNEL_ORDER": "channel_key", "EVENT": "event", "FULFILLMENT": "fulfillment_order",
            "SHIPMENT": "shipment", "RETURN": "return", "DOCSERIES": "document_series",
            "ADJUSTMENT": "adjustment"}.get(prefix, prefix.lower())


def _order(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    order = unpack(Order, item)
    snap.orders[order.order_id] = order
    snap.order_items[order.order_id] = item


def _channel_key(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    channel, channel_order_id = pk.removeprefix("CHANNEL_ORDER#").split("#", 1)
    snap.channel_keys[(channel, channel_order_id)] = item


def _level(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    snap.levels[(pk.removeprefix("STOCK#"), sk.removeprefix("LOC#"))] = item


def _bucket(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    location_id = sk.removeprefix("BKT#").rsplit("#", 1)[0]
    snap.buckets.setdefault((pk.removeprefix("STOCK#"), location_id), []).append(item)


def _reservation(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    location_id, order_id = sk.removeprefix("RES#").split("#", 1)
    snap.reservations[(pk.removeprefix("STOCK#"), location_id, order_id)] = int(item.get("quantity", 0))


def _fulfillment(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    fo = unpack(FulfillmentOrder, item)
    snap.fulfillment[fo.fulfillment_order_id] = fo


def _shipment(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    shipment = unpack(Shipment, item)
    snap.shipments[shipment.shipment_id] = shipment


def _event(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    # An outbox item holds its transaction's events; each names itself (the item is keyed by the first).
    for entry in outbox_entries(item):
        detail = json.loads(entry.detail)
        snap.events.append(Event(str(detail["event_id"]), entry.detail_type, detail, moment(detail["occurred_at"])))


def _return(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    if sk != "RETURN":
        return
    ret = Return.model_validate_json(item["doc"], context=STORED)
    snap.returns[ret.rma_id] = ret


def _document(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    snap.documents.append(unpack(InvoiceDocument, item))


def _series(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    snap.series[pk] = int(item["last"])


def _document_count(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    snap.document_counts[pk.removeprefix("ORDER#")] = int(item["issued"])


def _credit_balance(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    snap.credit_balances[(pk, sk.removeprefix("BALANCE#"))] = int(item["balance"])


def _credit_entry(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    snap.credit_entries.setdefault((pk, str(item["currency"])), []).append(int(item["amount"]))


def _adjustment(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    snap.adjustments.append({**json.loads(item["fingerprint"]), "applied_at": moment(str(item["applied_at"]))})


def _ignore(snap: Snapshot, pk: str, sk: str, item: dict) -> None:
    return None


_READERS = {"order": _order, "channel_key": _channel_key, "stock_level": _level, "reservation": _reservation,
            "stock_bucket": _bucket,
            "fulfillment_order": _fulfillment, "shipment": _shipment, "event": _event, "return": _return,
            "document": _document, "document_series": _series, "order_documents": _document_count,
            "credit_balance": _credit_balance, "credit_entry": _credit_entry, "adjustment": _adjustment}


def scan_table(client, table_name: str) -> Iterator[dict]:
    """Every item of the table (a consistent Scan, page by page), deserialised."""
    from shared.adapters.dynamo import from_item

    start: dict | None = None
    while True:
        request: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
        if start:
            request["ExclusiveStartKey"] = start
        page = client.scan(**request)
        yield from (from_item(i) for i in page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start:
            return
