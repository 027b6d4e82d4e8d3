"""Invoice PDFs (shared/services/invoice_pdfs.py) on the in-memory store: rendered to one key per
document (a redelivery writes the same bytes again), listed with links for whoever may see the order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.domain.invoices import DocumentKind
from shared.domain.principal import OPERATOR, Principal
from shared.errors import NotFound
from shared.services.capture import capture_order
from shared.services.invoice_pdfs import LINK_TTL_S, documents_with_links, pdf_key, render_and_store
from shared.services.invoicing import issue_credit_note, issue_invoice
from tests.factories import NOW, order_request
from tests.service.test_invoicing import SETTINGS

pytestmark = pytest.mark.unit


class Bucket:
    """A `Documents` in memory: what was put, and links that say what they point at."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.puts = 0

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)
        self.puts += 1

    def link(self, key: str, ttl_s: int) -> str:
        return f"https://bucket.example/{key}?ttl={ttl_s}"


@pytest.fixture
def bucket() -> Bucket:
    return Bucket()


def shipped_order(repos, channel: str = "web"):
    order = capture_order(order_request([("SKU-1", 2)]), channel, repos, NOW).order
    return order, issue_invoice(order, "S-1", {"SKU-1": 2}, repos, NOW, SETTINGS)


def test_a_document_is_rendered_to_its_own_key_and_a_redelivery_writes_the_same_bytes(repos, bucket):
    order, invoice = shipped_order(repos)
    rendered = render_and_store(order.order_id, DocumentKind.INVOICE, "S-1", repos, bucket)
    assert rendered == invoice
    key = f"invoices/{order.order_id}/INV-2026-000001.pdf"
    assert pdf_key(invoice) == key and list(bucket.objects) == [key]
    body, content_type = bucket.objects[key]
    assert body.startswith(b"%PDF-") and content_type == "application/pdf"

    render_and_store(order.order_id, DocumentKind.INVOICE, "S-1", repos, bucket)
    assert bucket.puts == 2 and bucket.objects == {key: (body, content_type)}


def test_a_credit_note_gets_a_key_of_its_own(repos, bucket):
    order, invoice = shipped_order(repos)
    note = issue_credit_note(order, "re_1", repos, NOW, amount=Decimal("1.00"))
    render_and_store(order.order_id, DocumentKind.INVOICE, "S-1", repos, bucket)
    render_and_store(order.order_id, DocumentKind.CREDIT_NOTE, "re_1", repos, bucket)
    assert sorted(bucket.objects) == [f"invoices/{order.order_id}/CRN-2026-000001.pdf",
                                      f"invoices/{order.order_id}/INV-2026-000001.pdf"]
    assert note.corrects == invoice.number


def test_a_document_that_cannot_be_found_is_a_fault_and_nothing_is_stored(repos, bucket):
    order, _ = shipped_order(repos)
    with pytest.raises(NotFound):
        render_and_store(order.order_id, DocumentKind.INVOICE, "S-2", repos, bucket)
    with pytest.raises(NotFound):
        render_and_store(order.order_id, DocumentKind.CREDIT_NOTE, "S-1", repos, bucket)
    assert bucket.objects == {}


def test_the_order_s_documents_are_listed_with_links_for_whoever_may_see_the_order(repos, bucket):
    order, invoice = shipped_order(repos)
    note = issue_credit_note(order, "re_1", repos, NOW + timedelta(hours=1), amount=Decimal("1.00"))
    for caller in (Principal("web"), Principal(OPERATOR)):
        listed = documents_with_links(order.order_id, caller, repos, bucket)
        assert [d.document for d in listed] == [invoice, note]
        assert [d.pdf_url for d in listed] == [f"https://bucket.example/{pdf_key(d)}?ttl={LINK_TTL_S}"
                                               for d in (invoice, note)]
    # Another channel's order is not found, as GET /orders/{order_id} answers; nor is an unknown one.
    with pytest.raises(NotFound):
        documents_with_links(order.order_id, Principal("app"), repos, bucket)
    with pytest.raises(NotFound):
        documents_with_links("o" + "f" * 24, Principal(OPERATOR), repos, bucket)
    # An order with no document yet: an empty list, not an error.
    other = capture_order(order_request([("SKU-1", 1)], channel_order_id="CO-2"), "web", repos, NOW).order
    assert documents_with_links(other.order_id, Principal("web"), repos, bucket) == []
