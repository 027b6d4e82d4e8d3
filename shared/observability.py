"""Powertools Logger and Metrics for every function, and the Tracer when asked for."""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# Read-only invocations add no metric; Powertools then warns on every one of them.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="oms")
metrics = Metrics(namespace="OMS", service="oms")


def count(name: str) -> None:
    """Add 1 to a CloudWatch metric of this invocation.

    Skipped when POWERTOOLS_METRICS_DISABLED=true (the local runtime): Powertools then stops
    flushing at the end of each invocation but still prints the accumulated set once it holds
    100 values, which would end up on the local runtime's console."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() != "true":
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def traced(handler):
    """Powertools Tracer around `handler` when OMS_TRACE_SDK=true.

    Off by default: constructing a Tracer imports the X-Ray SDK, 100-180 ms of every cold start
    measured here. Lambda active tracing and API Gateway tracing (both on in the stack) still
    record every invocation without it; the SDK adds subsegments per AWS call.
    """
    if os.environ.get("OMS_TRACE_SDK", "").lower() != "true":
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer(service="oms").capture_lambda_handler(handler)


def failure_reason(error: BaseException, limit: int = 500) -> str:
    """Why something failed, for a log line. A pydantic validation error's own text quotes the input
    (a stored order's address or email, a customer's message): its fields and messages only, then."""
    errors = getattr(error, "errors", None)
    if type(error).__module__.startswith("pydantic") and callable(errors):
        found = errors(include_input=False, include_url=False)
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in found)[:limit]
    return str(error)[:limit]
