"""Rejection with re-routing, click-and-collect, labels we buy, and backorders after a partial shipment."""

from __future__ import annotations

import requests

from shared.domain.orders import Address
from tests.factories import TWO_WAREHOUSES, location_request, order_body, seed
from tests.integration.test_fulfillment_api import level, packed, pull


def order_of(api, order_id):
    return api("GET", f"/orders/{order_id}").json


def capture(api, pump, lines, channel="web", **kwargs):
    order_id = api("POST", "/orders", as_=channel, json=order_body(lines, **kwargs)).json["order_id"]
    pump()
    return order_id


# ------------------------------------------------------------------ reject and re-route


def test_a_rejected_fulfilment_order_is_rerouted_to_the_next_best_location(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2, ("SKU-1", "MAD"): 2})
    order_id = capture(api, pump, [("SKU-1", 1)])
    ber = pull(api, "BER")[0]["fulfillment_order_id"]
    api("POST", f"/fulfillment-orders/{ber}/accept")

    rejected = api("POST", f"/fulfillment-orders/{ber}/reject", json={"reason": "damaged on the shelf"})
    assert rejected.status_code == 200 and rejected.json["status"] == "REJECTED"
    # The old reservation went back and the new one was made in the same step.
    assert (level(repos, "SKU-1", "BER").reserved, level(repos, "SKU-1", "BER").available) == (0, 2)
    assert level(repos, "SKU-1", "MAD").reserved == 1
    pump()
    mad = pull(api, "MAD", "OPEN")
    assert [(x["order_id"], x["lines"][0]["quantity"]) for x in mad] == [(order_id, 1)]
    order = order_of(api, order_id)
    assert order["status"] == "ALLOCATED"
    assert order["allocations"] == [{"location_id": "MAD", "sku": "SKU-1", "quantity": 1}]
    assert order["rejected_locations"] == ["BER"]
    assert "BER rejected" in order["routing"][-1]["reasons"][0]

    again = api("POST", f"/fulfillment-orders/{ber}/reject", json={"reason": "again"})
    assert again.status_code == 200 and level(repos, "SKU-1", "MAD").reserved == 1  # a repeat does nothing


def test_a_rejection_with_no_location_left_backorders_and_never_returns_there(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id = capture(api, pump, [("SKU-1", 1)])
    ber = pull(api, "BER")[0]["fulfillment_order_id"]

    api("POST", f"/fulfillment-orders/{ber}/reject", json={"reason": "cannot find it"})
    pump()  # the release's StockChanged reaches the backorder release: BER is not offered again

    order = order_of(api, order_id)
    assert order["status"] == "BACKORDERED" and order["backordered"] == [{"sku": "SKU-1", "quantity": 1}]
    assert level(repos, "SKU-1", "BER").reserved == 0
    api("PUT", "/inventory/SKU-1/MAD", json={"on_hand": 1})
    pump()
    assert order_of(api, order_id)["status"] == "ALLOCATED"
    assert [x["order_id"] for x in pull(api, "MAD", "OPEN")] == [order_id]


def test_one_part_rejected_leaves_the_rest_allocated(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2, ("SKU-1", "MAD"): 1})
    order_id = capture(api, pump, [("SKU-1", 3)])
    mad = pull(api, "MAD")[0]["fulfillment_order_id"]

    api("POST", f"/fulfillment-orders/{mad}/reject", json={"reason": "closed today"})

    order = order_of(api, order_id)
    assert order["status"] == "PARTIALLY_ALLOCATED"
    assert order["allocations"] == [{"location_id": "BER", "sku": "SKU-1", "quantity": 2}]
    assert order["backordered"] == [{"sku": "SKU-1", "quantity": 1}]


def test_a_reject_after_picking_is_refused(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2, ("SKU-1", "MAD"): 2})
    capture(api, pump, [("SKU-1", 1)])
    ber = packed(api, "BER")
    assert api("POST", f"/fulfillment-orders/{ber}/reject", json={"reason": "late"}).status_code == 409
    assert api("POST", f"/fulfillment-orders/{ber}/reject", json={}).status_code == 422


def test_a_reject_racing_another_change_of_the_fulfilment_order_reroutes_once(repos, api, pump, monkeypatch):
    """Guard: the fulfilment order is written under its version. A reject deciding on a stale read
    (another reject already committed) cannot release or reserve a second time."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2, ("SKU-1", "MAD"): 2})
    order_id = capture(api, pump, [("SKU-1", 1)])
    ber = pull(api, "BER")[0]["fulfillment_order_id"]
    from shared.adapters.fulfillment_repo import FulfillmentRepository

    stale = repos.fulfillment.get(ber)
    api("POST", f"/fulfillment-orders/{ber}/reject", json={"reason": "first"})
    monkeypatch.setattr(FulfillmentRepository, "get", lambda self, i: stale.model_copy(deep=True))

    assert api("POST", f"/fulfillment-orders/{ber}/reject", json={"reason": "second"}).status_code == 503
    assert (level(repos, "SKU-1", "BER").reserved, level(repos, "SKU-1", "MAD").reserved) == (0, 1)
    assert order_of(api, order_id)["allocations"] == [{"location_id": "MAD", "sku": "SKU-1", "quantity": 1}]


# ------------------------------------------------------------------ click-and-collect

STORE = {"PAR": location_request("FR", ships_to=["FR"], lat=48.86, lon=2.34, pickup_enabled=True,
                                 type="store")}


def test_click_and_collect_goes_ready_with_a_code_and_collecting_delivers(repos, api, pump):
    seed(repos, STORE, {("SKU-1", "PAR"): 3})
    order_id = capture(api, pump, [("SKU-1", 2)], country="FR", lat=48.85, lon=2.35,
                       fulfillment={"type": "pickup", "location_id": "PAR"})
    fo_id = packed(api, "PAR")
    assert api("POST", f"/fulfillment-orders/{fo_id}/ship", json={"shipment_id": "S-1"}).status_code == 409

    ready = api("POST", f"/fulfillment-orders/{fo_id}/ready")
    assert ready.json["status"] == "READY_FOR_PICKUP" and "pickup_code" not in ready.json  # never handed out
    code = repos.fulfillment.get(fo_id).pickup_code
    assert code and len(code) == 6 and code.isdigit()
    wrong = "000000" if code != "000000" else "111111"
    refused = api("POST", f"/fulfillment-orders/{fo_id}/collect", json={"pickup_code": wrong})
    assert refused.status_code == 422 and refused.json["field"] == "pickup_code"

    collected = api("POST", f"/fulfillment-orders/{fo_id}/collect", json={"pickup_code": code})
    assert collected.json["status"] == "COLLECTED"
    after = level(repos, "SKU-1", "PAR")
    assert (after.on_hand, after.reserved, after.available) == (1, 0, 1)
    order = order_of(api, order_id)
    assert order["status"] == "DELIVERED"
    assert [h["status"] for h in order["history"]][-2:] == ["SHIPPED", "DELIVERED"]
    # A repeated collect answers the same and takes nothing more from stock.
    assert api("POST", f"/fulfillment-orders/{fo_id}/collect", json={"pickup_code": code}).status_code == 200
    assert level(repos, "SKU-1", "PAR").on_hand == 1


def test_ready_and_collect_are_for_pickup_orders_only(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    capture(api, pump, [("SKU-1", 1)])
    ber = packed(api, "BER")
    assert api("POST", f"/fulfillment-orders/{ber}/ready").status_code == 409
    assert api("POST", f"/fulfillment-orders/{ber}/collect", json={"pickup_code": "123456"}).status_code == 409


# ------------------------------------------------------------------ labels

SHIPPING_FROM = {
    "BER": location_request("DE", ships_to=["DE"], address=Address(name="Shop", line1="Lagerstr. 1", city="Berlin",
                                                                   postal_code="10115", country="DE")),
}
PARCEL = {"weight_grams": 800, "length_cm": "30", "width_cm": "20", "height_cm": "10"}


def test_shipping_with_a_bought_label_stores_it_and_links_to_it(repos, api, pump):
    seed(repos, SHIPPING_FROM, {("SKU-1", "BER"): 2})
    order_id = capture(api, pump, [("SKU-1", 1)])
    ber = packed(api, "BER")

    shipped = api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-L1", "label": {"parcel": PARCEL}})
    assert shipped.json["status"] == "SHIPPED"
    shipment = api("GET", "/shipments/S-L1").json
    assert shipment["carrier"] == "SANDBOX" and shipment["tracking_code"].startswith("ZS")
    assert shipment["label"]["key"] == "labels/S-L1.pdf" and shipment["label"]["rate"] == "4.95"
    document = requests.get(shipment["label_url"], timeout=10)
    assert document.status_code == 200 and document.content.startswith(b"%PDF-")
    assert shipment["tracking_code"].encode() in document.content
    assert order_of(api, order_id)["shipment_ids"] == ["S-L1"]

    # A retried call buys nothing more: same shipment, same tracking number.
    api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-L1", "label": {"parcel": PARCEL}})
    assert api("GET", "/shipments/S-L1").json["tracking_code"] == shipment["tracking_code"]


def test_a_label_needs_a_ship_from_address_and_excludes_a_tracking_number(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    capture(api, pump, [("SKU-1", 1)])
    ber = packed(api, "BER")
    no_address = api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-1", "label": {"parcel": PARCEL}})
    assert no_address.status_code == 422 and no_address.json["field"] == "label"
    both = api("POST", f"/fulfillment-orders/{ber}/ship",
               json={"shipment_id": "S-1", "tracking_number": "X1", "label": {"parcel": PARCEL}})
    assert both.status_code == 422
    assert level(repos, "SKU-1", "BER").on_hand == 2  # nothing shipped
    assert api("GET", "/shipments/S-1").status_code == 404


# ------------------------------------------------------------------ backorders after a partial shipment


def test_a_partially_shipped_order_still_gets_its_backorder_when_stock_arrives(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id = capture(api, pump, [("SKU-1", 3)], channel="marketplace")
    assert order_of(api, order_id)["status"] == "PARTIALLY_ALLOCATED"
    ber = packed(api, "BER")
    api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-1"})
    assert order_of(api, order_id)["status"] == "PARTIALLY_SHIPPED"

    api("PUT", "/inventory/SKU-1/BER", json={"on_hand": 1})
    pump()

    order = order_of(api, order_id)
    assert order["status"] == "PARTIALLY_SHIPPED" and order["backordered"] == []
    second = [x for x in pull(api, "BER", "OPEN") if x["order_id"] == order_id]
    assert len(second) == 1 and second[0]["lines"][0]["quantity"] == 1
    for step in ("accept", "pick", "pack"):
        api("POST", f"/fulfillment-orders/{second[0]['fulfillment_order_id']}/{step}")
    api("POST", f"/fulfillment-orders/{second[0]['fulfillment_order_id']}/ship", json={"shipment_id": "S-2"})
    assert order_of(api, order_id)["status"] == "SHIPPED"


def test_a_label_the_provider_hosts_is_copied_into_the_bucket(aws, monkeypatch):
    """EasyPost answers with a URL, not bytes: we keep our own copy, and link to it."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from shared.carriers.adapter import Label, LabelRequest, Parcel
    from shared.domain.shipments import Shipment
    from shared.services import labels

    hosted = b"%PDF-1.4 provider copy"
    monkeypatch.setattr(labels, "fetch_document", lambda url: hosted if url == "https://cdn.example/l.pdf" else None)

    class Provider:
        def buy_label(self, request):
            return Label(provider="easypost", carrier="USPS", service="Priority", tracking_code="9400100000000000000001",
                         label_format="PDF", rate_amount=Decimal("7.10"), rate_currency="USD",
                         provider_shipment_id="shp_1", label_url="https://cdn.example/l.pdf")

    address = Address(line1="1 Main St", city="Springfield", country="US")
    request = LabelRequest(reference="S-HOSTED", from_address=address, to_address=address,
                           parcel=Parcel(500, Decimal(10), Decimal(10), Decimal(10)))
    _, stored = labels.buy_label(request, Provider())
    assert stored.key == "labels/S-HOSTED.pdf" and stored.provider_url == "https://cdn.example/l.pdf"
    shipment = Shipment(shipment_id="S-HOSTED", fulfillment_order_id="f1", order_id="o1", channel="web",
                        location_id="BER", lines={"SKU-1": 1}, label=stored, created_at=datetime.now(UTC))
    assert requests.get(labels.label_link(shipment), timeout=10).content == hosted


# ------------------------------------------------------------------ parts that do not exist yet, retries, refusals

THREE = {**TWO_WAREHOUSES, "PAR": location_request("FR", ships_to=["DE", "FR"], lat=48.86, lon=2.34, priority=3)}


def test_a_part_not_created_yet_keeps_the_order_from_counting_as_shipped(repos, api, pump):
    """Guard: an id the order names whose fulfilment order request-fulfillment has not created yet
    counts as open. Without it the order went SHIPPED (then DELIVERED) with a part still to come."""
    seed(repos, THREE, {("SKU-1", "BER"): 1, ("SKU-2", "PAR"): 1, ("SKU-2", "MAD"): 1})
    order_id = capture(api, pump, [("SKU-1", 1), ("SKU-2", 1)])
    par = pull(api, "PAR")[0]["fulfillment_order_id"]
    api("POST", f"/fulfillment-orders/{par}/reject", json={"reason": "broken"})  # re-routed to MAD: not pumped
    ber = pull(api, "BER")[0]["fulfillment_order_id"]

    api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-BER"})

    assert order_of(api, order_id)["status"] == "PARTIALLY_SHIPPED"
    pump()
    mad = pull(api, "MAD", "OPEN")[0]["fulfillment_order_id"]
    assert api("POST", f"/fulfillment-orders/{mad}/ship", json={"shipment_id": "S-MAD"}).status_code == 200
    assert order_of(api, order_id)["status"] == "SHIPPED"


def test_an_order_with_a_rejected_part_can_still_be_cancelled(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 1, ("SKU-1", "MAD"): 1})
    order_id = capture(api, pump, [("SKU-1", 1)])
    ber = pull(api, "BER")[0]["fulfillment_order_id"]
    api("POST", f"/fulfillment-orders/{ber}/reject", json={"reason": "broken"})
    pump()

    cancelled = api("POST", f"/orders/{order_id}/cancel", as_="web")

    assert cancelled.status_code == 200 and cancelled.json["status"] == "CANCELLED"
    assert [x["status"] for x in pull(api, "MAD")] == ["CANCELLED"]
    assert level(repos, "SKU-1", "MAD").reserved == 0 and level(repos, "SKU-1", "BER").reserved == 0


def test_a_cancel_racing_the_creation_of_a_fulfilment_order_cancels_it_too(repos, api, pump, monkeypatch):
    """Guard: cancel checks that the fulfilment orders it did not find are still absent when it
    commits. Here its read misses one that exists (created between read and commit)."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 1})
    order_id = capture(api, pump, [("SKU-1", 1)])
    from shared.adapters.fulfillment_repo import FulfillmentRepository

    real, calls = FulfillmentRepository.many, []
    monkeypatch.setattr(FulfillmentRepository, "many",
                        lambda self, ids: calls.append(ids) or ([] if len(calls) == 1 else real(self, ids)))

    assert api("POST", f"/orders/{order_id}/cancel", as_="web").json["status"] == "CANCELLED"
    assert [x["status"] for x in pull(api, "BER")] == ["CANCELLED"]


def test_a_retried_partial_shipment_answers_as_the_first_did(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3})
    capture(api, pump, [("SKU-1", 3)])
    ber = pull(api, "BER")[0]["fulfillment_order_id"]
    body = {"shipment_id": "S-PART", "lines": [{"sku": "SKU-1", "quantity": 2}]}
    assert api("POST", f"/fulfillment-orders/{ber}/ship", json=body).status_code == 200

    retry = api("POST", f"/fulfillment-orders/{ber}/ship", json=body)

    assert retry.status_code == 200 and retry.json["status"] == "PARTIALLY_SHIPPED"
    assert level(repos, "SKU-1", "BER").on_hand == 1


def test_shipping_more_than_is_on_hand_is_a_conflict_not_busy(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    capture(api, pump, [("SKU-1", 2)])
    api("PUT", "/inventory/SKU-1/BER", json={"on_hand": 1})  # a count found one missing
    ber = pull(api, "BER")[0]["fulfillment_order_id"]

    refused = api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-SHORT"})

    assert refused.status_code == 409 and refused.json["field"] == "stock"
    assert api("GET", f"/fulfillment-orders/{ber}").json["status"] == "OPEN"
