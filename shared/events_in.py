"""Messages our queue consumers receive: EventBridge events delivered through SQS.

Parsed with Powertools' SqsRecordModel; the EventBridge envelope is modelled by hand with only the
fields we read, because moto's EventBridge omits `account` (which Powertools' EventBridgeModel
requires) and we want the same model to accept the emulator's and AWS's events.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Field, Json


class OrderRef(BaseModel):
    order_id: str


class SkuRef(BaseModel):
    sku: str
    location_id: str


class _Envelope(BaseModel):
    id: str
    source: str
    detail_type: str = Field(alias="detail-type")


class OrderEvent(_Envelope):
    detail: OrderRef


class StockEvent(_Envelope):
    detail: SkuRef


class AllocatedDetail(BaseModel):
    event_id: str
    order_id: str
    channel: str
    allocations: list[dict]
    pickup: bool = False


class AllocatedEvent(_Envelope):
    detail: AllocatedDetail


class AllocatedEventRecord(SqsRecordModel):
    body: Json[AllocatedEvent]


class OrderEventRecord(SqsRecordModel):
    body: Json[OrderEvent]


class StockEventRecord(SqsRecordModel):
    body: Json[StockEvent]
