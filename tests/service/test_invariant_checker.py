"""The soak's invariant checker (bench/invariants) on a small table built by the real use cases on the
in-memory store: the healthy table breaks no invariant; each invariant, broken on purpose in the
items, is reported by name; and with a guard of the code removed, a race the guard stops is caught.

The checker is the guards' witness in the soak (bench/soak.py): if it could not see a breach, a
soak reporting "violations: 0" would prove nothing."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal
from typing import cast

import pytest

from bench.invariants import INVARIANTS, Acknowledged, Expectations, Violation, check, load
from shared.adapters.memory import MemoryStore
from shared.adapters.orders_repo import OrderRepository
from shared.adapters.packed import PACKED, document_json
from shared.domain.payments import PaymentProvider
from shared.domain.returns import RequestedLine, ReturnReason
from shared.domain.tracking import ShipmentStatus, TrackingUpdate
from shared.errors import Conflict
from shared.outbox_format import OUTBOX_PREFIX, OUTBOX_SK, OutboxEntry, outbox_entries
from shared.repositories import Repositories
from shared.services import return_refunds, returns
from shared.services.allocation import allocate_order
from shared.services.line_cancellation import CancelRequest, cancel
from shared.services.order_actions import cancel_order
from shared.services.tracking import apply_update
from tests.factories import TWO_WAREHOUSES, capture, seed
from tests.service.flows import OPERATOR_PRINCIPAL, fulfil, policy
from tests.service.test_returns import receive
from tests.service.test_settlement import NOW, FakeGateway, packed, placed, settle, ship

pytestmark = pytest.mark.unit

D = Decimal
LATER = NOW + timedelta(days=3)


@dataclasses.dataclass
class Built:
    repos: Repositories
    delivered: str  # authorised, shipped from two locations, settled, delivered, one unit returned and refunded
    cancelled: str
    part_cancelled: str
    rma: str
    baseline: dict


@pytest.fixture
def built(repos) -> Built:
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "MAD"): 5})
    baseline = {("SKU-1", "BER"): 5, ("SKU-2", "MAD"): 5}
    gateway = FakeGateway(authorized=D("25.00"))
    delivered = placed(repos)
    fos = packed(repos, delivered)
    for location, shipment_id in (("BER", "S-1"), ("MAD", "S-2")):
        ship(repos, fos[location], shipment_id)
        settle(repos, shipment_id, gateway)
        for n, status in enumerate((ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED)):
            apply_update(TrackingUpdate("dhl", f"evt-{shipment_id}-{n}", f"TRK-{shipment_id}", "dhl", status,
                                        NOW + timedelta(hours=n + 1)), NOW, repos, NOW)
    body = returns.ReturnRequestBody(request_id="r-1", reason=ReturnReason.SIZE_OR_FIT,
                                     lines=[RequestedLine(sku="SKU-1", quantity=1)])
    rma = returns.request_return(delivered, body, OPERATOR_PRINCIPAL, repos, LATER).rma_id
    returns.approve_return(rma, OPERATOR_PRINCIPAL, repos, LATER)
    receive(repos, rma, ("SKU-1", 1))
    return_refunds.refund_return(rma, OPERATOR_PRINCIPAL, repos, gateway, LATER)
    cancelled = capture(repos, ("SKU-1", 1), coid="CO-2", payment={"status": "paid", "amount": "10.00"}).order_id
    allocate_order(cancelled, repos, policy, NOW)
    cancel_order(cancelled, OPERATOR_PRINCIPAL, "changed mind", repos, NOW)
    part = capture(repos, ("SKU-1", 2), coid="CO-3", payment={"status": "paid", "amount": "20.00"}).order_id
    allocate_order(part, repos, policy, NOW)
    fulfil(repos, part, NOW)
    cancel(part, OPERATOR_PRINCIPAL, CancelRequest("one less", "c-1", {"SKU-1": 1}), repos, NOW)
    return Built(repos, delivered, cancelled, part, rma, baseline)


def expectations(b: Built, **changes) -> Expectations:
    exp = Expectations(baseline_on_hand=b.baseline, baseline_at=None, messages=[], acknowledged=Acknowledged())
    return dataclasses.replace(exp, **changes)


def store_items_of(repos: Repositories) -> dict:
    return cast(MemoryStore, repos.store).items


def store_items(b: Built) -> dict:
    return store_items_of(b.repos)


def report(b: Built, **changes):
    return check(load(store_items(b).values()), expectations(b, **changes))


def item(b: Built, pk: str, sk: str) -> dict:
    return store_items(b)[(pk, sk)]


def edit_doc(b: Built, pk: str, sk: str, change) -> None:
    stored = item(b, pk, sk)
    doc = json.loads(document_json(stored) or "")
    change(doc)
    stored.pop(PACKED, None)  # the edit is kept plain (a plain document is read first anyway)
    stored["doc"] = json.dumps(doc)


def only(found, name: str) -> list[Violation]:
    """The violations reported, which must all be of invariant `name` (and be some)."""
    assert found.violations, f"{name} was not reported"
    assert {v.invariant for v in found.violations} == {name}, found.violations
    return found.violations


def test_the_healthy_table_breaks_nothing_and_every_invariant_is_checked(built):
    found = report(built, provider_intents={})
    assert found.violations == []
    assert set(found.checked) >= {inv.name for inv in INVARIANTS}
    assert found.skipped == []


# --- stock ---------------------------------------------------------------------------------------------

def level(b: Built, sku: str, location: str) -> dict:
    return item(b, f"STOCK#{sku}", f"LOC#{location}")


def test_a_negative_counter_is_reported(built):
    lvl = level(built, "SKU-2", "MAD")
    lvl["on_hand"], lvl["available"] = -1, lvl["available"] - lvl["on_hand"] - 1
    assert {v.invariant for v in report(built).violations} == {"stock_never_negative", "stock_on_hand_conserved"}


def test_available_off_its_formula_is_reported(built):
    level(built, "SKU-2", "MAD")["available"] += 1
    only(report(built), "stock_available_formula")


def test_reserved_off_its_records_is_reported(built):
    lvl = level(built, "SKU-1", "BER")
    lvl["reserved"], lvl["available"] = lvl["reserved"] + 1, lvl["available"] - 1
    only(report(built), "stock_reserved_equals_records")


def test_a_reservation_the_order_does_not_have_is_reported(built):
    record = item(built, "STOCK#SKU-1", f"RES#BER#{built.part_cancelled}")
    record["quantity"] += 1
    lvl = level(built, "SKU-1", "BER")
    lvl["reserved"], lvl["available"] = lvl["reserved"] + 1, lvl["available"] - 1
    only(report(built), "reservations_match_orders")


def test_on_hand_moved_by_nothing_recorded_is_reported(built):
    lvl = level(built, "SKU-2", "MAD")
    lvl["on_hand"], lvl["available"] = lvl["on_hand"] + 1, lvl["available"] + 1
    only(report(built), "stock_on_hand_conserved")


# --- orders, fulfilment orders, parcels ------------------------------------------------------------------

def test_a_move_the_lifecycle_forbids_is_reported(built):
    def backwards(doc):
        doc["history"].append({"status": "RECEIVED", "at": LATER.isoformat(), "note": None})
        doc["status"] = "RECEIVED"

    edit_doc(built, f"ORDER#{built.delivered}", "ORDER", backwards)
    item(built, f"ORDER#{built.delivered}", "ORDER").update(status="RECEIVED", gsi2pk="STATUS#RECEIVED")
    assert "order_status_legal" in {v.invariant for v in report(built).violations}


def test_a_stored_status_off_its_document_is_reported(built):
    item(built, f"ORDER#{built.cancelled}", "ORDER")["gsi2pk"] = "STATUS#ALLOCATED"
    only(report(built), "order_status_legal")


def test_a_cancelled_order_still_holding_an_allocation_is_reported(built):
    edit_doc(built, f"ORDER#{built.cancelled}", "ORDER",
             lambda doc: doc.update(allocations=[{"location_id": "BER", "sku": "SKU-1", "quantity": 1}]))
    assert "order_consistent_with_parts" in {v.invariant for v in report(built).violations}


def test_a_fulfilment_order_shipping_more_than_it_holds_is_reported(built):
    fo_id = next(pk for (pk, sk), i in store_items(built).items()
                 if sk == "FULFILLMENT" and json.loads(document_json(i) or "")["order_id"] == built.part_cancelled)
    edit_doc(built, fo_id, "FULFILLMENT", lambda doc: doc["lines"][0].update(shipped=9))
    assert "fulfillment_consistent" in {v.invariant for v in report(built).violations}


def test_a_carrier_event_applied_twice_is_reported(built):
    edit_doc(built, "SHIPMENT#S-1", "SHIPMENT", lambda doc: doc["history"].append(doc["history"][0]))
    assert "shipment_tracking_forward" in {v.invariant for v in report(built).violations}


def test_two_orders_of_one_channel_order_id_are_reported(built):
    twin = dict(item(built, f"ORDER#{built.cancelled}", "ORDER"), pk="ORDER#o000000000000000000000000")
    doc = json.loads(document_json(twin) or "")
    twin.pop(PACKED, None)
    twin["doc"] = json.dumps(doc | {"order_id": "o000000000000000000000000", "history": doc["history"][:1],
                                    "status": "RECEIVED"})
    twin.update(status="RECEIVED", gsi2pk="STATUS#RECEIVED")
    store_items(built)[(twin["pk"], "ORDER")] = twin
    assert "one_order_per_channel_order_id" in {v.invariant for v in report(built).violations}


def test_a_return_moving_backwards_is_reported(built):
    def backwards(doc):
        doc["history"].append({"status": "APPROVED", "at": LATER.isoformat(), "by": "someone", "note": None})
        doc["status"] = "APPROVED"

    edit_doc(built, f"RETURN#{built.rma}", "RETURN", backwards)
    assert "return_status_legal" in {v.invariant for v in report(built).violations}


# --- events ------------------------------------------------------------------------------------------------

def outbox(b: Built, detail_type: str, **match) -> list[tuple[tuple[str, str], int]]:
    """Where the matching events are: (outbox item's key, the event's place in the item)."""
    return [((pk, sk), n) for (pk, sk), i in store_items(b).items() if pk.startswith(OUTBOX_PREFIX)
            for n, e in enumerate(outbox_entries(i))
            if e.detail_type == detail_type and all(json.loads(e.detail).get(k) == v for k, v in match.items())]


def entry(b: Built, at: tuple[tuple[str, str], int]) -> OutboxEntry:
    key, n = at
    return outbox_entries(store_items(b)[key])[n]


def drop(b: Built, at: tuple[tuple[str, str], int]) -> None:
    """The event gone from its item, the transaction's other events kept."""
    key, n = at
    item = store_items(b)[key]
    item["events"] = [e for m, e in enumerate(item["events"]) if m != n]


def add(b: Built, event_id: str, detail_type: str, detail: dict) -> None:
    """Another outbox item, holding this one event."""
    store_items(b)[(f"{OUTBOX_PREFIX}{event_id}", OUTBOX_SK)] = {
        "pk": f"{OUTBOX_PREFIX}{event_id}", "sk": OUTBOX_SK, "expires_at": 0,
        "events": [{"detail_type": detail_type, "detail": json.dumps(detail)}]}


def test_a_status_change_whose_event_is_lost_is_reported(built):
    drop(built, outbox(built, "OrderCancelled", order_id=built.cancelled)[0])
    only(report(built), "event_per_status_change")


def test_an_event_for_a_change_that_never_happened_is_reported(built):
    cancelled = entry(built, outbox(built, "OrderCancelled", order_id=built.cancelled)[0])
    add(built, "ghost", "OrderCancelled",
        json.loads(cancelled.detail) | {"event_id": "ghost", "order_id": built.part_cancelled})
    assert "no_event_without_change" in {v.invariant for v in report(built).violations}


def test_a_record_announced_twice_is_reported(built):
    dispatched = entry(built, outbox(built, "ShipmentDispatched", shipment_id="S-1")[0])
    add(built, "again", "ShipmentDispatched", json.loads(dispatched.detail) | {"event_id": "again"})
    only(report(built), "one_event_per_record")


def test_an_old_single_event_item_is_read_too(built):
    """Items of the shape written before (sk EVENT, one event) may still be in the table after a deploy."""
    dispatched = entry(built, outbox(built, "ShipmentDispatched", shipment_id="S-1")[0])
    store_items(built)[("EVENT#again", "EVENT")] = {
        "pk": "EVENT#again", "sk": "EVENT", "detail_type": "ShipmentDispatched", "expires_at": 0,
        "detail": json.dumps(json.loads(dispatched.detail) | {"event_id": "again"})}
    only(report(built), "one_event_per_record")


def test_a_parcel_moving_unannounced_is_reported(built):
    drop(built, outbox(built, "ShipmentTrackingUpdated", shipment_id="S-2", status="IN_TRANSIT")[0])
    only(report(built), "tracking_events_match")


# --- money -------------------------------------------------------------------------------------------------

def test_a_refund_above_what_was_paid_is_reported(built):
    def overpaid(doc):
        doc["payment"]["movements"].append({"kind": "refund", "key": "re_x", "amount": "999.00",
                                            "at": NOW.isoformat(), "provider_ref": None})

    edit_doc(built, f"ORDER#{built.delivered}", "ORDER", overpaid)
    assert "payment_within_bounds" in {v.invariant for v in report(built).violations}


def test_the_providers_books_must_equal_the_orders(built):
    edit_doc(built, f"ORDER#{built.delivered}", "ORDER",
             lambda doc: doc["payment"].update(provider=PaymentProvider.SANDBOX.value))
    order = built.repos.orders.get(built.delivered)
    captured = sum((m.amount for m in order.pay.movements if m.kind == "capture"), D(0))
    refunded = sum((m.amount for m in order.pay.movements if m.kind == "refund"), D(0))
    intent = order.pay.intent_id
    assert report(built, provider_intents={intent: (captured, refunded)}).violations == []
    only(report(built, provider_intents={intent: (captured * 2, refunded)}), "provider_agrees")


def test_a_unit_refunded_twice_is_reported(built):
    edit_doc(built, f"RETURN#{built.rma}", "RETURN", lambda doc: doc["lines"][0].update(refunded=2))
    assert "returns_within_bounds" in {v.invariant for v in report(built).violations}


def test_a_gap_in_document_numbers_is_reported(built):
    counter = next(i for (pk, _), i in store_items(built).items() if pk.startswith("DOCSERIES#"))
    counter["last"] += 1
    only(report(built), "documents_gapless")


def test_a_store_credit_balance_off_its_entries_is_reported(built):
    store_items(built)[("STORE_CREDIT#web#c", "BALANCE#EUR")] = {"pk": "STORE_CREDIT#web#c",
                                                                      "sk": "BALANCE#EUR", "balance": 500}
    only(report(built), "store_credit_balanced")


# --- what the clients saw -----------------------------------------------------------------------------

def test_a_message_sent_twice_is_reported_unless_its_record_was_lost_after_the_send(built):
    from bench.invariants.clients import record_key

    sent = ["20261125T100000000000Z-shipped-abc123-aaaaaa.eml", "20261125T100001000000Z-shipped-abc123-bbbbbb.eml",
            "20261125T100002000000Z-shipped-abc123-cccccc.sms"]
    only(report(built, messages=sent), "notification_once")
    assert report(built, messages=sent, unrecorded_sends={record_key(sent[0])}).violations == []


def test_a_2xx_answer_not_in_the_table_is_reported(built):
    only(report(built, acknowledged=Acknowledged(shipments={"S-404"}, adjustments={"adj-404"})),
         "acknowledged_applied")


def test_what_a_client_saw_of_another_channels_order_is_reported(built):
    seen = Violation("channel_isolation", built.delivered, "app GET answered 200")
    assert only(report(built, observed={"channel_isolation": [seen]}), "channel_isolation") == [seen]


def test_an_unreadable_document_is_reported(built):
    item(built, "SHIPMENT#S-1", "SHIPMENT")["doc"] = "{not json"
    assert "readable_items" in {v.invariant for v in report(built).violations}


# --- a guard removed: the checker sees the race it stops ---------------------------------------------

def test_without_the_orders_version_condition_a_redelivered_allocation_double_reserves(repos, monkeypatch):
    from tests.service.flows import interleave

    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    order_id = capture(repos, ("SKU-1", 2), coid="CO-R", payment={"status": "paid", "amount": "20.00"}).order_id
    guarded = OrderRepository.save
    monkeypatch.setattr(OrderRepository, "save",
                        lambda self, order, expected: dataclasses.replace(guarded(self, order, expected), when=None))
    interleave(monkeypatch, repos, lambda: allocate_order(order_id, repos, policy, NOW))  # the same message twice
    allocate_order(order_id, repos, policy, NOW)
    found = check(load(store_items_of(repos).values()))
    assert {"reservations_match_orders", "event_per_status_change"} <= {v.invariant for v in found.violations}


def test_a_drift_the_reconciliation_repaired_is_reported(built):
    from shared.services.reconciliation.runner import run_reconciliation

    lvl = level(built, "SKU-2", "MAD")
    lvl["reserved"], lvl["available"] = lvl["reserved"] + 1, lvl["available"] - 1  # drifted, then repaired
    run_reconciliation(built.repos, LATER, policy_for=policy, trigger="operator")
    assert "stock_never_drifted" in {v.invariant for v in report(built).violations}


# --- what the soak found --------------------------------------------------------------------------------

def test_a_return_of_an_order_never_paid_refunds_no_store_credit(repos):
    """An order whose payment is pending (the channel settles it), released by an operator without the
    payment, shipped and delivered: its return refunded to the original payment is refused (nothing was
    paid), but refunded as store credit it gives the customer credit for money never received."""
    from shared.domain.returns import RefundMethod
    from shared.services.order_actions import release_order

    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    order_id = capture(repos, ("SKU-1", 1), coid="CO-U", payment={"status": "pending", "amount": "10.00"}).order_id
    allocate_order(order_id, repos, policy, NOW)  # held AWAITING_PAYMENT
    release_order(order_id, OPERATOR_PRINCIPAL, repos, NOW)
    allocate_order(order_id, repos, policy, NOW)
    ship(repos, packed(repos, order_id)["BER"], "S-U")
    apply_update(TrackingUpdate("dhl", "evt-u", "TRK-S-U", "dhl", ShipmentStatus.DELIVERED, NOW), NOW, repos, NOW)
    body = returns.ReturnRequestBody(request_id="r-u", reason=ReturnReason.SIZE_OR_FIT,
                                     lines=[RequestedLine(sku="SKU-1", quantity=1)],
                                     refund_method=RefundMethod.STORE_CREDIT)
    rma = returns.request_return(order_id, body, OPERATOR_PRINCIPAL, repos, LATER).rma_id
    returns.approve_return(rma, OPERATOR_PRINCIPAL, repos, LATER)
    receive(repos, rma, ("SKU-1", 1))
    with pytest.raises(Conflict) as refused:
        return_refunds.refund_return(rma, OPERATOR_PRINCIPAL, repos, FakeGateway(), LATER)
    assert refused.value.field == "refund_method" and "0 paid" in refused.value.message
    assert check(load(store_items_of(repos).values()), only={"returns_within_bounds"}).violations == []
