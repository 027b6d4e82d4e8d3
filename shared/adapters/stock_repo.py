"""Stock levels, reservations and daily location capacity. Only this module knows their keys.

Access patterns (docs/data-model.md):
- stock of a SKU at every location: pk=STOCK#<sku>, sk begins_with LOC#
- stock of (SKU, location): pk=STOCK#<sku>, sk=LOC#<location>
- live reservations of a SKU at a location: pk=STOCK#<sku>, sk begins_with RES#<location>#
- orders taken by a location on a UTC day: pk=CAPACITY#<location>, sk=<yyyy-mm-dd>
- a stock adjustment applied once per id: pk=ADJUSTMENT#<adjustment id>, sk=ADJUSTMENT
- every (SKU, location) with a level: gsi4, STOCK_SHARDS partitions (keys only)

Invariant kept by conditions, not by reads: a reservation moves `available` and `reserved` in one
update whose condition is `available >= :q`, so no interleaving of requests can oversell.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.adapters.expressions import (
    NEW,
    Changes,
    Check,
    Cond,
    Delete,
    KeyQuery,
    Missing,
    Patch,
    Put,
    Refusal,
    SortRange,
    eq,
    ge,
    lt,
)
from shared.domain.bounds import STORED
from shared.domain.orders import Allocation
from shared.domain.routing import Assignment
from shared.domain.stock import Adjustment, StockLevel
from shared.unit_of_work import (
    AlreadyApplied,
    CapacityExhausted,
    OutOfStock,
    ReservationChanged,
    StockMoved,
    StockShort,
    Store,
)

CAPACITY_RETENTION = timedelta(days=3)


def stock_pk(sku: str) -> str:
    return f"STOCK#{sku}"


LEVEL_PREFIX, RESERVATION_PREFIX = "LOC#", "RES#"  # the two kinds of item in a SKU's partition


def level_sk(location_id: str) -> str:
    return f"{LEVEL_PREFIX}{location_id}"


STOCK_SHARDS = 16  # gsi4 partitions: level writes (creations) spread, a walk reads them in turn


def shard_pk(shard: int) -> str:
    """gsi4's partition key of one of the STOCK_SHARDS shards of the stock levels."""
    return f"STOCK_LEVELS#{shard:02d}"


def stock_shard(sku: str) -> str:
    # A stable hash (Python's hash() is salted per process).
    return shard_pk(zlib.crc32(sku.encode()) % STOCK_SHARDS)


def reservation_sk(location_id: str, order_id: str) -> str:
    return f"{RESERVATION_PREFIX}{location_id}#{order_id}"


def capacity_pk(location_id: str) -> str:
    return f"CAPACITY#{location_id}"


def adjustment_pk(adjustment_id: str) -> str:
    return f"ADJUSTMENT#{adjustment_id}"


@dataclass(frozen=True)
class AppliedAdjustment:
    """What an adjustment id was first used for, and the level it produced."""

    fingerprint: str
    level: StockLevel


class StockRepository:
    def __init__(self, store: Store):
        self.store = store

    # -------------------------------------------------------------- reads

    def level(self, sku: str, location_id: str) -> StockLevel | None:
        item = self.store.get(stock_pk(sku), level_sk(location_id))
        return level_from_item(item) if item else None

    def levels_for_sku(self, sku: str) -> list[StockLevel]:
        items = self.store.query_all(KeyQuery(stock_pk(sku), SortRange.prefix("LOC#")), consistent=True)
        return [level_from_item(i) for i in items]

    def snapshot(self, skus: Iterable[str], location_ids: Iterable[str], day: date
                 ) -> tuple[dict[tuple[str, str], StockLevel], dict[str, int]]:
        """Stock of every (SKU, location) pair and each location's orders today, in one batch read."""
        skus, location_ids = sorted(set(skus)), sorted(set(location_ids))
        keys = [(stock_pk(s), level_sk(loc)) for s in skus for loc in location_ids]
        keys += [(capacity_pk(loc), day.isoformat()) for loc in location_ids]
        levels: dict[tuple[str, str], StockLevel] = {}
        used: dict[str, int] = {}
        for item in self.store.batch_get(keys):
            if item["pk"].startswith("CAPACITY#"):
                used[item["pk"].removeprefix("CAPACITY#")] = int(item.get("used", 0))
            else:
                level = level_from_item(item)
                levels[(level.sku, level.location_id)] = level
        return levels, used

    def levels(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StockLevel]:
        """The levels of these (SKU, location) pairs that exist, in one batch read (100 keys a call)."""
        found = self.store.batch_get([(stock_pk(sku), level_sk(loc)) for sku, loc in sorted(set(pairs))])
        return {(lv.sku, lv.location_id): lv for lv in map(level_from_item, found)}

    def all_pairs(self) -> Iterator[tuple[str, str]]:
        """Every (SKU, location) with a level, shard by shard through gsi4 (keys only): no scan."""
        for shard in range(STOCK_SHARDS):
            for key in self.store.query_all(KeyQuery(shard_pk(shard), index="gsi4")):
                sku, location_id = key["gsi4sk"].split("#", 1)  # ids never contain "#"
                yield sku, location_id

    def live_reservations(self, sku: str, location_id: str) -> int:
        """The units the live reservation records of (sku, location) hold: a consistent read."""
        items = self.store.query_all(KeyQuery(stock_pk(sku), SortRange.prefix(reservation_sk(location_id, ""))),
                                     consistent=True)
        return sum(max(0, int(i.get("quantity", 0))) for i in items)

    def applied_adjustment(self, adjustment_id: str) -> AppliedAdjustment | None:
        return _applied(self.store.get(adjustment_pk(adjustment_id), "ADJUSTMENT"))

    # -------------------------------------------------------------- writes

    def reserve(self, order_id: str, assignments: Iterable[Assignment], at: datetime,
                exact: dict[tuple[str, str], int] | None = None) -> list[Patch]:
        """Reserve each assignment: OutOfStock when a level has fewer units available. Levels in
        `exact` must also still have the version read (the caller's events or decision depend on
        their exact counts): StockMoved otherwise."""
        writes = []
        exact = exact or {}
        for a in sorted(assignments, key=lambda a: (a.sku, a.location_id)):
            when: Cond = ge("available", a.quantity)
            version = exact.get((a.sku, a.location_id))
            if version is not None:
                when = when & eq("version", version)
            writes.append(Patch(
                stock_pk(a.sku), level_sk(a.location_id),
                Changes(set={"updated_at": at.isoformat()},
                        add={"available": -a.quantity, "reserved": a.quantity, "version": 1}),
                when=when, refused=_short_or_moved(a.sku, a.location_id, a.quantity),
            ))
            # The reservation record is what drift repair recounts; the order's version condition
            # in the same transaction is what stops a redelivered message reserving twice.
            writes.append(Patch(
                stock_pk(a.sku), reservation_sk(a.location_id, order_id),
                Changes(set={"order_id": order_id, "location_id": a.location_id, "sku": a.sku,
                             "reserved_at": at.isoformat()}, add={"quantity": a.quantity}),
            ))
        return writes

    def unchanged(self, pairs: Iterable[tuple[str, str]], levels: dict[tuple[str, str], StockLevel]) -> list[Check]:
        """Conditions that the given (SKU, location) levels are still as read (StockMoved if not): a
        decision that nothing can be reserved must not commit over a restock it did not see."""
        checks = []
        for sku, loc in sorted(set(pairs)):
            level = levels.get((sku, loc))
            moved = _moved(sku, loc)
            if level is None:
                checks.append(Check(stock_pk(sku), level_sk(loc), Missing("pk"), refused=moved))
            else:
                checks.append(Check(stock_pk(sku), level_sk(loc), eq("version", level.version), refused=moved))
        return checks

    def count_order(self, capacities: dict[str, int | None], day: date) -> list[Patch]:
        """Take one order from each location's daily capacity: CapacityExhausted once used up."""
        writes = []
        for loc, cap in sorted(capacities.items()):
            expires = int((datetime.combine(day, datetime.min.time()) + CAPACITY_RETENTION).timestamp())
            changes = Changes(set={"expires_at": expires}, add={"used": 1})
            when = None if cap is None else Missing("used") | lt("used", cap)
            writes.append(Patch(capacity_pk(loc), day.isoformat(), changes, when=when,
                                refused=_exhausted(loc)))
        return writes

    def release(self, order_id: str, allocations: Iterable[Allocation], at: datetime,
                versions: dict[tuple[str, str], int]) -> list[Patch | Delete]:
        """Give an order's reserved units back and drop its reservation records. Conditioned on the
        version read, so the caller's StockChanged event carries exactly the counts this write produces."""
        writes: list[Patch | Delete] = []
        for a in sorted(allocations, key=lambda a: (a.sku, a.location_id)):
            writes.append(self._unreserve(a.sku, a.location_id, a.quantity, at, versions[(a.sku, a.location_id)]))
            writes.append(Delete(stock_pk(a.sku), reservation_sk(a.location_id, order_id), when=eq("quantity", a.quantity),
                                 refused=_reservation_changed(a.sku, a.location_id, order_id)))
        return writes

    def release_lines(self, order_id: str, location_id: str, lines: dict[str, int], at: datetime,
                      versions: dict[tuple[str, str], int]) -> list[Patch]:
        """Give back part of an order's reservation at one location (a rejected fulfilment order):
        the reservation record shrinks rather than going, as other parts may share it."""
        writes = []
        for sku, quantity in sorted(lines.items()):
            writes.append(self._unreserve(sku, location_id, quantity, at, versions[(sku, location_id)]))
            writes.append(self._shrink_reservation(order_id, sku, location_id, quantity))
        return writes

    def release_part(self, order_id: str, units: Iterable[Allocation], at: datetime,
                     versions: dict[tuple[str, str], int]) -> list[Patch]:
        """Give back some of an order's reserved units, at any of its locations (a line cancellation):
        each level under `reserved >= q` and the version read (the caller's StockChanged carries exactly
        the counts this write produces), each reservation record shrunk under `quantity >= q`. A record
        released down to 0 stays, as shipping leaves it (the reconciliation sweeps spent records); the
        order's remaining allocation still matches it for a later whole-order cancel. One entry per
        (SKU, location), in that order."""
        writes = []
        for a in sorted(units, key=lambda a: (a.sku, a.location_id)):
            writes.append(self._unreserve(a.sku, a.location_id, a.quantity, at, versions[(a.sku, a.location_id)]))
            writes.append(self._shrink_reservation(order_id, a.sku, a.location_id, a.quantity))
        return writes

    def _unreserve(self, sku: str, location_id: str, quantity: int, at: datetime, version: int) -> Patch:
        return Patch(stock_pk(sku), level_sk(location_id),
                     Changes(set={"updated_at": at.isoformat()},
                             add={"available": quantity, "reserved": -quantity, "version": 1}),
                     when=ge("reserved", quantity) & eq("version", version), refused=_moved(sku, location_id))

    def _shrink_reservation(self, order_id: str, sku: str, location_id: str, quantity: int) -> Patch:
        return Patch(stock_pk(sku), reservation_sk(location_id, order_id), Changes(add={"quantity": -quantity}),
                     when=ge("quantity", quantity), refused=_reservation_changed(sku, location_id, order_id))

    def ship(self, order_id: str, location_id: str, lines: dict[str, int], at: datetime) -> list[Patch]:
        """Shipping consumes the reservation: on hand and reserved both go down, available stays.
        StockShort when a count left fewer units than this takes."""
        writes = []
        for sku, quantity in sorted(lines.items()):
            writes.append(Patch(
                stock_pk(sku), level_sk(location_id),
                Changes(set={"updated_at": at.isoformat()}, add={"on_hand": -quantity, "reserved": -quantity,
                                                                 "version": 1}),
                when=ge("reserved", quantity) & ge("on_hand", quantity),
                refused=_short(sku, location_id),
            ))
            writes.append(self._shrink_reservation(order_id, sku, location_id, quantity))
        return writes

    def write_level(self, level: StockLevel, expected_version: int | None) -> Put:
        """Write counts we computed from a read: StockMoved if anything moved the level since."""
        item = level_item(level)
        moved = _moved(level.sku, level.location_id)
        if expected_version is None:
            return Put(item, when=NEW, refused=moved)
        return Put(item, when=eq("version", expected_version), refused=moved)

    def claim_adjustment(self, adjustment: Adjustment, fingerprint: str, after: StockLevel, at: datetime) -> Put:
        """The adjustment id, claimed with the level it produces: AlreadyApplied (with what the first
        claim stored) when the id was used before."""
        item = {"pk": adjustment_pk(adjustment.adjustment_id), "sk": "ADJUSTMENT", "fingerprint": fingerprint,
                "level": after.model_dump_json(), "applied_at": at.isoformat()}
        return Put(item, when=NEW, refused=lambda old: AlreadyApplied(adjustment.adjustment_id, _applied(old)))

    def drop_spent_reservation(self, sku: str, location_id: str, order_id: str) -> Delete:
        """Remove a reservation record that holds nothing any more (shipped or released down to 0)."""
        return Delete(stock_pk(sku), reservation_sk(location_id, order_id), when=eq("quantity", 0),
                      refused=_reservation_changed(sku, location_id, order_id))


def _short_or_moved(sku: str, location_id: str, quantity: int):
    def refused(old: dict | None):
        if old is None or old.get("available", 0) < quantity:
            return OutOfStock(sku, location_id)
        return StockMoved(sku, location_id)
    return refused


def _exhausted(location_id: str) -> Refusal:
    return lambda _old: CapacityExhausted(location_id)


def _short(sku: str, location_id: str) -> Refusal:
    return lambda _old: StockShort(sku, location_id)


def _moved(sku: str, location_id: str):
    return lambda _old: StockMoved(sku, location_id)


def _reservation_changed(sku: str, location_id: str, order_id: str):
    return lambda _old: ReservationChanged(sku, location_id, order_id)


def _applied(item: dict | None) -> AppliedAdjustment | None:
    if not item:
        return None
    return AppliedAdjustment(item["fingerprint"], StockLevel.model_validate_json(item["level"], context=STORED))


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


def level_from_item(item: dict) -> StockLevel:
    return StockLevel.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")}, context=STORED)

