"""An in-memory store with the DynamoDB semantics the repositories rely on, for tests without an
emulator: conditions checked before anything is written, transactions all or nothing (and refused
when they name one item twice, hold more than 100 writes, or make an item over 400 KB), sparse
indexes with their projections, paginated queries with DynamoDB's LastEvaluatedKey shape.

Items go through boto3's own (de)serialiser on the way in, so what a repository reads back has the
types DynamoDB gives (numbers as Decimal, no None values) and what DynamoDB refuses (floats) is
refused here too. tests/contract runs the same cases on this store and on the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary

from shared.adapters.dynamo import from_item, to_attrs
from shared.adapters.expressions import (
    All,
    AnyOf,
    Check,
    Compare,
    Cond,
    Contains,
    Delete,
    Exists,
    Item,
    KeyQuery,
    Missing,
    Patch,
    Put,
    SortRange,
    Write,
)
from shared.unit_of_work import MAX_WRITES, InvalidTransaction, Refused, refusal_of

MAX_ITEM_BYTES = 400 * 1024
MAX_PK_BYTES, MAX_SK_BYTES = 2048, 1024


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str
    keys_only: bool = False
    # With keys_only: the attributes an INCLUDE projection copies beside the keys.
    included: tuple[str, ...] = ()


def _size(value: Any) -> int:
    """DynamoDB's item size rule: UTF-8 bytes of names and strings, about 1 byte per 2 digits of a number."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, Binary):
        return len(value.value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, Decimal)):
        return 1 + (len(str(value).lstrip("-").replace(".", "")) + 1) // 2
    if isinstance(value, dict):
        return 3 + sum(_size(k) + _size(v) + 1 for k, v in value.items())
    if isinstance(value, (list, set, tuple, frozenset)):
        return 3 + sum(_size(v) + 1 for v in value)
    raise TypeError(f"cannot size {type(value).__name__}")


def item_size(item: Item) -> int:
    return sum(_size(k) + _size(v) for k, v in item.items())


def _compare(actual: Any, op: str, expected: Any) -> bool:
    numbers = (int, Decimal)
    same_kind = (isinstance(actual, numbers) and isinstance(expected, numbers) and not isinstance(actual, bool)) \
        or type(actual) is type(expected)
    if not same_kind:
        # DynamoDB compares values of one type only; `<>` holds between values of different types.
        return op == "<>"
    return {"=": actual == expected, "<>": actual != expected, "<": actual < expected,
            "<=": actual <= expected, ">": actual > expected, ">=": actual >= expected}[op]


def holds(cond: Cond, item: Item | None) -> bool:
    item = item or {}
    if isinstance(cond, Exists):
        return cond.attr in item
    if isinstance(cond, Missing):
        return cond.attr not in item
    if isinstance(cond, Compare):
        if cond.attr not in item:
            # A missing attribute equals nothing and orders against nothing: only `<>` holds.
            return cond.op == "<>"
        return _compare(item[cond.attr], cond.op, _normalised(cond.value))
    if isinstance(cond, Contains):
        value = item.get(cond.attr)
        if isinstance(value, str):
            return isinstance(cond.value, str) and cond.value in value
        return isinstance(value, (list, set)) and _normalised(cond.value) in value
    if isinstance(cond, All):
        return all(holds(p, item) for p in cond.parts)
    if isinstance(cond, AnyOf):
        return any(holds(p, item) for p in cond.parts)
    raise TypeError(f"not a condition: {cond!r}")


def _normalised(value: Any) -> Any:
    return from_item(to_attrs({"v": value})).get("v")


def _in_range(value: Any, sort: SortRange | None) -> bool:
    if sort is None:
        return True
    if not isinstance(value, str):
        return False
    if sort.op == "begins_with":
        return value.startswith(sort.value)
    if sort.op == "between":
        if sort.upper is None or sort.value > sort.upper:
            raise InvalidTransaction("BETWEEN's lower bound is above its upper bound")
        return sort.value <= value <= sort.upper
    return _compare(value, sort.op, sort.value)


class MemoryStore:
    def __init__(self, indexes: tuple[IndexSpec, ...] = ()):
        self.items: dict[tuple[str, str], Item] = {}
        self.indexes = {i.name: i for i in indexes}
        self._lock = threading.Lock()
        self.transactions = 0  # commits, for tests that count them

    @classmethod
    def for_table(cls) -> MemoryStore:
        """A store with the table's indexes as infra/wiring.py declares them."""
        from infra.wiring import TABLE

        return cls(tuple(IndexSpec(i.name, i.partition_key, i.sort_key, i.projection != "ALL",
                                   i.non_key_attributes) for i in TABLE.indexes))

    # -------------------------------------------------------------- writes

    def _validate(self, writes: list[Write]) -> None:
        if not writes:
            # As DynamoStore does before calling (boto3 would refuse an empty TransactItems).
            raise InvalidTransaction("a transaction needs at least one write")
        if len(writes) > MAX_WRITES:
            raise InvalidTransaction(f"{len(writes)} writes in one transaction; at most {MAX_WRITES}")
        keys = [w.key for w in writes]
        if len(set(keys)) != len(keys):
            raise InvalidTransaction("Transaction request cannot include multiple operations on one item")
        for pk, sk in keys:
            if not pk or not sk or len(pk.encode()) > MAX_PK_BYTES or len(sk.encode()) > MAX_SK_BYTES:
                raise InvalidTransaction(f"key ({pk[:40]!r}, {sk[:40]!r}) is empty or too long")
        for w in writes:
            if isinstance(w, Patch):
                changes = w.changes
                if not (changes.set or changes.add or changes.remove):
                    raise InvalidTransaction("an update needs at least one change")
                if any(v is None for v in changes.set.values()):
                    # DynamoDB has no "set to nothing": the value's placeholder would be undefined.
                    raise InvalidTransaction(f"an update sets {sorted(a for a, v in changes.set.items() if v is None)} "
                                             "to None; remove them instead")

    def _after(self, w: Write, old: Item | None) -> Item | None:
        """The item as the write leaves it (None: absent), or raises for what DynamoDB refuses."""
        if isinstance(w, Check):
            return old
        if isinstance(w, Delete):
            return None
        if isinstance(w, Put):
            new = from_item(to_attrs(w.item))
        else:
            new = dict(old) if old else {"pk": w.pk, "sk": w.sk}
            new.update(from_item(to_attrs(dict(w.changes.set))))
            for attr, delta in w.changes.add.items():
                current = new.get(attr, Decimal(0))
                if not isinstance(current, Decimal):
                    raise InvalidTransaction(f"an operand in the update expression has an incorrect data type: {attr}")
                new[attr] = current + _normalised(delta)
            for attr in w.changes.remove:
                new.pop(attr, None)
        if item_size(new) > MAX_ITEM_BYTES:
            raise InvalidTransaction("Item size has exceeded the maximum allowed size")
        for index in self.indexes.values():
            for attr, limit in ((index.partition_key, MAX_PK_BYTES), (index.sort_key, MAX_SK_BYTES)):
                if attr not in new:
                    continue  # sparse: the item is not in this index
                value = new[attr]
                if not isinstance(value, str):
                    # The table declares every index key a string (local/emulator.py provision).
                    raise InvalidTransaction(f"index key {attr} must be a string, not {type(value).__name__}")
                if not value or len(value.encode()) > limit:
                    raise InvalidTransaction(f"index key {attr} is empty or too long")
        return new

    def transact(self, writes: list[Write]) -> None:
        self._validate(writes)
        with self._lock:
            old = {w.key: self.items.get(w.key) for w in writes}
            refused, after = [], {}
            for w in writes:
                if w.when is not None and not holds(w.when, old[w.key]):
                    refused.append(refusal_of(w, old[w.key]))
                else:
                    # What DynamoDB refuses (too large, bad index key) is an InvalidTransaction,
                    # even beside a refused condition: the request is wrong whatever the items hold.
                    after[w.key] = self._after(w, old[w.key])
            if refused:
                raise Refused(refused)
            for k, new in after.items():
                if new is None:
                    self.items.pop(k, None)
                else:
                    self.items[k] = new
            self.transactions += 1

    def write(self, w: Write, return_new: bool = False) -> Item | None:
        """One conditional write. Like DynamoDB's UpdateItem with ALL_NEW, only a Patch returns the
        item it leaves (PutItem and DeleteItem have no new image to return); a Check is for
        transactions only."""
        if isinstance(w, Check):
            raise InvalidTransaction("a condition check is only for a transaction")
        self._validate([w])
        with self._lock:
            old = self.items.get(w.key)
            if w.when is not None and not holds(w.when, old):
                raise Refused([refusal_of(w, old)])
            new = self._after(w, old)
            if new is None:
                self.items.pop(w.key, None)
            else:
                self.items[w.key] = new
        return dict(new) if return_new and isinstance(w, Patch) and new is not None else None

    def batch_write(self, writes: list[Put | Delete]) -> None:
        """Unconditional puts and deletes, each applied alone (BatchWriteItem is not a transaction)."""
        if any(w.when is not None for w in writes):
            raise InvalidTransaction("a batch write takes no conditions")
        for w in writes:
            self.write(w)

    # -------------------------------------------------------------- reads

    def get(self, pk: str, sk: str, consistent: bool = True) -> Item | None:
        item = self.items.get((pk, sk))
        return dict(item) if item else None

    def batch_get(self, keys: list[tuple[str, str]], consistent: bool = True) -> list[Item]:
        return [dict(self.items[k]) for k in dict.fromkeys(keys) if k in self.items]

    def query(self, key: KeyQuery, *, where: Cond | None = None, limit: int | None = None,
              start_key: dict | None = None, forward: bool = True, consistent: bool = False
              ) -> tuple[list[Item], dict | None]:
        if key.index is not None:
            if consistent:
                raise InvalidTransaction("Consistent reads are not supported on global secondary indexes")
            spec = self.indexes[key.index]
            pk_attr, sk_attr = spec.partition_key, spec.sort_key
        else:
            spec, pk_attr, sk_attr = None, "pk", "sk"
        with self._lock:
            matching = [i for i in self.items.values()
                        if i.get(pk_attr) == key.partition and sk_attr in i and _in_range(i[sk_attr], key.sort)]

        def order(i: Item) -> tuple:
            return (i[sk_attr], i["pk"], i["sk"]) if spec else (i["sk"],)

        matching.sort(key=order, reverse=not forward)
        if start_key:
            start = order(from_item(start_key))
            matching = [i for i in matching if (order(i) > start if forward else order(i) < start)]
        last = None
        if limit and len(matching) > limit:
            matching = matching[:limit]
            attrs = {"pk", "sk"} | ({pk_attr, sk_attr} if spec else set())
            last = to_attrs({a: matching[-1][a] for a in attrs})
        if spec is not None and spec.keys_only:
            # As DynamoDB: the query answers, and its filter sees, only what the index projects.
            projected = ("pk", "sk", pk_attr, sk_attr, *spec.included)
            matching = [{a: i[a] for a in projected if a in i} for i in matching]
        found = [i for i in matching if where is None or holds(where, i)]
        return [dict(i) for i in found], last

    def query_all(self, key: KeyQuery, *, where: Cond | None = None, forward: bool = True,
                  consistent: bool = False) -> Iterator[Item]:
        items, _ = self.query(key, where=where, forward=forward, consistent=consistent)
        yield from items

    # -------------------------------------------------------------- for tests

    def with_prefix(self, pk_prefix: str) -> list[Item]:
        return [dict(i) for k, i in sorted(self.items.items()) if k[0].startswith(pk_prefix)]
