"""Health check, the merged OpenAPI document of every API function, and Swagger UI."""

from __future__ import annotations

import json
from pathlib import Path

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.http.api import API_KEY_SCHEME
from shared.http.openapi import ERRORS, HEALTH, described, tags

FUNCTIONS_ROOT = Path(__file__).resolve().parent.parent

app = APIGatewayRestResolver()
# Every function serving routes (infra/wiring.py): its handler file, relative to functions/.
API_MODULES = ("*_api/handler.py", "*_webhooks/handler.py", "api_docs/handler.py")
app.enable_swagger(path="/docs", title="OMS API")
_merged = False
_document: str | None = None


def _merge_schemas() -> None:
    """Powertools discovers the resolvers of the other API functions (and this one's health check) and
    merges their schemas, so the document describes exactly the routes they serve. Done on the first
    docs request, not at import: it loads every API module, which /health must not pay for."""
    global _merged
    if not _merged:
        app.configure_openapi_merge(
            path=str(FUNCTIONS_ROOT), pattern=list(API_MODULES), recursive=True, title="OMS API",
            version="0.1.0", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}], on_conflict="error",
            tags=tags(),
            description="Serverless order management: capture, reserve, route, fulfil, track. "
                        "Authenticate with the x-api-key header (except the health check and the carrier and payment "
                        "webhooks, which their senders sign instead). Every error answers the ErrorBody shape.",
        )
        _merged = True


@app.get("/health", summary="The API is up", **described(HEALTH, 200, public=True, common=False))
def health() -> dict:
    return {"status": "ok"}


def with_path_404(document: str) -> str:
    """Every operation with a path parameter may answer 404: a value the route's pattern refuses (an
    encoded slash, a control character) is answered `not_found` by shared/http/api.py before the
    route runs, whatever the route documents (found by the fuzzer on the routes without a 404)."""
    spec = json.loads(document)
    for path, item in spec.get("paths", {}).items():
        if "{" not in path:
            continue
        for operation in item.values():
            operation.setdefault("responses", {}).setdefault("404", {
                "description": ERRORS[404],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
    return json.dumps(spec)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    global _document
    if _document is None:
        _document = with_path_404(app.get_openapi_merge_json_schema())
    return Response(status_code=200, content_type="application/json", body=_document)


def lambda_handler(event: dict, context) -> dict:
    if event.get("path") != "/health":
        _merge_schemas()
    return app.resolve(event, context)
