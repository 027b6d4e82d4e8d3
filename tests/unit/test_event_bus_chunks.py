"""The relay packs a batch's events into as few PutEvents calls as EventBridge's limits allow (ten
entries, 256 KB a call): with the stream mapping's batching window a batch holds many orders'
events, so the size limit can bind before the count does."""

from __future__ import annotations

import pytest

from shared.adapters.event_bus import PUT_EVENTS_MAX, PUT_EVENTS_MAX_BYTES, OutboxRecord, chunks, entry_size, publish

pytestmark = pytest.mark.unit


def record(n: int, detail_bytes: int = 40) -> OutboxRecord:
    return OutboxRecord(str(n), "OrderAllocated", "x" * detail_bytes)


def test_small_events_go_ten_a_call_in_order():
    records = [record(n) for n in range(25)]

    packed = chunks(records)

    assert [len(c) for c in packed] == [PUT_EVENTS_MAX, PUT_EVENTS_MAX, 5]
    assert [r for c in packed for r in c] == records


def test_large_events_start_a_new_call_before_256_kb():
    big = 100 * 1024  # three of these exceed a call's 256 KB, two do not
    records = [record(n, big) for n in range(5)]

    packed = chunks(records)

    assert [len(c) for c in packed] == [2, 2, 1]
    assert all(sum(entry_size(r) for r in c) <= PUT_EVENTS_MAX_BYTES for c in packed)


def test_publish_makes_one_call_per_chunk_and_returns_the_refused():
    calls: list[int] = []

    class Events:
        def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
            calls.append(len(Entries))
            return {"FailedEntryCount": 1 if len(calls) == 2 else 0,
                    "Entries": [{"ErrorCode": "InternalFailure"} if len(calls) == 2 and i == 0 else {"EventId": str(i)}
                                for i in range(len(Entries))]}

    records = [record(n) for n in range(12)]

    assert publish(Events(), "oms-events", records) == [records[10]]
    assert calls == [10, 2]
