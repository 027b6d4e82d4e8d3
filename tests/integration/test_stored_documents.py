"""Documents an earlier version stored still load: the input checks tightened since (plain decimal
amounts, time bounds) hold for what arrives, not for what we wrote ourselves. An order stored with a
total of "1E+1" or a payment of "-0" must still be read, allocated, listed and reconciled."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.adapters.expressions import Put
from shared.adapters.locations_repo import PK as LOCATION_PK
from shared.adapters.orders_repo import OrderFilter, OrderRepository
from shared.adapters.packed import PACKED
from shared.adapters.shipments_repo import shipment_item
from shared.domain.locations import Location, LocationRequest
from shared.domain.orders import Order, OrderRequest, OrderStatus
from shared.domain.shipments import Shipment, StoredLabel
from shared.repositories import in_memory
from tests.factories import NOW, location_request, order_body, order_request

# Read by the previous version's Decimal(), stored as str(Decimal) wrote it back.
OLD_AMOUNTS = {"total": "1E+1", "unit_price": "1E+1", "payment": "-0", "shipping_price": "0E-2"}
OLD_PROMISE = "0999-12-31T00:00:00Z"  # before the time bounds (1000..9998 UTC)


def old_order_doc(order: Order) -> str:
    doc = order.model_dump(mode="json")
    doc["total"] = OLD_AMOUNTS["total"]
    doc["request"]["lines"][0]["unit_price"] = OLD_AMOUNTS["unit_price"]
    doc["request"]["payment"]["amount"] = OLD_AMOUNTS["payment"]
    doc["request"]["shipping_price"] = OLD_AMOUNTS["shipping_price"]
    doc["request"]["promised_by"] = OLD_PROMISE
    return json.dumps(doc)


def plain(item: dict) -> dict:
    """The item as versions before compressed documents wrote it: a plain JSON `doc`, no `docz`."""
    return {k: v for k, v in item.items() if k != PACKED}


def old_order(repos, order_id: str = "o" + "a" * 24, channel: str = "web") -> str:
    """The order as the previous version wrote it: the item shape of OrderRepository._item."""
    request = order_request(price="10")
    order = Order(order_id=order_id, channel=channel, created_at=NOW, updated_at=NOW, request=request,
                  request_fingerprint=request.fingerprint(), total=request.total)
    item = plain(OrderRepository._item(order)) | {"doc": old_order_doc(order)}
    repos.commit(Put(item))
    return order_id


def old_location(repos, location_id: str = "BER") -> None:
    location = Location(location_id=location_id, updated_at=NOW, **location_request("DE").model_dump())
    doc = location.model_dump(mode="json") | {"handling_cost": "1E+1"}
    repos.commit(Put({"pk": LOCATION_PK, "sk": location_id, "doc": json.dumps(doc)}))


def old_shipment(repos, shipment_id: str = "s-1") -> None:
    label = StoredLabel(provider="sandbox", key="labels/s-1.pdf", label_format="PDF", rate=Decimal("5"),
                        currency="EUR", provider_shipment_id="p-1")
    shipment = Shipment(shipment_id=shipment_id, fulfillment_order_id="fo-1", order_id="o" + "a" * 24,
                        channel="web", location_id="BER", lines={"SKU-1": 1}, carrier="dhl",
                        tracking_code="TRK-1", label=label, created_at=NOW)
    doc = shipment.model_dump(mode="json")
    doc["label"]["rate"] = "1E+1"
    repos.commit(Put(plain(shipment_item(shipment)) | {"doc": json.dumps(doc)}))


def test_an_order_stored_with_old_amounts_and_promise_loads_through_every_read():
    repos = in_memory()
    order_id = old_order(repos)
    order = repos.orders.get(order_id)
    assert order is not None
    assert order.total == Decimal(10) and order.request.payment.amount == 0
    assert order.request.lines[0].unit_price == Decimal(10)
    assert order.request.promised_by is not None and order.request.promised_by.year == 999
    listed, _ = repos.orders.list(OrderFilter(channel="web"), 10, None, [])
    assert [o.order_id for o in listed] == [order_id]
    by_month, _ = repos.orders.list(OrderFilter(), 10, None, [NOW.strftime("%Y-%m")])
    assert [o.order_id for o in by_month] == [order_id]
    # And written back as read, compressed now: the next version reads it again.
    repos.commit(repos.orders.save(order, order.version))
    assert repos.orders.get(order_id) == order
    stored = repos.store.get(f"ORDER#{order_id}", "ORDER")
    assert stored is not None and "doc" not in stored and PACKED in stored


def test_a_location_stored_with_an_old_amount_loads_for_routing():
    repos = in_memory()
    old_location(repos)
    assert repos.locations.get("BER").handling_cost == Decimal(10)
    assert [loc.location_id for loc in repos.locations.all_cached()] == ["BER"]


def test_a_shipment_label_stored_with_an_old_rate_loads():
    repos = in_memory()
    old_shipment(repos)
    assert repos.shipments.get("s-1").label.rate == Decimal(10)
    assert [s.shipment_id for s in repos.shipments.for_tracking("TRK-1")] == ["s-1"]
    assert [s.shipment_id for s in repos.shipments.many(["s-1"])] == ["s-1"]


def test_reconciliation_walks_an_old_order():
    repos = in_memory()
    order_id = old_order(repos)
    found = list(repos.reconciliation.orders_in_status(OrderStatus.RECEIVED, None, NOW + timedelta(days=1)))
    assert [(type(o), o.order_id) for _, o in found] == [(Order, order_id)]


# ------------------------------------------------------------------ the same values as input


@pytest.mark.parametrize("amount", ["1E+1", "-0", "0E-2"])
def test_the_same_amounts_are_still_refused_as_input(amount):
    with pytest.raises(ValidationError):
        OrderRequest.model_validate(order_body(payment={"status": "paid", "amount": amount}))
    with pytest.raises(ValidationError):
        OrderRequest.model_validate_json(json.dumps(order_body(shipping_price=amount)))
    with pytest.raises(ValidationError):
        LocationRequest.model_validate(location_request("DE").model_dump(mode="json") | {"handling_cost": amount})


def test_the_same_promise_is_still_refused_as_input():
    with pytest.raises(ValidationError):
        OrderRequest.model_validate(order_body(promised_by=OLD_PROMISE))


@pytest.mark.parametrize(("path", "amount"), [("payment", "1E+1"), ("payment", "-0"), ("shipping_price", "-0")])
def test_the_api_still_answers_422_for_them(api, path, amount):
    body = order_body()
    if path == "payment":
        body["payment"]["amount"] = amount
    else:
        body[path] = amount
    answer = api("POST", "/orders", as_="web", json=body)
    assert answer.status_code == 422, answer.json


def test_the_api_reads_an_old_order(api, repos):
    order_id = old_order(repos)
    answer = api("GET", f"/orders/{order_id}", as_="web")
    assert answer.status_code == 200, answer.json
    assert answer.json["total"] == "1E+1" and answer.json["request"]["payment"]["amount"] == "-0"
    listed = api("GET", "/orders", as_="web")
    assert listed.status_code == 200 and [o["order_id"] for o in listed.json["orders"]] == [order_id]
    cancelled = api("POST", f"/orders/{order_id}/cancel", as_="web", json={"reason": "changed their mind"})
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "CANCELLED" and cancelled.json["total"] == "1E+1"
