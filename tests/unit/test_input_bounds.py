"""Issue 10: what an attacker (or a careless client) sends is refused where it arrives, never accepted
and then a 500, a lost update or an item too large to store. Each test here fails without its fix."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.carriers.webhooks import WebhookUnreadable, parse
from shared.domain.locations import LocationRequest
from shared.domain.orders import OrderRequest
from shared.domain.shipments import Shipment, TrackingEntry
from shared.domain.stock import Adjustment, SetStockRequest, StockRow
from shared.domain.tracking import ShipmentStatus as S
from shared.http.fulfillment_views import ParcelBody, ShipLine
from tests.factories import order_body
from tests.unit.test_carrier_webhooks import doc, encode

pytestmark = pytest.mark.unit

EXTREMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


def _set(document: dict, path: str, value) -> dict:
    """A copy of `document` with the field at dotted `path` (list indexes allowed) set to `value`."""
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


# --- defect 1: extreme but valid dates ------------------------------------------------------------

@pytest.mark.parametrize("moment", EXTREMES)
@pytest.mark.parametrize("kind", ["Moment", "AwareMoment"])
def test_a_time_whose_utc_conversion_overflows_is_refused(kind, moment):
    from pydantic import TypeAdapter

    from shared.domain import bounds

    with pytest.raises(ValidationError, match="between 1000"):
        TypeAdapter(getattr(bounds, kind)).validate_python(moment)


def test_times_inside_the_bounds_are_taken_as_written():
    from pydantic import TypeAdapter

    from shared.domain.bounds import AwareMoment, Moment

    assert TypeAdapter(AwareMoment).validate_python("2026-11-25T10:00:00+14:00").utcoffset() == timedelta(hours=14)
    assert TypeAdapter(Moment).validate_python("2026-11-25T10:00:00").tzinfo is None  # naive: read as UTC


@pytest.mark.parametrize("moment", EXTREMES)
def test_an_order_promised_at_an_extreme_time_is_refused(moment):
    with pytest.raises(ValidationError) as refused:
        OrderRequest.model_validate(order_body(promised_by=moment))
    assert refused.value.errors()[0]["loc"] == ("promised_by",)


# --- defect 2: signed webhooks with such times ----------------------------------------------------

def _no_details(document: dict) -> dict:  # EasyPost then reads the tracker's own updated_at
    return _set(document, "result.tracking_details", [])


def _no_status_date(document: dict) -> dict:  # Shippo then reads object_created
    return _set(document, "data.tracking_status.status_date", None)


def _no_checkpoints(document: dict) -> dict:  # AfterShip then reads the event's ts
    return _set(document, "msg.checkpoints", [])


TIME_FIELDS = [
    ("canonical", "occurred_at", None),
    ("canonical", "estimated_delivery", None),
    ("easypost", "result.updated_at", _no_details),
    ("easypost", "result.tracking_details.1.datetime", None),
    ("easypost", "result.est_delivery_date", None),
    ("shippo", "data.tracking_status.object_created", _no_status_date),
    ("shippo", "data.tracking_status.status_date", None),
    ("shippo", "data.eta", None),
    ("aftership", "ts", _no_checkpoints),
    ("aftership", "msg.checkpoints.1.checkpoint_time", None),
    ("aftership", "msg.latest_estimated_delivery.datetime", None),
]


@pytest.mark.parametrize("moment", EXTREMES)
@pytest.mark.parametrize(("provider", "path", "prepare"), TIME_FIELDS)
def test_a_webhook_time_past_the_bounds_is_unreadable_not_a_crash(provider, path, prepare, moment):
    document = (prepare or (lambda d: d))(doc(provider))
    with pytest.raises(WebhookUnreadable):
        parse(provider, encode(_set(document, path, moment)))


# --- defect 3: oversized webhook fields, and the shipment's history --------------------------------

HUGE = "x" * 5000
TEXT_FIELDS = [
    ("canonical", "event_id"), ("canonical", "tracking_code"), ("canonical", "carrier"),
    ("canonical", "message"), ("canonical", "location"),
    ("easypost", "id"), ("easypost", "result.tracking_code"), ("easypost", "result.carrier"),
    ("easypost", "result.status_detail"), ("easypost", "result.tracking_details.1.message"),
    ("easypost", "result.tracking_details.1.tracking_location.city"),
    ("shippo", "data.tracking_number"), ("shippo", "data.carrier"), ("shippo", "data.tracking_status.object_id"),
    ("shippo", "data.tracking_status.status_details"), ("shippo", "data.tracking_status.substatus.code"),
    ("shippo", "data.tracking_status.location.city"),
    ("aftership", "event_id"), ("aftership", "msg.tracking_number"), ("aftership", "msg.slug"),
    ("aftership", "msg.subtag"), ("aftership", "msg.checkpoints.1.message"),
    ("aftership", "msg.checkpoints.1.location"),
]


@pytest.mark.parametrize(("provider", "path"), TEXT_FIELDS)
def test_a_webhook_field_past_its_bound_is_unreadable(provider, path):
    with pytest.raises(WebhookUnreadable):
        parse(provider, encode(_set(doc(provider), path, HUGE)))


@pytest.mark.parametrize("provider", ["canonical", "easypost", "shippo", "aftership"])
def test_the_documented_samples_are_still_read(provider):
    assert len(parse(provider, encode(doc(provider)))) == 1


def _entry(n: int, applied: bool, provider: str = "dhl") -> TrackingEntry:
    at = datetime(2026, 11, 25, tzinfo=UTC) + timedelta(minutes=n)
    return TrackingEntry(provider=provider, provider_event_id=f"evt-{n}", status=S.IN_TRANSIT, occurred_at=at,
                         received_at=at, applied=applied, message="m" * 1000)


def _shipment() -> Shipment:
    return Shipment(shipment_id="S-1", fulfillment_order_id="f1", order_id="o1", channel="web", location_id="BER",
                    lines={"SKU-1": 1}, created_at=datetime(2026, 11, 25, tzinfo=UTC))


def test_the_tracking_history_keeps_the_applied_updates_and_the_last_ignored_ones():
    from shared.domain.shipments import MAX_IGNORED_HISTORY

    shipment = _shipment()
    for n in range(300):
        shipment.record(_entry(n, applied=n % 10 == 0))  # 30 applied, 270 ignored

    applied = [e.provider_event_id for e in shipment.history if e.applied]
    ignored = [e.provider_event_id for e in shipment.history if not e.applied]
    assert applied == [f"evt-{n}" for n in range(0, 300, 10)]
    assert ignored == [f"evt-{n}" for n in range(300) if n % 10][-MAX_IGNORED_HISTORY:]
    assert [e.provider_event_id for e in shipment.history] == sorted(applied + ignored, key=lambda i: int(i[4:]))
    assert len(shipment.model_dump_json()) < 100_000


def test_the_tracking_history_stays_far_below_the_item_limit_however_many_updates_apply():
    from shared.domain.shipments import MAX_APPLIED_HISTORY

    shipment = _shipment()
    for n in range(1000):
        shipment.record(_entry(n, applied=True))
    assert len(shipment.history) == MAX_APPLIED_HISTORY
    assert shipment.history[-1].provider_event_id == "evt-999"
    assert len(shipment.model_dump_json()) < 250_000


# --- defect 4: the canonical body under another carrier name is the same event ---------------------

def test_carrier_names_speaking_the_canonical_format_share_their_event_ids():
    shipment = _shipment()
    shipment.record(_entry(1, applied=True, provider="dhl"))
    assert shipment.has_seen("ups", "evt-1")  # the same signed body replayed under /carriers/ups
    assert not shipment.has_seen("easypost", "evt-1")  # EasyPost's ids are EasyPost's own


# --- defect 4: numbers that are not numbers, amounts that are not amounts ----------------------------

def _order_with(path: str, value) -> dict:
    return _set(order_body(), path, value)


@pytest.mark.parametrize(("path", "value"), [
    ("lines.0.quantity", True), ("lines.0.quantity", "1"), ("lines.0.quantity", 1.0),
    ("shipping_address.lat", True), ("shipping_address.lat", "52.5"),
])
def test_an_order_number_must_be_a_json_number(path, value):
    with pytest.raises(ValidationError) as refused:
        OrderRequest.model_validate(_order_with(path, value))
    assert ".".join(map(str, refused.value.errors()[0]["loc"])) == path


@pytest.mark.parametrize("amount", ["1_000", " 10.00 ", "10.00 ", "-0", "-0.00", "+10", "1e3", "1E+3", "NaN",
                                    "Infinity", "10.", ".5", "", True])
def test_an_amount_is_a_plain_decimal_string(amount):
    with pytest.raises(ValidationError) as refused:
        OrderRequest.model_validate(_order_with("lines.0.unit_price", amount))
    assert refused.value.errors()[0]["loc"] == ("lines", 0, "unit_price")


@pytest.mark.parametrize("amount", ["10", "10.0", "10.00", "0010.5", 10])
def test_plain_amounts_are_still_amounts(amount):
    line = OrderRequest.model_validate(_order_with("lines.0.unit_price", amount)).lines[0]
    assert line.unit_price == Decimal(10) or line.unit_price == Decimal("10.5")


def test_shipping_price_minus_zero_is_refused_not_stored():
    with pytest.raises(ValidationError):
        OrderRequest.model_validate(order_body(shipping_price="-0"))


@pytest.mark.parametrize(("model", "fields", "name"), [
    (ShipLine, {"sku": "SKU-1", "quantity": True}, "quantity"),
    (ParcelBody, {"weight_grams": True, "length_cm": "1", "width_cm": "1", "height_cm": "1"}, "weight_grams"),
    (SetStockRequest, {"on_hand": True}, "on_hand"),
    (SetStockRequest, {"on_hand": "5"}, "on_hand"),
    (Adjustment, {"adjustment_id": "a-1", "sku": "SKU-1", "location_id": "BER", "delta": True,
                  "reason": "received"}, "delta"),
    (LocationRequest, {"name": "x", "type": "warehouse", "country": "DE", "lat": "52.5", "lon": 13.4}, "lat"),
    (LocationRequest, {"name": "x", "type": "warehouse", "country": "DE", "lat": 52.5, "lon": 13.4,
                       "priority": True}, "priority"),
    (LocationRequest, {"name": "x", "type": "warehouse", "country": "DE", "lat": 52.5, "lon": 13.4,
                       "pickup_enabled": "yes"}, "pickup_enabled"),
])
def test_request_numbers_and_flags_are_strict(model, fields, name):
    with pytest.raises(ValidationError) as refused:
        model.model_validate_json(json.dumps(fields))
    assert refused.value.errors()[0]["loc"] == (name,)


def test_csv_rows_still_read_their_numbers_from_text():
    assert StockRow.model_validate({"sku": "SKU-1", "location_id": "BER", "on_hand": "5"}).on_hand == 5


def test_locations_still_take_integer_coordinates():
    location = LocationRequest.model_validate_json(json.dumps(
        {"name": "x", "type": "warehouse", "country": "DE", "lat": 52, "lon": 13}))
    assert (location.lat, location.lon) == (52.0, 13.0)


# --- defect 4: a resent order with 10.0 for 10.00 is the same order --------------------------------

def test_amounts_are_compared_as_numbers_in_the_fingerprint():
    two = OrderRequest.model_validate(order_body(price="10.00", shipping_price="4.90"))
    one = OrderRequest.model_validate(order_body(price="10.0", shipping_price="4.9"))
    assert one.fingerprint() == two.fingerprint()
    assert OrderRequest.model_validate(order_body(price="10.01")).fingerprint() != two.fingerprint()
    assert OrderRequest.model_validate(order_body(price="100")).fingerprint() != OrderRequest.model_validate(
        order_body(price="1000")).fingerprint()
