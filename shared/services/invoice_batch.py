"""A settle-payments batch's invoices numbered as a block (issue 15, cost per order).

Every invoice takes the next number of its series, one counter item. With the event relay's
window, shipments reach settle-payments in bursts, and two batches numbering their invoices one by
one kept colliding on that item (1.47 transactions an order instead of one). Here a batch's
shipments are invoiced together: one read of the counter (with the orders), then one transaction of the counter moved
by the block, every invoice and its order's document count and its DocumentIssued. Numbers stay
gapless: they are taken in the very transaction that writes their invoices, all or none (a refusal
writes nothing; a stale counter is read again and the whole block renumbered).

The batch's orders and their documents, and the series' last number, are read in one request
(InvoiceRepository.batch_picture: an order with documents from earlier shipments is read by its own
Query), not a Query per order and a GetItem of the counter.

Whatever this does not invoice (a handover already invoiced is only found again; an order's second
handover in the batch, a refused block, a shipment whose lines cannot be invoiced) is left to the
record's own settlement, which issues its invoice one at a time as before: this is a saving, never
the only path. A redelivered shipment is never invoiced twice: its invoice is found in the order's
documents, and a concurrent issuer's is refused by the document's condition (AlreadyExists).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.invoices import DocumentKind, DocumentSeries, InvoiceDocument, document
from shared.domain.orders import Order
from shared.errors import InvalidInput
from shared.repositories import Repositories
from shared.services.invoicing import InvoicingSettings, document_issued, shipment_lines
from shared.unit_of_work import Contention, Refused, StaleVersion

ATTEMPTS = 5
# Each invoice is 3 writes (its item, its order's count, its DocumentIssued), the counter one: a
# transaction holds at most 100 writes.
BLOCK = 33


@dataclass(frozen=True)
class Handover:
    """A shipment (or collected pickup) to invoice: what it handed over, SKU -> units."""

    order_id: str
    handover_id: str
    handed: Mapping[str, int]


@dataclass(frozen=True)
class Invoiced:
    """The order as read and its documents, the handover's invoice among them: what the record's
    settlement would read first (it then finds its invoice issued and reads nothing more)."""

    order: Order
    documents: list[InvoiceDocument]


def invoice_handovers(handovers: Sequence[Handover], repos: Repositories, now: datetime,
                      settings: InvoicingSettings) -> dict[tuple[str, str], Invoiced]:
    """Invoice the handovers as blocks of one series; keyed by (order id, handover id), those
    invoiced now or found invoiced already. The rest are the caller's to settle one by one."""
    done: dict[tuple[str, str], Invoiced] = {}
    pending: list[tuple[Handover, Order, list[InvoiceDocument]]] = []
    # One document per order in a transaction: an order's second handover goes alone.
    firsts: dict[str, Handover] = {}
    for h in handovers:
        firsts.setdefault(h.order_id, h)
    series = DocumentSeries.of(settings.seller.entity_id, DocumentKind.INVOICE, now)
    # One request: the orders, their documents and the series' last number.
    picture = repos.invoices.batch_picture(((h.order_id, h.handover_id) for h in firsts.values()), series)
    read, last = picture.orders, picture.last_number
    for h in firsts.values():
        order, documents = read[h.order_id]
        if order is None:
            continue
        if any(d.kind is DocumentKind.INVOICE and d.covers == h.handover_id for d in documents):
            done[(h.order_id, h.handover_id)] = Invoiced(order, documents)  # a redelivery: issued already
            continue
        pending.append((h, order, documents))
    for start in range(0, len(pending), BLOCK):
        issued, last = _issue_block(pending[start:start + BLOCK], repos, now, settings, series, last)
        done.update(issued)
    return done


def _issue_block(block: list[tuple[Handover, Order, list[InvoiceDocument]]], repos: Repositories, now: datetime,
                 settings: InvoicingSettings, series: DocumentSeries, last: int | None
                 ) -> tuple[dict[tuple[str, str], Invoiced], int | None]:
    """The block's invoices, and the series' last number after them (None: unknown, read it).
    `last`: as read with the batch (None: read it here); stale, the counter's condition refuses it."""
    drafts = []
    for h, order, documents in block:
        try:
            drafts.append((h, order, documents, shipment_lines(order, h.handed, documents, now, settings)))
        except InvalidInput:
            continue  # the record's own settlement says why
    for attempt in range(ATTEMPTS):
        if not drafts:
            return {}, last
        if last is None:
            last = repos.invoices.last_number(series)
        invoices = [document(DocumentKind.INVOICE, last + n, now, order, h.handover_id, settings.seller,
                             settings.taxes.basis_for(order.channel), lines)
                    for n, (h, order, _, lines) in enumerate(drafts, start=1)]
        try:
            repos.commit(repos.invoices.issue_block(invoices, last, [len(docs) for _, _, docs, _ in drafts]),
                         repos.events.publish_all([document_issued(d, order) for d, (_, order, _, _)
                                                   in zip(invoices, drafts, strict=True)]))
        except Refused as refused:
            if not all(isinstance(o, StaleVersion) and o.entity == "document_series" for o in refused.outcomes):
                return {}, None  # an order's documents moved (a concurrent delivery): each record issues its own
        except Contention:
            pass
        else:
            return {(h.order_id, h.handover_id): Invoiced(order, [*docs, d])
                    for d, (h, order, docs, _) in zip(invoices, drafts, strict=True)}, last + len(invoices)
        last = None
        time.sleep(random.uniform(0, 0.002 * 2 ** attempt))  # another batch took the numbers: read again
    return {}, None
