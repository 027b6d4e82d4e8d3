"""Suppliers, purchase orders and receiving (shared/services/purchasing.py) on the in-memory store:
idempotency by the caller's ids, the stock raised once per receipt under retries and concurrency
(each guard shown to matter by a test that takes it away), over-receipts flagged."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from shared.adapters.purchasing_repo import PurchasingRepository
from shared.adapters.stock_repo import StockRepository
from shared.domain.purchasing import PurchaseOrderRequest, PurchaseOrderStatus, ReceiptRequest, SupplierRequest
from shared.errors import AccessDenied, Conflict, InvalidInput
from shared.services.purchasing import create_purchase_order, put_supplier, receive_purchase_order
from tests.factories import NOW
from tests.service.flows import events
from tests.service.purchasing_fixture import OPERATOR, WEB, on_hand, on_order, overlapping, po, receipt, stock_and_acme


@pytest.fixture
def stocked(repos):
    return stock_and_acme(repos)


# --- suppliers ------------------------------------------------------------------------------------

def test_a_supplier_is_versioned_and_an_unchanged_body_writes_nothing(repos):
    body = SupplierRequest(name="Acme", lead_time_days=7, skus=["TEE-*"])
    first = put_supplier("ACME", body, OPERATOR, repos, NOW)
    again = put_supplier("ACME", body, OPERATOR, repos, NOW)
    changed = put_supplier("ACME", body.model_copy(update={"lead_time_days": 9}), OPERATOR, repos, NOW)
    assert (first.created, first.supplier.version, again.created, again.supplier.version) == (True, 1, False, 1)
    assert changed.supplier.version == 2 and repos.purchasing.supplier("ACME").lead_time_days == 9
    assert sorted(e["lead_time_days"] for e in events(repos, "SupplierChanged")) == [7, 9]


def _two_first_puts(repos) -> tuple:
    """Two first PUTs of one supplier overlapping: the first reads (nothing), the second runs whole,
    then the first commits."""
    return overlapping(
        repos,
        lambda: put_supplier("ACME", SupplierRequest(name="A", lead_time_days=7, skus=["TEE-*"]), OPERATOR, repos, NOW),
        lambda: put_supplier("ACME", SupplierRequest(name="B", lead_time_days=3, skus=["TEE-*"]), OPERATOR, repos, NOW))


def test_two_first_puts_of_a_supplier_create_it_once_and_the_later_is_version_2(repos):
    first, other = _two_first_puts(repos)
    assert (other.created, first.created, first.supplier.version) == (True, False, 2)
    assert repos.purchasing.supplier("ACME").name == "A"
    assert sorted(e["created"] for e in events(repos, "SupplierChanged")) == [False, True]


def test_without_the_version_guard_both_puts_claim_to_create_the_supplier(repos, monkeypatch):
    put = PurchasingRepository.put_supplier
    monkeypatch.setattr(PurchasingRepository, "put_supplier", lambda self, s, v: replace(put(self, s, v), when=None))
    first, other = _two_first_puts(repos)
    assert (other.created, first.created, first.supplier.version) == (True, True, 1)


def test_only_an_operator_purchases(stocked):
    with pytest.raises(AccessDenied):
        put_supplier("X", SupplierRequest(name="x", lead_time_days=1, skus=["A"]), WEB, stocked, NOW)
    with pytest.raises(AccessDenied):
        create_purchase_order(po({"TEE-1": 10}), WEB, stocked, NOW)


# --- purchase orders ------------------------------------------------------------------------------

def test_an_order_counts_as_on_order_once_per_purchase_order_id(stocked):
    first = create_purchase_order(po({"TEE-1": 20, "TEE-2": 10}), OPERATOR, stocked, NOW)
    again = create_purchase_order(po({"TEE-1": 20, "TEE-2": 10}), OPERATOR, stocked, NOW)
    assert first.created and not again.created and again.order == first.order
    assert (on_order(stocked), on_order(stocked, "TEE-2")) == (20, 10)
    assert first.order.expected_at == NOW + timedelta(days=7)
    [created] = events(stocked, "PurchaseOrderCreated")
    assert created["lines"] == [{"sku": "TEE-1", "quantity": 20}, {"sku": "TEE-2", "quantity": 10}]
    with pytest.raises(Conflict) as refused:
        create_purchase_order(po({"TEE-1": 25}), OPERATOR, stocked, NOW)
    assert refused.value.field == "purchase_order_id"


def _unseen(monkeypatch) -> None:
    """The read before creating misses the order: a retry that overlaps the first attempt's commit."""
    monkeypatch.setattr(PurchasingRepository, "order", lambda self, po_id: None)


def test_a_retry_that_misses_the_order_is_refused_by_its_id_and_counts_on_order_once(stocked, monkeypatch):
    first = create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    _unseen(monkeypatch)
    again = create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    assert not again.created and again.order == first.order and on_order(stocked) == 20
    with pytest.raises(Conflict):
        create_purchase_order(po({"TEE-1": 25}), OPERATOR, stocked, NOW)


def test_without_the_id_guard_that_retry_counts_on_order_twice(stocked, monkeypatch):
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    _unseen(monkeypatch)
    create = PurchasingRepository.create
    monkeypatch.setattr(PurchasingRepository, "create", lambda self, o: replace(create(self, o), when=None))
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    assert on_order(stocked) == 40


def test_an_order_without_an_id_is_numbered(stocked):
    a = create_purchase_order(po({"TEE-1": 10}, po_id=None), OPERATOR, stocked, NOW)
    b = create_purchase_order(po({"TEE-1": 10}, po_id=None), OPERATOR, stocked, NOW)
    assert a.order.purchase_order_id != b.order.purchase_order_id and on_order(stocked) == 20


@pytest.mark.parametrize(("request_", "field"), [
    (po({"TEE-1": 10}).model_copy(update={"supplier_id": "NOBODY"}), "supplier_id"),
    (po({"TEE-1": 10}).model_copy(update={"location_id": "NOWHERE"}), "location_id"),
    (po({"TEE-1": 10, "MUG-1": 10}), "lines.1.sku"),
    (po({"TEE-1": 5}), "lines.0.quantity"),  # below the minimum of 10
    (po({"TEE-1": 12}), "lines.0.quantity"),  # not a multiple of 5
    (PurchaseOrderRequest(supplier_id="ACME", location_id="BER", from_suggestions=True), "from_suggestions"),
])
def test_an_order_the_supplier_cannot_take_names_the_field(stocked, request_, field):
    with pytest.raises(InvalidInput) as refused:
        create_purchase_order(request_, OPERATOR, stocked, NOW)
    assert refused.value.field == field
    assert not events(stocked, "PurchaseOrderCreated")


# --- receiving --------------------------------------------------------------------------------------

def test_a_partial_receipt_raises_stock_and_takes_units_off_order(stocked):
    create_purchase_order(po({"TEE-1": 20, "TEE-2": 10}), OPERATOR, stocked, NOW)
    done = receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 8}), OPERATOR, stocked, NOW)
    assert done.order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED and not done.duplicate
    assert (on_hand(stocked), on_order(stocked), on_order(stocked, "TEE-2")) == (13, 12, 10)
    [changed] = [e for e in events(stocked, "StockChanged") if e["cause"] == "purchase_order:PO-1"]
    assert (changed["sku"], changed["on_hand"], changed["available_increased"]) == ("TEE-1", 13, True)
    [received] = events(stocked, "PurchaseOrderReceived")
    assert received["lines"] == [{"sku": "TEE-1", "quantity": 8, "ordered": 20, "received": 8, "over_received": 0}]
    assert received["status"] == "PARTIALLY_RECEIVED" and not received["over_received"]


def test_the_same_receipt_again_moves_nothing_and_answers_the_same(stocked):
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    first = receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 8}), OPERATOR, stocked, NOW)
    again = receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 8}), OPERATOR, stocked, NOW)
    assert again.duplicate and again.receipt == first.receipt and on_hand(stocked) == 13
    assert len(events(stocked, "PurchaseOrderReceived")) == 1
    with pytest.raises(Conflict) as refused:
        receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 9}), OPERATOR, stocked, NOW)
    assert refused.value.field == "receipt_id"


def test_an_over_receipt_is_accepted_and_flagged(stocked):
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    done = receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 23}), OPERATOR, stocked, NOW)
    assert done.order.status == PurchaseOrderStatus.RECEIVED and done.order.over_received
    assert (on_hand(stocked), on_order(stocked)) == (28, 0)
    assert events(stocked, "PurchaseOrderReceived")[0]["lines"][0]["over_received"] == 3


def test_a_final_receipt_closes_the_order_and_nothing_stays_on_order(stocked):
    create_purchase_order(po({"TEE-1": 20, "TEE-2": 10}), OPERATOR, stocked, NOW)
    done = receive_purchase_order("PO-1", receipt("R-1", final=True, **{"TEE-1": 15}), OPERATOR, stocked, NOW)
    assert done.order.status == PurchaseOrderStatus.CLOSED
    assert (on_hand(stocked), on_order(stocked), on_order(stocked, "TEE-2")) == (20, 0, 0)
    with pytest.raises(Conflict):
        receive_purchase_order("PO-1", receipt("R-2", **{"TEE-1": 5}), OPERATOR, stocked, NOW)


# --- retries and concurrency ---------------------------------------------------------------------

def _racing(repos, first: ReceiptRequest, second: ReceiptRequest) -> None:
    """`first` reads the order, then `second` runs whole (read, commit) before `first` commits: what
    two requests (a client's retry after a timeout, two clerks) do when they overlap."""
    overlapping(repos, lambda: receive_purchase_order("PO-1", first, OPERATOR, repos, NOW),
                lambda: receive_purchase_order("PO-1", second, OPERATOR, repos, NOW))


def _without(monkeypatch, *guards: str) -> None:
    """Take guards away: `receipt` (the receipt id's attribute_not_exists), `version` (the order's
    version), `level` (each stock level's version)."""
    if "receipt" in guards:
        claim = PurchasingRepository.claim_receipt
        monkeypatch.setattr(PurchasingRepository, "claim_receipt", lambda self, r: replace(claim(self, r), when=None))
    if "version" in guards:
        save = PurchasingRepository.save
        monkeypatch.setattr(PurchasingRepository, "save", lambda self, o, v: replace(save(self, o, v), when=None))
    if "level" in guards:
        write = StockRepository.write_level
        monkeypatch.setattr(StockRepository, "write_level", lambda self, lv, v: replace(write(self, lv, v), when=None))


@pytest.mark.parametrize("removed", [(), ("receipt",), ("version",), ("level",), ("receipt", "version"),
                                     ("receipt", "level"), ("version", "level")])
def test_a_receipt_racing_its_own_retry_raises_stock_once(stocked, monkeypatch, removed):
    """Three guards stop a retry that overlaps the first attempt, each enough alone: the receipt id
    claimed with attribute_not_exists, the order saved under the version read, the stock level written
    under the version read. With any two taken away the stock still rises once."""
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    _without(monkeypatch, *removed)
    _racing(stocked, receipt("R-1", **{"TEE-1": 8}), receipt("R-1", **{"TEE-1": 8}))
    assert (on_hand(stocked), on_order(stocked)) == (13, 12)
    assert len(events(stocked, "PurchaseOrderReceived")) == 1


def test_without_every_guard_an_overlapping_retry_is_applied_twice(stocked, monkeypatch):
    """The scenario above does exercise the guards: take all three away and the retry is applied again
    (announced twice, taken off order twice; on hand is rewritten from the same stale read)."""
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    _without(monkeypatch, "receipt", "version", "level")
    _racing(stocked, receipt("R-1", **{"TEE-1": 8}), receipt("R-1", **{"TEE-1": 8}))
    assert len(events(stocked, "PurchaseOrderReceived")) == 2 and on_order(stocked) == 4


def _blind(monkeypatch) -> None:
    """The order's read misses its receipts: a retry that reads before the first attempt's receipt is
    visible to it, and commits after, with every version already fresh."""
    read = PurchasingRepository.order
    monkeypatch.setattr(PurchasingRepository, "order",
                        lambda self, po_id: (f := read(self, po_id)) and replace(f, receipts=[]))


def test_a_retry_that_misses_the_receipt_is_refused_by_the_receipt_id(stocked, monkeypatch):
    """A retry reading after the first commit passes every version condition: the receipt id's
    attribute_not_exists alone stops it, and it answers the first receipt."""
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    first = receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 8}), OPERATOR, stocked, NOW)
    _blind(monkeypatch)
    again = receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 8}), OPERATOR, stocked, NOW)
    assert again.duplicate and again.receipt == first.receipt
    assert (on_hand(stocked), on_order(stocked)) == (13, 12)


def test_without_the_receipt_id_guard_that_retry_raises_stock_twice(stocked, monkeypatch):
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 8}), OPERATOR, stocked, NOW)
    _blind(monkeypatch)
    _without(monkeypatch, "receipt")
    receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 8}), OPERATOR, stocked, NOW)
    assert on_hand(stocked) == 21


def test_two_receipts_racing_are_both_counted_on_the_order(stocked):
    """Different receipt ids for different SKUs (no stock level in common): both go on hand, and the
    order counts both, because it is saved under the version read: the second to commit reads the
    first's totals again before writing its own."""
    create_purchase_order(po({"TEE-1": 20, "TEE-2": 10}), OPERATOR, stocked, NOW)
    _racing(stocked, receipt("R-1", **{"TEE-1": 8}), receipt("R-2", **{"TEE-2": 5}))
    lines = {ln.sku: ln.received for ln in stocked.purchasing.order("PO-1").order.lines}
    assert (on_hand(stocked), on_hand(stocked, "TEE-2"), lines) == (13, 5, {"TEE-1": 8, "TEE-2": 5})


def test_without_the_order_version_one_of_two_racing_receipts_is_lost_on_the_order(stocked, monkeypatch):
    create_purchase_order(po({"TEE-1": 20, "TEE-2": 10}), OPERATOR, stocked, NOW)
    _without(monkeypatch, "version")
    _racing(stocked, receipt("R-1", **{"TEE-1": 8}), receipt("R-2", **{"TEE-2": 5}))
    lines = {ln.sku: ln.received for ln in stocked.purchasing.order("PO-1").order.lines}
    assert lines == {"TEE-1": 8, "TEE-2": 0}  # the lost update the condition prevents


def test_receipts_from_many_threads_raise_stock_once_each(stocked):
    """Eight threads, four receipt ids sent twice each, on the in-memory store (one lock, DynamoDB's
    per-request atomicity): on hand rises by each receipt once."""
    create_purchase_order(po({"TEE-1": 100}), OPERATOR, stocked, NOW)
    bodies = [receipt(f"R-{n % 4}", **{"TEE-1": n % 4 + 1}) for n in range(8)]
    errors: list[BaseException] = []

    def send(body):
        try:
            receive_purchase_order("PO-1", body, OPERATOR, stocked, NOW)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert on_hand(stocked) == 5 + (1 + 2 + 3 + 4)
    assert len(events(stocked, "PurchaseOrderReceived")) == 4
    assert stocked.purchasing.order("PO-1").order.receipt_count == 4


@pytest.mark.parametrize(("model", "body"), [
    (PurchaseOrderRequest, {"supplier_id": "ACME", "location_id": "BER", "lines": [{"sku": "TEE-1", "quantity": 10},
                                                                                   {"sku": "TEE-1", "quantity": 5}]}),
    (ReceiptRequest, {"receipt_id": "R-1", "lines": [{"sku": "TEE-1", "quantity": 1}, {"sku": "TEE-1", "quantity": 2}]}),
])
def test_a_sku_twice_in_an_order_or_a_receipt_is_refused(model, body):
    """A line is found by its SKU: a second line of one SKU would never be received against."""
    with pytest.raises(ValidationError, match="each SKU once"):
        model.model_validate(body)
