"""Carrier updates about a return's parcel: the label bought at approval (shared/services/returns.py)
is tracked through the same carrier webhooks as outbound parcels. shared/services/tracking.py
`apply_update` comes here only when no shipment has the tracking number.

The parcel follows a shipment's rules: dedupe by (signer, provider event id) in its own bounded
history, forward only by rank, an older update kept but never applied (shared/domain/tracking.py,
shared/domain/shipments.py), all written under the return's version, so a duplicate processed
concurrently is refused and, re-read, found.

The return follows its parcel only as far as IN_TRANSIT: the first scan that shows the carrier has
it moves an APPROVED return to IN_TRANSIT. A parcel DELIVERED to us is not a receipt (a person
counts what came: POST /returns/{rma}/receive), and a return already received, closed or further on
only has its parcel updated: a late scan never moves it back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared.domain.returns import ReturnStatus
from shared.domain.tracking import ShipmentStatus, TrackingUpdate, moves_forward, supersedes
from shared.errors import Busy
from shared.services.tracking import ATTEMPTS, Outcome, Result, tracking_entry
from shared.unit_of_work import CommitFailed

if TYPE_CHECKING:
    from shared.domain.events import DomainEvent
    from shared.domain.returns import Return
    from shared.repositories import Repositories


def apply_to_returns(update: TrackingUpdate, received_at: datetime, repos: Repositories,
                     now: datetime) -> list[Result]:
    """Apply the update to every return whose label has its tracking number; [] when none has."""
    return [Result(None, _apply_to(r.rma_id, update, received_at, repos, now, indexed=r), rma_id=r.rma_id)
            for r in repos.returns.for_tracking(update.tracking_code)]


def carrier_has_it(status: ShipmentStatus) -> bool:
    """Whether a parcel in this status has left the customer: IN_TRANSIT's rank or beyond (an
    EXCEPTION, or a parcel sent back to the customer, was with the carrier too)."""
    return moves_forward(ShipmentStatus.IN_TRANSIT, status)


def _apply_to(rma_id: str, update: TrackingUpdate, received_at: datetime, repos: Repositories, now: datetime,
              indexed: Return) -> Outcome:
    for attempt_number in range(ATTEMPTS):
        # The index projects the whole item: the first try uses its copy; a stale one fails the
        # version condition and the retry reads the table.
        ret = indexed if attempt_number == 0 else repos.returns.get(rma_id)
        if ret is None or ret.parcel is None:  # indexed by its parcel, and returns are never deleted
            raise LookupError(f"return {rma_id} is indexed under {update.tracking_code} but has no parcel")
        try:
            return attempt(ret, update, received_at, repos, now)
        except CommitFailed:
            continue  # the return changed (received, another scan): decide again on a fresh read
    raise Busy(f"return {rma_id} is changing too fast; retry")


def attempt(ret: Return, update: TrackingUpdate, received_at: datetime, repos: Repositories,
            now: datetime) -> Outcome:
    """One try on the return as read; CommitFailed when it changed since."""
    parcel = ret.parcel
    assert parcel is not None, "found by its parcel's tracking number"
    if parcel.has_seen(update.provider, update.provider_event_id):
        return Outcome.DUPLICATE
    expected = ret.version
    applies = supersedes(parcel.status, parcel.status_at, update)
    parcel.record(tracking_entry(update, received_at, applies))
    if applies:
        parcel.status, parcel.status_at = update.status, update.occurred_at
    events: list[DomainEvent] = []
    if ret.status is ReturnStatus.APPROVED and carrier_has_it(parcel.status):
        # Only a return parcel's first scan publishes: apply-tracking loads no event model before one (cold start).
        from shared.domain.return_events import ReturnInTransit

        ret.move_to(ReturnStatus.IN_TRANSIT, now, "carrier",
                    note=f"{update.carrier or update.provider} reports {parcel.status.value}")
        events.append(ReturnInTransit(occurred_at=now, rma_id=ret.rma_id, order_id=ret.order_id, channel=ret.channel,
                                      status=ret.status.value, tracking_code=parcel.tracking_code))
    ret.version += 1
    repos.commit(repos.returns.save(ret, expected), repos.events.publish_all(events))
    return Outcome.APPLIED if applies else Outcome.KEPT
