"""Settling the payment as the goods move, on the in-memory store with a recording fake gateway (the
PaymentProvider contract, idempotent per key as Stripe is): a capture per shipment under
`capture-<order>-<shipment>`, the rest released (`release-<order>`) only once the order has shipped
and every shipment is settled, in either order; a retry repeats the call under the same key and
records it once; a refused capture leaves the shipment standing and tells an operator; cancellation
voids or refunds once; cash on delivery collected on delivery; an external provider moves nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.config import DEFAULTS
from shared.domain.fulfillment import Action
from shared.domain.money import ZERO
from shared.domain.orders import HoldReason, OrderStatus
from shared.domain.payments import MovementKind, PaymentProvider, PaymentStatus
from shared.domain.reconciliation import ExceptionKind
from shared.domain.tracking import ShipmentStatus, TrackingUpdate
from shared.payments.provider import (
    IdempotencyKeyReused,
    IntentStatus,
    PaymentDeclined,
    ProviderEvent,
    ProviderEventKind,
    ProviderPayment,
    ProviderRefund,
    RefundInfo,
    RefundStatus,
)
from shared.services import settlement
from shared.services.allocation import Outcome as Allocated
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.fulfillment import advance, collect
from shared.services.invoicing import InvoicingSettings
from shared.services.order_actions import cancel_order, release_order
from shared.services.payment_webhooks import apply_payment_event
from shared.services.tracking import apply_update
from shared.unit_of_work import Contention
from tests.factories import TWO_WAREHOUSES, location_request, order_request, seed
from tests.service.flows import OPERATOR_PRINCIPAL, events, fulfil, interleave, policy, ship_lines

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PI = "pi_3QyZ4uB7WZ01zgkW1Hc8Lr2d"
D = Decimal
INVOICING = InvoicingSettings.from_json(DEFAULTS.seller, DEFAULTS.tax_rates)


@dataclass
class Call:
    op: str
    key: str
    amount: Decimal | None = None


@dataclass
class FakeGateway:
    """The PaymentProvider contract over one intent; every call recorded with its idempotency key.
    A key asked again answers its first result and moves nothing (Stripe's idempotency)."""

    authorized: Decimal = ZERO
    declines: set[str] = field(default_factory=set)     # keys refused with card_declined
    name: str = "stripe"
    calls: list[Call] = field(default_factory=list)
    received: Decimal = ZERO
    refunded: Decimal = ZERO
    answers: dict[str, object] = field(default_factory=dict)
    params: dict[str, tuple] = field(default_factory=dict)

    def _intent(self, status: IntentStatus) -> ProviderPayment:
        left = self.authorized - self.received if status == IntentStatus.REQUIRES_CAPTURE else ZERO
        return ProviderPayment(PI, status, "EUR", self.authorized, left, self.received, charge_id="ch_1")

    def _once(self, key: str, run, params: tuple = ()):
        if key in self.params and self.params[key] != params:
            raise IdempotencyKeyReused(f"idempotency_key_reused: {key}")
        self.params[key] = params
        if key not in self.answers:
            self.answers[key] = run()
        return self.answers[key]

    def authorize(self, amount, currency, payment_method, order_id, idempotency_key):
        raise AssertionError("settlement never authorises")

    def capture(self, intent_id, amount, currency, idempotency_key, final):
        self.calls.append(Call("capture", idempotency_key, amount))
        if idempotency_key in self.declines:
            raise PaymentDeclined("card_declined", "Your card was declined.")

        def run():
            self.received += amount
            return self._intent(IntentStatus.REQUIRES_CAPTURE)
        return self._once(idempotency_key, run, ("capture", amount))

    def void(self, intent_id, idempotency_key):
        self.calls.append(Call("void", idempotency_key))
        return self._once(idempotency_key, lambda: self._intent(IntentStatus.SUCCEEDED if self.received
                                                                else IntentStatus.CANCELED))

    def refund(self, intent_id, amount, currency, idempotency_key, reason=None):
        self.calls.append(Call("refund", idempotency_key, amount))
        def run():
            if amount > self.received - self.refunded:
                raise PaymentDeclined("charge_already_refunded", "more than is left to refund")
            self.refunded += amount
            return ProviderRefund(f"re_{idempotency_key}", intent_id, "ch_1", currency, amount, RefundStatus.SUCCEEDED)
        return self._once(idempotency_key, run, ("refund", amount))

    def retrieve(self, intent_id):
        return self._intent(IntentStatus.REQUIRES_CAPTURE)

    def __call__(self, provider: PaymentProvider) -> FakeGateway:   # gateway_for
        assert provider == PaymentProvider.STRIPE
        return self

    def keys(self, op: str) -> list[str]:
        return [c.key for c in self.calls if c.op == op]


def no_gateway(provider: PaymentProvider):
    raise AssertionError(f"no provider call expected, asked for {provider}")


# --- orders through capture, allocation and fulfilment -----------------------------------------------

@pytest.fixture
def two_locations(repos):
    """SKU-1 only at BER, SKU-2 only at MAD: an order of both is split in two fulfilment orders."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "MAD"): 5})
    return repos


def placed(repos, status: str = "authorized", amount: str = "25.00", lines=(("SKU-1", 1), ("SKU-2", 1)),
           intent: str | None = PI, channel: str = "web") -> str:
    """An order of `lines` at 10.00 with 5.00 shipping (25.00 for two), allocated. Authorised for more
    than the total, it is held PAYMENT_MISMATCH and an operator accepts it (released)."""
    payment: dict = {"status": status, "amount": amount}
    if intent:
        payment.update(provider="stripe", intent_id=intent)
    request = order_request(list(lines), shipping_price="5.00", payment=payment)
    order_id = capture_order(request, channel, repos, NOW).order.order_id
    if allocate_order(order_id, repos, policy, NOW).outcome == Allocated.ON_HOLD:
        assert [h.reason for h in repos.orders.get(order_id).open_holds] == [HoldReason.PAYMENT_MISMATCH]
        release_order(order_id, OPERATOR_PRINCIPAL, repos, NOW)
        allocate_order(order_id, repos, policy, NOW)
    assert repos.orders.get(order_id).status == OrderStatus.ALLOCATED
    return order_id


def packed(repos, order_id: str) -> dict[str, str]:
    """The order's fulfilment orders, created and packed: location -> fulfilment order id."""
    made = {}
    for fo_id in fulfil(repos, order_id, NOW):
        for action in (Action.ACCEPT, Action.PICK, Action.PACK):
            advance(fo_id, action, OPERATOR_PRINCIPAL, repos, NOW)
        made[repos.fulfillment.get(fo_id).location_id] = fo_id
    return made


def ship(repos, fo_id: str, shipment_id: str) -> None:
    ship_lines(repos, fo_id, shipment_id, {}, NOW, carrier="DHL", tracking_code=f"TRK-{shipment_id}")


def settle(repos, shipment_id: str, gateway) -> settlement.Settled:
    """settle-payments on the ShipmentDispatched event of this shipment, as its handler reads it."""
    (dispatched,) = [e for e in events(repos, "ShipmentDispatched") if e["shipment_id"] == shipment_id]
    handed = {line["sku"]: line["quantity"] for line in dispatched["lines"]}
    return settlement.settle_handover(dispatched["order_id"], shipment_id, handed, repos, gateway, NOW, INVOICING)


def commit_fails_once(monkeypatch, repos, gateway: FakeGateway) -> None:
    """The first commit after the gateway answered fails (Contention), as a Lambda dying there would."""
    real, failures = repos.commit, [Contention("throttled")]

    def commit(*writes):
        if failures and gateway.calls:
            raise failures.pop()
        return real(*writes)

    monkeypatch.setattr(repos, "commit", commit)


def of(repos, detail_type: str, order_id: str) -> list[dict]:
    return [e for e in events(repos, detail_type) if e["order_id"] == order_id]


def problems(repos) -> list[tuple[ExceptionKind, str]]:
    return [(x.kind, x.subject) for x in repos.reconciliation.exceptions_page(10, None)[0]]


@pytest.fixture
def shipped_from_two(two_locations):
    """Authorised 30.00 for 25.00 (5.00 to release), S-1 left BER (SKU-1) and S-2 MAD (SKU-2): SHIPPED."""
    repos = two_locations
    order_id = placed(repos, amount="30.00")
    fos = packed(repos, order_id)
    ship(repos, fos["BER"], "S-1")
    ship(repos, fos["MAD"], "S-2")
    assert repos.orders.get(order_id).status == OrderStatus.SHIPPED
    return order_id


# --- captures per shipment, the rest released ------------------------------------------------------

def test_each_shipment_captures_its_lines_and_the_first_the_shipping(two_locations):
    repos, gateway = two_locations, FakeGateway(authorized=D("30.00"))
    order_id = placed(repos, amount="30.00")
    fos = packed(repos, order_id)

    ship(repos, fos["BER"], "S-1")
    first = settle(repos, "S-1", gateway)

    assert repos.orders.get(order_id).status == OrderStatus.PARTIALLY_SHIPPED
    assert first.events == ["PaymentCaptured"]
    assert [(c.op, c.key, c.amount) for c in gateway.calls] == [("capture", f"capture-{order_id}-S-1", D("15.00"))]

    ship(repos, fos["MAD"], "S-2")
    second = settle(repos, "S-2", gateway)

    assert sorted(second.events) == ["PaymentCaptured", "PaymentVoided"]
    assert [(c.op, c.key, c.amount) for c in gateway.calls[1:]] == [
        ("capture", f"capture-{order_id}-S-2", D("10.00")), ("void", f"release-{order_id}", None)]
    pay = repos.orders.get(order_id).pay
    assert (pay.captured, pay.authorized, pay.authorization_open, pay.status) == (
        D("25.00"), D("30.00"), False, PaymentStatus.CAPTURED)
    assert sorted((e["shipment_id"], e["amount"]) for e in of(repos, "PaymentCaptured", order_id)) == [
        ("S-1", "15.00"), ("S-2", "10.00")]
    (voided,) = of(repos, "PaymentVoided", order_id)
    assert voided["amount"] == "5.00"


@pytest.mark.parametrize("order", [("S-1", "S-2"), ("S-2", "S-1")], ids=["in order", "reversed"])
def test_the_rest_is_released_once_only_after_both_shipments_are_captured(repos, shipped_from_two, order):
    """Guard: every_handover_settled. The order is SHIPPED from the first settlement on."""
    gateway = FakeGateway(authorized=D("30.00"))

    settle(repos, order[0], gateway)
    assert gateway.keys("void") == []
    assert repos.orders.get(shipped_from_two).pay.authorization_open

    settle(repos, order[1], gateway)
    settle(repos, order[1], gateway)                 # redelivered

    assert gateway.keys("void") == [f"release-{shipped_from_two}"]
    assert sorted(gateway.keys("capture")) == [f"capture-{shipped_from_two}-S-1", f"capture-{shipped_from_two}-S-2"]
    assert sorted(c.amount for c in gateway.calls if c.op == "capture") == [D("10.00"), D("15.00")]  # + shipping
    assert repos.orders.get(shipped_from_two).pay.captured == D("25.00")


def test_nothing_is_released_while_the_order_has_more_to_ship(two_locations):
    """Guard: DONE_SHIPPING. S-1 captured is all the shipments the order has so far."""
    repos, gateway = two_locations, FakeGateway(authorized=D("30.00"))
    order_id = placed(repos, amount="30.00")
    ship(repos, packed(repos, order_id)["BER"], "S-1")

    settle(repos, "S-1", gateway)

    assert gateway.keys("void") == [] and repos.orders.get(order_id).pay.authorization_open


def test_captured_in_full_the_authorisation_closes_without_a_provider_call(two_locations):
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"))
    order_id = placed(repos, amount="25.00")
    fos = packed(repos, order_id)
    ship(repos, fos["BER"], "S-1")
    ship(repos, fos["MAD"], "S-2")

    settle(repos, "S-1", gateway)
    settle(repos, "S-2", gateway)

    assert [c.op for c in gateway.calls] == ["capture", "capture"]
    pay = repos.orders.get(order_id).pay
    assert (pay.captured, pay.authorization_open, pay.status) == (D("25.00"), False, PaymentStatus.CAPTURED)


def test_a_shipment_settled_again_calls_the_gateway_no_more(repos, shipped_from_two):
    gateway = FakeGateway(authorized=D("30.00"))
    settle(repos, "S-1", gateway)

    again = settle(repos, "S-1", gateway)

    assert again.events == [] and len(gateway.calls) == 1
    assert len(of(repos, "PaymentCaptured", shipped_from_two)) == 1


def test_a_retry_after_a_failed_commit_repeats_the_call_with_the_same_key_and_records_it_once(
        repos, shipped_from_two, monkeypatch):
    """The gateway answered, the commit failed (Contention): the settlement reads again and asks the
    gateway again under the same key, which answers the first capture; the order records it once."""
    gateway = FakeGateway(authorized=D("30.00"))
    commit_fails_once(monkeypatch, repos, gateway)

    settle(repos, "S-1", gateway)

    key = f"capture-{shipped_from_two}-S-1"
    assert [(c.op, c.key) for c in gateway.calls] == [("capture", key), ("capture", key)]
    assert gateway.received == D("15.00")
    pay = repos.orders.get(shipped_from_two).pay
    assert [(m.kind, m.key, m.amount) for m in pay.movements] == [(MovementKind.CAPTURE, "S-1", D("15.00"))]
    assert len(of(repos, "PaymentCaptured", shipped_from_two)) == 1


def test_a_refused_capture_leaves_the_shipment_standing_and_tells_an_operator(repos, shipped_from_two):
    gateway = FakeGateway(authorized=D("30.00"), declines={f"capture-{shipped_from_two}-S-2"})
    settle(repos, "S-1", gateway)

    refused = settle(repos, "S-2", gateway)

    assert "refused" in refused.problem and "PaymentCaptureRefused" in refused.events
    order = repos.orders.get(shipped_from_two)
    assert order.status == OrderStatus.SHIPPED and repos.shipments.get("S-2") is not None
    assert (order.pay.captured, order.pay.capture_problem) == (D("15.00"), refused.problem)
    (announced,) = of(repos, "PaymentCaptureRefused", shipped_from_two)
    assert (announced["shipment_id"], announced["reason"], announced["amount"]) == ("S-2", "card_declined", "10.00")
    assert problems(repos) == [(ExceptionKind.PAYMENT_PROBLEM, shipped_from_two)]
    assert gateway.keys("void") == [f"release-{shipped_from_two}"]      # every shipment settled: the rest goes

    settle(repos, "S-2", gateway)                                          # redelivered
    assert gateway.keys("capture").count(f"capture-{shipped_from_two}-S-2") == 1


def test_a_pickup_collected_in_the_store_is_captured_as_its_handover(repos):
    seed(repos, {"BST": location_request("DE", pickup_enabled=True, type="store")}, {("SKU-1", "BST"): 2})
    request = order_request([("SKU-1", 1)], fulfillment={"type": "pickup", "location_id": "BST"},
                            payment={"status": "authorized", "amount": "10.00", "provider": "stripe", "intent_id": PI})
    order_id = capture_order(request, "web", repos, NOW).order.order_id
    allocate_order(order_id, repos, policy, NOW)
    [fo_id] = fulfil(repos, order_id, NOW)
    advance(fo_id, Action.READY, OPERATOR_PRINCIPAL, repos, NOW)
    collect(fo_id, repos.fulfillment.get(fo_id).pickup_code, OPERATOR_PRINCIPAL, repos, NOW)
    gateway = FakeGateway(authorized=D("10.00"))

    settled = settlement.settle_collection(order_id, fo_id, repos, gateway, NOW, INVOICING)

    assert "PaymentCaptured" in settled.events
    assert [(c.op, c.key, c.amount) for c in gateway.calls] == [("capture", f"capture-{order_id}-{fo_id}", D("10.00"))]
    pay = repos.orders.get(order_id).pay
    assert (pay.captured, pay.status, pay.authorization_open) == (D("10.00"), PaymentStatus.CAPTURED, False)


# --- cancellation ----------------------------------------------------------------------------------

def cancelled(repos, order_id: str) -> None:
    cancel_order(order_id, OPERATOR_PRINCIPAL, "changed my mind", repos, NOW)


def test_an_authorised_order_cancelled_is_voided_once(two_locations):
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"))
    order_id = placed(repos)
    cancelled(repos, order_id)

    first = settlement.settle_cancellation(order_id, repos, gateway, NOW)
    again = settlement.settle_cancellation(order_id, repos, gateway, NOW)

    assert (first.events, again.events) == (["PaymentVoided"], [])
    assert [(c.op, c.key) for c in gateway.calls] == [("void", f"release-{order_id}")]
    assert repos.orders.get(order_id).pay.status == PaymentStatus.VOIDED


def test_an_order_not_cancelled_is_not_settled_as_one(two_locations):
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"))
    order_id = placed(repos)
    assert settlement.settle_cancellation(order_id, repos, gateway, NOW).events == []
    assert gateway.calls == []


def test_a_paid_order_cancelled_is_refunded_once(two_locations):
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"), received=D("25.00"))
    order_id = placed(repos, status="paid")
    cancelled(repos, order_id)

    first = settlement.settle_cancellation(order_id, repos, gateway, NOW)
    again = settlement.settle_cancellation(order_id, repos, gateway, NOW)

    assert (first.events, again.events) == (["PaymentRefunded"], [])
    assert [(c.op, c.key, c.amount) for c in gateway.calls] == [("refund", f"refund-cancel-{order_id}", D("25.00"))]
    pay = repos.orders.get(order_id).pay
    assert (pay.refunded, pay.status) == (D("25.00"), PaymentStatus.REFUNDED)
    (refunded,) = of(repos, "PaymentRefunded", order_id)
    assert refunded["refund_id"] == f"re_refund-cancel-{order_id}"


def test_a_refund_retried_after_a_failed_commit_is_recorded_once(two_locations, monkeypatch):
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"), received=D("25.00"))
    order_id = placed(repos, status="paid")
    cancelled(repos, order_id)
    commit_fails_once(monkeypatch, repos, gateway)

    settlement.settle_cancellation(order_id, repos, gateway, NOW)

    assert gateway.keys("refund") == [f"refund-cancel-{order_id}"] * 2
    assert repos.orders.get(order_id).pay.refunded == D("25.00")
    assert len(of(repos, "PaymentRefunded", order_id)) == 1


def test_the_refunds_webhook_landing_before_the_cancellation_commits_counts_the_refund_once(two_locations,
                                                                                              monkeypatch):
    """The gateway refunded, Stripe's refund.updated is applied before the settlement's commit: the
    settlement is refused (the order moved), reads again and finds the refund recorded."""
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"), received=D("25.00"))
    order_id = placed(repos, status="paid")
    cancelled(repos, order_id)
    webhook = ProviderEvent("stripe", "evt_refund", ProviderEventKind.REFUNDED, NOW, "EUR", intent_id=PI,
                            refunds=(RefundInfo(f"re_refund-cancel-{order_id}", D("25.00"), RefundStatus.SUCCEEDED),))
    interleave(monkeypatch, repos, lambda: apply_payment_event(webhook, NOW, repos, NOW, max_failures=3))

    settled = settlement.settle_cancellation(order_id, repos, gateway, NOW)

    assert settled.events == [] and gateway.keys("refund") == [f"refund-cancel-{order_id}"]
    pay = repos.orders.get(order_id).pay
    assert (pay.refunded, pay.status) == (D("25.00"), PaymentStatus.REFUNDED)
    assert len(of(repos, "PaymentRefunded", order_id)) == 1


# --- cash on delivery, the channel settling ---------------------------------------------------------

def delivered(repos, shipment_id: str) -> None:
    apply_update(TrackingUpdate("dhl", f"evt-{shipment_id}", f"TRK-{shipment_id}", "dhl", ShipmentStatus.DELIVERED,
                                NOW), NOW, repos, NOW)


def test_cash_on_delivery_is_collected_once_on_delivery(two_locations):
    repos = two_locations
    order_id = placed(repos, status="cod", amount="15.00", lines=(("SKU-1", 1),), intent=None)
    ship(repos, packed(repos, order_id)["BER"], "S-1")
    assert settle(repos, "S-1", no_gateway).events == []                   # nothing to capture on shipping
    assert settlement.settle_delivery(order_id, repos, no_gateway, NOW).events == []   # not delivered yet

    delivered(repos, "S-1")
    first = settlement.settle_delivery(order_id, repos, no_gateway, NOW)
    again = settlement.settle_delivery(order_id, repos, no_gateway, NOW)

    assert (first.events, again.events) == (["CodCollected"], [])
    pay = repos.orders.get(order_id).pay
    assert (pay.status, pay.collected) == (PaymentStatus.COD_COLLECTED, D("15.00"))
    (collected,) = of(repos, "CodCollected", order_id)
    assert collected["amount"] == "15.00"


def test_cash_on_delivery_through_a_channel_that_does_not_take_it_is_held(two_locations):
    repos = two_locations
    request = order_request([("SKU-1", 1)], payment={"status": "cod", "amount": "10.00"})
    order_id = capture_order(request, "app", repos, NOW).order.order_id

    assert allocate_order(order_id, repos, policy, NOW).outcome == Allocated.ON_HOLD
    assert [h.reason for h in repos.orders.get(order_id).open_holds] == [HoldReason.PAYMENT_METHOD_NOT_ALLOWED]


def test_with_an_external_provider_captures_are_recorded_without_a_gateway_call(two_locations):
    repos = two_locations
    order_id = placed(repos, amount="25.00", intent=None)
    assert repos.orders.get(order_id).pay.provider == PaymentProvider.EXTERNAL
    fos = packed(repos, order_id)
    ship(repos, fos["BER"], "S-1")
    ship(repos, fos["MAD"], "S-2")

    settle(repos, "S-1", no_gateway)
    settle(repos, "S-2", no_gateway)

    pay = repos.orders.get(order_id).pay
    assert (pay.captured, pay.status, pay.authorization_open) == (D("25.00"), PaymentStatus.CAPTURED, False)
    assert sorted((e["shipment_id"], e["amount"], e["provider"]) for e in of(repos, "PaymentCaptured", order_id)) == [
        ("S-1", "15.00", "external"), ("S-2", "10.00", "external")]


# --- bugs found ---------------------------------------------------------------------------------

def test_a_shipment_captured_after_the_first_was_refunded_in_full_is_recorded(repos, shipped_from_two):
    """S-1 captured 15.00, then refunded 15.00 in Stripe (the customer returned it: refund.updated
    recorded on the order, status refunded). S-2's capture of 10.00 goes through at the gateway, then
    check_forward refuses the derived status partially_refunded: the settlement raises, SQS retries the
    same capture (same key) and raises again until the DLQ; the order never shows the 10.00."""
    gateway = FakeGateway(authorized=D("30.00"))
    settle(repos, "S-1", gateway)
    returned = ProviderEvent("stripe", "evt_refund", ProviderEventKind.REFUNDED, NOW, "EUR", intent_id=PI,
                             refunds=(RefundInfo("re_return", D("15.00"), RefundStatus.SUCCEEDED),))
    apply_payment_event(returned, NOW, repos, NOW, max_failures=3)
    assert repos.orders.get(shipped_from_two).pay.status == PaymentStatus.REFUNDED

    settle(repos, "S-2", gateway)

    pay = repos.orders.get(shipped_from_two).pay
    assert (pay.captured, pay.refunded, pay.status) == (D("25.00"), D("15.00"), PaymentStatus.PARTIALLY_REFUNDED)


# --- lines cancelled before they shipped -----------------------------------------------------------

def test_cancelled_lines_of_a_paid_order_are_refunded_once(two_locations):
    """Paid 25.00 at checkout; SKU-2 (10.00) cancelled: 10.00 refunded under refund-lines-<order>-<id>, once."""
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"), received=D("25.00"))
    order_id = placed(repos, status="paid", amount="25.00")

    first = settlement.settle_line_cancellation(order_id, "CXL-1", D("10.00"), repos, gateway, NOW)
    again = settlement.settle_line_cancellation(order_id, "CXL-1", D("10.00"), repos, gateway, NOW)

    assert first.events == ["PaymentRefunded"] and again.events == []
    assert [(c.op, c.key, c.amount) for c in gateway.calls] == [
        ("refund", f"refund-lines-{order_id}-CXL-1", D("10.00"))]
    pay = repos.orders.get(order_id).pay
    assert (pay.due, pay.refunded, pay.status) == (D("15.00"), D("10.00"), PaymentStatus.PARTIALLY_REFUNDED)


def test_cancelled_lines_of_an_authorised_order_move_no_money(two_locations):
    """Authorised 25.00; SKU-2 cancelled before it shipped: nothing refunded (nothing was taken), less
    is owed; what the shipments do not capture is released at the end as for any order."""
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"))
    order_id = placed(repos, amount="25.00")

    assert settlement.settle_line_cancellation(order_id, "CXL-2", D("10.00"), repos, gateway, NOW).events == []
    assert gateway.calls == [] and repos.orders.get(order_id).pay.due == D("15.00")


def test_a_retry_after_the_webhook_reported_the_capture_asks_the_same_amount_under_the_same_key(
        two_locations, monkeypatch):
    """The capture went through, the commit failed, and Stripe's webhook about it was applied before
    the retry: the retry must ask for the same amount (else Stripe answers idempotency_error) and
    record the capture, once, not as refused."""
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"))
    order_id = placed(repos, amount="25.00")
    ship(repos, packed(repos, order_id)["BER"], "S-1")
    real = repos.commit

    def commit_then_webhook(*writes):
        if gateway.calls and not getattr(commit_then_webhook, "done", False):
            commit_then_webhook.done = True  # type: ignore[attr-defined]
            apply_payment_event(ProviderEvent(provider="stripe", event_id="evt_cap", kind=ProviderEventKind.AUTHORIZED,
                                              created=NOW, currency="EUR", intent_id=PI, order_id=order_id,
                                              amount=D("25.00"), amount_capturable=D("10.00"),
                                              amount_received=D("15.00")), NOW, repos, NOW, 3)
            raise Contention("the Lambda died after the provider answered")
        return real(*writes)

    monkeypatch.setattr(repos, "commit", commit_then_webhook)
    settle(repos, "S-1", gateway)

    assert [(c.op, c.key, c.amount) for c in gateway.calls] == [("capture", f"capture-{order_id}-S-1", D("15.00"))] * 2
    pay = repos.orders.get(order_id).pay
    assert [(m.kind, m.key, m.amount) for m in pay.movements if m.key == "S-1"] == [
        (MovementKind.CAPTURE, "S-1", D("15.00"))]
    assert pay.captured == D("15.00") and pay.capture_problem is None and problems(repos) == []


@pytest.mark.parametrize("first", ["lines", "order"])
def test_cancelling_the_last_lines_refunds_what_was_paid_once_in_either_order(two_locations, first):
    """OrderLinesCancelled and OrderCancelled come from one transaction and settle in any order: the
    order's own cancellation refunds all that was paid, the lines' none, so no refund is refused."""
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"), received=D("25.00"))
    order_id = placed(repos, status="paid", amount="25.00")
    cancel_order(order_id, OPERATOR_PRINCIPAL, "customer changed their mind", repos, NOW)
    steps = {"lines": lambda: settlement.settle_line_cancellation(order_id, "CXL-9", D("20.00"), repos, gateway, NOW),
             "order": lambda: settlement.settle_cancellation(order_id, repos, gateway, NOW)}

    results = [steps[first](), steps["order" if first == "lines" else "lines"]()]

    assert [r.problem for r in results] == [None, None]
    assert [(c.op, c.amount) for c in gateway.calls] == [("refund", D("25.00"))]
    assert repos.orders.get(order_id).pay.refunded == D("25.00")


def test_a_refund_larger_than_one_invoice_is_credited_across_invoices_once(repos, shipped_from_two):
    """Both parcels captured and invoiced (15.00 and 10.00); the whole 25.00 refunded in Stripe's
    dashboard: a credit note on each invoice, newest first, and none more on redelivery."""
    gateway = FakeGateway(authorized=D("30.00"))
    settle(repos, "S-1", gateway)
    settle(repos, "S-2", gateway)
    refund = ProviderEvent(provider="stripe", event_id="evt_refund", kind=ProviderEventKind.REFUNDED, created=NOW,
                           currency="EUR", intent_id=PI, charge_id="ch_1", amount_received=D("25.00"),
                           amount_refunded=D("25.00"), refunds=(RefundInfo("re_all", D("25.00"), RefundStatus.SUCCEEDED),))

    apply_payment_event(refund, NOW, repos, NOW, 3)
    apply_payment_event(refund, NOW, repos, NOW, 3)   # redelivered

    documents = repos.invoices.for_order(shipped_from_two)
    notes = [(d.covers, d.corrects, d.gross) for d in documents if d.kind.value == "CREDIT_NOTE"]
    invoices = {d.covers: d.number for d in documents if d.kind.value == "INVOICE"}
    assert sorted(notes) == sorted([("re_all", invoices["S-2"], D("10.00")), ("re_all#2", invoices["S-1"], D("15.00"))])


def test_a_refund_for_cancelled_lines_that_never_shipped_credits_no_invoice(two_locations):
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"), received=D("25.00"))
    order_id = placed(repos, status="paid", amount="25.00")
    ship(repos, packed(repos, order_id)["BER"], "S-1")
    settle(repos, "S-1", gateway)
    settlement.settle_line_cancellation(order_id, "CXL-3", D("10.00"), repos, gateway, NOW)
    refund_id = f"re_refund-lines-{order_id}-CXL-3"
    webhook = ProviderEvent(provider="stripe", event_id="evt_lines", kind=ProviderEventKind.REFUNDED, created=NOW,
                            currency="EUR", intent_id=PI, charge_id="ch_1", amount_received=D("25.00"),
                            amount_refunded=D("10.00"), refunds=(RefundInfo(refund_id, D("10.00"),
                                                                            RefundStatus.SUCCEEDED),))

    apply_payment_event(webhook, NOW, repos, NOW, 3)

    kinds = [d.kind.value for d in repos.invoices.for_order(order_id)]
    assert kinds == ["INVOICE"] and repos.orders.get(order_id).pay.refunded == D("10.00")


def test_a_refund_the_provider_refuses_is_an_operator_problem_not_a_failed_message(two_locations):
    """Guard: _refund's PaymentDeclined. Nothing is left to refund at the provider (refunded in its
    dashboard, say): the cancellation's settlement records a problem instead of failing for ever."""
    repos, gateway = two_locations, FakeGateway(authorized=D("25.00"), received=ZERO)
    order_id = placed(repos, status="paid", amount="25.00")
    cancel_order(order_id, OPERATOR_PRINCIPAL, "customer changed their mind", repos, NOW)

    result = settlement.settle_cancellation(order_id, repos, gateway, NOW)

    assert result.problem is not None and "refused" in result.problem
    assert problems(repos) == [(ExceptionKind.PAYMENT_PROBLEM, order_id)]
    assert repos.orders.get(order_id).pay.refunded == ZERO


def test_an_authorisation_short_of_the_invoice_captures_what_it_can_and_tells_an_operator(two_locations):
    """Authorised 20.00 for a 25.00 order (accepted by an operator): S-1 (15.00) is captured whole,
    S-2 (10.00) only 5.00, and the shortfall is a problem rather than silence."""
    repos, gateway = two_locations, FakeGateway(authorized=D("20.00"))
    order_id = placed(repos, amount="20.00")
    fos = packed(repos, order_id)
    ship(repos, fos["BER"], "S-1")
    ship(repos, fos["MAD"], "S-2")

    settle(repos, "S-1", gateway)
    second = settle(repos, "S-2", gateway)

    assert [c.amount for c in gateway.calls if c.op == "capture"] == [D("15.00"), D("5.00")]
    assert second.problem is not None and "only 5.00" in second.problem
    assert problems(repos) == [(ExceptionKind.PAYMENT_PROBLEM, order_id)]


def test_a_batch_s_shipments_invoiced_as_a_block_are_captured_from_their_invoices(two_locations, monkeypatch):
    """settle-payments' batch: invoice_shipments numbers the batch's invoices first (one per order in a
    block; the order's second shipment goes alone), then each event settles on what it was handed."""
    from shared.services.settlement_events import Detail, invoice_shipments, settle_event

    repos, gateway = two_locations, FakeGateway(authorized=D("30.00"))
    order_id = placed(repos, amount="30.00")
    fos = packed(repos, order_id)
    ship(repos, fos["BER"], "S-1")
    ship(repos, fos["MAD"], "S-2")
    # By shipment id: the outbox lists events by their random ids, so either shipment could come first.
    batch = sorted((("ShipmentDispatched", Detail.model_validate(e)) for e in events(repos, "ShipmentDispatched")),
                   key=lambda event: str(event[1].shipment_id))
    invoiced = invoice_shipments(batch, repos, NOW, INVOICING)
    assert [k for k in invoiced] == [(order_id, batch[0][1].shipment_id)]

    reads = []
    real = repos.invoices.order_and_documents

    def counted(oid):
        reads.append(oid)
        return real(oid)

    monkeypatch.setattr(repos.invoices, "order_and_documents", counted)
    for detail_type, detail in batch:
        settle_event(detail_type, detail, repos, gateway, NOW, INVOICING, invoiced)
    assert reads == [order_id]  # the block's shipment settled on the batch's read; the other read its own
    documents = repos.invoices.for_order(order_id)
    assert sorted((d.covers, d.sequence, d.gross) for d in documents) == [("S-1", 1, D("15.00")),
                                                                          ("S-2", 2, D("10.00"))]
    assert sorted((c.key, c.amount) for c in gateway.calls if c.op == "capture") == [
        (f"capture-{order_id}-S-1", D("15.00")), (f"capture-{order_id}-S-2", D("10.00"))]
