"""A reservation record's end, on the in-memory store: the transaction that empties it (a parcel, a
collection, a line cancellation) deletes it under `quantity = q`, one that leaves units shrinks it,
and neither can take the same units twice; records left at 0 by older code are still swept by the
reconciliation (tests/service/test_reconciliation_steps.py). Through the API on moto:
tests/integration/test_reconciliation.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.fulfillment import Action, FulfillmentStatus
from shared.domain.orders import OrderStatus
from shared.domain.routing import Assignment
from shared.domain.stock import SetStockRequest
from shared.errors import Conflict
from shared.services.allocation import allocate_order
from shared.services.fulfillment import advance, collect
from shared.services.inventory import set_stock
from shared.services.line_cancellation import cancel_order_lines
from shared.unit_of_work import Refused, ReservationChanged
from tests.factories import NOW, TWO_WAREHOUSES, capture, location_request, reservations, seed
from tests.service.flows import OPERATOR_PRINCIPAL, fulfil, placed_and_packed, policy, ship_lines

pytestmark = pytest.mark.unit

def counts(repos, sku: str = "SKU-1", loc: str = "BER") -> tuple[int, int, int]:
    level = repos.stock.level(sku, loc)
    return level.on_hand, level.reserved, level.available


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 5})
    return repos


def test_a_whole_shipment_deletes_the_record_in_its_transaction(stocked):
    order_id, fo_id = placed_and_packed(stocked, [("SKU-1", 2), ("SKU-2", 1)], NOW)
    assert reservations(stocked, "SKU-1") == {("BER", order_id): 2}

    ship_lines(stocked, fo_id, "S-1", {}, NOW)

    assert reservations(stocked, "SKU-1") == {} and reservations(stocked, "SKU-2") == {}
    assert counts(stocked, "SKU-1") == (3, 0, 3) and counts(stocked, "SKU-2") == (4, 0, 4)


def test_a_partial_shipment_shrinks_the_record_and_the_last_one_deletes_it(stocked):
    order_id, fo_id = placed_and_packed(stocked, [("SKU-1", 3)], NOW)

    ship_lines(stocked, fo_id, "S-1", {"SKU-1": 1}, NOW)
    assert reservations(stocked, "SKU-1") == {("BER", order_id): 2} and counts(stocked) == (4, 2, 2)

    ship_lines(stocked, fo_id, "S-2", {"SKU-1": 2}, NOW)
    assert reservations(stocked, "SKU-1") == {} and counts(stocked) == (2, 0, 2)


def test_a_part_shipped_whole_keeps_the_record_another_part_at_its_location_still_holds(repos):
    """Two allocation steps at one location share one record: the first part's whole shipment must
    shrink it (deleting it under `quantity = 2` would be refused: a 409 to the warehouse)."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 1})
    order = capture(repos, ("SKU-1", 2), channel="marketplace")  # allows a partial allocation
    allocate_order(order.order_id, repos, policy, NOW)
    [first] = fulfil(repos, order.order_id, NOW)
    set_stock("SKU-1", "BER", SetStockRequest(on_hand=2), repos, NOW)
    allocate_order(order.order_id, repos, policy, NOW)  # the backordered unit, at BER again
    [second] = fulfil(repos, order.order_id, NOW)
    assert reservations(repos, "SKU-1") == {("BER", order.order_id): 2}

    ship_lines(repos, first, "S-1", {}, NOW)
    assert reservations(repos, "SKU-1") == {("BER", order.order_id): 1}

    ship_lines(repos, second, "S-2", {}, NOW)
    assert reservations(repos, "SKU-1") == {} and counts(repos) == (0, 0, 0)
    assert repos.orders.get(order.order_id).status == OrderStatus.SHIPPED


def test_a_collection_deletes_the_record(repos):
    seed(repos, {"BST": location_request("DE", pickup_enabled=True, type="store")}, {("SKU-1", "BST"): 2})
    order = capture(repos, ("SKU-1", 1), fulfillment={"type": "pickup", "location_id": "BST"})
    allocate_order(order.order_id, repos, policy, NOW)
    [fo_id] = fulfil(repos, order.order_id, NOW)
    advance(fo_id, Action.READY, OPERATOR_PRINCIPAL, repos, NOW)
    code = repos.fulfillment.get(fo_id).pickup_code

    fo = collect(fo_id, code, OPERATOR_PRINCIPAL, repos, NOW)

    assert fo.status == FulfillmentStatus.COLLECTED
    assert reservations(repos, "SKU-1") == {} and counts(repos, loc="BST") == (1, 0, 1)


def test_a_ship_write_repeated_cannot_take_the_units_twice(stocked):
    """Guard: the delete holds only while the record holds exactly what is taken. Without it the
    repeat commits (another order's unit satisfies the level's `reserved >= 1`) and the level would
    hold less than its records."""
    for order_id in ("o-1", "o-2"):
        stocked.commit(stocked.stock.reserve(order_id, [Assignment("BER", "SKU-1", 1)], NOW))
    ship = stocked.stock.ship("o-1", "BER", {"SKU-1": 1}, NOW, spent={("SKU-1", "BER")})
    stocked.commit(ship)

    with pytest.raises(Refused) as refused:
        stocked.commit(stocked.stock.ship("o-1", "BER", {"SKU-1": 1}, NOW + timedelta(seconds=1),
                                          spent={("SKU-1", "BER")}))

    assert refused.value.find(ReservationChanged) is not None
    assert reservations(stocked, "SKU-1") == {("BER", "o-2"): 1} and counts(stocked) == (4, 1, 3)


def test_a_delete_meeting_a_fuller_record_than_it_takes_is_refused(stocked):
    """Guard: a caller that wrongly believes a take empties the record deletes nothing."""
    stocked.commit(stocked.stock.reserve("o-1", [Assignment("BER", "SKU-1", 2)], NOW))

    with pytest.raises(Refused) as refused:
        stocked.commit(stocked.stock.ship("o-1", "BER", {"SKU-1": 1}, NOW, spent={("SKU-1", "BER")}))

    assert refused.value.find(ReservationChanged) is not None
    assert reservations(stocked, "SKU-1") == {("BER", "o-1"): 2} and counts(stocked) == (5, 2, 3)


def test_a_ship_retried_after_it_committed_answers_the_same_and_takes_nothing_more(stocked):
    order_id, fo_id = placed_and_packed(stocked, [("SKU-1", 1)], NOW)
    first = ship_lines(stocked, fo_id, "S-1", {}, NOW)

    again = ship_lines(stocked, fo_id, "S-1", {}, NOW)

    assert again.status == first.status == FulfillmentStatus.SHIPPED
    assert reservations(stocked, "SKU-1") == {} and counts(stocked) == (4, 0, 4)


def test_a_line_cancellation_emptying_a_record_deletes_it_and_one_leaving_units_shrinks_it(stocked):
    order_id, fo_id = placed_and_packed(stocked, [("SKU-1", 3), ("SKU-2", 1)], NOW)

    cancel_order_lines(order_id, OPERATOR_PRINCIPAL, "C-1", {"SKU-1": 1, "SKU-2": 1}, "customer asked",
                       stocked, NOW)

    assert reservations(stocked, "SKU-1") == {("BER", order_id): 2} and reservations(stocked, "SKU-2") == {}
    assert counts(stocked, "SKU-1") == (5, 2, 3) and counts(stocked, "SKU-2") == (5, 0, 5)


def test_a_line_cancellation_after_a_partial_shipment_deletes_what_it_empties(stocked):
    order_id, fo_id = placed_and_packed(stocked, [("SKU-1", 3)], NOW)
    ship_lines(stocked, fo_id, "S-1", {"SKU-1": 2}, NOW)

    cancel_order_lines(order_id, OPERATOR_PRINCIPAL, "C-1", {"SKU-1": 1}, "customer asked", stocked, NOW)

    assert reservations(stocked, "SKU-1") == {} and counts(stocked) == (3, 0, 3)


def test_a_hot_skus_record_is_deleted_by_its_shipment_and_by_a_cancellation(repos):
    seed(repos, TWO_WAREHOUSES, {})
    set_stock("HOT", "BER", SetStockRequest(on_hand=10, buckets=4), repos, NOW)
    shipped, fo_id = placed_and_packed(repos, [("HOT", 2)], NOW)
    cancelled, _ = placed_and_packed(repos, [("HOT", 1)], NOW, channel_order_id="CO-2")

    ship_lines(repos, fo_id, "S-1", {}, NOW)
    cancel_order_lines(cancelled, OPERATOR_PRINCIPAL, "C-1", {"HOT": 1}, "customer asked", repos, NOW)

    assert reservations(repos, "HOT") == {}
    assert counts(repos, "HOT") == (8, 0, 8) and repos.stock.live_reservations("HOT", "BER") == 0


def test_a_conflict_not_a_deletion_when_the_record_was_changed_under_the_order(stocked):
    """A record holding more than the order's data say (changed by hand) refuses the ship's delete:
    a 409 for a person, as a short record was before, and nothing is taken."""
    order_id, fo_id = placed_and_packed(stocked, [("SKU-1", 1)], NOW)
    stocked.commit(stocked.stock.reserve(order_id, [Assignment("BER", "SKU-1", 1)], NOW))  # not in the order

    with pytest.raises(Conflict):
        ship_lines(stocked, fo_id, "S-1", {}, NOW)

    assert reservations(stocked, "SKU-1") == {("BER", order_id): 2} and counts(stocked) == (5, 2, 3)
