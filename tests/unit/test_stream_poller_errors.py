"""The local stand-in for the table stream's event source mapping (local/event_sources.py) treats a
relay invocation that raises as Lambda does a function error: the batch is retried from its first
record, never skipped. (Found by the soak, bench/soak.py: a relay dying after PutEvents lost the
rest of its batch, so orders were never allocated.)"""

from __future__ import annotations

import threading

import pytest

from infra import wiring
from local.event_sources import StreamPoller

pytestmark = pytest.mark.unit


def outbox_record(n: int) -> dict:
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(100 + n),
                                                "NewImage": {"pk": {"S": f"EVENT#{n}"}, "sk": {"S": "EVENT"}}}}


class Shard:
    """One shard holding two outbox inserts; read once, then empty."""

    def __init__(self):
        self.records = [outbox_record(1), outbox_record(2)]

    def describe_stream(self, StreamArn):  # noqa: N803 - boto3's parameter names
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-0"}]}}

    def get_shard_iterator(self, **_):
        return {"ShardIterator": "it-0"}

    def get_records(self, ShardIterator, Limit):  # noqa: N803
        records, self.records = self.records, []
        return {"Records": records, "NextShardIterator": "it-1"}


class DiesOnce:
    """The relay: its first invocation dies (after doing some of its work), the next ones succeed."""

    def __init__(self):
        self.batches: list[list[str]] = []

    def invoke(self, name: str, event: dict) -> dict:
        self.batches.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        if len(self.batches) == 1:
            raise RuntimeError("the function died mid-batch")
        return {"batchItemFailures": []}


def test_a_relay_that_raises_gets_its_batch_again_from_the_first_record(monkeypatch):
    monkeypatch.setattr("local.event_sources.time.sleep", lambda _s: None)
    relay = next(fn for fn in wiring.FUNCTIONS if fn.table_stream)
    functions = DiesOnce()
    poller = StreamPoller(relay, "arn:stream", Shard(), functions, threading.Event())
    assert poller.poll_once() is True
    assert functions.batches == [["101", "102"], ["101", "102"]]
