"""The items behind an index query's entries.

The order, fulfilment order, shipment and return indexes (gsi1, gsi2, gsi3, gsi5) project their keys
and the few attributes their queries filter on, never the document (infra/wiring.py TABLE): a query
answers which items, in which order, and a BatchGetItem (100 keys a call) reads them. Eventually
consistent by default, as the index itself is; an item gone between the two reads is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from shared.adapters.expressions import Item
from shared.unit_of_work import Store

BATCH = 100  # BatchGetItem's limit


def items_behind(store: Store, entries: Iterable[Item], consistent: bool = False) -> list[Item]:
    """The table's items for these index entries, in the entries' order."""
    keys = [(e["pk"], e["sk"]) for e in entries]
    if not keys:
        return []
    found = {(i["pk"], i["sk"]): i for i in store.batch_get(keys, consistent=consistent)}
    return [found[k] for k in keys if k in found]


def stream_behind(store: Store, entries: Iterable[Item], consistent: bool = False) -> Iterator[Item]:
    """`items_behind` for a stream of entries, read a batch at a time as the stream is consumed."""
    page: list[Item] = []
    for entry in entries:
        page.append(entry)
        if len(page) == BATCH:
            yield from items_behind(store, page, consistent)
            page = []
    yield from items_behind(store, page, consistent)
