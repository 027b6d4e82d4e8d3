"""render-documents a batch at a time on moto (issue 15): the batch's documents read in one
BatchGetItem, then each rendered and stored; a record whose document that read missed (or every
record, when the read fails) reads its own, and a record that fails returns alone to the queue."""

from __future__ import annotations

import boto3
import pytest

from infra import wiring
from shared.services.invoice_batch import invoice_handovers
from tests.contract.test_invoice_numbers import SETTINGS, handovers, stored_orders
from tests.factories import NOW
from tests.integration.conftest import count_store_calls, sqs_event

BUCKET = wiring.DEFAULTS.documents_bucket


@pytest.fixture
def invoices(repos) -> list:
    """Three orders' invoices, issued (their PDFs not rendered yet)."""
    orders = stored_orders(repos, 3)
    invoice_handovers(handovers(orders), repos, NOW, SETTINGS)
    return [doc for o in orders for doc in repos.invoices.for_order(o.order_id)]


def batch(*docs: tuple[str, str, str]) -> dict:
    """One SQS event with a DocumentIssued record per (order id, covers, number): m-1, m-2, ..."""
    return {"Records": [sqs_event("DocumentIssued", {"order_id": order_id, "kind": "INVOICE", "covers": covers,
                                                     "number": number, "channel": "web"}, f"m-{n}")["Records"][0]
                        for n, (order_id, covers, number) in enumerate(docs, start=1)]}


def of(docs) -> list[tuple[str, str, str]]:
    return [(d.order_id, d.covers, d.number) for d in docs]


def pdfs() -> list[str]:
    return sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", []))


def expected(docs) -> list[str]:
    return sorted(f"invoices/{d.order_id}/{d.number}.pdf" for d in docs)




def test_a_batch_reads_its_documents_once(invoices, repos, functions, monkeypatch):
    calls = count_store_calls(monkeypatch, repos, ("get", "batch_get"))

    assert functions.invoke("render-documents", batch(*of(invoices))) == {"batchItemFailures": []}

    assert calls == {"batch_get": 1}  # no GetItem per record
    assert pdfs() == expected(invoices)


def test_a_record_the_batch_read_missed_reads_its_own(invoices, repos, functions, monkeypatch):
    real = type(repos.store).batch_get

    def misses_the_first(self, keys, consistent=True):
        return [i for i in real(self, keys, consistent) if i["pk"] != f"ORDER#{invoices[0].order_id}"]

    monkeypatch.setattr(type(repos.store), "batch_get", misses_the_first)
    calls = count_store_calls(monkeypatch, repos, ("get", "batch_get"))

    assert functions.invoke("render-documents", batch(*of(invoices))) == {"batchItemFailures": []}

    assert calls == {"batch_get": 1, "get": 1}
    assert pdfs() == expected(invoices)


def test_a_failed_batch_read_leaves_each_record_to_read_its_own(invoices, repos, functions, monkeypatch):
    def fails(self, keys, consistent=True):
        raise RuntimeError("injected throttling")

    monkeypatch.setattr(type(repos.store), "batch_get", fails)
    calls = count_store_calls(monkeypatch, repos, ("get", "batch_get"))

    assert functions.invoke("render-documents", batch(*of(invoices))) == {"batchItemFailures": []}

    assert calls == {"batch_get": 1, "get": 3}
    assert pdfs() == expected(invoices)


def test_a_document_that_does_not_exist_fails_only_its_record(invoices, repos, functions, monkeypatch):
    first, second, third = of(invoices)
    calls = count_store_calls(monkeypatch, repos, ("get", "batch_get"))
    missing = (second[0], "S-404", "INV-2026-999999")

    answer = functions.invoke("render-documents", batch(first, missing, third))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert calls == {"batch_get": 1, "get": 1}  # only the missing one looked again
    assert pdfs() == expected([invoices[0], invoices[2]])
