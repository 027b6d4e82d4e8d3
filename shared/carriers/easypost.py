"""EasyPost behind the CarrierAdapter interface, written against its documented REST API (v2).

Sources (read 2026-11): https://docs.easypost.com/docs/authentication (Basic auth, the key is the
user name), /docs/shipments (create with to_address, from_address, parcel; rates; buy with a rate
id), /docs/shipments/options (label_format), /docs/parcels (oz and inches), /docs/trackers (create
with tracking_code and carrier; statuses; tracking_details), /docs/easypost-objects (reference),
and the request bodies of EasyPost's own client, github.com/EasyPost/easypost-python (v10.7).

EasyPost documents no idempotency-key header. To avoid paying twice when a buy is retried after a
timeout, we send our shipment reference as the Shipment's `reference` and, before creating one,
look the reference up (EasyPost accepts a reference in place of an id): a shipment already bought
is returned as it is, one created but not bought is bought, not created again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any
from urllib.parse import quote

from shared.adapters.outbound import HttpsTransport
from shared.carriers.adapter import CHEAPEST, FASTEST, CarrierError, Label, LabelRequest, Parcel
from shared.domain.address import Address
from shared.domain.tracking import ShipmentStatus, TrackingUpdate
from shared.observability import logger

API_BASE = "https://api.easypost.com/v2"

# (method, url, json body or None, headers) -> (HTTP status, decoded JSON body or {})
Transport = Callable[[str, str, dict | None, dict[str, str]], tuple[int, dict]]

# EasyPost Tracker/TrackingDetail status -> ours. Skipped: "unknown" (nothing known yet), "error"
# (EasyPost could not track it: news about the tracker, not the parcel) and any status added later.
STATUSES = {
    "pre_transit": ShipmentStatus.LABEL_CREATED,
    "in_transit": ShipmentStatus.IN_TRANSIT,
    "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY,
    "available_for_pickup": ShipmentStatus.AVAILABLE_FOR_PICKUP,
    "delivered": ShipmentStatus.DELIVERED,
    "return_to_sender": ShipmentStatus.RETURNED_TO_SENDER,
    "failure": ShipmentStatus.FAILURE,
    "cancelled": ShipmentStatus.FAILURE,  # we have no "cancelled": the parcel will not arrive
}
_MIME = {"PDF": "application/pdf", "ZPL": "application/zpl"}
_GRAMS_PER_OZ = Decimal("28.349523125")
_CM_PER_INCH = Decimal("2.54")


class Urllib3Transport(HttpsTransport):
    """The default transport (shared/adapters/outbound.py), JSON in and out. No retries of its own:
    the caller retries on CarrierError(retryable), and a POST that timed out must go through the
    reference lookup, not be blindly re-sent."""

    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 30.0):
        super().__init__(lambda why: CarrierError(f"EasyPost unreachable: {why}", retryable=True), connect_timeout,
                         read_timeout)

    def __call__(self, method: str, url: str, body: dict | None, headers: dict[str, str]  # type: ignore[override]
                 ) -> tuple[int, dict]:
        status, _, raw = self.send(method, url, headers, None if body is None else json.dumps(body).encode())
        try:
            decoded = json.loads(raw or b"{}")
        except ValueError:
            decoded = {}  # a proxy's HTML error page: the status says enough
        return status, decoded if isinstance(decoded, dict) else {}


class EasyPostAdapter:
    provider = "easypost"

    def __init__(self, api_key: str, transport: Transport | None = None, *, api_base: str = API_BASE):
        if not api_key:
            raise ValueError("an EasyPost API key is required")
        token = base64.b64encode(f"{api_key}:".encode()).decode()  # Basic auth, empty password
        self._headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json",
                         "Accept": "application/json", "User-Agent": "serverless-oms"}
        self._transport = transport if transport is not None else Urllib3Transport()
        self._base = api_base.rstrip("/")

    def __repr__(self) -> str:  # the default repr would put the key into any log line holding us
        return "EasyPostAdapter(api_key=***)"

    # ------------------------------------------------------------------ labels

    def buy_label(self, request: LabelRequest) -> Label:
        shipment = self._find_by_reference(request.reference)
        if shipment is None:
            shipment = self._call("POST", "/shipments", {"shipment": _shipment_body(request)})
        if not shipment.get("postage_label"):
            rate = choose_rate(shipment.get("rates") or [], request.service, shipment.get("messages"))
            shipment = self._call("POST", f"/shipments/{shipment['id']}/buy", {"rate": {"id": rate["id"]}})
        url = _label_url(shipment["postage_label"], request.label_format)
        if url is None:  # bought in another format (or an earlier attempt was): ask EasyPost to convert
            converted = self._call("GET", f"/shipments/{shipment['id']}/label?file_format={request.label_format}")
            url = _label_url(converted.get("postage_label") or {}, request.label_format)
            if url is None:
                raise CarrierError(f"EasyPost returned no {request.label_format} label", retryable=False)
        rate = shipment.get("selected_rate") or {}
        return Label(
            provider=self.provider,
            carrier=rate.get("carrier") or (shipment.get("tracker") or {}).get("carrier") or "",
            service=rate.get("service") or "",
            tracking_code=shipment.get("tracking_code") or "",
            label_format=request.label_format,
            rate_amount=Decimal(rate.get("rate") or "0"),
            rate_currency=rate.get("currency") or "USD",
            provider_shipment_id=shipment["id"],
            label_url=url,
            created_at=_utc(shipment["postage_label"].get("label_date")),
        )

    def _find_by_reference(self, reference: str) -> dict | None:
        try:
            found = self._call("GET", f"/shipments/{quote(reference, safe='')}")
        except CarrierError as exc:
            if exc.retryable:
                raise
            return None  # 404: never created. Any other 4xx: the create below reports it properly
        # A reference that happens to look like an EasyPost id would fetch that object instead.
        return found if found.get("reference") == reference else None

    # ------------------------------------------------------------------ tracking

    def track(self, tracking_code: str, carrier: str | None = None) -> list[TrackingUpdate]:
        # Creating a Tracker for a code it already has returns the existing one (docs/trackers),
        # so this is also how we read it without storing EasyPost's trk_ id.
        body: dict[str, Any] = {"tracking_code": tracking_code}
        if carrier:
            body["carrier"] = carrier
        return tracker_updates(self._call("POST", "/trackers", {"tracker": body}))

    # ------------------------------------------------------------------ HTTP

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        started = time.monotonic()
        status, payload = self._transport(method, self._base + path, body, dict(self._headers))
        # Only method, path and status: never headers (the key) nor bodies (addresses).
        logger.info("easypost call", extra={"method": method, "path": path, "status": status,
                                            "ms": round((time.monotonic() - started) * 1000)})
        if 200 <= status < 300:
            return payload
        raw_error = payload.get("error")
        error: dict = raw_error if isinstance(raw_error, dict) else {}
        code, message = error.get("code"), error.get("message") or "no error message"
        retryable = status >= 500 or status in (408, 429)
        raise CarrierError(f"EasyPost {method} {path}: HTTP {status} {code or 'no code'}: {message}",
                           retryable=retryable, status=status, code=code)


def choose_rate(rates: list[dict], service: str, messages: list | None = None) -> dict:
    """The cheapest rate, the fastest (fewest delivery days, then cheapest), or the cheapest one of
    a named service ("Priority", or "USPS:Priority")."""
    def days(rate: dict) -> int:
        return rate.get("delivery_days") or rate.get("est_delivery_days") or 10**6  # unknown: last

    def named(rate: dict) -> bool:
        names = (str(rate.get("service")), f"{rate.get('carrier')}:{rate.get('service')}")
        return service.lower() in (n.lower() for n in names)

    candidates = rates if service in (CHEAPEST, FASTEST) else [r for r in rates if named(r)]
    if not candidates:
        offered: Sequence[str | None] = sorted({f"{r.get('carrier')}:{r.get('service')}" for r in rates})
        if not offered:  # why no rates at all
            offered = [m.get("message") for m in messages or [] if isinstance(m, dict)]
        raise CarrierError(f"no EasyPost rate for service {service!r}; offered: {offered}", retryable=False)
    if service == FASTEST:
        return min(candidates, key=lambda r: (days(r), Decimal(r["rate"])))
    return min(candidates, key=lambda r: (Decimal(r["rate"]), days(r)))


def tracker_updates(tracker: dict) -> list[TrackingUpdate]:
    """A Tracker (from the API or a webhook Event's `result`) as our updates, oldest first.

    TrackingDetails have no id; the dedupe key hashes what identifies the scan, so the same scan
    read twice (two polls, or a webhook's tracker passed through here) gets the same key. The
    tracker's current estimate goes on the newest update only: older ones did not know it."""
    code, carrier = tracker.get("tracking_code") or "", tracker.get("carrier")
    updates = []
    for detail in tracker.get("tracking_details") or []:
        status = STATUSES.get(detail.get("status") or "")
        occurred = _utc(detail.get("datetime"))
        if status is None or occurred is None:
            continue
        ident = "|".join(str(x) for x in (carrier, code, detail.get("datetime"), detail.get("status"),
                                          detail.get("status_detail"), detail.get("message")))
        updates.append(TrackingUpdate(
            provider="easypost",
            provider_event_id="ep_" + hashlib.sha256(ident.encode()).hexdigest()[:24],
            tracking_code=code, carrier=carrier, status=status, occurred_at=occurred,
            message=detail.get("message") or None, location=_location(detail.get("tracking_location")),
            raw_status=detail.get("status")))
    updates.sort(key=lambda u: u.occurred_at)
    if updates and (estimate := _utc(tracker.get("est_delivery_date"))):
        updates[-1] = replace(updates[-1], estimated_delivery=estimate)
    return updates


def _shipment_body(request: LabelRequest) -> dict:
    return {"reference": request.reference, "to_address": _address(request.to_address),
            "from_address": _address(request.from_address), "parcel": _parcel(request.parcel),
            "options": {"label_format": request.label_format}}


def _address(a: Address) -> dict:
    fields = {"name": a.name, "street1": a.line1, "street2": a.line2, "city": a.city, "state": a.region,
              "zip": a.postal_code, "country": a.country}
    return {k: v for k, v in fields.items() if v}


def _parcel(p: Parcel) -> dict:
    # Rounded up to EasyPost's one decimal: declaring less than the parcel weighs earns surcharges.
    def up(value: Decimal) -> float:
        return float(max(value, Decimal("0.1")).quantize(Decimal("0.1"), rounding=ROUND_CEILING))

    return {"weight": up(Decimal(p.weight_grams) / _GRAMS_PER_OZ), "length": up(p.length_cm / _CM_PER_INCH),
            "width": up(p.width_cm / _CM_PER_INCH), "height": up(p.height_cm / _CM_PER_INCH)}


def _label_url(postage_label: dict, label_format: str) -> str | None:
    url = postage_label.get(f"label_{label_format.lower()}_url")
    if not url and postage_label.get("label_file_type") == _MIME[label_format]:
        url = postage_label.get("label_url")
    return url or None


def _location(loc: dict | None) -> str | None:
    parts = [(loc or {}).get(k) for k in ("city", "state", "zip", "country")]
    return ", ".join(p for p in parts if p) or None


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)  # EasyPost sends ISO 8601, "Z" or a local offset
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
