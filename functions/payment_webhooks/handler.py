"""POST /webhooks/payments/{provider}: verify the provider's signature on the raw body, queue the
event, answer 200. Applying it is apply-payment-events' job, off the provider's clock."""

from __future__ import annotations

import base64
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path

from shared.http.api import install, resolve
from shared.http.openapi import WEBHOOKS, described
from shared.observability import logger, metrics, traced
from shared.services.clock import utc_now
from shared.services.payment_webhooks import receive_payment_webhook

app = APIGatewayRestResolver(enable_validation=True)
install(app)

Provider = Annotated[str, Path(pattern=r"^[a-z]{1,32}$", description="stripe")]


@app.post("/webhooks/payments/<provider>", summary="A payment provider's webhook (signed, no API key)",
          description="provider: stripe. The Stripe-Signature header (t=<unix seconds>, one or more v1=<hex "
                      "HMAC-SHA256 of \"{t}.{raw body}\"> with the endpoint's signing secret) is checked on the raw "
                      "body first, within 5 minutes of t; a valid event is queued and applied once. Event types the "
                      "OMS does not act on are acknowledged with queued: false.",
          **described(WEBHOOKS, 200, 400, 401, 404, 413, 415, 422, 503, public=True,
                      success_description="received: the event id; queued: whether the OMS acts on its type"))
def receive(provider: Provider) -> Response[dict[str, str | bool | None]]:
    event = app.current_event
    body = event.body or ""
    # The signature covers the bytes as sent: never parse and re-serialise before verifying.
    raw = base64.b64decode(body) if event.is_base64_encoded else body.encode()
    queued = receive_payment_webhook(provider, raw, dict(event.headers or {}), utc_now())
    logger.info("payment webhook received", extra={
        "provider": provider, "event_id": queued.event_id if queued else None,
        "kind": queued.kind.value if queued else "ignored"})
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body={"received": queued.event_id if queued else None, "queued": queued is not None})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return resolve(app, event, context, raw_body=True)
