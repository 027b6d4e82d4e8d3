"""A fulfilment order's id names its order and location (f<12 hex>.<order id>.<location id>), so a
ship or collect reads the three together; orders allocated before name legacy ids (f<24 hex>),
which request-fulfillment keeps and a ship reads in two steps. The request counts: tests/integration/test_ship_reads.py."""

from __future__ import annotations

import pytest

from shared.domain.fulfillment import (
    Action,
    FulfillmentStatus,
    fulfillment_order_id,
    legacy_fulfillment_order_id,
    named_by,
)
from shared.domain.orders import OrderStatus
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.fulfillment import advance
from tests.factories import NOW, TWO_WAREHOUSES, order_request, seed
from tests.service.flows import (
    OPERATOR_PRINCIPAL,
    allocating_as_before,
    events,
    fulfil,
    placed_and_packed,
    policy,
    ship_lines,
)

pytestmark = pytest.mark.unit

ORDER_ID = "o" + "1" * 24


def test_an_id_names_its_order_and_location_and_a_legacy_id_names_nothing():
    made = fulfillment_order_id("ev-1", "WH-DE.1_a", ORDER_ID)

    assert named_by(made) == (ORDER_ID, "WH-DE.1_a")
    assert made == fulfillment_order_id("ev-1", "WH-DE.1_a", ORDER_ID)  # a redelivered event names the same
    assert made != fulfillment_order_id("ev-2", "WH-DE.1_a", ORDER_ID)  # another allocation step another
    assert named_by(legacy_fulfillment_order_id("ev-1", "BER")) is None
    assert named_by(f"f{'0' * 12}.o-not-an-order.BER") is None


def test_an_order_ships_by_the_id_its_allocation_named(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 1)], NOW)
    assert named_by(fo_id) == (order_id, "BER")

    assert ship_lines(repos, fo_id, "S-1", {}, NOW).status == FulfillmentStatus.SHIPPED
    assert repos.orders.get(order_id).status == OrderStatus.SHIPPED


def test_an_order_allocated_before_ids_named_their_order_gets_and_ships_the_legacy_id(repos, monkeypatch):
    """Guard: request-fulfillment takes the id the order names (`_id_named`). An order allocated by the
    older code names the legacy id; without the guard its part was made under the new id, the order
    named a part that never came, and shipping everything left it PARTIALLY_SHIPPED."""
    allocating_as_before(monkeypatch)
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id = capture_order(order_request([("SKU-1", 1)]), "web", repos, NOW).order.order_id
    allocate_order(order_id, repos, policy, NOW)
    [allocated] = events(repos, "OrderAllocated")
    order = repos.orders.get(order_id)  # as the older allocation wrote it
    legacy = legacy_fulfillment_order_id(allocated["event_id"], "BER")
    expected, order.fulfillment_order_ids = order.version, [legacy]
    order.version += 1
    repos.commit(repos.orders.save(order, expected))

    assert fulfil(repos, order_id, NOW) == [legacy]
    for action in (Action.ACCEPT, Action.PICK, Action.PACK):
        advance(legacy, action, OPERATOR_PRINCIPAL, repos, NOW)
    assert ship_lines(repos, legacy, "S-1", {}, NOW).status == FulfillmentStatus.SHIPPED  # read in two steps
    assert repos.orders.get(order_id).status == OrderStatus.SHIPPED
    assert repos.stock.level("SKU-1", "BER").on_hand == 1


def test_a_part_whose_id_names_another_order_ships_against_its_own(repos):
    """Guard: the merged read checks the fulfilment order is the order's the id names; one that is
    not (no code makes such a one) is shipped against its own order, read again."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 4})
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 1)], NOW)
    other_id, _ = placed_and_packed(repos, [("SKU-1", 1)], NOW, channel_order_id="CO-OTHER")
    odd = repos.fulfillment.get(fo_id).model_copy(update={"fulfillment_order_id": fulfillment_order_id(
        "ev-odd", "BER", other_id)})
    repos.commit(repos.fulfillment.create(odd))
    order = repos.orders.get(order_id)
    expected, order.fulfillment_order_ids = order.version, [odd.fulfillment_order_id]
    order.version += 1
    repos.commit(repos.orders.save(order, expected))

    ship_lines(repos, odd.fulfillment_order_id, "S-ODD", {}, NOW)

    assert repos.orders.get(order_id).shipment_ids == ["S-ODD"]
    assert repos.orders.get(other_id).shipment_ids == []
