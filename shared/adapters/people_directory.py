"""The operator pool (Cognito) as the directory of people: list them with their groups, invite one, change
their groups, disable or enable them. In AWS and in the local runtime alike (the emulator's pool).

Only the admin function may call it (infra/components/people.py grants it these actions on this pool
only). The client is created on first use, not at import.
"""

from __future__ import annotations

from typing import Any

from shared.domain.people import GroupChange, Invitation, Person, PersonExists, UnknownPerson, person_from_groups


def _email(attributes: list[dict]) -> str | None:
    return next((a["Value"] for a in attributes if a.get("Name") == "email"), None)


class CognitoPeople:
    def __init__(self, client: Any, pool_id: str):
        self.client = client
        self.pool_id = pool_id

    def _pages(self, operation: str, key: str, **kwargs: Any) -> list[dict]:
        paginator = self.client.get_paginator(operation)
        return [item for page in paginator.paginate(UserPoolId=self.pool_id, **kwargs) for item in page.get(key, [])]

    def list(self) -> list[Person]:
        """Everyone, sorted by username: the users, then each group's members (a call per group rather
        than per person: a pool has a handful of role groups and a group per warehouse location)."""
        groups: dict[str, set[str]] = {}
        for group in self._pages("list_groups", "Groups"):
            for user in self._pages("list_users_in_group", "Users", GroupName=group["GroupName"]):
                groups.setdefault(user["Username"], set()).add(group["GroupName"])
        users = self._pages("list_users", "Users")
        return sorted((person_from_groups(u["Username"], _email(u.get("Attributes", [])), groups.get(u["Username"], set()),
                                          bool(u.get("Enabled", True)), str(u.get("UserStatus", "")))
                       for u in users), key=lambda p: p.username)

    def get(self, username: str) -> Person:
        try:
            user = self.client.admin_get_user(UserPoolId=self.pool_id, Username=username)
        except self.client.exceptions.UserNotFoundException as error:
            raise UnknownPerson(username) from error
        return person_from_groups(user["Username"], _email(user.get("UserAttributes", [])), self.groups(username),
                                  bool(user.get("Enabled", True)), str(user.get("UserStatus", "")))

    def groups(self, username: str) -> set[str]:
        try:
            found = self._pages("admin_list_groups_for_user", "Groups", Username=username)
        except self.client.exceptions.UserNotFoundException as error:
            raise UnknownPerson(username) from error
        return {g["GroupName"] for g in found}

    def invite(self, invitation: Invitation) -> None:
        """The person, with a temporary password Cognito generates and emails them (its invitation message);
        they choose their own at first sign-in. Groups follow (change_groups)."""
        try:
            self.client.admin_create_user(
                UserPoolId=self.pool_id, Username=invitation.username, DesiredDeliveryMediums=["EMAIL"],
                UserAttributes=[{"Name": "email", "Value": invitation.email},
                                # The admin vouches for the address: the invitation goes there.
                                {"Name": "email_verified", "Value": "true"}])
        except self.client.exceptions.UsernameExistsException as error:
            raise PersonExists(invitation.username) from error

    def change_groups(self, username: str, change: GroupChange) -> None:
        for group in change.add:
            try:
                self.client.admin_add_user_to_group(UserPoolId=self.pool_id, Username=username, GroupName=group)
            except self.client.exceptions.ResourceNotFoundException:
                # A location's group is made when a first person works there (role groups come with the stack).
                self._create_group(group)
                self.client.admin_add_user_to_group(UserPoolId=self.pool_id, Username=username, GroupName=group)
            except self.client.exceptions.UserNotFoundException as error:
                raise UnknownPerson(username) from error
        for group in change.remove:
            try:
                self.client.admin_remove_user_from_group(UserPoolId=self.pool_id, Username=username, GroupName=group)
            except self.client.exceptions.UserNotFoundException as error:
                raise UnknownPerson(username) from error

    def _create_group(self, group: str) -> None:
        try:
            self.client.create_group(UserPoolId=self.pool_id, GroupName=group)
        except self.client.exceptions.GroupExistsException:
            pass  # another request made it meanwhile

    def set_enabled(self, username: str, enabled: bool) -> None:
        """Disabling stops new sign-ins and refreshes (Cognito revokes the person's tokens); an ID or
        access token already issued verifies until it expires (15 minutes at most: infra/components/people.py)."""
        call = self.client.admin_enable_user if enabled else self.client.admin_disable_user
        try:
            call(UserPoolId=self.pool_id, Username=username)
        except self.client.exceptions.UserNotFoundException as error:
            raise UnknownPerson(username) from error


def people_directory() -> CognitoPeople:
    """The function's directory: the pool its people's tokens come from (the issuer URL ends in the pool id)."""
    from shared.adapters.aws import client
    from shared.config import settings
    from shared.errors import Unavailable

    issuer = settings().user_pool_issuer
    if not issuer:
        raise Unavailable("this deployment has no operator user pool (OMS_USER_POOL_ISSUER)", field="people")
    return CognitoPeople(client("cognito-idp"), issuer.rsplit("/", 1)[-1])
