"""POST /webhooks/carriers/{carrier} through the local API Gateway stand-in (no API key): each
provider's documented body and signature (tests/unit/carrier_payloads), queued with 202, then
applied by apply-tracking; every refusal a 401 with nothing queued."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local.emulator import DEMO_CARRIER_SECRET
from shared.domain.orders import OrderStatus
from shared.domain.tracking import ShipmentStatus as S
from tests.integration.test_tracking import ship_parcels
from tests.unit.test_carrier_webhooks import PAYLOADS, doc, encode, raw, sign

SECRET = {"easypost": DEMO_CARRIER_SECRET["easypost_webhook_secret"],
          "shippo": DEMO_CARRIER_SECRET["shippo_webhook_secret"],
          "aftership": DEMO_CARRIER_SECRET["aftership_webhook_secret"],
          "canonical": DEMO_CARRIER_SECRET["webhook_secret"]}
# provider -> (URL name, the fixture's tracking number, the status it reports)
CASES = {
    "easypost": ("easypost", "9400100000000000000001", S.IN_TRANSIT),
    "shippo": ("shippo", "9205590164917312751089", S.OUT_FOR_DELIVERY),
    "aftership": ("aftership", "1Z999AA10123456784", S.DELIVERED),
    "canonical": ("dhl", "SBX0000001", S.OUT_FOR_DELIVERY),  # any other name speaks our format
}
PROVIDERS = list(CASES)


def post(api, provider: str, body: bytes, headers: dict | None = None, *, at: datetime | None = None,
         secret: str | None = None):
    """The webhook as the provider sends it; signed now (the timestamped schemes allow 5 minutes)."""
    name = CASES[provider][0]
    if headers is None:
        headers = sign(provider, body, secret=secret or SECRET[provider], at=at or datetime.now(UTC))
    return api("POST", f"/webhooks/carriers/{name}", as_=None, data=body,
               headers={"Content-Type": "application/json", **headers})


def waiting(aws, queue: str = "apply-tracking", dlq: bool = False) -> int:
    url = (aws.dlq_urls if dlq else aws.queue_urls)[queue]
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attributes["Attributes"].values())


def one_order(api, repos, pump, provider: str) -> str:
    """An order whose one parcel has the tracking number of the provider's fixture."""
    return ship_parcels(api, repos, pump, [CASES[provider][1]])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_signed_webhook_is_queued_with_202_then_applied(provider, api, repos, pump, aws):
    order_id = one_order(api, repos, pump, provider)

    answer = post(api, provider, raw(provider))

    assert (answer.status_code, answer.json) == (202, {"queued": 1})
    assert waiting(aws) == 1
    pump()
    assert waiting(aws) == 0 and waiting(aws, dlq=True) == 0
    shipment = repos.shipments.get("S-1")
    assert shipment.status == CASES[provider][2]
    assert [(e.provider, e.applied) for e in shipment.history] == [(CASES[provider][0], True)]
    if CASES[provider][2] == S.DELIVERED:  # the order's only parcel
        assert repos.orders.get(order_id).status == OrderStatus.DELIVERED


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_signature_is_401_and_nothing_is_queued(provider, api, aws):
    answer = post(api, provider, raw(provider), secret="not-the-secret")
    assert answer.status_code == 401
    assert answer.json["error"] == "unauthenticated" and "does not match" in answer.json["message"]
    assert waiting(aws) == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_missing_signature_is_401_and_nothing_is_queued(provider, api, aws):
    answer = post(api, provider, raw(provider), headers={})
    assert (answer.status_code, answer.json["error"]) == (401, "unauthenticated")
    assert "missing" in answer.json["message"]
    assert waiting(aws) == 0


def test_a_signature_for_another_provider_does_not_pass(api, aws):
    # EasyPost's secret and scheme on the canonical route: each route checks its own scheme and secret
    body = raw("canonical")
    headers = sign("easypost", body, secret=SECRET["easypost"])
    assert api("POST", "/webhooks/carriers/dhl", as_=None, data=body, headers=headers).status_code == 401
    assert waiting(aws) == 0


def test_the_signature_is_checked_before_the_body_is_read(api, aws):
    answer = post(api, "canonical", b"{not json", secret="not-the-secret")
    assert answer.status_code == 401  # not 422: an unsigned caller learns nothing about our parser
    assert waiting(aws) == 0


@pytest.mark.parametrize("provider", ["canonical", "shippo"])
def test_a_replay_with_a_stale_timestamp_is_401(provider, api, aws):
    answer = post(api, provider, raw(provider), at=datetime.now(UTC) - timedelta(minutes=10))
    assert answer.status_code == 401 and "replay" in answer.json["message"]
    assert waiting(aws) == 0


def test_an_easypost_event_delivered_twice_is_applied_once(api, repos, pump, aws):
    one_order(api, repos, pump, "easypost")
    assert post(api, "easypost", raw("easypost")).status_code == 202
    assert post(api, "easypost", raw("easypost")).status_code == 202  # EasyPost retries, or a replay
    assert waiting(aws) == 2

    pump()

    assert [e.provider_event_id for e in repos.shipments.get("S-1").history] == ["evt_8c3b0f6a9d2e11f0a1b2c3d4e5f60718"]
    assert waiting(aws, dlq=True) == 0


def test_an_event_that_is_not_a_tracking_update_is_acknowledged_with_nothing_queued(api, aws):
    body = (PAYLOADS / "webhook_easypost_batch_created.json").read_bytes()
    answer = post(api, "easypost", body)
    assert (answer.status_code, answer.json) == (202, {"queued": 0})
    assert waiting(aws) == 0


def test_a_signed_body_that_is_not_the_documented_shape_is_422(api, aws):
    answer = post(api, "canonical", encode({**doc("canonical"), "status": "LOST_IN_SPACE"}))
    assert (answer.status_code, answer.json["error"]) == (422, "unreadable_webhook")
    assert waiting(aws) == 0


def test_an_unknown_tracking_number_is_recorded_and_acknowledged(api, repos, pump, aws):
    assert post(api, "canonical", raw("canonical")).status_code == 202  # no shipment has SBX0000001

    pump()

    assert waiting(aws) == 0 and waiting(aws, dlq=True) == 0  # acknowledged, not retried into the DLQ
    (kept,) = repos.shipments.unknown("SBX0000001")
    assert kept["sk"] == "dhl#sandbox-7f3e" and json.loads(kept["update"])["status"] == "OUT_FOR_DELIVERY"


def test_an_invalid_carrier_name_is_refused_before_anything(api, aws):
    answer = api("POST", "/webhooks/carriers/no.dots", as_=None, data=raw("canonical"),
                 headers=sign("canonical", raw("canonical"), secret=SECRET["canonical"], at=datetime.now(UTC)))
    assert answer.status_code == 422 and waiting(aws) == 0


def test_a_webhook_sqs_does_not_take_is_503_to_send_again_not_500(api, monkeypatch):
    """Found by the cost run with 1,000 parcels in flight: SendMessage timing out answered 500 (our
    bug, as the document says), though the update was lost only until the carrier sends it again."""
    from botocore.exceptions import ReadTimeoutError

    from shared.adapters.aws import client

    def stalled(**_):
        raise ReadTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")

    monkeypatch.setattr(client("sqs"), "send_message", stalled)  # the cached client the handler sends with
    answer = post(api, "canonical", raw("canonical"))
    assert answer.status_code == 503, answer.text
    assert answer.json["error"] == "unavailable"
