"""POST /webhooks/carriers/{carrier}: verify the carrier's signature on the raw body, queue the
tracking updates, answer 202. Applying them is apply-tracking's job, off the carrier's clock."""

from __future__ import annotations

import base64
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path

from shared.http.api import install, resolve
from shared.http.openapi import WEBHOOKS, described
from shared.observability import logger, metrics, traced
from shared.services.clock import utc_now
from shared.services.tracking import receive_webhook

app = APIGatewayRestResolver(enable_validation=True)
install(app)

# easypost, shippo, aftership; any other name speaks our canonical format with the shared secret.
Carrier = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]


@app.post("/webhooks/carriers/<carrier>", summary="A carrier's tracking webhook (signed, no API key)",
          description="carrier: easypost (X-Hmac-Signature), shippo (Shippo-Auth-Signature), aftership "
                      "(aftership-hmac-sha256), or any other name for the OMS canonical format (X-OMS-Timestamp and "
                      "X-OMS-Signature: v1=<hex HMAC-SHA256 of \"{timestamp}.{body}\">). The signature is checked "
                      "on the raw body first; accepted updates are queued and applied once each.",
          **described(WEBHOOKS, 202, 400, 401, 413, 415, 422, 503, public=True,
                      success_description="queued: how many tracking updates were accepted"))
def receive(carrier: Carrier) -> Response[dict[str, int]]:
    event = app.current_event
    body = event.body or ""
    # The signature covers the bytes as sent: never parse and re-serialise before verifying.
    raw = base64.b64decode(body) if event.is_base64_encoded else body.encode()
    queued = receive_webhook(carrier.lower(), raw, dict(event.headers or {}), utc_now())
    logger.info("tracking webhook queued", extra={"carrier": carrier.lower(), "updates": queued})
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body={"queued": queued})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return resolve(app, event, context, raw_body=True)
