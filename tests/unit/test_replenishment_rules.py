"""Reorder points, suggestions, the low-stock crossing and receiving rules (shared/domain/replenishment.py,
shared/domain/purchasing.py): the worked example of docs/replenishment.md and properties (hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.domain.forecast import Forecast, Model
from shared.domain.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderRequest,
    PurchaseOrderStatus,
    ReceiptRequest,
    Supplier,
    SupplierRequest,
    receive,
    supplier_for,
)
from shared.domain.replenishment import LowChange, low_change, reorder_point, suggest, z_for
from shared.errors import Conflict, InvalidInput

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
TODAY = NOW.date()


def supplier(supplier_id: str = "ACME", **overrides) -> Supplier:
    fields = dict(name="Acme", lead_time_days=9, skus=["TEE-*"], min_order_quantity=100, order_multiple=12,
                  order_cycle_days=14, service_level=0.95)
    fields.update(overrides)
    return Supplier(supplier_id=supplier_id, updated_at=NOW, updated_by="operator", **fields)


def forecast(level: float = 20.0, sigma: float = 5.0, trend: float = 0.0) -> Forecast:
    return Forecast(model=Model.HOLT if trend else Model.SES, alpha=0.2, level=level, trend=trend, sigma=sigma,
                    history_days=112, units=2240, computed_on=TODAY)


# --- the worked example ---------------------------------------------------------------------------

def test_reorder_point_worked_example():
    """20 a day, sigma 5, lead time 9 days, 95% service level:
    demand over the lead time 9 x 20 = 180; z = 1.645; safety stock 1.645 x 5 x sqrt(9) = 24.67;
    reorder point ceil(180 + 24.67) = 205."""
    point = reorder_point(forecast(), supplier())
    assert round(point.z, 3) == 1.645
    assert point.demand_over_lead_time == 180
    assert round(point.safety_units, 2) == 24.67
    assert point.reorder_point == 205
    assert point.daily_demand == 20


def test_suggestion_worked_example():
    """Available 150 and 30 on order: position 180, at or below 205, so order up to 205 + 14 days x 20
    = 485: 305 units, at least 100, in cases of 12: 312. Cover: 150 / 20 = 7.5 days."""
    s = suggest("TEE-BLK-M", "BER", 150, 30, forecast(), supplier())
    assert (s.position, s.reorder_point, s.order_up_to, s.quantity, s.days_of_cover, s.low) == \
        (180, 205, 485, 312, 7.5, True)
    assert any("order up to 485" in r for r in s.reasons)


def test_nothing_to_order_above_the_reorder_point_or_without_demand():
    enough = suggest("TEE-BLK-M", "BER", 150, 100, forecast(), supplier())
    assert enough.quantity == 0 and enough.low is True  # on the shelf it is low, but enough is coming
    idle = suggest("TEE-BLK-M", "BER", 0, 0, forecast(level=0, sigma=0), supplier())
    assert (idle.quantity, idle.reorder_point, idle.low, idle.days_of_cover) == (0, 0, False, None)


def test_without_a_supplier_or_a_forecast_there_is_no_reorder_point():
    assert suggest("MUG-1", "BER", 3, 0, forecast(), None).reorder_point is None
    assert suggest("TEE-1", "BER", 3, 0, None, supplier()).reasons[0].startswith("no forecast yet")


def test_service_level_to_z_comes_from_the_normal_distribution():
    assert round(z_for(0.5), 6) == 0 and round(z_for(0.99), 3) == 2.326 and round(z_for(0.999), 3) == 3.09


# --- crossing ----------------------------------------------------------------------------------------

def test_low_is_announced_on_the_way_down_and_re_armed_on_the_way_up():
    point = reorder_point(forecast(), supplier())  # 205
    assert low_change(False, 206, point) is None
    assert low_change(False, 205, point) is LowChange.FELL
    assert low_change(True, 100, point) is None  # still low: nothing again
    assert low_change(True, 206, point) is LowChange.RECOVERED
    assert low_change(False, 0, reorder_point(forecast(level=0, sigma=0), supplier())) is None


@given(st.integers(-50, 500), st.integers(0, 300), st.booleans())
def test_the_flag_after_a_change_is_whether_the_pair_is_low(available, rp_level, was_low):
    point = reorder_point(forecast(level=rp_level / 9, sigma=0), supplier())
    change = low_change(was_low, available, point)
    now_low = {LowChange.FELL: True, LowChange.RECOVERED: False, None: was_low}[change]
    assert now_low == (point.reorder_point >= 1 and available <= point.reorder_point)


# --- properties of reorder points and suggestions --------------------------------------------------

levels = st.floats(min_value=0, max_value=1000, allow_nan=False)
sigmas = st.floats(min_value=0, max_value=200, allow_nan=False)


@given(levels, sigmas, st.integers(1, 120), st.floats(0.5, 0.99), st.floats(0.5, 0.99))
def test_a_higher_service_level_never_lowers_the_reorder_point(level, sigma, lead, a, b):
    low, high = sorted((a, b))
    f = forecast(level, sigma)
    assert reorder_point(f, supplier(lead_time_days=lead, service_level=low)).reorder_point <= \
        reorder_point(f, supplier(lead_time_days=lead, service_level=high)).reorder_point


@given(levels, sigmas, st.integers(1, 119))
def test_a_longer_lead_time_never_lowers_the_reorder_point(level, sigma, lead):
    f = forecast(level, sigma)
    assert reorder_point(f, supplier(lead_time_days=lead)).reorder_point <= \
        reorder_point(f, supplier(lead_time_days=lead + 1)).reorder_point


@given(levels, sigmas, st.integers(-100, 2000), st.integers(0, 2000), st.integers(1, 500), st.integers(1, 48))
def test_a_suggested_quantity_is_orderable_and_lifts_the_position_above_the_reorder_point(
        level, sigma, available, on_order, minimum, multiple):
    terms = supplier(min_order_quantity=minimum, order_multiple=multiple)
    s = suggest("TEE-1", "BER", available, on_order, forecast(level, sigma), terms)
    assert s.reorder_point is not None
    if s.quantity:
        assert s.quantity >= minimum and s.quantity % multiple == 0
        assert s.position + s.quantity > s.reorder_point
    else:
        assert s.reorder_point < 1 or s.position > s.reorder_point


@given(st.floats(0, 100), st.floats(-2, 2), st.integers(1, 60))
def test_a_trend_is_summed_over_the_lead_time_and_never_below_zero(level, trend, lead):
    f = forecast(level, 1.0, trend)
    point = reorder_point(f, supplier(lead_time_days=lead))
    expected = sum(max(0.0, level + h * trend) for h in range(1, lead + 1))
    assert math.isclose(point.demand_over_lead_time, expected, abs_tol=1e-6)


# --- suppliers ---------------------------------------------------------------------------------------

def test_the_supplier_naming_a_sku_beats_a_pattern_then_the_shortest_lead_time():
    pattern = supplier("A-PATTERN", lead_time_days=2)
    exact = supplier("B-EXACT", skus=["TEE-BLK-M"], lead_time_days=30)
    slow, fast = supplier("C-SLOW", lead_time_days=20), supplier("D-FAST", lead_time_days=5)
    assert supplier_for("TEE-BLK-M", [pattern, exact]).supplier_id == "B-EXACT"
    assert supplier_for("TEE-WHT-S", [slow, fast]).supplier_id == "D-FAST"
    assert supplier_for("TEE-WHT-S", [supplier("X", lead_time_days=5), fast]).supplier_id == "D-FAST"
    assert supplier_for("MUG-1", [slow]) is None
    assert supplier_for("TEE-1", [supplier(active=False)]) is None


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "lead_time_days": 0, "skus": ["A"]}, "lead_time_days"),
    ({"name": "x", "lead_time_days": 5, "skus": []}, "skus"),
    ({"name": "x", "lead_time_days": 5, "skus": ["A B"]}, "skus"),
    ({"name": "x", "lead_time_days": 5, "skus": ["A"], "service_level": 1.0}, "service_level"),
    ({"name": "x", "lead_time_days": "5", "skus": ["A"]}, "lead_time_days"),
])
def test_a_bad_supplier_names_its_field(body, field):
    with pytest.raises(ValidationError) as refused:
        SupplierRequest.model_validate(body)
    assert refused.value.errors()[0]["loc"][0] == field


def test_a_purchase_order_request_needs_lines_or_suggestions_and_each_sku_once():
    base = {"supplier_id": "ACME", "location_id": "BER"}
    for bad in ({}, {"lines": []}, {"from_suggestions": True, "lines": [{"sku": "A", "quantity": 1}]},
                {"lines": [{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}]}):
        with pytest.raises(ValidationError):
            PurchaseOrderRequest.model_validate(base | bad)
    assert PurchaseOrderRequest.model_validate(base | {"from_suggestions": True}).lines is None


# --- receiving ---------------------------------------------------------------------------------------

def order(**lines: int) -> PurchaseOrder:
    return PurchaseOrder(purchase_order_id="PO-1", supplier_id="ACME", location_id="BER", source="manual",
                         lines=[PurchaseOrderLine(sku=sku, quantity=q) for sku, q in lines.items()],
                         expected_at=NOW, created_at=NOW, created_by="operator", updated_at=NOW)


def receipt(receipt_id: str = "R-1", final: bool = False, **lines: int) -> ReceiptRequest:
    return ReceiptRequest(receipt_id=receipt_id, final=final,
                          lines=[{"sku": sku, "quantity": q} for sku, q in lines.items()])


def test_a_partial_receipt_then_the_rest():
    first = receive(order(A=10, B=5), receipt(A=4), "f1", "operator", NOW)
    assert first.order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert (first.on_hand, first.off_order) == ({"A": 4}, {"A": 4})
    assert first.order.on_order == {"A": 6, "B": 5}
    rest = receive(first.order, receipt("R-2", A=6, B=5), "f2", "operator", NOW)
    assert rest.order.status == PurchaseOrderStatus.RECEIVED and rest.order.on_order == {}
    assert rest.order.receipt_count == 2 and rest.order.version == 3 and not rest.order.over_received


def test_an_over_receipt_goes_on_hand_and_is_flagged():
    done = receive(order(A=10), receipt(A=13), "f", "operator", NOW)
    assert done.on_hand == {"A": 13} and done.off_order == {"A": 10}
    assert done.receipt.lines[0].over_received == 3 and done.order.lines[0].over_received == 3
    assert done.order.over_received and done.order.status == PurchaseOrderStatus.RECEIVED


def test_a_final_receipt_closes_what_is_left():
    done = receive(order(A=10, B=5), receipt(final=True, A=7), "f", "operator", NOW)
    assert done.order.status == PurchaseOrderStatus.CLOSED
    assert done.on_hand == {"A": 7} and done.off_order == {"A": 10, "B": 5}
    with pytest.raises(Conflict):
        receive(done.order, receipt("R-2", A=3), "f", "operator", NOW)


def test_a_sku_not_on_the_order_is_refused_naming_its_line():
    with pytest.raises(InvalidInput) as refused:
        receive(order(A=10), receipt(A=1, Z=1), "f", "operator", NOW)
    assert refused.value.field == "lines.1.sku"


@given(st.lists(st.integers(1, 30), min_size=1, max_size=6), st.integers(1, 60))
def test_units_leave_on_order_exactly_once_and_all_go_on_hand(deliveries, ordered):
    po, on_hand, off = order(A=ordered), 0, 0
    for n, units in enumerate(deliveries):
        if po.status not in (PurchaseOrderStatus.OPEN, PurchaseOrderStatus.PARTIALLY_RECEIVED):
            break
        done = receive(po, receipt(f"R-{n}", A=units), "f", "operator", NOW)
        po, on_hand, off = done.order, on_hand + done.on_hand["A"], off + done.off_order.get("A", 0)
    line = po.lines[0]
    assert on_hand == line.received and off == min(ordered, line.received)
    assert line.over_received == max(0, line.received - ordered)
    assert po.on_order.get("A", 0) == ordered - off
