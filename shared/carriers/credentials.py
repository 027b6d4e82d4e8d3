"""Carrier credentials, from one Secrets Manager secret (the stack's CarrierSecret; locally the
emulator's), read through Powertools Parameters so a warm container fetches it at most every
5 minutes and picks up a rotated key without a redeploy.

The secret is a flat JSON object:
  webhook_secret             signs our canonical webhook format (the stack generates it)
  easypost_webhook_secret    EasyPost's webhook secret (X-Hmac-Signature)
  shippo_webhook_secret      Shippo's HMAC secret (Shippo-Auth-Signature)
  aftership_webhook_secret   AfterShip's webhook secret (aftership-hmac-sha256)
  easypost_api_key           buys labels when OMS_LABEL_CARRIER is easypost
Values never reach a log line, an event or an error message.
"""

from __future__ import annotations

from shared.config import settings
from shared.errors import Unavailable

MAX_AGE_S = 300
PROVIDERS_WITH_OWN_SECRET = ("easypost", "shippo", "aftership")


class CarrierNotConfigured(Unavailable):
    """The secret has no value for what was asked: a set-up problem, not the caller's fault (503)."""

    code = "carrier_not_configured"


def carrier_credentials() -> dict[str, str]:
    from aws_lambda_powertools.utilities.parameters import get_secret  # only the functions that need it pay

    value = get_secret(settings().carrier_secret, transform="json", max_age=MAX_AGE_S)
    return value if isinstance(value, dict) else {}


def webhook_secret(provider: str) -> str | None:
    """The signing secret for `provider`'s webhooks (None: not configured, so nothing verifies)."""
    key = f"{provider}_webhook_secret" if provider in PROVIDERS_WITH_OWN_SECRET else "webhook_secret"
    return carrier_credentials().get(key) or None


def api_key(provider: str) -> str:
    key = carrier_credentials().get(f"{provider}_api_key")
    if not key:
        raise CarrierNotConfigured(f"no {provider}_api_key in the carrier secret")
    return key
