"""Carrier tracking webhooks: verify the signature on the raw body, then read the provider's
documented payload into TrackingUpdates. Pure: no AWS, no clock (the caller passes `now`).

Signature schemes (`verify`; header names case-insensitive, digests compared in constant time)
  easypost   X-Hmac-Signature: "hmac-sha256-hex=" + hex HMAC-SHA256 of the raw body, keyed with the
             secret NFKD-normalised, UTF-8: what EasyPost's client libraries check (easypost-python
             easypost/util.py validate_webhook; docs.easypost.com/docs/webhooks). Nothing time-bound
             is signed: a replay is an old Event id, deduplicated. EasyPost support also describes an
             X-Hmac-Signature-V2 (x-timestamp, x-path) that no client library checks: not accepted.
  shippo     Shippo-Auth-Signature: "t=<unix seconds>,v1=<hex HMAC-SHA256 of f'{t}.{raw body}'>"
             (docs.goshippo.com/docs/tracking/webhooksecurity, "HMAC"; Shippo enables it on request).
             Shippo states no tolerance: we refuse a t more than 5 minutes from `now`.
  aftership  aftership-hmac-sha256: base64 HMAC-SHA256 of the raw body
             (aftership.com/docs/tracking/webhook/webhook-signature). Nothing time-bound is signed and
             retries run for days, so replays are left to event_id deduplication.
  any other  ours: X-OMS-Timestamp: <unix seconds>, X-OMS-Signature: v1=<hex HMAC-SHA256 of
             f'{timestamp}.{raw body}'> (comma-separated v1= entries during a secret rotation),
             refused beyond 5 minutes either side of `now` (replay protection).

`parse` returns at most one update per delivery: the shipment's current status as the provider
reports it, under the provider's id for that delivery (EasyPost Event id, AfterShip event_id;
Shippo sends none, so the object_id of its tracking_status, which names that status report). A
redelivery dedupes; the history is the sequence of these updates, and occurred_at is when the
carrier says the latest scan happened, so a late delivery can be told from a newer one. Events
that are not tracking updates are acknowledged with [], and so are statuses that say nothing about
the parcel (None below) or that the tables do not know (a provider's new value). Times without an
offset are UTC (Shippo's documented samples carry none), except AfterShip checkpoint times, which
are carrier-local: those fall back to the event's `ts`.

Canonical format (any provider name but the three above), one JSON object per request:
  {"event_id": "evt-42", "tracking_code": "1Z999", "carrier": "ups", "status": "IN_TRANSIT",
   "occurred_at": "2026-11-25T10:00:00Z", "estimated_delivery": "2026-11-27T00:00:00Z",
   "message": "Departed facility", "location": "Louisville, KY, US"}
status is a ShipmentStatus; times carry an offset; carrier, estimated_delivery, message and
location may be left out; no other field is allowed. event_id and tracking_code take at most 128
characters, carrier 64, message 1000, location 300; times lie between 1000 and 9998 (UTC). The
same bounds hold for the fields we read of the three providers' formats: past them, a signed body
is a 422 and nothing is queued. Every carrier name speaking this format signs with the one shared
secret, so its event ids are one namespace: the same body posted under two names is one event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.bounds import AwareMoment, Moment
from shared.domain.tracking import (
    MAX_CARRIER,
    MAX_EVENT_ID,
    MAX_LOCATION,
    MAX_MESSAGE,
    MAX_TRACKING_CODE,
    MAX_WORD,
    TrackingUpdate,
)
from shared.domain.tracking import ShipmentStatus as S
from shared.errors import InvalidInput, Unauthenticated

TOLERANCE = timedelta(minutes=5)


class WebhookRejected(Unauthenticated):
    """Missing or wrong signature, or a stale timestamp: answer 401 and store nothing."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WebhookUnreadable(InvalidInput):
    """The body is signed but is not the provider's documented shape."""

    code = "unreadable_webhook"


# --- status tables: provider word -> ours; None means "says nothing about the parcel" ---------------

EASYPOST_STATUS: dict[str, S | None] = {  # Tracker.status (docs.easypost.com/docs/trackers)
    "pre_transit": S.LABEL_CREATED, "in_transit": S.IN_TRANSIT, "out_for_delivery": S.OUT_FOR_DELIVERY,
    "available_for_pickup": S.AVAILABLE_FOR_PICKUP, "delivered": S.DELIVERED,
    "return_to_sender": S.RETURNED_TO_SENDER, "failure": S.FAILURE,
    "cancelled": S.FAILURE,  # the label was cancelled: this parcel will not be delivered
    "error": None,           # EasyPost could not track it, which is not news about the parcel
    "unknown": None,
}

SHIPPO_STATUS: dict[str, S | None] = {  # tracking_status.status, then substatus.code where it says more
    "PRE_TRANSIT": S.LABEL_CREATED, "TRANSIT": S.IN_TRANSIT, "DELIVERED": S.DELIVERED,
    "RETURNED": S.RETURNED_TO_SENDER, "FAILURE": S.FAILURE, "UNKNOWN": None,
    "out_for_delivery": S.OUT_FOR_DELIVERY, "pickup_available": S.AVAILABLE_FOR_PICKUP,
    # substatuses asking someone to act; package_unclaimed is filed under RETURNED, but the parcel
    # is not back with us yet, and RETURNED_TO_SENDER would end the shipment
    **dict.fromkeys(("address_issue", "contact_carrier", "delivery_attempted", "location_inaccessible",
                     "notice_left", "package_damaged", "package_held", "reschedule_delivery",
                     "package_unclaimed"), S.EXCEPTION),
}

AFTERSHIP_STATUS: dict[str, S | None] = {  # msg.tag, then msg.subtag where it says more
    "Pending": S.LABEL_CREATED, "InfoReceived": S.LABEL_CREATED, "InTransit": S.IN_TRANSIT,
    "OutForDelivery": S.OUT_FOR_DELIVERY, "AvailableForPickup": S.AVAILABLE_FOR_PICKUP,
    "Delivered": S.DELIVERED, "AttemptFail": S.EXCEPTION, "Exception": S.EXCEPTION,
    "Expired": S.FAILURE,                   # no tracking information for 30 days
    "Exception_011": S.RETURNED_TO_SENDER,  # "Returned to sender": received back by the sender
    "Exception_013": S.FAILURE,             # "Shipment lost"
}


# --- verification ---------------------------------------------------------------------------------

def verify(provider: str, raw_body: bytes, headers: Mapping[str, str], secret: str, now: datetime) -> None:
    """Raise WebhookRejected unless `raw_body` carries the provider's valid signature."""
    if not secret:
        raise WebhookRejected("no webhook secret is configured")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    lowered = {name.lower(): value for name, value in headers.items()}
    _VERIFIERS.get(provider, _verify_canonical)(raw_body, lowered, secret, now)


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def _header(headers: Mapping[str, str], name: str) -> str:
    if not (value := headers.get(name.lower(), "").strip()):
        raise WebhookRejected(f"missing {name} header")
    return value


def _fields(value: str) -> dict[str, list[str]]:
    """'t=1,v1=ab,v1=cd' -> {'t': ['1'], 'v1': ['ab', 'cd']}"""
    fields: dict[str, list[str]] = {}
    for part in value.split(","):
        key, _, val = part.strip().partition("=")
        fields.setdefault(key, []).append(val)
    return fields


def _verify_timestamped(body: bytes, timestamp: str, signatures: list[str], secret: str,
                        now: datetime, header: str) -> None:
    expected = _mac(secret.encode(), timestamp.encode() + b"." + body).hex()
    if not any(_same(expected, given) for given in signatures):
        raise WebhookRejected(f"{header} does not match the body")
    try:
        sent = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookRejected(f"{header} has an unreadable timestamp") from None
    if abs(now - sent) > TOLERANCE:
        raise WebhookRejected(f"{header} timestamp is more than {TOLERANCE} from now (replay?)")


def _verify_easypost(body: bytes, headers: Mapping[str, str], secret: str, now: datetime) -> None:
    key = unicodedata.normalize("NFKD", secret).encode()
    if not _same("hmac-sha256-hex=" + _mac(key, body).hex(), _header(headers, "X-Hmac-Signature")):
        raise WebhookRejected("X-Hmac-Signature does not match the body")


def _verify_shippo(body: bytes, headers: Mapping[str, str], secret: str, now: datetime) -> None:
    header = "Shippo-Auth-Signature"
    fields = _fields(_header(headers, header))
    _verify_timestamped(body, fields.get("t", [""])[0], fields.get("v1", []), secret, now, header)


def _verify_aftership(body: bytes, headers: Mapping[str, str], secret: str, now: datetime) -> None:
    expected = base64.b64encode(_mac(secret.encode(), body)).decode()
    if not _same(expected, _header(headers, "aftership-hmac-sha256")):
        raise WebhookRejected("aftership-hmac-sha256 does not match the body")


def _verify_canonical(body: bytes, headers: Mapping[str, str], secret: str, now: datetime) -> None:
    timestamp = _header(headers, "X-OMS-Timestamp")
    signatures = _fields(_header(headers, "X-OMS-Signature")).get("v1", [])
    _verify_timestamped(body, timestamp, signatures, secret, now, "X-OMS-Signature")


_VERIFIERS: dict[str, Callable[[bytes, Mapping[str, str], str, datetime], None]] = {
    "easypost": _verify_easypost, "shippo": _verify_shippo, "aftership": _verify_aftership,
}


# --- the documented payloads (only the fields we read; others are ignored) ---------------------------
# Every field we read is bounded (shared/domain/tracking.py MAX_*; times shared/domain/bounds.py): a
# signed body with a field past its bound is a 422 before anything is queued, never a 202 whose
# update then cannot be stored (a tracking code past DynamoDB's key size, scans that fill the item).

EventId = Annotated[str, Field(min_length=1, max_length=MAX_EVENT_ID)]
TrackingCode = Annotated[str, Field(min_length=1, max_length=MAX_TRACKING_CODE)]
CarrierName = Annotated[str, Field(max_length=MAX_CARRIER)]
Word = Annotated[str, Field(max_length=MAX_WORD)]  # a provider's status word or code
Message = Annotated[str, Field(max_length=MAX_MESSAGE)]
Place = Annotated[str, Field(max_length=MAX_LOCATION)]
PlacePart = Annotated[str, Field(max_length=MAX_LOCATION // 3 - 2)]  # city, state, country: joined by ", "


class _Location(BaseModel):
    """EasyPost's TrackingLocation and Shippo's location alike (we read city, state, country)."""

    city: PlacePart | None = None
    state: PlacePart | None = None
    country: PlacePart | None = None


class _EasyPostDetail(BaseModel):
    message: Message | None = None
    at: Moment = Field(alias="datetime")
    tracking_location: _Location | None = None


class _EasyPostTracker(BaseModel):
    tracking_code: TrackingCode
    status: Word
    status_detail: Word | None = None
    carrier: CarrierName | None = None
    est_delivery_date: Moment | None = None
    updated_at: Moment
    tracking_details: list[_EasyPostDetail] = []


class _EasyPostEvent(BaseModel):
    id: EventId
    description: str
    result: dict[str, Any]


class _ShippoSubstatus(BaseModel):
    code: Word | None = None


class _ShippoStatus(BaseModel):
    object_id: EventId
    object_created: Moment
    status: Word
    substatus: _ShippoSubstatus | None = None
    status_details: Message | None = None
    status_date: Moment | None = None
    location: _Location | None = None


class _ShippoTrack(BaseModel):
    carrier: CarrierName | None = None
    tracking_number: TrackingCode
    eta: Moment | None = None
    tracking_status: _ShippoStatus | None = None


class _ShippoWebhook(BaseModel):
    event: str
    data: dict[str, Any] | None = None


class _AfterShipCheckpoint(BaseModel):
    checkpoint_time: Moment | None = None
    message: Message | None = None
    location: Place | None = None


class _AfterShipEstimate(BaseModel):
    at: Moment | None = Field(None, alias="datetime")


class _AfterShipTracking(BaseModel):
    tracking_number: TrackingCode
    slug: CarrierName | None = None
    tag: Word
    subtag: Word | None = None
    subtag_message: Message | None = None
    expected_delivery: Moment | None = None
    latest_estimated_delivery: _AfterShipEstimate | None = None
    checkpoints: list[_AfterShipCheckpoint] = []


class _AfterShipWebhook(BaseModel):
    event: str
    event_id: EventId
    ts: Moment
    msg: dict[str, Any]


class CanonicalEvent(BaseModel):
    """Our own webhook body (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    event_id: EventId
    tracking_code: TrackingCode
    carrier: CarrierName | None = None
    status: S
    occurred_at: AwareMoment
    estimated_delivery: AwareMoment | None = None
    message: Message | None = None
    location: Place | None = None


# --- parsing --------------------------------------------------------------------------------------

def parse(provider: str, raw_body: bytes) -> list[TrackingUpdate]:
    """The tracking updates in a verified body; [] for an event that is not one. WebhookUnreadable
    when the body is not the provider's documented shape."""
    try:
        return _PARSERS.get(provider, _parse_canonical)(provider, json.loads(raw_body))
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
        # Bad JSON, bad UTF-8, pydantic's ValidationError (a field past its bound among them); and a
        # documented field of the wrong JSON type deeper than our models check: unreadable, not a 500.
        detail = error.errors()[0] if isinstance(error, ValidationError) else {"msg": str(error)}
        raise WebhookUnreadable(f"not a {provider} tracking webhook: {detail.get('msg')}",
                                field=".".join(map(str, detail.get("loc", ()))) or None) from error


@overload
def _utc(moment: datetime) -> datetime: ...
@overload
def _utc(moment: datetime | None) -> datetime | None: ...
def _utc(moment: datetime | None) -> datetime | None:
    return moment and (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC))


def _place(location: _Location | None) -> str | None:
    """EasyPost's TrackingLocation and Shippo's location alike: city, state, country."""
    location = location or _Location()
    return ", ".join(filter(None, (location.city, location.state, location.country))) or None


def _lookup(table: Mapping[str, S | None], *words: str | None) -> S | None:
    """The first of `words` (most specific first) that the table maps to one of our statuses."""
    return next((table[word] for word in words if word and table.get(word)), None)


def _update(provider: str, event_id: str, tracking_code: str, carrier: str | None, status: S | None,
            raw_words: tuple[str | None, ...], occurred_at: datetime, estimated_delivery: datetime | None,
            message: str | None, location: str | None) -> list[TrackingUpdate]:
    if status is None:
        return []
    return [TrackingUpdate(provider, event_id, tracking_code, carrier, status, _utc(occurred_at),
                           _utc(estimated_delivery), message or None, location or None,
                           raw_status="/".join(filter(None, raw_words)))]


def _parse_easypost(provider: str, document: Any) -> list[TrackingUpdate]:
    event = _EasyPostEvent.model_validate(document)
    if not event.description.startswith("tracker."):
        return []
    tracker = _EasyPostTracker.model_validate(event.result)
    last = tracker.tracking_details[-1] if tracker.tracking_details else None
    # status_detail only refines in_transit and the like: kept in raw_status, not mapped
    return _update(provider, event.id, tracker.tracking_code, tracker.carrier,
                   _lookup(EASYPOST_STATUS, tracker.status), (tracker.status, tracker.status_detail),
                   last.at if last else tracker.updated_at, tracker.est_delivery_date,
                   last.message if last else None, _place(last.tracking_location if last else None))


def _parse_shippo(provider: str, document: Any) -> list[TrackingUpdate]:
    webhook = _ShippoWebhook.model_validate(document)
    if webhook.event != "track_updated":
        return []
    track = _ShippoTrack.model_validate(webhook.data)
    if (current := track.tracking_status) is None:
        return []
    substatus = current.substatus.code if current.substatus else None
    return _update(provider, current.object_id, track.tracking_number, track.carrier,
                   _lookup(SHIPPO_STATUS, substatus, current.status), (current.status, substatus),
                   current.status_date or current.object_created, track.eta, current.status_details,
                   _place(current.location))


def _parse_aftership(provider: str, document: Any) -> list[TrackingUpdate]:
    webhook = _AfterShipWebhook.model_validate(document)
    if webhook.event not in ("tracking_update", "edd_revise"):
        return []
    msg = _AfterShipTracking.model_validate(webhook.msg)
    last = msg.checkpoints[-1] if msg.checkpoints else _AfterShipCheckpoint()
    scanned = last.checkpoint_time if last.checkpoint_time and last.checkpoint_time.tzinfo else None
    estimate = msg.latest_estimated_delivery.at if msg.latest_estimated_delivery else None
    return _update(provider, webhook.event_id, msg.tracking_number, msg.slug,
                   _lookup(AFTERSHIP_STATUS, msg.subtag, msg.tag), (msg.tag, msg.subtag),
                   scanned or webhook.ts, estimate or msg.expected_delivery,
                   last.message or msg.subtag_message,
                   last.location)


def _parse_canonical(provider: str, document: Any) -> list[TrackingUpdate]:
    event = CanonicalEvent.model_validate(document)
    return _update(provider, event.event_id, event.tracking_code, event.carrier, event.status,
                   (event.status.value,), event.occurred_at, event.estimated_delivery, event.message,
                   event.location)


_PARSERS: dict[str, Callable[[str, Any], list[TrackingUpdate]]] = {
    "easypost": _parse_easypost, "shippo": _parse_shippo, "aftership": _parse_aftership,
}
