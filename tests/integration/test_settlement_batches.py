"""settle-payments a batch at a time on moto (issue 15): the batch's orders and their documents read in
one BatchGetItem before its invoices are numbered as a block; when that read fails, each record
reads and invoices its own, and the shipment is still invoiced once (captured at checkout: nothing captured again). The repository's
read is tested on both stores in tests/contract/test_invoice_batch_reads.py."""

from __future__ import annotations

from shared.domain.payments import MovementKind
from tests.integration.conftest import count_store_calls, sqs_event
from tests.integration.test_tracking import ship_parcels

PAID = ["paid-at-checkout"]


def dispatched(order_id: str, shipment_id: str, message_id: str) -> dict:
    return sqs_event("ShipmentDispatched", {"order_id": order_id, "shipment_id": shipment_id,
                                            "lines": [{"sku": "SKU-1", "quantity": 1}]}, message_id)




def settled(repos, order_id: str) -> tuple[list[str], list[str]]:
    """(what the order's invoices cover, its captures: paid at checkout, a web order's is one)."""
    pay = repos.orders.get(order_id).pay
    return ([d.covers for d in repos.invoices.for_order(order_id)],
            [m.key for m in pay.movements if m.kind is MovementKind.CAPTURE])


def test_a_batch_reads_its_orders_and_documents_once(api, repos, pump, functions, monkeypatch):
    order_id = ship_parcels(api, repos, pump, ["TRK-SB-1"])  # shipped; its event not delivered yet
    calls = count_store_calls(monkeypatch, repos, ("batch_get", "query", "get"))

    assert functions.invoke("settle-payments", dispatched(order_id, "S-1", "m-1")) == {"batchItemFailures": []}

    assert calls == {"batch_get": 1}  # no Query of the order's partition, no GetItem of the invoice counter
    assert settled(repos, order_id) == (["S-1"], PAID)


def test_a_failed_batch_read_leaves_each_record_to_read_its_own(api, repos, pump, functions, monkeypatch):
    order_id = ship_parcels(api, repos, pump, ["TRK-SB-2"])

    def fails(self, keys, consistent=True):
        raise RuntimeError("injected throttling")

    monkeypatch.setattr(type(repos.store), "batch_get", fails)
    calls = count_store_calls(monkeypatch, repos, ("batch_get", "query"))

    assert functions.invoke("settle-payments", dispatched(order_id, "S-1", "m-1")) == {"batchItemFailures": []}

    assert calls["query"] >= 1  # the record's own read of the order with its documents
    assert settled(repos, order_id) == (["S-1"], PAID)
    monkeypatch.undo()
    # Redelivered once the table answers again: found invoiced, nothing numbered or captured twice.
    assert functions.invoke("settle-payments", dispatched(order_id, "S-1", "m-2")) == {"batchItemFailures": []}
    assert settled(repos, order_id) == (["S-1"], PAID)
