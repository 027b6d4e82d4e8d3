"""The order item of a typical order stays under 1 KB at every step of its life, so each of its
rewrites (all in transactions) costs 2 write units, not 4: its document is compressed with the
order dictionary (shared/adapters/packed.py). Typical: one to three lines, paid at checkout,
allocated, shipped in one parcel and delivered, the timestamps with microseconds as the clock
gives them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.capacity import KB, item_size
from shared.adapters.dynamo import to_attrs
from shared.domain.orders import OrderStatus
from shared.domain.tracking import ShipmentStatus, TrackingUpdate
from shared.services.tracking import apply_update
from tests.factories import TWO_WAREHOUSES, seed
from tests.service.flows import placed_and_packed, ship_lines

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 4, 16, 43, 11, 123456, tzinfo=UTC)


def order_item_size(repos, order_id: str) -> int:
    item = repos.store.get(f"ORDER#{order_id}", "ORDER")
    assert item is not None
    return item_size(to_attrs(item))


@pytest.mark.parametrize("lines", [[("SKU-1", 1)], [("SKU-1", 2), ("SKU-2", 1)],
                                   [("SKU-1", 1), ("SKU-2", 3), ("SKU-3", 1)]])
def test_a_typical_order_item_stays_under_one_kb_from_capture_to_delivery(repos, lines):
    seed(repos, TWO_WAREHOUSES, {(sku, "BER"): 10 for sku, _ in lines} | {("SKU-1", "MAD"): 10})
    order_id, fo_id = placed_and_packed(repos, lines, NOW)
    sizes = [order_item_size(repos, order_id)]
    ship_lines(repos, fo_id, "S-1", dict(lines), NOW, carrier="DHL", tracking_code="TRK-1")
    sizes.append(order_item_size(repos, order_id))
    for status in (ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED):
        apply_update(TrackingUpdate("dhl", f"e-{status}", "TRK-1", "dhl", status, NOW, None, None), NOW, repos, NOW)
    order = repos.orders.get(order_id)
    assert order is not None and order.status == OrderStatus.DELIVERED and len(order.history) == 4
    sizes.append(order_item_size(repos, order_id))
    assert max(sizes) < KB, sizes
