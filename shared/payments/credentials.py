"""Payment credentials, from one Secrets Manager secret (locally the emulator's), read through
Powertools Parameters so a warm container fetches it at most every 5 minutes and picks up a rotated
key without a redeploy.

The secret is a flat JSON object:
  stripe_secret_key       moves money when the payment provider is stripe (sk_live_..., sk_test_...)
  stripe_webhook_secret   signs Stripe's webhooks (whsec_...). During a rotation Stripe signs with
                          both the old and the new secret for a while: put both, comma-separated,
                          and a webhook verifies if any of them matches.
Values never reach a log line, an event or an error message.
"""

from __future__ import annotations

from shared.errors import Unavailable
from shared.payments.provider import PaymentProvider
from shared.payments.sandbox import SandboxProvider

MAX_AGE_S = 300

_sandbox: SandboxProvider | None = None
_stripe: tuple[str, PaymentProvider] | None = None  # (the key it was built with, the adapter)


class PaymentsNotConfigured(Unavailable):
    """The payment secret lacks what was asked: a set-up problem, not the caller's fault (503)."""

    code = "payments_not_configured"


def payment_secret_name() -> str:
    from shared.config import settings

    return settings().payment_secret


def payment_credentials() -> dict[str, str]:
    from aws_lambda_powertools.utilities.parameters import get_secret  # only the functions that need it pay
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    name = payment_secret_name()
    try:
        value = get_secret(name, transform="json", max_age=MAX_AGE_S)
    except GetParameterError as exc:  # missing, not JSON, or not readable by this function
        raise PaymentsNotConfigured(f"the payment secret {name} cannot be read: {type(exc).__name__}") from None
    return value if isinstance(value, dict) else {}


def stripe_secret_key() -> str:
    key = payment_credentials().get("stripe_secret_key")
    if not key:
        raise PaymentsNotConfigured("no stripe_secret_key in the payment secret")
    return key


def stripe_webhook_secrets() -> list[str]:
    """Every secret a Stripe webhook may be signed with (two during a rotation); empty when none is
    configured, and then no webhook verifies."""
    raw = payment_credentials().get("stripe_webhook_secret") or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def payment_provider(name: str) -> PaymentProvider:
    """The adapter for a provider name: "sandbox" (one per process, so its intents outlive the call)
    or "stripe" (built with the current key, rebuilt when the key is rotated)."""
    global _sandbox, _stripe
    if name == "sandbox":
        if _sandbox is None:
            _sandbox = SandboxProvider()
        return _sandbox
    if name == "stripe":
        from shared.payments.stripe import StripeProvider  # the sandbox never pays for urllib3

        key = stripe_secret_key()
        if _stripe is None or _stripe[0] != key:
            _stripe = (key, StripeProvider(key))
        return _stripe[1]
    raise ValueError(f"unknown payment provider {name!r}: sandbox or stripe")
