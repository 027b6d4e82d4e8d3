"""A shipment: one parcel (or set of lines handed to a carrier together) of a fulfilment order,
with its label and everything the carrier has said about it.

Pure data; the tracking rules that move it are in shared/domain/tracking.py.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.base import DeferredModel
from shared.domain.money import Amount, CurrencyCode
from shared.domain.tracking import ShipmentStatus, event_namespace

# What a shipment keeps of the tracking updates it received (`Shipment.history`): every update that
# was applied, up to the last MAX_APPLIED_HISTORY of them, and the last MAX_IGNORED_HISTORY of those
# that were not (older, backwards, or after the end); and, whatever the entries hold, at most
# MAX_HISTORY_BYTES of them as stored (UTF-8 JSON: a field bounded in characters can still take 4
# bytes a character, or 6 for an escaped control character), the oldest going first. So the
# shipment stays well inside DynamoDB's 400 KB item however chatty the carrier: an unbounded history
# filled the item, after which every later update, DELIVERED included, failed to be written.
MAX_APPLIED_HISTORY = 100
MAX_IGNORED_HISTORY = 20
MAX_HISTORY_BYTES = 200_000


class StoredLabel(DeferredModel):
    """A label we bought; the document is in the label bucket under `key` (never in the table),
    or hosted by the provider at `provider_url`."""

    provider: str                 # which adapter bought it: sandbox, easypost
    key: str | None = None        # S3 object key, when we hold the document
    provider_url: str | None = None  # the provider's own copy (EasyPost hosts its labels)
    label_format: str             # PDF or ZPL
    rate: Amount
    currency: CurrencyCode
    provider_shipment_id: str


class TrackingEntry(DeferredModel):
    """One tracking update as received, applied or not (a stale one is kept, not applied)."""

    provider: str
    provider_event_id: str
    status: ShipmentStatus
    occurred_at: datetime
    received_at: datetime
    applied: bool
    raw_status: str | None = None
    message: str | None = None
    location: str | None = None
    estimated_delivery: datetime | None = None


class Shipment(DeferredModel):
    shipment_id: str
    fulfillment_order_id: str
    order_id: str
    channel: str
    location_id: str
    lines: dict[str, int]
    carrier: str | None = None
    service: str | None = None
    tracking_code: str | None = None
    label: StoredLabel | None = None
    status: ShipmentStatus = ShipmentStatus.LABEL_CREATED
    # When the carrier says the applied status happened (None until the first update).
    status_at: datetime | None = None
    estimated_delivery: datetime | None = None
    # Why the parcel is late, once it is (ShipmentDelayed is published on the change to late).
    delay_reason: str | None = None
    # When we last heard from the carrier: the silent-shipment check reads this.
    last_tracking_at: datetime | None = None
    # Oldest first; bounded (see MAX_APPLIED_HISTORY and MAX_IGNORED_HISTORY above).
    history: list[TrackingEntry] = []
    created_at: datetime
    version: int = 0

    def has_seen(self, provider: str, provider_event_id: str) -> bool:
        """Whether the history holds this event (see `has_seen` below)."""
        return has_seen(self.history, provider, provider_event_id)

    def record(self, entry: TrackingEntry) -> None:
        """Add an update to the history, dropping the oldest entries past the bounds."""
        self.history = recorded(self.history, entry)


# The history rules as functions of the history alone: a return's parcel (shared/domain/returns.py)
# keeps its carrier updates by the same rules as a shipment.

def has_seen(history: list[TrackingEntry], provider: str, provider_event_id: str) -> bool:
    """Whether the history holds this event: the same id from the same signer (every carrier name
    speaking our canonical format is one, see shared/domain/tracking.py event_namespace). An event
    that dropped out of the bounded history is not seen; it is older than what was applied since,
    so it is kept again, not applied."""
    namespace = event_namespace(provider)
    return any(e.provider_event_id == provider_event_id and event_namespace(e.provider) == namespace
               for e in history)


def recorded(history: list[TrackingEntry], entry: TrackingEntry) -> list[TrackingEntry]:
    """The history with `entry` added, the oldest entries past the bounds dropped."""
    history = [*history, entry]
    applied = [e for e in history if e.applied]
    ignored = [e for e in history if not e.applied]
    if len(applied) > MAX_APPLIED_HISTORY or len(ignored) > MAX_IGNORED_HISTORY:
        dropped = {id(e) for e in applied[:-MAX_APPLIED_HISTORY] + ignored[:-MAX_IGNORED_HISTORY]}
        history = [e for e in history if id(e) not in dropped]
    sizes = {id(e): len(e.model_dump_json().encode()) for e in history}
    total = sum(sizes.values())
    while total > MAX_HISTORY_BYTES and len(history) > 1:
        # Ignored updates go first, then the oldest applied ones; the newest entry always stays.
        oldest = next((e for e in history[:-1] if not e.applied), history[0])
        history.remove(oldest)
        total -= sizes[id(oldest)]
    return history
