"""apply-tracking a batch at a time on moto (shared/services/tracking_batch.py): the updates of
different parcels and orders commit in one transaction; one the combined transaction cannot take
(refused, conflicting) is applied on its own with the others, and two updates of one parcel apply in
turn. Each update's own guards are tested in tests/service/test_tracking.py."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.orders import OrderStatus
from shared.domain.tracking import ShipmentStatus as S
from shared.services import tracking_batch
from shared.services.tracking import QueuedUpdate, apply_update
from tests.factories import TWO_WAREHOUSES, order_body, seed
from tests.integration.conftest import count_store_calls, outbox_events
from tests.integration.test_tracking import NOW, T0, ship_parcels, sqs_record, update


def parcels(api, repos, pump, n: int) -> dict[str, str]:
    """n orders of one parcel each, shipped through the fulfilment API under TRK-1..TRK-n as
    shipments S-1..S-n: {shipment: order}."""
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {("SKU-1", "BER"): 10})
    for k in range(n):
        body = order_body([("SKU-1", 1)], channel_order_id=f"CO-{k}")
        assert api("POST", "/orders", as_="web", json=body).status_code == 202
    pump()
    shipped = {}
    listed = api("GET", "/locations/BER/fulfillment-orders").json["fulfillment_orders"]
    for k, fo in enumerate(listed, start=1):
        fo_id = fo["fulfillment_order_id"]
        for step in ("accept", "pick", "pack"):
            assert api("POST", f"/fulfillment-orders/{fo_id}/{step}").status_code == 200
        assert api("POST", f"/fulfillment-orders/{fo_id}/ship", json={
            "shipment_id": f"S-{k}", "lines": [{"sku": "SKU-1", "quantity": 1}], "carrier": "DHL",
            "tracking_number": f"TRK-{k}"}).status_code == 200
        shipped[f"S-{k}"] = repos.shipments.get(f"S-{k}").order_id
    assert len(shipped) == n
    return shipped


def batch(*updates) -> dict:
    """One SQS event, a record per update (message ids m-1, m-2, ...)."""
    return {"Records": [sqs_record(f"m-{n}", QueuedUpdate.of(u, NOW).model_dump_json())
                        for n, u in enumerate(updates, start=1)]}


def announced(repos) -> list[tuple[str, str]]:
    return sorted((e["shipment_id"], e["status"]) for e in outbox_events(repos, "ShipmentTrackingUpdated"))


def test_updates_of_different_parcels_commit_in_one_transaction(api, repos, pump, functions, monkeypatch):
    shipped = parcels(api, repos, pump, 4)
    calls = count_store_calls(monkeypatch, repos, ("get", "batch_get", "transact"))

    assert functions.invoke("apply-tracking", batch(*(update(f"TRK-{k}", S.IN_TRANSIT) for k in range(1, 5)))) == {
        "batchItemFailures": []}
    assert calls == {"batch_get": 2, "transact": 1}  # lookups, then parcels and orders; one transaction

    delivered = batch(*(update(f"TRK-{k}", S.DELIVERED, T0 + timedelta(hours=5)) for k in range(1, 5)))
    assert functions.invoke("apply-tracking", delivered) == {"batchItemFailures": []}
    assert calls["transact"] == 2
    assert functions.invoke("apply-tracking", delivered) == {"batchItemFailures": []}  # redelivered: duplicates
    assert calls["transact"] == 2

    assert all(repos.shipments.get(s).status == S.DELIVERED and len(repos.shipments.get(s).history) == 2
               for s in shipped)
    assert all(repos.orders.get(o).status == OrderStatus.DELIVERED for o in shipped.values())
    assert announced(repos) == sorted((s, status) for s in shipped for status in ("IN_TRANSIT", "DELIVERED"))
    assert len(outbox_events(repos, "OrderDelivered")) == 4


def test_an_update_the_combined_transaction_refuses_leaves_the_others_applied(api, repos, pump, functions, monkeypatch):
    """S-2's update is applied by another consumer (a redelivery) between the batch's read and its
    commit: the combined transaction is refused on S-2's version, and each update then goes on its
    own, S-2's as a duplicate. Without that fallback S-1 and S-3 would stay unapplied (or fail)."""
    parcels(api, repos, pump, 3)
    updates = [update(f"TRK-{k}", S.IN_TRANSIT) for k in range(1, 4)]
    real = tracking_batch.planned

    def raced(shipment, u, *args, **kwargs):
        if shipment.shipment_id == "S-2":
            apply_update(u, NOW, repos, NOW)
        return real(shipment, u, *args, **kwargs)

    monkeypatch.setattr(tracking_batch, "planned", raced)
    calls = count_store_calls(monkeypatch, repos, ("transact",))

    assert functions.invoke("apply-tracking", batch(*updates)) == {"batchItemFailures": []}

    assert calls["transact"] == 1 + 1 + 2  # the race, the refused combined one, then S-1 and S-3 alone
    assert [repos.shipments.get(f"S-{k}").status for k in range(1, 4)] == [S.IN_TRANSIT] * 3
    assert [len(repos.shipments.get(f"S-{k}").history) for k in range(1, 4)] == [1, 1, 1]
    assert announced(repos) == [(f"S-{k}", "IN_TRANSIT") for k in range(1, 4)]  # once each


def test_two_updates_of_one_parcel_in_a_batch_apply_in_turn(api, repos, pump, functions, monkeypatch):
    shipped = parcels(api, repos, pump, 2)
    calls = count_store_calls(monkeypatch, repos, ("transact",))
    later = T0 + timedelta(hours=5)

    assert functions.invoke("apply-tracking", batch(
        update("TRK-1", S.IN_TRANSIT), update("TRK-2", S.IN_TRANSIT), update("TRK-1", S.DELIVERED, later),
        update("TRK-1", S.IN_TRANSIT))) == {"batchItemFailures": []}  # the last: a redelivery

    assert calls["transact"] == 1 + 2  # S-2 alone; S-1's two updates in turn, its duplicate writes nothing
    s1 = repos.shipments.get("S-1")
    assert (s1.status, [e.status for e in s1.history]) == (S.DELIVERED, [S.IN_TRANSIT, S.DELIVERED])
    assert repos.shipments.get("S-2").status == S.IN_TRANSIT
    assert repos.orders.get(shipped["S-1"]).status == OrderStatus.DELIVERED
    assert announced(repos) == [("S-1", "DELIVERED"), ("S-1", "IN_TRANSIT"), ("S-2", "IN_TRANSIT")]


def test_two_parcels_of_one_order_in_a_batch_apply_in_turn(api, repos, pump, functions, monkeypatch):
    """The second delivery sees the first: the order becomes DELIVERED, announced once."""
    order_id = ship_parcels(api, repos, pump, ["TRK1", "TRK2"])
    calls = count_store_calls(monkeypatch, repos, ("transact",))

    assert functions.invoke("apply-tracking", batch(update("TRK1", S.DELIVERED), update("TRK2", S.DELIVERED))) == {
        "batchItemFailures": []}

    assert calls["transact"] == 2  # one parcel after the other, as before
    assert [repos.shipments.get(s).status for s in ("S-1", "S-2")] == [S.DELIVERED, S.DELIVERED]
    assert repos.orders.get(order_id).status == OrderStatus.DELIVERED
    assert [e["order_id"] for e in outbox_events(repos, "OrderDelivered")] == [order_id]
