"""Credit notes of a return's refunds on RefundIssued (settle-payments), on the in-memory store: a
call that died right after finishing its refund (DONE, no credit note) is healed by the event's
consumer, a redelivery issues nothing twice, and the part of the value that paid an exchange is
credited too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain.invoices import DocumentKind
from shared.domain.payments import MovementKind
from shared.domain.returns import RefundState
from shared.services import return_refunds, returns
from shared.services.return_credit_notes import credit_return_refund
from tests.service import test_returns as returns_tests
from tests.service.flows import OPERATOR_PRINCIPAL, events
from tests.service.test_returns import LATER, LambdaDied, receive, received, refund
from tests.service.test_settlement import FakeGateway
from tests.service.test_stock_push import bus_event, context, sqs

pytestmark = pytest.mark.unit

D = Decimal
delivered = returns_tests.delivered  # a paid order of SKU-1 x2 and SKU-2 x1 (35.00), invoiced, delivered
labels = returns_tests.labels        # the return label bucket, in memory (autouse)


def paid() -> FakeGateway:
    return FakeGateway(authorized=D("35.00"), received=D("35.00"))


def notes(repos, order_id: str) -> list[tuple[str, Decimal]]:
    return [(d.covers, d.gross) for d in repos.invoices.for_order(order_id) if d.kind is DocumentKind.CREDIT_NOTE]


def died_before_crediting(repos, rma_id: str, gateway: FakeGateway, monkeypatch) -> None:
    """The refund call dies after its refund is DONE, before its own credit notes."""
    def credit(*args):
        raise LambdaDied

    monkeypatch.setattr(return_refunds, "_credit", credit)
    with pytest.raises(LambdaDied):
        refund(repos, rma_id, gateway)
    monkeypatch.undo()
    assert [r.state for r in repos.returns.get(rma_id).refunds] == [RefundState.DONE]


def consume(repos, monkeypatch, rma_id: str) -> dict:
    """settle-payments receives the return's RefundIssued, as the bus delivers it."""
    from functions.settle_payments import handler

    monkeypatch.setattr(handler, "repositories", lambda: repos)
    monkeypatch.setattr(handler, "utc_now", lambda: LATER)
    [issued] = [e for e in events(repos, "RefundIssued") if e["rma_id"] == rma_id]
    return handler.lambda_handler(sqs(bus_event("RefundIssued", issued)), context())


def test_a_refund_finished_without_its_credit_note_is_credited_by_the_consumer_once(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    ret = received(repos, order_id, ("SKU-1", 1))
    died_before_crediting(repos, ret.rma_id, gateway, monkeypatch)
    assert notes(repos, order_id) == []

    assert consume(repos, monkeypatch, ret.rma_id) == {"batchItemFailures": []}
    assert consume(repos, monkeypatch, ret.rma_id) == {"batchItemFailures": []}  # redelivered

    [movement] = [m for m in repos.orders.get(order_id).pay.movements if m.kind == MovementKind.REFUND]
    assert notes(repos, order_id) == [(movement.key, D("10.00"))]
    refund(repos, ret.rma_id, gateway)  # the operator calls again: nothing more either
    assert len(notes(repos, order_id)) == 1 and gateway.refunded == D("10.00")


def test_a_store_credit_refund_is_credited_under_its_refund_id(delivered, monkeypatch):
    repos, order_id = delivered
    ret = received(repos, order_id, ("SKU-2", 1), refund_method="store_credit")
    died_before_crediting(repos, ret.rma_id, FakeGateway(), monkeypatch)
    refund_id = repos.returns.get(ret.rma_id).refunds[0].refund_id

    consume(repos, monkeypatch, ret.rma_id)
    consume(repos, monkeypatch, ret.rma_id)

    assert notes(repos, order_id) == [(f"credit-{refund_id}", D("10.00"))]


def test_the_value_that_paid_an_exchange_is_credited_beside_the_refund(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    # Two SKU-1 (20.00) back, one SKU-2 (10.00) in exchange: 10.00 refunded, 10.00 paid the exchange.
    asked = returns_tests.ask(repos, order_id, ("SKU-1", 2), exchange_lines=[{"sku": "SKU-2", "quantity": 1}])
    returns.approve_return(asked.rma_id, OPERATOR_PRINCIPAL, repos, LATER)
    receive(repos, asked.rma_id, ("SKU-1", 2))
    done = refund(repos, asked.rma_id, gateway).refunds[0]
    assert (done.amount, done.exchanged) == (D("10.00"), D("10.00"))
    by_the_call = notes(repos, order_id)  # the refund's own and the exchanged part's

    consume(repos, monkeypatch, asked.rma_id)
    consume(repos, monkeypatch, asked.rma_id)

    credited = notes(repos, order_id)
    assert credited == by_the_call  # the consumer, twice, issues nothing more
    assert (f"exchange-{done.refund_id}", D("10.00")) in credited
    assert sorted(gross for _, gross in credited) == [D("10.00"), D("10.00")]


def test_nothing_is_credited_for_an_unknown_or_unfinished_refund(delivered):
    repos, order_id = delivered
    ret = received(repos, order_id, ("SKU-1", 1))
    assert credit_return_refund(order_id, ret.rma_id, f"{ret.rma_id}-R1", repos, LATER) is False  # never claimed
    assert credit_return_refund(order_id, "RMA-NONE", "RMA-NONE-R1", repos, LATER) is False
    assert credit_return_refund("o-other", ret.rma_id, f"{ret.rma_id}-R1", repos, LATER) is False
    assert notes(repos, order_id) == []


def test_a_refund_issued_by_another_system_is_left_alone(delivered, monkeypatch):
    from functions.settle_payments import handler

    repos, order_id = delivered
    monkeypatch.setattr(handler, "repositories", lambda: repos)
    other = bus_event("RefundIssued", {"event_id": "ev-x", "order_id": order_id, "amount": "5.00", "currency": "EUR"})

    assert handler.lambda_handler(sqs(other), context()) == {"batchItemFailures": []}
    assert notes(repos, order_id) == []
