"""Invoice numbering on both stores (in-memory and DynamoDB on moto): the writes of
shared/adapters/invoices_repo.py refuse and name what they should, and concurrent issuers through
the use case take every number once, with no gap; so do a settle-payments batch's invoices numbered
as one block (shared/services/invoice_batch.py), redelivered or racing another batch."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from shared.adapters.expressions import Put
from shared.adapters.invoices_repo import BatchPicture, InvoiceRepository
from shared.domain.invoices import DocumentKind, InvoiceDocument, document, invoice_lines
from shared.domain.tax import PriceBasis, TaxTable
from shared.errors import Busy
from shared.repositories import Repositories
from shared.services.invoice_batch import Handover, invoice_handovers
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


# ------------------------------------------------------------ a batch's invoices numbered as one block


def stored_orders(repos: Repositories, count: int, first: int = 0) -> list:
    orders = [make_order([("SKU-1", 1, "10.00")], order_id=f"o{n:024x}") for n in range(first, first + count)]
    for n, order in enumerate(orders, start=first):  # each its own channel order id
        order.request = order.request.model_copy(update={"channel_order_id": f"CO-{n}"})
        repos.commit(repos.orders.create(order))
    return orders


def handovers(orders) -> list[Handover]:
    return [Handover(o.order_id, f"s-{o.order_id}", {"SKU-1": 1}) for o in orders]


def all_numbers(repos: Repositories, orders) -> list[int]:
    return sorted(d.sequence for o in orders for d in repos.invoices.for_order(o.order_id))


def test_a_block_moves_the_counter_once_over_consecutive_numbers(store):
    repo = InvoiceRepository(store)
    block = [draft(n, order_id=f"o{n:024x}") for n in (1, 2, 3)]
    writes = repo.issue_block(block, 0, [0, 0, 0])
    assert sum(1 for w in writes if w.key[0].startswith("DOCSERIES#")) == 1
    store.transact(writes)
    assert repo.last_number(block[0].series) == 3
    # Another batch read 0 as well: its block is refused on the counter and writes none of its documents.
    late = [draft(n, order_id=f"o{n + 10:024x}") for n in (1, 2)]
    assert refusal(lambda: store.transact(repo.issue_block(late, 0, [0, 0]))).only(StaleVersion)
    assert [repo.for_order(d.order_id) for d in late] == [[], []]
    with pytest.raises(ValueError):  # numbers of a block follow the counter without a hole
        repo.issue_block([draft(4, order_id="o" + "4" * 24), draft(6, order_id="o" + "6" * 24)], 3, [0, 0])


def test_a_block_with_one_document_issued_already_takes_no_number(store):
    repo = InvoiceRepository(store)
    store.transact(repo.issue(draft(1), 0, 0))
    # The same shipment again in a block with another order's: refused whole, so no number is skipped.
    block = [draft(2, order_id="o" + "7" * 24), draft(3)]
    refused = refusal(lambda: store.transact(repo.issue_block(block, 1, [0, 1])))
    assert refused.find(AlreadyExists) is not None
    assert repo.last_number(block[0].series) == 1 and repo.for_order(block[0].order_id) == []


def test_a_counter_read_stale_with_the_batch_is_read_again_and_no_number_is_skipped(store, monkeypatch):
    """Guard: the counter's condition. Another issuer took number 1 after the batch read 0: the block
    is refused, the counter read again, and the block numbered from 2."""
    repos = Repositories.on(store)
    orders = stored_orders(repos, 4)
    other, batch = orders[0], orders[1:]
    read = repos.invoices.batch_picture

    def then_another_issues(pairs, series):
        picture = read(pairs, series)
        issue_invoice(other, f"s-{other.order_id}", {"SKU-1": 1}, repos, NOW, SETTINGS)
        return picture

    monkeypatch.setattr(repos.invoices, "batch_picture", then_another_issues)
    invoiced = invoice_handovers(handovers(batch), repos, NOW, SETTINGS)
    assert sorted(i.documents[-1].sequence for i in invoiced.values()) == [2, 3, 4]
    assert all_numbers(repos, orders) == [1, 2, 3, 4]


def test_a_redelivered_batch_is_answered_its_invoices_and_takes_no_number(store):
    repos = Repositories.on(store)
    orders = stored_orders(repos, 3)
    first = invoice_handovers(handovers(orders), repos, NOW, SETTINGS)
    again = invoice_handovers(handovers(orders), repos, NOW, SETTINGS)
    # Found, not issued again: the same numbers answered, the counter where the first batch left it.
    assert {k: v.documents for k, v in again.items()} == {k: v.documents for k, v in first.items()}
    assert repos.invoices.last_number(first[(orders[0].order_id, f"s-{orders[0].order_id}")]
                                      .documents[-1].series) == 3
    assert all_numbers(repos, orders) == [1, 2, 3]


def test_a_shipment_invoiced_by_a_concurrent_delivery_after_the_read_is_not_invoiced_twice(store, monkeypatch):
    repos = Repositories.on(store)
    orders = stored_orders(repos, 3)
    stale = {o.order_id: repos.invoices.order_and_documents(o.order_id) for o in orders}
    # Another delivery of the first shipment invoices it between the batch's read and its commit.
    issue_invoice(orders[0], f"s-{orders[0].order_id}", {"SKU-1": 1}, repos, NOW, SETTINGS)
    monkeypatch.setattr(repos.invoices, "batch_picture",
                        lambda pairs, series: BatchPicture({o: stale[o] for o, _ in pairs}, 0))
    invoiced = invoice_handovers(handovers(orders), repos, NOW, SETTINGS)
    assert invoiced == {}  # the block was refused whole: each record issues its own
    assert all_numbers(repos, orders) == [1]
    for order in orders:  # as the records then do, one by one (the first finds its invoice)
        issue_invoice(order, f"s-{order.order_id}", {"SKU-1": 1}, repos, NOW, SETTINGS)
    assert all_numbers(repos, orders) == [1, 2, 3]


def test_concurrent_batches_take_every_number_once_with_no_gap(store):
    repos = Repositories.on(store)
    batches = [stored_orders(repos, 6, first=10 * b) for b in range(5)]
    errors: list[Exception] = []
    start = threading.Barrier(len(batches))

    def batch(orders) -> None:
        start.wait()
        try:
            done = invoice_handovers(handovers(orders), repos, NOW, SETTINGS)
            for order in orders:  # what the block left out, record by record, as settle-payments does
                if (order.order_id, f"s-{order.order_id}") not in done:
                    while True:
                        try:
                            issue_invoice(order, f"s-{order.order_id}", {"SKU-1": 1}, repos, NOW, SETTINGS)
                            break
                        except Busy:
                            continue
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=batch, args=(b,), daemon=True) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    everyone = [o for b in batches for o in b]
    assert all_numbers(repos, everyone) == list(range(1, 31))
