"""The operator's people: a Cognito user pool, the console's app client, one group per role.

People sign in with the pool and call the API with a bearer token our code verifies
(shared/http/tokens.py), beside the API key API Gateway asks of every keyed route (the console's
own key): a REST method carries one authorizer, and a Cognito authorizer would leave the operator's
machine key unable to call the same routes (docs/architecture.md, "People and roles").
"""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import wiring
from infra.components.layers import LAYER_PYTHON, distributions_layer
from infra.components.nag import acknowledge
from shared.domain.principal import Role

# What verifying a person's token needs (shared/http/tokens.py): PyJWT, pure Python. Its RSA comes from
# `cryptography`, which the Powertools v3 layer already ships built for the functions' Python and
# architecture (its data masking needs it), so no native code of ours goes into a layer.
AUTH_DISTRIBUTIONS = ("PyJWT",)

ROLE_DESCRIPTIONS = {
    Role.ADMIN: "Everything, including channels, routing strategies and people",
    Role.CUSTOMER_SERVICE: "Orders, holds, cancellations, returns",
    Role.WAREHOUSE: "Fulfilment orders and stock of the person's locations (groups location:<location_id>)",
    Role.FINANCE: "Refunds, invoices, reports, FX rates, purchasing",
    Role.VIEWER: "Read only",
}


PEOPLE_ADMIN_ACTIONS = tuple(f"cognito-idp:{action}" for action in (
    "ListUsers", "ListGroups", "ListUsersInGroup", "AdminGetUser", "AdminListGroupsForUser", "AdminCreateUser",
    "AdminAddUserToGroup", "AdminRemoveUserFromGroup", "CreateGroup", "AdminDisableUser", "AdminEnableUser"))


class OperatorPool(Construct):
    """`console_url` (cdk.json `oms:consoleUrl`: the console's address, its CloudFront URL after a first
    deployment or the merchant's own domain): people sign in through the pool's managed login (the classic
    hosted UI at a Cognito prefix domain, `domain_prefix` or oms-<account id>) with the authorization code
    and PKCE, which handles the first password change and MFA set-up for the console; the code comes back
    to that address only. The console stack cannot hand this stack its own URL (that stack depends on this
    one's API), hence the setting."""

    def __init__(self, scope: Construct, id: str, console_url: str | None = None, domain_prefix: str | None = None) -> None:
        super().__init__(scope, id)
        self.pool = cognito.UserPool(
            self, "Pool",
            user_pool_name="oms-operators",
            # An admin creates people (admin-create-user): nobody signs themselves up.
            self_sign_up_enabled=False,
            # Usernames, not emails: the username is what writes record as their actor, and it
            # travels on the bus and into logs; an email is personal data (docs/architecture.md).
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            password_policy=cognito.PasswordPolicy(
                min_length=14, require_lowercase=True, require_uppercase=True, require_digits=True,
                require_symbols=True, temp_password_validity=Duration.days(3)),
            # Staff accounts: a second factor (an authenticator app, no SMS costs) for everyone.
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            # An admin resets a forgotten password; no self-service recovery by email.
            account_recovery=cognito.AccountRecovery.NONE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.client = self.pool.add_client(
            "Console",
            user_pool_client_name="oms-console",
            # SRP for the dashboard; the password never leaves the browser. No client secret: a browser
            # application cannot keep one.
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            # Short-lived: our code verifies tokens without asking Cognito, so a person disabled or
            # stripped of a role keeps what they hold until it expires; the console renews 5 min ahead
            # with the refresh token, which Cognito refuses for a disabled person.
            id_token_validity=Duration.minutes(15),
            access_token_validity=Duration.minutes(15),
            refresh_token_validity=Duration.hours(12),
            # The authorization code with PKCE only (no implicit grant: no token in a URL), back to the console.
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True), scopes=[cognito.OAuthScope.OPENID],
                callback_urls=[console_url], logout_urls=[console_url]) if console_url else None,
            disable_o_auth=not console_url,
        )
        self.domain: cognito.UserPoolDomain | None = None
        if console_url:
            self.domain = self.pool.add_domain("Domain", cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=domain_prefix or f"oms-{Aws.ACCOUNT_ID}"))
        for role in Role:
            cognito.CfnUserPoolGroup(self, f"Group{role.value.title().replace('_', '')}",
                                     user_pool_id=self.pool.user_pool_id, group_name=role.value,
                                     description=ROLE_DESCRIPTIONS[role])
        # For the functions behind keyed routes only: people's tokens come there.
        self.token_layer = distributions_layer(
            self, "TokenLayer", AUTH_DISTRIBUTIONS,
            f"PyJWT at {LAYER_PYTHON}, precompiled (cryptography comes with the Powertools layer)",
        )
        acknowledge(self.pool, {
            "AwsSolutions-COG3": "Threat protection (advanced security) is billed per monthly active user on top "
                                 "of the pool; a merchant may turn it on. Sign-up is closed and MFA is required.",
            "AwsSolutions-COG8": "The Plus feature plan (threat protection) costs per monthly active user for a "
                                 "handful of staff accounts behind required MFA; a merchant may choose it.",
        })

    @property
    def issuer(self) -> str:
        """The `iss` of the pool's tokens."""
        return f"https://{self.pool.user_pool_provider_url}"

    def console_config(self, console_url: str | None) -> dict[str, str]:
        """What the console needs of the pool (its config.json `cognito`): the region and the app client, with
        which it renews a person's token (InitiateAuth, REFRESH_TOKEN_AUTH); and with managed login, the
        domain to sign in at and the address the code comes back to."""
        region = Stack.of(self).region
        config = {"region": region, "clientId": self.client.user_pool_client_id}
        if self.domain is not None and console_url:
            config |= {"domain": f"{self.domain.domain_name}.auth.{region}.amazoncognito.com", "redirectUri": console_url}
        return config

    def grant_people_admin(self, grantee: iam.IGrantable) -> None:
        """What the people routes do (shared/adapters/people_directory.py), on this pool only: list people and
        groups, invite, change groups (making a location's group when a first person works there), disable
        and enable. Not delete, not set passwords, not change attributes or the pool."""
        self.pool.grant(grantee, *PEOPLE_ADMIN_ACTIONS)

    def environment(self, spec: wiring.Function) -> dict[str, str]:
        """What a function behind keyed routes needs to verify people's tokens and check their roles."""
        return {wiring.ENV.user_pool_issuer: self.issuer,
                wiring.ENV.user_pool_client_ids: self.client.user_pool_client_id,
                # Its own routes only: a Lambda's environment is at most 4 KB.
                wiring.ENV.route_roles: json.dumps(wiring.route_roles((spec,)), separators=(",", ":"))}
