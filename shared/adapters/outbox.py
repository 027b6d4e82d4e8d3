"""Transactional outbox: an event is an item written in the same transaction as its change.

The table stream carries the item to `publish_events`, which puts it on the bus. The item then
expires by TTL; nothing reads it again, so TTL lateness is harmless here.
"""

from __future__ import annotations

from datetime import timedelta

from shared.adapters.dynamo import Table
from shared.domain.events import DomainEvent
from shared.outbox_format import OUTBOX_PREFIX
RETENTION = timedelta(days=7)


def event_action(table: Table, event: DomainEvent) -> dict:
    return table.put(
        {
            "pk": f"{OUTBOX_PREFIX}{event.event_id}",
            "sk": "EVENT",
            "detail_type": event.event_type,
            "detail": event.model_dump_json(),
            "expires_at": int((event.occurred_at + RETENTION).timestamp()),
        },
        condition="attribute_not_exists(pk)",
    )
