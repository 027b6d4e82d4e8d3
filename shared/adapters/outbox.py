"""Transactional outbox: an event is an item written in the same transaction as its change.

The table stream carries the item to `publish_events`, which puts it on the bus. The item then
expires by TTL; nothing reads it again, so TTL lateness is harmless here.
"""

from __future__ import annotations

from datetime import timedelta

from shared.adapters.expressions import NEW, Put
from shared.domain.events import DomainEvent
from shared.outbox_format import OUTBOX_PREFIX
from shared.unit_of_work import AlreadyExists

RETENTION = timedelta(days=7)


class EventOutbox:
    def publish(self, event: DomainEvent) -> Put:
        """The event, written with the change it announces (never twice: event ids are unique)."""
        return Put(
            {
                "pk": f"{OUTBOX_PREFIX}{event.event_id}",
                "sk": "EVENT",
                "detail_type": event.event_type,
                "detail": event.model_dump_json(),
                "expires_at": int((event.occurred_at + RETENTION).timestamp()),
            },
            when=NEW,
            refused=lambda _old: AlreadyExists("event", event.event_id),
        )

    def publish_all(self, events: list[DomainEvent]) -> list[Put]:
        return [self.publish(e) for e in events]
