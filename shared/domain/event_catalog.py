"""Every event type the OMS publishes, for the schema docs and their tests. Not imported by the
functions: each imports only the event classes it publishes."""

from __future__ import annotations

from shared.domain.events import EVENT_TYPES as ORDER_AND_STOCK_EVENTS
from shared.domain.events import DomainEvent
from shared.domain.purchasing_events import PURCHASING_EVENTS
from shared.domain.return_events import RETURN_EVENTS

EVENT_TYPES: tuple[type[DomainEvent], ...] = (*ORDER_AND_STOCK_EVENTS, *RETURN_EVENTS, *PURCHASING_EVENTS)
