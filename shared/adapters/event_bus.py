"""Publishing outbox records to the EventBridge bus."""

from __future__ import annotations

from dataclasses import dataclass

from shared.outbox_format import EVENT_SOURCE

PUT_EVENTS_MAX = 10  # PutEvents accepts at most 10 entries per call


@dataclass(frozen=True)
class OutboxRecord:
    sequence_number: str
    detail_type: str
    detail: str


def publish(events_client, bus_name: str, records: list[OutboxRecord]) -> list[OutboxRecord]:
    """Put the records on the bus, ten per call; return those EventBridge did not accept."""
    failed: list[OutboxRecord] = []
    for start in range(0, len(records), PUT_EVENTS_MAX):
        chunk = records[start:start + PUT_EVENTS_MAX]
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
