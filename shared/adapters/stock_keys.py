"""The keys of the stock items in a SKU's partition and beside it (docs/data-model.md): only the stock
repositories (stock_repo.py, stock_buckets_repo.py) and reconciliation's walk use them."""

from __future__ import annotations

import zlib


def stock_pk(sku: str) -> str:
    return f"STOCK#{sku}"


# The kinds of item in a SKU's partition: a level, a reservation record, a hot level's bucket.
LEVEL_PREFIX, RESERVATION_PREFIX, BUCKET_PREFIX = "LOC#", "RES#", "BKT#"


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


def bucket_sk(location_id: str, bucket: int) -> str:
    return f"{BUCKET_PREFIX}{location_id}#{bucket:02d}"


def level_of(pk: str, sk: str) -> tuple[str, str] | None:
    """The (SKU, location) of a level or bucket item's key; None for any other item."""
    sku, is_stock = pk.removeprefix(stock_pk("")), pk.startswith(stock_pk(""))
    if is_stock and sk.startswith((LEVEL_PREFIX, BUCKET_PREFIX)):
        return sku, sk.removeprefix(LEVEL_PREFIX) if sk.startswith(LEVEL_PREFIX) else sk[len(BUCKET_PREFIX):].rsplit("#", 1)[0]
    return None
