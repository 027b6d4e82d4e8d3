"""Hot SKUs promoted automatically (docs/architecture.md, "Hot SKUs: bucketed stock").

An operator may split a level into buckets before a sale (`PUT /inventory/{sku}/{location_id}` with
`buckets`); a sale nobody announced finds out by itself: when one order's allocation meets the same
level taken by other orders HOT_CONFLICTS times, the level grows to AUTO_BUCKETS buckets (the pure
decision: shared/domain/stock_buckets.promotion). The counts do not change: most of what is available
moves into the new buckets in one transaction (StockRepository.split), conditioned on the units being
there rather than on the version read, which the traffic that made the level hot keeps moving.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from shared.domain.events import StockChanged
from shared.domain.stock_buckets import promotion
from shared.observability import count, logger
from shared.repositories import Repositories
from shared.unit_of_work import CommitFailed

PROMOTED = "hot_sku_promoted"  # StockChanged.cause of a promotion


def promote_hot_levels(conflicts: Counter[tuple[str, str]], repos: Repositories, now: datetime
                       ) -> list[tuple[str, str]]:
    """Grow the levels in `conflicts` (conflicts met per (SKU, location) by one allocation) that
    `promotion` calls hot, and forget their count (each is tried once per threshold reached).
    Answers the levels promoted. A promotion refused because the level moved meanwhile (a
    reservation, or another order promoting it first) is left to the next order that meets it."""
    promoted = []
    for (sku, location_id), met in [(level, n) for level, n in conflicts.items() if promotion(n, None) is not None]:
        del conflicts[(sku, location_id)]
        level = repos.stock.level(sku, location_id)
        grow_to = None if level is None else promotion(met, level.buckets)
        if level is None or grow_to is None:
            continue  # gone, or already split (by an operator or an order that met it first)
        changed = StockChanged(occurred_at=now, sku=sku, location_id=location_id, cause=PROMOTED,
                               on_hand=level.on_hand, reserved=level.reserved, safety_stock=level.safety_stock,
                               available=level.available, available_before=level.available,
                               available_increased=False)
        try:
            repos.commit(repos.stock.split(level, grow_to), repos.events.publish(changed))
        except CommitFailed:
            continue
        logger.info("hot stock level split into buckets", extra={"sku": sku, "location_id": location_id,
                                                                  "buckets": grow_to, "conflicts": met})
        count("HotLevelPromoted")
        promoted.append((sku, location_id))
    return promoted
