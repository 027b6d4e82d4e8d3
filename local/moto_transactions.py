"""A cheaper, more faithful rollback for moto's TransactWriteItems.

moto 5.2 makes a deep copy of every table a transaction touches, once per action, to restore it
if a condition fails. That costs time in proportion to the table (88% of the emulator's time in a
capture benchmark) and, on rollback, swaps in new table and stream-shard objects: stream readers
holding an iterator keep reading the discarded shard, which also holds records of the undone
writes (DynamoDB never emits those). Since our emulator serialises requests (see emulator.py),
no other request can observe a transaction half-applied, so saving just the items it touches, and
the stream's length, is a complete rollback.

moto has no option for this, so it is patched here, for the local runtime and tests only. The
same goes for main-table queries (see `_install_partition_queries`).
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    def deepcopy_except_tables(value: Any, memo: dict | None = None) -> Any:
        # The original rollback copies whole tables; ours restores touched items instead.
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    # Deliberate monkeypatch: moto's module-level `copy` stands in for the stdlib module.
    models.copy = SimpleNamespace(deepcopy=deepcopy_except_tables)  # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        streams = {}
        for action in transact_items:
            op = next(iter(action.values()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            attrs = op.get("Item") or op.get("Key") or {}
            if table.hash_key_attr not in attrs:
                continue
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
            if table.stream_shard is not None:
                streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                _restore(table, hash_key, range_key, item)
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]  # monkeypatch
    _install_partition_queries(Table)
    _installed = True


def _install_partition_queries(Table) -> None:
    """A Query on the table itself (not an index) reads one partition, as DynamoDB does. moto
    5.2 builds and sorts a list of every item of the table for each such query and then keeps one
    partition: at 28,000 items that is ~0.3 s per query, which made a reconciliation walk over
    2,000 SKUs take ten minutes. The query sees the same items, in the same order, either way."""
    import threading

    hint = threading.local()
    original_query, original_all_items = Table.query, Table.all_items

    def all_items(self):
        hash_key = getattr(hint, "hash_key", None)
        if hash_key is None or not self.range_key_attr:
            return original_all_items(self)
        return sorted(self.items.get(hash_key, {}).values(), key=lambda x: (x.hash_key, x.range_key))

    def query(self, hash_key, *args, **kwargs):
        if kwargs.get("index_name") or (len(args) > 6 and args[6]):  # args[6]: index_name
            return original_query(self, hash_key, *args, **kwargs)
        hint.hash_key = hash_key
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            hint.hash_key = None

    Table.all_items, Table.query = all_items, query


def _restore(table, hash_key, range_key, item) -> None:
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item
