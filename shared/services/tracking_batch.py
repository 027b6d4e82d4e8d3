"""A batch's tracking updates of different parcels and different orders, committed together.

apply-tracking reads a batch's shipments and orders ahead (`read_ahead`); committing each update in
its own transaction then cost one TransactWriteItems per update. Here the updates whose parcel and
order no other update of the batch touches are decided as `apply_update` would (`planned`, on the
shipment and order as read ahead) and their writes committed in as few transactions as DynamoDB takes
(at most 100 writes, no item twice; the unit of work merges their events into one outbox item).

A combined transaction is all or nothing: if it is refused or meets another transaction, none of it
was written, and its updates are left to `apply_update` one at a time (on a fresh read), so one
refused update never loses or blocks the others and each keeps its guards (applied once, only
forward, events once). Updates of a parcel or order that appears twice in the batch, of a tracking
number several parcels share, of returns, and unknown numbers are left to `apply_update` too, in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from shared.observability import failure_reason, logger
from shared.services.tracking import Known, QueuedUpdate, Result, planned

if TYPE_CHECKING:
    from shared.repositories import Repositories
    from shared.unit_of_work import UnitOfWork


def apply_together(updates: Mapping[str, QueuedUpdate], repos: Repositories, now: datetime,
                   known: Known | None) -> dict[str, list[Result]]:
    """The results of the updates settled here (committed together, or duplicates that write
    nothing), by message id; every other update is for `apply_update`. Uses up what it takes from
    `known`, so an update left over reads its parcel and order again."""
    from shared.unit_of_work import MAX_WRITES

    if known is None:
        return {}
    settled: dict[str, list[Result]] = {}
    groups: list[tuple[UnitOfWork, set[tuple[str, str]], dict[str, Result]]] = []
    for key, queued in _alone(updates, known).items():
        shipment_id = known.codes[queued.tracking_code][0]
        shipment = known.shipments.pop(shipment_id, None)
        if shipment is None:  # used by an earlier update (`_alone` lets none through: a safeguard)
            continue
        order = known.orders.pop(shipment.order_id, None)
        try:
            outcome, work = planned(shipment, queued.update(), queued.received_at, repos, now, order)
        except Exception as error:  # noqa: BLE001 - apply_update decides it again, and fails its record if it must
            logger.info("tracking update left to its own transaction", extra={"reason": failure_reason(error, 200)})
            continue
        if work is None:  # a duplicate: nothing to write, as apply_update would find
            settled[key] = [Result(shipment_id, outcome)]
            continue
        keys = {w.key for w in work.writes if not _is_outbox(w)}
        group = next((g for g in groups if not keys & g[1] and len(g[0]) + len(work) <= MAX_WRITES), None)
        if group is None:
            group = (repos.unit_of_work(), set(), {})
            groups.append(group)
        group[0].add(work.writes)
        group[1].update(keys)
        group[2][key] = Result(shipment_id, outcome)
    for work, _, results in groups:
        try:
            work.commit()
        except Exception as error:  # noqa: BLE001 - nothing of it was written: each update on its own
            logger.info("combined tracking transaction not committed; its updates one at a time",
                        extra={"updates": len(results), "reason": failure_reason(error, 300)})
            continue
        settled.update({key: [result] for key, result in results.items()})
    return settled


def _alone(updates: Mapping[str, QueuedUpdate], known: Known) -> dict[str, QueuedUpdate]:
    """The updates of one parcel read ahead whose order no other update of the batch touches (nor,
    so, its parcel)."""
    orders = Counter(known.shipments[s].order_id for q in updates.values()
                     for s in known.codes.get(q.tracking_code, ()) if s in known.shipments)
    alone = {}
    for key, queued in updates.items():
        ids = known.codes.get(queued.tracking_code, [])
        if len(ids) == 1 and ids[0] in known.shipments \
                and orders[known.shipments[ids[0]].order_id] == 1:
            alone[key] = queued
    return alone


def _is_outbox(write) -> bool:
    from shared.adapters.outbox import OutboxPut

    return isinstance(write, OutboxPut)

