"""What a cold start pays for at import (docs/performance.md, "Cold start"): the domain's and the views'
pydantic models build their validators on first use, not when their class is defined; a read on
orders-api imports none of the event models its writes publish, admin-api's list of exceptions none
of the reconciliation run's machinery, the stock repository none of the routing domain. Checked in a
fresh interpreter, where no other test has built a model or imported a module yet."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ConfigDict, ValidationError

from shared.domain.base import DeferredModel

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _after_importing(module: str, probe: str) -> dict:
    """Import `module` in a fresh interpreter, then answer the JSON `probe` evaluates to."""
    code = f"import json, sys\nimport {module}\nprint(json.dumps({probe}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=120)
    return json.loads(done.stdout)


def test_an_orders_read_imports_no_event_model():
    loaded = _after_importing("functions.orders_api.handler",
                              "{m: m in sys.modules for m in ('shared.domain.events', 'shared.services.order_actions')}")
    assert loaded == {"shared.domain.events": False, "shared.services.order_actions": False}


def test_listing_exceptions_imports_none_of_the_reconciliation_run():
    machinery = ("shared.services.reconciliation.runner", "shared.services.reconciliation.context")
    loaded = _after_importing("functions.admin_api.handler", f"[m for m in {machinery!r} if m in sys.modules]")
    assert loaded == []


def test_the_stock_repository_loads_no_routing_domain():
    assert _after_importing("shared.adapters.stock_repo", "'shared.domain.routing' in sys.modules") is False


def _built_at_import(function: str, models: list[tuple[str, str]]) -> dict[str, bool]:
    """Whether each (module, model) had built its validator once `function`'s handler was imported."""
    probe = f"{{name: getattr(sys.modules[mod], name).__pydantic_complete__ for mod, name in {models!r}}}"
    return _after_importing(function, probe)


def test_the_models_an_api_function_imports_are_not_built_at_import():
    built = _built_at_import("functions.orders_api.handler", [
        ("shared.domain.orders", "Order"), ("shared.domain.orders", "OrderRequest"),
        ("shared.http.views", "OrderView"), ("shared.http.views", "OrderPage")])
    assert built == {"Order": False, "OrderRequest": False, "OrderView": False, "OrderPage": False}


def test_the_documented_error_bodies_are_not_built_at_import():
    """ErrorBody and its parts only describe the answers in the OpenAPI document: they defer."""
    built = _built_at_import("functions.orders_api.handler", [
        ("shared.http.openapi", "ErrorBody"), ("shared.http.openapi", "ProblemDetail"),
        ("shared.http.openapi", "GatewayError")])
    assert built == {"ErrorBody": False, "ProblemDetail": False, "GatewayError": False}


def test_admin_api_builds_no_people_model_at_import():
    built = _built_at_import("functions.admin_api.handler", [
        ("shared.domain.people", "Person"), ("shared.domain.people", "Invitation"),
        ("shared.http.people_views", "PeoplePage"), ("shared.http.people_views", "PersonWritten")])
    assert built == {"Person": False, "Invitation": False, "PeoplePage": False, "PersonWritten": False}


class _Line(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    sku: str
    price: Decimal


def test_a_deferred_model_keeps_its_own_config_and_validates_on_first_use():
    assert _Line.model_config.get("defer_build") is True and _Line.model_config.get("extra") == "forbid"
    assert _Line(sku="A", price="1.50").price == Decimal("1.50")
    assert _Line.__pydantic_complete__
    with pytest.raises(ValidationError, match="extra_forbidden"):
        _Line(sku="A", price="1", colour="red")


def test_stock_locations_channels_and_strategies_load_no_order_aggregate():
    """The identifier shapes and the address live apart from `shared.domain.orders` (identifiers.py,
    address.py), and a location builds routing's `Candidate` only when routing asks for one."""
    readers = ("functions.locations_api.handler, functions.inventory_api.handler, functions.channels_api.handler, "
               "functions.purchasing_api.handler, functions.routing_api.handler, shared.domain.fulfillment")
    loaded = _after_importing(readers, "[m for m in ('shared.domain.orders', 'shared.domain.routing_types') "
                                       "if m in sys.modules]")
    assert loaded == []


def test_the_reads_of_stock_locations_channels_purchasing_and_returns_load_no_event_model():
    """inventory, channels, purchasing, replenishment and returns import their event models in the writes
    that publish them."""
    readers = ("functions.inventory_api.handler, functions.locations_api.handler, functions.channels_api.handler, "
               "functions.purchasing_api.handler, functions.returns_api.handler, functions.return_policies_api.handler")
    assert _after_importing(readers, "'shared.domain.events' in sys.modules") is False


def test_channel_intake_and_settlement_load_no_reconciliation_rules():
    """They raise an exception record on a side branch: its kind and record live apart from the rules
    (shared/domain/exception_records.py), which import the order, fulfilment, stock and shipment domains."""
    flows = "shared.services.channel_intake, shared.services.settlement"
    assert _after_importing(flows, "'shared.domain.reconciliation' in sys.modules") is False


def test_listing_exceptions_loads_none_of_the_domains_the_run_reads():
    """admin-api's handler and the reconciliation repository (which serves the listing) import the
    order, fulfilment, stock, shipment and reconciliation-rule domains only in the run's reads."""
    loaded = _after_importing("functions.admin_api.handler, shared.adapters.reconciliation_repo",
                              "[m for m in ('shared.domain.orders', 'shared.domain.fulfillment', 'shared.domain.stock', "
                              "'shared.domain.shipments', 'shared.domain.reconciliation') if m in sys.modules]")
    assert loaded == []


def test_applying_tracking_updates_loads_no_carrier_webhook_format_nor_event_model_at_import():
    """The carriers' webhook parsers load with the webhook (carrier-webhooks), the events with the
    updates that publish them (shared/services/tracking.py, return_tracking.py)."""
    loaded = _after_importing("functions.apply_tracking.handler",
                              "[m for m in ('shared.carriers.webhooks', 'shared.domain.events') if m in sys.modules]")
    assert loaded == []


def test_an_event_loads_only_its_own_area_of_the_catalogue():
    """shared.domain.events imports an area module when one of its names is first asked for: an order
    event defines none of the payment, fulfilment, stock or reconciliation events, and the line
    models every area shares (events_base.py) defer their build too."""
    loaded = _after_importing("shared.domain.events",
                              "[sys.modules['shared.domain.events'].OrderAllocated.__name__, "
                              "sorted(m for m in sys.modules if m.startswith('shared.domain.events_')), "
                              "[getattr(sys.modules['shared.domain.events_base'], m).__pydantic_complete__ "
                              "for m in ('LineQuantity', 'AllocatedLine', 'HoldInfo')]]")
    assert loaded == ["OrderAllocated", ["shared.domain.events_base", "shared.domain.events_orders"],
                      [False, False, False]]


def test_queue_functions_load_only_the_event_areas_they_publish():
    """allocate-orders publishes order, stock and fulfilment events, settle-payments payment ones (and
    the order's release): neither defines the other's, nor the reconciliation run's."""
    areas = "sorted(m.rsplit('_', 1)[1] for m in sys.modules if m.startswith('shared.domain.events_'))"
    assert _after_importing("functions.allocate_orders.handler", areas) == ["base", "fulfilment", "orders", "stock"]
    assert _after_importing("functions.settle_payments.handler", areas) == ["base", "orders", "payments"]
