"""Stock levels, reservations and daily location capacity. Only this module knows their item shapes
(their keys are spelled in stock_keys.py).

Access patterns (docs/data-model.md):
- stock of a SKU at every location: pk=STOCK#<sku>, sk begins_with LOC#
- stock of (SKU, location): pk=STOCK#<sku>, sk=LOC#<location>
- live reservations of a SKU at a location: pk=STOCK#<sku>, sk begins_with RES#<location>#
- orders taken by a location on a UTC day: pk=CAPACITY#<location>, sk=<yyyy-mm-dd>
- a stock adjustment applied once per id: pk=ADJUSTMENT#<adjustment id>, sk=ADJUSTMENT
- every (SKU, location) with a level: gsi4, STOCK_SHARDS partitions (keys only)
- a hot SKU's buckets at a location: pk=STOCK#<sku>, sk=BKT#<location>#<nn> (stock_buckets_repo.py)

Kept by conditions, not reads: a reservation moves `available` and `reserved` under `available >= :q`.

Hot SKUs (docs/architecture.md, "Hot SKUs: bucketed stock"): a level with `buckets = N` keeps its
available units in N bucket items and what is left on the level item (the pool); a reservation takes
from the buckets a pure decision picked (shared/domain/stock_buckets.py), each under its own
`available >= :q`, and never writes the level item unless it draws from the pool. Reads add the
buckets in. Bucket `reserved` counters are gross (a shipment takes units off the level item's
`reserved`, not the bucket's): only the sums are exact, and only sums are ever read.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from shared.adapters.expressions import (
    NEW,
    Changes,
    Check,
    Cond,
    Delete,
    Exists,
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
from shared.adapters.stock_buckets_repo import after_reserving, combine, draw_attr, recount_writes, split_writes
from shared.adapters.stock_keys import (  # the keys live there; callers import them from here too
    BUCKET_PREFIX,
    LEVEL_PREFIX,
    STOCK_SHARDS,
    adjustment_pk,
    bucket_sk,
    capacity_pk,
    level_of,
    level_sk,
    reservation_sk,
    shard_pk,
    stock_pk,
    stock_shard,
)
from shared.domain.bounds import STORED
from shared.domain.stock import Adjustment, StockLevel
from shared.domain.stock_buckets import POOL, draw, give_back
from shared.unit_of_work import (
    AlreadyApplied,
    CapacityExhausted,
    CommitFailed,
    Contention,
    OutOfStock,
    Refused,
    ReservationChanged,
    StockMoved,
    StockShort,
    Store,
)

if TYPE_CHECKING:  # annotations only: the routing domain is not loaded by what reads or counts stock
    from shared.domain.orders import Allocation
    from shared.domain.routing import Assignment

CAPACITY_RETENTION = timedelta(days=3)


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
        return self.with_buckets([level_from_item(item)])[0] if item else None

    def levels_for_sku(self, sku: str) -> list[StockLevel]:
        items = self.store.query_all(KeyQuery(stock_pk(sku), SortRange.prefix("LOC#")), consistent=True)
        return self.with_buckets([level_from_item(i) for i in items])

    def with_buckets(self, levels: list[StockLevel]) -> list[StockLevel]:
        """Levels with their buckets added in: one more batch read, only when some level is bucketed.
        The buckets are read after their level, so a release or restock (each moves the level's
        version) between the two reads is either seen in the buckets or refused at the write."""
        hot = [lv for lv in levels if lv.buckets]
        if not hot:
            return levels
        keys = [(stock_pk(lv.sku), bucket_sk(lv.location_id, n)) for lv in hot for n in range(lv.buckets or 0)]
        found = {(i["pk"], i["sk"]): i for i in self.store.batch_get(keys)}
        return [combine(lv, [found.get((stock_pk(lv.sku), bucket_sk(lv.location_id, n)))
                             for n in range(lv.buckets)]) if lv.buckets else lv for lv in levels]

    def snapshot(self, skus: Iterable[str], location_ids: Iterable[str], day: date
                 ) -> tuple[dict[tuple[str, str], StockLevel], dict[str, int]]:
        """Stock of every (SKU, location) pair and each location's orders today, in one batch read."""
        skus, location_ids = sorted(set(skus)), sorted(set(location_ids))
        keys = [(stock_pk(s), level_sk(loc)) for s in skus for loc in location_ids]
        keys += [(capacity_pk(loc), day.isoformat()) for loc in location_ids]
        read: list[StockLevel] = []
        used: dict[str, int] = {}
        for item in self.store.batch_get(keys):
            if item["pk"].startswith("CAPACITY#"):
                used[item["pk"].removeprefix("CAPACITY#")] = int(item.get("used", 0))
            else:
                read.append(level_from_item(item))
        return {(lv.sku, lv.location_id): lv for lv in self.with_buckets(read)}, used

    def levels(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StockLevel]:
        """The levels of these (SKU, location) pairs that exist, in one batch read (100 keys a call)."""
        found = self.store.batch_get([(stock_pk(sku), level_sk(loc)) for sku, loc in sorted(set(pairs))])
        return {(lv.sku, lv.location_id): lv for lv in self.with_buckets(list(map(level_from_item, found)))}

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
                exact: dict[tuple[str, str], int] | None = None,
                levels: dict[tuple[str, str], StockLevel] | None = None) -> list[Patch]:
        """Reserve each assignment: OutOfStock when a level has fewer units available. Levels in
        `exact` must also still have the version read (the caller's events or decision depend on
        their exact counts): StockMoved otherwise. A bucketed level (as read in `levels`) is drawn
        from its buckets instead, and its version is not asked for: reservations do not move it."""
        writes = []
        exact = exact or {}
        levels = levels or {}
        for a in sorted(assignments, key=lambda a: (a.sku, a.location_id)):
            level = levels.get((a.sku, a.location_id))
            if level is not None and level.buckets:
                writes += self._draw(order_id, a, level, at)
                continue
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

    @staticmethod
    def as_reserved(levels: dict[tuple[str, str], StockLevel], reservation: list[Patch]
                    ) -> dict[tuple[str, str], StockLevel]:
        """The levels `reserve`'s writes moved, as they are once those writes committed."""
        return after_reserving(levels, reservation)

    def _draw(self, order_id: str, a: Assignment, level: StockLevel, at: datetime) -> list[Patch]:
        """A hot SKU's reservation: the buckets (and pool) `draw` picked from a random start, each
        under `available >= taken` (StockMoved when another order took them first: re-read, re-plan),
        and the reservation record counting what came from where, so units go back where they were."""
        n = level.buckets or 0
        # A pool-only draw is the fallback when the buckets are too scattered for one transaction:
        # its condition refuses what the pool cannot cover.
        taken = draw(level.bucket_available, a.quantity, random.randrange(n), level.pool) or {POOL: a.quantity}
        writes = []
        for source, units in sorted(taken.items()):
            if source == POOL:
                writes.append(Patch(stock_pk(a.sku), level_sk(a.location_id),
                                    Changes(set={"updated_at": at.isoformat()},
                                            add={"available": -units, "reserved": units, "version": 1}),
                                    when=ge("available", units),
                                    refused=_short_or_moved(a.sku, a.location_id, units)))
            else:
                # Every change moves a bucket's version: the stock feed's stamp and a backorder's check.
                writes.append(Patch(stock_pk(a.sku), bucket_sk(a.location_id, source),
                                    Changes(add={"available": -units, "reserved": units, "version": 1}),
                                    when=ge("available", units), refused=_moved(a.sku, a.location_id)))
        writes.append(Patch(
            stock_pk(a.sku), reservation_sk(a.location_id, order_id),
            Changes(set={"order_id": order_id, "location_id": a.location_id, "sku": a.sku,
                         "reserved_at": at.isoformat(), "buckets": n},
                    add={"quantity": a.quantity, **{draw_attr(s): u for s, u in taken.items()}}),
        ))
        return writes

    def unchanged(self, pairs: Iterable[tuple[str, str]], levels: dict[tuple[str, str], StockLevel]) -> list[Check]:
        """Conditions that the given (SKU, location) levels are still as read (StockMoved if not): a
        decision that nothing can be reserved must not commit over a restock it did not see."""
        checks = []
        for sku, loc in sorted(set(pairs)):
            level = levels.get((sku, loc))
            moved = _moved(sku, loc)
            if level is not None and level.buckets and level.bucket_versions:
                # Every increase of a bucketed level moves every bucket's version, so one bucket, picked
                # at random, tells: the sold-out orders' checks do not all meet on the level item.
                n = random.randrange(len(level.bucket_versions))
                when = eq("version", level.bucket_versions[n])
                checks.append(Check(stock_pk(sku), bucket_sk(loc, n), when, refused=moved))
            elif level is None:
                checks.append(Check(stock_pk(sku), level_sk(loc), Missing("pk"), refused=moved))
            else:
                checks.append(Check(stock_pk(sku), level_sk(loc), eq("version", level.version), refused=moved))
        return checks

    def count_order(self, capacities: dict[str, int | None], day: date) -> list[Patch]:
        """Take one order from each location's daily capacity: CapacityExhausted once used up."""
        writes = []
        for loc, cap in sorted(capacities.items()):
            if cap is None:
                # Nothing limits the location: its counter would only cost a write per order, and at a
                # flash sale it would be one hot item every order writes (docs/architecture.md).
                continue
            expires = int((datetime.combine(day, datetime.min.time()) + CAPACITY_RETENTION).timestamp())
            changes = Changes(set={"expires_at": expires}, add={"used": 1})
            when = None if cap is None else Missing("used") | lt("used", cap)
            writes.append(Patch(capacity_pk(loc), day.isoformat(), changes, when=when,
                                refused=_exhausted(loc)))
        return writes

    def release(self, order_id: str, allocations: Iterable[Allocation], at: datetime,
                versions: dict[tuple[str, str], int],
                levels: dict[tuple[str, str], StockLevel] | None = None) -> list[Patch | Delete]:
        """Give an order's reserved units back and drop its reservation records. Conditioned on the
        version read, so the caller's StockChanged event carries exactly the counts this write produces
        (for a bucketed level in `levels`: the sums as read, which concurrent reservations move)."""
        writes: list[Patch | Delete] = []
        for a in sorted(allocations, key=lambda a: (a.sku, a.location_id)):
            if _bucketed(levels, a.sku, a.location_id):
                writes += self._give_back(order_id, a.sku, a.location_id, a.quantity, at,
                                          versions[(a.sku, a.location_id)], whole=True)
                continue
            writes.append(self._unreserve(a.sku, a.location_id, a.quantity, at, versions[(a.sku, a.location_id)]))
            writes.append(Delete(stock_pk(a.sku), reservation_sk(a.location_id, order_id), when=eq("quantity", a.quantity),
                                 refused=_reservation_changed(a.sku, a.location_id, order_id)))
        return writes

    def release_lines(self, order_id: str, location_id: str, lines: dict[str, int], at: datetime,
                      versions: dict[tuple[str, str], int],
                      levels: dict[tuple[str, str], StockLevel] | None = None) -> list[Patch | Delete]:
        """Give back part of an order's reservation at one location (a rejected fulfilment order):
        the reservation record shrinks rather than going, as other parts may share it."""
        writes: list[Patch | Delete] = []
        for sku, quantity in sorted(lines.items()):
            if _bucketed(levels, sku, location_id):
                writes += self._give_back(order_id, sku, location_id, quantity, at, versions[(sku, location_id)])
                continue
            writes.append(self._unreserve(sku, location_id, quantity, at, versions[(sku, location_id)]))
            writes.append(self._take(order_id, sku, location_id, quantity))
        return writes

    def release_part(self, order_id: str, units: Iterable[Allocation], at: datetime,
                     versions: dict[tuple[str, str], int],
                     levels: dict[tuple[str, str], StockLevel] | None = None,
                     spent: Collection[tuple[str, str]] = ()) -> list[Patch | Delete]:
        """Give back some of an order's reserved units, at any of its locations (a line cancellation):
        each level under `reserved >= q` and the version read (the caller's StockChanged carries exactly
        the counts this write produces), each reservation record taken down by q (`_take`): deleted when
        the caller knows this empties it (`spent`, (SKU, location) pairs), else shrunk; the order's
        remaining allocation still matches it for a later whole-order cancel. By (SKU, location)."""
        writes: list[Patch | Delete] = []
        for a in sorted(units, key=lambda a: (a.sku, a.location_id)):
            empties = (a.sku, a.location_id) in spent
            if _bucketed(levels, a.sku, a.location_id):
                writes += self._give_back(order_id, a.sku, a.location_id, a.quantity, at,
                                          versions[(a.sku, a.location_id)], whole=empties)
                continue
            writes.append(self._unreserve(a.sku, a.location_id, a.quantity, at, versions[(a.sku, a.location_id)]))
            writes.append(self._take(order_id, a.sku, a.location_id, a.quantity, empties))
        return writes

    def _unreserve(self, sku: str, location_id: str, quantity: int, at: datetime, version: int) -> Patch:
        # A bucketed level's own `reserved` may be below q (its reservations sit on the buckets'
        # counters): there the sum is what counts, and the reservation record's condition guards.
        return Patch(stock_pk(sku), level_sk(location_id),
                     Changes(set={"updated_at": at.isoformat()},
                             add={"available": quantity, "reserved": -quantity, "version": 1}),
                     when=(ge("reserved", quantity) | Exists("buckets")) & eq("version", version),
                     refused=_moved(sku, location_id))

    def _give_back(self, order_id: str, sku: str, location_id: str, quantity: int, at: datetime, version: int,
                   whole: bool = False) -> list:
        """Units of a hot SKU's reservation back to the sources it drew them from (read from its
        record: one GetItem, on the rare release path only). The level's version moves, as any
        increase of what is available must: a backorder decided on the old picture is refused."""
        record = self.store.get(stock_pk(sku), reservation_sk(location_id, order_id)) or {}
        drawn = {POOL if k == "draw_pool" else int(k.removeprefix("draw_")): int(v)
                 for k, v in record.items() if k.startswith("draw_")}
        held = sum(max(0, u) for u in drawn.values())
        if held < quantity:  # reserved before the level was bucketed: from the level item itself
            drawn[POOL] = drawn.get(POOL, 0) + quantity - held
        back = give_back(drawn, quantity)
        pool = back.pop(POOL, 0)
        writes: list = [Patch(stock_pk(sku), level_sk(location_id),
                              Changes(set={"updated_at": at.isoformat()},
                                      add={"available": pool, "reserved": -pool, "version": 1}),
                              when=eq("version", version), refused=_moved(sku, location_id))]
        # Every bucket's version moves with an increase: a backorder checks one of them (`unchanged`).
        for bucket in range(int(record.get("buckets", 0)) or max(back, default=-1) + 1):
            units = back.get(bucket, 0)
            writes.append(Patch(stock_pk(sku), bucket_sk(location_id, bucket),
                                Changes(add={"available": units, "reserved": -units, "version": 1}),
                                when=ge("reserved", units) if units else None, refused=_moved(sku, location_id)))
        changed = _reservation_changed(sku, location_id, order_id)
        if whole:
            writes.append(Delete(stock_pk(sku), reservation_sk(location_id, order_id), when=eq("quantity", quantity),
                                 refused=changed))
        else:
            given = {draw_attr(s): -u for s, u in ({POOL: pool} | back).items() if u and draw_attr(s) in record}
            writes.append(Patch(stock_pk(sku), reservation_sk(location_id, order_id),
                                Changes(add={"quantity": -quantity, **given}), when=ge("quantity", quantity),
                                refused=changed))
        return writes

    def _take(self, order_id: str, sku: str, location_id: str, quantity: int, empties: bool = False) -> Patch | Delete:
        """`quantity` off a reservation record: deleted when the caller's data say this empties it, only
        while it holds exactly that (a repeated or stale take is refused, never taken twice), so no sweep
        has to; otherwise shrunk under `quantity >= q`. ReservationChanged when refused, either way."""
        changed = _reservation_changed(sku, location_id, order_id)
        if empties:
            return Delete(stock_pk(sku), reservation_sk(location_id, order_id), when=eq("quantity", quantity),
                          refused=changed)
        return Patch(stock_pk(sku), reservation_sk(location_id, order_id), Changes(add={"quantity": -quantity}),
                     when=ge("quantity", quantity), refused=changed)

    def ship(self, order_id: str, location_id: str, lines: dict[str, int], at: datetime,
             spent: Collection[tuple[str, str]] = ()) -> list[Patch | Delete]:
        """Shipping consumes the reservation: on hand and reserved both go down, available stays; each
        reservation record taken down (`_take`; `spent`: the (SKU, location) records this empties).
        StockShort when a count left fewer units than this takes."""
        writes: list[Patch | Delete] = []
        for sku, quantity in sorted(lines.items()):
            writes.append(Patch(
                stock_pk(sku), level_sk(location_id),
                Changes(set={"updated_at": at.isoformat()}, add={"on_hand": -quantity, "reserved": -quantity,
                                                                 "version": 1}),
                # A hot SKU's units were reserved on its buckets: taking them off the level item's
                # own `reserved` keeps the sum exact with no bucket in the shipment's transaction.
                when=(ge("reserved", quantity) | Exists("buckets")) & ge("on_hand", quantity),
                refused=_short(sku, location_id),
            ))
            writes.append(self._take(order_id, sku, location_id, quantity, (sku, location_id) in spent))
        return writes

    def write_counts(self, level: StockLevel, expected_version: int | None) -> list[Put | Patch]:
        """A level's new counts (write_level), and for a bucketed level the change in what is available
        moved into its buckets: new units spread over them (new buckets created), units taken away
        drawn from them under `available >= q` (StockMoved when a reservation took them first)."""
        if not level.buckets:
            return [self.write_level(level, expected_version)]
        after, buckets = recount_writes(stock_pk(level.sku), level, _moved(level.sku, level.location_id))
        return [self.write_level(after, expected_version), *buckets]

    def split(self, level: StockLevel, buckets: int) -> list[Put | Patch]:
        """A hot level grown to `buckets` buckets under reservations' traffic (stock_buckets_repo.split_writes)."""
        return split_writes(stock_pk(level.sku), level_sk(level.location_id), level, buckets,
                            _moved(level.sku, level.location_id))

    def write_level(self, level: StockLevel, expected_version: int | None) -> Put:
        """Write counts we computed from a read: StockMoved if anything moved the level since."""
        item = level_item(level)
        moved = _moved(level.sku, level.location_id)
        if expected_version is None:
            return Put(item, when=NEW, refused=moved)
        return Put(item, when=eq("version", expected_version), refused=moved)

    def claim_adjustment(self, adjustment: Adjustment, fingerprint: str, after: StockLevel, at: datetime,
                         by: str | None = None) -> Put:
        """The adjustment id, claimed with the level it produces (and who applied it): AlreadyApplied
        (with what the first claim stored) when the id was used before."""
        item = {"pk": adjustment_pk(adjustment.adjustment_id), "sk": "ADJUSTMENT", "fingerprint": fingerprint,
                "level": after.model_dump_json(), "applied_at": at.isoformat()}
        if by is not None:
            item["applied_by"] = by
        return Put(item, when=NEW, refused=lambda old: AlreadyApplied(adjustment.adjustment_id, _applied(old)))

    def contended_levels(self, failed: CommitFailed) -> list[tuple[str, str]]:
        """The (SKU, location) levels a failed commit met taken by another order, once per write that
        met it: a level moved since it was read (StockMoved), or its level or bucket item in another
        transaction at the same moment (DynamoDB's TransactionConflict). What counts a level as hot."""
        if isinstance(failed, Refused):
            return [(o.sku, o.location_id) for o in failed.outcomes if isinstance(o, StockMoved)]
        if isinstance(failed, Contention):
            return [level for w in failed.contended if (level := level_of(*w.key)) is not None]
        return []

    def drop_spent_reservation(self, sku: str, location_id: str, order_id: str) -> None:
        """Remove a reservation record left holding 0 (by a rejection's release_lines, or by older code
        that shrank shipped records), only while it still holds 0 (Refused otherwise): one conditional
        delete, not a transaction of one, at half the write units (the reconciliation's sweep)."""
        self.store.write(Delete(stock_pk(sku), reservation_sk(location_id, order_id), when=eq("quantity", 0),
                                refused=_reservation_changed(sku, location_id, order_id)))


def _bucketed(levels: dict[tuple[str, str], StockLevel] | None, sku: str, location_id: str) -> bool:
    level = (levels or {}).get((sku, location_id))
    return level is not None and bool(level.buckets)


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
    """The stored shape of a stock level: the only place that knows it. A bucketed level's item
    keeps only its own share (the pool, and what was reserved on the item itself)."""
    stored = level.model_dump(mode="json", exclude_none=True)
    if level.buckets:
        stored |= {"available": level.pool, "reserved": level.reserved - sum(level.bucket_reserved)}
    return {
        "pk": stock_pk(level.sku),
        "sk": level_sk(level.location_id),
        # gsi4, sparse: levels only, for reconciliation's walk over all stock.
        "gsi4pk": stock_shard(level.sku),
        "gsi4sk": f"{level.sku}#{level.location_id}",
        **stored,
    }


def levels_of_partition(items: Iterable[dict]) -> list[StockLevel]:
    """The levels among a SKU partition's items, each with its buckets added in."""
    levels, buckets = [], {}
    for item in items:
        if item["sk"].startswith(LEVEL_PREFIX):
            levels.append(level_from_item(item))
        elif item["sk"].startswith(BUCKET_PREFIX):
            buckets[item["sk"]] = item
    return [combine(lv, [buckets.get(bucket_sk(lv.location_id, n)) for n in range(lv.buckets)]) if lv.buckets
            else lv for lv in levels]


def level_from_item(item: dict) -> StockLevel:
    return StockLevel.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")}, context=STORED)

