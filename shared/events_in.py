"""Messages our queue consumers receive: EventBridge events delivered through SQS (Powertools Parser)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import BaseModel, Json


class OrderRef(BaseModel):
    order_id: str


class SkuRef(BaseModel):
    sku: str
    location_id: str


class OrderEvent(EventBridgeModel):
    detail: OrderRef


class StockEvent(EventBridgeModel):
    detail: SkuRef


class OrderEventRecord(SqsRecordModel):
    body: Json[OrderEvent]  # type: ignore[assignment]


class StockEventRecord(SqsRecordModel):
    body: Json[StockEvent]  # type: ignore[assignment]
