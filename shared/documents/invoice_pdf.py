"""An invoice or credit note as a PDF (A4), rendered with fpdf2.

fpdf2 is pure Python (with fontTools; defusedxml for SVG only) and loads Pillow only to place
images, which these documents have none of: the layer ships it without a native wheel. It is
imported inside `render_pdf` because its import costs about half a second, which only a function
that renders should pay, once.

Text uses the PDF core font Helvetica (WinAnsi, i.e. windows-1252: Western European letters and
the euro sign) so that no font file has to ship. A character outside it (a Polish "ż" or "ł") is
printed without its accent or stroke, one with no Latin letter in it (Greek, CJK) as "?". Pass `font_path` (a
Unicode TrueType font, e.g. DejaVuSans.ttf) to print every character as written.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Callable
from decimal import Decimal

from shared.domain.invoices import DocumentKind, InvoiceDocument
from shared.domain.money import minor_unit
from shared.domain.orders import Address

TITLE = {DocumentKind.INVOICE: "Invoice", DocumentKind.CREDIT_NOTE: "Credit note"}
# Description, quantity, unit price, discount, net, tax rate, tax, gross: 190 mm between margins.
COLUMNS = (("Item", 52, "L"), ("Qty", 12, "R"), ("Unit price", 24, "R"), ("Discount", 20, "R"), ("Net", 22, "R"),
           ("Tax %", 14, "R"), ("Tax", 20, "R"), ("Gross", 26, "R"))
LINE_MM = 5.0


def render_pdf(doc: InvoiceDocument, *, compress: bool = True, font_path: str | None = None) -> bytes:
    """The document as PDF bytes: seller, buyer, number and dates, lines, tax per rate, totals.
    The same document always renders to the same bytes (its creation date is the issue time)."""
    with warnings.catch_warnings():  # "Pillow could not be imported": only images need it
        warnings.simplefilter("ignore")
        from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_compression(compress)
    pdf.set_creation_date(doc.issued_at)
    pdf.set_title(f"{TITLE[doc.kind]} {doc.number}")
    pdf.set_author(doc.seller.name if font_path else _latin(doc.seller.name))
    pdf.set_margins(10, 12, 10)
    pdf.set_auto_page_break(auto=True, margin=15)
    text: Callable[[str], str] = _latin
    family = "Helvetica"
    if font_path:
        pdf.add_font("Body", "", font_path)
        family, text = "Body", str
    else:
        pdf.core_fonts_encoding = "windows-1252"
    pdf.add_page()

    def line(value: str, width: float = 0, align: str = "L", *, size: float = 9, end: bool = True) -> None:
        pdf.set_font(family, size=size)
        pdf.cell(width, LINE_MM, text(value), align=align, new_x="LMARGIN" if end else "RIGHT",
                 new_y="NEXT" if end else "TOP")

    def rule() -> None:
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())

    seller = doc.seller
    line(seller.name, size=11)
    for part in _address(seller.address):
        line(part)
    if seller.vat_id:
        line(f"VAT ID {seller.vat_id}")
    pdf.ln(6)
    line(f"{TITLE[doc.kind]} {doc.number}", size=16)
    line(f"Date of issue: {doc.issued_at.date().isoformat()}")
    line(f"Order: {doc.order_id}")
    line(f"{'Shipment' if doc.kind is DocumentKind.INVOICE else 'Refund'}: {doc.covers}")
    if doc.corrects:
        line(f"Corrects invoice {doc.corrects}")
    basis = "including" if doc.price_basis == "INCLUSIVE" else "excluding"
    line(f"Prices {basis} tax, amounts in {doc.currency}")
    pdf.ln(4)
    line("Bill to:", size=9)
    for part in (doc.buyer.name, *_address(doc.buyer.address)):
        line(part)
    pdf.ln(6)

    for title, width, align in COLUMNS:
        line(title, width, align, end=False)
    pdf.ln(LINE_MM)
    rule()
    money = _money(doc.currency)
    for ln in doc.lines:
        cells = (ln.description, str(ln.quantity), money(ln.unit_price), money(ln.discount), money(ln.net),
                 _percent(ln.tax_rate), money(ln.tax), money(ln.gross))
        for value, (_, width, align) in zip(cells, COLUMNS, strict=True):
            line(value, width, align, end=False)
        pdf.ln(LINE_MM)
    rule()
    pdf.ln(4)

    line("Tax", size=10)
    for rate in doc.taxes:
        line(f"{_percent(rate.rate)} on {money(rate.net)}: {money(rate.tax)} (gross {money(rate.gross)})")
    pdf.ln(3)
    for label, amount in (("Net total", doc.net), ("Tax total", doc.tax), ("Total", doc.gross)):
        line(label, 150, "R", size=10, end=False)
        line(f"{money(amount)} {doc.currency}", 40, "R", size=10)
    return bytes(pdf.output())


def _address(address: Address) -> list[str]:
    city = " ".join(p for p in (address.postal_code, address.city) if p)
    return [p for p in (address.name, address.line1, address.line2, city, address.region, address.country) if p]


def _money(currency: str) -> Callable[[Decimal], str]:
    places = minor_unit(currency)
    return lambda amount: format(amount, f",.{places}f")


def _percent(rate: Decimal) -> str:
    return f"{format((rate * 100).normalize(), 'f')}%"


# Letters with a stroke have no decomposition to drop an accent from.
_STROKED = str.maketrans("ŁłĐđĦħŦŧƗɨ", "LlDdHhTtIi")


def _latin(value: str) -> str:
    """What the core font can print: windows-1252, accents dropped where a letter has none there."""
    out = []
    for ch in value.translate(_STROKED):
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and base.isascii() else "?")
    return "".join(out)
