"""local/dashboard.py: the built console under /dashboard, everything else to the API, nothing outside dist."""

from __future__ import annotations

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from local.dashboard import Dashboard

pytestmark = pytest.mark.unit


@pytest.fixture
def client(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>console</title>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for the browser")
    api = Response('{"from": "api"}', content_type="application/json")
    return Client(Dashboard(api, "demo-operator-key", dist=dist)), dist


def test_the_console_and_its_assets_are_served_under_dashboard(client):
    c, _ = client
    assert c.get("/dashboard").status_code == 308
    assert c.get("/dashboard").headers["Location"] == "/dashboard/"
    index = c.get("/dashboard/")
    assert index.status_code == 200 and "console" in index.text and index.headers["Cache-Control"] == "no-cache"
    asset = c.get("/dashboard/assets/app-1234.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
    assert asset.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))


def test_other_paths_go_to_the_api(client):
    c, _ = client
    assert c.get("/orders").json == {"from": "api"}
    assert c.get("/dashboardx").json == {"from": "api"}


def test_nothing_outside_the_build_is_served(client):
    c, _ = client
    assert c.get("/dashboard/../secret.txt").status_code == 404
    assert c.get("/dashboard/%2e%2e/secret.txt").status_code == 404
    assert c.get("/dashboard/missing.js").status_code == 404
    assert c.post("/dashboard/").status_code == 405


def test_the_local_config_offers_the_demo_operator_key(client):
    c, _ = client
    config = c.get("/dashboard/config.json").json
    assert config.pop("routeRoles")  # the wiring's roles per route (tests/unit/test_console_roles.py)
    assert config == {"apiBase": "", "auth": "api-key", "demoOperatorKey": "demo-operator-key"}


def test_an_unbuilt_console_says_how_to_build_it(client):
    c, dist = client
    (dist / "index.html").unlink()
    answer = c.get("/dashboard/")
    assert answer.status_code == 404 and "npm run build:dashboard" in answer.text


def test_the_local_config_names_the_console_key_and_the_sign_in_when_given(tmp_path):
    api = Response("{}", content_type="application/json")
    c = Client(Dashboard(api, "demo-operator-key", dist=tmp_path, console_key="demo-console-key", sign_in="/auth/token"))
    config = c.get("/dashboard/config.json").json
    del config["routeRoles"]
    assert config == {"apiBase": "", "auth": "api-key", "demoOperatorKey": "demo-operator-key",
                      "consoleKey": "demo-console-key", "signIn": "/auth/token"}
