"""The operator's people, managed by an admin: list them, invite one with roles, change their roles and
locations, disable or enable them. Each change is logged with who made it and what it was, by username
(never an email: personal data stays out of logs), and answered with `updated_by`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.domain.people import (
    GroupChange,
    Invitation,
    Person,
    PersonExists,
    RolesWanted,
    UnknownPerson,
    group_change,
    locks_self_out,
)
from shared.domain.principal import Role
from shared.errors import Conflict, InvalidInput, NotFound


class Directory(Protocol):
    def list(self) -> list[Person]: ...

    def get(self, username: str) -> Person: ...

    def groups(self, username: str) -> set[str]: ...

    def invite(self, invitation: Invitation) -> None: ...

    def change_groups(self, username: str, change: GroupChange) -> None: ...

    def set_enabled(self, username: str, enabled: bool) -> None: ...


@dataclass(frozen=True)
class PersonChanged:
    person: Person
    updated_by: str


def list_people(directory: Directory) -> list[Person]:
    return directory.list()


def invite(invitation: Invitation, by: str, directory: Directory, location_exists: Callable[[str], bool]) -> PersonChanged:
    _check_locations(invitation, location_exists)
    try:
        directory.invite(invitation)
    except PersonExists as error:
        raise Conflict(f"a person named {invitation.username} exists already", field="username") from error
    directory.change_groups(invitation.username, group_change(set(), invitation))
    return _done("invited", invitation.username, by, directory)


def change_roles(username: str, wanted: RolesWanted, by: str, directory: Directory,
                 location_exists: Callable[[str], bool]) -> PersonChanged:
    _check_locations(wanted, location_exists)
    if locks_self_out(by, username, wanted=wanted):
        raise Conflict("you cannot take away your own admin role: another admin can", field="roles")
    try:
        directory.change_groups(username, group_change(directory.groups(username), wanted))
    except UnknownPerson as error:
        raise NotFound(f"no person named {username}", field="username") from error
    return _done("roles_changed", username, by, directory)


def set_enabled(username: str, enabled: bool, by: str, directory: Directory) -> PersonChanged:
    if not enabled and locks_self_out(by, username, disabling=True):
        raise Conflict("you cannot disable yourself: another admin can", field="username")
    try:
        directory.set_enabled(username, enabled)
    except UnknownPerson as error:
        raise NotFound(f"no person named {username}", field="username") from error
    return _done("enabled" if enabled else "disabled", username, by, directory)


def _check_locations(wanted: RolesWanted, location_exists: Callable[[str], bool]) -> None:
    """Locations are a warehouse person's (an admin's or anyone else's roles are not limited by them), and
    each must be a location the OMS knows: a typo would give the person a location that does not exist."""
    if wanted.locations and Role.WAREHOUSE not in wanted.roles:
        raise InvalidInput("locations are for a person with the warehouse role", field="locations")
    unknown = sorted(lid for lid in set(wanted.locations) if not location_exists(lid))
    if unknown:
        raise InvalidInput(f"no location {', '.join(unknown)}", field="locations")


def _done(action: str, username: str, by: str, directory: Directory) -> PersonChanged:
    from shared.observability import logger

    try:
        person = directory.get(username)
    except UnknownPerson as error:
        raise NotFound(f"no person named {username}", field="username") from error
    # The audit line: usernames only (the email is personal data), and what the person may now do.
    logger.info("person changed", extra={"action": action, "username": username, "by": by,
                                          "roles": [r.value for r in person.roles], "enabled": person.enabled})
    return PersonChanged(person, by)
