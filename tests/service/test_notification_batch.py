"""The notifier a batch at a time (shared/services/notification_batch.py, shared/adapters/notification_claims.py):
one read of the batch's orders, one transaction of its claims, one batch write of what was sent; each
message still sent once per event and medium, a failed one released for the retry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.notification_claims import COMPLETED, INPROGRESS, Found, NotificationClaims, claim_key
from shared.domain.notifications import Medium
from shared.repositories import Repositories, in_memory
from shared.services.notification_batch import KEY_PREFIX, SEND_MARGIN_MS, Incoming, notify_batch
from tests.factories import NOW, capture

pytestmark = pytest.mark.unit

KEEP = 15 * 24 * 3600
DEADLINE_MS = int((NOW + timedelta(seconds=10)).timestamp() * 1000)


class Counted:
    """The store, counting the requests the batch makes of it."""

    def __init__(self, store):
        self.store, self.calls = store, []

    def __getattr__(self, name):
        attribute = getattr(self.store, name)
        if callable(attribute):
            def counted(*args, **kwargs):
                self.calls.append(name)
                return attribute(*args, **kwargs)
            return counted
        return attribute


class Outbox:
    def __init__(self, fail_on: set[str] = frozenset()):  # type: ignore[assignment]
        self.sent: list[tuple[str, str]] = []
        self.fail_on = fail_on

    def sender(self, medium: Medium):
        def send(event: dict, message) -> dict:
            if message.event_id in self.fail_on:
                raise RuntimeError("SES refused (test)")
            self.sent.append((medium.value, message.event_id))
            return {"sent": message.moment.value}
        return send

    def senders(self):
        return {m: self.sender(m) for m in Medium}


@pytest.fixture
def orders():
    repos = in_memory()
    ids = [capture(repos, ("SKU-1", 1), coid=f"CO-{n}").order_id for n in range(3)]
    return repos, ids


def confirmed(order_id: str, event_id: str, record_id: str) -> Incoming:
    return Incoming(record_id, "OrderAllocated", {"event_id": event_id, "order_id": order_id, "previous": "RECEIVED"})


def run(repos, batch, outbox, now=NOW, seconds_left: float = 10):
    store = Counted(repos.store)
    counted = Repositories.on(store)  # type: ignore[arg-type]
    claims = NotificationClaims(store, KEEP)  # type: ignore[arg-type]
    deadline_ms = int((now + timedelta(seconds=seconds_left)).timestamp() * 1000)
    return notify_batch(batch, counted, claims, outbox.senders(), now, deadline_ms), store.calls


def test_a_batch_reads_its_orders_once_claims_once_and_records_once(orders):
    repos, ids = orders
    outbox = Outbox()
    batch = [confirmed(order_id, f"ev-{n}", f"m-{n}") for n, order_id in enumerate(ids)]

    failed, calls = run(repos, batch, outbox)

    assert failed == set()
    assert sorted(outbox.sent) == [("email", "ev-0"), ("email", "ev-1"), ("email", "ev-2")]
    assert calls == ["batch_get", "transact", "batch_write"]
    record = repos.store.get(*claim_key(KEY_PREFIX[Medium.EMAIL], "ev-1"))
    assert record is not None and record["status"] == COMPLETED and int(record["expires_at"]) == int(NOW.timestamp()) + KEEP


def test_a_batch_of_one_message_claims_it_with_a_conditional_put_not_a_transaction(orders):
    repos, ids = orders
    failed, calls = run(repos, [confirmed(ids[0], "ev-0", "m-0")], Outbox())
    assert failed == set() and calls == ["batch_get", "write", "batch_write"]


def test_a_redelivered_event_is_not_sent_again_and_its_copy_in_the_same_batch_neither(orders):
    repos, ids = orders
    outbox = Outbox()
    run(repos, [confirmed(ids[0], "ev-0", "m-1"), confirmed(ids[0], "ev-0", "m-2")], outbox)
    failed, _ = run(repos, [confirmed(ids[0], "ev-0", "m-3"), confirmed(ids[1], "ev-1", "m-4")], outbox)

    assert failed == set()
    assert outbox.sent == [("email", "ev-0"), ("email", "ev-1")]


def test_a_failed_send_is_released_so_the_retry_sends_it(orders):
    repos, ids = orders
    failing = Outbox(fail_on={"ev-1"})

    failed, _ = run(repos, [confirmed(ids[0], "ev-0", "m-0"), confirmed(ids[1], "ev-1", "m-1")], failing)

    assert failed == {"m-1"} and failing.sent == [("email", "ev-0")]
    assert repos.store.get(*claim_key(KEY_PREFIX[Medium.EMAIL], "ev-1")) is None  # released
    retry = Outbox()
    assert run(repos, [confirmed(ids[1], "ev-1", "m-1")], retry)[0] == set()
    assert retry.sent == [("email", "ev-1")]


def test_a_message_another_invocation_is_sending_is_retried_not_sent_until_its_claim_lapses(orders):
    repos, ids = orders
    claims = NotificationClaims(repos.store, KEEP)
    key = claim_key(KEY_PREFIX[Medium.EMAIL], "ev-0")
    assert claims.claim([key], NOW, DEADLINE_MS)[key].found is Found.CLAIMED  # a twin holds it, sending

    outbox = Outbox()
    failed, _ = run(repos, [confirmed(ids[0], "ev-0", "m-9")], outbox)
    assert failed == {"m-9"} and outbox.sent == []
    assert repos.store.get(*key)["status"] == INPROGRESS  # the twin's claim is untouched

    # The twin died: once its deadline passed, the retry takes the claim and sends.
    later = NOW + timedelta(seconds=11)
    assert run(repos, [confirmed(ids[0], "ev-0", "m-9")], outbox, now=later)[0] == set()
    assert outbox.sent == [("email", "ev-0")]


def test_no_send_starts_near_the_deadline_its_claim_is_released_for_the_retry(orders):
    """Guard: a claim lapses with the invocation. A send started just before a timeout (a full batch is
    50 provider calls) would leave its claim in progress, and the retry, finding it lapsed, would send
    it again: near the deadline the message is released and its record retried instead."""
    repos, ids = orders
    outbox = Outbox()

    failed, _ = run(repos, [confirmed(ids[0], "ev-0", "m-0")], outbox, seconds_left=SEND_MARGIN_MS / 1000 - 1)

    assert failed == {"m-0"} and outbox.sent == []
    assert repos.store.get(*claim_key(KEY_PREFIX[Medium.EMAIL], "ev-0")) is None  # released, not in progress
    assert run(repos, [confirmed(ids[0], "ev-0", "m-0")], outbox)[0] == set()
    assert outbox.sent == [("email", "ev-0")]


def test_the_claim_key_is_the_one_powertools_idempotency_wrote_before():
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    class Layer(BasePersistenceLayer):
        _get_record = _put_record = _update_record = _delete_record = None  # type: ignore[assignment]

    layer = Layer()
    layer.configure(IdempotencyConfig(event_key_jmespath="detail.event_id"), key_prefix="notify-customers-sms")
    expected = layer._get_hashed_idempotency_key({"detail": {"event_id": "ev-42"}})
    assert claim_key("notify-customers-sms", "ev-42") == ("IDEMPOTENCY#notify-customers", expected)


def test_a_full_batch_of_the_queue_claims_in_one_transaction():
    """Guard: the notifications queue hands over at most `batch_size` records, each an email and an
    SMS at most; their claims must fit one transaction (DynamoDB's 100 items), or a full batch fails."""
    from infra import wiring
    from shared.unit_of_work import MAX_WRITES

    notifier = wiring.function("notify-customers")
    assert notifier.queue is not None
    assert notifier.queue.batch_size * len(Medium) <= MAX_WRITES
