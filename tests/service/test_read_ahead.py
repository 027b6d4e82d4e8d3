"""Consumers that read a batch's items at once (shared/adapters/reads.py): apply-tracking reads the
lookup items of the batch's tracking numbers in one BatchGetItem and their shipments and orders in
another, whatever the batch's size; a later update of the same parcel in the batch reads it again
(never a stale copy)."""

from __future__ import annotations

import pytest

from shared.domain.orders import OrderStatus
from shared.domain.tracking import ShipmentStatus as S
from shared.repositories import Repositories
from shared.services.tracking import Outcome, apply_update, read_ahead
from tests.service.test_notification_batch import Counted
from tests.service.test_tracking import NOW, T0, ship_parcels, update

pytestmark = pytest.mark.unit


def counted(repos) -> tuple[Repositories, Counted]:
    store = Counted(repos.store)
    return Repositories.on(store), store  # type: ignore[arg-type]


def test_a_batch_reads_its_shipments_and_their_orders_in_one_request(repos):
    first = ship_parcels(repos, ["TRK1", "TRK2"])
    batch = [update("TRK1", S.IN_TRANSIT), update("TRK2", S.IN_TRANSIT)]
    reading, store = counted(repos)

    known = read_ahead([u.tracking_code for u in batch], reading)
    assert store.calls == ["batch_get", "batch_get"]  # the lookup items, then shipments and orders
    assert set(known.shipments) == {"S-1", "S-2"} and set(known.orders) == {first}
    store.calls.clear()

    outcomes = [r.outcome for u in batch for r in apply_update(u, NOW, reading, NOW, known)]
    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED]
    # The first update used the order read ahead; the second reads it again (it may have changed).
    assert store.calls == ["transact", "get", "transact"]


def test_a_second_update_of_a_parcel_in_the_batch_reads_it_again_and_applies(repos):
    order_id = ship_parcels(repos, ["TRK1"])
    batch = [update("TRK1", S.IN_TRANSIT, T0), update("TRK1", S.DELIVERED, T0.replace(hour=15))]
    known = read_ahead(["TRK1", "TRK1"], repos)

    outcomes = [r.outcome for u in batch for r in apply_update(u, NOW, repos, NOW, known)]

    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED]
    assert repos.orders.get(order_id).status == OrderStatus.DELIVERED
    assert repos.shipments.get("S-1").status == S.DELIVERED


def test_two_shipments_given_one_tracking_number_are_both_found_and_updated(repos):
    """Guard: the lookup item has an attribute per shipment (shipments_repo.track). Were the second
    ship to replace the first's entry, the first parcel would never hear of its delivery and the
    order would stay SHIPPED."""
    order_id = ship_parcels(repos, ["TRK1", "TRK1"])
    known = read_ahead(["TRK1"], repos)
    assert known.codes == {"TRK1": ["S-1", "S-2"]}

    outcomes = [r.outcome for r in apply_update(update("TRK1", S.DELIVERED), NOW, repos, NOW, known)]

    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED]
    assert [repos.shipments.get(s).status for s in ("S-1", "S-2")] == [S.DELIVERED, S.DELIVERED]
    assert repos.orders.get(order_id).status == OrderStatus.DELIVERED
    assert [s.shipment_id for s in repos.shipments.for_tracking("TRK1")] == ["S-1", "S-2"]


def test_a_shipment_from_before_the_lookup_items_is_found_through_the_index(repos):
    """Guard: a number without a lookup item is asked of the index (gsi3), where every shipment
    with a tracking number still is. Without it, the parcels shipped before the lookup items existed
    would be unknown to every later update."""
    from shared.adapters.expressions import Delete
    from shared.adapters.shipments_repo import LOOKUP_SK, lookup_pk

    order_id = ship_parcels(repos, ["TRK1"])
    repos.store.write(Delete(lookup_pk("TRK1"), LOOKUP_SK))  # as a shipment of the earlier version
    reading, store = counted(repos)

    known = read_ahead(["TRK1"], reading)

    assert store.calls == ["batch_get", "query_all", "batch_get"]
    assert known.codes == {"TRK1": ["S-1"]} and set(known.orders) == {order_id}
    assert [r.outcome for r in apply_update(update("TRK1", S.DELIVERED), NOW, repos, NOW, known)] == [Outcome.APPLIED]
    assert [r.outcome for r in apply_update(update("TRK1", S.DELIVERED, event_id="again"), NOW, repos, NOW)] == [
        Outcome.KEPT]  # found without the batch's read too
    assert repos.orders.get(order_id).status == OrderStatus.DELIVERED


def test_a_number_no_shipment_has_is_still_recorded_as_unknown(repos):
    ship_parcels(repos, ["TRK1"])
    known = read_ahead(["NOPE"], repos)
    assert [r.outcome for r in apply_update(update("NOPE", S.IN_TRANSIT), NOW, repos, NOW, known)] == [Outcome.UNKNOWN]


def test_settling_reads_the_order_and_its_documents_in_one_query_and_stores_the_invoice_packed(repos):
    from shared.adapters.packed import PACKED
    from shared.services.invoicing import issue_invoice
    from tests.service.test_invoicing import SETTINGS, order_of

    order = order_of()
    repos.commit(*repos.orders.create(order))
    first = issue_invoice(order, "S-1", {"SKU-1": 1}, repos, NOW, SETTINGS)
    reading, store = counted(repos)

    read, documents = reading.invoices.order_and_documents(order.order_id)

    assert store.calls == ["query_all"]
    assert read == order and documents == [first]
    second = issue_invoice(read, "S-2", {"SKU-1": 1}, reading, NOW, SETTINGS, documents)
    assert store.calls == ["query_all", "get", "transact"]  # the series counter, then the commit
    assert second.sequence == first.sequence + 1
    stored = repos.store.get(f"ORDER#{order.order_id}", "DOC#INVOICE#S-2")
    assert stored is not None and PACKED in stored and "doc" not in stored
