"""Locations. All live in one partition (pk=LOCATION): a merchant has tens, not millions.

Access patterns: all locations (Query pk=LOCATION), one location (pk=LOCATION, sk=<id>).
"""

from __future__ import annotations

import time

from shared.adapters.expressions import KeyQuery, Put
from shared.adapters.reads import Wanted
from shared.domain.bounds import STORED
from shared.domain.locations import Location
from shared.unit_of_work import Store

PK = "LOCATION"
CACHE_SECONDS = 30.0


class LocationRepository:
    def __init__(self, store: Store):
        self.store = store
        self._cache: tuple[float, list[Location]] | None = None

    def put(self, location: Location) -> Put:
        self._cache = None
        return Put({"pk": PK, "sk": location.location_id, "doc": location.model_dump_json()})

    def get(self, location_id: str) -> Location | None:
        item = self.store.get(PK, location_id)
        return Location.model_validate_json(item["doc"], context=STORED) if item else None

    def wanted(self, location_id: str) -> Wanted:
        """The location, to read beside other repositories' items (Repositories.read)."""
        return Wanted((PK, location_id), lambda item: Location.model_validate_json(item["doc"], context=STORED))

    def all(self) -> list[Location]:
        items = self.store.query_all(KeyQuery(PK), consistent=True)
        return [Location.model_validate_json(i["doc"], context=STORED) for i in items]

    def all_cached(self) -> list[Location]:
        """Locations for routing, re-read at most every 30 s per warm container.

        Routing on a slightly stale location list is safe: stock and capacity are still guarded by
        the reservation's conditions; it saves one read per order.
        """
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] > CACHE_SECONDS:
            self._cache = (now, self.all())
        return self._cache[1]
