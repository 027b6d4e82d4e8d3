"""A person's tokens renewed without signing in again: the local runtime's POST /auth/refresh (Cognito's
REFRESH_TOKEN_AUTH against the emulator's pool) answers new tokens the API takes, with the person's groups
as they are now, and refuses a refresh token the pool did not issue."""

from __future__ import annotations

import jwt
import pytest
from werkzeug.test import Client

from local.people import DemoPerson
from local.runtime import REFRESH_PATH, SIGN_IN_PATH, ApiGateway, demo_keys
from tests.integration.conftest import people_pool

PEOPLE = (DemoPerson("ada-admin", "Admin-pass-12345!", ("admin",)),
          DemoPerson("vic-viewer", "Viewer-pass-12345!", ("viewer",)))


@pytest.fixture
def gateway(aws, emulator, monkeypatch, functions):
    pool = people_pool(emulator, monkeypatch, PEOPLE, ())
    return Client(ApiGateway(functions, demo_keys(), people=pool))


def sign_in(gateway, username: str, password: str) -> dict:
    answer = gateway.post(SIGN_IN_PATH, json={"username": username, "password": password})
    assert answer.status_code == 200
    return answer.json


def as_bearer(gateway, method: str, path: str, token: str, **kwargs):
    return gateway.open(path, method=method, headers={"x-api-key": "demo-console-key", "Authorization": f"Bearer {token}"},
                        **kwargs)


def groups(id_token: str) -> list[str]:
    return jwt.decode(id_token, options={"verify_signature": False})["cognito:groups"]


def test_a_sign_in_gives_a_refresh_token_and_a_refresh_gives_tokens_the_api_takes(gateway):
    signed_in = sign_in(gateway, "vic-viewer", "Viewer-pass-12345!")
    refreshed = gateway.post(REFRESH_PATH, json={"refresh_token": signed_in["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json["token_type"] == "Bearer" and refreshed.json["expires_in"] > 0
    assert refreshed.json["id_token"] != signed_in["id_token"]
    assert as_bearer(gateway, "GET", "/orders", refreshed.json["id_token"]).status_code == 200
    assert as_bearer(gateway, "GET", "/orders", refreshed.json["access_token"]).status_code == 200


def test_a_refresh_carries_the_roles_an_admin_gave_since_the_sign_in(gateway):
    viewer = sign_in(gateway, "vic-viewer", "Viewer-pass-12345!")
    admin = sign_in(gateway, "ada-admin", "Admin-pass-12345!")
    changed = as_bearer(gateway, "PUT", "/people/vic-viewer/roles", admin["id_token"], json={"roles": ["finance"]})
    assert changed.status_code == 200
    assert groups(viewer["id_token"]) == ["viewer"]
    refreshed = gateway.post(REFRESH_PATH, json={"refresh_token": viewer["refresh_token"]}).json
    assert groups(refreshed["id_token"]) == ["finance"]


@pytest.mark.parametrize("body, status", [({"refresh_token": "made-up"}, 401), ({}, 400), ({"token": "x"}, 400)])
def test_a_refresh_token_the_pool_did_not_issue_is_refused(gateway, body, status):
    answer = gateway.post(REFRESH_PATH, json=body)
    assert (answer.status_code, answer.json["field"]) == (status, "body")


def test_the_console_is_told_where_to_refresh(gateway):
    from local.dashboard import Dashboard

    console = Client(Dashboard(None, "demo-operator-key", sign_in=SIGN_IN_PATH, refresh=REFRESH_PATH))
    assert console.get("/dashboard/config.json").json["refresh"] == REFRESH_PATH
