"""Reconciliation's pure rules: configuration, expiry, drift, silence, stuck orders."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain import reconciliation as rules
from shared.domain.fulfillment import FulfillmentChange, FulfillmentLine, FulfillmentOrder, FulfillmentStatus
from shared.domain.orders import Allocation, BackorderedLine, Hold, HoldReason, Order, OrderStatus, StatusChange
from shared.domain.shipments import Shipment
from shared.domain.stock import StockLevel
from shared.domain.tracking import ShipmentStatus
from tests.factories import NOW, order_request

pytestmark = pytest.mark.unit


def order(status=OrderStatus.ALLOCATED, since=NOW, **fields) -> Order:
    request = order_request([("SKU-1", 2)])
    return Order(order_id="o" + "0" * 24, channel="web", status=status, created_at=NOW - timedelta(days=30),
                 updated_at=since, request=request, request_fingerprint=request.fingerprint(), total=request.total,
                 history=[StatusChange(status=OrderStatus.RECEIVED, at=NOW - timedelta(days=30)),
                          StatusChange(status=status, at=since)], **fields)


# ------------------------------------------------------------------ configuration


def test_durations_and_sla_overrides_parse():
    assert rules.parse_duration("30m") == timedelta(minutes=30)
    assert rules.parse_duration(" 7d ") == timedelta(days=7)
    with pytest.raises(ValueError):
        rules.parse_duration("7 weeks")
    sla = rules.parse_sla("received=1h, SHIPPED=14d, ON_HOLD=off")
    assert sla[OrderStatus.RECEIVED] == timedelta(hours=1) and sla[OrderStatus.SHIPPED] == timedelta(days=14)
    assert OrderStatus.ON_HOLD not in sla and sla[OrderStatus.ALLOCATED] == rules.DEFAULT_SLA[OrderStatus.ALLOCATED]
    with pytest.raises(ValueError):
        rules.parse_sla("NOT_A_STATUS=1h")


def test_config_comes_from_the_environment_with_defaults():
    default = rules.config_from_env({})
    assert default.budget == timedelta(seconds=240) and default.pickup_after == timedelta(days=7)
    cfg = rules.config_from_env({"OMS_RECONCILE_BUDGET_S": "20", "OMS_RECONCILE_UNPAID_HOLD_AFTER": "24h",
                                 "OMS_RECONCILE_PICKUP_AFTER": "3d", "OMS_RECONCILE_SILENT_AFTER": "48h",
                                 "OMS_RECONCILE_SLA": "RECEIVED=5m"})
    assert (cfg.budget, cfg.unpaid_hold_after, cfg.pickup_after, cfg.silent_after) == (
        timedelta(seconds=20), timedelta(hours=24), timedelta(days=3), timedelta(hours=48))
    assert cfg.sla[OrderStatus.RECEIVED] == timedelta(minutes=5)


# ------------------------------------------------------------------ 1. expiry


def test_only_an_unpaid_hold_past_its_time_expires():
    def held(reason, placed_days_ago, released=False):
        hold = Hold(reason=reason, detail="x", placed_at=NOW - timedelta(days=placed_days_ago),
                    released_at=NOW if released else None)
        return order(OrderStatus.ON_HOLD, holds=[hold])

    after = timedelta(hours=72)
    assert rules.unpaid_hold_expired(held(HoldReason.AWAITING_PAYMENT, 4), NOW, after)
    assert not rules.unpaid_hold_expired(held(HoldReason.AWAITING_PAYMENT, 2), NOW, after)
    assert not rules.unpaid_hold_expired(held(HoldReason.UNDELIVERABLE_ADDRESS, 4), NOW, after)  # needs a person
    assert not rules.unpaid_hold_expired(held(HoldReason.AWAITING_PAYMENT, 4, released=True), NOW, after)
    assert not rules.unpaid_hold_expired(order(OrderStatus.ALLOCATED), NOW, after)


def test_a_pickup_is_abandoned_counting_from_when_it_became_ready():
    def fo(status, ready_days_ago):
        return FulfillmentOrder(
            fulfillment_order_id="f1", order_id="o1", channel="web", location_id="PAR", pickup=True, status=status,
            lines=[FulfillmentLine(sku="SKU-1", quantity=1)], created_at=NOW - timedelta(days=30),
            updated_at=NOW, history=[FulfillmentChange(status=FulfillmentStatus.READY_FOR_PICKUP,
                                                       at=NOW - timedelta(days=ready_days_ago))])

    week = timedelta(days=7)
    assert rules.pickup_abandoned(fo(FulfillmentStatus.READY_FOR_PICKUP, 8), NOW, week)
    assert not rules.pickup_abandoned(fo(FulfillmentStatus.READY_FOR_PICKUP, 6), NOW, week)  # created long ago
    assert not rules.pickup_abandoned(fo(FulfillmentStatus.COLLECTED, 8), NOW, week)


# ------------------------------------------------------------------ 2. drift


def test_drift_sets_reserved_from_the_records_and_recomputes_available():
    level = StockLevel(sku="S", location_id="L", on_hand=10, reserved=5, safety_stock=2, available=3, version=7)
    assert rules.drift(level, 5, NOW) is None
    repair = rules.drift(level, 3, NOW)
    assert (repair.after.reserved, repair.after.available, repair.after.version) == (3, 5, 8)
    assert repair.reserved_delta == -2 and repair.before == level
    # A consistent reserved with a wrong available is drift too.
    skewed = level.model_copy(update={"available": 9})
    assert rules.drift(skewed, 5, NOW).after.available == 3
    assert rules.reserved_from_records([2, 0, 1, -1]) == 3  # shipped records hold 0


def test_a_stock_partition_sums_its_live_records_per_location_and_knows_the_spent_ones():
    def record(loc, order_id, quantity):
        return rules.ReservationRecord(sku="S", location_id=loc, order_id=order_id, quantity=quantity)

    records = [record("BER", "o1", 2), record("BER", "o2", 0), record("MAD", "o3", 1), record("BER", "o4", -1)]
    partition = rules.StockPartition(sku="S", levels=[], reservations=records)
    assert partition.reserved_by_location() == {"BER": 2, "MAD": 1}
    assert [r.order_id for r in records if r.spent] == ["o2"]


# ------------------------------------------------------------------ 4. silent shipments


def test_a_shipment_is_silent_when_nothing_was_heard_for_the_threshold():
    def shipment(status=ShipmentStatus.IN_TRANSIT, heard_hours_ago=None, tracking="T1"):
        return Shipment(shipment_id="S1", fulfillment_order_id="f1", order_id="o1", channel="web", location_id="BER",
                        lines={"SKU-1": 1}, status=status, tracking_code=tracking, carrier="DHL",
                        created_at=NOW - timedelta(days=10),
                        last_tracking_at=None if heard_hours_ago is None else NOW - timedelta(hours=heard_hours_ago))

    after = timedelta(hours=72)
    assert rules.silent(shipment(), NOW, after)  # never heard of since the label, ten days ago
    assert rules.silent(shipment(heard_hours_ago=80), NOW, after)
    assert not rules.silent(shipment(heard_hours_ago=10), NOW, after)
    assert not rules.silent(shipment(ShipmentStatus.DELIVERED), NOW, after)
    assert "T1" in rules.silent_action(shipment()) and "DHL" in rules.silent_action(shipment())
    assert "no tracking number" in rules.silent_action(shipment(tracking=None))
    assert "240 h" in rules.silent_reason(shipment(), NOW)


# ------------------------------------------------------------------ 5. stuck orders and open exceptions


def test_exception_kinds_are_the_stored_names_and_an_exception_ages_from_its_cause():
    assert [k.value for k in rules.ExceptionKind] == ["STUCK_ORDER", "SILENT_SHIPMENT", "LATE_SHIPMENT", "UNCOLLECTED_PICKUP",
                                                      "PAYMENT_PROBLEM", "AUTHORIZATION_AGING", "CHANNEL_CONFLICT",
                                                      "CHANNEL_PAYLOAD_REJECTED"]
    record = rules.ExceptionRecord(kind=rules.ExceptionKind.STUCK_ORDER, subject="o1", since=NOW - timedelta(hours=2),
                                   raised_at=NOW - timedelta(minutes=5), reason="r", suggested_action="a")
    assert record.age_minutes(NOW) == 120  # since the order entered its status, not since it was raised


def test_an_order_is_stuck_after_its_status_sla_counted_from_when_it_entered_it():
    sla = rules.DEFAULT_SLA
    fresh = order(OrderStatus.ALLOCATED, since=NOW - timedelta(days=1),
                  allocations=[Allocation(location_id="BER", sku="SKU-1", quantity=2)])
    assert rules.stuck(fresh, NOW, sla) is None  # created 30 days ago, but allocated only yesterday
    old = fresh.model_copy(update={"history": [*fresh.history[:1], StatusChange(
        status=OrderStatus.ALLOCATED, at=NOW - timedelta(days=3))]})
    verdict = rules.stuck(old, NOW, sla)
    assert verdict.since == NOW - timedelta(days=3) and verdict.sla == timedelta(days=2)
    assert verdict.reason == "ALLOCATED for 3 d, longer than its SLA of 2 d"
    assert "BER" in verdict.suggested_action
    assert rules.stuck(order(OrderStatus.DELIVERED, since=NOW - timedelta(days=90)), NOW, sla) is None


@pytest.mark.parametrize("status, words", [
    (OrderStatus.RECEIVED, "allocation-dlq"),
    (OrderStatus.ON_HOLD, "AWAITING_PAYMENT"),
    (OrderStatus.BACKORDERED, "restock SKU-1"),
    (OrderStatus.PARTIALLY_SHIPPED, "ship the remaining"),
    (OrderStatus.SHIPPED, "trace"),
])
def test_every_stuck_status_gets_a_suggested_action(status, words):
    stuck = order(status, since=NOW - timedelta(days=60),
                  holds=[Hold(reason=HoldReason.AWAITING_PAYMENT, detail="x", placed_at=NOW)],
                  backordered=[BackorderedLine(sku="SKU-1", quantity=1)])
    assert words in rules.stuck(stuck, NOW, rules.DEFAULT_SLA).suggested_action
