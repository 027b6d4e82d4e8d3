"""The first event `bench.cold_start` gives each function: realistic, about nothing that exists, so the
first invocation does the function's real work up to its first AWS call and answers "not found",
"nothing to do" or "not signed" (the outcome column shows which).

- An API function gets a REST proxy event for a cheap GET route (a webhook function, which has no GET,
  an unsigned POST: it reads its signing secret and answers 401).
- A queue consumer gets one SQS record with what its queue really carries: an EventBridge event of its
  first detail-type with a detail that validates (DETAILS), or for a queue fed directly, the message
  its sender writes (QUEUE_BODIES).
- The outbox relay gets one outbox INSERT from the table stream; a scheduled function its schedule's event.

A function whose event is not listed here gets a generic one; if its first invocation then fails to
parse it ("1 failed records", a 422), add its detail-type or queue below.
"""

from __future__ import annotations

import json
import uuid

UNKNOWN_ORDER_ID = "o" + "0" * 24  # the right shape (o + 24 hex): the read goes to DynamoDB and finds nothing
UNKNOWN = "bench-unknown"  # an id that exists nowhere and matches every id pattern of the API
CHEAP_READS = ("/health", "/locations", "/orders/{order_id}")  # else an API function's first GET route
# Path parameters of their own shape, or from a closed set of values.
PATH_VALUES = {"order_id": UNKNOWN_ORDER_ID, "simulation_id": "sim-" + "0" * 24, "provider": "stripe",
               "kind": "shopify", "carrier": "easypost"}
KEY_ID = "bench-operator-key"
WHEN = "2025-01-01T00:00:00Z"


def _line(**extra) -> dict:
    return {"sku": UNKNOWN, "quantity": 1, **extra}


# detail-type -> a detail of the shape its consumers parse (the first detail-type of each queue's rules).
DETAILS: dict[str, dict] = {
    "OrderReceived": {"order_id": UNKNOWN, "channel": "web"},
    "StockChanged": {"sku": UNKNOWN, "location_id": UNKNOWN},
    "OrderAllocated": {"order_id": UNKNOWN, "channel": "web", "allocations": [_line(location_id=UNKNOWN)],
                       "partial": False, "backordered": [], "pickup": False, "previous": "RECEIVED"},
    "ChannelStockChanged": {"channel_id": UNKNOWN, "sku": UNKNOWN, "channel_sku": UNKNOWN, "available_to_sell": 3,
                            "previous": None, "stamp": 1},
    "DocumentIssued": {"kind": "INVOICE", "number": "INV-2025-000001", "order_id": UNKNOWN, "channel": "web",
                       "covers": UNKNOWN, "corrects": None, "currency": "EUR", "net": "10.00", "tax": "1.90",
                       "gross": "11.90"},
    "ShipmentDispatched": {"shipment_id": UNKNOWN, "fulfillment_order_id": UNKNOWN, "order_id": UNKNOWN,
                           "channel": "web", "location_id": UNKNOWN, "lines": [_line()], "carrier": None,
                           "service": None, "tracking_code": None},
}

# queue name -> the body its sender writes, for queues no EventBridge rule feeds.
QUEUE_BODIES: dict[str, dict] = {
    "tracking-updates": {"provider": "canonical", "provider_event_id": "bench", "tracking_code": UNKNOWN,
                         "status": "IN_TRANSIT", "occurred_at": WHEN, "received_at": WHEN},
    "payment-events": {"event": {"provider": "stripe", "event_id": "evt_bench", "kind": "succeeded", "created": WHEN,
                                 "currency": "EUR", "intent_id": "pi_bench", "order_id": UNKNOWN_ORDER_ID,
                                 "amount": "11.90", "amount_received": "11.90"},
                       "received_at": WHEN},
    # SP-API's ORDER_CHANGE notification for a marketplace no channel sells on.
    "amazon-notifications": {"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE",
                             "Payload": {"OrderChangeNotification": {
                                 "SellerId": "BENCH", "AmazonOrderId": "000-0000000-0000000",
                                 "OrderChangeType": "OrderStatusChange",
                                 "Summary": {"MarketplaceId": "BENCHMARKET", "OrderStatus": "Unshipped"}}}},
    "routing-simulations": {"simulation_id": UNKNOWN, "chunk": 0},
}


def api_event(fn) -> dict:
    gets = [r for r in fn.routes if r.method == "GET"]
    route = next((r for r in gets if r.path in CHEAP_READS), gets[0] if gets else fn.routes[0])
    params = {name: PATH_VALUES.get(name, UNKNOWN)
              for name in (p.strip("{}") for p in route.path.split("/") if p.startswith("{"))}
    path = route.path.format(**params)
    headers = {"Host": "localhost", "x-api-key": "bench", "Content-Type": "application/json"}
    return {  # API Gateway's REST proxy event, as local/runtime.py ApiGateway builds it
        "resource": route.path, "path": path, "httpMethod": route.method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": params or None, "stageVariables": None,
        "body": "{}" if route.method != "GET" else None, "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": route.path, "httpMethod": route.method, "path": path, "stage": "local",
            "requestId": str(uuid.uuid4()), "accountId": "123456789012", "apiId": "local",
            "requestTimeEpoch": 0, "identity": {"apiKeyId": KEY_ID, "apiKey": "bench", "sourceIp": "127.0.0.1"},
        },
    }


def eventbridge(detail_type: str, detail: dict) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": "oms",
            "account": "123456789012", "time": WHEN, "region": "us-east-1", "resources": [],
            "detail": {"event_id": uuid.uuid4().hex, "occurred_at": WHEN, **detail}}


def sqs_event(fn) -> dict:
    if fn.queue.event_patterns:
        detail_type = fn.queue.event_patterns[0]["detail-type"][0]
        body = eventbridge(detail_type, DETAILS.get(detail_type, {"order_id": UNKNOWN, "sku": UNKNOWN,
                                                                  "location_id": UNKNOWN}))
    else:
        body = QUEUE_BODIES.get(fn.queue.name, {})
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "bench", "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1735689600000", "SenderId": "bench",
                       "ApproximateFirstReceiveTimestamp": "1735689600000"},
        "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{fn.queue.name}", "awsRegion": "us-east-1",
    }]}


def stream_event(stream_arn: str) -> dict:
    """One outbox INSERT from the table stream."""
    detail = {"event_id": uuid.uuid4().hex, "occurred_at": WHEN, "sku": UNKNOWN}
    image = {"pk": {"S": f"EVENT#{detail['event_id']}"}, "sk": {"S": "EVENTS"}, "expires_at": {"N": "1736294400"},
             "events": {"L": [{"M": {"detail_type": {"S": "StockChanged"}, "detail": {"S": json.dumps(detail)}}}]}}
    return {"Records": [{
        "eventID": uuid.uuid4().hex, "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "eventSourceARN": stream_arn,
        "dynamodb": {"ApproximateCreationDateTime": 1735689600, "Keys": {k: image[k] for k in ("pk", "sk")},
                     "NewImage": image, "SequenceNumber": "100000000000000000001", "SizeBytes": 200,
                     "StreamViewType": "NEW_IMAGE"},
    }]}


def first_event(fn, stream_arn: str) -> dict:
    if fn.routes:
        return api_event(fn)
    if fn.queue:
        return sqs_event(fn)
    if fn.table_stream:
        return stream_event(stream_arn)
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": WHEN, "region": "us-east-1", "resources": [], "detail": {}}
