"""Rejections, backorders and retried adjustments on the in-memory store (issue 10, defects 1, 4, 5).
Each test failed before its fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.channels import seed_policy
from shared.domain.orders import HoldReason, OrderStatus
from shared.domain.principal import Principal
from shared.domain.stock import Adjustment
from shared.errors import Conflict
from shared.repositories import in_memory
from shared.services.allocation import allocate_order
from shared.services.backorders import release_backorders
from shared.services.capture import capture_order
from shared.services.fulfillment import request_fulfillment
from shared.services.inventory import adjust_stock
from shared.services.order_actions import release_order
from shared.services.rerouting import reject_fulfillment_order
from tests.factories import NOW, TWO_WAREHOUSES, location_request, order_request, seed
from tests.service.flows import events

pytestmark = pytest.mark.unit
OPERATOR = Principal("operator")


def policy(channel: str):
    return seed_policy(channel)


def capture(repos, coid: str, lines, at=NOW, **kw):
    return capture_order(order_request(lines, channel_order_id=coid, **kw), "web", repos, at).order


def fulfil(repos, order_id: str) -> list[str]:
    """Create the fulfilment orders of the order's latest allocation, as request-fulfillment does."""
    allocated = max((e for e in events(repos, "OrderAllocated") if e["order_id"] == order_id),
                    key=lambda e: e["occurred_at"])
    made = request_fulfillment(allocated["event_id"], order_id, "web", allocated["allocations"],
                               allocated["pickup"], repos, NOW)
    return [fo.fulfillment_order_id for fo in made]


def test_a_store_can_reject_a_click_and_collect_order():
    """Defect 1: the re-routing transaction released the pickup store's level and also checked it
    was still short (the lines wait for that store): two operations on one item, refused every time."""
    repos = in_memory()
    seed(repos, {"PAR": location_request("FR", pickup_enabled=True, type="store", lat=48.85, lon=2.35)},
         {("SKU-1", "PAR"): 1})
    order = capture(repos, "CO-P", [("SKU-1", 1)], country="FR", lat=48.85, lon=2.35,
                    fulfillment={"type": "pickup", "location_id": "PAR"})
    allocate_order(order.order_id, repos, policy, NOW)
    [fo_id] = fulfil(repos, order.order_id)

    rejected = reject_fulfillment_order(fo_id, "broken on the shelf", OPERATOR, repos, policy, NOW)

    assert rejected.status.value == "REJECTED"
    stored = repos.orders.get(order.order_id)
    # Not a backorder waiting for the one store allocation never offers it again: a person decides.
    assert stored.status == OrderStatus.ON_HOLD and stored.allocations == [] and stored.backordered == []
    [hold] = stored.open_holds
    assert hold.reason == HoldReason.PICKUP_UNAVAILABLE and "another store" in hold.detail
    [held] = [e for e in events(repos, "OrderOnHold") if e["order_id"] == order.order_id]
    assert [h["reason"] for h in held["holds"]] == ["PICKUP_UNAVAILABLE"]
    level = repos.stock.level("SKU-1", "PAR")
    assert (level.reserved, level.available) == (0, 1)


def test_releasing_a_store_rejected_pickup_hold_offers_the_order_to_the_store_again():
    """An operator's release gives the store another chance: allocation reserves there again, and a
    second rejection holds again (it neither backorders for good nor loops by itself)."""
    repos = in_memory()
    seed(repos, {"PAR": location_request("FR", pickup_enabled=True, type="store", lat=48.85, lon=2.35)},
         {("SKU-1", "PAR"): 1})
    order = capture(repos, "CO-P", [("SKU-1", 1)], country="FR", lat=48.85, lon=2.35,
                    fulfillment={"type": "pickup", "location_id": "PAR"})
    allocate_order(order.order_id, repos, policy, NOW)
    [fo_id] = fulfil(repos, order.order_id)
    reject_fulfillment_order(fo_id, "broken on the shelf", OPERATOR, repos, policy, NOW)

    later = NOW + timedelta(minutes=5)  # the new allocation's event is the latest
    released = release_order(order.order_id, OPERATOR, repos, later)
    assert released.status == OrderStatus.RECEIVED and released.rejected_locations == []
    allocate_order(order.order_id, repos, policy, later)

    stored = repos.orders.get(order.order_id)
    assert stored.status == OrderStatus.ALLOCATED
    assert [(a.location_id, a.sku, a.quantity) for a in stored.allocations] == [("PAR", "SKU-1", 1)]
    [again] = fulfil(repos, order.order_id)
    assert again != fo_id
    reject_fulfillment_order(again, "still broken", OPERATOR, repos, policy, later)
    assert repos.orders.get(order.order_id).status == OrderStatus.ON_HOLD
    assert repos.stock.level("SKU-1", "PAR").available == 1


def test_younger_backorders_get_stock_that_the_oldest_rejected():
    """Defect 5: the oldest waiting order may not use the location that freed stock (it rejected
    it); the release went on to stop there instead of serving younger orders that can."""
    repos = in_memory()
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {("SKU-1", "BER"): 1})
    older = capture(repos, "CO-OLD", [("SKU-1", 1)])
    allocate_order(older.order_id, repos, policy, NOW)
    younger = capture(repos, "CO-YOUNG", [("SKU-1", 1)], at=NOW + timedelta(seconds=1))
    allocate_order(younger.order_id, repos, policy, NOW)
    assert repos.orders.get(younger.order_id).status == OrderStatus.BACKORDERED
    [fo_id] = fulfil(repos, older.order_id)
    reject_fulfillment_order(fo_id, "cannot find it", OPERATOR, repos, policy, NOW)  # BER has 1 free again

    report = release_backorders("SKU-1", repos, policy, NOW, location_id="BER")

    assert report.allocated == [younger.order_id]
    assert repos.orders.get(younger.order_id).status == OrderStatus.ALLOCATED
    assert repos.orders.get(older.order_id).status == OrderStatus.BACKORDERED


def test_a_release_stops_at_an_order_that_saw_nothing_unless_it_rejected_the_restocked_location():
    """The oldest order's rejections only excuse it from stopping the release when it rejected the
    location whose stock rose: stock elsewhere it saw as well as younger orders would."""
    repos = in_memory()
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "MAD"): 1, ("SKU-1", "BER"): 0})
    older = capture(repos, "CO-OLD", [("SKU-1", 1)])
    allocate_order(older.order_id, repos, policy, NOW)
    younger = capture(repos, "CO-YOUNG", [("SKU-1", 1)], at=NOW + timedelta(seconds=1))
    allocate_order(younger.order_id, repos, policy, NOW)
    [fo_id] = fulfil(repos, older.order_id)
    reject_fulfillment_order(fo_id, "cannot find it", OPERATOR, repos, policy, NOW)  # MAD has 1 free again

    at_ber = release_backorders("SKU-1", repos, policy, NOW, location_id="BER")  # already gone again, say
    assert (at_ber.examined, at_ber.allocated) == (1, [])
    at_mad = release_backorders("SKU-1", repos, policy, NOW, location_id="MAD")
    assert at_mad.allocated == [younger.order_id]


def test_a_retried_adjustment_that_emptied_the_shelf_is_a_duplicate_not_a_refusal():
    """Defect 4: the below-zero check ran before the id was looked up, so the retry of -5 on 5 units
    answered "would take it below zero", and a client would resend under a new id."""
    repos = in_memory()
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {("SKU-1", "BER"): 5})
    adjustment = Adjustment(adjustment_id="A1", sku="SKU-1", location_id="BER", delta=-5, reason="damaged")

    first = adjust_stock(adjustment, repos, NOW)
    again = adjust_stock(adjustment, repos, NOW)

    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert again.level.on_hand == 0 == repos.stock.level("SKU-1", "BER").on_hand
    other = adjustment.model_copy(update={"delta": -4})
    with pytest.raises(Conflict):
        adjust_stock(other, repos, NOW)
