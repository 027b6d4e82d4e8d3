"""A person's bearer token from the operator user pool (Cognito), verified by our code: its RS256
signature against the pool's published keys (JWKS, fetched once per container and cached; fetched
again once when a token names a key id not seen, i.e. after the pool rotated its keys), the issuer
(the pool), the audience (an ID token's `aud`) or client (an access token's `client_id`) being one
of our app clients, `token_use` id or access, and expiry. Anything else is 401.

Imported only when a request carries a bearer token: PyJWT and cryptography are the person routes'
cold start to pay, not a channel's.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

from shared.errors import Unauthenticated, Unavailable

# Seconds of clock difference between Cognito and this container that a token's times tolerate.
LEEWAY_S = 30
_JWKS_TIMEOUT_S = 5
# A token naming an unknown key id fetches the keys again (the pool rotated them) at most once a minute:
# otherwise made-up key ids would each cost an outbound call, one at a time under the lock.
REFETCH_COOLDOWN_S = 60.0


@dataclass(frozen=True)
class Pool:
    issuer: str  # https://cognito-idp.<region>.amazonaws.com/<pool id>
    client_ids: frozenset[str]
    jwks_url: str  # the issuer's /.well-known/jwks.json (locally: the emulator's)


@dataclass(frozen=True)
class Person:
    username: str
    groups: tuple[str, ...]


class _Keys:
    """The pool's signing keys by kid, per container."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._url = ""
        self._keys: dict[str, Any] = {}
        self._refetched_at = float("-inf")

    def get(self, url: str, kid: str) -> Any:
        with self._lock:
            if url != self._url:
                self._keys, self._url = _fetch(url), url
            elif kid not in self._keys and time.monotonic() - self._refetched_at >= REFETCH_COOLDOWN_S:
                self._keys, self._refetched_at = _fetch(url), time.monotonic()
            key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("the token is not signed by a key of the operator pool")
        return key

    def clear(self) -> None:
        with self._lock:
            self._url, self._keys, self._refetched_at = "", {}, float("-inf")


def _fetch(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=_JWKS_TIMEOUT_S) as answer:  # noqa: S310 (https in AWS)
            document = json.loads(answer.read())
    except (OSError, ValueError) as error:
        raise Unavailable("the operator pool's signing keys could not be read; try again") from error
    return {k["kid"]: jwt.PyJWK(k).key for k in document.get("keys", []) if k.get("kty") == "RSA"}


KEYS = _Keys()


def verify(token: str, pool: Pool) -> Person:
    """The person a token names, or Unauthenticated (401) saying what is wrong with it."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise Unauthenticated("the bearer token is not a JWT") from error
    # RS256 only: "none" and HMAC (a public key used as a shared secret) never pass.
    if header.get("alg") != "RS256":
        raise Unauthenticated("the bearer token must be signed with RS256")
    key = KEYS.get(pool.jwks_url, str(header.get("kid", "")))
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"], issuer=pool.issuer, leeway=LEEWAY_S,
                            options={"require": ["exp", "iat", "iss", "token_use"], "verify_aud": False})
    except jwt.ExpiredSignatureError as error:
        raise Unauthenticated("the bearer token has expired: sign in again") from error
    except jwt.InvalidIssuerError as error:
        raise Unauthenticated("the bearer token is not from the operator pool") from error
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"the bearer token is invalid: {error}") from error
    use = claims.get("token_use")
    # Cognito puts the app client in `aud` of an ID token and in `client_id` of an access token.
    client = claims.get("aud") if use == "id" else claims.get("client_id") if use == "access" else None
    if use not in ("id", "access"):
        raise Unauthenticated("the bearer token must be an ID or access token of the operator pool")
    if client not in pool.client_ids:
        raise Unauthenticated("the bearer token was issued to another app client")
    username = claims.get("cognito:username") if use == "id" else claims.get("username")
    if not isinstance(username, str) or not username:
        raise Unauthenticated("the bearer token names no user")
    groups = claims.get("cognito:groups") or []
    return Person(username, tuple(g for g in groups if isinstance(g, str)))
