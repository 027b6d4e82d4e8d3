"""Domain events: every state change the OMS announces on its EventBridge bus.

Each class is one `detail-type`; its JSON schema is generated into docs/events/ and listed in
docs/events.md. Events are written to the outbox in the same transaction as the change they
announce (see shared/adapters/outbox.py), so a change and its event never diverge.
Consumers must be idempotent on `event_id`: delivery is at least once.

This module is the catalogue's public face; the classes live by area (events_orders, events_stock,
events_fulfilment, events_reconciliation, events_payments, on events_base's `DomainEvent`).
Defining the 38 models costs 20-50 ms of CPU, and a function publishes the events of one or two
areas: a name is imported from its area on first access (PEP 562 `__getattr__`), so allocate-orders
never defines the payment events, nor settle-payments the stock ones. Type checkers and readers see
the explicit imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shared.domain.events_base import AllocatedLine, DomainEvent, HoldInfo, LineQuantity

if TYPE_CHECKING:
    from shared.domain.events_fulfilment import (
        FulfillmentOrderChanged,
        FulfillmentRequested,
        OrderDelivered,
        OrderShipped,
        ShipmentDelayed,
        ShipmentDispatched,
        ShipmentTrackingUpdated,
    )
    from shared.domain.events_orders import (
        ChannelOrderUpdated,
        OrderAllocated,
        OrderBackordered,
        OrderCancelled,
        OrderLinesCancelled,
        OrderOnHold,
        OrderReceived,
        OrderRejected,
        OrderReleased,
    )
    from shared.domain.events_payments import (
        CodCollected,
        DocumentIssued,
        PaymentAuthorized,
        PaymentCaptured,
        PaymentCaptureRefused,
        PaymentDisputed,
        PaymentEvent,
        PaymentFailed,
        PaymentRefunded,
        PaymentVoided,
    )
    from shared.domain.events_reconciliation import (
        OrderStuck,
        ReconciliationCompleted,
        StockDriftRepaired,
    )
    from shared.domain.events_stock import (
        ChannelChanged,
        ChannelStockChanged,
        LocationChanged,
        StockChanged,
        StockLow,
    )

_AREA_EVENTS: dict[str, tuple[str, ...]] = {
    "events_orders": (
        "OrderReceived", "OrderReleased", "OrderOnHold", "OrderAllocated", "OrderBackordered",
        "OrderCancelled", "OrderLinesCancelled", "OrderRejected", "ChannelOrderUpdated",
    ),
    "events_stock": (
        "StockChanged", "StockLow", "LocationChanged", "ChannelChanged", "ChannelStockChanged",
    ),
    "events_fulfilment": (
        "FulfillmentRequested", "FulfillmentOrderChanged", "ShipmentDispatched", "OrderShipped",
        "ShipmentTrackingUpdated", "ShipmentDelayed", "OrderDelivered",
    ),
    "events_reconciliation": (
        "StockDriftRepaired", "OrderStuck", "ReconciliationCompleted",
    ),
    "events_payments": (
        "PaymentEvent", "PaymentAuthorized", "PaymentCaptured", "PaymentCaptureRefused", "PaymentFailed",
        "PaymentVoided", "PaymentRefunded", "CodCollected", "PaymentDisputed", "DocumentIssued",
    ),
}
"""Each area module under shared.domain and the event classes it defines."""

_AREAS: dict[str, str] = {name: area for area, names in _AREA_EVENTS.items() for name in names}

_BASES = frozenset({"PaymentEvent"})
"""Classes of the catalogue that are no event of their own (what the payment events share)."""

__all__ = [
    "EVENT_TYPES", "AllocatedLine", "DomainEvent", "HoldInfo", "LineQuantity", "ChannelChanged",
    "ChannelOrderUpdated", "ChannelStockChanged", "CodCollected", "DocumentIssued", "FulfillmentOrderChanged",
    "FulfillmentRequested", "LocationChanged", "OrderAllocated", "OrderBackordered", "OrderCancelled",
    "OrderDelivered", "OrderLinesCancelled", "OrderOnHold", "OrderReceived", "OrderRejected", "OrderReleased",
    "OrderShipped", "OrderStuck", "PaymentAuthorized", "PaymentCaptureRefused", "PaymentCaptured",
    "PaymentDisputed", "PaymentEvent", "PaymentFailed", "PaymentRefunded", "PaymentVoided",
    "ReconciliationCompleted", "ShipmentDelayed", "ShipmentDispatched", "ShipmentTrackingUpdated",
    "StockChanged", "StockDriftRepaired", "StockLow",
]


def __getattr__(name: str) -> Any:
    """An event class, imported from its area on first access (then a plain module global); or
    EVENT_TYPES, which loads every area (only the docs generator and the tests ask for it)."""
    if name == "EVENT_TYPES":
        value: Any = tuple(__getattr__(event) for names in _AREA_EVENTS.values() for event in names
                           if event not in _BASES)
    elif name in _AREAS:
        value = getattr(importlib.import_module(f"shared.domain.{_AREAS[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    EVENT_TYPES: tuple[type[DomainEvent], ...]
    """Every event type the OMS publishes but returns' and purchasing's (shared/domain/event_catalog.py
    adds those), for the schema docs and their tests. Not imported by the functions: each imports
    only the event classes it publishes."""
