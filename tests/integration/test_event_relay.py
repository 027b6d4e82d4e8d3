"""The outbox relay: table stream -> publish-events -> EventBridge rules -> the wiring's queues."""

from __future__ import annotations

import json

import boto3

from shared.domain.stock import SetStockRequest
from shared.services.capture import capture_order
from shared.services.inventory import set_stock
from tests.factories import NOW, TWO_WAREHOUSES, order_request, seed


def drain(url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    bodies = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    return bodies


def relay(pump) -> None:
    stream = pump.pollers[0]
    while stream.poll_once():
        pass


def test_each_committed_change_reaches_the_queues_that_subscribe(aws, repos, pump):
    seed(repos, TWO_WAREHOUSES, {})
    drain(aws.queue_urls["release-backorders"])
    order = capture_order(order_request(), "web", repos, NOW).order
    set_stock("SKU-9", "BER", SetStockRequest(on_hand=4), repos, NOW)     # available up: subscribed
    set_stock("SKU-9", "BER", SetStockRequest(on_hand=1), repos, NOW)     # available down: not

    relay(pump)

    allocation = drain(aws.queue_urls["allocate-orders"])
    assert [(e["detail-type"], e["source"], e["detail"]["order_id"]) for e in allocation] == [
        ("OrderReceived", "oms", order.order_id)]
    restocks = drain(aws.queue_urls["release-backorders"])
    assert [(e["detail"]["sku"], e["detail"]["available"]) for e in restocks] == [("SKU-9", 4)]


def test_a_refused_write_publishes_nothing(aws, repos, pump):
    seed(repos, TWO_WAREHOUSES, {})
    relay(pump)
    drain(aws.queue_urls["release-backorders"])
    capture_order(order_request(), "web", repos, NOW)
    capture_order(order_request(), "web", repos, NOW)  # duplicate: its transaction is refused whole

    relay(pump)

    assert len(drain(aws.queue_urls["allocate-orders"])) == 1


def test_entries_eventbridge_refuses_are_retried_from_the_first_failure(aws, functions, monkeypatch):
    from shared.adapters import event_bus

    calls = []

    class FlakyEvents:
        def put_events(self, Entries):
            calls.append(len(Entries))
            return {"FailedEntryCount": 1, "Entries": [{"EventId": "1"}, {"ErrorCode": "InternalFailure"}]}

    records = [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(n), "NewImage": {
        "pk": {"S": f"EVENT#{n}"}, "detail_type": {"S": "StockLow"}, "detail": {"S": "{}"}}}} for n in (1, 2)]
    module = functions.pools["publish-events"]._load(99)
    monkeypatch.setattr(module, "publish_to_bus", lambda rs: event_bus.publish(FlakyEvents(), "oms-events", rs))

    result = module.lambda_handler({"Records": records}, _context())

    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert calls == [2] and event_bus.PUT_EVENTS_MAX == 10


def _context():
    from local.functions import LambdaContext

    return LambdaContext("publish-events", 128, 10)
