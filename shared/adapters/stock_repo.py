"""Stock levels, reservations and daily location capacity. Only this module knows their keys.

Access patterns (docs/data-model.md):
- stock of a SKU at every location: pk=STOCK#<sku>, sk begins_with LOC#
- stock of (SKU, location): pk=STOCK#<sku>, sk=LOC#<location>
- live reservations of a SKU at a location: pk=STOCK#<sku>, sk begins_with RES#<location>#
- orders taken by a location on a UTC day: pk=CAPACITY#<location>, sk=<yyyy-mm-dd>

Invariant kept by conditions, not by reads: a reservation moves `available` and `reserved` in one
update whose condition is `available >= :q`, so no interleaving of requests can oversell.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from shared.adapters.dynamo import Table
from shared.domain.orders import Allocation
from shared.domain.routing import Assignment
from shared.domain.stock import StockLevel

CAPACITY_RETENTION = timedelta(days=3)


def stock_pk(sku: str) -> str:
    return f"STOCK#{sku}"


def level_sk(location_id: str) -> str:
    return f"LOC#{location_id}"


STOCK_SHARDS = 16  # gsi4 partitions: level writes (creations) spread, a walk reads them in turn


def stock_shard(sku: str) -> str:
    # A stable hash (Python's hash() is salted per process).
    return f"STOCK_LEVELS#{zlib.crc32(sku.encode()) % STOCK_SHARDS:02d}"


def reservation_sk(location_id: str, order_id: str) -> str:
    return f"RES#{location_id}#{order_id}"


def capacity_pk(location_id: str) -> str:
    return f"CAPACITY#{location_id}"


class StockRepository:
    def __init__(self, table: Table):
        self.table = table

    # -------------------------------------------------------------- reads

    def level(self, sku: str, location_id: str) -> StockLevel | None:
        item = self.table.get(stock_pk(sku), level_sk(location_id))
        return _level(item) if item else None

    def levels_for_sku(self, sku: str) -> list[StockLevel]:
        items = self.table.query_all(
            key_condition="pk = :pk AND begins_with(sk, :loc)",
            values={":pk": stock_pk(sku), ":loc": "LOC#"},
            consistent=True,
        )
        return [_level(i) for i in items]

    def snapshot(self, skus: Iterable[str], location_ids: Iterable[str], day: date
                 ) -> tuple[dict[tuple[str, str], StockLevel], dict[str, int]]:
        """Stock of every (SKU, location) pair and each location's orders today, in one batch read."""
        skus, location_ids = sorted(set(skus)), sorted(set(location_ids))
        keys = [(stock_pk(s), level_sk(loc)) for s in skus for loc in location_ids]
        keys += [(capacity_pk(loc), day.isoformat()) for loc in location_ids]
        levels: dict[tuple[str, str], StockLevel] = {}
        used: dict[str, int] = {}
        for item in self.table.batch_get(keys):
            if item["pk"].startswith("CAPACITY#"):
                used[item["pk"].removeprefix("CAPACITY#")] = int(item.get("used", 0))
            else:
                level = _level(item)
                levels[(level.sku, level.location_id)] = level
        return levels, used

    # -------------------------------------------------------------- transaction actions

    def reserve_actions(self, order_id: str, assignments: Iterable[Assignment], at: datetime,
                        exact: dict[tuple[str, str], int] | None = None) -> list[dict]:
        """Reserve each assignment. Levels in `exact` must also still have the version read (the
        caller's events or decision depend on their exact counts)."""
        actions = []
        exact = exact or {}
        for a in sorted(assignments, key=lambda a: (a.sku, a.location_id)):
            values = {":q": a.quantity, ":one": 1, ":at": at.isoformat()}
            condition = "available >= :q"
            if (a.sku, a.location_id) in exact:
                condition += " AND version = :v"
                values[":v"] = exact[(a.sku, a.location_id)]
            actions.append(self.table.update(
                stock_pk(a.sku), level_sk(a.location_id),
                "SET available = available - :q, reserved = reserved + :q, version = version + :one, "
                "updated_at = :at",
                condition=condition, values=values,
            ))
            # The reservation record is what drift repair recounts; the order's version condition
            # in the same transaction is what stops a redelivered message reserving twice.
            actions.append(self.table.update(
                stock_pk(a.sku), reservation_sk(a.location_id, order_id),
                "ADD quantity :q SET order_id = :o, location_id = :l, sku = :s, reserved_at = :at",
                values={":q": a.quantity, ":o": order_id, ":l": a.location_id, ":s": a.sku, ":at": at.isoformat()},
            ))
        return actions

    def unchanged_actions(self, pairs: Iterable[tuple[str, str]],
                          levels: dict[tuple[str, str], StockLevel]) -> list[dict]:
        """Conditions that the given (SKU, location) levels are still as read: a decision that
        nothing can be reserved must not commit over a restock it did not see."""
        actions = []
        for sku, loc in sorted(set(pairs)):
            level = levels.get((sku, loc))
            if level is None:
                actions.append(self.table.check(stock_pk(sku), level_sk(loc), "attribute_not_exists(pk)"))
            else:
                actions.append(self.table.check(stock_pk(sku), level_sk(loc), "version = :v",
                                                {":v": level.version}))
        return actions

    def count_order_actions(self, capacities: dict[str, int | None], day: date) -> list[dict]:
        """Take one order from each location's daily capacity, refusing once it is used up."""
        actions = []
        for loc, cap in sorted(capacities.items()):
            expires = int((datetime.combine(day, datetime.min.time()) + CAPACITY_RETENTION).timestamp())
            if cap is None:
                actions.append(self.table.update(
                    capacity_pk(loc), day.isoformat(), "ADD used :one SET expires_at = :exp",
                    values={":one": 1, ":exp": expires},
                ))
            else:
                actions.append(self.table.update(
                    capacity_pk(loc), day.isoformat(), "ADD used :one SET expires_at = :exp",
                    condition="attribute_not_exists(used) OR used < :cap",
                    values={":one": 1, ":exp": expires, ":cap": cap},
                ))
        return actions

    def release_actions(self, order_id: str, allocations: Iterable[Allocation], at: datetime,
                        versions: dict[tuple[str, str], int]) -> list[dict]:
        """Give reserved units back. Conditioned on the version read, so the caller's
        StockChanged event carries exactly the counts this write produces."""
        actions = []
        for a in sorted(allocations, key=lambda a: (a.sku, a.location_id)):
            actions.append(self.table.update(
                stock_pk(a.sku), level_sk(a.location_id),
                "SET available = available + :q, reserved = reserved - :q, version = version + :one, "
                "updated_at = :at",
                condition="reserved >= :q AND version = :v",
                values={":q": a.quantity, ":one": 1, ":at": at.isoformat(), ":v": versions[(a.sku, a.location_id)]},
            ))
            actions.append(self.table.delete(
                stock_pk(a.sku), reservation_sk(a.location_id, order_id),
                condition="quantity = :q", values={":q": a.quantity},
            ))
        return actions

    def release_lines_actions(self, order_id: str, location_id: str, lines: dict[str, int], at: datetime,
                              versions: dict[tuple[str, str], int]) -> list[dict]:
        """Give back part of an order's reservation at one location (a rejected fulfilment order):
        the reservation record shrinks rather than going, as other parts may share it."""
        actions = []
        for sku, quantity in sorted(lines.items()):
            actions.append(self.table.update(
                stock_pk(sku), level_sk(location_id),
                "SET available = available + :q, reserved = reserved - :q, version = version + :one, "
                "updated_at = :at",
                condition="reserved >= :q AND version = :v",
                values={":q": quantity, ":one": 1, ":at": at.isoformat(), ":v": versions[(sku, location_id)]},
            ))
            actions.append(self.table.update(
                stock_pk(sku), reservation_sk(location_id, order_id), "ADD quantity :minus",
                condition="quantity >= :q", values={":minus": -quantity, ":q": quantity},
            ))
        return actions

    def ship_actions(self, order_id: str, location_id: str, lines: dict[str, int], at: datetime) -> list[dict]:
        """Shipping consumes the reservation: on hand and reserved both go down, available stays."""
        actions = []
        for sku, quantity in sorted(lines.items()):
            actions.append(self.table.update(
                stock_pk(sku), level_sk(location_id),
                "SET on_hand = on_hand - :q, reserved = reserved - :q, version = version + :one, updated_at = :at",
                condition="reserved >= :q AND on_hand >= :q",
                values={":q": quantity, ":one": 1, ":at": at.isoformat()},
            ))
            actions.append(self.table.update(
                stock_pk(sku), reservation_sk(location_id, order_id), "ADD quantity :minus",
                condition="quantity >= :q", values={":minus": -quantity, ":q": quantity},
            ))
        return actions

    def write_level_action(self, level: StockLevel, expected_version: int | None) -> dict:
        """Write counts we computed from a read; refused if anything moved the level since."""
        item = level_item(level)
        if expected_version is None:
            return self.table.put(item, condition="attribute_not_exists(pk)")
        return self.table.put(item, condition="version = :v", values={":v": expected_version})


def level_item(level: StockLevel) -> dict:
    """The stored shape of a stock level: the only place that knows it."""
    return {
        "pk": stock_pk(level.sku),
        "sk": level_sk(level.location_id),
        # gsi4, sparse: levels only, for reconciliation's walk over all stock.
        "gsi4pk": stock_shard(level.sku),
        "gsi4sk": f"{level.sku}#{level.location_id}",
        **level.model_dump(mode="json", exclude_none=True),
    }


def _level(item: dict) -> StockLevel:
    return StockLevel.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")})
