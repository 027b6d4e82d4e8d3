"""A hot SKU's bucket items (docs/architecture.md, "Hot SKUs: bucketed stock"): their keys, how a level
is read with them, and the writes that move a recount's change in what is available into them.
shared/adapters/stock_repo.py owns the level and reservation items and uses these; the decisions
(draw, give back, spread) are pure, in shared/domain/stock_buckets.py.

Item: pk=STOCK#<sku>, sk=BKT#<location>#<nn> (nn < the level's `buckets`), with `available`,
`reserved` (gross: only the sums over level and buckets are exact) and `version`."""

from __future__ import annotations

from shared.adapters.expressions import NEW, Changes, Missing, Patch, Put, Refusal, ge, lt
from shared.adapters.stock_keys import BUCKET_PREFIX, bucket_sk, level_of
from shared.domain.stock import StockLevel
from shared.domain.stock_buckets import POOL, spread

SPLIT_MARGIN = 16  # units a split leaves on the level item (split_writes)


def draw_attr(source: int) -> str:
    """The reservation record's attribute counting what it drew from one source (bucket or pool)."""
    return "draw_pool" if source == POOL else f"draw_{source}"


def combine(level: StockLevel, buckets: list[dict | None]) -> StockLevel:
    """A bucketed level as read: its item's own counts plus its buckets' (a missing bucket holds 0)."""
    available = [int(b.get("available", 0)) if b else 0 for b in buckets]
    reserved = [int(b.get("reserved", 0)) if b else 0 for b in buckets]
    versions = [int(b.get("version", 0)) if b else 0 for b in buckets]
    return level.model_copy(update={"available": level.available + sum(available),
                                    "reserved": level.reserved + sum(reserved),
                                    "bucket_available": available, "bucket_reserved": reserved,
                                    "bucket_versions": versions})


def recount_writes(pk: str, level: StockLevel, refused: Refusal) -> tuple[StockLevel, list[Put | Patch]]:
    """A bucketed level's new counts: the change in what is available moved into its buckets, new
    units spread over them (new buckets created), units taken away drawn from them under
    `available >= q` (`refused` when a reservation took them first). Answers the level as its item
    is then written (bucket counts moved) and the bucket writes."""
    count = level.buckets or 0  # called for a bucketed level only
    seen = list(level.bucket_available)
    new_buckets = range(len(seen), count)
    seen += [0] * len(new_buckets)
    pool = level.pool
    moves = [0] * count
    if pool > 0:
        moves = spread(pool, count)
    else:
        left = -pool
        for n, units in enumerate(seen):  # a count below what is reserved leaves the pool negative
            moves[n] = -min(max(0, units), left)
            left += moves[n]
    after = level.model_copy(update={"bucket_available": [s + m for s, m in zip(seen, moves, strict=True)],
                                     "bucket_reserved": level.bucket_reserved + [0] * len(new_buckets)})
    writes: list[Put | Patch] = []
    for n, units in enumerate(moves):
        sk = bucket_sk(level.location_id, n)
        if n in new_buckets:
            writes.append(Put({"pk": pk, "sk": sk, "available": units, "reserved": 0, "version": 0},
                              when=NEW, refused=refused))
        else:  # every bucket's version moves (`unchanged` checks one of them)
            writes.append(Patch(pk, sk, Changes(add={"available": units, "version": 1}),
                                when=ge("available", -units) if units < 0 else None, refused=refused))
    return after, writes


def split_writes(pk: str, level_sk: str, level: StockLevel, count: int, refused: Refusal) -> list[Put | Patch]:
    """A level grown to `count` buckets while orders keep reserving from it (the automatic promotion):
    its pool as read, but for SPLIT_MARGIN units, moves into the new buckets under `available >= moved`
    only, not under the version read, which every reservation moves: a version condition would lose to
    the very traffic that made the level hot. The margin covers reservations between the read and this
    write (one item takes at most ~500 a second: a handful in the read's few milliseconds) and is drawn
    from after the buckets; kept small, so the sell-out is not one item again. `refused` when the pool
    fell below what moves, or the level already has `count` buckets or more."""
    existing = level.buckets or 0
    moved = max(0, level.pool - min(level.pool // 4, SPLIT_MARGIN))
    shares = spread(moved, count - existing)
    writes: list[Put | Patch] = [Patch(pk, level_sk, Changes(set={"buckets": count}, add={"available": -moved, "version": 1}),
                                       when=ge("available", moved) & (Missing("buckets") | lt("buckets", count)),
                                       refused=refused)]
    writes += [Put({"pk": pk, "sk": bucket_sk(level.location_id, existing + n), "available": units, "reserved": 0,
                    "version": 0}, when=NEW, refused=refused) for n, units in enumerate(shares)]
    return writes


def after_reserving(levels: dict[tuple[str, str], StockLevel], writes: list) -> dict[tuple[str, str], StockLevel]:
    """The levels in `levels` these committed reservation writes (StockRepository.reserve) moved, as
    the writes left them: counts and versions of the level item and of each bucket drawn from. What a
    batch's later orders plan on instead of reading again (shared/services/allocation_ahead.py)."""
    after: dict[tuple[str, str], StockLevel] = {}
    for w in writes:
        pair = level_of(w.pk, w.sk) if isinstance(w, Patch) else None
        level = None if pair is None else after.get(pair, levels.get(pair))
        if pair is None or level is None:
            continue  # a reservation record, or a level not read: nothing to carry over
        add = w.changes.add
        units, held, moved = add.get("available", 0), add.get("reserved", 0), add.get("version", 0)
        update: dict = {"available": level.available + units, "reserved": level.reserved + held}
        if w.sk.startswith(BUCKET_PREFIX):
            n = int(w.sk.rsplit("#", 1)[1])
            update |= {"bucket_available": _plus(level.bucket_available, n, units),
                       "bucket_reserved": _plus(level.bucket_reserved, n, held),
                       "bucket_versions": _plus(level.bucket_versions, n, moved)}
        else:
            update["version"] = level.version + moved
        after[pair] = level.model_copy(update=update)
    return after


def _plus(values: list[int], n: int, by: int) -> list[int]:
    return [v + by if i == n else v for i, v in enumerate(values)]
