"""What the routing API answers and accepts beyond the domain models (shared/domain/routing_strategy.py,
shared/domain/shipping_profile.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field

from shared.domain.base import DeferredModel
from shared.domain.routing_strategy import RoutingStrategy
from shared.domain.shipping_profile import ShippingProfile

StrategyPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$",
                                   description="The strategy's id (default: the built-in strategy, read only)")]
VersionPath = Annotated[int, Path(ge=0, le=9_999_999_999, description="A version number (the built-in's is 0)")]
PageLimit = Annotated[int, Query(ge=1, le=200)]
PageCursor = Annotated[str | None, Query(max_length=2048)]


class NoticeView(DeferredModel):
    field: str
    problem: str


class StrategyWritten(DeferredModel):
    strategy: RoutingStrategy
    changed: bool = Field(description="false: the body was the current version already, nothing was written")
    notices: list[NoticeView] = Field(description="Allowed, but worth knowing: e.g. a promise filter while no "
                                                  "location has transit days yet")

    @classmethod
    def of(cls, written) -> StrategyWritten:
        """`written`: shared/services/routing_strategies.py StrategyWritten."""
        return cls(strategy=written.strategy, changed=written.changed,
                   notices=[NoticeView(field=n.field, problem=n.problem) for n in written.notices])


class StrategyList(DeferredModel):
    """The current versions in the order they are tried (rank, then id); the built-in default last,
    which routes every order none of them matches."""

    strategies: list[RoutingStrategy]


class VersionPage(DeferredModel):
    """A strategy's versions, newest first; pass `next_cursor` back as `cursor` for the next page."""

    versions: list[RoutingStrategy]
    next_cursor: str | None = None


class ProfileView(DeferredModel):
    profile: ShippingProfile
    version: int | None = Field(description="None: never set, the defaults apply")
    updated_at: datetime | None = None
    updated_by: str | None = None
    changed: bool | None = Field(default=None, description="On PUT: false when the body was current already")

    @classmethod
    def of(cls, stored, changed: bool | None = None) -> ProfileView:
        """`stored`: shared/adapters/routing_repo.py StoredProfile, or None."""
        if stored is None:
            return cls(profile=ShippingProfile(), version=None)
        return cls(profile=stored.profile, version=stored.version, updated_at=stored.updated_at,
                   updated_by=stored.updated_by, changed=changed)
