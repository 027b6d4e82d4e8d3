"""Routing strategies: the merchant's rules for where orders ship from, held as data.

A strategy has conditions that select the orders it routes and an ordered list of criteria: filters
that remove locations, rankings that order the possible plans (the first ranking decides, the next
breaks its ties, and so on), and what to do with what cannot be filled. Strategies are evaluated by
`rank`; the first active one whose conditions match routes the order. When none matches, the
built-in default (today's fixed rules, `DEFAULT_STRATEGY`) routes it, so nothing changes until a
merchant adds a strategy.

These are plain models; evaluation is `shared/domain/routing.py`'s pure engine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.domain.base import DeferredModel
from shared.domain.bounds import Flag, Integer
from shared.domain.channels import ChannelId
from shared.domain.identifiers import LocationId
from shared.domain.locations import Country, LocationType
from shared.domain.money import Amount, CurrencyCode

if TYPE_CHECKING:  # annotation only: reading strategies doesn't load the order aggregate
    from shared.domain.orders import Order

StrategyId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", examples=["eu-stores-first"])]
SkuPattern = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._*?\[\]!-]+$",
                                  description="A SKU or a glob (fnmatch: * ? [...]), e.g. TEE-*")]
DEFAULT_STRATEGY_ID = "default"
# Strategies a merchant may have (inactive ones included): each order is matched against them in turn,
# allocation reads them all with one Query, and a simulation's candidate set holds as many.
MAX_STRATEGIES = 50


class Ranking(StrEnum):
    """What a ranking criterion prefers; each is computed on a whole plan (its parcels)."""

    FEWEST_PARCELS = "fewest_parcels"
    NEAREST = "nearest"  # smallest total great-circle distance from the shipping locations
    LOWEST_COST = "lowest_cost"  # handling cost + shipping rate by zone and weight (ShippingProfile)
    LOWEST_HANDLING_COST = "lowest_handling_cost"  # handling cost alone (the built-in default's)
    FASTEST = "fastest"  # earliest estimated delivery of the last parcel
    PRIORITY = "priority"  # smallest sum of the locations' priority (1 is first)
    BALANCE_LOAD = "balance_load"  # lowest share of today's order capacity used
    LOWEST_EMISSIONS = "lowest_emissions"  # least estimated kg CO2e (distance x weight x factor)


class Shortfall(StrEnum):
    """What to do with what the plan cannot fill."""

    BACKORDER = "backorder"  # nothing is reserved; the whole order waits for stock
    PARTIAL = "partial"  # reserve what can be filled now; the rest waits
    HOLD = "hold"  # reserve nothing; hold the order for an operator (HoldReason.ROUTING_SHORTFALL)


class _Criterion(DeferredModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RankBy(_Criterion):
    kind: Literal["rank"] = "rank"
    by: Ranking


class LocationTypes(_Criterion):
    """Only these kinds of location (e.g. no stores for orders above a value: a second strategy
    whose conditions select those orders)."""

    kind: Literal["location_types"] = "location_types"
    allowed: Annotated[list[LocationType], Field(min_length=1, max_length=3)]


class AllowLocations(_Criterion):
    kind: Literal["allow_locations"] = "allow_locations"
    location_ids: Annotated[list[LocationId], Field(min_length=1, max_length=500)]


class DenyLocations(_Criterion):
    kind: Literal["deny_locations"] = "deny_locations"
    location_ids: Annotated[list[LocationId], Field(min_length=1, max_length=500)]


class MaxDistance(_Criterion):
    """Locations at most this far (great circle) from the destination; one with an unknown
    distance (no coordinates) is kept, and the reason says so."""

    kind: Literal["max_distance"] = "max_distance"
    km: Annotated[Integer, Field(gt=0, le=40_000)]


class MeetsPromise(_Criterion):
    """Only locations whose estimated delivery (cut-off time, transit days to the destination's
    zone) is on or before the order's `promised_by`. No effect on an order without one."""

    kind: Literal["meets_promise"] = "meets_promise"


Criterion = Annotated[
    RankBy | LocationTypes | AllowLocations | DenyLocations | MaxDistance | MeetsPromise,
    Field(discriminator="kind"),
]
FILTER_KINDS = frozenset({"location_types", "allow_locations", "deny_locations", "max_distance", "meets_promise"})


class OrderValueRange(DeferredModel):
    """The order's total in one currency; an order in another currency does not match."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    currency: CurrencyCode
    min: Amount | None = None
    max: Amount | None = None

    @model_validator(mode="after")
    def _ordered(self) -> OrderValueRange:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Conditions(DeferredModel):
    """Which orders a strategy routes: every condition given must hold (an empty list is refused,
    so that "no channel at all" cannot be written by mistake)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    channels: Annotated[list[ChannelId], Field(min_length=1, max_length=100)] | None = None
    countries: Annotated[list[Country], Field(min_length=1, max_length=250)] | None = None
    regions: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]],
                       Field(min_length=1, max_length=500,
                             description="The address's region (state, province), as channels send it")] | None = None
    fulfillment_types: Annotated[list[Literal["ship", "pickup"]], Field(min_length=1, max_length=2)] | None = None
    order_value: OrderValueRange | None = None
    sku_patterns: Annotated[list[SkuPattern], Field(min_length=1, max_length=100,
                                                    description="Matches when any line's SKU matches")] | None = None
    promised_within_hours: Annotated[Integer, Field(gt=0, le=24 * 365,
                                                    description="Orders whose promised_by is at most this far "
                                                                "from now")] | None = None


class OrderFacts(DeferredModel):
    """What conditions are matched against (taken from the order by the caller)."""

    model_config = ConfigDict(frozen=True)
    channel: str
    country: str
    region: str | None = None
    fulfillment_type: Literal["ship", "pickup"] = "ship"
    total: Decimal
    currency: str
    skus: tuple[str, ...]
    promised_by: datetime | None = None

    @classmethod
    def of(cls, order: Order) -> OrderFacts:
        """The order as captured (not what is left of it), so every allocation step of one order,
        and its what-if replay, is matched against the same facts."""
        req = order.request
        return cls(channel=order.channel, country=req.shipping_address.country, region=req.shipping_address.region,
                   fulfillment_type=req.fulfillment.type, total=order.total, currency=req.currency,
                   skus=tuple(ln.sku for ln in req.lines), promised_by=req.promised_by)


class StrategyRequest(DeferredModel):
    """PUT /routing/strategies/{strategy_id}: the whole strategy (every PUT is a new version)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Annotated[str, Field(min_length=1, max_length=200)]
    rank: Annotated[Integer, Field(ge=1, le=10_000, description="Strategies are tried by rank, 1 first "
                                                                  "(ties by strategy id)")] = 100
    active: Flag = True
    conditions: Conditions = Conditions()
    criteria: Annotated[list[Criterion], Field(min_length=1, max_length=20)]
    allow_split: Flag | None = Field(default=None, description="Split over several locations when one cannot "
                                                               "fill the order; omit for the channel's policy")
    when_short: Shortfall | None = Field(default=None, description="What to do with what cannot be filled; omit "
                                                                   "for the channel's policy (partial or backorder)")

    @field_validator("criteria")
    @classmethod
    def _has_ranking(cls, criteria: list) -> list:
        rankings = [c.by for c in criteria if isinstance(c, RankBy)]
        if not rankings:
            raise ValueError("needs at least one ranking criterion ({\"kind\": \"rank\", \"by\": ...})")
        if len(set(rankings)) != len(rankings):
            raise ValueError("a ranking appears twice: the second could never decide anything")
        return criteria

    @property
    def rankings(self) -> tuple[Ranking, ...]:
        return tuple(c.by for c in self.criteria if isinstance(c, RankBy))

    @property
    def filters(self) -> tuple:
        return tuple(c for c in self.criteria if not isinstance(c, RankBy))


class RoutingStrategy(StrategyRequest):
    """One version of a strategy as stored: versions are never changed, only superseded."""

    strategy_id: StrategyId
    version: Annotated[int, Field(ge=0)]
    updated_at: datetime
    updated_by: str = Field(description="Who saved this version (the operator key or person)")


DEFAULT_STRATEGY = RoutingStrategy(
    strategy_id=DEFAULT_STRATEGY_ID,
    version=0,
    name="Built-in default: fewest parcels, nearest, priority, handling cost",
    rank=10_000,
    criteria=[RankBy(by=Ranking.FEWEST_PARCELS), RankBy(by=Ranking.NEAREST), RankBy(by=Ranking.PRIORITY),
              RankBy(by=Ranking.LOWEST_HANDLING_COST)],
    updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    updated_by="built-in",
)


def matches(conditions: Conditions, facts: OrderFacts, now: datetime) -> bool:
    """True when every condition given holds for the order."""
    c = conditions
    if c.channels is not None and facts.channel not in c.channels:
        return False
    if c.countries is not None and facts.country not in c.countries:
        return False
    if c.regions is not None and (facts.region is None or facts.region.casefold() not in
                                  {r.casefold() for r in c.regions}):
        return False
    if c.fulfillment_types is not None and facts.fulfillment_type not in c.fulfillment_types:
        return False
    if c.order_value is not None:
        v = c.order_value
        if facts.currency != v.currency:
            return False
        if (v.min is not None and facts.total < v.min) or (v.max is not None and facts.total > v.max):
            return False
    if c.sku_patterns is not None and not any(fnmatchcase(sku, p) for sku in facts.skus for p in c.sku_patterns):
        return False
    if c.promised_within_hours is not None:
        if facts.promised_by is None or facts.promised_by - now > timedelta(hours=c.promised_within_hours):
            return False
    return True


def select_strategy(strategies: list[RoutingStrategy], facts: OrderFacts, now: datetime) -> RoutingStrategy:
    """The first active strategy by (rank, id) whose conditions match; else the built-in default."""
    for s in sorted(strategies, key=lambda s: (s.rank, s.strategy_id)):
        if s.active and s.strategy_id != DEFAULT_STRATEGY_ID and matches(s.conditions, facts, now):
            return s
    return DEFAULT_STRATEGY
