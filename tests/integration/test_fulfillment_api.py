"""Fulfilment orders on moto: one per location of an allocation, pulled and advanced by the location."""

from __future__ import annotations

from tests.factories import TWO_WAREHOUSES, order_body, seed
from tests.integration.conftest import outbox_events, sqs_event


def pull(api, location, status=None):
    query = {"status": status} if status else {}
    return api("GET", f"/locations/{location}/fulfillment-orders", query_string=query).json["fulfillment_orders"]


def test_an_allocation_becomes_one_fulfilment_order_per_location(api, allocated):
    ber, mad = pull(api, "BER", "OPEN"), pull(api, "MAD", "OPEN")
    assert len(ber) == len(mad) == 1
    assert {(x["sku"], x["quantity"]) for x in ber[0]["lines"]} == {("SKU-1", 2), ("SKU-2", 1)}
    assert [(x["sku"], x["quantity"]) for x in mad[0]["lines"]] == [("SKU-1", 1)]
    assert ber[0]["order_id"] == mad[0]["order_id"] == allocated


def test_steps_are_idempotent_and_never_go_back(api, allocated):
    fo_id = pull(api, "BER")[0]["fulfillment_order_id"]
    assert api("POST", f"/fulfillment-orders/{fo_id}/pack").status_code == 409  # not picked yet
    assert api("POST", f"/fulfillment-orders/{fo_id}/accept").json["status"] == "ACCEPTED"
    assert api("POST", f"/fulfillment-orders/{fo_id}/accept").json["status"] == "ACCEPTED"
    api("POST", f"/fulfillment-orders/{fo_id}/pick")
    assert api("POST", f"/fulfillment-orders/{fo_id}/pack").json["status"] == "PACKED"
    late = api("POST", f"/fulfillment-orders/{fo_id}/pick")
    assert late.status_code == 200 and late.json["status"] == "PACKED"
    stored = api("GET", f"/fulfillment-orders/{fo_id}").json
    assert [h["status"] for h in stored["history"]] == ["OPEN", "ACCEPTED", "PICKED", "PACKED"]
    assert pull(api, "BER", "PACKED")[0]["fulfillment_order_id"] == fo_id
    assert pull(api, "BER", "OPEN") == []


def test_a_redelivered_allocation_creates_nothing_new(api, allocated, functions, repos):
    detail = outbox_events(repos, "OrderAllocated")[0]
    fo_id = pull(api, "BER")[0]["fulfillment_order_id"]
    api("POST", f"/fulfillment-orders/{fo_id}/accept")

    assert functions.invoke("request-fulfillment", sqs_event("OrderAllocated", detail)) == {"batchItemFailures": []}
    assert len(pull(api, "BER")) == len(pull(api, "MAD")) == 1
    assert api("GET", f"/fulfillment-orders/{fo_id}").json["status"] == "ACCEPTED"  # not reset to OPEN


def test_channels_do_not_work_fulfilment_orders(api, allocated):
    fo_id = pull(api, "BER")[0]["fulfillment_order_id"]
    assert api("POST", f"/fulfillment-orders/{fo_id}/accept", as_="web").status_code == 403
    assert api("GET", "/locations/BER/fulfillment-orders", as_="web").status_code == 403
    assert api("GET", "/fulfillment-orders/f" + "0" * 24).status_code == 404
    assert api("GET", "/fulfillment-orders/nope").status_code == 422


def test_cancelling_the_order_cancels_its_fulfilment_orders(api, allocated):
    ber = pull(api, "BER")[0]["fulfillment_order_id"]
    api("POST", f"/fulfillment-orders/{ber}/accept")

    assert api("POST", f"/orders/{allocated}/cancel", as_="web").json["status"] == "CANCELLED"

    assert {x["status"] for x in pull(api, "BER") + pull(api, "MAD")} == {"CANCELLED"}
    assert api("POST", f"/fulfillment-orders/{ber}/pick").status_code == 409


def test_a_fulfilment_request_arriving_after_the_cancel_creates_nothing(repos, api, functions, monkeypatch):
    """An allocation of an earlier version left its parts to request-fulfillment: cancelled before
    that ran, the order gets none."""
    from tests.service.flows import allocating_as_before

    allocating_as_before(monkeypatch)
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id = api("POST", "/orders", as_="web", json=order_body([("SKU-1", 1)])).json["order_id"]
    from shared.domain.channels import seed_policy
    from shared.services.allocation import allocate_order
    from tests.factories import NOW

    allocate_order(order_id, repos, seed_policy, NOW)
    detail = outbox_events(repos, "OrderAllocated")[0]
    api("POST", f"/orders/{order_id}/cancel", as_="web")  # before request-fulfillment ran

    assert functions.invoke("request-fulfillment", sqs_event("OrderAllocated", detail)) == {"batchItemFailures": []}
    assert pull(api, "BER") == []


def packed(api, location):
    fo_id = pull(api, location)[0]["fulfillment_order_id"]
    for step in ("accept", "pick", "pack"):
        api("POST", f"/fulfillment-orders/{fo_id}/{step}")
    return fo_id


def level(repos, sku, loc):
    return repos.stock.level(sku, loc)


def test_shipping_turns_the_reservation_into_a_stock_decrement(api, allocated, repos):
    ber = packed(api, "BER")
    before = level(repos, "SKU-1", "BER")

    part = api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-1",
                                                               "lines": [{"sku": "SKU-1", "quantity": 1}]})
    assert part.json["status"] == "PARTIALLY_SHIPPED"
    after = level(repos, "SKU-1", "BER")
    assert (after.on_hand, after.reserved, after.available) == (before.on_hand - 1, before.reserved - 1,
                                                                before.available)
    assert api("GET", f"/orders/{allocated}", as_="web").json["status"] == "PARTIALLY_SHIPPED"

    again = api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-1",
                                                                "lines": [{"sku": "SKU-1", "quantity": 1}]})
    assert again.status_code == 200 and level(repos, "SKU-1", "BER").on_hand == before.on_hand - 1  # once only

    rest = api("POST", f"/fulfillment-orders/{ber}/ship", json={"shipment_id": "S-2", "carrier": "DHL",
                                                               "tracking_number": "JD0001"})
    assert rest.json["status"] == "SHIPPED"
    assert level(repos, "SKU-2", "BER").reserved == 0
    mad = packed(api, "MAD")
    api("POST", f"/fulfillment-orders/{mad}/ship", json={"shipment_id": "S-3"})
    assert api("GET", f"/orders/{allocated}", as_="web").json["status"] == "SHIPPED"
    assert api("POST", f"/orders/{allocated}/cancel", as_="web").status_code == 409


def test_shipping_more_than_remains_or_a_rejected_order_is_refused(api, allocated):
    mad = pull(api, "MAD")[0]["fulfillment_order_id"]
    api("POST", f"/fulfillment-orders/{mad}/reject", json={"reason": "closed"})
    assert api("POST", f"/fulfillment-orders/{mad}/ship", json={"shipment_id": "S-9"}).status_code == 409
    ber = packed(api, "BER")
    too_many = api("POST", f"/fulfillment-orders/{ber}/ship",
                   json={"shipment_id": "S-9", "lines": [{"sku": "SKU-1", "quantity": 5}]})
    assert too_many.status_code == 422 and too_many.json["field"] == "lines"
    assert api("POST", f"/fulfillment-orders/{ber}/ship", json={"lines": []}).status_code == 422


def test_a_retried_shipment_racing_its_first_call_ships_once(api, allocated, repos, monkeypatch):
    """Guard: the shipment record's attribute_not_exists. Even when the retry's look-up misses the
    first call (it is still committing), the retry cannot decrement stock a second time."""
    ber = packed(api, "BER")
    body = {"shipment_id": "S-RACE", "lines": [{"sku": "SKU-1", "quantity": 1}]}
    api("POST", f"/fulfillment-orders/{ber}/ship", json=body)
    on_hand = level(repos, "SKU-1", "BER").on_hand
    from shared.adapters.shipments_repo import ShipmentRepository

    monkeypatch.setattr(ShipmentRepository, "get", lambda self, shipment_id: None)  # the look-up misses
    retry = api("POST", f"/fulfillment-orders/{ber}/ship", json=body)

    assert retry.status_code == 503  # refused every time; a later retry sees the record and answers 200
    assert level(repos, "SKU-1", "BER").on_hand == on_hand
