"""Invoicing use cases (shared/services/invoicing.py) on the in-memory store: gapless numbers under
concurrency, idempotent retries, one series per selling entity, kind and year."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.domain.invoices import DocumentKind, DocumentSeries, InvoiceDocument, LineKind, Seller
from shared.domain.orders import Address
from shared.domain.tax import TaxTable
from shared.errors import Busy, InvalidInput, NotFound
from shared.services import invoicing
from shared.services.invoicing import InvoicingSettings, invoices_for, issue_credit_note, issue_invoice
from shared.unit_of_work import Refused
from tests.factories import NOW, TWO_WAREHOUSES, seed
from tests.service.flows import interleave, placed_and_packed, ship_lines
from tests.unit.test_invoices import SELLER, make_order

pytestmark = pytest.mark.unit

SETTINGS = InvoicingSettings(SELLER, TaxTable.from_json(
    '{"default": "0.20", "rates": [{"country": "DE", "rate": "0.19", "valid_from": "2021-01-01"}],'
    ' "price_basis": {"b2b": "EXCLUSIVE"}}'))


def order_of(n: int = 0, **kw):
    return make_order([("SKU-1", 2, "19.99"), ("SKU-2", 1, "5.00")], shipping="4.90", discount="3.00",
                      order_id=f"o{n:024x}", **kw)


def numbers(docs: list[InvoiceDocument]) -> list[str]:
    return [d.number for d in docs]


def until_issued(issue: Callable[[], InvoiceDocument]) -> InvoiceDocument:
    """A queue consumer's view: Busy means the message comes back, and the same request runs again."""
    while True:
        try:
            return issue()
        except Busy:
            continue


def run_together(*work: Callable[[], InvoiceDocument]) -> list[InvoiceDocument]:
    start, results, errors = threading.Barrier(len(work)), [None] * len(work), []

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = until_issued(work[i])
        except Exception as e:  # noqa: BLE001 (reported below, with the others)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results  # type: ignore[return-value]


def racing(repos, monkeypatch) -> list[int]:
    """Widen the window between reading a counter and committing (a pause after every read, which
    lets the other threads run), and count the commits refused: the race is run, not just hoped for."""
    store, refused = repos.store, [0]
    get, transact = store.get, store.transact

    def slow_get(*args, **kwargs):
        item = get(*args, **kwargs)
        time.sleep(0.002)
        return item

    def counted(writes):
        try:
            return transact(writes)
        except Refused:
            refused[0] += 1
            raise

    monkeypatch.setattr(store, "get", slow_get)
    monkeypatch.setattr(store, "transact", counted)
    return refused


def test_an_invoice_per_shipment_numbered_in_turn(repos):
    order = order_of()
    first = issue_invoice(order, "s1", {"SKU-1": 1}, repos, NOW, SETTINGS)
    second = issue_invoice(order, "s2", {"SKU-1": 1, "SKU-2": 1}, repos, NOW, SETTINGS)
    assert numbers([first, second]) == ["INV-2026-000001", "INV-2026-000002"]
    assert [ln.kind for ln in first.lines] == [LineKind.ITEM, LineKind.SHIPPING]
    assert first.gross + second.gross == order.total
    assert (first.lines[0].tax_rate, first.seller.vat_id) == (Decimal("0.19"), "DE123456789")
    assert invoices_for(order.order_id, repos) == [first, second]
    assert repos.invoices.last_number(first.series) == 2


def test_the_rate_is_the_destination_s_and_the_basis_the_channel_s(repos):
    order = order_of(country="FR")
    order.channel = "b2b"
    doc = issue_invoice(order, "s1", {"SKU-2": 1}, repos, NOW, SETTINGS)
    assert doc.lines[0].tax_rate == Decimal("0.20")
    assert doc.price_basis == "EXCLUSIVE" and doc.lines[0].net == Decimal("5.00") - doc.lines[0].discount


def test_a_retried_issue_answers_the_same_document_and_number(repos):
    order = order_of()
    first = issue_invoice(order, "s1", {"SKU-1": 2}, repos, NOW, SETTINGS)
    again = issue_invoice(order, "s1", {"SKU-1": 2}, repos, datetime(2026, 11, 26, tzinfo=UTC), SETTINGS)
    assert again == first
    assert repos.invoices.last_number(first.series) == 1


def test_a_number_taken_meanwhile_makes_us_take_the_next(repos, monkeypatch):
    mine, theirs = order_of(1), order_of(2)
    other: list[InvoiceDocument] = []
    interleave(monkeypatch, repos, lambda: other.append(issue_invoice(theirs, "t1", {"SKU-2": 1}, repos, NOW,
                                                                      SETTINGS)))
    doc = issue_invoice(mine, "m1", {"SKU-2": 1}, repos, NOW, SETTINGS)
    assert numbers(other + [doc]) == ["INV-2026-000001", "INV-2026-000002"]


def test_a_concurrent_delivery_of_the_same_shipment_answers_its_document(repos, monkeypatch):
    order = order_of()
    other: list[InvoiceDocument] = []
    interleave(monkeypatch, repos, lambda: other.append(issue_invoice(order, "s1", {"SKU-1": 1}, repos, NOW,
                                                                      SETTINGS)))
    doc = issue_invoice(order, "s1", {"SKU-1": 1}, repos, NOW, SETTINGS)
    assert doc == other[0] and doc.number == "INV-2026-000001"
    assert len(invoices_for(order.order_id, repos)) == 1


def test_fifty_concurrent_issuers_take_numbers_1_to_50_without_a_gap(repos, monkeypatch):
    refused = racing(repos, monkeypatch)
    orders = [order_of(n) for n in range(50)]
    docs = run_together(*(lambda o=o: issue_invoice(o, f"s-{o.order_id}", {"SKU-1": 1}, repos, NOW, SETTINGS)
                          for o in orders))
    assert sorted(d.sequence for d in docs) == list(range(1, 51))
    assert len({d.number for d in docs}) == 50
    assert repos.invoices.last_number(docs[0].series) == 50
    for o, d in zip(orders, docs, strict=True):
        assert invoices_for(o.order_id, repos) == [d]
    assert refused[0] > 0  # issuers did collide, and each collision cost a retry, not a number


def test_concurrent_deliveries_of_one_shipment_issue_one_document(repos, monkeypatch):
    racing(repos, monkeypatch)
    order = order_of()
    docs = run_together(*[lambda: issue_invoice(order, "s1", {"SKU-1": 2}, repos, NOW, SETTINGS)] * 10)
    assert {d.number for d in docs} == {"INV-2026-000001"}
    assert repos.invoices.last_number(docs[0].series) == 1


def test_two_shipments_of_one_order_at_once_charge_shipping_once(repos, monkeypatch):
    racing(repos, monkeypatch)
    order = order_of()
    docs = run_together(lambda: issue_invoice(order, "s1", {"SKU-1": 2}, repos, NOW, SETTINGS),
                        lambda: issue_invoice(order, "s2", {"SKU-2": 1}, repos, NOW, SETTINGS))
    assert sum(1 for d in docs for ln in d.lines if ln.kind is LineKind.SHIPPING) == 1
    assert sum(d.gross for d in docs) == order.total


def test_two_invoices_of_one_order_in_different_series_are_never_built_from_the_same_past(repos, monkeypatch):
    # Across midnight on New Year's Eve the two shipments take numbers in different series, so no
    # counter orders them: the order's document count does, and shipping is still charged once.
    order, eve, new_year = order_of(), datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    other: list[InvoiceDocument] = []
    interleave(monkeypatch, repos, lambda: other.append(issue_invoice(order, "s1", {"SKU-1": 2}, repos, eve,
                                                                      SETTINGS)))
    doc = issue_invoice(order, "s2", {"SKU-2": 1}, repos, new_year, SETTINGS)
    assert numbers(other + [doc]) == ["INV-2026-000001", "INV-2027-000001"]
    assert [ln.sku for d in other + [doc] for ln in d.lines] == ["SKU-1", "SHIPPING", "SKU-2"]
    assert other[0].gross + doc.gross == order.total


def test_credit_notes_number_in_their_own_series(repos):
    order = order_of()
    inv1 = issue_invoice(order, "s1", {"SKU-1": 2}, repos, NOW, SETTINGS)
    inv2 = issue_invoice(order, "s2", {"SKU-2": 1}, repos, NOW, SETTINGS)
    note = issue_credit_note(order, "r1", repos, NOW, items={"SKU-1": 1})
    lump = issue_credit_note(order, "r2", repos, NOW, amount=Decimal("2.00"))
    assert numbers([inv1, inv2, note, lump]) == ["INV-2026-000001", "INV-2026-000002", "CRN-2026-000001",
                                                 "CRN-2026-000002"]
    # Items are credited on the invoice that billed them; an amount on the newest invoice with room.
    assert (note.corrects, lump.corrects) == (inv1.number, inv2.number)
    assert (inv1.lines[0].gross, note.gross) == (Decimal("37.57"), Decimal("18.79"))  # 18.785, half up
    assert issue_credit_note(order, "r1", repos, NOW, items={"SKU-1": 1}) == note
    assert issue_invoice(order_of(9), "x1", {"SKU-2": 1}, repos, NOW, SETTINGS).number == "INV-2026-000003"


def test_a_credit_note_cannot_take_back_more_than_was_invoiced(repos):
    order = order_of()
    inv = issue_invoice(order, "s1", {"SKU-1": 2}, repos, NOW, SETTINGS)
    with pytest.raises(InvalidInput):
        issue_credit_note(order, "r1", repos, NOW, items={"SKU-2": 1})
    with pytest.raises(InvalidInput):
        issue_credit_note(order, "r1", repos, NOW, amount=inv.gross + Decimal("0.01"))
    with pytest.raises(InvalidInput):
        issue_credit_note(order, "r1", repos, NOW, amount=Decimal("1"), items={"SKU-1": 1})
    with pytest.raises(NotFound):
        issue_credit_note(order, "r1", repos, NOW, amount=Decimal("1"), invoice_number="INV-2026-000099")
    with pytest.raises(InvalidInput):
        issue_credit_note(order_of(5), "r1", repos, NOW, amount=Decimal("1"))
    assert issue_credit_note(order, "r1", repos, NOW, amount=inv.gross).gross == inv.gross
    assert repos.invoices.last_number(DocumentSeries.of(SELLER.entity_id, DocumentKind.CREDIT_NOTE, NOW)) == 1


def test_a_new_year_starts_at_000001(repos):
    order = order_of()
    dec = issue_invoice(order, "s1", {"SKU-1": 1}, repos, datetime(2026, 12, 31, 23, 59, tzinfo=UTC), SETTINGS)
    dec2 = issue_invoice(order_of(1), "s1", {"SKU-1": 1}, repos, datetime(2026, 12, 31, 23, 59, tzinfo=UTC), SETTINGS)
    jan = issue_invoice(order, "s2", {"SKU-1": 1}, repos, datetime(2027, 1, 1, 0, 1, tzinfo=UTC), SETTINGS)
    assert numbers([dec, dec2, jan]) == ["INV-2026-000001", "INV-2026-000002", "INV-2027-000001"]


def test_each_selling_entity_numbers_on_its_own(repos):
    other = InvoicingSettings(Seller(entity_id="acme-fr", name="ACME SARL", address=Address(
        line1="1 rue de Rivoli", city="Paris", country="FR")), SETTINGS.taxes)
    a = issue_invoice(order_of(1), "s1", {"SKU-1": 1}, repos, NOW, SETTINGS)
    b = issue_invoice(order_of(2), "s1", {"SKU-1": 1}, repos, NOW, other)
    assert numbers([a, b]) == ["INV-2026-000001", "INV-2026-000001"]
    note = issue_credit_note(order_of(2), "r1", repos, NOW, amount=Decimal("1.00"))
    assert (note.seller.entity_id, note.number) == ("acme-fr", "CRN-2026-000001")


def test_an_issuer_that_never_gets_a_number_is_busy_and_wrote_nothing(repos, monkeypatch):
    monkeypatch.setattr(repos.invoices, "last_number", lambda series: 7)  # a stale read, forever
    monkeypatch.setattr(invoicing.time, "sleep", lambda _s: None)
    with pytest.raises(Busy):
        issue_invoice(order_of(), "s1", {"SKU-1": 1}, repos, NOW, SETTINGS)
    assert invoices_for(order_of().order_id, repos) == []


def test_an_order_shipped_through_the_oms_is_invoiced_for_its_parcel(repos):
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {("SKU-1", "BER"): 10})
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 2)], NOW)
    ship_lines(repos, fo_id, "ship-1", {"SKU-1": 2}, NOW, tracking_code="TRK1")
    order = repos.orders.get(order_id)
    doc = issue_invoice(order, "ship-1", {"SKU-1": 2}, repos, NOW, SETTINGS)
    assert (doc.number, doc.gross, doc.covers) == ("INV-2026-000001", order.total, "ship-1")
    assert repos.orders.get(order_id).version == order.version  # the order item is not written
