"""request-fulfillment against a cancel: the fulfilment orders of an allocation are never created
for an order cancelled before they exist (the cancel could not have cancelled them)."""

from __future__ import annotations

import pytest

from shared.domain.orders import OrderStatus
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.fulfillment import request_fulfillment
from shared.services.order_actions import cancel_order
from tests.factories import NOW, TWO_WAREHOUSES, order_request, seed
from tests.service.flows import OPERATOR_PRINCIPAL, events, interleave, policy

pytestmark = pytest.mark.unit


def test_a_cancel_landing_between_the_read_and_the_commit_leaves_no_fulfilment_order(repos, monkeypatch):
    """Guard: the transaction's `still_open` check on the order. request-fulfillment reads the order
    open, the cancel commits (finding no fulfilment order to cancel), then the request's write must
    be refused: without the check it created an OPEN fulfilment order for a cancelled order."""
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
