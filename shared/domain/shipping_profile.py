"""The merchant's shipping data that routing estimates cost, delivery dates and emissions from.

Held as data (`PUT /routing/shipping-profile`), one per merchant: delivery zones, a shipping rate
table by zone and parcel weight, unit weights of SKUs, and emission factors per transport mode
with their source. Locations add their own cut-off time, transit days per zone and transport mode
(`shared/domain/locations.py`).

A destination's zone from a location: `domestic` when it is the location's own country, else the
first zone listing the country, else `rest_of_world`.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.domain.base import DeferredModel
from shared.domain.countries import Country
from shared.domain.money import Amount, CurrencyCode

DOMESTIC = "domestic"
REST_OF_WORLD = "rest_of_world"
ZoneName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,40}$", examples=["eu"])]
Kilograms = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=12, decimal_places=6)]


class TransportMode(StrEnum):
    VAN = "van"
    TRUCK = "truck"
    AIR = "air"
    RAIL = "rail"
    SEA = "sea"


class Zone(DeferredModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ZoneName
    countries: Annotated[list[Country], Field(min_length=1, max_length=250)]


class Rate(DeferredModel):
    """The price of one parcel to a zone up to a weight; the lightest band that fits applies."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    zone: ZoneName
    max_weight_kg: Kilograms
    price: Amount


class SkuWeight(DeferredModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sku_pattern: Annotated[str, Field(min_length=1, max_length=100, description="A SKU or a glob, e.g. MUG-*; "
                                                                                 "the first matching entry wins")]
    kg: Kilograms


class ShippingProfile(DeferredModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    currency: CurrencyCode = Field(default="EUR", description="Of the rates and the locations' handling costs")
    zones: Annotated[list[Zone], Field(max_length=100)] = []
    rates: Annotated[list[Rate], Field(max_length=2_000)] = []
    unit_weights: Annotated[list[SkuWeight], Field(max_length=5_000)] = []
    default_unit_weight_kg: Kilograms = Decimal("0.5")
    # kg CO2e per tonne-km by mode; defaults and their source: shared/domain/routing_estimates.py
    emission_factors: dict[TransportMode, Annotated[Decimal, Field(ge=0, le=100, max_digits=12,
                                                                   decimal_places=8)]] = {}
    emission_factor_source: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ShippingProfile:
        """Zones named once, none of the implied ones, and rates only for known zones; each error at the
        field it is about (e.g. `rates.3.zone`), not at the whole profile."""
        seen: set[str] = set()
        for j, zone in enumerate(self.zones):
            if zone.name in (DOMESTIC, REST_OF_WORLD):
                raise _at(("zones", j, "name"), f"{DOMESTIC} and {REST_OF_WORLD} are implied and cannot be defined",
                          zone.name)
            if zone.name in seen:
                raise _at(("zones", j, "name"), f"zone {zone.name} appears twice", zone.name)
            seen.add(zone.name)
        known = seen | {DOMESTIC, REST_OF_WORLD}
        for i, rate in enumerate(self.rates):
            if rate.zone not in known:
                raise _at(("rates", i, "zone"), f"unknown zone {rate.zone}: define it in zones (or use {DOMESTIC} "
                                                f"or {REST_OF_WORLD})", rate.zone)
        return self


DEFAULT_SHIPPING_PROFILE = ShippingProfile()
"""The defaults (no zones, no rates, 0.5 kg a unit), one object: routing builds its estimator once per
profile object, so every order routed without a stored profile shares one."""


def _at(loc: tuple[str | int, ...], message: str, value: object) -> ValidationError:
    """A validation error at `loc` inside the profile (pydantic prefixes where the profile itself sits)."""
    return ValidationError.from_exception_data("ShippingProfile", [InitErrorDetails(
        type=PydanticCustomError("value_error", message.replace("{", "(").replace("}", ")")), loc=loc, input=value)])
