"""What every HTTP function shares: caller identity, error answers, the body size limit.

One mapping from domain outcomes to HTTP for every route:
  InvalidInput 422, request validation 422, malformed JSON 400, AccessDenied 403, NotFound 404,
  Conflict 409, oversized body 413, Busy 503 (safe to retry). The body names the field.
Before any of that, `resolve` refuses a query parameter the route does not declare (400, naming
it) and a body in a media type the route does not read (415: JSON, or what `takes` names).
People (the operator's staff) send a bearer token of the operator user pool besides an API key:
`resolve` verifies it (shared/http/tokens.py) and checks the route's roles (infra/wiring.py Route.roles)
and a warehouse person's locations before the route runs: 401 for a bad token, 403 naming the
missing role. Channels' and the operator's keys go on as before (the operator key acts as admin).
Only the request's own JSON decoding and validation are a 4xx of that kind: anything else
unexpected (a stored document that no longer parses, a bug) is a logged 500 with a correlation id,
never disguised as the caller's fault.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Route
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from shared.config import settings
from shared.domain.principal import CONSOLE, Principal, Role
from shared.errors import (
    AccessDenied,
    Busy,
    Conflict,
    InvalidInput,
    MalformedBody,
    NotFound,
    OmsError,
    Unauthenticated,
    Unavailable,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme

# The first class an error is an instance of decides: subclasses before their bases.
_STATUS = {MalformedBody: 400, InvalidInput: 422, Unauthenticated: 401, AccessDenied: 403, NotFound: 404, Conflict: 409, Busy: 503,
           Unavailable: 503}

F = TypeVar("F", bound=Callable[..., Any])

# The scheme in its JSON form rather than Powertools' APIKey model: Powertools validates the document
# into its models when it builds it (OpenAPI(**output)), so /openapi.json is the same, and every API
# function's cold start no longer imports event_handler.openapi.models (a hundred pydantic models,
# ~130 ms measured here) only to describe a header. The function that serves the document pays it.
API_KEY_SCHEME = cast("dict[str, SecurityScheme]",
                      {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}})


def error_response(status: int, code: str, message: str, field: str | None = None,
                   errors: list[dict] | None = None) -> Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


PERSON = "oms_person"  # the app context entry of the request's verified person (`resolve` sets it)


def principal(app: APIGatewayRestResolver) -> Principal:
    """The caller: the person whose bearer token `resolve` verified, or else the API key id API Gateway
    checked (a caller cannot set it): a key the stack issued (OMS_API_PRINCIPALS), or a channel's key
    issued at run time, while it is that channel's current key. A channel an operator deactivated is
    refused, whatever its key. The console's key alone is nobody: it only brings people's tokens."""
    person = app.context.get(PERSON)
    if isinstance(person, Principal):
        return person
    identity = app.current_event.request_context.identity
    key_id = identity.api_key_id if identity else None
    name = settings().principals.get(key_id or "")
    if name == CONSOLE:
        raise Unauthenticated("the console's key needs a person's bearer token (Authorization: Bearer ...)",
                              field="authorization")
    if name is None and key_id:
        name = _channel_of_issued_key(key_id)
    if name is None:
        raise AccessDenied("this API key is not assigned to a channel or operator")
    caller = Principal(name)
    if caller.channel is not None:
        from shared.repositories import repositories
        from shared.services.clock import utc_now

        configured = repositories().channels.get_cached(caller.channel, utc_now())
        if configured is not None and not configured.settings.active:
            raise AccessDenied(f"channel {caller.channel} is inactive: an operator deactivated it", field="channel")
    return caller


def _channel_of_issued_key(key_id: str) -> str | None:
    from shared.repositories import repositories
    from shared.services.clock import utc_now

    channels = repositories().channels
    channel_id = channels.channel_for_key(key_id)
    if channel_id is None:
        return None
    current = channels.get_cached(channel_id, utc_now())
    if current is None or current.api_key_id != key_id:
        current = channels.get(channel_id, utc_now())  # rotated a moment ago? read it afresh
    return channel_id if current is not None and current.api_key_id == key_id else None


def require_channel(app: APIGatewayRestResolver) -> str:
    """The calling channel: orders are captured with a channel's key, never an operator's."""
    channel = principal(app).channel
    if channel is None:
        raise AccessDenied("orders are captured with a channel's API key, not an operator's")
    return channel


def require_operator(app: APIGatewayRestResolver) -> Principal:
    caller = principal(app)
    if not caller.is_operator:
        raise AccessDenied("only an operator may do this")
    return caller


def _field(loc: tuple) -> str:
    # Powertools prefixes locations with "body"/"query"/"path"; keep the part the caller wrote.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


def install(app: APIGatewayRestResolver) -> None:
    """The error handlers, for every route of `app`; and, in Lambda, the SnapStart runtime hooks that
    build its routes and clients before a snapshot and renew the clients after a restore."""
    from shared import snapstart

    snapstart.prepare(app)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        problems = error.errors()
        if any(tuple(p.get("loc", ()))[:1] == ("response",) for p in problems):
            # Powertools reports an answer that fails its own model this way: our bug, not the caller's.
            return _bug(error)
        if any(p.get("type") == "json_invalid" for p in problems):
            return error_response(400, "malformed_json", "the request body is not valid JSON", field="body")
        errors = [{"field": _field(tuple(p.get("loc", ()))), "problem": p.get("msg", "invalid")} for p in problems]
        first = errors[0] if errors else {"field": "body", "problem": "invalid"}
        return error_response(422, "validation_failed", f"{first['field']}: {first['problem']}",
                              field=first["field"], errors=errors)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(error: RequestUnsupportedContentType) -> Response:
        return error_response(415, "unsupported_media_type", "send the body as application/json",
                              field="content-type")

    @app.exception_handler(NotFoundError)
    def _no_route(error: NotFoundError) -> Response:
        # Powertools signals "no route matches" with this exception: without its own handler the
        # Exception handler below took it, and a path parameter holding a character Powertools' route
        # pattern refuses (a quote, a backslash) was a 500.
        return error_response(404, "not_found", "no such resource", field="path")

    @app.exception_handler(OmsError)
    def _domain(error: OmsError) -> Response:
        return error_response(_status(error), error.code, error.message, field=error.field,
                              errors=error.details or None)

    @app.exception_handler(Exception)
    def _bug(error: Exception) -> Response:
        # Not the caller's fault, whatever the exception's type: logged with its traceback, and
        # answered with the id that finds that log line.
        from shared.observability import logger

        correlation_id = app.current_event.request_context.request_id
        logger.exception("unhandled error", extra={"correlation_id": correlation_id,
                                                   "error_type": type(error).__name__})
        return Response(status_code=500, content_type=content_types.APPLICATION_JSON, body={
            "error": "internal_error", "correlation_id": correlation_id,
            "message": f"something went wrong on our side; it is logged under correlation_id {correlation_id}"})


def resolve(app: APIGatewayRestResolver, event: dict, context, raw_body: bool = False) -> dict:
    """`app.resolve`, after refusing what no route accepts: Powertools validates a body before any
    middleware runs, and parsing megabytes only to refuse them is what we want to avoid. `raw_body`:
    the routes read the body's bytes themselves (signed webhooks: the signature comes first)."""
    body = event.get("body") or ""
    limit = settings().max_body_bytes
    if len(body) > limit:
        return _refusal(413, "payload_too_large", f"the body exceeds {limit} bytes", "body")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if headers.get("content-type", "").lower().startswith("multipart/"):
        # Powertools' multipart parser raises a bare ValueError on a malformed boundary; we take no forms.
        return _refusal(415, "unsupported_media_type", "send the body as application/json", "content-type")
    route = _route(app, event)
    if route is not None:
        # Not on signed webhooks: a carrier's configured URL may carry its own query string, and a
        # 400 there would only make the carrier retry the update for days.
        if not raw_body and (refused := _unknown_query(route, event)) is not None:
            return refused
        if (refused := _unsupported_media(route, headers)) is not None:
            return refused
        if (refused := _person(app, event, headers)) is not None:
            return refused
    # Powertools parses a body without a content type (or an empty one) as JSON: check it the same way.
    if not raw_body and body and "json" in (headers.get("content-type") or "application/json").lower() \
            and not _decodes(event, body):
        return _refusal(400, "malformed_json", "the request body could not be parsed as JSON", "body")
    return app.resolve(event, context)


def _person(app: APIGatewayRestResolver, event: dict, headers: dict[str, str]) -> dict | None:
    """A request with a bearer token on a keyed route: the person it names (kept for `principal`), or
    the refusal: 401 for a token that does not verify, 403 naming the role the route wants, 403 for a
    warehouse person naming another location. Public routes (absent from the roles) ignore tokens."""
    authorization = headers.get("authorization", "")
    config = settings()
    allowed = config.route_roles.get(f"{event.get('httpMethod', '')} {event.get('resource', '')}")
    if not authorization or allowed is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _refusal(401, "unauthenticated", "send a person's token as Authorization: Bearer <token>",
                        "authorization")
    from shared.http import tokens  # PyJWT: only a request bringing a token pays its import

    if not config.user_pool_issuer:
        return _refusal(401, "unauthenticated", "people do not sign in on this deployment", "authorization")
    pool = tokens.Pool(config.user_pool_issuer, config.user_pool_client_ids, config.user_pool_jwks_url)
    try:
        person = tokens.verify(token.strip(), pool)
    except OmsError as error:
        return _refusal(_status(error), error.code, error.message, "authorization")
    caller = Principal.person(person.username, person.groups)
    missing = caller.missing_role(frozenset(Role(r) for r in allowed))
    if missing is not None:
        wanted = " or ".join([*allowed, Role.ADMIN.value]) if allowed else Role.ADMIN.value
        return _refusal(403, "forbidden", f"this needs the role {wanted}; you have "
                        f"{', '.join(sorted(caller.roles)) or 'none'}", "role", missing_role=missing.value)
    location = (event.get("pathParameters") or {}).get("location_id")
    if location is not None and not caller.may_work_at(location):
        return _refusal(403, "forbidden", f"location {location} is not one of your locations", "location_id")
    app.append_context(**{PERSON: caller})
    return None


def _status(error: OmsError) -> int:
    return next((s for cls, s in _STATUS.items() if isinstance(error, cls)), 400)


def takes(media_type: str) -> Callable[[F], F]:
    """Mark a route that reads its raw body as `media_type` (e.g. text/csv) instead of JSON: `resolve`
    answers 415 to a request that says it sends anything else, or says nothing."""
    def mark(route_function: F) -> F:
        route_function.oms_media_type = media_type  # type: ignore[attr-defined]
        return route_function
    return mark


def _route(app: APIGatewayRestResolver, event: dict) -> Route | None:
    """The route Powertools will call for `event` (its own matching, ApiGatewayResolver._resolve), or
    None (404, CORS preflight). Read before resolving, so the refusals below come before validation."""
    method = str(event.get("httpMethod") or "").upper()
    path = app._remove_prefix(event.get("path") or "/")
    return next((r for r in app._static_routes + app._dynamic_routes if r.method == method and r.rule.match(path)),
                None)


def _unknown_query(route: Route, event: dict) -> dict | None:
    """400 naming the query parameters the route does not declare: a misspelt filter (?stauts=) would
    otherwise be ignored silently, and the caller would take every order for the ones it asked for."""
    sent = {**(event.get("queryStringParameters") or {}), **(event.get("multiValueQueryStringParameters") or {})}
    declared = {param.alias for param in route.dependant.query_params}
    unknown = sorted(set(sent) - declared)
    if not unknown:
        return None
    takes_ = f"it takes {', '.join(sorted(declared))}" if declared else "it takes none"
    return _refusal(400, "unknown_query_parameter",
                    f"unknown query parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: {takes_}",
                    unknown[0])


def _unsupported_media(route: Route, headers: dict[str, str]) -> dict | None:
    """415 for a body the route does not read: anything but JSON on a route with a JSON body (a form
    would otherwise be parsed as one, and refused field by field), anything but its own media type on
    a route marked with `takes`."""
    sent = headers.get("content-type", "").split(";")[0].strip().lower()
    wanted = getattr(route.func, "oms_media_type", None)
    if wanted is not None:
        if sent != wanted:
            return _refusal(415, "unsupported_media_type", f"send the body as {wanted}", "content-type")
    elif sent and sent != "application/json" and route.dependant.body_params:
        return _refusal(415, "unsupported_media_type", "send the body as application/json", "content-type")
    return None


def _decodes(event: dict, body: str) -> bool:
    """Whether the body is JSON Python can decode. Checked before Powertools parses it, because
    json.loads raises RecursionError (nesting) or ValueError (an integer literal past Python's digit
    limit) past Powertools' own check; after it, those would be indistinguishable from a bug."""
    try:
        raw = base64.b64decode(body) if event.get("isBase64Encoded") else body
        json.loads(raw)
        return True
    except (ValueError, RecursionError):
        return False


def _refusal(status: int, code: str, message: str, field: str, **extra: str) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "isBase64Encoded": False,
            "body": json.dumps({"error": code, "message": message, "field": field, **extra})}


def api_handler(app: APIGatewayRestResolver, raw_body: bool = False) -> Callable[[dict, Any], dict]:
    """The Lambda entry point of an API function: Powertools' log context (correlation id = API Gateway's
    request id), tracing when asked, metrics flushed, then `resolve`."""
    from shared.observability import logger, metrics, traced

    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
    @traced
    @metrics.log_metrics
    def lambda_handler(event: dict, context: Any) -> dict:
        return resolve(app, event, context, raw_body=raw_body)

    return lambda_handler
