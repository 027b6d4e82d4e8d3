"""The shipment's tracking history stays inside DynamoDB's item limit whatever the text holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.shipments import MAX_HISTORY_BYTES, Shipment, TrackingEntry
from shared.domain.tracking import MAX_EVENT_ID, MAX_LOCATION, MAX_MESSAGE, MAX_WORD, ShipmentStatus

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
DYNAMODB_ITEM_LIMIT = 400 * 1024


def entry(n: int, text: str, applied: bool) -> TrackingEntry:
    """The largest entry a webhook can bring, its fields made of `text`."""
    return TrackingEntry(provider="dhl", provider_event_id=f"{n}-".ljust(MAX_EVENT_ID, "x"),
                         status=ShipmentStatus.IN_TRANSIT, occurred_at=T0 + timedelta(minutes=n), received_at=T0,
                         applied=applied, raw_status=text * (2 * MAX_WORD), message=text * MAX_MESSAGE,
                         location=text * MAX_LOCATION)


@pytest.mark.parametrize("text", ["m", "\u4e2d", "\U0001f4e6", "\u0001"], ids=["ascii", "3-byte", "emoji", "control"])
def test_a_history_of_the_largest_updates_stays_inside_one_item(text):
    """Field bounds count characters; a character is up to 4 bytes in UTF-8 (6 as an escaped control
    character in JSON), so 120 entries of emoji came to 786 KB before the byte budget."""
    shipment = Shipment(shipment_id="S-1", fulfillment_order_id="f-1", order_id="o-1", channel="web",
                        location_id="BER", lines={"SKU-1": 1}, created_at=T0)
    for n in range(300):
        shipment.record(entry(n, text, applied=n % 3 == 0))

    stored = len(shipment.model_dump_json().encode())
    history = sum(len(e.model_dump_json().encode()) for e in shipment.history)
    assert history <= MAX_HISTORY_BYTES and stored < DYNAMODB_ITEM_LIMIT
    assert shipment.history[-1].provider_event_id.startswith("299-")  # the newest always stays
