"""Carrier tracking, in two steps.

1. `receive_webhook` (carrier-webhooks, behind the public route): verify the signature on the raw
   body, read the provider's payload, queue each update on tracking-updates and answer 202. No
   table access, so a slow table never makes a carrier time out and retry.
2. `apply_update` (apply-tracking, from that queue): apply an update to the shipment(s) with its
   tracking number, once, never backwards, and move the order along, in one transaction with the
   events it announces. A number no shipment has may be a return's label: the return's parcel
   follows the same rules (shared/services/return_tracking.py).

Guards of step 2 (each has a test in tests/integration/test_tracking.py that fails without it):
- The dedupe key is (provider, provider_event_id), the provider taken as its signer (every name
  speaking our canonical format is one: domain/tracking.py event_namespace), kept in the shipment's
  own bounded history (domain/shipments.py) and written under the shipment's version condition: a
  duplicate delivered twice at once is applied once, with no separate idempotency store.
- `supersedes`: an older or backwards update is kept in the history, never applied.
- ShipmentDelayed once per shipment: the shipment's delay_reason, under the same condition.
- Every delivered parcel writes its order (version condition, version + 1), read before the order's
  other shipments: two parcels delivered at once are serialised on the order, so the second sees
  the first and the order still becomes DELIVERED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel

from shared.domain.tracking import ShipmentStatus, TrackingUpdate, lateness, supersedes
from shared.errors import Busy

# The webhook function imports this module too, and needs none of the worker's table, order and
# event modules (about 30 ms of every cold start): the worker functions import those themselves.
if TYPE_CHECKING:
    from shared.domain.events import DomainEvent
    from shared.domain.orders import Order
    from shared.domain.shipments import Shipment, TrackingEntry
    from shared.repositories import Repositories
    from shared.unit_of_work import UnitOfWork

TRACKING_QUEUE = "tracking-updates"  # infra/wiring.py TRACKING_UPDATES
ATTEMPTS = 5


# --- the message on the tracking-updates queue ------------------------------------------------------

class QueuedUpdate(BaseModel):
    """One TrackingUpdate as JSON, with when we received it. Unknown fields are ignored, so a
    message queued by a newer version of the webhook function still applies."""

    provider: str
    provider_event_id: str
    tracking_code: str
    carrier: str | None = None
    status: ShipmentStatus
    occurred_at: AwareDatetime
    estimated_delivery: AwareDatetime | None = None
    message: str | None = None
    location: str | None = None
    raw_status: str | None = None
    received_at: AwareDatetime

    @classmethod
    def of(cls, update: TrackingUpdate, received_at: datetime) -> QueuedUpdate:
        return cls(**asdict(update), received_at=received_at)

    def update(self) -> TrackingUpdate:
        return TrackingUpdate(**self.model_dump(exclude={"received_at"}))


# --- step 1: the webhook ----------------------------------------------------------------------------

def send_to_queue(bodies: list[str]) -> None:
    from shared.adapters.queues import send

    send(TRACKING_QUEUE, bodies)  # parse yields at most one update per delivery


def _webhook_secret(provider: str) -> str | None:
    from shared.carriers.credentials import webhook_secret

    return webhook_secret(provider)


def receive_webhook(provider: str, raw_body: bytes, headers: Mapping[str, str], now: datetime, *,
                    secret_for: Callable[[str], str | None] = _webhook_secret,
                    send: Callable[[list[str]], None] = send_to_queue) -> int:
    """Verify, read, queue; the number of updates queued (0 for an event that is not one).
    WebhookRejected (401) before the body is even parsed, and nothing is queued."""
    # The carriers' webhook formats load with the webhook: apply-tracking, which imports this module for
    # the updates it applies, loads none of their models (cold start).
    from shared.carriers.webhooks import parse, verify

    verify(provider, raw_body, headers, secret_for(provider) or "", now)
    updates = parse(provider, raw_body)
    if updates:
        send([QueuedUpdate.of(u, now).model_dump_json() for u in updates])
    return len(updates)


# --- step 2: the worker -----------------------------------------------------------------------------

class Outcome(StrEnum):
    APPLIED = "APPLIED"      # became the shipment's state
    KEPT = "KEPT"            # older than, or behind, the shipment's state: in its history only
    DUPLICATE = "DUPLICATE"  # this provider event is already in the history
    UNKNOWN = "UNKNOWN"      # no shipment nor return has the tracking number: recorded, acknowledged


@dataclass(frozen=True)
class Result:
    shipment_id: str | None
    outcome: Outcome
    rma_id: str | None = None  # the update was about a return's parcel

    @property
    def subject(self) -> str | None:
        """What the update was applied to, for the log: the shipment, or the return."""
        return self.shipment_id or (f"return {self.rma_id}" if self.rma_id else None)


@dataclass
class Known:
    """What a batch read ahead (`read_ahead`): per tracking code the ids of the shipments carrying
    it, and those shipments and their orders as read. Each shipment and order is used by
    one try only (taken out when used): a later update of the same parcel, or a retry, reads again."""

    codes: dict[str, list[str]] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)


def read_ahead(tracking_codes: Iterable[str], repos: Repositories) -> Known:
    """The shipments of a batch's tracking numbers and their orders in two requests whatever the
    batch: one BatchGetItem of the numbers' lookup items (each names its shipments and their
    orders), then one of those shipments and orders (all strongly consistent)."""
    codes = repos.shipments.tracked(list(tracking_codes))
    shipment_ids = list(dict.fromkeys(s for pairs in codes.values() for s, _ in pairs))
    order_ids = list(dict.fromkeys(o for pairs in codes.values() for _, o in pairs if o))
    read = repos.read(*(repos.shipments.wanted(s) for s in shipment_ids), *(repos.orders.wanted(o) for o in order_ids))
    shipments = {s: found for s, found in zip(shipment_ids, read, strict=False) if found is not None}
    orders = {o: found for o, found in zip(order_ids, read[len(shipment_ids):], strict=True) if found is not None}
    return Known({code: [s for s, _ in pairs] for code, pairs in codes.items()}, shipments, orders)


def apply_update(update: TrackingUpdate, received_at: datetime, repos: Repositories, now: datetime,
                 known: Known | None = None) -> list[Result]:
    """Apply one carrier update to every shipment with its tracking number. Idempotent: a
    redelivered message finds the event in each shipment's history. `known`: what the batch read ahead."""
    found: list[Shipment]
    if known is not None and update.tracking_code in known.codes:
        read = (known.shipments.pop(i, None) or repos.shipments.get(i) for i in known.codes[update.tracking_code])
        found = [s for s in read if s is not None]
    else:
        found = repos.shipments.for_tracking(update.tracking_code)
    if not found:
        # A return's label, perhaps: asked only now, so an outbound parcel's update costs no second query.
        from shared.services.return_tracking import apply_to_returns

        if returned := apply_to_returns(update, received_at, repos, now):
            return returned
        # Acknowledged, not retried: no retry makes a number we never shipped known. Kept (30 days)
        # for whoever investigates; the message does not sit in the DLQ for it.
        repos.shipments.record_unknown(update, received_at)
        return [Result(None, Outcome.UNKNOWN)]
    return [Result(s.shipment_id, _apply_to(s.shipment_id, update, received_at, repos, now, indexed=s,
                                            order=known.orders.pop(s.order_id, None) if known else None))
            for s in found]


def _apply_to(shipment_id: str, update: TrackingUpdate, received_at: datetime, repos: Repositories,
              now: datetime, indexed: Shipment | None = None, order: Order | None = None) -> Outcome:
    from shared.unit_of_work import CommitFailed

    for attempt_number in range(ATTEMPTS):
        # First try on the shipment (and its order) as just read; a retry reads both again.
        shipment = indexed if attempt_number == 0 and indexed is not None else repos.shipments.get(shipment_id)
        if shipment is None:  # its tracking number names it, so it existed: never deleted; let a person look
            raise LookupError(f"shipment {shipment_id} is tracked under {update.tracking_code} but missing")
        try:
            return attempt(shipment, update, received_at, repos, now, order if attempt_number == 0 else None)
        except CommitFailed:
            continue  # the shipment or its order moved: decide again on a fresh read
    raise Busy(f"shipment {shipment_id} is changing too fast; retry")


def attempt(shipment: Shipment, update: TrackingUpdate, received_at: datetime, repos: Repositories,
            now: datetime, order: Order | None = None) -> Outcome:
    """One try on the shipment (and its order, when read already) as read; CommitFailed when it (or
    its order) changed since."""
    outcome, work = planned(shipment, update, received_at, repos, now, order)
    if work is not None:
        work.commit()
    return outcome


def planned(shipment: Shipment, update: TrackingUpdate, received_at: datetime, repos: Repositories,
            now: datetime, order: Order | None = None) -> tuple[Outcome, UnitOfWork | None]:
    """What one try would write (None for a duplicate), uncommitted: `attempt` commits it alone, a
    batch (shared/services/tracking_batch.py) with other parcels' writes. Changes `shipment` and `order`."""
    from shared.domain.events import ShipmentTrackingUpdated

    if shipment.has_seen(update.provider, update.provider_event_id):
        return Outcome.DUPLICATE, None
    expected, previous, previous_estimate = shipment.version, shipment.status, shipment.estimated_delivery
    applies = supersedes(shipment.status, shipment.status_at, update)
    shipment.record(tracking_entry(update, received_at, applies))
    shipment.last_tracking_at = max(filter(None, (shipment.last_tracking_at, received_at)))
    shipment.version += 1
    events: list[DomainEvent] = []
    order_write = None
    late: str | None = None  # why the parcel was found late by this update
    if applies:
        shipment.status, shipment.status_at = update.status, update.occurred_at
        shipment.estimated_delivery = update.estimated_delivery or shipment.estimated_delivery
        if shipment.status != previous or shipment.estimated_delivery != previous_estimate:
            events.append(ShipmentTrackingUpdated(
                occurred_at=now, shipment_id=shipment.shipment_id, order_id=shipment.order_id,
                channel=shipment.channel, tracking_code=shipment.tracking_code or update.tracking_code,
                carrier=shipment.carrier or update.carrier, status=shipment.status.value, previous=previous.value,
                estimated_delivery=shipment.estimated_delivery))
        delivered = update.status == ShipmentStatus.DELIVERED
        # Late once per shipment; and a delivered parcel is no longer news as a delay.
        check_late = shipment.delay_reason is None and not delivered
        if delivered or check_late:
            order_write = _order_effects(shipment, update, delivered, check_late, repos, now, events, order)
            late = shipment.delay_reason if check_late else None
    work = repos.unit_of_work().add(repos.shipments.save(shipment, expected))
    if order_write is not None:
        order, order_expected = order_write
        work.add(repos.orders.save(order, order_expected))
    if late is not None:  # an open exception for a person (GET /admin/exceptions?kind=LATE_SHIPMENT), with the delay
        from shared.domain.reconciliation import late_record

        work.add(repos.reconciliation.raise_exception(late_record(shipment, late, now)))
    work.add(repos.events.publish_all(events))
    return Outcome.APPLIED if applies else Outcome.KEPT, work


def tracking_entry(update: TrackingUpdate, received_at: datetime, applied: bool) -> TrackingEntry:
    """The update as a parcel's history keeps it (a shipment's or a return's)."""
    from shared.domain.shipments import TrackingEntry

    return TrackingEntry(
        provider=update.provider, provider_event_id=update.provider_event_id, status=update.status,
        occurred_at=update.occurred_at, received_at=received_at, applied=applied, raw_status=update.raw_status,
        message=update.message, location=update.location, estimated_delivery=update.estimated_delivery)


def _order_effects(shipment: Shipment, update: TrackingUpdate, delivered: bool, check_late: bool,
                   repos: Repositories, now: datetime, events: list[DomainEvent], read: Order | None = None):
    """Lateness and delivery, which change the order: (order, expected version) to write, or None."""
    from shared.domain.events import OrderDelivered, ShipmentDelayed
    from shared.domain.orders import OrderStatus, ShipmentDelay

    order = read if read is not None and read.order_id == shipment.order_id else repos.orders.get(shipment.order_id)
    if order is None:
        raise LookupError(f"order {shipment.order_id} of shipment {shipment.shipment_id} is missing")
    expected = order.version
    write = False
    promised_by = order.request.promised_by
    if check_late and (reason := lateness(promised_by, update)):
        shipment.delay_reason = reason  # under the shipment's version condition: announced once
        order.delays.append(ShipmentDelay(shipment_id=shipment.shipment_id, tracking_code=shipment.tracking_code,
                                          reason=reason, estimated_delivery=update.estimated_delivery, at=now))
        order.updated_at = now
        events.append(ShipmentDelayed(occurred_at=now, shipment_id=shipment.shipment_id, order_id=order.order_id,
                                      channel=order.channel, tracking_code=shipment.tracking_code, reason=reason,
                                      estimated_delivery=update.estimated_delivery, promised_by=promised_by))
        write = True
    if delivered:
        # Always written, read before the other parcels: two deliveries committing at once are
        # serialised on the order's version, so the later one re-reads and sees the earlier parcel
        # delivered. Without it each sees the other in transit and the order stays SHIPPED forever.
        write = True
        others = [i for i in order.shipment_ids if i != shipment.shipment_id]
        siblings = repos.shipments.many(others)
        all_delivered = len(siblings) == len(others) and all(s.status == ShipmentStatus.DELIVERED for s in siblings)
        if order.status == OrderStatus.SHIPPED and all_delivered:
            order.move_to(OrderStatus.DELIVERED, now, note=f"shipment {shipment.shipment_id} delivered, the last")
            events.append(OrderDelivered.of(order, now))
    if not write:
        return None
    order.version += 1
    return order, expected
