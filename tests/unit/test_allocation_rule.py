"""request-fulfillment's rule hears only allocations whose parts are still to open: an
OrderAllocated of this version opens its own (`parts_opened`), one of an earlier version has no such
field. Matched by moto's EventBridge pattern matcher, the one the local runtime's rules use."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from moto.events.models import EventPattern

from infra import event_patterns as on
from shared.domain.events import AllocatedLine, OrderAllocated
from shared.outbox_format import EVENT_SOURCE

pytestmark = pytest.mark.unit


def _on_the_bus(detail: dict) -> dict:
    return {"source": EVENT_SOURCE, "detail-type": "OrderAllocated", "detail": detail}


def _allocated() -> dict:
    event = OrderAllocated(occurred_at=datetime(2026, 12, 4, tzinfo=UTC), order_id="o1", channel="web",
                           allocations=[AllocatedLine(location_id="BER", sku="SKU-1", quantity=1)], partial=False,
                           backordered=[], previous="RECEIVED", parts_opened=True)
    return json.loads(event.model_dump_json())


def test_only_allocations_of_an_earlier_version_reach_request_fulfillment():
    rule = EventPattern.load(json.dumps(on.ORDER_ALLOCATIONS))
    earlier = _allocated()
    del earlier["parts_opened"]  # the field did not exist then

    assert rule.matches_event(_on_the_bus(earlier))
    assert not rule.matches_event(_on_the_bus(_allocated()))


def test_the_other_consumers_of_an_allocation_still_hear_it():
    opened = _on_the_bus(_allocated())
    for pattern in (on.ORDER_CONFIRMED, on.AVAILABILITY_MOVES, on.REPORT_MOMENTS):
        assert EventPattern.load(json.dumps(pattern)).matches_event(opened), pattern
