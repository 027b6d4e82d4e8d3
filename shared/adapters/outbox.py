"""Transactional outbox: a transaction's events are one item written in that transaction.

The table stream carries the item to `publish_events`, which puts its events on the bus, in order.
The item then expires by TTL; nothing reads it again, so TTL lateness is harmless here.

One item per transaction, not one per event: an outbox item is a write in the use case's
transaction, and a transaction bills every write twice over, by the KB. Three events of ~400 bytes
each as three items cost 6 write units; as one item of 1.2 KB, 4 (docs/cost.md). It also leaves
more of the 100-write limit to the change itself. `UnitOfWork.add` merges every `OutboxPut` it is
given into the first, so a use case that publishes in several places still writes one item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from shared.adapters.expressions import NEW, Put
from shared.outbox_format import OUTBOX_PREFIX, OUTBOX_SK
from shared.unit_of_work import AlreadyExists

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shared.domain.events import DomainEvent

RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class OutboxPut(Put):
    """The outbox item of some events; `events` are what it holds, for merging."""

    events: tuple[DomainEvent, ...] = field(default=())

    def merged(self, other: OutboxPut) -> OutboxPut:
        """One item holding this one's events, then the other's."""
        return _item(self.events + other.events)


def _item(events: tuple[DomainEvent, ...]) -> OutboxPut:
    # Keyed by the first event: event ids are unique, so the item is new unless this very
    # transaction was written before (then it is refused whole, and nothing is published twice).
    first = events[0]
    return OutboxPut(
        {
            "pk": f"{OUTBOX_PREFIX}{first.event_id}",
            "sk": OUTBOX_SK,
            "events": [{"detail_type": e.event_type, "detail": e.model_dump_json()} for e in events],
            "expires_at": int((max(e.occurred_at for e in events) + RETENTION).timestamp()),
        },
        when=NEW,
        refused=lambda _old: AlreadyExists("event", first.event_id),
        events=events,
    )


class EventOutbox:
    def publish(self, event: DomainEvent) -> OutboxPut:
        """The event, written with the change it announces (merged with the transaction's others)."""
        return _item((event,))

    def publish_all(self, events: Sequence[DomainEvent]) -> list[Put]:
        """The events as one item, in order (none for no events)."""
        return [_item(tuple(events))] if events else []
