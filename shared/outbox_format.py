"""What the outbox writers, the relay and the wiring agree on: plain constants and one reader of an
outbox item's events. Plain on purpose: the relay imports this without pulling in the event models
(cold start), and so do the local stream poller, the soak's snapshot and the tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

EVENT_SOURCE = "oms"
"""`source` of every event the OMS puts on its bus."""

OUTBOX_PREFIX = "EVENT#"
"""Partition key prefix of outbox items; the stack's stream filter matches it."""

OUTBOX_SK = "EVENTS"
"""Sort key of an outbox item holding a transaction's events (`events`: a list of
{detail_type, detail}, in the order they were published)."""

SINGLE_EVENT_SK = "EVENT"
"""Sort key of an item of the earlier shape: one event, as `detail_type` and `detail` attributes.
None is written any more; the relay still reads those in flight during a deploy (they expire by TTL)."""


class OutboxEntry(NamedTuple):
    detail_type: str
    detail: str  # the event as JSON, exactly as it goes on the bus


def outbox_entries(item: Mapping[str, Any]) -> list[OutboxEntry]:
    """The events of an outbox item, in order, from either shape. `item` holds plain values (a
    stream image as Powertools deserialises it, or an item as the stores return it)."""
    if "events" in item:
        return [OutboxEntry(str(e["detail_type"]), str(e["detail"])) for e in item["events"]]
    return [OutboxEntry(str(item["detail_type"]), str(item["detail"]))]
