"""Invoice and credit note documents (shared/domain/invoices.py): numbers, the lines a shipment
bills, and the lines a refund takes back. Partial documents must add up to the whole exactly."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.invoices import (
    DocumentKind,
    DocumentSeries,
    InvoiceDocument,
    InvoiceLine,
    LineKind,
    Seller,
    check_not_over_credited,
    credit_amount_lines,
    credit_item_lines,
    document,
    invoice_lines,
)
from shared.domain.money import quantum
from shared.domain.orders import Address, Order, OrderRequest
from shared.domain.tax import PriceBasis
from shared.errors import InvalidInput
from tests.factories import NOW, order_body

pytestmark = pytest.mark.unit

SELLER = Seller(entity_id="acme-de", name="ACME GmbH", vat_id="DE123456789",
                address=Address(line1="Hauptstr. 1", city="Berlin", postal_code="10115", country="DE"))
RATE = Decimal("0.19")


def make_order(lines: list[tuple[str, int, str]], *, shipping: str = "0", discount: str = "0", currency: str = "EUR",
               order_id: str = "o" + "0" * 24, country: str = "DE") -> Order:
    """An order of (sku, quantity, unit price) lines; payment pending, so any total is accepted."""
    body = order_body([(s, q) for s, q, _ in lines], payment_status="pending", country=country,
                      shipping_price=shipping, discount_total=discount, currency=currency)
    for line, (_, _, price) in zip(body["lines"], lines, strict=True):
        line["unit_price"] = price
    request = OrderRequest.model_validate(body)
    return Order(order_id=order_id, channel="web", created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)


def invoice(order: Order, shipped: dict[str, int], earlier: list[InvoiceDocument], *, sequence: int = 1,
            basis: PriceBasis = PriceBasis.INCLUSIVE, rate: Decimal = RATE, covers: str = "s1") -> InvoiceDocument:
    lines = invoice_lines(order, shipped, earlier, basis, rate)
    return document(DocumentKind.INVOICE, sequence, NOW, order, covers, SELLER, basis, lines)


def credit(order: Order, inv: InvoiceDocument, lines: list[InvoiceLine], sequence: int = 1) -> InvoiceDocument:
    return document(DocumentKind.CREDIT_NOTE, sequence, NOW, order, f"r{sequence}", SELLER, inv.price_basis, lines,
                    corrects=inv.number)


def priced(doc: InvoiceDocument) -> Decimal:
    """The document's total in the price basis: what the order's total is made of."""
    return doc.gross if doc.price_basis is PriceBasis.INCLUSIVE else doc.net


def assert_consistent(doc: InvoiceDocument) -> None:
    q = quantum(doc.currency)
    for ln in doc.lines:
        assert ln.net + ln.tax == ln.gross
        assert min(ln.net, ln.tax, ln.gross, ln.discount) >= 0
        assert all(x % q == 0 for x in (ln.net, ln.tax, ln.gross, ln.amount, ln.discount))
    assert sum(ln.net for ln in doc.lines) == doc.net == sum(t.net for t in doc.taxes)
    assert sum(ln.tax for ln in doc.lines) == doc.tax == sum(t.tax for t in doc.taxes)
    assert sum(ln.gross for ln in doc.lines) == doc.gross == sum(t.gross for t in doc.taxes)
    assert doc.net + doc.tax == doc.gross


# ------------------------------------------------------------------ numbers


def test_printed_numbers_show_prefix_year_and_six_digits():
    assert DocumentSeries(entity="acme-de", kind=DocumentKind.INVOICE, year=2026).number(123) == "INV-2026-000123"
    assert DocumentSeries(entity="acme-de", kind=DocumentKind.CREDIT_NOTE, year=2026).number(7) == "CRN-2026-000007"


def test_the_series_year_is_the_utc_year_of_issue():
    late = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))  # 2027-01-01 01:30 UTC
    assert DocumentSeries.of("acme-de", DocumentKind.INVOICE, late).year == 2027
    doc = invoice(make_order([("SKU-1", 1, "10.00")]), {"SKU-1": 1}, [])
    assert doc.issued_at.tzinfo == UTC
    assert (doc.series.entity, doc.number) == ("acme-de", "INV-2026-000001")


# ------------------------------------------------------------------ invoice lines


def test_one_shipment_of_everything_bills_the_order_total():
    order = make_order([("SKU-1", 2, "19.99"), ("SKU-2", 1, "5.00")], shipping="4.90", discount="5.00")
    doc = invoice(order, {"SKU-1": 2, "SKU-2": 1}, [])
    assert doc.gross == order.total == Decimal("44.88")
    assert [ln.kind for ln in doc.lines] == [LineKind.ITEM, LineKind.ITEM, LineKind.SHIPPING]
    assert sum(ln.discount for ln in doc.lines) == Decimal("5.00")
    assert doc.buyer.name == "Ana Test" and doc.buyer.address.city == "Berlin"
    assert_consistent(doc)


def test_shipping_is_charged_on_the_first_invoice_only():
    order = make_order([("SKU-1", 1, "10.00"), ("SKU-2", 1, "10.00")], shipping="4.90")
    first = invoice(order, {"SKU-2": 1}, [])
    second = invoice(order, {"SKU-1": 1}, [first], sequence=2, covers="s2")
    assert [ln.sku for ln in first.lines] == ["SKU-2", "SHIPPING"]
    assert [ln.sku for ln in second.lines] == ["SKU-1"]
    assert first.gross + second.gross == order.total


def test_a_sku_on_two_order_lines_is_billed_line_by_line():
    order = make_order([("SKU-1", 1, "10.00"), ("SKU-1", 2, "8.00")])
    first = invoice(order, {"SKU-1": 2}, [])
    assert [(ln.order_line, ln.quantity, ln.unit_price) for ln in first.lines] == [(0, 1, Decimal("10.00")),
                                                                                   (1, 1, Decimal("8.00"))]
    second = invoice(order, {"SKU-1": 1}, [first], sequence=2, covers="s2")
    assert [(ln.order_line, ln.quantity) for ln in second.lines] == [(1, 1)]


@pytest.mark.parametrize("shipped", [{"SKU-1": 3}, {"SKU-9": 1}])
def test_shipping_more_than_is_left_to_invoice_is_refused(shipped):
    order = make_order([("SKU-1", 2, "10.00")])
    first = invoice(order, {"SKU-1": 1}, [])
    with pytest.raises(InvalidInput):
        invoice_lines(order, shipped, [first], PriceBasis.INCLUSIVE, RATE)


def test_an_empty_document_is_refused():
    order = make_order([("SKU-1", 1, "10.00")])
    with pytest.raises(InvalidInput):
        invoice(order, {}, [])


@st.composite
def orders_and_shipments(draw):
    currency = draw(st.sampled_from(["EUR", "JPY", "KWD"]))
    q = quantum(currency)
    n = draw(st.integers(1, 5))
    lines = [(f"SKU-{i}", draw(st.integers(1, 6)), str(Decimal(draw(st.integers(0, 100_000))) * q))
             for i in range(n)]
    shipping = Decimal(draw(st.integers(0, 5_000))) * q
    value = sum(Decimal(p) * qty for _, qty, p in lines) + shipping
    discount = Decimal(draw(st.integers(0, int(value / q)))) * q
    parcels = draw(st.integers(1, 4))
    shipments: list[Counter[str]] = [Counter() for _ in range(parcels)]
    for sku, qty, _ in lines:
        for _ in range(qty):
            shipments[draw(st.integers(0, parcels - 1))][sku] += 1
    order = make_order(lines, shipping=str(shipping), discount=str(discount), currency=currency)
    return order, [dict(s) for s in shipments if s]


@settings(max_examples=200)
@given(case=orders_and_shipments(), basis=st.sampled_from(list(PriceBasis)),
       rate=st.sampled_from([Decimal("0"), Decimal("0.055"), Decimal("0.19"), Decimal("0.2")]))
def test_invoices_of_every_shipment_add_up_to_the_order_exactly(case, basis, rate):
    order, shipments = case
    docs: list[InvoiceDocument] = []
    for i, shipped in enumerate(shipments):
        docs.append(invoice(order, shipped, docs, sequence=i + 1, basis=basis, rate=rate, covers=f"s{i}"))
    for doc in docs:
        assert_consistent(doc)
    assert sum(priced(d) for d in docs) == order.total
    assert sum(ln.discount for d in docs for ln in d.lines) == order.request.discount_total
    assert sum(1 for d in docs for ln in d.lines if ln.kind is LineKind.SHIPPING) == (
        1 if order.request.shipping_price > 0 else 0)
    billed = Counter[str]()
    for d in docs:
        for ln in d.lines:
            if ln.kind is LineKind.ITEM:
                billed[ln.sku] += ln.quantity
    assert billed == Counter({ln.sku: ln.quantity for ln in order.request.lines})


# ------------------------------------------------------------------ credit notes


@settings(max_examples=100)
@given(case=orders_and_shipments(), basis=st.sampled_from(list(PriceBasis)), data=st.data())
def test_crediting_every_unit_in_parts_reverses_the_invoice_exactly(case, basis, data):
    order, _ = case
    everything = {ln.sku: ln.quantity for ln in order.request.lines}
    inv = invoice(order, everything, [], basis=basis)
    notes: list[InvoiceDocument] = []
    left = Counter(everything)
    while +left:
        sku = data.draw(st.sampled_from(sorted((+left).keys())))
        units = data.draw(st.integers(1, left[sku]))
        lines = credit_item_lines(inv, {sku: units}, notes)
        check_not_over_credited(inv, lines, notes)
        notes.append(credit(order, inv, lines, sequence=len(notes) + 1))
        left[sku] -= units
    for note in notes:
        assert_consistent(note)
    items = [ln for ln in inv.lines if ln.kind is LineKind.ITEM]
    for field in ("net", "tax", "gross", "discount", "amount"):
        assert sum(getattr(ln, field) for n in notes for ln in n.lines) == sum(getattr(ln, field) for ln in items)
    with pytest.raises(InvalidInput):
        credit_item_lines(inv, {items[0].sku: 1}, notes)


def test_an_amount_is_credited_over_the_invoice_s_rates_pro_rata():
    order = make_order([("BOOK", 1, "10.70"), ("TOY", 1, "11.90")])
    book = invoice_lines(order, {"BOOK": 1}, [], PriceBasis.INCLUSIVE, Decimal("0.07"))
    toy = invoice_lines(order, {"TOY": 1}, [], PriceBasis.INCLUSIVE, Decimal("0.19"))
    inv = document(DocumentKind.INVOICE, 1, NOW, order, "s1", SELLER, PriceBasis.INCLUSIVE,
                   book + [toy[0].model_copy(update={"order_line": 1})])
    assert [(t.rate, t.gross) for t in inv.taxes] == [(Decimal("0.07"), Decimal("10.70")),
                                                     (Decimal("0.19"), Decimal("11.90"))]
    lines = credit_amount_lines(inv, Decimal("5.00"), [])
    assert [(ln.tax_rate, ln.gross) for ln in lines] == [(Decimal("0.07"), Decimal("2.37")),
                                                        (Decimal("0.19"), Decimal("2.63"))]
    note = credit(order, inv, lines)
    assert_consistent(note)
    assert note.gross == Decimal("5.00") and note.corrects == inv.number
    rest = credit_amount_lines(inv, inv.gross - note.gross, [note])
    assert sum(ln.gross for ln in rest) == Decimal("17.60")
    with pytest.raises(InvalidInput):
        credit_amount_lines(inv, Decimal("17.61"), [note])


def test_item_and_amount_credits_together_cannot_take_back_more_than_was_billed():
    order = make_order([("SKU-1", 2, "10.00")])
    inv = invoice(order, {"SKU-1": 2}, [])
    lump = credit(order, inv, credit_amount_lines(inv, Decimal("15.00"), []))
    lines = credit_item_lines(inv, {"SKU-1": 1}, [lump])
    with pytest.raises(InvalidInput):
        check_not_over_credited(inv, lines, [lump])
