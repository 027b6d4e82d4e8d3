"""Publishing outbox records to the EventBridge bus."""

from __future__ import annotations

from dataclasses import dataclass

from shared.outbox_format import EVENT_SOURCE

PUT_EVENTS_MAX = 10  # PutEvents accepts at most 10 entries per call
PUT_EVENTS_MAX_BYTES = 256 * 1024  # ... and 256 KB of entries, sized as entry_size counts them


@dataclass(frozen=True)
class OutboxRecord:
    sequence_number: str
    detail_type: str
    detail: str


def entry_size(record: OutboxRecord) -> int:
    """An entry's size as EventBridge counts it against PutEvents' limit: the UTF-8 bytes of its
    source, detail type and detail (no time or resources are sent)."""
    return sum(len(part.encode()) for part in (EVENT_SOURCE, record.detail_type, record.detail))


def chunks(records: list[OutboxRecord]) -> list[list[OutboxRecord]]:
    """The records in order, packed into as few PutEvents calls as the limits allow: ten entries
    and 256 KB a call (a relay batch gathered over its window holds many orders' events)."""
    packed: list[list[OutboxRecord]] = []
    size = 0
    for record in records:
        grows = entry_size(record)
        if not packed or len(packed[-1]) == PUT_EVENTS_MAX or size + grows > PUT_EVENTS_MAX_BYTES:
            packed.append([])
            size = 0
        packed[-1].append(record)
        size += grows
    return packed


def publish(events_client, bus_name: str, records: list[OutboxRecord]) -> list[OutboxRecord]:
    """Put the records on the bus in as few calls as `chunks` packs; return those EventBridge did
    not accept."""
    failed: list[OutboxRecord] = []
    for chunk in chunks(records):
        resp = events_client.put_events(Entries=[
            {"Source": EVENT_SOURCE, "DetailType": r.detail_type, "Detail": r.detail, "EventBusName": bus_name}
            for r in chunk
        ])
        if resp.get("FailedEntryCount"):
            failed.extend(r for r, entry in zip(chunk, resp["Entries"], strict=True) if entry.get("ErrorCode"))
    return failed


def publish_to_bus(records: list[OutboxRecord]) -> list[OutboxRecord]:
    """`publish` on the OMS bus named in the settings."""
    from shared.adapters.aws import client
    from shared.config import settings

    return publish(client("events"), settings().event_bus_name, records)
