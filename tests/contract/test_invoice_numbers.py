"""Invoice numbering on both stores (in-memory and DynamoDB on moto): the writes of
shared/adapters/invoices_repo.py refuse and name what they should, and concurrent issuers through
the use case take every number once, with no gap."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from shared.adapters.expressions import Put
from shared.adapters.invoices_repo import InvoiceRepository
from shared.domain.invoices import DocumentKind, InvoiceDocument, document, invoice_lines
from shared.domain.tax import PriceBasis, TaxTable
from shared.errors import Busy
from shared.repositories import Repositories
from shared.services.invoicing import InvoicingSettings, issue_invoice
from shared.unit_of_work import AlreadyExists, Refused, StaleVersion
from tests.factories import NOW
from tests.unit.test_invoices import SELLER, make_order

SETTINGS = InvoicingSettings(SELLER, TaxTable(default=Decimal("0.19")))


def draft(sequence: int, order_id: str = "o" + "1" * 24, covers: str = "s1") -> InvoiceDocument:
    order = make_order([("SKU-1", 1, "10.00")], order_id=order_id)
    lines = invoice_lines(order, {"SKU-1": 1}, [], PriceBasis.INCLUSIVE, Decimal("0.19"))
    return document(DocumentKind.INVOICE, sequence, NOW, order, covers, SELLER, PriceBasis.INCLUSIVE, lines)


def refusal(call) -> Refused:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value


def test_numbers_follow_the_counter_and_a_stale_read_is_refused(store):
    repo = InvoiceRepository(store)
    first = draft(1)
    store.transact(repo.issue(first, 0, 0))
    assert repo.last_number(first.series) == 1
    # Another issuer read 0 too: its number 1 is refused on the counter; nothing of it is written.
    late = draft(1, order_id="o" + "2" * 24)
    assert refusal(lambda: store.transact(repo.issue(late, 0, 0))).only(StaleVersion)
    assert repo.for_order(late.order_id) == []
    store.transact(repo.issue(draft(2, order_id=late.order_id), 1, 0))
    assert repo.last_number(first.series) == 2


def test_a_document_issued_twice_is_refused_with_the_stored_one(store):
    repo = InvoiceRepository(store)
    first = draft(1)
    store.transact(repo.issue(first, 0, 0))
    refused = refusal(lambda: store.transact(repo.issue(draft(2), 1, 1)))
    taken = refused.find(AlreadyExists)
    assert taken is not None and taken.existing == first


def test_the_order_s_document_count_guards_its_past(store):
    repo = InvoiceRepository(store)
    store.transact(repo.issue(draft(1), 0, 0))
    # Built on a read that saw no document of the order, though it has one now.
    stale = draft(2, covers="s2")
    refused = refusal(lambda: store.transact(repo.issue(stale, 1, 0)))
    assert refused.only(StaleVersion) and refused.outcomes[0].entity == "order_documents"


def test_an_order_s_documents_are_listed_without_the_order_or_its_count(store):
    repo = InvoiceRepository(store)
    first, second = draft(1), draft(2, covers="s2")
    store.write(Put({"pk": f"ORDER#{first.order_id}", "sk": "ORDER", "doc": "{}"}))
    store.transact(repo.issue(first, 0, 0))
    store.transact(repo.issue(second, 1, 1))
    assert repo.for_order(first.order_id) == [first, second]


def test_fifty_concurrent_issuers_take_numbers_1_to_50(store):
    repos = Repositories.on(store)
    orders = [make_order([("SKU-1", 1, "10.00")], order_id=f"o{n:024x}") for n in range(50)]
    results: list[InvoiceDocument] = []
    errors: list[Exception] = []
    start = threading.Barrier(len(orders))

    def issuer(order) -> None:
        start.wait()
        try:
            while True:
                try:
                    results.append(issue_invoice(order, f"s-{order.order_id}", {"SKU-1": 1}, repos, NOW, SETTINGS))
                    return
                except Busy:
                    continue  # the message would come back: the same request again
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=issuer, args=(o,), daemon=True) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert sorted(d.sequence for d in results) == list(range(1, 51))
    assert repos.invoices.last_number(results[0].series) == 50
