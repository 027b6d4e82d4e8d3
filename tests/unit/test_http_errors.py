"""The error map: only the request's own JSON and validation are the caller's fault."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

from shared.http.api import install, resolve

pytestmark = pytest.mark.unit


class Out(BaseModel):
    n: int


class In(BaseModel):
    a: int


def app() -> APIGatewayRestResolver:
    resolver = APIGatewayRestResolver(enable_validation=True)
    install(resolver)

    @resolver.get("/broken")
    def broken() -> Out:
        return {"n": "not a number"}  # type: ignore[return-value]  # the bug under test

    @resolver.post("/things")
    def things(body: In) -> Out:
        return Out(n=body.a)

    return resolver


def event(method: str, path: str, body: str | None = None, headers: dict | None = None) -> dict:
    return {"httpMethod": method, "path": path, "resource": path, "body": body, "isBase64Encoded": False,
            "headers": headers or {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "requestContext": {"requestId": "req-1", "stage": "test", "httpMethod": method, "path": path,
                               "identity": {"sourceIp": "127.0.0.1"}}}


def test_an_answer_that_fails_its_own_model_is_a_logged_500_not_a_422(monkeypatch):
    from shared.observability import logger

    logged = []
    monkeypatch.setattr(logger, "exception", lambda message, **kw: logged.append((message, kw["extra"])))

    answer = resolve(app(), event("GET", "/broken"), None)

    assert answer["statusCode"] == 500
    assert json.loads(answer["body"])["correlation_id"] == "req-1"
    assert logged == [("unhandled error", {"correlation_id": "req-1", "error_type": "RequestValidationError"})]


@pytest.mark.parametrize("headers", [{}, {"Content-Type": ""}, {"Content-Type": "application/json"}])
@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a": ' + "9" * 5000 + "}"],
                         ids=["nested", "huge-int"])
def test_json_python_cannot_decode_is_400_whatever_the_content_type_says(headers, body):
    answer = resolve(app(), event("POST", "/things", body, headers), None)

    assert answer["statusCode"] == 400, answer
    assert json.loads(answer["body"])["error"] == "malformed_json"
