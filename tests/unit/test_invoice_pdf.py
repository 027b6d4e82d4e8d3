"""The invoice PDF (shared/documents/invoice_pdf.py): a PDF whose text carries the number, the lines,
the tax per rate and the totals. Text is read from the uncompressed content streams (no PDF reader
is a dependency): fpdf2 writes each cell as one `(text) Tj` string in windows-1252."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from shared.documents.invoice_pdf import render_pdf
from shared.domain.invoices import DocumentKind, document
from shared.domain.tax import PriceBasis
from tests.unit.test_invoices import SELLER, credit, credit_item_lines, invoice, make_order

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
_STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
_NAMED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def pdf_text(pdf: bytes) -> list[str]:
    """Every text string shown, in order (literal strings of Tj operators, unescaped)."""
    def unescape(m: re.Match[bytes]) -> bytes:
        code = m.group(1)
        return bytes([int(code, 8)]) if code[:1].isdigit() else _NAMED.get(code, code)

    return [_ESCAPE.sub(unescape, raw).decode("cp1252") for raw in _STRING.findall(pdf)]


@pytest.fixture
def order():
    return make_order([("TSHIRT-BLK-M", 2, "19.99"), ("MUG-RED", 1, "8.50")], shipping="4.90", discount="5.00")


def test_an_invoice_renders_its_number_lines_taxes_and_totals(order):
    order.request.customer.name = "Ana Test (c/o Müller)"
    doc = invoice(order, {"TSHIRT-BLK-M": 2, "MUG-RED": 1}, [])
    pdf = render_pdf(doc, compress=False)

    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    joined = "\n".join(text)
    assert "Invoice INV-2026-000001" in text
    assert "Date of issue: 2026-11-25" in text
    assert f"Order: {order.order_id}" in text and "Shipment: s1" in text
    assert {"ACME GmbH", "VAT ID DE123456789", "Hauptstr. 1", "10115 Berlin"} <= set(text)
    for line in doc.lines:
        assert line.description in text
        assert {f"{line.gross:,.2f}", f"{line.net:,.2f}", f"{line.tax:,.2f}", str(line.quantity)} <= set(text)
    assert "Ana Test (c/o Müller)" in text  # parentheses escaped in the PDF string, read back as written
    assert f"19% on {doc.net:,.2f}: {doc.tax:,.2f} (gross {doc.gross:,.2f})" in text
    assert f"{doc.gross:,.2f} EUR" in text and str(doc.gross) == "48.38"
    assert "Prices including tax, amounts in EUR" in joined


def test_a_credit_note_names_the_invoice_it_corrects(order):
    inv = invoice(order, {"TSHIRT-BLK-M": 2}, [])
    note = credit(order, inv, credit_item_lines(inv, {"TSHIRT-BLK-M": 1}, []))
    text = pdf_text(render_pdf(note, compress=False))
    assert "Credit note CRN-2026-000001" in text
    assert "Corrects invoice INV-2026-000001" in text and "Refund: r1" in text
    assert f"{note.gross:,.2f} EUR" in text


def test_amounts_print_with_the_currency_s_decimals():
    yen = make_order([("SKU-1", 3, "1200")], currency="JPY")
    doc = document(DocumentKind.INVOICE, 1, yen.created_at, yen, "s1", SELLER, PriceBasis.EXCLUSIVE,
                   invoice(yen, {"SKU-1": 3}, [], basis=PriceBasis.EXCLUSIVE, rate=Decimal("0.10")).lines)
    text = pdf_text(render_pdf(doc, compress=False))
    assert {"3,600 JPY", "360 JPY", "3,960 JPY", "10%"} <= set(text)
    assert "Prices excluding tax, amounts in JPY" in text


def test_names_outside_the_core_font_print_without_their_accents(order):
    order.request.customer.name = "Łukasz Żółć – 東京"
    text = pdf_text(render_pdf(invoice(order, {"TSHIRT-BLK-M": 1}, []), compress=False))
    assert "Lukasz Zólc – ??" in text


def test_compressed_by_default_and_the_same_bytes_each_time(order):
    doc = invoice(order, {"TSHIRT-BLK-M": 2}, [])
    pdf = render_pdf(doc)
    assert pdf.startswith(b"%PDF-") and b"/FlateDecode" in pdf
    assert "Invoice INV-2026-000001" not in pdf_text(pdf)
    assert render_pdf(doc) == pdf


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=120).stdout


def test_importing_the_module_loads_no_pdf_library():
    out = _python("import sys, shared.documents.invoice_pdf; print('fpdf' in sys.modules, 'fontTools' in sys.modules)")
    assert out.split() == ["False", "False"]


def test_it_renders_without_pillow_as_the_layer_ships_it():
    # The layer carries fpdf2, fontTools and defusedxml, no Pillow (a native wheel): block its import.
    out = _python("import sys; sys.modules['PIL'] = None\n"
                  "from tests.unit.test_invoices import invoice, make_order\n"
                  "from shared.documents.invoice_pdf import render_pdf\n"
                  "o = make_order([('SKU-1', 1, '10.00')])\n"
                  "print(render_pdf(invoice(o, {'SKU-1': 1}, []))[:5].decode(), 'PIL.Image' in sys.modules)")
    assert out.split() == ["%PDF-", "False"]


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.skipif(not DEJAVU.exists(), reason="no DejaVu Sans on this machine (Debian: fonts-dejavu-core)")
def test_a_unicode_font_prints_any_name(order):
    order.request.customer.name = "Łukasz Żółć – 東京"
    pdf = render_pdf(invoice(order, {"TSHIRT-BLK-M": 1}, []), compress=False, font_path=str(DEJAVU))
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf and b"DejaVuSans" in pdf
