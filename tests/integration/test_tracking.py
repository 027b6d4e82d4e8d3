"""The apply-tracking consumer on moto, and what the API shows of a late parcel. How updates are
applied (once, never backwards, late parcels flagged once, orders delivered when all their parcels
are, and every guard) is tested on the in-memory store in tests/service/test_tracking.py.
`ship_parcels` here is shared with the carrier webhook tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.tracking import ShipmentStatus as S
from shared.domain.tracking import TrackingUpdate
from shared.services.tracking import Outcome, QueuedUpdate, apply_update
from tests.factories import TWO_WAREHOUSES, order_body, seed

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PROMISE = "2026-11-28T00:00:00Z"


def ship_parcels(api, repos, pump, codes: list[str], *, unshipped: int = 0, promised_by: str | None = None) -> str:
    """An order of len(codes) + unshipped units of SKU-1 from BER, one parcel per code, shipped
    through the fulfilment API (which creates the shipment records). The order's id."""
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {("SKU-1", "BER"): 10})
    extra = {"promised_by": promised_by} if promised_by else {}
    body = order_body([("SKU-1", len(codes) + unshipped)], **extra)
    order_id = api("POST", "/orders", as_="web", json=body).json["order_id"]
    pump()
    fo_id = api("GET", "/locations/BER/fulfillment-orders").json["fulfillment_orders"][0]["fulfillment_order_id"]
    for step in ("accept", "pick", "pack"):
        assert api("POST", f"/fulfillment-orders/{fo_id}/{step}").status_code == 200
    for n, code in enumerate(codes, 1):
        shipped = api("POST", f"/fulfillment-orders/{fo_id}/ship", json={
            "shipment_id": f"S-{n}", "lines": [{"sku": "SKU-1", "quantity": 1}], "carrier": "DHL",
            "tracking_number": code})
        assert shipped.status_code == 200, shipped.json
    return order_id


def update(code: str, status: S, at: datetime = T0, event_id: str | None = None, eta: datetime | None = None,
           message: str | None = None, provider: str = "dhl") -> TrackingUpdate:
    return TrackingUpdate(provider, event_id or f"{code}-{status}-{at.isoformat()}", code, "dhl", status, at, eta,
                          message)


def sqs_record(message_id: str, body: str) -> dict:
    """An SQS record of the tracking-updates queue, as Lambda hands it to apply-tracking."""
    return {"messageId": message_id, "receiptHandle": "r", "body": body, "attributes": {
        "ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
        "ApproximateFirstReceiveTimestamp": "0"}, "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tracking-updates", "awsRegion": "us-east-1"}


def apply(repos, u: TrackingUpdate) -> list[Outcome]:
    return [r.outcome for r in apply_update(u, NOW, repos, NOW)]


@pytest.fixture
def one_parcel(api, repos, pump):
    return ship_parcels(api, repos, pump, ["TRK1"], promised_by=PROMISE)


# --- the apply-tracking consumer ------------------------------------------------------------------

def test_an_unknown_tracking_number_is_recorded_and_acknowledged(repos, one_parcel, functions, aws):
    unknown = update("NOBODY", S.IN_TRANSIT, event_id="evt-x")
    message = QueuedUpdate.of(unknown, NOW).model_dump_json()
    record = sqs_record("m-1", message)

    assert functions.invoke("apply-tracking", {"Records": [record]}) == {"batchItemFailures": []}
    assert functions.invoke("apply-tracking", {"Records": [record]}) == {"batchItemFailures": []}  # redelivered

    (kept,) = repos.shipments.unknown("NOBODY")
    assert kept["sk"] == "dhl#evt-x" and json.loads(kept["update"])["status"] == "IN_TRANSIT"
    assert kept["expires_at"] == int((NOW + timedelta(days=30)).timestamp())
    assert repos.shipments.get("S-1").history == []


def test_a_message_that_is_not_a_tracking_update_fails_its_record_only(repos, one_parcel, functions):
    good = QueuedUpdate.of(update("TRK1", S.IN_TRANSIT), NOW).model_dump_json()
    records = [sqs_record(mid, body) for mid, body in (("bad", '{"status": "LOST"}'), ("good", good))]
    assert functions.invoke("apply-tracking", {"Records": records}) == {"batchItemFailures": [
        {"itemIdentifier": "bad"}]}
    assert repos.shipments.get("S-1").status == S.IN_TRANSIT


def test_the_consumer_finds_every_shipment_of_a_number_by_its_lookup_item(api, repos, pump, functions):
    """Two parcels shipped through the API under one tracking number (the lookup item written in
    each ship's transaction, one attribute per shipment on DynamoDB): one DELIVERED update delivers
    both, and the order; its redelivery is a duplicate for each."""
    from shared.domain.orders import OrderStatus

    order_id = ship_parcels(api, repos, pump, ["TRK9", "TRK9"])
    message = QueuedUpdate.of(update("TRK9", S.DELIVERED, event_id="evt-d"), NOW).model_dump_json()
    record = sqs_record("m-1", message)

    assert functions.invoke("apply-tracking", {"Records": [record]}) == {"batchItemFailures": []}
    assert functions.invoke("apply-tracking", {"Records": [record]}) == {"batchItemFailures": []}  # redelivered

    assert [repos.shipments.get(s).status for s in ("S-1", "S-2")] == [S.DELIVERED, S.DELIVERED]
    assert [len(repos.shipments.get(s).history) for s in ("S-1", "S-2")] == [1, 1]
    assert repos.orders.get(order_id).status == OrderStatus.DELIVERED


# --- the order's API view -------------------------------------------------------------------------

def test_the_order_and_its_api_view_show_the_delay(repos, one_parcel, api):
    apply(repos, update("TRK1", S.EXCEPTION, message="damaged"))
    delays = api("GET", f"/orders/{one_parcel}", as_="web").json["delays"]
    assert [(d["shipment_id"], d["reason"]) for d in delays] == [("S-1", "carrier reports EXCEPTION: damaged")]


def test_a_late_parcel_is_listed_as_late_until_it_arrives(repos, one_parcel, api):
    """Tracking raises the LATE_SHIPMENT exception with the delay (the console's "late only"); the
    reconciliation closes it once the parcel is delivered. A parcel on time is not listed."""
    from shared.domain.channels import seed_policy
    from shared.services.reconciliation import reconcile

    apply(repos, update("TRK1", S.IN_TRANSIT, eta=datetime(2026, 11, 27, 12, 0, tzinfo=UTC)))  # within the promise
    assert api("GET", "/admin/exceptions?kind=LATE_SHIPMENT").json["exceptions"] == []

    apply(repos, update("TRK1", S.IN_TRANSIT, at=T0 + timedelta(hours=5), eta=datetime(2026, 11, 30, 12, 0, tzinfo=UTC)))
    listed = api("GET", "/admin/exceptions?kind=LATE_SHIPMENT").json["exceptions"]
    assert [(x["subject"], x["order_id"]) for x in listed] == [("S-1", one_parcel)]
    assert "after the promised" in listed[0]["reason"] and "TRK1" in listed[0]["suggested_action"]
    assert api("GET", "/admin/exceptions?kind=LATE_SHIPMENT", as_="web").status_code == 403

    reconcile(repos, NOW + timedelta(minutes=5), policy_for=seed_policy)
    assert len(api("GET", "/admin/exceptions?kind=LATE_SHIPMENT").json["exceptions"]) == 1  # still on its way
    apply(repos, update("TRK1", S.DELIVERED, at=T0 + timedelta(days=1)))
    reconcile(repos, NOW + timedelta(minutes=10), policy_for=seed_policy)
    assert api("GET", "/admin/exceptions?kind=LATE_SHIPMENT").json["exceptions"] == []
