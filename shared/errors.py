"""Domain outcomes that a caller must hear about. shared/http/api.py maps them to HTTP answers."""

from __future__ import annotations


class OmsError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, details: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or []


class NotFound(OmsError):
    code = "not_found"


class Conflict(OmsError):
    code = "conflict"


class AccessDenied(OmsError):
    code = "forbidden"


class Unauthenticated(OmsError):
    """The caller could not prove who it is (e.g. a webhook whose signature does not verify)."""

    code = "unauthenticated"


class InvalidInput(OmsError):
    code = "invalid_input"


class MalformedBody(InvalidInput):
    """The body cannot be parsed at all (not JSON): 400, where a body that parses but breaks a rule
    is 422. Signed webhooks raise it after their signature is checked on the raw bytes."""

    code = "malformed_json"


class Busy(OmsError):
    """Contention outlasted our retries; the caller may safely retry the same request."""

    code = "busy"


class Unavailable(OmsError):
    """A dependency is missing or down (e.g. a carrier without credentials): not the caller's fault."""

    code = "unavailable"
