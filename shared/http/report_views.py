"""Query parameters and bodies of the reports API (functions/reports_api)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field, field_validator

from shared.domain.base import DeferredModel
from shared.domain.money import ISO_4217
from shared.domain.reports import MAX_RANGE_DAYS, GroupBy

FromQuery = Annotated[date, Query(alias="from", description="First capture day (UTC), ISO 8601: 2026-03-01")]
ToQuery = Annotated[date, Query(alias="to", description=f"Last capture day (UTC), inclusive; at most {MAX_RANGE_DAYS} "
                                                        "days after from")]
GroupByQuery = Annotated[GroupBy, Query(description="sales: sku, channel, country, location, customer or day; "
                                                    "fulfillment: day, channel, country or location; returns: day, "
                                                    "sku, channel, country or location")]
LimitQuery = Annotated[int, Query(ge=1, le=10_000, description="At most this many rows (the largest groups first; "
                                                               "days in date order)")]
DatePath = Annotated[date, Path(description="The day the rates are for, ISO 8601")]
RATE_DESCRIPTION = "Units of the base currency per unit of the currency, a positive decimal string: \"1.0843\""


class RatesBody(DeferredModel):
    """The day's rates into the base currency (`OMS_BASE_CURRENCY`, cdk.json `oms:baseCurrency`), replacing
    any the day had: `{"rates": {"EUR": "1.0843", "GBP": "1.2710"}}`. Reports convert each amount at the
    rate of its order's capture day when they are read, so a rate put late applies at once."""

    rates: dict[str, Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=10, description=RATE_DESCRIPTION)]] \
        = Field(min_length=1, max_length=200)

    @field_validator("rates", mode="before")
    @classmethod
    def _codes(cls, value: object) -> object:
        if isinstance(value, dict):
            for code, rate in value.items():
                if code not in ISO_4217:
                    raise ValueError(f"{code!r} is not an ISO 4217 currency code such as EUR or USD")
                if not isinstance(rate, str):
                    raise ValueError(f"{code}: a rate is a decimal string such as \"1.0843\", not a JSON number")
        return value


class RatesView(DeferredModel):
    date: date
    base: str
    rates: dict[str, str]
    updated_at: str
    updated_by: str
