"""Powertools Logger, Tracer and Metrics, shared by every function (cheap objects: no clients)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="oms")
tracer = Tracer(service="oms")
metrics = Metrics(namespace="OMS", service="oms")
