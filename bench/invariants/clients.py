"""What only the run's clients can tell: customer messages sent once, every 2xx answer applied, and what
they saw themselves (a channel reading another channel's order)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import PurePath

from bench.invariants.core import Expectations, Violation, invariant
from bench.invariants.snapshot import Snapshot
from shared.domain.orders import OrderStatus
from shared.domain.returns import RefundState


def message_key(file_name: str) -> str:
    """`<UTC time>-<moment>-<event id>-<random>.<eml|sms>` (shared/adapters/mailer.py, sms.py) without
    its time and random part: one per event, moment and medium."""
    path = PurePath(file_name)
    parts = path.stem.split("-")
    return "-".join(parts[1:-1]) + path.suffix


def record_key(file_name: str) -> str:
    """The notifier's claim (its sk) guarding the message in this file: the event id's md5 (of its JSON)
    under the medium's prefix (shared/adapters/notification_claims.py claim_key, KEY_PREFIX in
    shared/services/notification_batch.py), as Powertools Idempotency keyed it."""
    path = PurePath(file_name)
    event_id = path.stem.split("-")[-2]
    prefix = "notify-customers-sms" if path.suffix == ".sms" else "notify-customers"
    return f"{prefix}#{hashlib.md5(json.dumps(event_id).encode()).hexdigest()}"


def duplicates(exp: Expectations) -> tuple[dict[str, int], dict[str, int]]:
    """Messages sent more than once: (unexplained, explained by a send whose record was not written)."""
    assert exp.messages is not None
    counts = Counter(message_key(m) for m in exp.messages)
    files = {message_key(m): m for m in exp.messages}
    twice = {key: n for key, n in counts.items() if n > 1}
    explained = {key: n for key, n in twice.items() if record_key(files[key]) in exp.unrecorded_sends}
    return {k: n for k, n in twice.items() if k not in explained}, explained


@invariant("notification_once", "no customer message (per event, moment and medium) was sent twice, except after a "
                                "send whose record could not be written (at least once: counted apart)",
           needs="messages")
def notification_once(_: Snapshot, exp: Expectations) -> Iterator[Violation]:
    unexplained, _explained = duplicates(exp)
    for key, n in unexplained.items():
        yield Violation("notification_once", key, f"sent {n} times")


@invariant("acknowledged_applied", "every write a client was answered 2xx for is in the table: captures, cancels, "
                                   "line cancellations, parcels, adjustments, returns, receipts, refunds, carrier "
                                   "and payment events", needs="acknowledged")
def acknowledged_applied(snap: Snapshot, exp: Expectations) -> Iterator[Violation]:
    acks = exp.acknowledged
    assert acks is not None

    def lost(subject: str, what: str) -> Violation:
        return Violation("acknowledged_applied", subject, what)

    for (channel, channel_order_id), order_id in acks.captures.items():
        if snap.channel_keys.get((channel, channel_order_id), {}).get("order_id") != order_id:
            yield lost(order_id, f"capture of {channel}/{channel_order_id} not stored")
    for order_id in acks.cancels:
        if order_id not in snap.orders or snap.orders[order_id].status != OrderStatus.CANCELLED:
            yield lost(order_id, "cancelled (200), not CANCELLED")
    for order_id, cancellation_id in acks.line_cancels:
        if order_id not in snap.orders or snap.orders[order_id].cancellation(cancellation_id) is None:
            yield lost(order_id, f"line cancellation {cancellation_id} answered 200, not on the order")
    for sid in acks.shipments - set(snap.shipments):
        yield lost(sid, "shipped (200), no parcel")
    applied = {a["adjustment_id"] for a in snap.adjustments}
    for adjustment_id in acks.adjustments - applied:
        yield lost(adjustment_id, "adjustment answered 200, not applied")
    for rma in acks.returns - set(snap.returns):
        yield lost(rma, "return answered 201, not stored")
    for rma, receipt_id in acks.receipts:
        if rma not in snap.returns or snap.returns[rma].receipt(receipt_id) is None:
            yield lost(rma, f"receipt {receipt_id} answered 200, not on the return")
    for rma in acks.refunds:
        ret = snap.returns.get(rma)
        if ret is None or ret.awaiting_refund() or any(r.state != RefundState.DONE for r in ret.refunds):
            yield lost(rma, "refund answered 200, units still awaiting or a refund not done")
    for order_id, event_id in acks.payment_events:
        if order_id not in snap.orders or not snap.orders[order_id].pay.has_applied(event_id):
            yield lost(order_id, f"payment event {event_id} answered 200, not applied to the order's payment")
    seen = {(s.tracking_code, e.provider_event_id) for s in snap.shipments.values() for e in s.history}
    for code, event_id in acks.webhooks - seen:
        yield lost(code, f"carrier event {event_id} answered 202, in no parcel's history")


@invariant("channel_isolation", "a channel never read or changed another channel's order (answered 404)",
           needs="acknowledged")
def channel_isolation(_: Snapshot, exp: Expectations) -> Iterator[Violation]:
    yield from exp.observed.get("channel_isolation", [])
