"""The outbox relay: table stream -> publish-events -> EventBridge rules -> the wiring's queues."""

from __future__ import annotations

import json

import boto3
import pytest

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


class RecordingEvents:
    """EventBridge accepting every entry but those whose detail is in `refuse`."""

    def __init__(self, refuse: frozenset[str] = frozenset()):
        self.calls: list[list[tuple[str, str]]] = []
        self.refuse = refuse

    def put_events(self, Entries):
        self.calls.append([(e["DetailType"], e["Detail"]) for e in Entries])
        answers = [{"ErrorCode": "InternalFailure"} if e["Detail"] in self.refuse else {"EventId": "e"} for e in Entries]
        return {"FailedEntryCount": sum("ErrorCode" in a for a in answers), "Entries": answers}


def transaction_item(n: int, *events: tuple[str, str]) -> dict:
    """The stream record of an outbox item holding a transaction's events."""
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(n), "NewImage": {
        "pk": {"S": f"EVENT#{n}"}, "sk": {"S": "EVENTS"}, "expires_at": {"N": "1"},
        "events": {"L": [{"M": {"detail_type": {"S": t}, "detail": {"S": d}}} for t, d in events]}}}}


def single_event_item(n: int, detail_type: str, detail: str) -> dict:
    """The stream record of an item of the shape written before one item held a transaction's events."""
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(n), "NewImage": {
        "pk": {"S": f"EVENT#{n}"}, "sk": {"S": "EVENT"}, "detail_type": {"S": detail_type}, "detail": {"S": detail}}}}


def relay_with(functions, monkeypatch, bus, records) -> dict:
    from shared.adapters import event_bus

    module = functions.pools["publish-events"]._load(99)
    monkeypatch.setattr(module, "publish_to_bus", lambda rs: event_bus.publish(bus, "oms-events", rs))
    return module.lambda_handler({"Records": records}, _context())


def test_every_event_of_an_item_is_published_in_order_with_old_single_event_items(aws, functions, monkeypatch):
    bus = RecordingEvents()
    records = [transaction_item(1, ("ShipmentDispatched", '{"n": 1}'), ("FulfillmentOrderChanged", '{"n": 2}'),
                                ("OrderShipped", '{"n": 3}')),
               single_event_item(2, "StockLow", '{"n": 4}'),  # in flight during the deploy that changed the shape
               transaction_item(3, *[("StockChanged", f'{{"n": {n}}}') for n in range(5, 12)])]

    assert relay_with(functions, monkeypatch, bus, records) == {"batchItemFailures": []}

    sent = [entry for call in bus.calls for entry in call]
    assert [json.loads(detail)["n"] for _, detail in sent] == list(range(1, 12))
    assert [t for t, _ in sent][:4] == ["ShipmentDispatched", "FulfillmentOrderChanged", "OrderShipped", "StockLow"]
    assert [len(call) for call in bus.calls] == [10, 1]  # entries of several items share a call


@pytest.mark.parametrize(("refused", "retried_from"), [('{"n": 2}', "1"), ('{"n": 5}', "2"), ('{"n": 3}', "2")])
def test_a_refused_entry_retries_from_its_item(aws, functions, monkeypatch, refused, retried_from):
    """Lambda re-sends the whole item (and those after it) from the reported sequence number."""
    bus = RecordingEvents(refuse=frozenset({refused}))
    records = [transaction_item(1, ("A", '{"n": 1}'), ("B", '{"n": 2}')),
               transaction_item(2, ("A", '{"n": 3}'), ("B", '{"n": 4}'), ("C", '{"n": 5}'))]

    assert relay_with(functions, monkeypatch, bus, records) == {"batchItemFailures": [{"itemIdentifier": retried_from}]}


def _context():
    from local.functions import LambdaContext

    return LambdaContext("publish-events", 128, 10)
