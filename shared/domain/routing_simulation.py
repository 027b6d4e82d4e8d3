"""A what-if simulation as a job: what the operator asked (POST /routing/simulations) and where the
replay stands (chunks done, where the next one reads on, the figures so far). The replay itself is
shared/domain/routing_replay.py; running it in chunks is shared/services/routing_simulation.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.config import ChannelPolicy
from shared.domain.base import DeferredModel
from shared.domain.bounds import STORED, Integer, Moment, is_stored
from shared.domain.locations import Location
from shared.domain.routing_strategy import (
    DEFAULT_STRATEGY,
    DEFAULT_STRATEGY_ID,
    MAX_STRATEGIES,
    RoutingStrategy,
    StrategyId,
    StrategyRequest,
)
from shared.domain.shipping_profile import ShippingProfile

MAX_PERIOD_DAYS = 92
# Orders are read by creation day: none is older than the OMS, and none is captured in the future (the
# service also refuses a day after tomorrow). Bounds far inside what date arithmetic can take.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)
MAX_SAMPLE = 50
MAX_CANDIDATES = MAX_STRATEGIES + 1  # as many as there may be, and the built-in default as GET lists it


def _iso_day(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date such as 2026-03-01")
    if not isinstance(value, str | date):
        raise ValueError("must be a date such as 2026-03-01")
    return value


def _in_range(value: date, info: ValidationInfo) -> date:
    if not is_stored(info) and not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be from {FIRST_DAY} to {LAST_DAY}")
    return value


Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_range), Field(examples=["2026-03-01"])]


class CandidateStrategy(StrategyRequest):
    """A strategy of the candidate set: as for PUT /routing/strategies/{strategy_id}, with its id. What
    GET /routing/strategies answers can be sent as it is: `version`, `updated_at` and `updated_by` are
    ignored (a candidate is not stored), and the built-in default may be listed unchanged (it routes what
    no candidate matches anyway)."""

    strategy_id: StrategyId
    version: Annotated[int, Field(ge=0, description="Ignored: as GET /routing/strategies answers it")] | None = None
    updated_at: Moment | None = Field(default=None, description="Ignored")
    updated_by: Annotated[str, Field(max_length=200, description="Ignored")] | None = None

    @model_validator(mode="after")
    def _default_unchanged(self) -> CandidateStrategy:
        d = DEFAULT_STRATEGY
        if self.strategy_id == DEFAULT_STRATEGY_ID and (
                self.criteria, self.conditions, self.active, self.allow_split, self.when_short) != (
                d.criteria, d.conditions, d.active, d.allow_split, d.when_short):
            raise ValidationError.from_exception_data("CandidateStrategy", [InitErrorDetails(
                type=PydanticCustomError("value_error", "default is the built-in strategy, which routes what no "
                                                        "candidate matches: it cannot be changed; give a changed "
                                                        "copy another strategy_id"),
                loc=("strategy_id",), input=self.strategy_id)])
        return self

    def as_strategy(self, now: datetime) -> RoutingStrategy:
        """As a stored version would be (version 0: a candidate is not stored)."""
        return RoutingStrategy.model_validate({**dict(self), "version": 0, "updated_at": now,
                                               "updated_by": "simulation"})


class SimulationRequest(DeferredModel):
    """POST /routing/simulations: replay the orders captured from `from` to `to` (UTC days, both included)
    through `strategies`, which replace the live set entirely for the replay (the built-in default still
    routes what none of them matches; an empty list means the default alone)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    strategies: Annotated[list[CandidateStrategy], Field(max_length=MAX_CANDIDATES)]
    from_: Day = Field(alias="from")
    to: Day
    sample_size: Annotated[Integer, Field(ge=0, le=MAX_SAMPLE, description="Changed orders shown with both "
                                                                           "decisions")] = 10
    request_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$",
                                     description="Yours: the same request_id and body answer the same "
                                                 "simulation")] | None = None

    @field_validator("strategies")
    @classmethod
    def _unique(cls, v: list[CandidateStrategy]) -> list[CandidateStrategy]:
        ids = [s.strategy_id for s in v]
        if len(set(ids)) != len(ids):
            raise ValueError("a strategy_id appears twice")
        return v

    @field_validator("to")
    @classmethod
    def _period(cls, to: date, info: ValidationInfo) -> date:
        start = info.data.get("from_")
        if start is None:
            return to
        if to < start:
            raise ValueError("must be on or after from")
        if (to - start).days + 1 > MAX_PERIOD_DAYS:
            raise ValueError(f"the period is at most {MAX_PERIOD_DAYS} days")
        return to

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.from_, time(), UTC)

    @property
    def ends(self) -> datetime:
        """The last moment of the period (exclusive bound: the next day's start)."""
        return datetime.combine(self.to + timedelta(days=1), time(), UTC)

    def months(self) -> list[str]:
        """The months (yyyy-mm) the period touches, ascending."""
        found, day = [], self.from_.replace(day=1)
        while day <= self.to:
            found.append(day.strftime("%Y-%m"))
            day = (day + timedelta(days=32)).replace(day=1)
        return found


class SimulationStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class SimulationJob:
    """A simulation as stored: what was asked, how far it got (chunks done, where the next one starts,
    the figures so far) and, once DONE, the figures."""

    simulation_id: str
    status: SimulationStatus
    request: SimulationRequest
    fingerprint: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    chunk: int = 0  # chunks done: a message for another chunk is stale or early
    cursor: str | None = None  # where the next chunk reads on (the orders listing's cursor)
    reached: datetime | None = None  # creation time of the last order read
    state: dict[str, Any] | None = None  # ReplayTally.to_state()
    error: str | None = None
    # The message for chunk `chunk` was sent (at least once). False between writing a chunk (or the job)
    # and queueing the next: a redelivered message of the chunk before, or a read of the job once that
    # should have long happened, queues it (again; the chunk condition counts a duplicate once).
    queued: bool = False
    # When the last delivery the queue allows (its maxReceiveCount) of chunk `chunk` started: if that
    # delivery dies (timeout, out of memory) no code of ours runs after it, and a read of the job once it
    # must have ended fails the job.
    last_try_at: datetime | None = None

    def progress(self) -> dict[str, Any]:
        """Orders read of those estimated: the estimate scales what was read by the share of the period
        covered so far (orders are read in creation order), exact once DONE."""
        done = int(self.state["read"]) if self.state else 0
        if self.status is SimulationStatus.DONE:
            return {"orders_done": done, "orders_estimated": done, "fraction": 1.0}
        req = self.request
        covered = 0.0
        if self.reached is not None:
            covered = (self.reached - req.starts) / (req.ends - req.starts)
            covered = min(max(covered, 0.0), 1.0)
        estimated = max(done, round(done / covered)) if covered > 0 and done else None
        return {"orders_done": done, "orders_estimated": estimated,
                "fraction": round(done / estimated, 4) if estimated else 0.0}


@dataclass(frozen=True)
class ReplayNetwork:
    """What every chunk of one simulation replays against, as it was when the simulation was asked: the
    locations, the shipping profile and the channels' policies. Kept with the job, so that a change made
    while it runs cannot make its chunks compare different pictures."""

    locations: tuple[Location, ...]
    profile: ShippingProfile
    policies: dict[str, ChannelPolicy]  # the channels configured or seeded then
    default_policy: ChannelPolicy  # any other channel's

    def policy(self, channel: str) -> ChannelPolicy:
        return self.policies.get(channel, self.default_policy)

    def to_doc(self) -> dict[str, Any]:
        return {"locations": [loc.model_dump(mode="json") for loc in self.locations],
                "profile": self.profile.model_dump(mode="json"),
                "policies": {c: vars(p) for c, p in self.policies.items()}, "default_policy": vars(self.default_policy)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ReplayNetwork:
        return cls(tuple(Location.model_validate(loc, context=STORED) for loc in doc["locations"]),
                   ShippingProfile.model_validate(doc["profile"], context=STORED),
                   {c: ChannelPolicy(**p) for c, p in doc["policies"].items()}, ChannelPolicy(**doc["default_policy"]))

