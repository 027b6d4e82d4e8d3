"""Purchasing: suppliers, purchase orders (by hand or from the suggestions) and receiving them.

Receiving is one transaction, tried again on a fresh read when anything in it moved meanwhile:
the receipt claimed under the caller's receipt id (attribute_not_exists), the order saved under the
version read, on hand raised at the order's location (each level under the version read, with its
StockChanged, which releases waiting backorders), the units off order, and PurchaseOrderReceived.
A receipt id seen before answers what it did, and moves nothing; with another body it is a 409.

Cancelling is one transaction as well: the order saved CANCELLED under the version read, its open
units off order, PurchaseOrderCancelled. A receipt and a cancellation racing are serialised by that
version: whichever commits second reads again and finds the order received (409: close it instead)
or cancelled (a receipt is refused), so the on-order counters move once, by the winner's units.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.adapters.purchasing_repo import OrderWithReceipts
from shared.domain.principal import Principal
from shared.domain.purchasing import (
    MAX_PO_LINES,
    CancelRequest,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderRequest,
    PurchaseOrderStatus,
    Receipt,
    ReceiptRequest,
    Supplier,
    SupplierRequest,
    cancel,
    receive,
)
from shared.errors import AccessDenied, Busy, Conflict, InvalidInput, NotFound
from shared.repositories import Repositories
from shared.services.inventory import restock_writes
from shared.unit_of_work import AlreadyApplied, AlreadyExists, CommitFailed, Refused

ATTEMPTS = 6


def _retried[T](attempt: Callable[[], T], what: str) -> T:
    """Read, decide and commit again while the commit is refused because something read moved meanwhile."""
    for _ in range(ATTEMPTS):
        try:
            return attempt()
        except CommitFailed:
            continue  # another write came first: decide again on what it left
    raise Busy(f"{what} is changing too fast; retry")


def _operator(principal: Principal) -> Principal:
    if not principal.is_operator:
        raise AccessDenied("only an operator manages suppliers and purchase orders")
    return principal


# --------------------------------------------------------------------- suppliers

@dataclass(frozen=True)
class SupplierWritten:
    supplier: Supplier
    created: bool


def put_supplier(supplier_id: str, body: SupplierRequest, principal: Principal, repos: Repositories,
                 now: datetime) -> SupplierWritten:
    """Create or change a supplier (a body equal to the current one writes nothing)."""
    # Each write imports the events it publishes: the reads of purchasing-api load no event model (cold start).
    from shared.domain.purchasing_events import SupplierChanged

    _operator(principal)

    def attempt() -> SupplierWritten:
        current = repos.purchasing.supplier(supplier_id)
        if current is not None and current.model_dump(include=set(SupplierRequest.model_fields)) == body.model_dump():
            return SupplierWritten(current, False)
        supplier = Supplier(supplier_id=supplier_id, version=(current.version + 1) if current else 1, updated_at=now,
                            updated_by=principal.name, **body.model_dump())
        event = SupplierChanged(occurred_at=now, supplier_id=supplier_id, created=current is None, active=body.active,
                                lead_time_days=body.lead_time_days, skus=body.skus,
                                min_order_quantity=body.min_order_quantity, order_multiple=body.order_multiple,
                                service_level=body.service_level)
        repos.commit(repos.purchasing.put_supplier(supplier, current.version if current else None),
                     repos.events.publish(event))
        return SupplierWritten(supplier, current is None)

    return _retried(attempt, f"supplier {supplier_id}")


def get_supplier(supplier_id: str, principal: Principal, repos: Repositories) -> Supplier:
    _operator(principal)
    found = repos.purchasing.supplier(supplier_id)
    if found is None:
        raise NotFound(f"no supplier {supplier_id}", field="supplier_id")
    return found


def list_suppliers(principal: Principal, repos: Repositories) -> list[Supplier]:
    """Every supplier, by id (one query: a merchant has tens)."""
    _operator(principal)
    return sorted(repos.purchasing.suppliers(), key=lambda s: s.supplier_id)


# --------------------------------------------------------------------- purchase orders

@dataclass(frozen=True)
class OrderWritten:
    order: PurchaseOrder
    created: bool


def create_purchase_order(body: PurchaseOrderRequest, principal: Principal, repos: Repositories,
                          now: datetime) -> OrderWritten:
    """Place an order with a supplier: once per `purchase_order_id` (see PurchaseOrderRequest)."""
    from shared.domain.events import LineQuantity  # as in put_supplier
    from shared.domain.purchasing_events import PurchaseOrderCreated

    _operator(principal)
    fingerprint = body.model_dump_json()
    if body.purchase_order_id is not None:
        known = repos.purchasing.order(body.purchase_order_id)
        if known is not None:
            return _same(known.order, fingerprint)
    supplier = repos.purchasing.supplier(body.supplier_id)
    if supplier is None or not supplier.active:
        raise InvalidInput(f"no active supplier {body.supplier_id}: PUT /suppliers/{body.supplier_id} first",
                           field="supplier_id")
    if repos.locations.get(body.location_id) is None:
        raise InvalidInput(f"location {body.location_id} does not exist", field="location_id")
    lines = _lines(body, supplier, repos)
    order = PurchaseOrder(
        purchase_order_id=body.purchase_order_id or f"PO-{now:%Y%m%d}-{uuid.uuid4().hex[:10].upper()}",
        supplier_id=supplier.supplier_id, location_id=body.location_id, lines=lines,
        source="suggestion" if body.from_suggestions else "manual",
        expected_at=now + timedelta(days=supplier.lead_time_days), note=body.note, created_at=now,
        created_by=principal.name, updated_at=now, fingerprint=fingerprint)
    event = PurchaseOrderCreated(occurred_at=now, purchase_order_id=order.purchase_order_id,
                                 supplier_id=order.supplier_id, location_id=order.location_id,
                                 lines=[LineQuantity(sku=ln.sku, quantity=ln.quantity) for ln in lines],
                                 source=order.source, expected_at=order.expected_at.isoformat(),
                                 created_by=principal.name)
    try:
        repos.commit(repos.purchasing.create(order),
                     repos.replenishment.add_on_order(order.location_id, {ln.sku: ln.quantity for ln in lines}),
                     repos.events.publish(event))
    except Refused as refused:
        taken = refused.find(AlreadyExists)
        if taken is None or taken.existing is None:
            raise
        return _same(taken.existing, fingerprint)  # the same id, created a moment ago
    return OrderWritten(order, True)


def _same(existing: PurchaseOrder, fingerprint: str) -> OrderWritten:
    if existing.fingerprint != fingerprint:
        raise Conflict(f"purchase_order_id {existing.purchase_order_id} was already used for another order",
                       field="purchase_order_id")
    return OrderWritten(existing, False)


def _lines(body: PurchaseOrderRequest, supplier: Supplier, repos: Repositories) -> list[PurchaseOrderLine]:
    if body.from_suggestions:
        from shared.services.replenishment import to_order

        wanted = to_order(body.location_id, supplier, repos, MAX_PO_LINES)
        if not wanted:
            raise InvalidInput(f"nothing to order from {supplier.supplier_id} for {body.location_id} now "
                               "(GET /replenishment/suggestions says why)", field="from_suggestions")
        return [PurchaseOrderLine(sku=s.sku, quantity=s.quantity) for s in wanted]
    lines = []
    for n, line in enumerate(body.lines or []):
        if supplier.supplies(line.sku) is None:
            raise InvalidInput(f"{supplier.supplier_id} does not supply {line.sku} (its skus)", field=f"lines.{n}.sku")
        if line.quantity < supplier.min_order_quantity or line.quantity % supplier.order_multiple:
            raise InvalidInput(f"{supplier.supplier_id} takes at least {supplier.min_order_quantity} units, in "
                               f"multiples of {supplier.order_multiple}", field=f"lines.{n}.quantity")
        lines.append(PurchaseOrderLine(sku=line.sku, quantity=line.quantity))
    return lines


def get_purchase_order(purchase_order_id: str, principal: Principal, repos: Repositories) -> OrderWithReceipts:
    _operator(principal)
    found = repos.purchasing.order(purchase_order_id)
    if found is None:
        raise NotFound(f"no purchase order {purchase_order_id}", field="purchase_order_id")
    return found


def list_purchase_orders(status: PurchaseOrderStatus | None, supplier_id: str | None, limit: int, cursor: str | None,
                         principal: Principal, repos: Repositories) -> tuple[list[PurchaseOrder], str | None]:
    _operator(principal)
    return repos.purchasing.orders(status, supplier_id, limit, cursor)


@dataclass(frozen=True)
class Cancelled:
    order: PurchaseOrder
    duplicate: bool


def cancel_purchase_order(purchase_order_id: str, body: CancelRequest, principal: Principal, repos: Repositories,
                          now: datetime) -> Cancelled:
    """Cancel an order nothing was received against (shared/domain/purchasing.py, rule 5); again: as it is."""
    from shared.domain.events import LineQuantity  # as in put_supplier
    from shared.domain.purchasing_events import PurchaseOrderCancelled

    _operator(principal)

    def attempt() -> Cancelled:  # a receipt (or another cancel) committing first: decide on what it left
        before = get_purchase_order(purchase_order_id, principal, repos).order
        after, off_order = cancel(before, body.reason, principal.name, now)
        if after is before:
            return Cancelled(before, True)
        event = PurchaseOrderCancelled(occurred_at=now, purchase_order_id=purchase_order_id,
                                       supplier_id=after.supplier_id, location_id=after.location_id,
                                       lines=[LineQuantity(sku=k, quantity=q) for k, q in sorted(off_order.items())],
                                       reason=body.reason, cancelled_by=principal.name)
        repos.commit(repos.purchasing.save(after, before.version),
                     repos.replenishment.add_on_order(after.location_id, {k: -q for k, q in off_order.items()}),
                     repos.events.publish(event))
        return Cancelled(after, False)

    return _retried(attempt, f"purchase order {purchase_order_id}")


# --------------------------------------------------------------------- receiving

@dataclass(frozen=True)
class Received:
    order: PurchaseOrder
    receipt: Receipt
    duplicate: bool


def receive_purchase_order(purchase_order_id: str, body: ReceiptRequest, principal: Principal, repos: Repositories,
                           now: datetime) -> Received:
    """Receive goods once per receipt id (the module docstring)."""
    from shared.domain.purchasing_events import PurchaseOrderReceived, ReceivedUnits  # as in put_supplier

    _operator(principal)
    fingerprint = body.model_dump_json()

    def attempt() -> Received:  # the order or a stock level moving meanwhile: read them again
        found = get_purchase_order(purchase_order_id, principal, repos)
        seen = found.receipt(body.receipt_id)
        if seen is not None:
            return _repeat(found.order, seen, fingerprint)
        before = found.order
        receiving = receive(before, body, fingerprint, principal.name, now)
        after, receipt = receiving.order, receiving.receipt
        event = PurchaseOrderReceived(
            occurred_at=now, purchase_order_id=purchase_order_id, supplier_id=after.supplier_id,
            location_id=after.location_id, receipt_id=body.receipt_id, status=after.status.value,
            lines=[ReceivedUnits(sku=r.sku, quantity=r.quantity, ordered=_line(after, r.sku).quantity,
                                 received=_line(after, r.sku).received, over_received=r.over_received)
                   for r in receipt.lines],
            over_received=any(r.over_received for r in receipt.lines), final=body.final, received_by=principal.name)
        try:
            repos.commit(repos.purchasing.claim_receipt(receipt), repos.purchasing.save(after, before.version),
                         restock_writes(receiving.on_hand, after.location_id, f"purchase_order:{purchase_order_id}",
                                        principal.name, repos, now),
                         repos.replenishment.add_on_order(after.location_id,
                                                          {sku: -q for sku, q in receiving.off_order.items()}),
                         repos.events.publish(event))
            return Received(after, receipt, False)
        except Refused as refused:
            claimed = refused.find(AlreadyApplied)  # the receipt as stored, returned with the refusal
            if claimed is not None and claimed.record is not None:
                return _repeat(get_purchase_order(purchase_order_id, principal, repos).order, claimed.record,
                               fingerprint)
            raise

    return _retried(attempt, f"purchase order {purchase_order_id}")


def _line(order: PurchaseOrder, sku: str) -> PurchaseOrderLine:
    line = order.line(sku)
    assert line is not None, sku  # receive() refused SKUs that are not on the order
    return line


def _repeat(order: PurchaseOrder, seen: Receipt, fingerprint: str) -> Received:
    if seen.fingerprint != fingerprint:
        raise Conflict(f"receipt_id {seen.receipt_id} was already used for another receipt of this order",
                       field="receipt_id")
    return Received(order, seen, True)

