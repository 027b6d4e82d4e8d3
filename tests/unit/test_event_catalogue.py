"""shared.domain.events is the catalogue's public face over its area modules (events_orders,
events_stock, ...): every event class an area defines is reachable through it, listed in EVENT_TYPES
and `__all__`, and is the area's own class, not a copy."""

from __future__ import annotations

import importlib
import inspect

import pytest

from shared.domain import events
from shared.domain.events_base import DomainEvent

pytestmark = pytest.mark.unit

AREAS = ("events_orders", "events_stock", "events_fulfilment", "events_reconciliation", "events_payments")


def _defined_in(area: str) -> dict[str, type[DomainEvent]]:
    module = importlib.import_module(f"shared.domain.{area}")
    return {name: cls for name, cls in vars(module).items()
            if inspect.isclass(cls) and issubclass(cls, DomainEvent) and cls.__module__ == module.__name__}


def test_every_event_an_area_defines_is_published_through_the_facade():
    for area in AREAS:
        for name, cls in _defined_in(area).items():
            assert getattr(events, name) is cls, name
            assert name in events.__all__, name


def test_every_event_an_area_defines_is_in_the_catalogue_once():
    defined = {cls for area in AREAS for cls in _defined_in(area).values()} - {events.PaymentEvent}
    assert len(events.EVENT_TYPES) == len(set(events.EVENT_TYPES))
    assert set(events.EVENT_TYPES) == defined


def test_every_public_name_resolves_and_an_unknown_one_raises():
    for name in events.__all__:
        assert getattr(events, name) is not None, name
    with pytest.raises(AttributeError, match="OrderAlocated"):
        events.OrderAlocated  # noqa: B018
