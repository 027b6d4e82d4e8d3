"""The X-Ray SDK is opt-in: it costs every cold start. Failure reasons in logs quote no input."""

from __future__ import annotations

import sys

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.observability import failure_reason, traced


def handler(event, context):
    return {"ok": True}


def test_tracing_sdk_is_off_unless_asked_for(monkeypatch):
    monkeypatch.delenv("OMS_TRACE_SDK", raising=False)
    assert traced(handler) is handler


def test_tracing_sdk_wraps_the_handler_when_asked_for(monkeypatch):
    monkeypatch.setenv("OMS_TRACE_SDK", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    wrapped = traced(handler)
    assert wrapped is not handler
    assert "aws_xray_sdk" in sys.modules


class Customer(BaseModel):
    email: str = Field(pattern=r"^[^@]+@[^@]+\.[a-z]+$")
    phone: int


def test_a_validation_failure_is_logged_by_its_fields_and_messages_without_the_values():
    with pytest.raises(ValidationError) as caught:
        Customer.model_validate({"email": "jane.doe@example", "phone": "+49 30 1234567"})
    assert "jane.doe@example" in str(caught.value)  # what the reason must not repeat
    reason = failure_reason(caught.value)
    assert "jane.doe" not in reason and "1234567" not in reason
    assert reason.startswith("email: String should match pattern") and "phone: " in reason


def test_other_failures_are_logged_by_their_message_cut_short():
    assert failure_reason(RuntimeError("x" * 900)) == "x" * 500
    assert failure_reason(RuntimeError("conflict"), 300) == "conflict"
