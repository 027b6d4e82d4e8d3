"""People through the local API Gateway with the emulator's Cognito: real pool tokens (moto's RS256
JWTs) verified against the emulator's keys, the routes' roles from the wiring, a warehouse person's
locations, and the person recorded as the actor of their writes."""

from __future__ import annotations

import time

import jwt
import pytest

from local.people import DemoPerson
from tests.factories import TWO_WAREHOUSES, seed
from tests.integration.conftest import people_pool, person_caller

PEOPLE = (
    DemoPerson("ada-admin", "Admin-pass-12345!", ("admin",)),
    DemoPerson("cass-cs", "Custserv-pass-12345!", ("customer_service",)),
    DemoPerson("fin-finance", "Finance-pass-12345!", ("finance",)),
    DemoPerson("vic-viewer", "Viewer-pass-12345!", ("viewer",)),
    DemoPerson("wes-warehouse", "Warehouse-pass-12345!", ("warehouse", "location:BER")),
)


@pytest.fixture
def people(aws, emulator, monkeypatch):
    return people_pool(emulator, monkeypatch, PEOPLE, tuple(TWO_WAREHOUSES))


@pytest.fixture
def as_person(api, people):
    return person_caller(api, people)


def fulfilment_order_at(api, location: str) -> str:
    return api("GET", f"/locations/{location}/fulfillment-orders").json["fulfillment_orders"][0]["fulfillment_order_id"]


def test_the_console_key_alone_is_nobody(api, people):
    answer = api("GET", "/orders", as_="console")
    assert answer.status_code == 401
    assert answer.json["field"] == "authorization"


def test_a_token_that_does_not_verify_is_401(api, people):
    now = int(time.time())
    forged = jwt.encode({"iss": people.issuer, "aud": people.client_id, "token_use": "id", "iat": now,
                         "exp": now + 60, "cognito:username": "mallory", "cognito:groups": ["admin"]},
                        "not the pool's key, but long enough for HMAC", algorithm="HS256")
    answer = api("GET", "/orders", as_="console", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401


def test_access_tokens_work_too(api, people):
    access = people.token("vic-viewer", "AccessToken")
    assert api("GET", "/orders", as_="console", headers={"Authorization": f"Bearer {access}"}).status_code == 200


def test_a_viewer_reads_but_cannot_write(as_person, allocated):
    assert as_person("vic-viewer", "GET", f"/orders/{allocated}").status_code == 200
    refused = as_person("vic-viewer", "POST", f"/orders/{allocated}/cancel")
    assert refused.status_code == 403
    assert refused.json["error"] == "forbidden"
    assert refused.json["missing_role"] == "customer_service"
    assert "customer_service" in refused.json["message"]


def test_finance_reads_reports_and_customer_service_does_not(as_person):
    query = {"from": "2026-01-01", "to": "2026-01-31", "group_by": "day"}
    assert as_person("fin-finance", "GET", "/reports/sales", query_string=query).status_code == 200
    refused = as_person("cass-cs", "GET", "/reports/sales", query_string=query)
    assert (refused.status_code, refused.json["missing_role"]) == (403, "finance")


def test_admin_only_routes_name_admin(as_person):
    body = TWO_WAREHOUSES["BER"].model_dump(mode="json")
    refused = as_person("cass-cs", "PUT", "/locations/NEW", json=body)
    assert (refused.status_code, refused.json["missing_role"]) == (403, "admin")
    assert as_person("ada-admin", "PUT", "/locations/NEW", json=body).status_code == 200


def test_a_location_records_who_last_changed_it(as_person, api):
    body = TWO_WAREHOUSES["BER"].model_dump(mode="json")
    assert as_person("ada-admin", "PUT", "/locations/NEW", json=body).json["updated_by"] == "user:ada-admin"
    assert api("GET", "/locations/NEW").json["updated_by"] == "user:ada-admin"
    assert api("PUT", "/locations/NEW", json=body).json["updated_by"] == "operator"
    assert api("GET", "/locations/NEW").json["updated_by"] == "operator"


def test_settings_record_the_person_or_key_that_last_changed_them(as_person, api, repos):
    seed(repos, TWO_WAREHOUSES, {})
    admin = "user:ada-admin"
    assert as_person("ada-admin", "PUT", "/channels/shop-x", json={}).json["channel"]["updated_by"] == admin
    assert api("GET", "/channels/shop-x").json["updated_by"] == admin
    assert api("POST", "/channels/shop-x/api-key").json["channel"]["updated_by"] == "operator"
    assert as_person("ada-admin", "PUT", "/return-policies/web", json={}).status_code == 200
    assert api("GET", "/return-policies/web").json["updated_by"] == admin
    strategy = {"name": "Nearest", "rank": 10, "criteria": [{"kind": "rank", "by": "nearest"}]}
    assert as_person("ada-admin", "PUT", "/routing/strategies/near", json=strategy).status_code == 201
    assert api("GET", "/routing/strategies/near").json["updated_by"] == admin
    assert as_person("ada-admin", "PUT", "/routing/shipping-profile", json={"currency": "EUR"}).status_code == 200
    assert api("GET", "/routing/shipping-profile").json["updated_by"] == admin


def test_a_persons_cancellation_records_the_person_not_their_email(as_person, api, allocated):
    assert as_person("cass-cs", "POST", f"/orders/{allocated}/cancel").status_code == 200
    history = api("GET", f"/orders/{allocated}").json["history"]
    assert history[-1]["status"] == "CANCELLED"
    assert history[-1]["by"] == "user:cass-cs"


def test_the_operator_key_still_acts_as_admin_and_is_recorded_as_operator(api, allocated):
    assert api("POST", f"/orders/{allocated}/cancel").status_code == 200
    assert api("GET", f"/orders/{allocated}").json["history"][-1]["by"] == "operator"


def test_a_warehouse_person_works_on_their_own_locations_only(as_person, api, allocated):
    mine, theirs = fulfilment_order_at(api, "BER"), fulfilment_order_at(api, "MAD")
    assert as_person("wes-warehouse", "GET", "/locations/BER/fulfillment-orders").status_code == 200
    other_list = as_person("wes-warehouse", "GET", "/locations/MAD/fulfillment-orders")
    assert (other_list.status_code, other_list.json["field"]) == (403, "location_id")
    assert as_person("wes-warehouse", "GET", f"/fulfillment-orders/{theirs}").status_code == 404
    assert as_person("wes-warehouse", "POST", f"/fulfillment-orders/{theirs}/accept").status_code == 404
    accepted = as_person("wes-warehouse", "POST", f"/fulfillment-orders/{mine}/accept").json
    assert accepted["status"] == "ACCEPTED" and accepted["history"][-1]["by"] == "user:wes-warehouse"
    # and nothing else: orders are not a warehouse person's
    assert as_person("wes-warehouse", "GET", f"/orders/{allocated}").json["missing_role"] == "customer_service"


def test_stock_written_with_the_operator_key_records_operator(api, allocated):
    adjust = {"adjustments": [{"adjustment_id": "a-op", "sku": "SKU-2", "location_id": "MAD", "delta": 4,
                               "reason": "found"}]}
    assert api("POST", "/inventory/adjustments", json=adjust).status_code == 200
    [level] = [lv for lv in api("GET", "/inventory/SKU-2").json["locations"] if lv["location_id"] == "MAD"]
    assert level["counted_by"] == "operator"


def test_a_warehouse_person_sees_and_sets_their_own_locations_stock_only(as_person, allocated):
    levels = as_person("wes-warehouse", "GET", "/inventory/SKU-1").json["locations"]
    assert {lv["location_id"] for lv in levels} == {"BER"}
    assert as_person("wes-warehouse", "PUT", "/inventory/SKU-9/MAD", json={"on_hand": 5}).status_code == 403
    assert as_person("wes-warehouse", "PUT", "/inventory/SKU-9/BER", json={"on_hand": 5}).status_code == 200
    [level] = as_person("wes-warehouse", "GET", "/inventory/SKU-9").json["locations"]
    assert level["counted_by"] == "user:wes-warehouse"
    adjust = {"adjustments": [{"adjustment_id": "a-1", "sku": "SKU-1", "location_id": "MAD", "delta": 1,
                               "reason": "found"}]}
    refused = as_person("wes-warehouse", "POST", "/inventory/adjustments", json=adjust)
    assert (refused.status_code, refused.json["field"]) == (403, "adjustments.location_id")


def test_the_local_sign_in_gives_pool_tokens_that_the_api_takes(functions, people):
    from werkzeug.test import Client

    from local.runtime import SIGN_IN_PATH, ApiGateway, demo_keys

    gateway = Client(ApiGateway(functions, demo_keys(), people=people))
    wrong = gateway.post(SIGN_IN_PATH, json={"username": "vic-viewer", "password": "not it"})
    assert wrong.status_code == 401
    assert gateway.post(SIGN_IN_PATH, json={"username": "vic-viewer"}).status_code == 400
    signed_in = gateway.post(SIGN_IN_PATH, json={"username": "vic-viewer", "password": "Viewer-pass-12345!"})
    assert signed_in.status_code == 200 and signed_in.json["token_type"] == "Bearer"
    answer = gateway.get("/orders", headers={"x-api-key": "demo-console-key",
                                             "Authorization": f"Bearer {signed_in.json['id_token']}"})
    assert answer.status_code == 200
