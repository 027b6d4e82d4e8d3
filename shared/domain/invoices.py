"""Invoices and credit notes: the documents, their numbers, and the lines they bill or take back.

An invoice bills what one shipment of an order shipped; a credit note takes back (part of) one
invoice when money is refunded. Numbers come from a gapless series per selling entity, kind and
year (`DocumentSeries`: shared/adapters/invoices_repo.py keeps its counter), printed as
`INV-2026-000123` / `CRN-2026-000007`.

Every amount follows the rounding rule of shared/domain/tax.py. Partial documents stay exact by
taking cumulative shares (`tax.share`): the discount an invoice carries is the order's discount
times the share of the order's value invoiced so far, less what earlier invoices carried; a
credit note takes a line's amounts for the units credited so far, less what earlier credit notes
took. So when an order has shipped (or an invoice has been credited) in full, the documents add up
to it exactly, whatever the split.

The buyer's name and address are personal data: they live in the document (and its PDF) only,
never in events or logs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple

from pydantic import ConfigDict

from shared.domain.base import DeferredModel
from shared.domain.money import ZERO
from shared.domain.orders import Address, Order
from shared.domain.tax import PriceBasis, TaxableLine, allocate, share, tax_lines
from shared.errors import InvalidInput


class DocumentKind(StrEnum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


PREFIX = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CRN"}


class LineKind(StrEnum):
    ITEM = "ITEM"
    SHIPPING = "SHIPPING"
    ADJUSTMENT = "ADJUSTMENT"  # a credit note's lump sum


class DocumentSeries(DeferredModel):
    """One gapless run of numbers. The entity is part of the series (two selling entities number
    independently) but not of the printed number, which shows prefix, year and six digits."""

    model_config = ConfigDict(frozen=True)
    entity: str
    kind: DocumentKind
    year: int

    @classmethod
    def of(cls, entity: str, kind: DocumentKind, issued_at: datetime) -> DocumentSeries:
        return cls(entity=entity, kind=kind, year=issued_at.astimezone(UTC).year)

    def number(self, sequence: int) -> str:
        return f"{PREFIX[self.kind]}-{self.year}-{sequence:06d}"


class Seller(DeferredModel):
    """The selling entity, from configuration."""

    model_config = ConfigDict(extra="forbid")
    entity_id: str
    name: str
    address: Address
    vat_id: str | None = None


class Buyer(DeferredModel):
    name: str
    address: Address


class InvoiceLine(DeferredModel):
    kind: LineKind
    sku: str
    description: str
    quantity: int
    unit_price: Decimal  # as the channel priced it: gross under INCLUSIVE, net under EXCLUSIVE
    amount: Decimal  # quantity x unit price, before the discount
    discount: Decimal
    net: Decimal
    tax_rate: Decimal
    tax: Decimal
    gross: Decimal
    order_line: int | None = None  # index of the order line it bills (items only)


class RateTotal(DeferredModel):
    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


class InvoiceDocument(DeferredModel):
    kind: DocumentKind
    series: DocumentSeries
    sequence: int
    number: str
    issued_at: datetime  # UTC
    order_id: str
    covers: str  # the shipment id (invoice) or the refund id (credit note)
    seller: Seller
    buyer: Buyer
    currency: str
    price_basis: PriceBasis
    lines: list[InvoiceLine]
    taxes: list[RateTotal]  # per rate, lowest first
    net: Decimal
    tax: Decimal
    gross: Decimal
    corrects: str | None = None  # a credit note: the number of the invoice it corrects


def document(kind: DocumentKind, sequence: int, issued_at: datetime, order: Order, covers: str, seller: Seller,
             basis: PriceBasis, lines: list[InvoiceLine], corrects: str | None = None) -> InvoiceDocument:
    """The document with number `sequence` of its series; taxes per rate and totals are line sums."""
    if not lines:
        raise InvalidInput(f"nothing to put on a {kind.value.lower().replace('_', ' ')}", field="lines")
    series = DocumentSeries.of(seller.entity_id, kind, issued_at)
    zero = (ZERO, ZERO, ZERO)
    by_rate: dict[Decimal, tuple[Decimal, Decimal, Decimal]] = {}
    for ln in lines:
        n, t, g = by_rate.get(ln.tax_rate, zero)
        by_rate[ln.tax_rate] = (n + ln.net, t + ln.tax, g + ln.gross)
    request = order.request
    return InvoiceDocument(
        kind=kind, series=series, sequence=sequence, number=series.number(sequence),
        issued_at=issued_at.astimezone(UTC), order_id=order.order_id, covers=covers, seller=seller,
        buyer=Buyer(name=request.customer.name, address=request.shipping_address), currency=request.currency,
        price_basis=basis, lines=lines, corrects=corrects,
        taxes=[RateTotal(rate=r, net=n, tax=t, gross=g) for r, (n, t, g) in sorted(by_rate.items())],
        net=sum((ln.net for ln in lines), ZERO), tax=sum((ln.tax for ln in lines), ZERO),
        gross=sum((ln.gross for ln in lines), ZERO),
    )


# ------------------------------------------------------------------ an invoice for a shipment


def invoice_lines(order: Order, shipped: Mapping[str, int], earlier: Sequence[InvoiceDocument], basis: PriceBasis,
                  rate: Decimal) -> list[InvoiceLine]:
    """What a shipment bills: the units shipped of each SKU (taken from the order's lines in order,
    less what earlier invoices billed), the shipping price on the order's first invoice, and its
    cumulative share of the order's discount, allocated over these lines by their amounts."""
    request, currency = order.request, order.request.currency
    invoices = [d for d in earlier if d.kind is DocumentKind.INVOICE]
    billed = Counter[int]()
    for d in invoices:
        for ln in d.lines:
            if ln.order_line is not None:
                billed[ln.order_line] += ln.quantity
    left = Counter({sku: q for sku, q in shipped.items() if q > 0})
    drafts: list[_Draft] = []
    for i, line in enumerate(request.lines):
        q = min(left[line.sku], line.quantity - billed[i])
        if q > 0:
            whole = line.unit_price * line.quantity
            amount = (share(whole, Fraction(billed[i] + q, line.quantity), currency)
                      - share(whole, Fraction(billed[i], line.quantity), currency))
            drafts.append(_Draft(LineKind.ITEM, line.sku, q, line.unit_price, amount, i))
            left[line.sku] -= q
    if +left:
        raise InvalidInput(f"shipped more than the order has left to invoice: {dict(+left)}", field="shipped")
    if not invoices and request.shipping_price > 0:
        shipping = share(request.shipping_price, Fraction(1), currency)
        drafts.append(_Draft(LineKind.SHIPPING, "SHIPPING", 1, request.shipping_price, shipping, None))
    if not drafts:
        return []
    # The discount: the order's, times the share of the order's value invoiced up to this one.
    value = (sum((share(ln.unit_price * ln.quantity, Fraction(1), currency) for ln in request.lines), ZERO)
             + share(request.shipping_price, Fraction(1), currency))
    before = sum((ln.amount for d in invoices for ln in d.lines), ZERO)
    given = sum((ln.discount for d in invoices for ln in d.lines), ZERO)
    now = sum((d.amount for d in drafts), ZERO)
    upto = share(request.discount_total, Fraction(before + now) / Fraction(value), currency) if value else ZERO
    # Never below zero nor above these lines (only sub-minor-unit prices could ask for either).
    discount = max(ZERO, min(upto - given, now))
    discounts = allocate(discount, [d.amount for d in drafts], currency)
    taxed = tax_lines([TaxableLine(str(n), d.amount - x) for n, (d, x) in enumerate(zip(drafts, discounts, strict=True))],
                      basis, rate, currency)
    return [InvoiceLine(kind=d.kind, sku=d.sku, description="Shipping" if d.kind is LineKind.SHIPPING else d.sku,
                        quantity=d.quantity, unit_price=d.unit_price, amount=d.amount, discount=x, net=t.net,
                        tax_rate=rate, tax=t.tax, gross=t.gross, order_line=d.order_line)
            for d, x, t in zip(drafts, discounts, taxed.lines, strict=True)]


class _Draft(NamedTuple):
    kind: LineKind
    sku: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    order_line: int | None


# ------------------------------------------------------------------ a credit note for a refund


def credited(invoice: InvoiceDocument, earlier: Sequence[InvoiceDocument]) -> list[InvoiceDocument]:
    """The credit notes that already correct `invoice`."""
    return [d for d in earlier if d.kind is DocumentKind.CREDIT_NOTE and d.corrects == invoice.number]


def credit_item_lines(invoice: InvoiceDocument, items: Mapping[str, int], earlier: Sequence[InvoiceDocument]
                      ) -> list[InvoiceLine]:
    """Units of the invoice's items taken back: each line's cumulative share of the invoiced line
    for the units credited so far, less what earlier credit notes took (so crediting every unit
    reverses the line exactly, tax included)."""
    taken = Counter[tuple[int | None, str]]()
    for note in credited(invoice, earlier):
        for ln in note.lines:
            taken[(ln.order_line, ln.sku)] += ln.quantity if ln.kind is LineKind.ITEM else 0
    left = Counter({sku: q for sku, q in items.items() if q > 0})
    out: list[InvoiceLine] = []
    for ln in (ln for ln in invoice.lines if ln.kind is LineKind.ITEM):
        c = taken[(ln.order_line, ln.sku)]
        q = min(left[ln.sku], ln.quantity - c)
        if q <= 0:
            continue
        left[ln.sku] -= q

        def part(x: Decimal, c: int = c, q: int = q, total: int = ln.quantity) -> Decimal:
            return share(x, Fraction(c + q, total), invoice.currency) - share(x, Fraction(c, total), invoice.currency)

        base, tax, discount = part(ln.amount - ln.discount), part(ln.tax), part(ln.discount)
        net, gross = (base - tax, base) if invoice.price_basis is PriceBasis.INCLUSIVE else (base, base + tax)
        out.append(ln.model_copy(update=dict(quantity=q, amount=base + discount, discount=discount, net=net,
                                             tax=tax, gross=gross)))
    if +left:
        raise InvalidInput(f"more to credit than invoice {invoice.number} has left: {dict(+left)}", field="lines")
    return out


def credit_amount_lines(invoice: InvoiceDocument, amount: Decimal, earlier: Sequence[InvoiceDocument]
                        ) -> list[InvoiceLine]:
    """A sum of money taken back (gross, as refunded), split over the invoice's tax rates pro rata
    to what each rate has left to credit, and taxed tax-inclusive at that rate."""
    notes = credited(invoice, earlier)
    left = {t.rate: t.gross - sum((ln.gross for n in notes for ln in n.lines if ln.tax_rate == t.rate), ZERO)
            for t in invoice.taxes}
    if amount <= 0 or amount > sum(left.values(), ZERO):
        raise InvalidInput(f"{amount} {invoice.currency} is more than invoice {invoice.number} has left to credit "
                           f"({sum(left.values(), ZERO)})", field="amount")
    rates = [r for r in left if left[r] > 0]
    out = []
    for rate, part in zip(rates, allocate(amount, [left[r] for r in rates], invoice.currency), strict=True):
        if part == 0:
            continue
        (t,) = tax_lines([TaxableLine("refund", part)], PriceBasis.INCLUSIVE, rate, invoice.currency).lines
        unit = t.gross if invoice.price_basis is PriceBasis.INCLUSIVE else t.net
        out.append(InvoiceLine(kind=LineKind.ADJUSTMENT, sku="REFUND", description="Refund", quantity=1,
                               unit_price=unit, amount=unit, discount=ZERO, net=t.net, tax_rate=rate, tax=t.tax,
                               gross=t.gross))
    return out


def check_not_over_credited(invoice: InvoiceDocument, lines: Sequence[InvoiceLine],
                            earlier: Sequence[InvoiceDocument]) -> None:
    """Item and amount credits mixed must still not take back more than the invoice billed."""
    before = sum((n.gross for n in credited(invoice, earlier)), ZERO)
    if before + sum((ln.gross for ln in lines), ZERO) > invoice.gross:
        raise InvalidInput(f"invoice {invoice.number} has only {invoice.gross - before} {invoice.currency} left "
                           "to credit", field="lines")
