"""Shipment tracking: our status vocabulary, and the rule that a late message never moves a
shipment backwards. Carrier adapters and webhook parsers map their providers' statuses onto this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ShipmentStatus(StrEnum):
    LABEL_CREATED = "LABEL_CREATED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    AVAILABLE_FOR_PICKUP = "AVAILABLE_FOR_PICKUP"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    RETURNED_TO_SENDER = "RETURNED_TO_SENDER"
    FAILURE = "FAILURE"


# How far along a parcel is. An update may move a shipment to a status of equal or higher rank
# (EXCEPTION can come and go while in transit); never to a lower one. Terminal: rank 4.
_RANK = {
    ShipmentStatus.LABEL_CREATED: 0,
    ShipmentStatus.IN_TRANSIT: 1,
    ShipmentStatus.EXCEPTION: 1,
    ShipmentStatus.OUT_FOR_DELIVERY: 2,
    ShipmentStatus.AVAILABLE_FOR_PICKUP: 3,
    ShipmentStatus.DELIVERED: 4,
    ShipmentStatus.RETURNED_TO_SENDER: 4,
    ShipmentStatus.FAILURE: 4,
}
TERMINAL = frozenset(s for s, rank in _RANK.items() if rank == 4)


def moves_forward(current: ShipmentStatus, update: ShipmentStatus) -> bool:
    """Whether `update` may become the shipment's status (it is kept in the history either way)."""
    if current in TERMINAL:
        return False
    # A problem can happen at any point before the end (a failed attempt while out for delivery).
    return update == ShipmentStatus.EXCEPTION or _RANK[update] >= _RANK[current]


def supersedes(current: ShipmentStatus, current_at: datetime | None, update: TrackingUpdate) -> bool:
    """Whether `update` becomes the shipment's state: it moves forward and is not older than what
    was applied last (EXCEPTION and IN_TRANSIT share a rank, so order them by time)."""
    return moves_forward(current, update.status) and (current_at is None or update.occurred_at >= current_at)


# How long each field of a tracking update may be: a webhook with a longer one is refused (422)
# before it is queued. They bound what one update adds to its shipment's item (with the history
# bound in shared/domain/shipments.py, the item stays far below DynamoDB's 400 KB), and the
# tracking code, which is part of an index key, far below DynamoDB's 2,048 bytes.
MAX_EVENT_ID = 128
MAX_TRACKING_CODE = 128
MAX_CARRIER = 64
MAX_WORD = 64        # a provider's status word or code; raw_status joins at most two
MAX_MESSAGE = 1000
MAX_LOCATION = 300

# The three providers with their own documented format and signing secret name their own event ids.
# Every other carrier name speaks our canonical format, signed with one shared secret: their event
# ids are one namespace, so the same signed body posted under two carrier names is one event.
OWN_FORMAT_PROVIDERS = frozenset({"easypost", "shippo", "aftership"})


def event_namespace(provider: str) -> str:
    """Whose event ids `provider`'s are: the dedupe key is (namespace, provider_event_id)."""
    return provider if provider in OWN_FORMAT_PROVIDERS else "canonical"


@dataclass(frozen=True)
class TrackingUpdate:
    """One tracking event, whatever carrier or aggregator reported it."""

    provider: str                 # easypost, shippo, aftership, sandbox, canonical
    provider_event_id: str        # dedupe key: the same event delivered twice has the same id
    tracking_code: str
    carrier: str | None
    status: ShipmentStatus
    occurred_at: datetime         # UTC; when the carrier says it happened (orders updates)
    estimated_delivery: datetime | None = None
    message: str | None = None
    location: str | None = None
    raw_status: str | None = None  # the provider's own status word, for the history


def lateness(promised_by: datetime | None, update: TrackingUpdate) -> str | None:
    """Why the shipment is late, or None: an exception from the carrier, or a carrier estimate
    past the date the order promised (which only we can see: carriers do not know the promise)."""
    if update.status in (ShipmentStatus.EXCEPTION, ShipmentStatus.FAILURE, ShipmentStatus.RETURNED_TO_SENDER):
        return f"carrier reports {update.status.value}" + (f": {update.message}" if update.message else "")
    if promised_by and update.estimated_delivery and update.estimated_delivery > promised_by:
        return (f"carrier now expects {update.estimated_delivery.isoformat()}, after the promised "
                f"{promised_by.isoformat()}")
    return None
