"""Issue 10 through the API Gateway stand-in: what an attacker (or a new user) sends is answered with
a 4xx naming what is wrong, and nothing it sends is accepted only to fail later (a 500, an update
dead-lettered after its 202, an order stuck SHIPPED). Each test here fails without its fix."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import boto3
import pytest

from local.emulator import DEMO_CARRIER_SECRET
from shared.adapters.orders_repo import channel_key_pk
from shared.domain.orders import OrderRequest, OrderStatus
from shared.domain.tracking import ShipmentStatus as S
from shared.domain.tracking import TrackingUpdate
from shared.services.tracking import Outcome, apply_update
from tests.factories import TWO_WAREHOUSES, order_body, seed
from tests.integration.test_carrier_webhooks_api import one_order, post, waiting
from tests.unit.test_carrier_webhooks import doc, encode, raw, sign
from tests.unit.test_input_bounds import EXTREMES, TIME_FIELDS, _set

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "MAD"): 5})


# --- 1. extreme but valid dates: 422 naming the field, not 500 ------------------------------------

@pytest.mark.parametrize("moment", EXTREMES)
@pytest.mark.parametrize("param", ["created_from", "created_to"])
def test_listing_orders_from_or_to_an_extreme_time_is_422_naming_it(api, param, moment):
    answer = api("GET", f"/orders?status=RECEIVED&{param}={quote(moment)}", as_="web")
    assert answer.status_code == 422, answer.text
    assert answer.json["field"] == param


def test_an_ordinary_time_range_still_lists(api, stocked):
    order_id = api("POST", "/orders", as_="web", json=order_body()).json["order_id"]
    answer = api("GET", f"/orders?created_from={quote('2000-01-01T00:00:00+14:00')}&created_to="
                        f"{quote((datetime.now(UTC) + timedelta(days=1)).isoformat())}&status=RECEIVED", as_="web")
    assert answer.status_code == 200, answer.text
    assert [o["order_id"] for o in answer.json["orders"]] == [order_id]


@pytest.mark.parametrize("moment", EXTREMES)
def test_an_order_promised_at_an_extreme_time_is_422_naming_it(api, stocked, moment):
    answer = api("POST", "/orders", as_="web", json=order_body(promised_by=moment))
    assert answer.status_code == 422, answer.text
    assert answer.json["field"] == "promised_by"


# --- 2. signed webhooks with such times: 422, nothing queued --------------------------------------

@pytest.mark.parametrize(("provider", "path", "prepare"), TIME_FIELDS)
def test_a_signed_webhook_with_an_extreme_time_is_422_and_nothing_is_queued(api, aws, provider, path, prepare):
    document = (prepare or (lambda d: d))(doc(provider))
    answer = post(api, provider, encode(_set(document, path, EXTREMES[0])))
    assert (answer.status_code, answer.json["error"]) == (422, "unreadable_webhook"), answer.text
    assert waiting(aws) == 0


# --- 3. oversized webhook fields, and a history that no longer fills the item ---------------------

@pytest.mark.parametrize(("provider", "path"), [
    ("canonical", "event_id"), ("canonical", "tracking_code"), ("canonical", "carrier"),
    ("canonical", "message"), ("canonical", "location"),
    ("easypost", "result.tracking_code"), ("shippo", "data.tracking_status.status_details"),
    ("aftership", "msg.checkpoints.1.location"),
])
def test_a_signed_webhook_with_an_oversized_field_is_422_and_nothing_is_queued(api, aws, provider, path):
    answer = post(api, provider, encode(_set(doc(provider), path, "x" * 5000)))
    assert (answer.status_code, answer.json["error"]) == (422, "unreadable_webhook"), answer.text
    assert waiting(aws) == 0


def test_a_chatty_carrier_no_longer_fills_the_shipment_so_delivered_still_applies(api, repos, pump):
    """Every update, applied or not, used to be appended to the shipment's item: ~300 late scans of
    the largest size a webhook takes made it larger than DynamoDB's 400 KB, and from then on every
    update failed, DELIVERED included, so the order stayed SHIPPED forever."""
    order_id = one_order(api, repos, pump, "canonical")  # one parcel, tracking number SBX0000001
    t0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    def scan(n: int, status: S = S.IN_TRANSIT) -> TrackingUpdate:
        return TrackingUpdate("dhl", f"evt-{n}", "SBX0000001", "dhl", status, t0 + timedelta(minutes=n),
                              message="m" * 1000, location="l" * 300)

    assert [r.outcome for r in apply_update(scan(1000), NOW, repos, NOW)] == [Outcome.APPLIED]
    for n in range(300):  # older than the applied scan: kept, not applied
        assert [r.outcome for r in apply_update(scan(n), NOW, repos, NOW)] == [Outcome.KEPT]

    assert [r.outcome for r in apply_update(scan(2000, S.DELIVERED), NOW, repos, NOW)] == [Outcome.APPLIED]
    shipment = repos.shipments.get("S-1")
    assert shipment.status == S.DELIVERED
    assert [e.provider_event_id for e in shipment.history if e.applied] == ["evt-1000", "evt-2000"]
    assert [e.provider_event_id for e in shipment.history if not e.applied] == [f"evt-{n}" for n in range(280, 300)]
    assert repos.orders.get(order_id).status == OrderStatus.DELIVERED


# --- 4. numbers, amounts, fingerprints ------------------------------------------------------------

def test_a_quantity_of_true_is_422_not_one(api, stocked):
    answer = api("POST", "/orders", as_="web", json=_set(order_body(), "lines.0.quantity", True))
    assert answer.status_code == 422, answer.text
    assert answer.json["field"] == "lines.0.quantity"


@pytest.mark.parametrize("amount", ["1_000", " 10.00 ", "-0"])
@pytest.mark.parametrize("path", ["lines.0.unit_price", "shipping_price"])
def test_an_amount_that_is_not_a_plain_decimal_is_422(api, stocked, path, amount):
    answer = api("POST", "/orders", as_="web", json=_set(order_body(), path, amount))
    assert answer.status_code == 422, answer.text
    assert answer.json["field"] == path


def test_a_resent_order_with_10_0_for_10_00_is_a_duplicate_not_a_conflict(api, stocked):
    first = api("POST", "/orders", as_="web", json=order_body(price="10.00"))
    again = api("POST", "/orders", as_="web", json=order_body(price="10.0"))
    assert again.status_code == 202, again.text
    assert (again.json["order_id"], again.json["duplicate"]) == (first.json["order_id"], True)
    assert api("POST", "/orders", as_="web", json=order_body(price="10.01")).status_code == 409


def test_an_order_captured_under_the_old_fingerprint_still_matches_its_resends(api, repos, stocked):
    """Orders captured before amounts were compared as numbers keep the fingerprint of the amounts as
    written: an identical resend, and one with 10.0 for 10.00, are still that order."""
    body = order_body(price="10.00")
    first = api("POST", "/orders", as_="web", json=body)
    dumped = OrderRequest.model_validate(body).model_dump(mode="json")
    dumped = {k: v for k, v in dumped.items() if v is not None or k != "note"}
    legacy = hashlib.sha256(json.dumps(dumped, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    boto3.client("dynamodb").update_item(
        TableName=repos.store.name, Key={"pk": {"S": channel_key_pk("web", "CO-1")}, "sk": {"S": "KEY"}},
        UpdateExpression="SET fingerprint = :f", ExpressionAttributeValues={":f": {"S": legacy}})

    for resend in (body, order_body(price="10.0")):
        again = api("POST", "/orders", as_="web", json=resend)
        assert again.status_code == 202, again.text
        assert (again.json["order_id"], again.json["duplicate"]) == (first.json["order_id"], True)


# --- 4. CSV line ends and media types -------------------------------------------------------------

@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"])
def test_a_csv_import_takes_any_line_end(api, repos, newline):
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {})
    csv = newline.join(["sku,location_id,on_hand", "SKU-1,BER,3", "SKU-2,BER,4"]) + newline
    answer = api("POST", "/inventory/import", data=csv, content_type="text/csv")
    assert answer.status_code == 200, answer.text
    assert answer.json == {"imported": 2, "errors": []}
    assert api("GET", "/inventory/SKU-2").json["on_hand"] == 4


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded",
                                          None])
def test_a_csv_import_in_another_media_type_is_415(api, repos, content_type):
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {})
    headers = {"Content-Type": content_type} if content_type else {}
    answer = api("POST", "/inventory/import", data="SKU-1,BER,3\n", headers=headers)
    assert answer.status_code == 415, answer.text
    assert answer.json["field"] == "content-type" and "text/csv" in answer.json["message"]
    assert api("GET", "/inventory/SKU-1").status_code == 404  # nothing imported


def test_a_csv_import_with_a_charset_is_taken(api, repos):
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {})
    answer = api("POST", "/inventory/import", data="SKU-1,BER,3\n", content_type="text/csv; charset=utf-8")
    assert answer.json == {"imported": 1, "errors": []}


@pytest.mark.parametrize(("method", "path", "as_"), [
    ("POST", "/orders", "web"), ("PUT", "/locations/BER", "operator"), ("POST", "/inventory/adjustments", "operator"),
])
def test_a_form_body_on_a_json_route_is_415(api, stocked, method, path, as_):
    answer = api(method, path, as_=as_, data="channel_order_id=CO-1&name=x",
                 content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 415, answer.text
    assert answer.json["field"] == "content-type"


def test_json_with_a_charset_is_still_json(api, stocked):
    answer = api("POST", "/orders", as_="web", data=json.dumps(order_body()),
                 content_type="application/json; charset=utf-8")
    assert answer.status_code == 202, answer.text


# --- 4. unknown query parameters ------------------------------------------------------------------

@pytest.mark.parametrize(("path", "as_", "unknown"), [
    ("/orders?stauts=RECEIVED", "web", "stauts"),
    ("/orders?status=RECEIVED&zeta=1&alpha=2", "web", "alpha"),
    ("/locations?active=true", "operator", "active"),
    ("/inventory/SKU-1?location=BER", "operator", "location"),
    ("/locations/BER/fulfillment-orders?state=OPEN", "operator", "state"),
])
def test_an_unknown_query_parameter_is_400_naming_it(api, stocked, path, as_, unknown):
    answer = api("GET", path, as_=as_)
    assert answer.status_code == 400, answer.text
    assert (answer.json["error"], answer.json["field"]) == ("unknown_query_parameter", unknown)
    assert unknown in answer.json["message"]


def test_declared_query_parameters_are_still_taken(api, stocked):
    assert api("GET", "/orders?status=RECEIVED&limit=5", as_="web").status_code == 200
    assert api("GET", "/locations/BER/fulfillment-orders?status=OPEN&limit=5").status_code == 200


# --- 4. the same signed canonical body under another carrier name ---------------------------------

def test_a_canonical_body_replayed_under_another_carrier_name_is_applied_once(api, repos, pump, aws):
    one_order(api, repos, pump, "canonical")
    body = raw("canonical")
    headers = {"Content-Type": "application/json",
               **sign("canonical", body, secret=DEMO_CARRIER_SECRET["webhook_secret"], at=datetime.now(UTC))}
    for carrier in ("dhl", "ups"):
        answer = api("POST", f"/webhooks/carriers/{carrier}", as_=None, data=body, headers=headers)
        assert answer.status_code == 202, answer.text

    pump()

    assert [(e.provider, e.provider_event_id) for e in repos.shipments.get("S-1").history] == [("dhl", "sandbox-7f3e")]
    assert waiting(aws, dlq=True) == 0


# --- found by the fuzzer: a path parameter Powertools' route pattern refuses ---------------------

@pytest.mark.parametrize("path", ["/orders/a%22b", "/orders/a%5Cb", "/locations/a%60b/fulfillment-orders",
                                  "/shipments/a%22b", "/inventory/a%22b"])
def test_a_path_parameter_no_route_pattern_takes_is_404_not_500(api, path):
    answer = api("GET", path)
    assert answer.status_code == 404, answer.text
    assert answer.json["error"] == "not_found"
