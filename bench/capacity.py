"""DynamoDB capacity units a request consumes, by DynamoDB's published sizing rules.

Written by hand because moto's `ConsumedCapacity` is not DynamoDB's (a 3 KB PutItem reports 1 unit,
transactions report nothing, index writes are never counted) and no library models it. The rules
(DynamoDB developer guide, "Read/write capacity mode" and "Item sizes"):

- write: 1 unit per started KB of the larger of the item's before and after images; 2 per KB
  inside TransactWriteItems (ConditionCheck included). A refused conditional write still costs
  its units.
- each global secondary index: a write that puts an entry costs the projected size in KB (ALL:
  the item; KEYS_ONLY: the table and index keys; INCLUDE: those and the attributes it names); one
  that changes the index key deletes the old entry and puts the new one (two writes); one that
  changes no key and nothing projected costs the index nothing, one that changes a projected
  attribute rewrites the entry. Index writes are counted at the standard rate.
- read: 1 unit per started 4 KB strongly consistent, half that eventually consistent (index
  queries always are), 2 per 4 KB inside TransactGetItems; a Query or Scan page rounds the sum
  of the items it returns up once (items a filter drops are not seen here: a lower bound).

The before and after images come from uncounted consistent GetItems around each write (the
emulator runs in another process, so its items cannot be read directly): the benchmark's own
overhead, not the order's.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

KB, READ_BLOCK = 1024, 4096
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def attribute_size(value: Mapping[str, Any]) -> int:
    """Bytes of one typed attribute value ({"S": ...}, {"N": ...}, {"M": ...}...)."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":  # about one byte per two significant digits, plus one
        digits = "".join(map(str, Decimal(v).as_tuple().digits)).strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(x) for k, x in v.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Any] | None) -> int:
    return sum(len(name.encode()) + attribute_size(v) for name, v in (item or {}).items())


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()  # INCLUDE's non-key attributes


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[IndexShape, ...]

    @classmethod
    def from_wiring(cls) -> TableShape:
        from infra.wiring import TABLE

        keys = (TABLE.partition_key, TABLE.sort_key) if TABLE.sort_key else (TABLE.partition_key,)
        return cls(keys, tuple(IndexShape(i.name, (i.partition_key, i.sort_key), i.projection,
                                          i.non_key_attributes) for i in TABLE.indexes))


def _blocks(size: int, block: int) -> int:
    return max(1, math.ceil(size / block))


def write_units(before: Mapping | None, after: Mapping | None, table: TableShape,
                transactional: bool) -> tuple[int, int]:
    """(table units, index units) of one item write."""
    table_units = _blocks(max(item_size(before), item_size(after)), KB) * (2 if transactional else 1)
    index_units = 0
    for index in table.indexes:
        key_before = _index_key(before, index)
        key_after = _index_key(after, index)
        if key_before is None and key_after is None:
            continue
        if key_before is not None and key_after is not None and key_before == key_after:
            if _projected(before, index, table) != _projected(after, index, table):
                index_units += _blocks(_projected_size(after, index, table), KB)
            continue
        for image, key in ((before, key_before), (after, key_after)):
            if key is not None:
                index_units += _blocks(_projected_size(image, index, table), KB)
    return table_units, index_units


def _index_key(item: Mapping | None, index: IndexShape) -> tuple | None:
    if not item or any(k not in item for k in index.keys):
        return None
    return tuple(str(item[k]) for k in index.keys)


def _projected(item: Mapping | None, index: IndexShape, table: TableShape) -> Mapping:
    if index.projection == "ALL":
        return item or {}
    return {k: v for k, v in (item or {}).items() if k in index.keys or k in table.keys or k in index.included}


def _projected_size(item: Mapping | None, index: IndexShape, table: TableShape) -> int:
    return item_size(_projected(item, index, table))


def read_units(sizes: list[int], consistent: bool, transactional: bool = False, per_item: bool = True) -> float:
    if transactional:
        return float(sum(2 * _blocks(s, READ_BLOCK) for s in sizes))
    factor = 1.0 if consistent else 0.5
    if per_item:
        return factor * sum(_blocks(s, READ_BLOCK) for s in sizes)
    return factor * _blocks(sum(sizes), READ_BLOCK)


Call = Callable[[str, dict], dict]


class CapacityMeter:
    """Wraps DynamoDB calls (through `call(operation, params)`) and adds up their units per label."""

    def __init__(self, table: TableShape):
        self.table = table
        self.lock = threading.Lock()
        self.units: Counter[tuple[str, str]] = Counter()  # (label, "read" | "write" | "index write")
        # (label, item kind: the pk up to its first "#", "write" | "index write"): where the units go
        self.by_kind: Counter[tuple[str, str, str]] = Counter()

    def _add(self, label: str, kind: str, units: float) -> None:
        with self.lock:
            self.units[(label, kind)] += units

    def measure(self, label: str, operation: str, params: dict, call: Call) -> dict:
        if operation in WRITES:
            return self._single_write(label, operation, params, call)
        if operation == "TransactWriteItems":
            return self._transaction(label, params, call)
        if operation == "BatchWriteItem":
            return self._batch_write(label, params, call)
        response = call(operation, params)
        if operation == "GetItem":
            self._add(label, "read", read_units([item_size(response.get("Item"))], params.get("ConsistentRead", False)))
        elif operation == "BatchGetItem":
            for table, items in response.get("Responses", {}).items():
                consistent = params["RequestItems"][table].get("ConsistentRead", False)
                self._add(label, "read", read_units([item_size(i) for i in items], consistent))
        elif operation in ("Query", "Scan"):
            sizes = [item_size(i) for i in response.get("Items", [])]
            self._add(label, "read", read_units(sizes, params.get("ConsistentRead", False), per_item=False))
        elif operation == "TransactGetItems":
            sizes = [item_size(r.get("Item")) for r in response.get("Responses", [])]
            self._add(label, "read", read_units(sizes, True, transactional=True))
        return response

    def _image(self, call: Call, table: str, key: dict) -> dict | None:
        return call("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")

    def _key(self, item: dict) -> dict:
        return {k: item[k] for k in self.table.keys if k in item}

    def _charge(self, label: str, images: list[tuple[dict | None, dict | None]], transactional: bool) -> None:
        for before, after in images:
            table_units, index_units = write_units(before, after, self.table, transactional)
            self._add(label, "write", table_units)
            self._add(label, "index write", index_units)
            kind = str(next(iter((after or before or {}).get("pk", {}).values()), "?")).split("#", 1)[0]
            with self.lock:
                self.by_kind[(label, kind, "write")] += table_units
                self.by_kind[(label, kind, "index write")] += index_units

    def _single_write(self, label: str, operation: str, params: dict, call: Call) -> dict:
        table = params["TableName"]
        key = self._key(params["Item"]) if operation == "PutItem" else params["Key"]
        before = self._image(call, table, key)
        try:
            response = call(operation, params)
        except Exception:
            self._charge(label, [(before, before)], transactional=False)  # a refused write still costs
            raise
        self._charge(label, [(before, self._image(call, table, key))], transactional=False)
        return response

    def _transaction(self, label: str, params: dict, call: Call) -> dict:
        targets = []
        for action in params["TransactItems"]:
            (kind, body), = action.items()
            key = self._key(body["Item"]) if kind == "Put" else body["Key"]
            targets.append((kind, body["TableName"], key))
        befores = [self._image(call, table, key) for _, table, key in targets]
        try:
            response = call("TransactWriteItems", params)
        except Exception:
            self._charge(label, [(b, b) for b in befores], transactional=True)
            raise
        afters = [b if kind == "ConditionCheck" else self._image(call, table, key)
                  for (kind, table, key), b in zip(targets, befores, strict=True)]
        self._charge(label, list(zip(befores, afters, strict=True)), transactional=True)
        return response

    def _batch_write(self, label: str, params: dict, call: Call) -> dict:
        targets = []
        for table, requests in params["RequestItems"].items():
            for r in requests:
                key = self._key(r["PutRequest"]["Item"]) if "PutRequest" in r else r["DeleteRequest"]["Key"]
                targets.append((table, key))
        befores = [self._image(call, t, k) for t, k in targets]
        response = call("BatchWriteItem", params)
        afters = [self._image(call, t, k) for t, k in targets]  # unprocessed items stay as they were
        self._charge(label, list(zip(befores, afters, strict=True)), transactional=False)
        return response
