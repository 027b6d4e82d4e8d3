"""Fulfilment orders open in the allocation's own transaction; request-fulfillment opens those of an
allocation made by an earlier version, and never for an order cancelled before they exist (the
cancel could not have cancelled them)."""

from __future__ import annotations

import pytest

from shared.domain.fulfillment import FulfillmentStatus
from shared.domain.orders import OrderStatus
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.fulfillment import request_fulfillment
from shared.services.order_actions import cancel_order
from tests.factories import NOW, TWO_WAREHOUSES, order_request, seed
from tests.service.flows import OPERATOR_PRINCIPAL, allocating_as_before, events, interleave, policy

pytestmark = pytest.mark.unit


def test_a_cancel_landing_between_the_read_and_the_commit_leaves_no_fulfilment_order(repos, monkeypatch):
    """Guard: the transaction's `still_open` check on the order. request-fulfillment reads the order
    open, the cancel commits (finding no fulfilment order to cancel), then the request's write must
    be refused: without the check it created an OPEN fulfilment order for a cancelled order."""
    allocating_as_before(monkeypatch)
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id = capture_order(order_request([("SKU-1", 1)]), "web", repos, NOW).order.order_id
    allocate_order(order_id, repos, policy, NOW)
    [allocated] = events(repos, "OrderAllocated")
    interleave(monkeypatch, repos, lambda: cancel_order(order_id, OPERATOR_PRINCIPAL, "changed my mind", repos, NOW))

    made = request_fulfillment(allocated["event_id"], order_id, "web", allocated["allocations"],
                               allocated["pickup"], repos, NOW)

    assert repos.orders.get(order_id).status == OrderStatus.CANCELLED  # the cancel did land in between
    assert made == []
    assert repos.fulfillment.get(repos.orders.get(order_id).fulfillment_order_ids[0]) is None
    assert events(repos, "FulfillmentRequested") == []


def test_allocation_opens_its_parts_in_its_own_transaction(repos, monkeypatch):
    """Each location's fulfilment order is made with the reservation and announced in the same
    outbox item; OrderAllocated says so (`parts_opened`), which keeps it from request-fulfillment."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 1, ("SKU-2", "MAD"): 1})
    order_id = capture_order(order_request([("SKU-1", 1), ("SKU-2", 1)]), "web", repos, NOW).order.order_id
    commits: list = []
    real = type(repos.store).transact
    monkeypatch.setattr(type(repos.store), "transact", lambda store, actions: commits.append(actions) or real(store, actions))

    allocate_order(order_id, repos, policy, NOW)

    assert len(commits) == 1
    order = repos.orders.get(order_id)
    parts = [repos.fulfillment.get(fo_id) for fo_id in order.fulfillment_order_ids]
    assert {(fo.location_id, tuple((ln.sku, ln.quantity) for ln in fo.lines)) for fo in parts} == {
        ("BER", (("SKU-1", 1),)), ("MAD", (("SKU-2", 1),))}
    [allocated] = events(repos, "OrderAllocated")
    assert allocated["parts_opened"] is True
    assert sorted(e["fulfillment_order_id"] for e in events(repos, "FulfillmentRequested")) == sorted(
        order.fulfillment_order_ids)
    assert "ship_to" not in events(repos, "FulfillmentRequested")[0]  # nothing personal on the bus


def test_a_refused_allocation_leaves_no_part_behind(repos, monkeypatch):
    """Guard: the parts are in the reservation's transaction. A try refused because another order took
    the stock meanwhile opens nothing; the retry's parts are the only ones, under the ids the order names."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 1, ("SKU-1", "MAD"): 1})
    order_id = capture_order(order_request([("SKU-1", 1)]), "web", repos, NOW).order.order_id
    other_id = capture_order(order_request([("SKU-1", 1)], channel_order_id="CO-OTHER"), "web", repos,
                             NOW).order.order_id
    interleave(monkeypatch, repos, lambda: allocate_order(other_id, repos, policy, NOW))

    allocate_order(order_id, repos, policy, NOW)

    mine, theirs = repos.orders.get(order_id), repos.orders.get(other_id)
    assert mine.status == theirs.status == OrderStatus.ALLOCATED
    assert [a.location_id for a in mine.allocations] == ["MAD"]  # its first plan, BER, was refused
    stored = [fo for (pk, _), fo in repos.store.items.items() if pk.startswith("FULFILLMENT#")]
    assert len(stored) == 2 == len(mine.fulfillment_order_ids) + len(theirs.fulfillment_order_ids)
    assert all(repos.fulfillment.get(fo_id) is not None
               for fo_id in mine.fulfillment_order_ids + theirs.fulfillment_order_ids)


def test_a_cancel_right_after_allocation_finds_the_parts_and_cancels_them(repos):
    """No window in which an allocated order has no parts: a cancel at once cancels its fulfilment order."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id = capture_order(order_request([("SKU-1", 1)]), "web", repos, NOW).order.order_id
    allocate_order(order_id, repos, policy, NOW)

    cancel_order(order_id, OPERATOR_PRINCIPAL, "changed my mind", repos, NOW)

    [fo_id] = repos.orders.get(order_id).fulfillment_order_ids
    assert repos.fulfillment.get(fo_id).status == FulfillmentStatus.CANCELLED
    assert repos.stock.level("SKU-1", "BER").reserved == 0


def test_a_redelivered_allocation_event_opens_nothing_twice(repos):
    """request-fulfillment given an event whose parts are open (a rule of before an upgrade still
    delivering it) finds them there: no second part, no second FulfillmentRequested."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id = capture_order(order_request([("SKU-1", 1)]), "web", repos, NOW).order.order_id
    allocate_order(order_id, repos, policy, NOW)
    [allocated] = events(repos, "OrderAllocated")

    made = request_fulfillment(allocated["event_id"], order_id, "web", allocated["allocations"],
                               allocated["pickup"], repos, NOW)

    assert [fo.fulfillment_order_id for fo in made] == repos.orders.get(order_id).fulfillment_order_ids
    assert len(events(repos, "FulfillmentRequested")) == 1
