"""POST /webhooks/channels/{kind}/{channel_id}: a sales channel's order webhook (Shopify,
WooCommerce) in its own format, verified on the raw body with that channel's secret, then captured,
revised or cancelled at once: one transaction, no queue in between (Shopify wants an answer within
5 seconds, and capture is one write)."""

from __future__ import annotations

import base64
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path

from shared.http.api import install, resolve
from shared.http.openapi import WEBHOOKS, described
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.channel_webhooks import receive_channel_webhook
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
install(app)

Kind = Annotated[str, Path(pattern=r"^(shopify|woocommerce)$", description="shopify or woocommerce")]
ChannelPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="The channel's id")]


@app.post("/webhooks/channels/<kind>/<channel_id>", summary="A channel's order webhook (signed, no API key)",
          description="Shopify: orders/create, orders/updated, orders/paid, orders/cancelled, refunds/create with "
                      "X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the app's secret), deduplicated "
                      "on X-Shopify-Webhook-Id. WooCommerce: order.created, order.updated, order.deleted, "
                      "order.restored with X-WC-Webhook-Signature, and the unsigned activation ping. The signature is "
                      "checked with this channel's own secret before anything is read; a signed payload that is no "
                      "order is answered 4xx and kept for an operator.",
          **described(WEBHOOKS, 200, 400, 401, 404, 413, 415, 422, 503, public=True,
                      success_description="outcome: captured, updated, recorded, stale, duplicate, cancelled, "
                                          "cancel_refused or acknowledged; order_id when there is one"))
def receive(kind: Kind, channel_id: ChannelPath) -> Response[dict[str, str | None]]:
    event = app.current_event
    body = event.body or ""
    # The signature covers the bytes as sent: never parse and re-serialise before verifying.
    raw = base64.b64decode(body) if event.is_base64_encoded else body.encode()
    result = receive_channel_webhook(kind, channel_id, raw, dict(event.headers or {}), repositories(), utc_now())
    count(f"ChannelOrders{result.outcome.value.title().replace('_', '')}")
    logger.info("channel webhook taken", extra={"channel": channel_id, "outcome": result.outcome.value,
                                                "order_id": result.order_id})
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body={"outcome": result.outcome.value, "order_id": result.order_id, "detail": result.detail})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return resolve(app, event, context, raw_body=True)
