"""Locations: warehouses, stores and 3PLs that hold stock and fulfil orders."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field, field_validator

from shared.domain.address import Address
from shared.domain.base import DeferredModel
from shared.domain.bounds import Flag, Integer, Number
from shared.domain.countries import Country
from shared.domain.money import ZERO, Amount
from shared.domain.shipping_profile import TransportMode, ZoneName

if TYPE_CHECKING:
    from shared.domain.routing_types import Candidate

TransitDays = Annotated[Integer, Field(ge=0, le=60)]


class LocationType(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    THIRD_PARTY = "3pl"


class LocationRequest(DeferredModel):
    """PUT /locations/{location_id}: the whole location (create or replace)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: LocationType
    country: Country
    lat: Annotated[Number, Field(ge=-90, le=90)]
    lon: Annotated[Number, Field(ge=-180, le=180)]
    ships_to: Annotated[list[Country], Field(max_length=250, description="Countries it ships to")] = []
    pickup_enabled: Flag = False
    priority: Annotated[Integer, Field(ge=1, le=1000, description="1 is preferred first")] = 100
    handling_cost: Amount = ZERO
    daily_order_capacity: Annotated[Integer, Field(ge=0, le=1_000_000)] | None = Field(
        default=None, description="Orders it can take per UTC day; omit for no limit"
    )
    active: Flag = True
    address: Address | None = Field(default=None, description="Where parcels leave from: needed to buy labels")
    accepts_returns: Flag = Field(default=True, description="Takes returned parcels, from its own country and the "
                                                            "countries it ships to")
    # What routing estimates delivery dates and emissions from (docs/routing.md).
    cutoff_utc: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["14:00"])] | None = Field(
        default=None, description="HH:MM UTC: orders routed before it ship that day, later ones the next; omit "
                                  "if every order ships the day it is routed")
    transit_days: Annotated[dict[ZoneName, TransitDays], Field(max_length=102)] = Field(
        default={}, description="Days in transit by destination zone (domestic, rest_of_world or a zone of the "
                                "shipping profile); a zone not listed cannot be promised")
    transport_mode: TransportMode = Field(default=TransportMode.VAN, description="How its parcels travel (emission "
                                                                                 "factor)")

    @field_validator("ships_to")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return sorted(set(v))


class Location(LocationRequest):
    location_id: str
    updated_at: datetime
    # None on an item written before writes recorded their actor.
    updated_by: str | None = Field(default=None, description="Who last changed it: operator or user:<username>")

    def candidate(self, orders_today: int) -> Candidate:
        # Only routing asks for a candidate: the locations API and stock reads don't load routing's types.
        from shared.domain.routing_types import Candidate

        cap = self.daily_order_capacity
        return Candidate(
            location_id=self.location_id,
            country=self.country,
            ships_to=frozenset(self.ships_to),
            lat=self.lat,
            lon=self.lon,
            priority=self.priority,
            handling_cost=self.handling_cost,
            pickup_enabled=self.pickup_enabled,
            capacity_left=None if cap is None else cap - orders_today,
            location_type=self.type.value,
            daily_capacity=cap,
            orders_today=orders_today,
            cutoff_utc=None if self.cutoff_utc is None else time.fromisoformat(self.cutoff_utc),
            transit_days=dict(self.transit_days),
            transport_mode=self.transport_mode.value,
        )
