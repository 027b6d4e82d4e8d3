"""Invoices and credit notes, and the counters that number them. The only module that knows their keys.

Access patterns (their rows for docs/data-model.md):
- one document (rendering its PDF): GetItem pk=ORDER#<order id>, sk=DOC#<kind>#<covered id>; a
  render-documents batch's documents: one BatchGetItem of those keys (`wanted`, Repositories.read)
- the last number of a series: pk=DOCSERIES#<entity>#<kind>#<year>, sk=COUNTER, `last` (GetItem,
  strongly consistent); missing until the series' first document
- an order's documents: pk=ORDER#<order id>, sk=DOC#<kind>#<covered id> (the shipment an invoice
  bills, the refund a credit note takes back): one strongly consistent Query, begins_with DOC#
- how many documents an order has: pk=ORDER#<order id>, sk=DOCUMENTS, `issued`
- a settle-payments batch's orders with their documents (`batch_picture`): one BatchGetItem
  of each order's ORDER and DOCUMENTS items, the invoice of the shipment it settles and the invoice
  series' counter; only an order whose count says it has documents the read did not return is read
  by its own Query

The documents live in the order's partition beside the order item (sk ORDER), which no query of
the order reads by partition, so they collide with nothing and cost the order's reads nothing.

Gapless numbers: `issue` is one transaction of the counter moved from the number read to the
next (`last = :read`, or absent for number 1), the document (absent for what it covers), and the
order's document count. A concurrent issuer that took the number first makes the counter refuse
(StaleVersion): nothing is written, and the caller reads again and takes the next one. A retry of
a document already issued is refused by the document's condition (AlreadyExists, carrying the
stored document). A number is therefore taken exactly when its document is written: none is
skipped, none is used twice. `issue_block` does the same for several documents of one series at
once (a settle-payments batch's invoices): one counter move over the block, every document and
its order's count in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.adapters.expressions import NEW, Changes, KeyQuery, Missing, Patch, Put, SortRange, Write, eq
from shared.adapters.orders_repo import ORDER_SK, order_pk
from shared.adapters.packed import pack, unpack
from shared.adapters.reads import Wanted
from shared.domain.invoices import DocumentKind, DocumentSeries, InvoiceDocument
from shared.domain.orders import Order
from shared.unit_of_work import AlreadyExists, StaleVersion, Store

COUNTER_SK = "COUNTER"
DOCUMENTS_SK = "DOCUMENTS"
DOC_PREFIX = "DOC#"


@dataclass(frozen=True)
class BatchPicture:
    """What a settle-payments batch invoices on, read at once: per order the order and its documents,
    and the series' last number when one was asked for."""

    orders: dict[str, tuple[Order | None, list[InvoiceDocument]]]
    last_number: int | None = None


def series_pk(series: DocumentSeries) -> str:
    return f"DOCSERIES#{series.entity}#{series.kind.value}#{series.year}"


def document_sk(kind: DocumentKind, covers: str) -> str:
    return f"{DOC_PREFIX}{kind.value}#{covers}"


def _document(item: dict) -> InvoiceDocument:
    return unpack(InvoiceDocument, item)


class InvoiceRepository:
    def __init__(self, store: Store):
        self.store = store

    def last_number(self, series: DocumentSeries) -> int:
        """The series' last number issued (0 before its first)."""
        item = self.store.get(series_pk(series), COUNTER_SK)
        return int(item["last"]) if item else 0

    def get(self, order_id: str, kind: DocumentKind, covers: str) -> InvoiceDocument | None:
        """The order's document of `kind` for what it covers (strongly consistent), or None."""
        item = self.store.get(order_pk(order_id), document_sk(kind, covers))
        return _document(item) if item else None

    def wanted(self, order_id: str, kind: DocumentKind, covers: str) -> Wanted:
        """The document, to read beside others (Repositories.read: a batch's documents in one request)."""
        return Wanted((order_pk(order_id), document_sk(kind, covers)), _document)

    def for_order(self, order_id: str) -> list[InvoiceDocument]:
        """The order's invoices and credit notes, in the order they were issued."""
        items = self.store.query_all(KeyQuery(order_pk(order_id), SortRange.prefix(DOC_PREFIX)), consistent=True)
        return sorted((_document(i) for i in items), key=lambda d: (d.issued_at, d.kind, d.sequence))

    def order_and_documents(self, order_id: str) -> tuple[Order | None, list[InvoiceDocument]]:
        """The order and its invoices and credit notes (as `for_order`) in one strongly consistent Query
        of the order's partition: its documents sort before the order item (DOC#... < DOCUMENTS < ORDER)."""
        items = list(self.store.query_all(KeyQuery(order_pk(order_id), SortRange.between(DOC_PREFIX, ORDER_SK)),
                                          consistent=True))
        order = next((unpack(Order, i) for i in items if i["sk"] == ORDER_SK), None)
        documents = (_document(i) for i in items if i["sk"].startswith(DOC_PREFIX))
        return order, sorted(documents, key=lambda d: (d.issued_at, d.kind, d.sequence))

    def batch_picture(self, invoicing: Iterable[tuple[str, str]], series: DocumentSeries | None) -> BatchPicture:
        """For each (order id, what its invoice would cover): the order and its documents as
        `order_and_documents` answers them, the batch's in one strongly consistent BatchGetItem of each
        order's item, its document count and that invoice. Most orders have no other document (a
        first shipment's, or its redelivery): the count says so. An order whose count is more than
        the read found is read by its own Query. A document issued between the reads of the count
        and of the documents is caught by the count's condition when anything is issued on this
        picture (StaleVersion): the read cannot make a document be numbered or issued twice.
        With `series`, the same read takes its last number too (`last_number`'s answer, as stale as
        that one may be by the time it is used: the counter's condition refuses a block numbered on it)."""
        pairs = list(dict.fromkeys(invoicing))
        order_ids = list(dict.fromkeys(order_id for order_id, _ in pairs))
        keys = ([(order_pk(o), sk) for o in order_ids for sk in (ORDER_SK, DOCUMENTS_SK)]
                + [(order_pk(o), document_sk(DocumentKind.INVOICE, covers)) for o, covers in pairs])
        if series is not None:
            keys.append((series_pk(series), COUNTER_SK))
        items = {(i["pk"], i["sk"]): i for i in self.store.batch_get(keys)} if keys else {}
        found: dict[str, list[InvoiceDocument]] = {o: [] for o in order_ids}
        for o, covers in pairs:
            item = items.get((order_pk(o), document_sk(DocumentKind.INVOICE, covers)))
            if item is not None:
                found[o].append(_document(item))
        answer: dict[str, tuple[Order | None, list[InvoiceDocument]]] = {}
        for o in order_ids:
            count = items.get((order_pk(o), DOCUMENTS_SK))
            if (int(count["issued"]) if count else 0) != len(found[o]):
                answer[o] = self.order_and_documents(o)  # documents the read did not ask for
                continue
            order = items.get((order_pk(o), ORDER_SK))
            answer[o] = (unpack(Order, order) if order else None,
                         sorted(found[o], key=lambda d: (d.issued_at, d.kind, d.sequence)))
        if series is None:
            return BatchPicture(answer)
        counter = items.get((series_pk(series), COUNTER_SK))
        return BatchPicture(answer, int(counter["last"]) if counter else 0)

    def issue(self, document: InvoiceDocument, expected_counter: int, known_documents: int) -> list[Write]:
        """Number `document` and store it, in one transaction: the series' counter from
        `expected_counter` (what `last_number` read) to the document's sequence, the document (new
        for what it covers), and the order's document count from `known_documents` (how many
        `for_order` answered: two documents of one order are never computed from the same past,
        even in different series)."""
        return self.issue_block([document], expected_counter, [known_documents])

    def issue_block(self, documents: Sequence[InvoiceDocument], expected_counter: int,
                    known_documents: Sequence[int]) -> list[Write]:
        """Several documents of one series numbered `expected_counter + 1`, `+ 2`, ... in one
        transaction: one counter move over the whole block, and for each document its item (new for
        what it covers) and its order's count from its `known_documents` (one document per order:
        a transaction writes an item once). The block's numbers are taken exactly when its
        documents are written, so none is skipped. 1 + 2 writes a document (within 100: 49)."""
        if not documents or len(documents) != len(known_documents):
            raise ValueError("a block numbers one or more documents, each with its order's known count")
        series = documents[0].series
        for n, document in enumerate(documents, start=expected_counter + 1):
            if document.series != series or document.sequence != n:
                raise ValueError(f"document {document.number} is not number {n} of {series_pk(series)}")
        if len({d.order_id for d in documents}) != len(documents):
            raise ValueError("one document per order in a block")
        counter = Patch(
            series_pk(series), COUNTER_SK,
            Changes(set={"last": documents[-1].sequence, "entity": series.entity, "kind": series.kind.value,
                         "year": series.year}),
            when=Missing("pk") if expected_counter == 0 else eq("last", expected_counter),
            refused=lambda _old: StaleVersion("document_series", series_pk(series)))
        writes: list[Write] = [counter]
        for document, known in zip(documents, known_documents, strict=True):
            writes.extend(self._stored(document, known))
        return writes

    def _stored(self, document: InvoiceDocument, known_documents: int) -> list[Write]:
        order_id = document.order_id
        item = {"pk": order_pk(order_id), "sk": document_sk(document.kind, document.covers),
                "number": document.number, "issued_at": document.issued_at.isoformat(),
                **pack(document)}
        stored = Put(item, when=NEW, refused=lambda old: AlreadyExists(
            document.kind.value.lower(), document.covers, existing=_document(old) if old else None))
        count = Patch(
            order_pk(order_id), DOCUMENTS_SK, Changes(set={"issued": known_documents + 1}),
            when=Missing("pk") if known_documents == 0 else eq("issued", known_documents),
            refused=lambda _old: StaleVersion("order_documents", order_id))
        return [stored, count]
