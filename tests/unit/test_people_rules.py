"""The people rules: which groups a role change adds and removes, an admin not locking themselves out, and
the audit line of a change (who did it, never the person's email)."""

from __future__ import annotations

import pytest

from shared.domain.people import (
    GroupChange,
    Invitation,
    RolesWanted,
    UnknownPerson,
    group_change,
    locks_self_out,
    person_from_groups,
)
from shared.errors import Conflict, InvalidInput, NotFound
from shared.services import people


def test_a_role_change_adds_what_is_new_and_removes_what_is_no_longer_named():
    wanted = RolesWanted(roles=["warehouse", "viewer"], locations=["MAD"])
    change = group_change({"warehouse", "finance", "location:BER", "beta-testers"}, wanted)
    # A group that grants nothing here (beta-testers) is someone else's business: left alone.
    assert change == GroupChange(add=("location:MAD", "viewer"), remove=("finance", "location:BER"))


def test_nothing_changes_when_the_groups_are_already_those_wanted():
    assert group_change({"admin"}, RolesWanted(roles=["admin"])) == GroupChange((), ())


def test_only_an_admin_acting_on_themselves_locks_themselves_out():
    viewer = RolesWanted(roles=["viewer"])
    assert locks_self_out("user:ada", "ada", wanted=viewer)
    assert locks_self_out("user:ada", "ada", disabling=True)
    assert not locks_self_out("user:ada", "ada", wanted=RolesWanted(roles=["admin", "viewer"]))
    assert not locks_self_out("user:ada", "bob", wanted=viewer)
    assert not locks_self_out("operator", "ada", disabling=True)


def test_an_account_status_cognito_adds_later_is_unknown_not_an_error():
    assert person_from_groups("ada", None, {"admin"}, True, "SOMETHING_NEW").status == "UNKNOWN"


class Directory:
    """The pool as the use cases see it, in memory."""

    def __init__(self):
        self.people: dict[str, tuple[str, set[str], bool]] = {}

    def list(self):
        return [self.get(u) for u in sorted(self.people)]

    def get(self, username):
        if username not in self.people:
            raise UnknownPerson(username)
        email, groups, enabled = self.people[username]
        return person_from_groups(username, email, groups, enabled, "CONFIRMED")

    def groups(self, username):
        return set(self.get(username) and self.people[username][1])

    def invite(self, invitation):
        self.people[invitation.username] = (invitation.email, set(), True)

    def change_groups(self, username, change):
        groups = self.people[username][1]
        groups |= set(change.add)
        groups -= set(change.remove)

    def set_enabled(self, username, enabled):
        if username not in self.people:
            raise UnknownPerson(username)
        email, groups, _ = self.people[username]
        self.people[username] = (email, groups, enabled)


@pytest.fixture
def audit(monkeypatch):
    from shared.observability import logger

    lines: list[tuple[str, dict]] = []
    monkeypatch.setattr(logger, "info", lambda message, extra=None, **_: lines.append((message, extra or {})))
    return lines


def test_every_change_is_logged_with_who_made_it_and_never_the_email(audit):
    directory = Directory()
    invited = people.invite(Invitation(username="nina", email="nina@example.com", roles=["viewer"]), "user:ada",
                            directory, lambda _: True)
    assert invited.updated_by == "user:ada"
    people.change_roles("nina", RolesWanted(roles=["finance"]), "user:ada", directory, lambda _: True)
    people.set_enabled("nina", False, "operator", directory)
    assert [(m, e["action"], e["username"], e["by"]) for m, e in audit] == [
        ("person changed", "invited", "nina", "user:ada"), ("person changed", "roles_changed", "nina", "user:ada"),
        ("person changed", "disabled", "nina", "operator")]
    assert "nina@example.com" not in repr(audit)


def test_refusals_name_their_field():
    directory = Directory()
    with pytest.raises(InvalidInput) as no_such_location:
        people.invite(Invitation(username="wes", email="w@example.com", roles=["warehouse"], locations=["X"]),
                      "user:ada", directory, lambda _: False)
    assert no_such_location.value.field == "locations"
    with pytest.raises(NotFound):
        people.set_enabled("nobody", True, "user:ada", directory)
    with pytest.raises(Conflict):
        people.set_enabled("ada", False, "user:ada", directory)
