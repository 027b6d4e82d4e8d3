"""Step 2: every stock level's `reserved` is compared with the sum of its reservation records (a
walk over the stock partitions finds candidates; a consistent recount decides). A repair writes
the level from the recount under the level's version (any reservation in between bumps it, so the
write is refused and the recount is repeated: a concurrent reservation is never lost), with an
audit record and StockDriftRepaired in the same transaction. Spent (0-unit) reservation records
are swept on the way."""

from __future__ import annotations

from datetime import datetime

from shared.adapters.reconciliation_repo import ReconciliationRepository
from shared.domain import reconciliation as rules
from shared.domain.events import StockDriftRepaired
from shared.domain.reconciliation import ReservationRecord, StockPartition
from shared.observability import logger
from shared.repositories import Repositories
from shared.services.reconciliation.context import Cursor, Run, Step, StepResult, walk
from shared.unit_of_work import CommitFailed, Contention, Refused

DRIFT_ATTEMPTS = 8


def drift(run: Run, cursor: Cursor) -> StepResult:
    def handle(partition: StockPartition) -> None:
        for record in partition.reservations:
            if record.spent:
                _sweep_spent_reservation(record, run)
        reserved = partition.reserved_by_location()
        for level in partition.levels:
            run.report.stock_items_checked += 1
            # The walk is a candidate filter only: its pages are not one snapshot. The recount decides.
            if rules.drift(level, reserved.get(level.location_id, 0), run.now) is not None:
                if repair_level(partition.sku, level.location_id, run.repos, run.store, run.now, run.report.run_id):
                    run.report.drift_repaired += 1

    return walk(run, Step.DRIFT, cursor, run.store.stock_partitions(cursor), handle, lambda key: key)


def _sweep_spent_reservation(record: ReservationRecord, run: Run) -> None:
    """A reservation record left at 0 units is deleted, so the partition stays the size of the live
    reservations, not of the SKU's history. A shipment, collection or line cancellation that empties
    a record deletes it itself (its order and parts say it does: fulfillment.spent_reservations);
    what is left is a rejected part's release_lines and records older code shrank to 0. Only while
    still 0: a reservation adding to it meanwhile keeps it."""
    try:
        run.repos.stock.drop_spent_reservation(record.sku, record.location_id, record.order_id)
        run.report.reservations_swept += 1
    except Refused:
        pass  # reserved again in between: a live record now


def repair_level(sku: str, location_id: str, repos: Repositories, store: ReconciliationRepository, now: datetime,
                 run_id: str) -> bool:
    """Recount one level from its reservation records and fix it if they disagree. True if fixed.

    Read the level (its version), then the records, then write conditioned on that version: a
    reservation or release commits the level and its record in one transaction and bumps the
    version, so one in between makes our write fail and we count again; one before is in both
    reads. `available` = on_hand - reserved - safety_stock from the same read."""
    for _ in range(DRIFT_ATTEMPTS):
        level = repos.stock.level(sku, location_id)
        if level is None:
            return False
        reserved = repos.stock.live_reservations(sku, location_id)
        if level.buckets and repos.stock.level(sku, location_id) != level:
            # A hot SKU's reservations move its buckets, not the level's version: only a level read
            # the same before and after the recount makes the two one picture.
            continue
        repair = rules.drift(level, reserved, now)
        if repair is None:
            return False
        event = StockDriftRepaired(
            occurred_at=now, sku=sku, location_id=location_id, run_id=run_id, on_hand=level.on_hand,
            safety_stock=level.safety_stock, reserved_before=level.reserved, reserved_after=repair.after.reserved,
            available_before=level.available, available_after=repair.after.available)
        try:
            repos.commit(repos.stock.write_counts(repair.after, expected_version=level.version),
                         store.audit(run_id, level, repair.after, now), repos.events.publish(event))
        except CommitFailed:
            continue  # the level moved under us: count again
        logger.warning("stock drift repaired", extra={"sku": sku, "location_id": location_id,
                                                      "reserved_before": level.reserved, "reserved_after": reserved})
        return True
    raise Contention(f"stock level {sku} at {location_id} kept moving while it was recounted")
