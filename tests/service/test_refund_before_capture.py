"""A return refunded before settlement captured the parcel it came back from: answered "not yet" (409
naming the return), not claimed, so nothing ends REFUSED at the provider waiting for a person; once
settle-payments has captured, the same call refunds. (The soak met it: a refund asked within the
second the relay's batching window holds the shipment's event back.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain.orders import OrderStatus
from shared.domain.returns import RefundState
from shared.domain.tracking import ShipmentStatus, TrackingUpdate
from shared.errors import Conflict
from shared.services.tracking import apply_update
from tests.factories import location_request, seed
from tests.service.test_returns import BER_ADDRESS, approved, receive, refund
from tests.service.test_settlement import NOW, FakeGateway, packed, placed, settle, ship

pytestmark = pytest.mark.unit

D = Decimal


def delivered_unsettled(repos) -> str:
    """Authorised 35.00 (SKU-1 x2, SKU-2 x1, 5.00 shipping), shipped as S-1 and delivered, its
    ShipmentDispatched not yet settled: nothing captured."""
    seed(repos, {"BER": location_request("DE", ships_to=["DE"], priority=1, address=BER_ADDRESS)},
         {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 5})
    order_id = placed(repos, status="authorized", amount="35.00", lines=(("SKU-1", 2), ("SKU-2", 1)))
    ship(repos, packed(repos, order_id)["BER"], "S-1")
    apply_update(TrackingUpdate("dhl", "evt-S-1", "TRK-S-1", "dhl", ShipmentStatus.DELIVERED, NOW), NOW, repos, NOW)
    assert repos.orders.get(order_id).status == OrderStatus.DELIVERED
    assert repos.orders.get(order_id).pay.captured == 0
    return order_id


def test_a_refund_before_the_capture_is_not_yet_and_goes_through_once_captured(repos):
    order_id = delivered_unsettled(repos)
    gateway = FakeGateway(authorized=D("35.00"))
    rma_id = approved(repos, order_id, ("SKU-1", 1)).rma_id
    receive(repos, rma_id, ("SKU-1", 1))
    with pytest.raises(Conflict) as refused:
        refund(repos, rma_id, gateway)
    assert refused.value.field == "rma_id" and "not captured yet" in str(refused.value)
    assert repos.returns.get(rma_id).refunds == []  # nothing claimed, nothing refused
    assert gateway.refunded == 0

    settle(repos, "S-1", gateway)
    done = refund(repos, rma_id, gateway)
    assert [(r.state, r.amount) for r in done.refunds] == [(RefundState.DONE, D("10.00"))]
    assert gateway.refunded == D("10.00")
