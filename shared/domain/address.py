"""A postal address with optional coordinates: an order's shipping address, a location's, a
parcel's sender and recipient. Apart from the order aggregate so that locations and carriers do not
import `shared.domain.orders` (cold start, docs/performance.md); `shared.domain.orders` re-exports it."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from shared.domain.base import DeferredModel
from shared.domain.bounds import Number


class Address(DeferredModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=200)] | None = None
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] | None = None
    city: Annotated[str, Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(max_length=20)] | None = None
    region: Annotated[str, Field(max_length=100)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
    lat: Annotated[Number, Field(ge=-90, le=90)] | None = None
    lon: Annotated[Number, Field(ge=-180, le=180)] | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> Address:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self
