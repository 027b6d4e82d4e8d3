"""What a ship call answers (the parcel: tracking number and link, label link), where an order's
parcels are (GET /orders/{id}), what a fulfilment order carries for its location (ship-to,
customer, promise, note, never in its event), and GET /locations/{id}."""

from __future__ import annotations

import json

import requests

from shared.domain.orders import Address
from tests.factories import TWO_WAREHOUSES, location_request, order_body, seed
from tests.integration.conftest import outbox_events
from tests.integration.test_fulfillment_api import packed, pull

SHIPPING_FROM = {
    "BER": location_request("DE", ships_to=["DE"], address=Address(name="Shop", line1="Lagerstr. 1", city="Berlin",
                                                                   postal_code="10115", country="DE")),
}
PARCEL = {"weight_grams": 800, "length_cm": "30", "width_cm": "20", "height_cm": "10"}
PROMISED = "2026-12-01T18:00:00+00:00"


def capture(api, pump, lines=(("SKU-1", 1),), **kwargs):
    order_id = api("POST", "/orders", as_="web", json=order_body(list(lines), **kwargs)).json["order_id"]
    pump()
    return order_id


# ------------------------------------------------------------------ the ship answer


def test_shipping_with_your_own_tracking_number_answers_the_parcel_and_its_tracking_link(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    capture(api, pump)
    fo_id = packed(api, "BER")

    shipped = api("POST", f"/fulfillment-orders/{fo_id}/ship",
                  json={"shipment_id": "P-1", "carrier": "DHL", "tracking_number": "JD014600003SE"})

    assert shipped.status_code == 200
    assert shipped.json["status"] == "SHIPPED" and shipped.json["fulfillment_order_id"] == fo_id  # as before
    assert shipped.json["shipment"] == {
        "shipment_id": "P-1", "carrier": "DHL", "service": None, "tracking_code": "JD014600003SE",
        "tracking_url": "https://www.dhl.com/global-en/home/tracking.html?tracking-id=JD014600003SE&submit=1",
        "label_url": None}
    # A retry answers the same parcel.
    again = api("POST", f"/fulfillment-orders/{fo_id}/ship",
                json={"shipment_id": "P-1", "carrier": "DHL", "tracking_number": "JD014600003SE"})
    assert again.status_code == 200 and again.json["shipment"] == shipped.json["shipment"]


def test_shipping_with_a_bought_label_answers_the_tracking_number_and_the_label_link(repos, api, pump):
    seed(repos, SHIPPING_FROM, {("SKU-1", "BER"): 2})
    capture(api, pump)
    fo_id = packed(api, "BER")

    answer = api("POST", f"/fulfillment-orders/{fo_id}/ship", json={"shipment_id": "P-L", "label": {"parcel": PARCEL}})

    parcel = answer.json["shipment"]
    assert parcel["carrier"] == "SANDBOX" and parcel["tracking_code"].startswith("ZS")
    assert parcel["tracking_url"] is None  # no public page for the sandbox carrier: no guessed link
    label = requests.get(parcel["label_url"], timeout=10)
    assert label.status_code == 200 and label.content.startswith(b"%PDF-")
    retried = api("POST", f"/fulfillment-orders/{fo_id}/ship", json={"shipment_id": "P-L", "label": {"parcel": PARCEL}})
    assert retried.json["shipment"]["tracking_code"] == parcel["tracking_code"]


# ------------------------------------------------------------------ where is my parcel


def test_the_order_shows_its_parcels_with_carrier_tracking_number_status_and_link(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3})
    order_id = capture(api, pump, [("SKU-1", 2)])
    fo_id = packed(api, "BER")
    assert api("GET", f"/orders/{order_id}", as_="web").json["shipments"] == []

    api("POST", f"/fulfillment-orders/{fo_id}/ship", json={
        "shipment_id": "P-A", "lines": [{"sku": "SKU-1", "quantity": 1}], "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784"})
    api("POST", f"/fulfillment-orders/{fo_id}/ship", json={"shipment_id": "P-B", "carrier": "Local courier",
                                                           "tracking_number": "LC-77"})

    order = api("GET", f"/orders/{order_id}", as_="web").json  # the channel asks: where is my parcel
    assert order["status"] == "SHIPPED"
    first, second = order["shipments"]
    assert {k: first[k] for k in ("shipment_id", "carrier", "tracking_code", "status", "tracking_url", "lines")} == {
        "shipment_id": "P-A", "carrier": "UPS", "tracking_code": "1Z999AA10123456784", "status": "LABEL_CREATED",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784", "lines": {"SKU-1": 1}}
    assert (second["shipment_id"], second["tracking_code"], second["tracking_url"]) == ("P-B", "LC-77", None)
    assert "label" not in first and "history" not in first  # the label and raw tracking stay with the location
    # A listing stays lean: no parcels there.
    assert "shipments" not in api("GET", "/orders", as_="web").json["orders"][0]


# ------------------------------------------------------------------ what a location needs


def test_a_fulfilment_order_carries_ship_to_promise_and_note_but_its_event_does_not(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    address = {"line1": "Hauptstr. 1", "line2": "Hinterhaus", "city": "Berlin", "postal_code": "10115",
               "country": "DE", "lat": 52.5, "lon": 13.4}
    capture(api, pump, customer={"id": "c-9", "email": "mia@example.com", "name": "Mia Gift", "phone": "+49 30 1234"},
            shipping_address=address, promised_by=PROMISED, note="Please leave it with the neighbour")

    [fo] = pull(api, "BER", "OPEN")
    assert fo["customer_name"] == "Mia Gift"
    assert fo["ship_to"] == {**address, "name": "Mia Gift", "region": None}  # the name defaults to the customer's
    assert fo["promised_by"] == "2026-12-01T18:00:00Z"
    assert fo["customer_note"] == "Please leave it with the neighbour"
    assert api("GET", f"/fulfillment-orders/{fo['fulfillment_order_id']}").json["ship_to"]["line2"] == "Hinterhaus"

    [requested] = outbox_events(repos, "FulfillmentRequested")
    text = json.dumps(requested)
    for personal in ("Mia", "mia@example.com", "Hauptstr", "10115", "neighbour", "+49", "c-9"):
        assert personal not in text, personal


def test_a_pickup_fulfilment_order_names_who_collects_it_and_has_no_ship_to(repos, api, pump):
    store = {"PAR": location_request("FR", ships_to=["FR"], lat=48.86, lon=2.34, pickup_enabled=True, type="store")}
    seed(repos, store, {("SKU-1", "PAR"): 3})
    capture(api, pump, country="FR", lat=48.85, lon=2.35, fulfillment={"type": "pickup", "location_id": "PAR"},
            customer={"id": "c-3", "email": "jean@example.com", "name": "Jean Dupont"})

    [fo] = pull(api, "PAR", "OPEN")
    assert (fo["customer_name"], fo["ship_to"], fo["customer_note"]) == ("Jean Dupont", None, None)
    assert "pickup_code" not in fo


def test_the_order_note_is_optional_and_bounded(repos, api):
    seed(repos, TWO_WAREHOUSES, {})
    assert api("POST", "/orders", as_="web", json=order_body(note="x" * 1001)).status_code == 422
    assert api("POST", "/orders", as_="web", json=order_body(channel_order_id="N-1", note="")).status_code == 422
    order_id = api("POST", "/orders", as_="web", json=order_body(channel_order_id="N-2", note="ring twice")
                   ).json["order_id"]
    assert api("GET", f"/orders/{order_id}", as_="web").json["request"]["note"] == "ring twice"


# ------------------------------------------------------------------ one location


def test_every_key_reads_one_location(repos, api):
    seed(repos, TWO_WAREHOUSES, {})
    one = api("GET", "/locations/BER", as_="web")
    assert one.status_code == 200
    assert (one.json["location_id"], one.json["country"]) == ("BER", "DE")
    missing = api("GET", "/locations/NOWHERE", as_="web")
    assert missing.status_code == 404 and missing.json["field"] == "location_id"
    assert api("GET", "/locations/BER", as_=None).status_code == 403
    assert api("DELETE", "/locations/BER").status_code == 405
