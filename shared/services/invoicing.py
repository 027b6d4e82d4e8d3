"""Invoicing: an invoice when a shipment leaves, a credit note when money is refunded.

Both are idempotent per what they cover (the shipment id, the refund id): a redelivered message
answers the document issued the first time, with its number. Numbers are gapless per selling
entity, kind and year (shared/adapters/invoices_repo.py): each attempt reads the order's documents
and the series' last number, builds the document with the next number and commits it in one
transaction; when another issuer took that number first (or added a document to the same order),
nothing was written and the next attempt starts from a fresh read. After `ATTEMPTS` the caller
hears `Busy` and may retry the same request (a queue consumer: let the message be redelivered).

The buyer's name and address go into the document only: nothing here logs a document or puts one
into an event: DocumentIssued, in the document's transaction, carries its number and totals.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from shared.domain.events import DocumentIssued
from shared.domain.invoices import (
    DocumentKind,
    DocumentSeries,
    InvoiceDocument,
    InvoiceLine,
    Seller,
    check_not_over_credited,
    credit_amount_lines,
    credit_item_lines,
    document,
    invoice_lines,
)
from shared.domain.money import ZERO
from shared.domain.orders import Order
from shared.domain.tax import PriceBasis, TaxTable
from shared.errors import Busy, InvalidInput, NotFound
from shared.repositories import Repositories
from shared.unit_of_work import AlreadyExists, Contention, Refused, StaleVersion

# Each refused attempt means another document was issued meanwhile; the pause between attempts is
# random (up to 2 ms, doubling to 64 ms) so that issuers who collided do not collide again.
ATTEMPTS = 10


@dataclass(frozen=True)
class InvoicingSettings:
    """Who sells (the selling entity on every new invoice) and how it taxes."""

    seller: Seller
    taxes: TaxTable

    @classmethod
    def from_json(cls, seller: str, tax_rates: str) -> InvoicingSettings:
        """From the configuration's JSON: the seller (`Seller`: entity_id, name, address, vat_id)
        and the tax rates (`TaxTable.from_json`, configuration OMS_TAX_RATES)."""
        return cls(Seller.model_validate_json(seller), TaxTable.from_json(tax_rates))


@dataclass(frozen=True)
class _Draft:
    seller: Seller
    basis: PriceBasis
    lines: list[InvoiceLine]
    corrects: str | None = None


def issue_invoice(order: Order, shipment_id: str, shipped: Mapping[str, int], repos: Repositories, now: datetime,
                  settings: InvoicingSettings, earlier: list[InvoiceDocument] | None = None) -> InvoiceDocument:
    """The invoice for what `shipment_id` shipped (SKU -> units), taxed at the rate of the
    shipping country on the day of issue (UTC). `earlier`: the order's documents, read with it."""
    def draft(earlier: Sequence[InvoiceDocument]) -> _Draft:
        return _Draft(settings.seller, settings.taxes.basis_for(order.channel),
                      shipment_lines(order, shipped, earlier, now, settings))

    return _issue(DocumentKind.INVOICE, order, shipment_id, draft, repos, now, earlier)


def shipment_lines(order: Order, shipped: Mapping[str, int], earlier: Sequence[InvoiceDocument], now: datetime,
                   settings: InvoicingSettings) -> list[InvoiceLine]:
    """An invoice's lines for what a shipment shipped, at the shipping country's rate on the day of issue."""
    basis = settings.taxes.basis_for(order.channel)
    rate = settings.taxes.rate_for(order.request.shipping_address.country, now.astimezone(UTC).date())
    return invoice_lines(order, shipped, earlier, basis, rate)


def document_issued(new: InvoiceDocument, order: Order) -> DocumentIssued:
    """The event announcing `new`, written in the document's transaction (a PDF is rendered for it)."""
    return DocumentIssued(
        occurred_at=new.issued_at, kind=new.kind.value, number=new.number, order_id=order.order_id,
        channel=order.channel, covers=new.covers, corrects=new.corrects, currency=new.currency, net=str(new.net),
        tax=str(new.tax), gross=str(new.gross))


def issue_credit_note(order: Order, refund_id: str, repos: Repositories, now: datetime, *,
                      items: Mapping[str, int] | None = None, amount: Decimal | None = None,
                      invoice_number: str | None = None) -> InvoiceDocument:
    """The credit note for refund `refund_id`: either units of invoiced items taken back (SKU ->
    units, at the amounts they were invoiced for) or a sum of money (gross, as refunded). It
    corrects `invoice_number`, or else the newest invoice of the order that has that much left to
    credit; it is issued by that invoice's seller, in the seller's credit note series."""
    if (items is None) == (amount is None):
        raise InvalidInput("a credit note takes back either items or an amount", field="lines")

    def draft(earlier: Sequence[InvoiceDocument]) -> _Draft:
        invoices = [d for d in reversed(earlier) if d.kind is DocumentKind.INVOICE]
        if invoice_number is not None:
            invoices = [d for d in invoices if d.number == invoice_number]
            if not invoices:
                raise NotFound(f"order {order.order_id} has no invoice {invoice_number}", field="invoice_number")
        if not invoices:
            raise InvalidInput(f"order {order.order_id} has no invoice to credit", field="invoice_number")
        refusal: InvalidInput | None = None
        for invoice in invoices:
            try:
                lines = (credit_item_lines(invoice, items, earlier) if items is not None
                         else credit_amount_lines(invoice, amount or Decimal(0), earlier))
                check_not_over_credited(invoice, lines, earlier)
                return _Draft(invoice.seller, invoice.price_basis, lines, corrects=invoice.number)
            except InvalidInput as e:
                refusal = refusal or e
        assert refusal is not None
        raise refusal

    return _issue(DocumentKind.CREDIT_NOTE, order, refund_id, draft, repos, now)


def credit_refunds(order: Order, repos: Repositories, now: datetime) -> None:
    """A credit note for each refund of invoiced money that has none yet (a refund made in the
    provider's dashboard after the goods shipped, or a return's). Decided from the stored state, so
    a redelivery after a crash between the payment's commit and the credit note still issues it;
    the credit note is idempotent per refund id."""
    from shared.domain.payments import MovementKind

    # Our own refunds for cancelled, never shipped goods (provider_ref cancel-/lines-, or the same behind
    # refund- when the provider's webhook recorded it with our idempotency key) correct no invoice.
    refunds = [m for m in order.pay.movements if m.kind == MovementKind.REFUND
               and not (m.provider_ref or m.key).removeprefix("refund-").startswith(("cancel-", "lines-"))]
    documents = repos.invoices.for_order(order.order_id) if refunds else []
    for refund in refunds:
        credit_refund(order, refund.key, refund.amount, repos, now, documents)


def credit_refund(order: Order, refund_key: str, amount: Decimal, repos: Repositories, now: datetime,
                  documents: list[InvoiceDocument] | None = None) -> None:
    """Credit notes for one refund of `amount` (gross). A refund larger than one invoice (the whole of
    an order shipped in two parcels) is credited on several, newest first: one credit note per
    invoice, `<refund key>#<n>` after the first. What this refund's notes already credit is
    counted, so a retry issues only the rest. `documents`: the order's, as just read (kept current)."""
    from shared.observability import logger

    documents = repos.invoices.for_order(order.order_id) if documents is None else documents
    if not any(d.kind is DocumentKind.INVOICE for d in documents):
        return  # nothing was invoiced: a refund before shipping corrects no document
    notes = [d for d in documents if d.kind is DocumentKind.CREDIT_NOTE and d.covers.split("#")[0] == refund_key]
    left, part = amount - sum((n.gross for n in notes), ZERO), len(notes) + 1
    for invoice in reversed([d for d in documents if d.kind is DocumentKind.INVOICE]):
        if left <= 0:
            break
        room = invoice.gross - sum((n.gross for n in documents
                                    if n.kind is DocumentKind.CREDIT_NOTE and n.corrects == invoice.number), ZERO)
        take = min(left, room)
        if take <= 0:
            continue
        covers = refund_key if part == 1 else f"{refund_key}#{part}"
        try:
            documents.append(issue_credit_note(order, covers, repos, now, amount=take, invoice_number=invoice.number))
        except InvalidInput as refused:
            logger.warning("refund not credited", extra={"order_id": order.order_id, "refund_id": refund_key,
                                                         "reason": refused.message})
            return
        left, part = left - take, part + 1
    if left > 0:  # refunded more than was invoiced (goods that never shipped): no document to correct
        logger.info("refund partly without an invoice to credit", extra={
            "order_id": order.order_id, "refund_id": refund_key, "uncredited": str(left)})


def invoices_for(order_id: str, repos: Repositories) -> list[InvoiceDocument]:
    """An order's invoices and credit notes, in the order they were issued."""
    return repos.invoices.for_order(order_id)


def _issue(kind: DocumentKind, order: Order, covers: str, draft: Callable[[Sequence[InvoiceDocument]], _Draft],
           repos: Repositories, now: datetime, read: list[InvoiceDocument] | None = None) -> InvoiceDocument:
    for attempt in range(ATTEMPTS):
        # The documents as read with the order on the first try; a retry reads them again.
        earlier = read if attempt == 0 and read is not None else repos.invoices.for_order(order.order_id)
        done = next((d for d in earlier if d.kind is kind and d.covers == covers), None)
        if done is not None:
            return done
        d = draft(earlier)
        last = repos.invoices.last_number(DocumentSeries.of(d.seller.entity_id, kind, now))
        new = document(kind, last + 1, now, order, covers, d.seller, d.basis, d.lines, d.corrects)
        try:
            # The event in the document's transaction: a PDF is rendered for every document issued.
            repos.commit(repos.invoices.issue(new, last, len(earlier)), repos.events.publish(document_issued(new, order)))
            return new
        except Refused as refused:
            taken = refused.find(AlreadyExists)
            if taken is not None and taken.existing is not None:
                return taken.existing  # issued by a concurrent delivery of the same request
            if not refused.only(StaleVersion, AlreadyExists):
                raise
        except Contention:
            pass
        time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 5)))
    raise Busy(f"the {kind.value.lower().replace('_', ' ')} series is too busy; retry")
