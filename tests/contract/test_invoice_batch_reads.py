"""A settle-payments batch reads its orders and their documents in one request (issue 15), on both
stores: InvoiceRepository.batch_picture answers what `order_and_documents` would, order by
order, from one BatchGetItem, and only an order with documents that read did not ask for (an earlier
shipment's invoice, a credit note) is read by its own Query, so a second shipment is still billed
only what is left."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from shared.domain.invoices import DocumentKind
from shared.repositories import Repositories
from shared.services.invoice_batch import Handover, invoice_handovers
from shared.services.invoicing import issue_credit_note, issue_invoice
from tests.contract.test_invoice_numbers import SETTINGS, all_numbers, handovers, stored_orders
from tests.factories import NOW
from tests.unit.test_invoices import make_order


@pytest.fixture
def repos(store) -> Repositories:
    return Repositories.on(store)


def count_requests(monkeypatch, store) -> Counter:
    """The store's table requests by method (query_all pages through `query`)."""
    calls: Counter = Counter()
    for name in ("get", "batch_get", "query", "transact"):
        real = getattr(type(store), name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(type(store), name, counted)
    return calls


def test_a_batch_of_first_shipments_is_read_in_one_request_and_invoiced_in_one_transaction(repos, store,
                                                                                          monkeypatch):
    orders = stored_orders(repos, 3)
    calls = count_requests(monkeypatch, store)

    invoiced = invoice_handovers(handovers(orders), repos, NOW, SETTINGS)

    # The orders with their documents and the series' counter in one read (no Query per order, no
    # GetItem of the counter), one transaction.
    assert calls == {"batch_get": 1, "transact": 1}
    assert sorted(invoiced) == sorted((o.order_id, f"s-{o.order_id}") for o in orders)
    assert all(inv.order == repos.orders.get(oid) and [d.covers for d in inv.documents] == [h]
               for (oid, h), inv in invoiced.items())
    assert all_numbers(repos, orders) == [1, 2, 3]


def test_a_redelivered_batch_finds_its_invoices_in_the_same_read(repos, store, monkeypatch):
    orders = stored_orders(repos, 2)
    first = invoice_handovers(handovers(orders), repos, NOW, SETTINGS)
    calls = count_requests(monkeypatch, store)

    again = invoice_handovers(handovers(orders), repos, NOW, SETTINGS)

    assert calls == {"batch_get": 1}  # each order's count (1) is the invoice the read found: nothing else
    assert again == first and all_numbers(repos, orders) == [1, 2]


def test_an_order_invoiced_before_is_read_by_its_own_query_and_billed_only_what_is_left(repos, store, monkeypatch):
    """Guard: the count check. Its earlier invoice is not among the keys read; taken as an order with
    no documents, its second invoice would bill the shipping again and be refused on the count."""
    order = make_order([("SKU-1", 2, "10.00")], order_id="o" + "7" * 24)
    order.request = order.request.model_copy(update={"shipping_price": Decimal("4.90"), "channel_order_id": "CO-7"})
    repos.commit(repos.orders.create(order))
    fresh = stored_orders(repos, 1)[0]
    issue_invoice(order, "s1", {"SKU-1": 1}, repos, NOW, SETTINGS)
    calls = count_requests(monkeypatch, store)

    invoiced = invoice_handovers([Handover(order.order_id, "s2", {"SKU-1": 1}), *handovers([fresh])], repos, NOW,
                                 SETTINGS)

    assert calls["batch_get"] == 1 and calls["query"] == 1  # the fresh order needs no Query of its own
    second = invoiced[(order.order_id, "s2")].documents[-1]
    assert [d.covers for d in invoiced[(order.order_id, "s2")].documents] == ["s1", "s2"]
    assert [(ln.sku, ln.quantity) for ln in second.lines] == [("SKU-1", 1)]  # no second shipping line
    assert [d.covers for d in repos.invoices.for_order(order.order_id)] == ["s1", "s2"]


def test_an_order_with_a_credit_note_beside_the_invoice_read_is_read_whole(repos, store):
    orders = stored_orders(repos, 1)
    invoice_handovers(handovers(orders), repos, NOW, SETTINGS)
    order_id = orders[0].order_id
    [invoice] = repos.invoices.for_order(order_id)
    issue_credit_note(repos.orders.get(order_id), "re_1", repos, NOW, items={"SKU-1": 1},
                      invoice_number=invoice.number)

    read = repos.invoices.batch_picture([(order_id, f"s-{order_id}"), ("o" + "f" * 24, "s-x")], None).orders

    assert read[order_id] == repos.invoices.order_and_documents(order_id)
    assert {d.kind for d in read[order_id][1]} == {DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE}
    assert read["o" + "f" * 24] == (None, [])  # an unknown order, as order_and_documents answers it
