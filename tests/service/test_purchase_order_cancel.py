"""Cancelling purchase orders (once, only before anything arrives, counters in the same transaction),
a cancellation racing a receipt, listing purchase orders and reading suppliers."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from shared.adapters.purchasing_repo import PurchasingRepository
from shared.domain.purchasing import CancelRequest, PurchaseOrderStatus, SupplierRequest
from shared.errors import AccessDenied, Conflict, InvalidInput, NotFound
from shared.services.purchasing import (
    cancel_purchase_order,
    create_purchase_order,
    get_supplier,
    list_purchase_orders,
    list_suppliers,
    put_supplier,
    receive_purchase_order,
)
from tests.factories import NOW
from tests.service.flows import events
from tests.service.purchasing_fixture import OPERATOR, WEB, on_hand, on_order, overlapping, po, receipt, stock_and_acme


@pytest.fixture
def stocked(repos):
    return stock_and_acme(repos)


def test_cancelling_takes_the_open_units_off_order_once(stocked):
    create_purchase_order(po({"TEE-1": 20, "TEE-2": 10}), OPERATOR, stocked, NOW)
    done = cancel_purchase_order("PO-1", CancelRequest(reason="supplier out of stock"), OPERATOR, stocked, NOW)
    assert done.order.status == PurchaseOrderStatus.CANCELLED and not done.duplicate
    assert (on_order(stocked), on_order(stocked, "TEE-2")) == (0, 0)
    again = cancel_purchase_order("PO-1", CancelRequest(), OPERATOR, stocked, NOW)
    assert again.duplicate and (on_order(stocked), on_order(stocked, "TEE-2")) == (0, 0)
    [event] = events(stocked, "PurchaseOrderCancelled")
    assert event["lines"] == [{"sku": "TEE-1", "quantity": 20}, {"sku": "TEE-2", "quantity": 10}]
    assert event["reason"] == "supplier out of stock"


def test_a_cancelled_order_takes_no_receipt_and_a_received_one_cannot_be_cancelled(stocked):
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    cancel_purchase_order("PO-1", CancelRequest(), OPERATOR, stocked, NOW)
    with pytest.raises(Conflict):
        receive_purchase_order("PO-1", receipt("R-1", **{"TEE-1": 5}), OPERATOR, stocked, NOW)
    create_purchase_order(po({"TEE-1": 20}, po_id="PO-2"), OPERATOR, stocked, NOW)
    receive_purchase_order("PO-2", receipt("R-1", **{"TEE-1": 5}), OPERATOR, stocked, NOW)
    with pytest.raises(Conflict) as refused:
        cancel_purchase_order("PO-2", CancelRequest(), OPERATOR, stocked, NOW)
    assert "final receipt" in str(refused.value)
    assert on_order(stocked) == 15  # PO-2's rest; a final receipt closes it instead
    receive_purchase_order("PO-2", receipt("R-2", final=True), OPERATOR, stocked, NOW)
    assert on_order(stocked) == 0


def test_only_an_operator_cancels_and_an_unknown_order_is_not_found(stocked):
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    with pytest.raises(AccessDenied):
        cancel_purchase_order("PO-1", CancelRequest(), WEB, stocked, NOW)
    with pytest.raises(NotFound):
        cancel_purchase_order("PO-9", CancelRequest(), OPERATOR, stocked, NOW)


def _receipt_commits_first(repos, receipt_body):
    """The cancellation reads the order, then a receipt runs whole before the cancellation commits."""
    overlapping(repos, lambda: cancel_purchase_order("PO-1", CancelRequest(), OPERATOR, repos, NOW),
                lambda: receive_purchase_order("PO-1", receipt_body, OPERATOR, repos, NOW))


def test_a_receipt_committing_inside_a_cancellation_wins_and_the_counters_stay_right(stocked):
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    with pytest.raises(Conflict):  # retried on a fresh read: something was received
        _receipt_commits_first(stocked, receipt("R-1", **{"TEE-1": 8}))
    order = stocked.purchasing.order("PO-1").order
    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert (on_hand(stocked), on_order(stocked)) == (13, 12)
    assert events(stocked, "PurchaseOrderCancelled") == []


def test_without_the_order_version_the_race_takes_units_off_order_twice(stocked, monkeypatch):
    """The scenario above does exercise the guard: saved without the version condition, the cancel
    commits over the receipt and takes the 20 off order after the receipt took 8: -8 on order."""
    create_purchase_order(po({"TEE-1": 20}), OPERATOR, stocked, NOW)
    save = PurchasingRepository.save
    monkeypatch.setattr(PurchasingRepository, "save", lambda self, o, v: replace(save(self, o, v), when=None))
    _receipt_commits_first(stocked, receipt("R-1", **{"TEE-1": 8}))
    assert on_order(stocked) == -8


def test_cancels_and_receipts_from_many_threads_leave_the_counters_consistent(stocked):
    """Four threads cancel and four receive at once (the in-memory store: DynamoDB's per-request
    atomicity). Whatever wins, on order equals what the order itself still awaits."""
    create_purchase_order(po({"TEE-1": 40}), OPERATOR, stocked, NOW)
    calls = [lambda: cancel_purchase_order("PO-1", CancelRequest(), OPERATOR, stocked, NOW)] * 4 + \
            [lambda n=n: receive_purchase_order("PO-1", receipt(f"R-{n}", **{"TEE-1": 5}), OPERATOR, stocked, NOW)
             for n in range(4)]
    unexpected: list[BaseException] = []

    def run(call):
        try:
            call()
        except Conflict:
            pass  # a receipt after the cancel, or a cancel after a receipt
        except BaseException as e:  # noqa: BLE001 - reported below
            unexpected.append(e)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert unexpected == []
    order = stocked.purchasing.order("PO-1").order
    assert on_order(stocked) == sum(order.on_order.values())
    assert on_hand(stocked) == 5 + sum(ln.received for ln in order.lines)


def test_purchase_orders_list_by_status_and_supplier_a_page_at_a_time(stocked):
    put_supplier("BOLT", SupplierRequest(name="Bolt", lead_time_days=3, skus=["TEE-2"]), OPERATOR, stocked, NOW)
    for n in range(5):
        create_purchase_order(po({"TEE-1": 10}, po_id=f"PO-{n}"), OPERATOR, stocked, NOW + timedelta(minutes=n))
    bolt_order = po({"TEE-2": 10}, po_id="PO-B").model_copy(update={"supplier_id": "BOLT"})
    create_purchase_order(bolt_order, OPERATOR, stocked, NOW + timedelta(minutes=9))
    cancel_purchase_order("PO-1", CancelRequest(), OPERATOR, stocked, NOW)

    seen, cursor = [], None
    while True:
        page, cursor = list_purchase_orders(None, None, 2, cursor, OPERATOR, stocked)
        seen += [o.purchase_order_id for o in page]
        if cursor is None:
            break
    assert seen == ["PO-0", "PO-1", "PO-2", "PO-3", "PO-4", "PO-B"]
    open_acme, _ = list_purchase_orders(PurchaseOrderStatus.OPEN, "ACME", 50, None, OPERATOR, stocked)
    assert [o.purchase_order_id for o in open_acme] == ["PO-0", "PO-2", "PO-3", "PO-4"]
    cancelled, _ = list_purchase_orders(PurchaseOrderStatus.CANCELLED, None, 50, None, OPERATOR, stocked)
    assert [o.purchase_order_id for o in cancelled] == ["PO-1"]
    bolt, _ = list_purchase_orders(None, "BOLT", 50, None, OPERATOR, stocked)
    assert [o.purchase_order_id for o in bolt] == ["PO-B"]
    with pytest.raises(InvalidInput):  # a cursor of the whole listing is not one of a supplier's
        list_purchase_orders(None, "BOLT", 2, list_purchase_orders(None, None, 2, None, OPERATOR, stocked)[1],
                             OPERATOR, stocked)
    with pytest.raises(AccessDenied):
        list_purchase_orders(None, None, 2, None, WEB, stocked)


def test_suppliers_are_listed_by_id_and_read_one_at_a_time(stocked):
    put_supplier("BOLT", SupplierRequest(name="Bolt", lead_time_days=3, skus=["TEE-2"]), OPERATOR, stocked, NOW)
    assert [s.supplier_id for s in list_suppliers(OPERATOR, stocked)] == ["ACME", "BOLT"]
    assert get_supplier("BOLT", OPERATOR, stocked).lead_time_days == 3
    with pytest.raises(NotFound):
        get_supplier("NOPE", OPERATOR, stocked)
    with pytest.raises(AccessDenied):
        list_suppliers(WEB, stocked)
