"""The order aggregate: capture validation, lifecycle moves, verification holds. No AWS."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.domain.locations import Location
from shared.domain.orders import TRANSITIONS, HoldReason, IllegalTransition, Order, OrderRequest, OrderStatus
from shared.domain.verification import verify
from tests.factories import NOW, location_request, order_body, order_request


def make_order(request: OrderRequest | None = None) -> Order:
    request = request or order_request()
    return Order(order_id="o1", channel="web", created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)


def location(location_id: str = "WH", **kw) -> Location:
    return Location(location_id=location_id, updated_at=NOW, **location_request(**kw).model_dump())


@pytest.mark.parametrize(("change", "field"), [
    ({"lines": [{"sku": "A", "quantity": 0, "unit_price": "1"}]}, "lines.0.quantity"),
    ({"lines": [{"sku": "A", "quantity": 1, "unit_price": 1.1}]}, "lines.0.unit_price"),
    ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "-1"}]}, "lines.0.unit_price"),
    ({"lines": []}, "lines"),
    ({"currency": "EUD"}, "currency"),
    ({"currency": "eur"}, "currency"),
    ({"fulfillment": {"type": "pickup"}}, "fulfillment"),
    ({"shipping_address": {"line1": "x", "city": "y", "country": "Germany"}}, "shipping_address.country"),
    ({"shipping_address": {"line1": "x", "city": "y", "country": "DE", "lat": 10}}, "shipping_address"),
    ({"promised_by": "2026-12-01T10:00:00"}, "promised_by"),
    ({"surprise": True}, "surprise"),
])
def test_capture_rejects_bad_input_naming_the_field(change, field):
    with pytest.raises(ValidationError) as info:
        OrderRequest.model_validate({**order_body(), **change})
    assert any(".".join(map(str, e["loc"])).startswith(field) for e in info.value.errors())


def test_money_is_decimal_and_total_includes_shipping_and_discount():
    req = order_request([("A", 3)], price="19.99", shipping_price="4.95", discount_total="5.00")
    assert req.total == Decimal("59.92")
    assert req.model_dump(mode="json")["lines"][0]["unit_price"] == "19.99"


def test_fingerprint_changes_with_the_body_only():
    assert order_request().fingerprint() == order_request().fingerprint()
    assert order_request().fingerprint() != order_request([("SKU-1", 2)]).fingerprint()


def test_lifecycle_allows_only_declared_moves_and_records_history():
    order = make_order()
    order.move_to(OrderStatus.ALLOCATED, NOW)
    assert [h.status for h in order.history] == [OrderStatus.ALLOCATED]
    with pytest.raises(IllegalTransition):
        order.move_to(OrderStatus.RECEIVED, NOW)
    for terminal in (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.COMPLETED):
        assert TRANSITIONS[terminal] == frozenset()


def test_verification_holds_with_typed_reasons():
    order = make_order(order_request(payment_status="pending"))
    reasons = [r for r, _ in verify(order, {"SKU-1"}, [location(ships_to=["DE"])], allow_cod=True)]
    assert reasons == [HoldReason.AWAITING_PAYMENT]

    unknown = [r for r, _ in verify(make_order(), set(), [location(ships_to=["DE"])], allow_cod=True)]
    assert unknown == [HoldReason.UNKNOWN_SKU]

    nowhere = [r for r, _ in verify(make_order(), {"SKU-1"}, [location(ships_to=["FR"])], allow_cod=True)]
    assert nowhere == [HoldReason.UNDELIVERABLE_ADDRESS]

    body = order_body()
    body["payment"]["amount"] = "1.00"
    mismatch = [r for r, _ in verify(make_order(OrderRequest.model_validate(body)), {"SKU-1"}, [location()],
                                     allow_cod=True)]
    assert mismatch == [HoldReason.PAYMENT_MISMATCH]


def test_pickup_needs_a_pickup_enabled_store():
    order = make_order(order_request(fulfillment={"type": "pickup", "location_id": "STORE"}))
    held = [r for r, _ in verify(order, {"SKU-1"}, [location("STORE", pickup_enabled=False)], allow_cod=True)]
    assert held == [HoldReason.PICKUP_UNAVAILABLE]
    assert verify(order, {"SKU-1"}, [location("STORE", pickup_enabled=True)], allow_cod=True) == []


def test_a_released_hold_is_not_raised_again():
    from shared.domain.orders import Hold

    order = make_order(order_request(payment_status="pending"))
    order.holds.append(Hold(reason=HoldReason.AWAITING_PAYMENT, detail="", placed_at=NOW, released_at=NOW))
    assert verify(order, {"SKU-1"}, [location()], allow_cod=True) == []


def test_cash_on_delivery_is_held_where_the_channel_does_not_take_it():
    order = make_order(order_request(payment_status="cod"))
    assert order.pay.status == "cod_due"
    held = [r for r, _ in verify(order, {"SKU-1"}, [location()], allow_cod=False)]
    assert held == [HoldReason.PAYMENT_METHOD_NOT_ALLOWED]
    assert verify(order, {"SKU-1"}, [location()], allow_cod=True) == []
