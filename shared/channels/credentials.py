"""A channel's secrets, from the Secrets Manager secret its settings name (`secret_ref`, always under
oms/channels/: the functions may read nothing else), through Powertools Parameters so a warm
container fetches it at most every 5 minutes and picks up a rotation without a redeploy.

The secret is a flat JSON object; what each kind reads:
  webhook_secret        Shopify (the app's client secret) and WooCommerce (the webhook's secret) sign
                        their webhooks with it; during a rotation put both, comma-separated.
  access_token          Shopify Admin API token (the stock feed)
  lwa_client_id, lwa_client_secret, refresh_token     Amazon Selling Partner API (Login with Amazon)
Values never reach a log line, an event, an error message or an API answer.
"""

from __future__ import annotations

from shared.domain.channels import Channel
from shared.errors import Unavailable

MAX_AGE_S = 300


class ChannelNotConfigured(Unavailable):
    """The channel's secret is missing or lacks what was asked: a set-up problem (503), never the
    caller's fault, and never a reason to accept an unsigned payload."""

    code = "channel_not_configured"


def channel_credentials(channel: Channel) -> dict[str, str]:
    from aws_lambda_powertools.utilities.parameters import get_secret  # only the functions that need it pay
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    name = channel.settings.secret_ref
    if not name:
        raise ChannelNotConfigured(f"channel {channel.channel_id} names no secret (secret_ref)")
    try:
        value = get_secret(name, transform="json", max_age=MAX_AGE_S)
    except GetParameterError as exc:  # missing, not JSON, or not readable by this function
        raise ChannelNotConfigured(f"the secret of channel {channel.channel_id} cannot be read: "
                                   f"{type(exc).__name__}") from None
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def webhook_secrets(channel: Channel) -> list[str]:
    """Every secret a webhook of this channel may be signed with; empty: nothing verifies."""
    raw = channel_credentials(channel).get("webhook_secret") or ""
    return [part.strip() for part in raw.split(",") if part.strip()]
