"""People's bearer tokens (shared/http/tokens.py): only a pool-signed, unexpired RS256 token issued
to our app client, of use id or access, names a person."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.errors import Unauthenticated, Unavailable
from shared.http import tokens

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT = "console-client"
POOL = tokens.Pool(ISSUER, frozenset({CLIENT}), "https://example.invalid/jwks.json")
POOL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(*pairs) -> dict:
    return {kid: jwt.PyJWK(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))).key for kid, key in pairs}


@pytest.fixture(autouse=True)
def pool_keys(monkeypatch):
    fetched = []

    def fetch(url):
        fetched.append(url)
        return jwks(("k1", POOL_KEY))

    tokens.KEYS.clear()
    monkeypatch.setattr(tokens, "_fetch", fetch)
    yield fetched
    tokens.KEYS.clear()


def token(use="id", key=POOL_KEY, kid="k1", alg="RS256", **overrides) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "0f1e", "token_use": use, "iat": now, "exp": now + 3600,
              "cognito:groups": ["customer_service"]}
    claims |= {"aud": CLIENT, "cognito:username": "alice"} if use == "id" else {"client_id": CLIENT, "username": "alice"}
    claims |= overrides
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=alg, headers={"kid": kid})


def refused(raw: str, says: str) -> None:
    with pytest.raises(Unauthenticated, match=says):
        tokens.verify(raw, POOL)


@pytest.mark.parametrize("use", ["id", "access"])
def test_a_pool_token_names_its_person_and_groups(use):
    assert tokens.verify(token(use), POOL) == tokens.Person("alice", ("customer_service",))


def test_the_keys_are_fetched_once_per_container(pool_keys):
    tokens.verify(token(), POOL)
    tokens.verify(token("access"), POOL)
    assert len(pool_keys) == 1


def test_an_unknown_key_id_refetches_once_then_refuses(pool_keys):
    tokens.verify(token(), POOL)
    refused(token(kid="rotated"), "not signed by a key of the operator pool")
    assert len(pool_keys) == 2


def test_made_up_key_ids_fetch_the_keys_again_at_most_once_a_minute(pool_keys, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(tokens.time, "monotonic", lambda: clock[0])
    tokens.verify(token(), POOL)
    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        refused(token(kid=kid), "not signed by a key of the operator pool")
    assert len(pool_keys) == 2  # the first fetch and one refetch, not one per made-up key id
    clock[0] += tokens.REFETCH_COOLDOWN_S
    refused(token(kid="made-up-4"), "not signed by a key of the operator pool")
    assert len(pool_keys) == 3  # a rotation is still picked up a minute later


def test_expired():
    refused(token(exp=int(time.time()) - 120, iat=int(time.time()) - 4000), "expired")


def test_wrong_audience():
    refused(token(aud="another-client"), "another app client")


def test_access_token_of_another_client():
    refused(token("access", client_id="another-client"), "another app client")


def test_wrong_issuer():
    refused(token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"), "not from the operator pool")


def test_forged_signature_with_another_key():
    refused(token(key=OTHER_KEY), "invalid")


def test_tampered_claims_fail_the_signature():
    head, body, signature = token().split(".")
    claims = json.loads(jwt.utils.base64url_decode(body))
    claims["cognito:groups"] = ["admin"]
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    refused(f"{head}.{forged}.{signature}", "invalid")


def test_wrong_token_use():
    refused(token(use="id", token_use="refresh"), "ID or access token")


def test_alg_none_is_refused():
    now = int(time.time())
    unsigned = jwt.encode({"iss": ISSUER, "aud": CLIENT, "token_use": "id", "iat": now, "exp": now + 60,
                           "cognito:username": "mallory", "cognito:groups": ["admin"]}, None, algorithm="none",
                          headers={"kid": "k1"})
    refused(unsigned, "RS256")


def test_hmac_with_the_public_key_as_secret_is_refused():
    refused(token(key="a shared secret of at least thirty-two bytes", alg="HS256"), "RS256")


def test_not_a_jwt():
    refused("not-a-token", "not a JWT")


def test_a_token_without_expiry_is_refused():
    refused(token(exp=None), "invalid")


def test_unreachable_keys_are_a_503_not_a_refusal(monkeypatch):
    def down(url):
        raise Unavailable("down")

    monkeypatch.setattr(tokens, "_fetch", down)
    with pytest.raises(Unavailable):
        tokens.verify(token(), POOL)


# ---------------------------------------------------------------- the person's principal

def test_a_warehouse_person_is_limited_to_the_locations_their_groups_name():
    from shared.domain.principal import Principal, Role

    wes = Principal.person("wes", ["warehouse", "location:BER", "some-other-group"])
    assert wes.name == "user:wes" and wes.roles == {Role.WAREHOUSE}
    assert wes.may_work_at("BER") and not wes.may_work_at("MAD")
    assert wes.is_operator and wes.channel is None
    assert Principal.person("nobody", ["warehouse"]).locations == frozenset()  # no location group: none
    assert Principal.person("ada", ["admin", "warehouse", "location:BER"]).may_work_at("MAD")
    assert Principal.person("cass", ["customer_service"]).may_work_at("MAD")


def test_missing_role_names_the_role_a_person_lacks_and_never_refuses_keys():
    from shared.domain.principal import OPERATOR, Principal, Role

    reads = frozenset({Role.FINANCE, Role.VIEWER})
    assert Principal.person("vic", ["viewer"]).missing_role(reads) is None
    assert Principal.person("cass", ["customer_service"]).missing_role(reads) == Role.FINANCE
    assert Principal.person("ada", ["admin"]).missing_role(frozenset()) is None
    assert Principal.person("fin", ["finance"]).missing_role(frozenset()) == Role.ADMIN
    assert Principal(OPERATOR).missing_role(frozenset()) is None
    assert Principal("web").missing_role(frozenset()) is None


def test_only_a_request_with_a_bearer_token_imports_the_jwt_library():
    """PyJWT and cryptography are a person's cold start to pay: an API function serving a key's
    request does not import them (and one with a token does, which shows the check sees them)."""
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from functions.orders_api import handler\n"
        "from shared.http.api import resolve\n"
        "event = {'httpMethod': 'GET', 'path': '/orders', 'resource': '/orders', 'headers': {},\n"
        "         'requestContext': {'requestId': 'r', 'identity': {'apiKeyId': None}}}\n"
        "if len(sys.argv) > 1:\n"
        "    event['headers'] = {'Authorization': 'Bearer not-a-token'}\n"
        "print(resolve(handler.app, event, None)['statusCode'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('jwt', 'cryptography'))))\n"
    )
    env = {"OMS_ROUTE_ROLES": '{"GET /orders": ["viewer"]}', "OMS_USER_POOL_ISSUER": ISSUER,
           "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true", "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> list[str]:
        out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env,
                             timeout=120, check=True)
        return out.stdout.strip().splitlines()[-2:]

    assert run() == ["403", "[]"]  # no key: refused, without PyJWT
    status, imported = run("with a token")
    assert status == "401" and "jwt" in imported


def test_no_channel_may_take_the_console_keys_name():
    from datetime import UTC, datetime

    from shared.domain.channels import ChannelSettings
    from shared.errors import InvalidInput
    from shared.services.channels import put_channel

    with pytest.raises(InvalidInput, match="console"):
        put_channel("console", ChannelSettings(name="Console"), "operator", None, None,  # type: ignore[arg-type]
                    datetime(2026, 1, 1, tzinfo=UTC))
