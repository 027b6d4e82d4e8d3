"""Answers of GET /orders/{order_id}/invoices: invoices and credit notes with links to their PDFs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from shared.domain.base import DeferredModel
from shared.domain.invoices import Buyer, DocumentKind, InvoiceDocument, InvoiceLine, RateTotal, Seller
from shared.domain.tax import PriceBasis


class InvoiceView(DeferredModel):
    """An invoice or credit note as issued, with a link to its PDF."""

    number: str = Field(description="INV-<year>-<6 digits> or CRN-<year>-<6 digits>: gapless per selling entity, "
                                    "kind and year")
    kind: DocumentKind
    issued_at: datetime
    covers: str = Field(description="The shipment id (invoice) or the refund id (credit note)")
    corrects: str | None = Field(description="A credit note: the number of the invoice it corrects")
    currency: str
    price_basis: PriceBasis = Field(description="INCLUSIVE: unit prices include tax; EXCLUSIVE: tax is added")
    lines: list[InvoiceLine]
    taxes: list[RateTotal] = Field(description="Per tax rate, lowest first")
    net: Decimal
    tax: Decimal
    gross: Decimal
    seller: Seller
    buyer: Buyer
    pdf_url: str = Field(description="The PDF (presigned, 15 minutes). Rendered a few seconds after the document "
                                     "is issued: until then the link answers 404, ask again for a fresh one later")

    @classmethod
    def of(cls, d: InvoiceDocument, pdf_url: str) -> InvoiceView:
        return cls(number=d.number, kind=d.kind, issued_at=d.issued_at, covers=d.covers, corrects=d.corrects,
                   currency=d.currency, price_basis=d.price_basis, lines=d.lines, taxes=d.taxes, net=d.net, tax=d.tax,
                   gross=d.gross, seller=d.seller, buyer=d.buyer, pdf_url=pdf_url)


class InvoiceList(DeferredModel):
    """GET /orders/{order_id}/invoices: the order's invoices (one per shipment or collected pickup) and credit
    notes (one per refund), in the order they were issued, each with a presigned link to its PDF valid for 15
    minutes. A document issued a moment ago may not be rendered yet: its link answers 404 until it is (ask
    again). The same visibility as GET /orders/{order_id}: a channel sees its own orders' documents only."""

    order_id: str
    invoices: list[InvoiceView]
