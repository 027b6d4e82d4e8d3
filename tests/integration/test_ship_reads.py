"""fulfillment-api's ship and collect on moto read the fulfilment order, its order and (for a label)
its location in one BatchGetItem, as the fulfilment order's id names them; then one transaction.
A retried ship answers the same parcel and takes nothing twice. The ids: tests/service/test_fulfillment_ids.py."""

from __future__ import annotations

from tests.factories import seed
from tests.integration.conftest import count_store_calls
from tests.integration.test_fulfillment_api import level, packed
from tests.integration.test_fulfillment_flows import STORE
from tests.integration.test_parcels_and_work_orders import PARCEL, SHIPPING_FROM, capture


def test_a_ship_with_a_bought_label_reads_once_and_a_retry_takes_nothing_twice(repos, api, pump, monkeypatch):
    seed(repos, SHIPPING_FROM, {("SKU-1", "BER"): 3})
    order_id = capture(api, pump, [("SKU-1", 2)])
    fo_id = packed(api, "BER")
    calls = count_store_calls(monkeypatch, repos, ("get", "batch_get", "transact"))

    shipped = api("POST", f"/fulfillment-orders/{fo_id}/ship", json={"shipment_id": "P-1", "label": {"parcel": PARCEL}})

    assert shipped.status_code == 200 and shipped.json["status"] == "SHIPPED"
    # Guard: the merged read. Reading the fulfilment order first, then its order and location, was
    # {"get": 1, "batch_get": 1, "transact": 1}.
    assert calls == {"batch_get": 1, "transact": 1}
    assert repos.orders.get(order_id).status.value == "SHIPPED"
    again = api("POST", f"/fulfillment-orders/{fo_id}/ship", json={"shipment_id": "P-1", "label": {"parcel": PARCEL}})
    assert again.status_code == 200
    # The same parcel; its label link is signed afresh on each answer (per second), so compare the
    # rest and that both links name the same label object.
    first, retried = dict(shipped.json["shipment"]), dict(again.json["shipment"])
    assert first.pop("label_url").split("?")[0] == retried.pop("label_url").split("?")[0]
    assert retried == first
    after = level(repos, "SKU-1", "BER")
    assert (after.on_hand, after.reserved) == (1, 0)  # taken once
    assert repos.orders.get(order_id).shipment_ids == ["P-1"]


def test_a_collect_reads_its_part_and_order_once(repos, api, pump, monkeypatch):
    seed(repos, STORE, {("SKU-1", "PAR"): 3})
    order_id = capture(api, pump, [("SKU-1", 2)], country="FR", lat=48.85, lon=2.35,
                       fulfillment={"type": "pickup", "location_id": "PAR"})
    fo_id = packed(api, "PAR")
    api("POST", f"/fulfillment-orders/{fo_id}/ready")
    code = repos.fulfillment.get(fo_id).pickup_code
    calls = count_store_calls(monkeypatch, repos, ("get", "batch_get", "transact"))

    assert api("POST", f"/fulfillment-orders/{fo_id}/collect", json={"pickup_code": code}).status_code == 200

    assert calls == {"batch_get": 1, "transact": 1}  # was a GetItem of each
    assert repos.orders.get(order_id).status.value == "DELIVERED"


def test_an_unknown_id_of_either_shape_is_not_found(api):
    for fo_id in ("f" + "0" * 24, f"f{'0' * 12}.o{'0' * 24}.BER"):
        answer = api("POST", f"/fulfillment-orders/{fo_id}/ship", json={"shipment_id": "P-9", "carrier": "DHL",
                                                                       "tracking_number": "JD014600003SE"})
        assert answer.status_code == 404 and answer.json["field"] == "fulfillment_order_id"
