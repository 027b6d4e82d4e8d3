"""Invoice and credit note PDFs: rendered once a document is issued, kept in the documents bucket,
handed out as short-lived links.

`render-documents` renders each document `DocumentIssued` announces and stores it under
`pdf_key`: invoices/<order id>/<number>.pdf. The key depends on the document only, and the same
document renders to the same bytes, so a redelivered event writes the same object again: nothing
to deduplicate. A batch's documents are read in one request (`read_documents`, issue 15); a
record whose document that read did not find reads its own. The document itself stays in the table (shared/adapters/invoices_repo.py), the
record a PDF can always be rendered from again.

A PDF holds the buyer's name and address: nothing here logs a document or its bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.adapters.documents import Documents
from shared.documents.invoice_pdf import render_pdf  # fpdf2 itself loads on the first render
from shared.domain.invoices import DocumentKind, InvoiceDocument
from shared.domain.principal import Principal
from shared.errors import NotFound
from shared.repositories import Repositories
from shared.services import order_reads

PDF_CONTENT_TYPE = "application/pdf"
LINK_TTL_S = 900  # as label links: long enough to open, short enough not to be passed around

DocumentKey = tuple[str, DocumentKind, str]  # (order id, kind, what it covers)


def pdf_key(doc: InvoiceDocument) -> str:
    """Where a document's PDF is kept. Numbers are unique per selling entity, kind and year, and an
    order's documents come from one seller unless its configuration changed between them."""
    return f"invoices/{doc.order_id}/{doc.number}.pdf"


def read_documents(wanted: Iterable[DocumentKey], repos: Repositories) -> dict[DocumentKey, InvoiceDocument]:
    """A batch's documents in one strongly consistent BatchGetItem (100 keys a call), by key; those
    not found are left out: their records read their own (and fail if it is not there either)."""
    keys = list(dict.fromkeys(wanted))
    found = repos.read(*(repos.invoices.wanted(*k) for k in keys))
    return {k: doc for k, doc in zip(keys, found, strict=True) if doc is not None}


def render_and_store(order_id: str, kind: DocumentKind, covers: str, repos: Repositories, documents: Documents,
                     read: InvoiceDocument | None = None) -> InvoiceDocument:
    """Render the order's document of `kind` for `covers` and store it under its key (again, when it
    is there already: the same bytes). The document is written in the transaction that announced it,
    so one that cannot be found is a fault (NotFound: the message is retried, then dead-lettered).
    `read`: the document as the batch read it (`read_documents`); without it, it is read here."""
    doc = read if read is not None else repos.invoices.get(order_id, kind, covers)
    if doc is None:
        raise NotFound(f"order {order_id} has no {kind.value.lower().replace('_', ' ')} for {covers}")
    documents.put(pdf_key(doc), render_pdf(doc), PDF_CONTENT_TYPE)
    return doc


@dataclass(frozen=True)
class LinkedDocument:
    document: InvoiceDocument
    pdf_url: str


def documents_with_links(order_id: str, principal: Principal, repos: Repositories, documents: Documents
                         ) -> list[LinkedDocument]:
    """The order's invoices and credit notes, in the order they were issued, each with a link to its
    PDF valid for LINK_TTL_S. Visible as the order is (another channel's order is not found). A
    document issued a moment ago may not be rendered yet: its link then answers 404 until it is."""
    order_reads.get_order(order_id, principal, repos)
    return [LinkedDocument(doc, documents.link(pdf_key(doc), LINK_TTL_S)) for doc in repos.invoices.for_order(order_id)]
