"""The local stand-in for the table stream's event source mapping (local/event_sources.py) honours
the mapping's batching window as Lambda does: outbox records are gathered from the first one kept
until the window has passed or the batch is full, then handed to the relay in one invocation, so
the benchmark (bench/order_lifecycle.py) measures the relay the stack deploys."""

from __future__ import annotations

import pytest

from infra import wiring
from local.event_sources import STREAM_BATCH_SIZE, STREAM_WINDOW_POLL_S, StreamPoller

pytestmark = pytest.mark.unit

RELAY = wiring.function("publish-events")


def outbox_record(n: int, event_name: str = "INSERT") -> dict:
    return {"eventName": event_name, "dynamodb": {"SequenceNumber": str(1000 + n),
                                                  "NewImage": {"pk": {"S": f"EVENT#{n}"}, "sk": {"S": "EVENT"}}}}


class Clock:
    """The poller's time: it moves only while the poller waits (its stop event's wait)."""

    def __init__(self):
        self.now = 0.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now


class Stop:
    def __init__(self, clock: Clock):
        self.clock = clock

    def is_set(self) -> bool:
        return False

    def wait(self, seconds: float) -> bool:
        self.clock.waits.append(seconds)
        self.clock.now += seconds
        return False


class Shard:
    """One shard whose reads return the given lists of records in turn, then nothing."""

    def __init__(self, reads: list[list[dict]]):
        self.reads = list(reads)
        self.limits: list[int] = []

    def describe_stream(self, StreamArn):  # noqa: N803 - boto3's parameter names
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-0"}]}}

    def get_shard_iterator(self, **_):
        return {"ShardIterator": "it"}

    def get_records(self, ShardIterator, Limit):  # noqa: N803
        self.limits.append(Limit)
        records = self.reads.pop(0) if self.reads else []
        return {"Records": records[:Limit], "NextShardIterator": "it"}


class Relay:
    def __init__(self):
        self.batches: list[list[str]] = []

    def invoke(self, name: str, event: dict) -> dict:
        self.batches.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        return {"batchItemFailures": []}


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("local.event_sources.time.monotonic", clock.monotonic)
    return clock


def poller(shard: Shard, relay: Relay, clock: Clock, **kwargs) -> StreamPoller:
    return StreamPoller(RELAY, "arn:stream", shard, relay, Stop(clock), **kwargs)  # type: ignore[arg-type]


def test_the_relay_mapping_has_a_batching_window():
    assert RELAY.stream_batching_window_s >= 1


def test_records_written_within_the_window_reach_the_relay_in_one_invocation(clock):
    shard, relay = Shard([[outbox_record(1)], [outbox_record(2)], [], [outbox_record(3)]]), Relay()

    assert poller(shard, relay, clock).poll_once() is True

    assert relay.batches == [["1001", "1002", "1003"]]
    # It read on until the window (the wiring's, as the stack's mapping) had passed, and no longer.
    assert sum(clock.waits) == pytest.approx(RELAY.stream_batching_window_s)
    assert max(clock.waits) <= STREAM_WINDOW_POLL_S


def test_without_a_window_each_read_is_its_own_invocation(clock):
    shard, relay = Shard([[outbox_record(1)], [outbox_record(2)]]), Relay()
    relay_poller = poller(shard, relay, clock, batching_window_s=0)

    relay_poller.poll_once()
    relay_poller.poll_once()

    assert relay.batches == [["1001"], ["1002"]]
    assert clock.waits == []


def test_a_full_batch_goes_at_once_without_waiting_out_the_window(clock):
    first, second = [outbox_record(n) for n in range(60)], [outbox_record(n) for n in range(60, 120)]
    shard, relay = Shard([first, second]), Relay()

    poller(shard, relay, clock).poll_once()

    assert [len(b) for b in relay.batches] == [STREAM_BATCH_SIZE]
    assert shard.limits == [STREAM_BATCH_SIZE, STREAM_BATCH_SIZE - 60]  # never read past a full batch
    assert clock.waits == [STREAM_WINDOW_POLL_S]


def test_records_the_filter_drops_open_no_window(clock):
    shard, relay = Shard([[outbox_record(1, event_name="MODIFY")], [outbox_record(2)]]), Relay()

    assert poller(shard, relay, clock).poll_once() is True  # the shard moved on

    assert relay.batches == [] and clock.waits == []
