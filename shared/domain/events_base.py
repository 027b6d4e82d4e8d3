"""What every domain event shares: `DomainEvent` and the small line models the areas' events carry.

The event classes live by area (events_orders, events_stock, events_fulfilment, events_payments,
events_reconciliation, and returns' and purchasing's own modules); `shared.domain.events` is their
public face, and loads an area only when one of its names is asked for.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.base import DeferredModel


class DomainEvent(BaseModel):
    # Built on first use, not at import: most invocations publish one or two of these types.
    model_config = ConfigDict(extra="forbid", defer_build=True)
    event_type: ClassVar[str]
    description: ClassVar[str]

    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime


# The lines defer too (as return_events' and purchasing_events' do): built with the first event that
# carries them, not by every function that imports an event.
class LineQuantity(DeferredModel):
    sku: str
    quantity: int


class AllocatedLine(LineQuantity):
    location_id: str


class HoldInfo(DeferredModel):
    reason: str
    detail: str
