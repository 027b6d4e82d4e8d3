"""How the API describes itself (/openapi.json, /docs): the areas operations are grouped by, and
the error answers each route can give, with the one error body every route answers with.

A route says `**described(ORDERS, 202, 400, 403, 409, ...)`: its area, its success status, and
the statuses of the errors it can answer. Documentation only: the handlers and
shared/http/api.py decide the real answers; tests/integration/test_openapi.py keeps the two honest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from shared.domain.base import DeferredModel

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import Tag

ORDERS, FULFILMENT, INVENTORY, LOCATIONS, CHANNELS, WEBHOOKS, ADMIN, HEALTH, RETURNS, ROUTING = (
    "Orders", "Fulfilment", "Inventory", "Locations", "Channels", "Webhooks", "Admin", "Health", "Returns", "Routing")
REPORTS = "Reports"
PURCHASING = "Purchasing"
CUSTOMERS = "Customers"


def tags() -> list[Tag | str]:
    """The areas, described, for the merged document (functions/api_docs): built when it is, because
    Powertools' OpenAPI models cost every other function's cold start ~130 ms to import."""
    from aws_lambda_powertools.event_handler.openapi.models import Tag

    return [
        Tag(name=ORDERS, description="Capture orders from channels; read, list, look up, cancel; release or reject "
                                     "held orders; their invoices and credit notes"),
        Tag(name=FULFILMENT, description="Fulfilment orders per location (accept, pick, pack, ship, reject, "
                                         "click-and-collect) and shipments"),
        Tag(name=INVENTORY, description="Stock per SKU and location: absolute counts, adjustments, CSV import"),
        Tag(name=LOCATIONS, description="Warehouses, stores and 3PLs"),
        Tag(name=CHANNELS, description="Sales channels as data: kind, policies, SKU mapping, stock buffer, secrets by "
                                       "reference, API keys; the available-to-sell figure a channel is told"),
        Tag(name=WEBHOOKS, description="Carrier, payment and channel (Shopify, WooCommerce) webhooks: signed bodies, "
                                       "no API key"),
        Tag(name=RETURNS, description="Returns (RMAs) against a channel's return policy: request, approve with a return "
                                      "label, decline, receive and restock or write off, refund (original payment or "
                                      "store credit), close; the customers' store credit"),
        Tag(name=CUSTOMERS, description="A customer's view for customer service: orders across channels, lifetime "
                                        "value in the base currency, returns, refunds, store credit, open "
                                        "exceptions; service notes"),
        Tag(name=ROUTING, description="Where orders ship from: the merchant's routing strategies (versioned) and "
                                      "the shipping profile their estimates use"),
        Tag(name=PURCHASING, description="Replenishment: demand forecasts, reorder points and what to order; "
                                         "suppliers; purchase orders and receiving them into stock"),
        Tag(name=REPORTS, description="Sales, fulfilment and returns reports from aggregates kept as events happen; "
                                      "the FX rates they convert into the base currency with"),
        Tag(name=ADMIN, description="Operator tools: reconciliation and its exceptions; the operator's people "
                                    "(admin only: invite, roles, disable, enable)"),
        Tag(name=HEALTH, description="Liveness, no API key"),
    ]


# Deferred (shared/domain/base.py): only the OpenAPI document builds them, never a request.
class ProblemDetail(DeferredModel):
    field: str = Field(description="Dotted path of the offending field, e.g. lines.0.quantity")
    problem: str


class ErrorBody(DeferredModel):
    """Every error the OMS answers has this shape (API Gateway's own answers, such as a missing key's
    403 or a throttled 429, have only `message`)."""

    error: str = Field(description="A stable code: malformed_json, unknown_query_parameter, unauthenticated, "
                                   "forbidden, not_found, conflict, payload_too_large, unsupported_media_type, "
                                   "validation_failed, invalid_input, busy, unavailable, internal_error")
    message: str = Field(description="What is wrong, for a person")
    field: str | None = Field(default=None, description="The offending field, when there is one")
    errors: list[ProblemDetail] | None = Field(default=None, description="Every problem, when there are several")
    correlation_id: str | None = Field(default=None, description="internal_error only: the id of the log line")


class GatewayError(DeferredModel):
    """API Gateway's own answer, given before any function runs: a missing or unknown x-api-key (403),
    a body over its 10 MB limit (413)."""

    message: str


ERRORS: dict[int, str] = {
    400: "`malformed_json` (the body is not valid JSON) or `unknown_query_parameter` (a query parameter the route "
         "does not take)",
    401: "`unauthenticated`: the signature over the raw body is missing, wrong or too old; nothing was stored",
    403: "`forbidden`: this key may not do this (API Gateway itself answers `{\"message\": \"Forbidden\"}` for a "
         "missing or unknown x-api-key)",
    404: "`not_found`: no such resource (another channel's order is not found either)",
    409: "`conflict`: the resource's state or an earlier request with the same id forbids it",
    413: "`payload_too_large`: the body is over the limit (API Gateway itself answers `{\"message\": \"Request Too "
         "Long\"}` past its 10 MB)",
    415: "`unsupported_media_type`: send the body with the Content-Type this route takes",
    422: "`validation_failed` (the request does not match the schema; `errors` lists every problem) or "
         "`invalid_input` (valid shape, invalid request)",
    503: "`busy` or `unavailable`: contention outlasted the retries, or a dependency failed; send the same request "
         "again",
}
_ERROR_CONTENT = {"application/json": {"model": ErrorBody}}
# What API Gateway itself may answer with these statuses, besides our functions (ErrorBody).
_GATEWAY_STATUSES = (403, 413)
_GATEWAY_CONTENT = {"application/json": {"model": ErrorBody | GatewayError}}


# What any route behind shared/http/api.py can answer: a query parameter it does not take or a body
# that is not JSON (400), a request its schema refuses (422).
COMMON = (400, 422)


def described(area: str, success: int = 200, *errors: int, success_description: str = "Success",
              public: bool = False, common: bool = True, created: type | None = None,
              rejected: Any = None) -> dict[str, Any]:
    """Route keyword arguments: the area (an OpenAPI tag), the success answer (its schema from the
    handler's return type) and each error answer with the error body (with COMMON's unless `common`
    is false: a route outside shared/http/api.py, such as the health check). `created`: a PUT that
    answers 201 when it creates, with this model (the fuzzer found 201s the document did not name).
    `rejected`: a route whose 422 may also be its own report of what it refused (a batch's per-item
    outcomes), besides the error body of a request its schema refuses."""
    responses: dict[int, dict[str, Any]] = {success: {"description": success_description}}
    if created is not None:
        responses[201] = {"description": "Created", "content": {"application/json": {"model": created}}}
    for status in sorted(set(errors) | (set(COMMON) if common else set())):
        responses[status] = {"description": ERRORS[status],
                             "content": _GATEWAY_CONTENT if status in _GATEWAY_STATUSES else _ERROR_CONTENT}
    if rejected is not None:
        responses[422]["content"] = {"application/json": {"model": ErrorBody | rejected}}
    # Errors no route can rule out: our bug (logged under the answer's correlation id).
    responses[500] = {"description": "`internal_error`: something failed on our side; quote `correlation_id`",
                      "content": _ERROR_CONTENT}
    kwargs: dict[str, Any] = {"tags": [area], "responses": responses}
    if public:
        kwargs["openapi_extensions"] = {"security": []}  # no API key: overrides the document's default
    return kwargs
