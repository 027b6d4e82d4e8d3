"""Invoice PDFs through the functions on moto: a shipment is invoiced by settle-payments, its
DocumentIssued reaches render-documents, and the PDF lands in the documents bucket under
invoices/<order id>/<number>.pdf."""

from __future__ import annotations

import boto3
import pytest

from infra import wiring
from tests.integration.conftest import sqs_event
from tests.integration.test_carrier_webhooks_api import waiting
from tests.integration.test_tracking import ship_parcels

BUCKET = wiring.DEFAULTS.documents_bucket


def stored(key: str) -> tuple[bytes, str]:
    obj = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)
    return obj["Body"].read(), obj["ContentType"]


def keys() -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]


@pytest.fixture
def shipped(api, repos, pump) -> str:
    order_id = ship_parcels(api, repos, pump, ["TRK-INV-1"])
    pump()
    return order_id


def issued_event(order_id: str, number: str, covers: str = "S-1", kind: str = "INVOICE",
                 message_id: str = "m-1") -> dict:
    return sqs_event("DocumentIssued", {"order_id": order_id, "kind": kind, "covers": covers, "number": number,
                                        "channel": "web"}, message_id)


def test_a_shipped_order_s_invoice_is_rendered_into_the_documents_bucket(shipped, repos, aws):
    [invoice] = repos.invoices.for_order(shipped)
    key = f"invoices/{shipped}/{invoice.number}.pdf"
    assert keys() == [key]
    body, content_type = stored(key)
    assert body.startswith(b"%PDF-") and content_type == "application/pdf"
    assert waiting(aws, "render-documents") == 0 and waiting(aws, "render-documents", dlq=True) == 0


def test_a_redelivered_event_writes_the_same_document_to_the_same_key(shipped, repos, functions):
    [invoice] = repos.invoices.for_order(shipped)
    key = f"invoices/{shipped}/{invoice.number}.pdf"
    first = stored(key)
    answer = functions.invoke("render-documents", issued_event(shipped, invoice.number))
    assert answer == {"batchItemFailures": []}
    assert keys() == [key] and stored(key) == first


def test_an_event_for_a_document_that_does_not_exist_fails_its_record_only(shipped, repos, functions):
    [invoice] = repos.invoices.for_order(shipped)
    event = issued_event(shipped, invoice.number)
    missing = issued_event(shipped, "INV-2026-999999", covers="S-404", message_id="m-2")
    event["Records"] += missing["Records"]
    answer = functions.invoke("render-documents", event)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert keys() == [f"invoices/{shipped}/{invoice.number}.pdf"]
