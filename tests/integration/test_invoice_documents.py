"""Invoice PDFs through the functions on moto: a shipment is invoiced by settle-payments, its
DocumentIssued reaches render-documents, the PDF lands in the documents bucket under
invoices/<order id>/<number>.pdf, and GET /orders/{order_id}/invoices lists the document with a
presigned link to it, for the order's channel and the operator only."""

from __future__ import annotations

from datetime import datetime

import boto3
import pytest
import requests

from infra import wiring
from tests.factories import TWO_WAREHOUSES, order_body, seed
from tests.integration.conftest import sqs_event
from tests.integration.test_carrier_webhooks_api import waiting
from tests.integration.test_tracking import ship_parcels

BUCKET = wiring.DEFAULTS.documents_bucket
UNKNOWN_ORDER = "o" + "0" * 24


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


def test_the_order_s_invoices_are_listed_with_a_link_that_downloads_the_pdf(shipped, api, repos):
    order = repos.orders.get(shipped)
    for caller in ("web", "operator"):
        answer = api("GET", f"/orders/{shipped}/invoices", as_=caller)
        assert answer.status_code == 200, answer.json
        assert answer.json["order_id"] == shipped
        [invoice] = answer.json["invoices"]
        year = datetime.fromisoformat(invoice["issued_at"]).year
        assert (invoice["number"], invoice["kind"], invoice["covers"]) == (f"INV-{year}-000001", "INVOICE", "S-1")
        assert invoice["gross"] == str(order.total) and invoice["currency"] == order.request.currency
        assert invoice["corrects"] is None and invoice["lines"][0]["sku"] == "SKU-1"
        assert invoice["buyer"]["name"] == order.request.customer.name and invoice["seller"]["name"]
        assert {"taxes", "net", "tax", "price_basis", "issued_at"} <= set(invoice)
        pdf = requests.get(invoice["pdf_url"], timeout=10)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "X-Amz-Expires=900" in invoice["pdf_url"]


def test_another_channel_s_order_and_an_unknown_order_are_not_found(shipped, api):
    for path in (f"/orders/{shipped}/invoices", f"/orders/{UNKNOWN_ORDER}/invoices"):
        answer = api("GET", path, as_="app")
        assert (answer.status_code, answer.json["error"]) == (404, "not_found")
    assert api("GET", f"/orders/{UNKNOWN_ORDER}/invoices").status_code == 404
    assert api("GET", f"/orders/{shipped}/invoices", as_=None).status_code == 403  # no API key


def test_an_order_not_invoiced_yet_lists_no_documents(api, repos, pump):
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {("SKU-1", "BER"): 10})
    order_id = api("POST", "/orders", as_="web", json=order_body([("SKU-1", 1)])).json["order_id"]
    answer = api("GET", f"/orders/{order_id}/invoices", as_="web")
    assert (answer.status_code, answer.json) == (200, {"order_id": order_id, "invoices": []})
