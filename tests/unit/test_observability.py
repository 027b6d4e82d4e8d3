"""The X-Ray SDK is opt-in: it costs every cold start."""

from __future__ import annotations

import sys

from shared.observability import traced


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
