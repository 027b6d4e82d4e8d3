"""Who is calling: one sales channel, the operator's machine key (acts as admin), or a person signed
in with the operator pool (their roles, and a warehouse person's locations)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

OPERATOR = "operator"
# The console's API key (the operator dashboard's): gets it past API Gateway, grants nothing by
# itself; the person's bearer token it carries says who calls.
CONSOLE = "console"
# A person's principal name: "user:<username>". The username, never the email: the name is what
# writes record as their actor, and it goes on the bus and into logs (docs/architecture.md, Security).
PERSON_PREFIX = "user:"
# The pool group naming a warehouse person's location: "location:<location_id>".
LOCATION_GROUP_PREFIX = "location:"


class Role(StrEnum):
    """The pool's groups a person's permissions come from (infra/wiring.py declares them per route)."""

    ADMIN = "admin"  # everything, including channels, strategies and people
    CUSTOMER_SERVICE = "customer_service"  # orders, holds, cancellations, returns, customer notes
    WAREHOUSE = "warehouse"  # fulfilment orders and stock of its own locations only
    FINANCE = "finance"  # payments, refunds, invoices, reports
    VIEWER = "viewer"  # read only


@dataclass(frozen=True)
class Principal:
    name: str
    # A person's roles (empty for keys: the operator key is admin, a channel has no role).
    roles: frozenset[Role] = frozenset()
    # The locations a warehouse person may work on; None: no location limit.
    locations: frozenset[str] | None = None

    @classmethod
    def person(cls, username: str, groups: list[str] | tuple[str, ...]) -> Principal:
        """A signed-in person from their pool groups: known role groups, and `location:<id>` groups.
        A warehouse person (not admin) is limited to the locations their groups name, none if none."""
        roles = frozenset(Role(g) for g in groups if g in Role.__members__.values())
        limited = Role.WAREHOUSE in roles and Role.ADMIN not in roles
        locations = frozenset(g[len(LOCATION_GROUP_PREFIX):] for g in groups if g.startswith(LOCATION_GROUP_PREFIX))
        return cls(PERSON_PREFIX + username, roles, locations if limited else None)

    @property
    def is_person(self) -> bool:
        return self.name.startswith(PERSON_PREFIX)

    @property
    def is_operator(self) -> bool:
        """The operator's side (the machine key or any person): sees every channel's orders. What a
        person may do on top of that is their roles' business (missing_role)."""
        return self.name == OPERATOR or self.is_person

    @property
    def channel(self) -> str | None:
        return None if self.is_operator else self.name

    def can_see(self, channel: str) -> bool:
        return self.is_operator or self.name == channel

    def may_work_at(self, location_id: str) -> bool:
        return self.locations is None or location_id in self.locations

    def missing_role(self, allowed: frozenset[Role]) -> Role | None:
        """The role a person lacks for a route that `allowed` roles (and admin) may use, else None.
        Keys are not persons: the operator key is admin, a channel's routes check their channel."""
        if not self.is_person or Role.ADMIN in self.roles or self.roles & allowed:
            return None
        return min(allowed, key=list(Role).index) if allowed else Role.ADMIN
