"""The people routes (admin-api) through the local API Gateway, with real sign-in tokens of the emulator's
Cognito pool: an admin lists, invites, changes roles, disables and enables people; nobody else may."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from local.people import DemoPerson
from tests.factories import TWO_WAREHOUSES, seed
from tests.integration.conftest import people_pool, person_caller

PEOPLE = (
    DemoPerson("ada-admin", "Admin-pass-12345!", ("admin",)),
    DemoPerson("cass-cs", "Custserv-pass-12345!", ("customer_service",)),
    DemoPerson("wes-warehouse", "Warehouse-pass-12345!", ("warehouse", "location:BER")),
)
NEW = {"username": "nina-new", "email": "nina@example.com", "roles": ["viewer"]}


@pytest.fixture
def people(aws, emulator, monkeypatch, repos):
    seed(repos, TWO_WAREHOUSES, {})
    # BER's group only: MAD's is made when a first person works there.
    return people_pool(emulator, monkeypatch, PEOPLE, ("BER",))


@pytest.fixture
def as_person(api, people):
    return person_caller(api, people, sign_in_each_call=True)  # a role change shows at the next sign-in


def test_an_admin_lists_people_with_their_roles_and_status(as_person):
    answer = as_person("ada-admin", "GET", "/people")
    assert answer.status_code == 200
    found = {p["username"]: p for p in answer.json["people"]}
    assert set(found) == {"ada-admin", "cass-cs", "wes-warehouse"}
    assert found["cass-cs"] == {"username": "cass-cs", "email": None, "roles": ["customer_service"], "locations": [],
                                "enabled": True, "status": "CONFIRMED"}
    assert found["wes-warehouse"]["locations"] == ["BER"]


@pytest.mark.parametrize("method, path", [("GET", "/people"), ("POST", "/people"),
                                          ("PUT", "/people/cass-cs/roles"), ("POST", "/people/ada-admin/disable"),
                                          ("POST", "/people/cass-cs/enable")])
def test_nobody_but_an_admin_manages_people(as_person, method, path):
    body = NEW if path == "/people" and method == "POST" else {"roles": ["admin"]} if method == "PUT" else None
    refused = as_person("cass-cs", method, path, json=body)
    assert (refused.status_code, refused.json["missing_role"]) == (403, "admin")
    assert "admin" in refused.json["message"]


def test_an_invited_person_gets_their_roles_and_must_set_a_password(as_person, people):
    answer = as_person("ada-admin", "POST", "/people", json={**NEW, "roles": ["warehouse", "finance"],
                                                               "locations": ["MAD"]})
    assert answer.status_code == 201
    assert answer.json == {"updated_by": "user:ada-admin", "person": {
        "username": "nina-new", "email": "nina@example.com", "roles": ["warehouse", "finance"], "locations": ["MAD"],
        "enabled": True, "status": "FORCE_CHANGE_PASSWORD"}}
    listed = {p["username"]: p for p in as_person("ada-admin", "GET", "/people").json["people"]}
    assert listed["nina-new"]["roles"] == ["warehouse", "finance"]
    again = as_person("ada-admin", "POST", "/people", json=NEW)
    assert (again.status_code, again.json["field"]) == (409, "username")


@pytest.mark.parametrize("change, field", [
    ({"roles": ["superuser"]}, "roles.0"),
    ({"roles": []}, "roles"),
    ({"email": "not an email"}, "email"),
    ({"username": "Nina New"}, "username"),
    ({"username": None}, "username"),
    ({"roles": ["viewer"], "locations": ["BER"]}, "locations"),  # locations are a warehouse person's
    ({"roles": ["warehouse"], "locations": ["NOWHERE"]}, "locations"),
])
def test_bad_input_is_a_422_naming_the_field(as_person, change, field):
    answer = as_person("ada-admin", "POST", "/people", json={**NEW, **change})
    assert (answer.status_code, answer.json["field"]) == (422, field)


def test_a_role_change_is_what_the_person_may_do_at_their_next_sign_in(as_person):
    query = {"from": "2026-01-01", "to": "2026-01-31", "group_by": "day"}
    assert as_person("cass-cs", "GET", "/reports/sales", query_string=query).status_code == 403
    changed = as_person("ada-admin", "PUT", "/people/cass-cs/roles", json={"roles": ["finance"]})
    assert changed.status_code == 200
    assert (changed.json["person"]["roles"], changed.json["updated_by"]) == (["finance"], "user:ada-admin")
    assert as_person("cass-cs", "GET", "/reports/sales", query_string=query).status_code == 200
    taken_away = as_person("cass-cs", "POST", "/orders/any/cancel")
    assert (taken_away.status_code, taken_away.json["missing_role"]) == (403, "customer_service")


def test_a_warehouse_persons_locations_are_set_as_a_whole(as_person):
    moved = as_person("ada-admin", "PUT", "/people/wes-warehouse/roles",
                      json={"roles": ["warehouse"], "locations": ["MAD"]})
    assert moved.json["person"]["locations"] == ["MAD"]
    assert as_person("wes-warehouse", "GET", "/locations/MAD/fulfillment-orders").status_code == 200
    assert as_person("wes-warehouse", "GET", "/locations/BER/fulfillment-orders").status_code == 403


def test_a_disabled_person_cannot_sign_in_until_enabled(as_person, people):
    disabled = as_person("ada-admin", "POST", "/people/cass-cs/disable")
    assert disabled.status_code == 200
    assert (disabled.json["person"]["enabled"], disabled.json["updated_by"]) == (False, "user:ada-admin")
    with pytest.raises(ClientError):
        people.token("cass-cs")
    enabled = as_person("ada-admin", "POST", "/people/cass-cs/enable")
    assert enabled.json["person"]["enabled"] is True
    assert people.token("cass-cs")


@pytest.mark.parametrize("method, path, body", [("PUT", "/people/nobody/roles", {"roles": ["viewer"]}),
                                                ("POST", "/people/nobody/disable", None),
                                                ("POST", "/people/nobody/enable", None)])
def test_an_unknown_person_is_404(as_person, method, path, body):
    answer = as_person("ada-admin", method, path, json=body)
    assert (answer.status_code, answer.json["field"]) == (404, "username")


def test_an_admin_cannot_lock_themselves_out(as_person):
    demoted = as_person("ada-admin", "PUT", "/people/ada-admin/roles", json={"roles": ["viewer"]})
    assert (demoted.status_code, demoted.json["field"]) == (409, "roles")
    disabled = as_person("ada-admin", "POST", "/people/ada-admin/disable")
    assert (disabled.status_code, disabled.json["field"]) == (409, "username")
    assert as_person("ada-admin", "GET", "/people").status_code == 200  # still an admin


def test_the_operator_key_acts_as_admin_and_is_recorded_as_operator(api, people):
    answer = api("POST", "/people", json=NEW)
    assert (answer.status_code, answer.json["updated_by"]) == (201, "operator")
