"""The operator's people as an admin manages them: who they are (username, email), their roles (the pool's
role groups, shared/domain/principal.py Role), a warehouse person's locations (`location:<id>` groups),
whether they may sign in, and where their account stands. The pool keeps all of it: no table item.

The username is what a person's writes record as their actor and what logs may name; the email is
personal data, answered to an admin only and never logged or put on the bus.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from shared.domain.base import DeferredModel
from shared.domain.principal import LOCATION_GROUP_PREFIX, PERSON_PREFIX, Role

# Cognito's usernames are case-insensitive in this pool (infra/components/people.py): lower case only,
# so "Ada" and "ada" are not two spellings of one person in our logs and actors.
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,62}$"
Username = Annotated[str, Field(pattern=USERNAME_PATTERN, description="Lower case letters, digits, . _ -")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
LocationId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class UnknownPerson(Exception):
    """The directory has no person of that username."""


class PersonExists(Exception):
    """The directory has a person of that username already."""


class AccountStatus(StrEnum):
    """Cognito's UserStatus: where a person's account stands."""

    FORCE_CHANGE_PASSWORD = "FORCE_CHANGE_PASSWORD"  # invited: has not yet set their own password
    CONFIRMED = "CONFIRMED"
    RESET_REQUIRED = "RESET_REQUIRED"
    UNCONFIRMED = "UNCONFIRMED"
    ARCHIVED = "ARCHIVED"
    COMPROMISED = "COMPROMISED"
    EXTERNAL_PROVIDER = "EXTERNAL_PROVIDER"
    UNKNOWN = "UNKNOWN"


class Person(DeferredModel):
    username: str
    email: str | None = None
    roles: list[Role]
    locations: list[str] = Field(default_factory=list, description="A warehouse person's locations")
    enabled: bool
    status: AccountStatus


class RolesWanted(DeferredModel):
    """A person's roles and locations, as a whole: what is not named is taken away."""

    model_config = ConfigDict(extra="forbid")
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
    locations: Annotated[list[LocationId], Field(max_length=50)] = Field(default_factory=list)


class Invitation(RolesWanted):
    """A new person: Cognito emails them a temporary password, to be changed at first sign-in."""

    username: Username
    email: Email


@dataclass(frozen=True)
class GroupChange:
    add: tuple[str, ...]
    remove: tuple[str, ...]


def groups_of(wanted: RolesWanted) -> set[str]:
    """The pool groups that grant `wanted`: a group per role, a `location:<id>` group per location."""
    return {r.value for r in wanted.roles} | {LOCATION_GROUP_PREFIX + lid for lid in wanted.locations}


def group_change(current: set[str], wanted: RolesWanted) -> GroupChange:
    """What to add and remove so the person's role and location groups are exactly `wanted`'s. Groups that
    grant nothing (none of the pool's role or location groups) are not ours to remove."""
    ours = {g for g in current if g in Role.__members__.values() or g.startswith(LOCATION_GROUP_PREFIX)}
    target = groups_of(wanted)
    return GroupChange(tuple(sorted(target - current)), tuple(sorted(ours - target)))


def person_from_groups(username: str, email: str | None, groups: set[str], enabled: bool, status: str) -> Person:
    roles = sorted((Role(g) for g in groups if g in Role.__members__.values()), key=list(Role).index)
    locations = sorted(g[len(LOCATION_GROUP_PREFIX):] for g in groups if g.startswith(LOCATION_GROUP_PREFIX))
    known = status if status in AccountStatus.__members__ else AccountStatus.UNKNOWN
    return Person(username=username, email=email, roles=roles, locations=locations, enabled=enabled,
                  status=AccountStatus(known))


def locks_self_out(actor: str, username: str, *, disabling: bool = False, wanted: RolesWanted | None = None) -> bool:
    """Whether an admin would take their own admin away (disable themselves, or drop their admin role): the
    pool would then have one admin fewer with nobody having decided it but the person it locks out."""
    if actor != PERSON_PREFIX + username:
        return False
    return disabling or (wanted is not None and Role.ADMIN not in wanted.roles)
