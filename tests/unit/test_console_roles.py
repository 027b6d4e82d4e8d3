"""The console's role gating (dashboard/src/auth.ts) reads who may call each route from config.json's
routeRoles, which both the local runtime and the deployed site fill from infra/wiring.py's route_roles():
the table the API enforces. These tests keep the two from drifting: every route auth.ts gates an action
on is one of the wiring's keyed routes, and both configs carry the wiring's table, not a copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from infra.components.console import SITE_CONFIG
from infra.wiring import route_roles
from local.dashboard import Dashboard

pytestmark = pytest.mark.unit

AUTH_TS = Path(__file__).resolve().parents[2] / "dashboard" / "src" / "auth.ts"


def console_routes() -> dict[str, str]:
    """auth.ts's ROUTE table: {action: "METHOD /path"}."""
    source = AUTH_TS.read_text()
    table = source[source.index("export const ROUTE"):]
    table = table[:table.index("};")]
    return dict(re.findall(r'^\s*"([a-z.]+)": "([A-Z]+ /[^"]*)"', table, re.MULTILINE))


def test_every_action_of_the_console_is_gated_on_a_route_the_wiring_declares():
    routes = console_routes()
    declared = re.search(r"export type Action = ([^;]+);", AUTH_TS.read_text())
    assert declared is not None, "auth.ts declares no Action type"
    actions = set(re.findall(r'"([a-z.]+)"', declared.group(1)))
    assert actions and set(routes) == actions  # every action has its route, and nothing else is listed
    unknown = {action: route for action, route in routes.items() if route not in route_roles()}
    assert unknown == {}, "auth.ts gates on routes infra/wiring.py does not declare (renamed or public?)"


def test_the_roles_the_console_gates_with_are_the_ones_the_api_enforces():
    routes = console_routes()
    roles = route_roles()
    # What a few actions come to, as the API's 403 would say it.
    assert roles[routes["order.write"]] == ["customer_service"]
    assert roles[routes["return.refund"]] == ["finance"]
    assert roles[routes["fulfilment.write"]] == ["warehouse"]
    assert roles[routes["routing.write"]] == []  # admin only


def test_both_configs_hand_the_console_the_wirings_table(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html>")
    client = Client(Dashboard(Response("{}"), "demo-operator-key", dist=tmp_path))
    config = client.get("/dashboard/config.json").json
    assert config is not None and config["routeRoles"] == route_roles()
    assert SITE_CONFIG["routeRoles"] == route_roles()
