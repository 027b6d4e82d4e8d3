"""Hot SKUs: a stock level's available units split over N bucket items (pure decisions).

One DynamoDB item takes about 1,000 write units a second, so one stock level item tops out near
500 reserving transactions a second. A level with `buckets = N` keeps its available units in N
bucket items (plus what is left on the level item itself, the "pool"), each guarded by its own
`available >= q`; a reservation starts at a random bucket, so concurrent orders mostly touch
different items. The functions here decide which buckets a reservation draws from, where units
given back go, and how new units are spread; stock_repo turns the decisions into conditioned writes.

Invariants (tests/unit/test_stock_buckets.py): a draw never takes more than a source holds, takes
exactly the quantity asked, and takes from several sources in one go when no single one suffices, so
no order waits while the buckets together hold enough (no stranded stock at sell-out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MAX_BUCKETS = 64
POOL = -1  # the level item's own share: drawn from last, after every bucket
# Sources one line may draw from in one transaction (each is one of its at most 100 actions).
MAX_DRAW_SOURCES = 24

Draw = dict[int, int]  # source (a bucket index, or POOL) -> units taken from it

# Automatic promotion (`promotion`): a level one order's allocation found taken by another
# transaction this many times is hot, and grows to AUTO_BUCKETS buckets. Three, not one: a busy
# shop's ordinary SKU meets an occasional race, which a retry settles; three on one order means
# the item is a queue. Sixteen: the simulation's knee (docs/performance.md, "Hot SKUs": 16 buckets
# take ~3,700 orders/s of 5,000 with a p50 of 40 ms, 64 take 3,750).
HOT_CONFLICTS = 3
AUTO_BUCKETS = 16


def draw(available: Sequence[int], quantity: int, start: int, pool: int = 0) -> Draw | None:
    """Which sources a reservation of `quantity` takes from, or None when they hold too little.

    The bucket at `start` (random per attempt, so racing orders spread over the items) serves the
    whole line when it can: one item, the least contention. Otherwise buckets are taken in turn from
    `start`, then the pool; when that would need more than MAX_DRAW_SOURCES items the largest
    sources go first, so a big line is filled from the fewest items."""
    if quantity <= 0:
        return {}
    n = len(available)
    sources = [(i, max(0, available[i])) for i in ((start + k) % n for k in range(n))] if n else []
    sources.append((POOL, max(0, pool)))
    if sum(units for _, units in sources) < quantity:
        return None
    first, units = sources[0]
    if units >= quantity:
        return {first: quantity}
    taken = _take(sources, quantity)
    if len(taken) > MAX_DRAW_SOURCES:
        taken = _take(sorted(sources, key=lambda s: -s[1]), quantity)
        if len(taken) > MAX_DRAW_SOURCES:
            return None  # too scattered for one transaction: rebalance (spread) first
    return taken


def _take(sources: Sequence[tuple[int, int]], quantity: int) -> Draw:
    taken: Draw = {}
    left = quantity
    for source, units in sources:
        if left == 0:
            break
        if units > 0:
            taken[source] = min(units, left)
            left -= taken[source]
    return taken


def give_back(drawn: Mapping[int, int], quantity: int) -> Draw:
    """Where `quantity` units of a reservation that drew `drawn` go back to (a release, or what a
    shipment consumes): each to a source it came from, never more than that source gave, the
    pool's first, then the buckets from the highest index."""
    order = sorted(drawn, key=lambda s: (s != POOL, -s))
    back: Draw = {}
    left = quantity
    for source in order:
        if left == 0:
            break
        units = min(max(0, drawn[source]), left)
        if units:
            back[source] = units
            left -= units
    if left:
        raise ValueError(f"the reservation drew {sum(drawn.values())} units, not {quantity}")
    return back


def spread(units: int, buckets: int) -> list[int]:
    """New units over `buckets` buckets, as evenly as possible (the first ones get the remainder)."""
    if buckets <= 0:
        raise ValueError("spread over no buckets")
    share, extra = divmod(units, buckets)
    return [share + (1 if i < extra else 0) for i in range(buckets)]


def promotion(conflicts: int, buckets: int | None) -> int | None:
    """The number of buckets a level should grow to after one order's allocation met it taken by
    another transaction `conflicts` times, or None to leave it as it is. Only ever grows (units
    reserved on a bucket go back to it), and never below what an operator set."""
    if conflicts < HOT_CONFLICTS or (buckets or 0) >= AUTO_BUCKETS:
        return None
    return AUTO_BUCKETS
