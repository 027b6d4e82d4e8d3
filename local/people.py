"""The operator's people on a laptop: the emulator's Cognito user pool, a group per role, a demo
person per role (printed at start like the demo keys), and the local-only sign-in the runtime serves
at POST /auth/token (and POST /auth/refresh for new tokens from a refresh token).

What infra/components/people.py creates in AWS, less MFA (moto has no TOTP), with a client that also
allows USER_PASSWORD_AUTH so a terminal can sign in with curl; the tokens are moto's RS256 JWTs,
verified by the same code as in AWS against the emulator's /<pool id>/.well-known/jwks.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import boto3

from infra import wiring
from local.demo import LOCATIONS
from local.emulator import REGION
from shared.domain.principal import LOCATION_GROUP_PREFIX, Role

# The warehouse demo person works at the first demo location only (its other location is out of bounds).
DEMO_WAREHOUSE_LOCATION = next(iter(LOCATIONS))


@dataclass(frozen=True)
class DemoPerson:
    username: str
    password: str
    groups: tuple[str, ...]


# Usernames, never emails (docs/architecture.md): what a person's writes record as their actor.
DEMO_PEOPLE = tuple(
    DemoPerson(f"demo-{role.value.replace('_', '-')}", f"Demo-{role.value.replace('_', '-')}-pass-1",
               (role.value, *((LOCATION_GROUP_PREFIX + DEMO_WAREHOUSE_LOCATION,) if role == Role.WAREHOUSE else ())))
    for role in Role)


@dataclass
class People:
    endpoint: str
    pool_id: str
    client_id: str
    people: tuple[DemoPerson, ...] = field(default=DEMO_PEOPLE)

    @property
    def issuer(self) -> str:
        # moto issues tokens as Cognito does: iss is the AWS endpoint of the pool, whatever serves it.
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def environment(self) -> dict[str, str]:
        return {wiring.ENV.user_pool_issuer: self.issuer, wiring.ENV.user_pool_client_ids: self.client_id,
                wiring.ENV.user_pool_jwks_url: f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"}

    def sign_in(self, username: str, password: str, session: boto3.Session | None = None) -> dict:
        """Cognito's InitiateAuth (USER_PASSWORD_AUTH) against the emulator: the pool's tokens."""
        cognito = (session or boto3.Session()).client("cognito-idp", endpoint_url=self.endpoint, region_name=REGION)
        answer = cognito.initiate_auth(ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": username, "PASSWORD": password})
        return answer["AuthenticationResult"]

    def refresh(self, refresh_token: str, session: boto3.Session | None = None) -> dict:
        """Cognito's InitiateAuth (REFRESH_TOKEN_AUTH): new ID and access tokens for a refresh token, with the
        person's groups as they are now (no new refresh token: Cognito keeps the first until it expires)."""
        cognito = (session or boto3.Session()).client("cognito-idp", endpoint_url=self.endpoint, region_name=REGION)
        answer = cognito.initiate_auth(ClientId=self.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                       AuthParameters={"REFRESH_TOKEN": refresh_token})
        return answer["AuthenticationResult"]

    def token(self, username: str, kind: str = "IdToken") -> str:
        person = next(p for p in self.people if p.username == username)
        return str(self.sign_in(person.username, person.password)[kind])


def provision_people(session: boto3.Session, endpoint: str, people: tuple[DemoPerson, ...] = DEMO_PEOPLE,
                     locations: tuple[str, ...] = tuple(LOCATIONS)) -> People:
    """The pool, its groups (a role each, a `location:<id>` each) and `people`, passwords set for good."""
    cognito = session.client("cognito-idp", endpoint_url=endpoint, region_name=REGION)
    pool_id = cognito.create_user_pool(
        PoolName="oms-operators", AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Policies={"PasswordPolicy": {"MinimumLength": 14, "RequireUppercase": True, "RequireLowercase": True,
                                     "RequireNumbers": True, "RequireSymbols": True}},
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="oms-console", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for group in [r.value for r in Role] + [LOCATION_GROUP_PREFIX + lid for lid in locations]:
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
    for person in people:
        cognito.admin_create_user(UserPoolId=pool_id, Username=person.username, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=person.username, Password=person.password,
                                        Permanent=True)
        for group in person.groups:
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=person.username, GroupName=group)
    return People(endpoint, pool_id, client_id, people)
