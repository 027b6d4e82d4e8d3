"""The webhook half of shared/services/tracking.py, without AWS: verify first, then read, then
queue; and the message format between the two functions."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from shared.carriers.webhooks import WebhookRejected, WebhookUnreadable, parse
from shared.domain.tracking import ShipmentStatus as S
from shared.domain.tracking import TrackingUpdate
from shared.services.tracking import QueuedUpdate, receive_webhook
from tests.unit.test_carrier_webhooks import NOW, PAYLOADS, PROVIDERS, SECRET, raw, sign


class Queue:
    def __init__(self):
        self.bodies: list[str] = []

    def __call__(self, bodies: list[str]) -> None:
        self.bodies += bodies


def receive(provider: str, body: bytes, headers: dict, secret: str | None = SECRET) -> tuple[int, Queue]:
    queue = Queue()
    return receive_webhook(provider, body, headers, NOW, secret_for=lambda _: secret, send=queue), queue


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_verified_update_is_queued_with_when_it_arrived(provider):
    queued, queue = receive(provider, raw(provider), sign(provider, raw(provider)))

    assert queued == 1
    (message,) = [QueuedUpdate.model_validate_json(b) for b in queue.bodies]
    assert message.update() == parse(provider, raw(provider))[0]
    assert message.received_at == NOW


def test_the_signature_is_checked_before_the_body_is_parsed():
    with pytest.raises(WebhookRejected):
        receive("canonical", b"{not json", {"X-OMS-Timestamp": "1", "X-OMS-Signature": "v1=00"})
    body = b"{not json"
    with pytest.raises(WebhookUnreadable):  # the same body, signed, is only then found unreadable
        receive("canonical", body, sign("canonical", body))


@pytest.mark.parametrize("secret", [None, ""])
def test_without_a_configured_secret_nothing_verifies_and_nothing_is_queued(secret):
    headers = sign("aftership", raw("aftership"), secret="")
    queue = Queue()
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        receive_webhook("aftership", raw("aftership"), headers, NOW, secret_for=lambda _: secret, send=queue)
    assert queue.bodies == []


def test_a_rejected_webhook_queues_nothing():
    queue = Queue()
    headers = sign("shippo", raw("shippo"), at=NOW - timedelta(minutes=6))
    with pytest.raises(WebhookRejected, match="replay"):
        receive_webhook("shippo", raw("shippo"), headers, NOW, secret_for=lambda _: SECRET, send=queue)
    assert queue.bodies == []


def test_an_event_that_is_not_a_tracking_update_queues_nothing():
    body = (PAYLOADS / "webhook_easypost_batch_created.json").read_bytes()
    queued, queue = receive("easypost", body, sign("easypost", body))
    assert (queued, queue.bodies) == (0, [])


def test_the_queue_message_round_trips_and_ignores_fields_it_does_not_know():
    update = TrackingUpdate("dhl", "e-1", "JD1", None, S.EXCEPTION, datetime(2026, 11, 25, 8, tzinfo=UTC),
                            message="held at customs", raw_status="EXCEPTION")
    document = json.loads(QueuedUpdate.of(update, NOW).model_dump_json())
    assert document["occurred_at"] == "2026-11-25T08:00:00Z" and document["status"] == "EXCEPTION"

    newer_sender = json.dumps({**document, "signature_scheme": "v2"})  # a later webhook function's field
    assert QueuedUpdate.model_validate_json(newer_sender).update() == update


WORKERS_MODULES = ("shared.repositories", "shared.adapters.dynamo", "shared.adapters.memory",
                   "shared.domain.orders", "boto3")


def test_the_webhook_function_does_not_import_the_workers_modules():
    # Cold start: the webhook answers carriers and never touches the table (nor builds a boto3
    # session until it sends). Each name must exist, or its absence from sys.modules proves nothing.
    code = ("import sys, importlib.util; sys.path.insert(0, 'functions'); "
            f"names = {WORKERS_MODULES!r}; "
            "missing = [m for m in names if importlib.util.find_spec(m) is None]; "
            "assert not missing, missing; "
            "import carrier_webhooks.handler; "
            "print(sorted(m for m in names if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PAYLOADS.parents[2])
    assert out.stdout.strip() == "[]"
