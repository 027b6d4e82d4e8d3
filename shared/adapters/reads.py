"""Items of several repositories in one read: each repository names an item it can read (`Wanted`: its
key and how to read it), and `read_together` fetches them all in one BatchGetItem (strongly
consistent, 100 keys a call). A use case that needs an order, its location and its shipment at
the same moment makes one request instead of three; the keys stay the repositories' own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.adapters.expressions import Item
from shared.unit_of_work import Store


@dataclass(frozen=True)
class Wanted:
    key: tuple[str, str]
    parse: Callable[[Item], Any]


def read_together(store: Store, wanted: Sequence[Wanted]) -> list[Any]:
    """What each `wanted` reads as, in order; None for an item that is not there."""
    if not wanted:
        return []
    items = {(i["pk"], i["sk"]): i for i in store.batch_get([w.key for w in wanted])}
    return [w.parse(items[w.key]) if w.key in items else None for w in wanted]
