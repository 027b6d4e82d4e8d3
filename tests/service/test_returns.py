"""Returns on the in-memory store: requested against the channel's policy, approved with a return
label, received (restock in the receipt's transaction, write-off moving no stock), refunded at most
once per unit whatever the retries, crashes or concurrent calls, as store credit in the finishing
transaction, with a credit note per refund."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.domain.orders import Address, OrderStatus
from shared.domain.principal import Principal
from shared.domain.returns import RefundMethod, RefundState, ReturnPolicy, ReturnStatus
from shared.domain.tracking import ShipmentStatus, TrackingUpdate
from shared.errors import Conflict, InvalidInput, NotFound
from shared.services import return_refunds, returns
from shared.services.invoicing import credit_refunds, issue_invoice
from shared.services.return_receiving import ReceiveBody, receive_return
from shared.services.returns import ReturnRequestBody
from shared.services.tracking import apply_update
from tests.factories import location_request, seed
from tests.service.flows import OPERATOR_PRINCIPAL, events
from tests.service.test_settlement import INVOICING, NOW, FakeGateway, packed, placed, ship

pytestmark = pytest.mark.unit

D = Decimal
LATER = NOW + timedelta(days=3)
BER_ADDRESS = Address(line1="Lagerstr. 1", city="Berlin", country="DE", postal_code="10115")


class KeptDocuments:
    """The label bucket, in memory."""

    def __init__(self):
        self.kept: dict[str, bytes] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.kept[key] = body

    def link(self, key: str, ttl_s: int) -> str:
        return f"https://labels.example/{key}?ttl={ttl_s}"


@pytest.fixture(autouse=True)
def labels(monkeypatch) -> KeptDocuments:
    kept = KeptDocuments()
    monkeypatch.setattr("shared.services.labels.label_documents", lambda: kept)
    return kept


@pytest.fixture
def delivered(repos):
    """A paid order (stripe) of SKU-1 x2 and SKU-2 x1 at 10.00, 5.00 shipping (35.00), shipped from
    BER in one parcel, invoiced and delivered: (repos, order id)."""
    seed(repos, {"BER": location_request("DE", ships_to=["DE"], priority=1, address=BER_ADDRESS)},
         {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 5})
    order_id = placed(repos, status="paid", amount="35.00", lines=(("SKU-1", 2), ("SKU-2", 1)))
    fos = packed(repos, order_id)
    ship(repos, fos["BER"], "S-1")
    order = repos.orders.get(order_id)
    issue_invoice(order, "S-1", {"SKU-1": 2, "SKU-2": 1}, repos, NOW, INVOICING)
    apply_update(TrackingUpdate("dhl", "evt-S-1", "TRK-S-1", "dhl", ShipmentStatus.DELIVERED, NOW), NOW, repos, NOW)
    assert repos.orders.get(order_id).status == OrderStatus.DELIVERED
    return repos, order_id


def ask(repos, order_id, *lines, reason="size_or_fit", request_id="r-1", principal=OPERATOR_PRINCIPAL, at=LATER,
        **extra):
    body = ReturnRequestBody(request_id=request_id, reason=reason,
                             lines=[{"sku": sku, "quantity": q} for sku, q in lines], **extra)
    return returns.request_return(order_id, body, principal, repos, at)


def receive(repos, rma_id, *lines, receipt_id="rc-1", disposition="restock", note=None, principal=OPERATOR_PRINCIPAL):
    body = ReceiveBody(receipt_id=receipt_id, lines=[{"sku": sku, "quantity": q, "condition": "new",
                                                      "disposition": disposition, "note": note} for sku, q in lines])
    return receive_return(rma_id, body, principal, repos, LATER)


def refund(repos, rma_id, gateway, method=None):
    return return_refunds.refund_return(rma_id, OPERATOR_PRINCIPAL, repos, gateway, LATER, method)


def on_hand(repos, sku):
    return repos.stock.level(sku, "BER").on_hand


# --- requesting and deciding ----------------------------------------------------------------------

def test_a_request_within_policy_gets_an_rma_and_the_same_request_id_answers_it(delivered):
    repos, order_id = delivered
    first = ask(repos, order_id, ("SKU-1", 1))
    again = ask(repos, order_id, ("SKU-1", 1))
    assert first.rma_id == again.rma_id and first.status is ReturnStatus.REQUESTED
    assert [r.rma_id for r in returns.returns_of_order(order_id, OPERATOR_PRINCIPAL, repos)] == [first.rma_id]
    assert len([e for e in events(repos, "ReturnRequested") if e["rma_id"] == first.rma_id]) == 1
    with pytest.raises(Conflict):
        ask(repos, order_id, ("SKU-1", 2))  # the same request id for another return


def test_the_policy_refuses_more_than_was_delivered_less_what_is_already_asked(delivered):
    repos, order_id = delivered
    ask(repos, order_id, ("SKU-1", 1))
    ask(repos, order_id, ("SKU-1", 1), request_id="r-2")
    with pytest.raises(InvalidInput) as refused:
        ask(repos, order_id, ("SKU-1", 1), request_id="r-3")
    assert "quantity" in str(refused.value.message)


def test_outside_the_window_the_request_names_the_window(delivered):
    repos, order_id = delivered
    with pytest.raises(InvalidInput) as refused:
        ask(repos, order_id, ("SKU-1", 1), at=NOW + timedelta(days=30, seconds=1))
    assert "window" in refused.value.message


def test_another_channels_order_is_not_found(delivered):
    repos, order_id = delivered
    with pytest.raises(NotFound):
        ask(repos, order_id, ("SKU-1", 1), principal=Principal("app"))


def test_approval_buys_a_prepaid_label_when_the_merchant_pays_and_none_otherwise(delivered):
    repos, order_id = delivered
    paid_by_us = ask(repos, order_id, ("SKU-1", 1), reason="damaged")
    theirs = ask(repos, order_id, ("SKU-2", 1), request_id="r-2")
    approved = returns.approve_return(paid_by_us.rma_id, OPERATOR_PRINCIPAL, repos, LATER)
    assert approved.status is ReturnStatus.APPROVED and approved.location_id == "BER"
    assert approved.parcel is not None and approved.parcel.label.key == f"labels/return-{approved.rma_id}.pdf"
    assert returns.approve_return(theirs.rma_id, OPERATOR_PRINCIPAL, repos, LATER).parcel is None
    # Approving again answers the approved return and buys nothing more.
    again = returns.approve_return(paid_by_us.rma_id, OPERATOR_PRINCIPAL, repos, LATER)
    assert again.parcel == approved.parcel and again.version == approved.version


def test_a_policy_that_approves_small_returns_approves_at_request(delivered):
    repos, order_id = delivered
    returns.put_policy("web", ReturnPolicy(auto_approve_up_to=D("15")), OPERATOR_PRINCIPAL, repos, NOW)
    small = ask(repos, order_id, ("SKU-1", 1))
    big = ask(repos, order_id, ("SKU-1", 1), ("SKU-2", 1), request_id="r-2")
    assert small.status is ReturnStatus.APPROVED
    assert big.status is ReturnStatus.REQUESTED  # worth 20.00, above the limit: an operator decides


def test_a_declined_return_frees_its_units_and_never_moves_on(delivered):
    repos, order_id = delivered
    asked = ask(repos, order_id, ("SKU-1", 2))
    returns.decline_return(asked.rma_id, OPERATOR_PRINCIPAL, "worn", repos, LATER)
    with pytest.raises(Conflict):
        returns.approve_return(asked.rma_id, OPERATOR_PRINCIPAL, repos, LATER)
    assert ask(repos, order_id, ("SKU-1", 2), request_id="r-2").status is ReturnStatus.REQUESTED


# --- receiving ---------------------------------------------------------------------------------------

def approved(repos, order_id, *lines, **kw):
    asked = ask(repos, order_id, *lines, **kw)
    return returns.approve_return(asked.rma_id, OPERATOR_PRINCIPAL, repos, LATER)


def test_restock_raises_on_hand_once_per_receipt_and_a_write_off_moves_no_stock(delivered):
    repos, order_id = delivered
    ret = approved(repos, order_id, ("SKU-1", 2))
    before = on_hand(repos, "SKU-1")
    receive(repos, ret.rma_id, ("SKU-1", 1))
    receive(repos, ret.rma_id, ("SKU-1", 1))  # the same receipt id again: nothing moves twice
    assert on_hand(repos, "SKU-1") == before + 1
    done = receive(repos, ret.rma_id, ("SKU-1", 1), receipt_id="rc-2", disposition="write_off", note="torn")
    assert on_hand(repos, "SKU-1") == before + 1
    assert done.status is ReturnStatus.INSPECTED and done.lines[0].written_off == 1
    assert [e["on_hand"] for e in events(repos, "StockChanged") if e["cause"] == f"return:{ret.rma_id}"] == [before + 1]


def test_a_restock_records_who_received_the_parcel(delivered):
    repos, order_id = delivered
    ret = approved(repos, order_id, ("SKU-1", 1))
    receive(repos, ret.rma_id, ("SKU-1", 1), principal=Principal.person("wes-warehouse", ["warehouse", "location:BER"]))
    assert repos.stock.level("SKU-1", "BER").counted_by == "user:wes-warehouse"
    assert [e["by"] for e in events(repos, "StockChanged") if e["cause"] == f"return:{ret.rma_id}"] == \
        ["user:wes-warehouse"]


def test_the_same_receipt_sent_twice_at_once_restocks_once(delivered, monkeypatch):
    from tests.service.flows import interleave

    repos, order_id = delivered
    ret = approved(repos, order_id, ("SKU-1", 2))
    before = on_hand(repos, "SKU-1")
    interleave(monkeypatch, repos, lambda: receive(repos, ret.rma_id, ("SKU-1", 2)))
    done = receive(repos, ret.rma_id, ("SKU-1", 2))
    assert on_hand(repos, "SKU-1") == before + 2
    assert [r.quantity for r in done.receipts] == [2] and done.lines[0].received == 2


def test_receiving_more_than_approved_moves_only_what_was_awaited(delivered):
    repos, order_id = delivered
    ret = approved(repos, order_id, ("SKU-1", 1))
    before = on_hand(repos, "SKU-1")
    got = receive(repos, ret.rma_id, ("SKU-1", 3))
    assert on_hand(repos, "SKU-1") == before + 1
    assert (got.receipts[0].quantity, got.receipts[0].asked) == (1, 3)


def test_a_write_off_needs_its_reason_and_unknown_lines_are_refused(delivered):
    repos, order_id = delivered
    ret = approved(repos, order_id, ("SKU-1", 1))
    with pytest.raises(InvalidInput):
        receive(repos, ret.rma_id, ("SKU-1", 1), disposition="write_off")
    with pytest.raises(InvalidInput):
        receive(repos, ret.rma_id, ("SKU-2", 1))


def test_restock_releases_a_waiting_backorder(delivered):
    from shared.services.allocation import allocate_order
    from shared.services.backorders import release_backorders
    from tests.service.flows import policy

    repos, order_id = delivered
    # SKU-2 sells out at BER, and the next order of it waits.
    from shared.domain.stock import SetStockRequest
    from shared.services.inventory import set_stock
    set_stock("SKU-2", "BER", SetStockRequest(on_hand=0), repos, LATER)
    waiting = placed_backorder(repos)
    ret = approved(repos, order_id, ("SKU-2", 1))
    receive(repos, ret.rma_id, ("SKU-2", 1))
    release_backorders("SKU-2", repos, policy, LATER)
    allocate_order(waiting, repos, policy, LATER)
    assert repos.orders.get(waiting).status is OrderStatus.ALLOCATED


def placed_backorder(repos) -> str:
    from shared.services.allocation import allocate_order
    from shared.services.capture import capture_order
    from tests.factories import order_request
    from tests.service.flows import policy

    order_id = capture_order(order_request([("SKU-2", 1)], channel_order_id="CO-2"), "web", repos, LATER).order.order_id
    allocate_order(order_id, repos, policy, LATER)
    assert repos.orders.get(order_id).status is OrderStatus.BACKORDERED
    return order_id


# --- refunds -----------------------------------------------------------------------------------------

def received(repos, order_id, *lines, **kw):
    ret = approved(repos, order_id, *lines, **kw)
    return receive(repos, ret.rma_id, *lines)


def test_a_refund_goes_once_to_the_original_payment_with_a_credit_note(delivered):
    repos, order_id = delivered
    gateway = FakeGateway(authorized=D("35.00"), received=D("35.00"))
    ret = received(repos, order_id, ("SKU-1", 1))
    done = refund(repos, ret.rma_id, gateway)
    again = refund(repos, ret.rma_id, gateway)
    assert [(r.state, r.amount) for r in again.refunds] == [(RefundState.DONE, D("10.00"))]
    assert done.status is ReturnStatus.REFUNDED and gateway.refunded == D("10.00")
    assert repos.orders.get(order_id).pay.refunded == D("10.00")
    notes = [d for d in repos.invoices.for_order(order_id) if d.kind.value == "CREDIT_NOTE"]
    assert [n.gross for n in notes] == [D("10.00")]
    assert len([e for e in events(repos, "RefundIssued") if e["rma_id"] == ret.rma_id]) == 1


class LambdaDied(Exception):
    """The function stopped between two writes (a timeout, an out-of-memory kill)."""


def crash_once(monkeypatch, repos, when, call) -> None:
    """Run `call` with the first commit after `when()` holds dying (LambdaDied), then restore commits."""
    real, crashed = repos.commit, []

    def commit(*writes):
        if when() and not crashed:
            crashed.append(True)
            raise LambdaDied
        return real(*writes)

    monkeypatch.setattr(repos, "commit", commit)
    with pytest.raises(LambdaDied):
        call()
    monkeypatch.setattr(repos, "commit", real)


def test_a_crash_between_the_providers_refund_and_our_record_refunds_once(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = FakeGateway(authorized=D("35.00"), received=D("35.00"))
    ret = received(repos, order_id, ("SKU-1", 2))
    crash_once(monkeypatch, repos, lambda: gateway.calls, lambda: refund(repos, ret.rma_id, gateway))
    assert repos.returns.get(ret.rma_id).pending_refund is not None
    done = refund(repos, ret.rma_id, gateway)
    assert gateway.refunded == D("20.00") and len(set(gateway.keys("refund"))) == 1
    assert repos.orders.get(order_id).pay.refunded == D("20.00")
    assert [r.state for r in done.refunds] == [RefundState.DONE]


def test_two_concurrent_refund_calls_claim_the_units_once(delivered, monkeypatch):
    from tests.service.flows import interleave

    repos, order_id = delivered
    gateway = FakeGateway(authorized=D("35.00"), received=D("35.00"))
    ret = received(repos, order_id, ("SKU-1", 1))
    interleave(monkeypatch, repos, lambda: refund(repos, ret.rma_id, gateway))
    refund(repos, ret.rma_id, gateway)
    assert gateway.refunded == D("10.00")
    assert [r.amount for r in repos.returns.get(ret.rma_id).refunds] == [D("10.00")]


def test_store_credit_lands_in_the_ledger_once(delivered):
    repos, order_id = delivered
    ret = received(repos, order_id, ("SKU-2", 1), refund_method="store_credit")
    done = refund(repos, ret.rma_id, FakeGateway())
    refund(repos, ret.rma_id, FakeGateway())
    assert done.refunds[0].method is RefundMethod.STORE_CREDIT
    assert repos.store_credit.balances("web", "cust-1") == {"EUR": D("10.00")}
    assert [e.entry_id for e in repos.store_credit.entries("web", "cust-1")] == [done.refunds[0].refund_id]
    assert len(events(repos, "StoreCreditIssued")) == 1
    assert any(d.covers == f"credit-{done.refunds[0].refund_id}" for d in repos.invoices.for_order(order_id))


def test_the_merchant_refunds_shipping_for_its_faults_and_a_full_return_refunds_what_was_paid(delivered):
    repos, order_id = delivered
    gateway = FakeGateway(authorized=D("35.00"), received=D("35.00"))
    ret = received(repos, order_id, ("SKU-1", 2), ("SKU-2", 1), reason="defective")
    refund(repos, ret.rma_id, gateway)
    assert gateway.refunded == D("35.00")
    credit_refunds(repos.orders.get(order_id), repos, LATER)  # a redelivered webhook issues nothing more
    notes = [d for d in repos.invoices.for_order(order_id) if d.kind.value == "CREDIT_NOTE"]
    assert sum(n.gross for n in notes) == D("35.00")


def test_a_restocking_fee_is_taken_when_the_customer_changed_their_mind(delivered):
    repos, order_id = delivered
    returns.put_policy("web", ReturnPolicy(restocking_fee_percent=D("10")), OPERATOR_PRINCIPAL, repos, NOW)
    gateway = FakeGateway(authorized=D("35.00"), received=D("35.00"))
    ret = received(repos, order_id, ("SKU-1", 1), reason="changed_mind")
    done = refund(repos, ret.rma_id, gateway)
    assert (done.refunds[0].amount, done.refunds[0].restocking_fee) == (D("9.00"), D("1.00"))


def test_a_refund_before_anything_was_received_is_refused(delivered):
    repos, order_id = delivered
    ret = approved(repos, order_id, ("SKU-1", 1))
    with pytest.raises(Conflict):
        refund(repos, ret.rma_id, FakeGateway())


# --- exchanges ---------------------------------------------------------------------------------------

def test_an_exchange_is_made_when_the_units_are_back_and_the_rest_of_the_value_is_refunded(delivered):
    from shared.services.allocation import allocate_order
    from tests.service.flows import policy

    repos, order_id = delivered
    gateway = FakeGateway(authorized=D("35.00"), received=D("35.00"))
    # Two SKU-1 (20.00) back, one SKU-2 (10.00) in exchange: 10.00 is refunded when they come back.
    ret = approved(repos, order_id, ("SKU-1", 2), exchange_lines=[{"sku": "SKU-2", "quantity": 1}])
    assert ret.exchange_order_id is None  # nothing is handed out before the goods are back
    receive(repos, ret.rma_id, ("SKU-1", 1))
    with pytest.raises(Conflict):  # half of it back: not settled yet
        refund(repos, ret.rma_id, gateway)
    receive(repos, ret.rma_id, ("SKU-1", 1), receipt_id="rc-2")
    done = refund(repos, ret.rma_id, gateway)
    assert (done.status, done.refunds[0].amount, done.refunds[0].exchanged) == (
        ReturnStatus.EXCHANGED, D("10.00"), D("10.00"))
    assert gateway.refunded == D("10.00")
    exchange = repos.orders.get(done.exchange_order_id)
    assert (exchange.request.channel_order_id, exchange.total, exchange.pay.captured) == (
        f"EXCHANGE-{ret.rma_id}", D("10.00"), D("10.00"))
    assert [e["difference"] for e in events(repos, "ExchangeCreated")] == ["0.00"]
    assert repos.store_credit.balances("web", "cust-1") == {}  # given and spent at once: no balance moved
    assert sorted(e.amount for e in repos.store_credit.entries("web", "cust-1")) == [D("-10.00"), D("10.00")]
    allocate_order(exchange.order_id, repos, policy, LATER)
    assert repos.orders.get(exchange.order_id).status is OrderStatus.ALLOCATED


def test_an_exchange_worth_more_than_the_return_waits_for_the_difference(delivered):
    from shared.domain.orders import HoldReason
    from shared.services.allocation import allocate_order
    from tests.service.flows import policy

    repos, order_id = delivered
    ret = received(repos, order_id, ("SKU-2", 1), exchange_lines=[{"sku": "SKU-9", "quantity": 1,
                                                                   "unit_price": "25.00"}])
    done = refund(repos, ret.rma_id, FakeGateway())
    assert (done.refunds[0].amount, done.refunds[0].exchanged) == (D("0.00"), D("10.00"))
    allocate_order(done.exchange_order_id, repos, policy, LATER)
    held = repos.orders.get(done.exchange_order_id)
    assert HoldReason.PAYMENT_MISMATCH in [h.reason for h in held.open_holds]
    with pytest.raises(InvalidInput):  # a SKU the order does not have needs its price
        ask(repos, order_id, ("SKU-1", 1), request_id="r-2", exchange_lines=[{"sku": "SKU-9", "quantity": 1}])
    with pytest.raises(InvalidInput):  # and in whole cents
        ask(repos, order_id, ("SKU-1", 1), request_id="r-3", exchange_lines=[{"sku": "SKU-9", "quantity": 1,
                                                                              "unit_price": "9.999"}])


# --- store credit as a payment method ----------------------------------------------------------------

def credit(repos, amount: str, entry: str = "gift-1") -> None:
    repos.commit(repos.store_credit.move("web", "cust-1", entry, D(amount), "EUR", NOW))


def paid_with_credit(repos, amount: str = "10.00", coid: str = "CO-SC"):
    from shared.services.capture import capture_order
    from tests.factories import order_request

    request = order_request([("SKU-1", 1)], channel_order_id=coid,
                            payment={"status": "paid", "amount": amount, "provider": "store_credit"})
    return capture_order(request, "web", repos, LATER).order


def test_an_order_paid_with_store_credit_debits_the_ledger_once(delivered):
    repos, _ = delivered
    credit(repos, "15.00")
    order = paid_with_credit(repos)
    again = paid_with_credit(repos)  # the channel retries the capture
    assert again.order_id == order.order_id
    assert repos.store_credit.balances("web", "cust-1") == {"EUR": D("5.00")}
    assert order.pay.captured == D("10.00")
    with pytest.raises(InvalidInput) as short:
        paid_with_credit(repos, coid="CO-SC-2")
    assert short.value.field == "payment.amount"
    assert repos.store_credit.balances("web", "cust-1") == {"EUR": D("5.00")}


def test_cancelling_an_order_paid_with_store_credit_credits_it_back_once(delivered):
    from shared.services import settlement
    from shared.services.order_actions import cancel_order
    from tests.service.test_settlement import no_gateway

    repos, _ = delivered
    credit(repos, "10.00")
    order = paid_with_credit(repos)
    cancel_order(order.order_id, OPERATOR_PRINCIPAL, "customer asked", repos, LATER)
    settlement.settle_cancellation(order.order_id, repos, no_gateway, LATER)
    settlement.settle_cancellation(order.order_id, repos, no_gateway, LATER)  # redelivered
    assert repos.store_credit.balances("web", "cust-1") == {"EUR": D("10.00")}
    assert repos.orders.get(order.order_id).pay.refunded == D("10.00")


# --- what the review found: each guard has its test ----------------------------------------------------

def test_another_channel_cannot_spend_a_customers_store_credit(delivered):
    from shared.services.capture import capture_order
    from tests.factories import order_request

    repos, _ = delivered
    credit(repos, "15.00")  # web's cust-1
    request = order_request([("SKU-1", 1)], channel_order_id="CO-POS",
                            payment={"status": "paid", "amount": "10.00", "provider": "store_credit"})
    with pytest.raises(InvalidInput) as short:
        capture_order(request, "pos", repos, LATER)
    assert "15" not in short.value.message  # nor is another channel's balance told
    assert repos.store_credit.balances("web", "cust-1") == {"EUR": D("15.00")}


def test_store_credit_is_spent_in_whole_minor_units(delivered):
    repos, _ = delivered
    credit(repos, "15.00")
    with pytest.raises(InvalidInput) as refused:
        paid_with_credit(repos, amount="10.005")
    assert refused.value.field == "payment.amount"


def test_a_refused_refund_does_not_give_the_exchange_value_away(delivered):
    repos, order_id = delivered
    ret = approved(repos, order_id, ("SKU-1", 2), exchange_lines=[{"sku": "SKU-2", "quantity": 1}])
    receive(repos, ret.rma_id, ("SKU-1", 2))
    refused = FakeGateway(authorized=D("35.00"))  # the provider has nothing to refund: it refuses
    first = refund(repos, ret.rma_id, refused)
    assert [r.state for r in first.refunds] == [RefundState.REFUSED] and first.exchange_order_id
    again = refund(repos, ret.rma_id, FakeGateway(authorized=D("35.00"), received=D("35.00")))
    assert [(r.state, r.amount, r.exchanged) for r in again.refunds][-1] == (RefundState.DONE, D("10.00"), D("10.00"))
    assert again.exchange_order_id == first.exchange_order_id and len(events(repos, "ExchangeCreated")) == 1


def test_a_crash_after_the_replacement_is_made_makes_it_once(delivered, monkeypatch):
    repos, order_id = delivered
    ret = received(repos, order_id, ("SKU-1", 1), exchange_lines=[{"sku": "SKU-2", "quantity": 1}],
                   refund_method="store_credit")
    crash_once(monkeypatch, repos, lambda: repos.orders.get_channel_key("web", f"EXCHANGE-{ret.rma_id}"), lambda: refund(repos, ret.rma_id, FakeGateway()))
    done = refund(repos, ret.rma_id, FakeGateway())
    assert done.status is ReturnStatus.EXCHANGED and len(events(repos, "ExchangeCreated")) == 1
    assert len([o for o in events(repos, "OrderReceived") if o["channel_order_id"] == f"EXCHANGE-{ret.rma_id}"]) == 1


def test_an_auto_approval_that_cannot_happen_leaves_the_rma_requested(delivered):
    from shared.domain.locations import LocationRequest
    from shared.services.inventory import put_location

    repos, order_id = delivered
    ber = repos.locations.get("BER")
    put_location("BER", LocationRequest(**{**ber.model_dump(include=set(LocationRequest.model_fields)),
                                           "accepts_returns": False}), "operator", repos, NOW)
    returns.put_policy("web", ReturnPolicy(auto_approve_up_to=D("100")), OPERATOR_PRINCIPAL, repos, NOW)
    first = ask(repos, order_id, ("SKU-1", 1))
    assert first.status is ReturnStatus.REQUESTED
    assert ask(repos, order_id, ("SKU-1", 1)).rma_id == first.rma_id


def test_more_exchange_lines_than_an_order_may_have_are_refused_at_request(delivered):
    repos, order_id = delivered
    many = [{"sku": f"SKU-X{n}", "quantity": 1, "unit_price": "1.00"} for n in range(26)]
    with pytest.raises(Exception) as refused:  # the body model refuses it (a 422 over HTTP)
        ask(repos, order_id, ("SKU-1", 1), exchange_lines=many)
    assert "exchange_lines" in str(refused.value)


def test_a_partly_received_return_can_be_closed_and_what_came_refunded(delivered):
    repos, order_id = delivered
    ret = approved(repos, order_id, ("SKU-1", 2))
    receive(repos, ret.rma_id, ("SKU-1", 1))
    closed = returns.close_return(ret.rma_id, OPERATOR_PRINCIPAL, "the second never came", repos, LATER)
    assert closed.status is ReturnStatus.CLOSED and len(events(repos, "ReturnClosed")) == 1
    done = refund(repos, ret.rma_id, FakeGateway(authorized=D("35.00"), received=D("35.00")))
    assert [(r.state, r.amount) for r in done.refunds] == [(RefundState.DONE, D("10.00"))]


def test_two_returns_refunded_at_once_refund_the_shipping_once(delivered, monkeypatch):
    from tests.service.flows import interleave

    repos, order_id = delivered
    gateway = FakeGateway(authorized=D("35.00"), received=D("35.00"))
    a = received(repos, order_id, ("SKU-1", 2), reason="defective")
    b = received(repos, order_id, ("SKU-2", 1), reason="defective", request_id="r-2")
    interleave(monkeypatch, repos, lambda: refund(repos, a.rma_id, gateway, method="store_credit"))
    refund(repos, b.rma_id, gateway, method="store_credit")
    shipping = [r.shipping for x in (a, b) for r in repos.returns.get(x.rma_id).refunds]
    assert sorted(shipping) == [D("0"), D("5.00")]
    assert repos.store_credit.balances("web", "cust-1") == {"EUR": D("35.00")}


def test_a_refund_its_webhook_recorded_first_is_finished_not_refused(delivered, monkeypatch):
    """The Lambda dies after Stripe refunded; Stripe's charge.refunded (carrying our key in the
    refund's metadata) is recorded before anyone resumes: the resume matches it, once."""
    from shared.payments.provider import (
        ProviderEvent,
        ProviderEventKind,
        RefundInfo,
        RefundStatus,
    )
    from shared.services.payment_webhooks import apply_payment_event

    repos, order_id = delivered
    gateway = FakeGateway(authorized=D("35.00"), received=D("35.00"))
    ret = received(repos, order_id, ("SKU-1", 2), ("SKU-2", 1), reason="defective")  # 35.00: all that was paid
    crash_once(monkeypatch, repos, lambda: gateway.calls, lambda: refund(repos, ret.rma_id, gateway))
    (key,) = set(gateway.keys("refund"))
    webhook = ProviderEvent("stripe", "evt_refunded", ProviderEventKind.REFUNDED, LATER, intent_id=PI_OF(repos, order_id),
                            currency="EUR", amount_refunded=D("35.00"), charge_id="ch_1",
                            refunds=(RefundInfo(f"re_{key}", D("35.00"), RefundStatus.SUCCEEDED, key),))
    apply_payment_event(webhook, LATER, repos, LATER, 3)
    done = refund(repos, ret.rma_id, gateway)
    assert [r.state for r in done.refunds] == [RefundState.DONE]
    assert repos.orders.get(order_id).pay.refunded == D("35.00") and gateway.refunded == D("35.00")


def PI_OF(repos, order_id):  # noqa: N802 - reads as the constant it stands for
    return repos.orders.get(order_id).pay.intent_id


def test_two_calls_finishing_one_store_credit_refund_both_answer_it(delivered, monkeypatch):
    from tests.service.flows import interleave

    repos, order_id = delivered
    ret = received(repos, order_id, ("SKU-1", 1), refund_method="store_credit")
    interleave(monkeypatch, repos, lambda: refund(repos, ret.rma_id, FakeGateway()))
    done = refund(repos, ret.rma_id, FakeGateway())
    assert [r.state for r in done.refunds] == [RefundState.DONE]
    assert repos.store_credit.balances("web", "cust-1") == {"EUR": D("10.00")}


def test_a_replacement_that_cannot_be_made_refuses_the_settlement_and_tells_an_operator(delivered, monkeypatch):
    from shared.domain.reconciliation import ExceptionKind
    from shared.services import return_exchanges

    repos, order_id = delivered
    ret = received(repos, order_id, ("SKU-1", 1), exchange_lines=[{"sku": "SKU-2", "quantity": 1}])

    def store_closed(*args, **kwargs):
        raise InvalidInput("the pickup store is closed", field="fulfillment.location_id")

    monkeypatch.setattr(return_exchanges, "make_exchange", store_closed)
    done = refund(repos, ret.rma_id, FakeGateway())
    assert [r.state for r in done.refunds] == [RefundState.REFUSED] and done.exchange_order_id is None
    assert repos.reconciliation.open_exception(ExceptionKind.PAYMENT_PROBLEM, order_id) is not None
    assert not events(repos, "RefundIssued")
