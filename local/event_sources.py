"""The local stand-ins for what invokes a function besides the API: Lambda's SQS and DynamoDB
stream event source mappings, and EventBridge schedules.

They poll the way Lambda's pollers do, because every request they make waits its turn at the
emulator's one lock (local/emulator_server.py) with the requests of the functions themselves:

- a queue poller long-polls (`WaitTimeSeconds`, 20 s as Lambda), takes up to ten messages a
  receive and deletes a batch in one `DeleteMessageBatch`; an empty queue costs one request per
  long poll instead of one every few milliseconds;
- the stream poller reads a shard when told something was written (`nudge`: the runtime calls it
  after every invocation of a function that writes to the table) and otherwise backs off to
  `STREAM_IDLE_MAX_S` (Lambda reads each shard four times a second); it hands the relay only what
  the stack's filter lets through (inserted outbox items), gathered for the mapping's batching
  window as Lambda does (until the window has passed or the batch is full).

`poll_once` does one round without waiting anywhere unless the poller was built to long-poll, so
tests can pump work synchronously with the same classes.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime

from infra import wiring
from local.functions import Functions
from shared.outbox_format import OUTBOX_PREFIX

log = logging.getLogger("oms.local")

SQS_MAX_RECEIVE = 10  # messages per ReceiveMessage, and entries per batch delete
LONG_POLL_S = 20  # Lambda's SQS pollers wait this long on an empty queue
BATCHING_POLL_S = 0.5  # without long polling, how often an empty queue is asked again within a batching window
STREAM_RETRY_ATTEMPTS = 10  # as the stack's stream event source mapping
STREAM_BATCH_SIZE = 100  # the stack's stream mapping takes CDK's default batch
STREAM_WINDOW_POLL_S = 0.25  # within a batching window a shard is read again this often (as Lambda: 4 a second)
IDLE_MIN_S = 0.01
STREAM_IDLE_MAX_S = 0.5  # a quiet stream is read at least this often (writes from outside a handler)
IDLE_MAX_S = 0.5


class Poller(threading.Thread, ABC):
    """One poller: `poll_once` in a loop, backing off while idle (doubling from `IDLE_MIN_S`,
    capped at `idle_max_s`, reset by work); `nudge` ends a back-off at once."""

    idle_max_s = IDLE_MAX_S

    def __init__(self, name: str, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.stop_event = stop
        self.wake = threading.Event()  # set: look now (a nudge, or stopping)
        self.running = threading.Event()  # cleared: paused (a benchmark measuring capture alone)
        self.running.set()

    def nudge(self) -> None:
        self.wake.set()

    def run(self) -> None:
        backoff = IDLE_MIN_S
        while not self.stop_event.is_set():
            if not self.running.wait(timeout=0.2):
                continue
            self.wake.clear()  # before polling: a nudge during the poll makes the next one start at once
            failed = False
            try:
                busy = self.poll_once()
            except Exception:  # a poller must survive anything a handler does; Lambda would too
                if self.stop_event.is_set():
                    return  # shutting down: the emulator may already be gone
                log.exception("%s failed", self.name)
                busy, failed = False, True
            if busy:
                backoff = IDLE_MIN_S
            elif failed or not self.waited_in_poll():
                self.wake.wait(backoff)
                backoff = min(self.idle_max_s, backoff * 2)

    def waited_in_poll(self) -> bool:
        """True when an empty `poll_once` already waited (a long poll): no back-off after it."""
        return False

    @abstractmethod
    def poll_once(self) -> bool:
        """Do one round of work; True when there was some."""


class QueuePoller(Poller):
    """What Lambda's SQS event source mapping does: receive a batch, invoke, delete what succeeded.
    Failed records stay on the queue until the visibility timeout (shortened locally to
    `retry_delay_s`), and SQS's redrive policy moves them to the DLQ after maxReceiveCount.
    `wait_s` > 0 long-polls (the runtime); 0 asks once and returns (a test's pump)."""

    def __init__(self, fn: wiring.Function, url: str, sqs, functions: Functions, stop, retry_delay_s: int,
                 batching_window_s: float | None = None, wait_s: int = 0):
        super().__init__(f"sqs:{fn.name}", stop)
        if fn.queue is None:
            raise ValueError(f"{fn.name} reads no queue")
        self.fn, self.url, self.sqs, self.functions, self.retry_delay_s = fn, url, sqs, functions, retry_delay_s
        self.queue = fn.queue
        self.wait_s = wait_s
        # The queue's window, unless told otherwise (a test pumping work synchronously waits for none).
        self.batching_window_s = fn.queue.batching_window_s if batching_window_s is None else batching_window_s
        self.arn = f"arn:aws:sqs:us-east-1:123456789012:{fn.queue.name}"

    def waited_in_poll(self) -> bool:
        return self.wait_s > 0

    def _receive(self, wait_s: int) -> list[dict]:
        return self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=min(self.queue.batch_size, SQS_MAX_RECEIVE), WaitTimeSeconds=wait_s,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])

    def poll_once(self) -> bool:
        messages = self._receive(self.wait_s)
        if not messages:
            return False
        messages += self._fill(len(messages))
        if not self.running.is_set() or self.stop_event.is_set():
            # Paused or stopping while the long poll waited: the messages go back, as if never taken.
            self._change_visibility(messages, 0)
            return False
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": self.arn, "awsRegion": "us-east-1",
        } for m in messages]}
        try:
            failed = {f["itemIdentifier"] for f in self.functions.invoke(self.fn.name, event)["batchItemFailures"]}
        except Exception as error:  # noqa: BLE001 - Powertools raises when every record failed: Lambda retries them all
            log.warning("%s: the whole batch failed: %s", self.fn.name, type(error).__name__)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_RECEIVE):
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start:start + SQS_MAX_RECEIVE])])
        self._change_visibility([m for m in messages if m["MessageId"] in failed], self.retry_delay_s)
        return True

    def _fill(self, have: int) -> list[dict]:
        """Within the queue's batching window, keep receiving (SQS hands out 10 at most) until the
        batch is full or the window has passed, as Lambda's poller does."""
        more: list[dict] = []
        deadline = time.monotonic() + self.batching_window_s
        while have + len(more) < self.queue.batch_size and not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self.wait_s:  # long-poll for the rest of the window (whole seconds, as SQS takes them)
                more += self._receive(min(LONG_POLL_S, math.ceil(remaining)))
            elif got := self._receive(0):
                more += got
            else:
                time.sleep(min(BATCHING_POLL_S, remaining))  # the emulator serves one request at a time
        return more

    def _change_visibility(self, messages: list[dict], timeout_s: int) -> None:
        for start in range(0, len(messages), SQS_MAX_RECEIVE):
            self.sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": timeout_s}
                for i, m in enumerate(messages[start:start + SQS_MAX_RECEIVE])])


class StreamPoller(Poller):
    """What Lambda's DynamoDB stream event source mapping does, for the outbox relay: read each
    shard from the oldest record, gather the records the stack's filter lets through for the
    mapping's batching window (until it has passed or the batch is full), hand them to the
    function, and on a reported failure retry from the first failed record."""

    idle_max_s = STREAM_IDLE_MAX_S

    def __init__(self, fn: wiring.Function, stream_arn: str, streams, functions: Functions, stop,
                 batching_window_s: float | None = None):
        super().__init__(f"stream:{fn.name}", stop)
        self.fn, self.arn, self.streams, self.functions = fn, stream_arn, streams, functions
        self.iterators: dict[str, str] = {}
        # The mapping's window, unless told otherwise (a test pumping work synchronously waits for none).
        self.batching_window_s = fn.stream_batching_window_s if batching_window_s is None else batching_window_s

    def poll_once(self) -> bool:
        if not self.iterators:
            for shard in self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
                self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        batches: dict[str, list[dict]] = {shard_id: [] for shard_id in self.iterators}
        busy = self._read(batches)
        # The window opens with the first record kept, as Lambda's does; then the shards are read
        # again until it has passed or a batch is full.
        deadline = time.monotonic() + self.batching_window_s
        while (any(batches.values()) and all(len(b) < STREAM_BATCH_SIZE for b in batches.values())
               and (remaining := deadline - time.monotonic()) > 0):
            if self.stop_event.wait(min(STREAM_WINDOW_POLL_S, remaining)):
                return busy  # stopping: the emulator may be gone, and nothing outlives the runtime
            self._read(batches)
        for records in batches.values():
            self._deliver(records)
        return busy

    def _read(self, batches: dict[str, list[dict]]) -> bool:
        """Read each shard on from its iterator into its batch (never past a full one); True when
        any shard moved on, whatever the filter kept."""
        moved = False
        for shard_id, iterator in list(self.iterators.items()):
            room = STREAM_BATCH_SIZE - len(batches[shard_id])
            if room <= 0:
                continue
            response = self.streams.get_records(ShardIterator=iterator, Limit=room)
            self.iterators[shard_id] = response["NextShardIterator"]
            moved = moved or bool(response["Records"])
            batches[shard_id] += [r for r in response["Records"] if outbox_insert(r)]
        return moved

    def _deliver(self, records: list[dict]) -> None:
        for attempt in range(STREAM_RETRY_ATTEMPTS + 1):
            if not records:
                return
            if attempt == STREAM_RETRY_ATTEMPTS:
                log.error("%s: giving up on %d stream records (AWS sends them to the DLQ)", self.fn.name, len(records))
                return
            try:
                result = self.functions.invoke(self.fn.name,
                                               {"Records": [_stream_record(r, self.arn) for r in records]})
            except Exception as error:  # noqa: BLE001 - a function error: Lambda retries the whole batch
                log.warning("%s: the whole batch failed: %s", self.fn.name, type(error).__name__)
                result = {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
            failures = result.get("batchItemFailures") or []
            if not failures:
                return
            # Retry from the first failed record, as Lambda's stream mapping does.
            first_failed = int(failures[0]["itemIdentifier"])
            records = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= first_failed]
            time.sleep(0.2)


def outbox_insert(record: dict) -> bool:
    """The stack's filter on the stream mapping (infra/components/triggers.py): inserted items
    whose pk begins with the outbox prefix. Lambda is not invoked for anything else."""
    pk = (record.get("dynamodb", {}).get("NewImage") or {}).get("pk", {}).get("S", "")
    return record.get("eventName") == "INSERT" and pk.startswith(OUTBOX_PREFIX)


def _stream_record(r: dict, arn: str) -> dict:
    d = dict(r["dynamodb"])
    created = d.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        d["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**{k: v for k, v in r.items() if k != "dynamodb"}, "dynamodb": d, "eventSourceARN": arn}


class Scheduler(Poller):
    """What an EventBridge schedule does: invoke the function every `schedule_minutes`."""

    idle_max_s = 0.2

    def __init__(self, fn: wiring.Function, functions: Functions, stop):
        super().__init__(f"schedule:{fn.name}", stop)
        if fn.schedule_minutes is None:
            raise ValueError(f"{fn.name} runs on no schedule")
        self.fn, self.functions = fn, functions
        self.every_s = fn.schedule_minutes * 60
        self.next_run = time.monotonic() + self.every_s

    def poll_once(self) -> bool:
        if time.monotonic() < self.next_run:
            return False
        self.next_run = time.monotonic() + self.every_s
        self.functions.invoke(self.fn.name, {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": datetime.now(UTC).isoformat(), "region": "us-east-1",
            "resources": [], "detail": {}})
        return True
