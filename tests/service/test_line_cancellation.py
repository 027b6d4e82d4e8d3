"""Cancelling part of an order before it ships (POST /orders/{id}/cancel with lines), on the in-memory
store: exactly the asked units' reservations released, backorders reduced, fulfilment orders shrunk
(CANCELLED when nothing is left of one, SHIPPED when only shipped lines are), the order's status
following what remains, idempotent per cancellation id; then every guard with a test that fails
without it. Through the HTTP handler on moto: tests/integration/test_line_cancellation_api.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.fulfillment import Action, FulfillmentStatus
from shared.domain.orders import MAX_CANCELLATIONS, OrderStatus
from shared.domain.principal import Principal
from shared.domain.tracking import ShipmentStatus, TrackingUpdate
from shared.errors import Busy, Conflict, InvalidInput, NotFound
from shared.services import line_cancellation
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.fulfillment import advance
from shared.services.line_cancellation import CancelRequest, cancel, cancel_order_lines
from shared.services.order_actions import cancel_order
from shared.services.tracking import apply_update
from tests.factories import NOW, TWO_WAREHOUSES, order_request, reservations, seed
from tests.service.flows import (
    OPERATOR_PRINCIPAL,
    allocating_as_before,
    events,
    fulfil,
    interleave,
    placed_and_packed,
    policy,
    ship_lines,
)

pytestmark = pytest.mark.unit

WEB = Principal("web")


def placed(repos, lines: list[tuple[str, int]], channel: str = "web", fulfilled: bool = True) -> tuple[str, list[str]]:
    """An order of `lines` (10.00 a unit) captured, allocated and (`fulfilled`) given its fulfilment orders."""
    order_id = capture_order(order_request(lines), channel, repos, NOW).order.order_id
    allocate_order(order_id, repos, policy, NOW)
    return order_id, (fulfil(repos, order_id, NOW) if fulfilled else [])


def lines_cancel(repos, order_id: str, cancellation_id: str, lines: dict[str, int], principal=OPERATOR_PRINCIPAL,
                 reason: str = "customer asked"):
    return cancel_order_lines(order_id, principal, cancellation_id, lines, reason, repos, NOW)


def counts(repos, sku: str, loc: str = "BER") -> tuple[int, int, int]:
    level = repos.stock.level(sku, loc)
    return level.on_hand, level.reserved, level.available


def fo_lines(repos, fo_id: str) -> list[tuple[str, int, int]]:
    return [(x.sku, x.quantity, x.shipped) for x in repos.fulfillment.get(fo_id).lines]


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 5, ("SKU-3", "BER"): 5})
    return repos


# --- what a line cancellation does ------------------------------------------------------------------

def test_cancelling_one_line_of_an_allocated_order_releases_exactly_its_stock(stocked):
    repos = stocked
    order_id, [fo_id] = placed(repos, [("SKU-1", 2), ("SKU-2", 3)])
    payment_before = repos.orders.get(order_id).payment

    order = lines_cancel(repos, order_id, "C-1", {"SKU-2": 3})

    assert order.status == OrderStatus.ALLOCATED
    assert [(a.location_id, a.sku, a.quantity) for a in order.allocations] == [("BER", "SKU-1", 2)]
    assert [(c.cancellation_id, c.units, c.reason, c.by) for c in order.cancellations] == [
        ("C-1", {"SKU-2": 3}, "customer asked", "operator")]
    assert repos.orders.get(order_id).model_dump() == order.model_dump()
    assert order.payment == payment_before  # settle-payments refunds, on the event
    assert counts(repos, "SKU-2") == (5, 0, 5) and counts(repos, "SKU-1") == (5, 2, 3)
    assert reservations(repos, "SKU-2") == {}  # emptied: deleted in the cancellation's transaction
    assert reservations(repos, "SKU-1") == {("BER", order_id): 2}
    fo = repos.fulfillment.get(fo_id)
    assert fo.status == FulfillmentStatus.OPEN and fo_lines(repos, fo_id) == [("SKU-1", 2, 0)]
    [cancelled] = events(repos, "OrderLinesCancelled")
    assert {k: cancelled[k] for k in ("order_id", "channel", "cancellation_id", "reason", "lines", "released",
                                      "amount", "currency", "status", "previous")} == {
        "order_id": order_id, "channel": "web", "cancellation_id": "C-1", "reason": "customer asked",
        "lines": [{"sku": "SKU-2", "quantity": 3}], "released": [{"sku": "SKU-2", "quantity": 3, "location_id": "BER"}],
        "amount": "30.00", "currency": "EUR", "status": "ALLOCATED", "previous": "ALLOCATED"}
    released = [e for e in events(repos, "StockChanged") if e["cause"] == "reservation_released"]
    assert [(e["sku"], e["reserved"], e["available"], e["available_before"]) for e in released] == [
        ("SKU-2", 0, 5, 2)]
    assert events(repos, "FulfillmentOrderChanged") == [] and events(repos, "OrderCancelled") == []


def test_cancelling_part_of_a_line_shrinks_it(stocked):
    repos = stocked
    order_id, [fo_id] = placed(repos, [("SKU-1", 3), ("SKU-2", 1)])
    advance(fo_id, Action.ACCEPT, OPERATOR_PRINCIPAL, repos, NOW)

    order = lines_cancel(repos, order_id, "C-1", {"SKU-1": 2})

    assert order.status == OrderStatus.ALLOCATED
    assert {(a.sku, a.quantity) for a in order.allocations} == {("SKU-1", 1), ("SKU-2", 1)}
    assert fo_lines(repos, fo_id) == [("SKU-1", 1, 0), ("SKU-2", 1, 0)]
    assert repos.fulfillment.get(fo_id).status == FulfillmentStatus.ACCEPTED
    assert counts(repos, "SKU-1") == (5, 1, 4) and reservations(repos, "SKU-1") == {("BER", order_id): 1}
    assert events(repos, "OrderLinesCancelled")[0]["amount"] == "20.00"


def test_the_unshipped_rest_of_a_partly_shipped_order_can_be_cancelled(stocked):
    repos = stocked
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 3), ("SKU-2", 1)], NOW)
    ship_lines(repos, fo_id, "P-1", {"SKU-1": 1}, NOW)
    assert repos.orders.get(order_id).status == OrderStatus.PARTIALLY_SHIPPED
    with pytest.raises(Conflict):  # the whole order can no longer be cancelled: part of it left
        cancel_order(order_id, OPERATOR_PRINCIPAL, "too late", repos, NOW)

    order = lines_cancel(repos, order_id, "C-1", {"SKU-1": 2, "SKU-2": 1})

    fo = repos.fulfillment.get(fo_id)
    assert fo.status == FulfillmentStatus.SHIPPED and fo_lines(repos, fo_id) == [("SKU-1", 1, 1)]
    assert order.status == OrderStatus.SHIPPED  # it follows its parts: everything left has left
    assert {(a.sku, a.quantity) for a in order.allocations} == {("SKU-1", 1)}
    assert counts(repos, "SKU-1") == (4, 0, 4) and counts(repos, "SKU-2") == (5, 0, 5)
    assert ("SHIPPED", "PARTIALLY_SHIPPED") in {(e["status"], e["previous"])
                                                for e in events(repos, "FulfillmentOrderChanged")}
    assert sorted(e["status"] for e in events(repos, "OrderShipped")) == ["PARTIALLY_SHIPPED", "SHIPPED"]
    [cancelled] = events(repos, "OrderLinesCancelled")
    assert (cancelled["status"], cancelled["previous"], cancelled["amount"]) == ("SHIPPED", "PARTIALLY_SHIPPED",
                                                                                "30.00")
    assert events(repos, "OrderCancelled") == []


def test_a_shipped_rest_whose_parcels_all_arrived_makes_the_order_delivered(stocked):
    """Guard: moved to SHIPPED by the cancellation, with its only parcel already delivered, no later
    tracking update would ever deliver the order: the cancellation does."""
    repos = stocked
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 2)], NOW)
    ship_lines(repos, fo_id, "P-1", {"SKU-1": 1}, NOW, carrier="DHL", tracking_code="TRK1")
    at = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    apply_update(TrackingUpdate("dhl", "e-1", "TRK1", "dhl", ShipmentStatus.DELIVERED, at, None, None), at, repos, at)
    assert repos.orders.get(order_id).status == OrderStatus.PARTIALLY_SHIPPED

    order = lines_cancel(repos, order_id, "C-1", {"SKU-1": 1})

    assert order.status == OrderStatus.DELIVERED
    assert [e["order_id"] for e in events(repos, "OrderDelivered")] == [order_id]


def test_cancelling_a_backordered_line_only_reduces_the_backorder(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 0})
    order_id, [fo_id] = placed(repos, [("SKU-1", 2), ("SKU-2", 3)], channel="marketplace")
    assert repos.orders.get(order_id).status == OrderStatus.PARTIALLY_ALLOCATED

    order = lines_cancel(repos, order_id, "C-1", {"SKU-2": 2})
    assert order.status == OrderStatus.PARTIALLY_ALLOCATED and order.waiting_skus == ["SKU-2"]
    order = lines_cancel(repos, order_id, "C-2", {"SKU-2": 1})

    assert order.status == OrderStatus.ALLOCATED and order.backordered == [] and order.waiting_skus == []
    assert counts(repos, "SKU-1") == (5, 2, 3) and counts(repos, "SKU-2") == (0, 0, 0)
    assert fo_lines(repos, fo_id) == [("SKU-1", 2, 0)]
    assert [e["released"] for e in events(repos, "OrderLinesCancelled")] == [[], []]
    assert [e for e in events(repos, "StockChanged") if e["cause"] == "reservation_released"] == []


def test_the_backorder_goes_first_then_the_least_progressed_part(repos):
    """Units of a SKU both waiting and reserved: the waiting ones are cancelled first (nothing to release,
    and what is reserved ships sooner)."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2})
    order_id, [fo_id] = placed(repos, [("SKU-1", 3)], channel="marketplace")

    lines_cancel(repos, order_id, "C-1", {"SKU-1": 2})

    order = repos.orders.get(order_id)
    assert order.backordered == [] and order.status == OrderStatus.ALLOCATED
    assert fo_lines(repos, fo_id) == [("SKU-1", 1, 0)] and counts(repos, "SKU-1") == (2, 1, 1)


def test_cancelling_every_line_cancels_the_order_as_a_whole_cancel_does(stocked):
    repos = stocked
    order_id, [fo_id] = placed(repos, [("SKU-1", 2), ("SKU-2", 1)])

    lines_cancel(repos, order_id, "C-1", {"SKU-1": 1})
    order = lines_cancel(repos, order_id, "C-2", {"SKU-1": 1, "SKU-2": 1})

    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "customer asked"
    assert order.allocations == [] and order.backordered == []
    assert repos.fulfillment.get(fo_id).status == FulfillmentStatus.CANCELLED
    assert counts(repos, "SKU-1") == (5, 0, 5) and counts(repos, "SKU-2") == (5, 0, 5)
    [whole] = events(repos, "OrderCancelled")
    assert sorted((r["sku"], r["quantity"]) for r in whole["released"]) == [("SKU-1", 1), ("SKU-2", 1)]
    assert [(e["status"], e["previous"]) for e in events(repos, "FulfillmentOrderChanged")] == [
        ("CANCELLED", "OPEN")]


def test_a_backordered_order_whose_lines_are_all_cancelled_is_cancelled(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 0})
    order_id, _ = placed(repos, [("SKU-1", 2)], fulfilled=False)
    assert repos.orders.get(order_id).status == OrderStatus.BACKORDERED

    order = lines_cancel(repos, order_id, "C-1", {"SKU-1": 2})

    assert order.status == OrderStatus.CANCELLED and order.waiting_skus == []
    assert [e["released"] for e in events(repos, "OrderCancelled")] == [[]]


def test_lines_cancelled_before_allocation_are_not_allocated(stocked):
    """Guard: `remaining_lines` of a RECEIVED (or held, then released) order leaves out what was cancelled."""
    repos = stocked
    order_id = capture_order(order_request([("SKU-1", 2), ("SKU-2", 1)]), "web", repos, NOW).order.order_id

    assert lines_cancel(repos, order_id, "C-1", {"SKU-1": 1}).status == OrderStatus.RECEIVED
    allocate_order(order_id, repos, policy, NOW)

    order = repos.orders.get(order_id)
    assert order.status == OrderStatus.ALLOCATED
    assert {(a.sku, a.quantity) for a in order.allocations} == {("SKU-1", 1), ("SKU-2", 1)}
    assert counts(repos, "SKU-1") == (5, 1, 4)


# --- idempotency and refusals -------------------------------------------------------------------------

def test_a_repeat_with_the_same_id_changes_nothing_and_other_lines_under_it_are_a_conflict(stocked):
    repos = stocked
    order_id, _ = placed(repos, [("SKU-1", 2), ("SKU-2", 1)])
    first = lines_cancel(repos, order_id, "C-1", {"SKU-1": 1})
    written = len(events(repos, "OrderLinesCancelled")), counts(repos, "SKU-1")

    again = lines_cancel(repos, order_id, "C-1", {"SKU-1": 1}, reason="said twice")

    assert again.model_dump() == first.model_dump()
    assert (len(events(repos, "OrderLinesCancelled")), counts(repos, "SKU-1")) == written
    with pytest.raises(Conflict) as other:
        lines_cancel(repos, order_id, "C-1", {"SKU-1": 1, "SKU-2": 1})
    assert other.value.field == "cancellation_id"
    with pytest.raises(Conflict) as whole:  # the same id without lines is another request too
        cancel(order_id, OPERATOR_PRINCIPAL, CancelRequest(cancellation_id="C-1"), repos, NOW)
    assert whole.value.field == "cancellation_id"
    assert repos.orders.get(order_id).version == first.version


def test_more_than_is_left_to_cancel_is_a_conflict_naming_the_sku(stocked):
    repos = stocked
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 2), ("SKU-2", 1)], NOW)
    ship_lines(repos, fo_id, "P-1", {"SKU-1": 1}, NOW)
    before = repos.orders.get(order_id)

    with pytest.raises(Conflict) as over:  # one of the two shipped
        lines_cancel(repos, order_id, "C-1", {"SKU-1": 2})
    with pytest.raises(InvalidInput) as unknown:
        lines_cancel(repos, order_id, "C-1", {"SKU-9": 1})

    assert over.value.field == "lines" and "SKU-1" in over.value.message
    assert unknown.value.field == "lines" and "SKU-9" in unknown.value.message
    assert repos.orders.get(order_id).version == before.version and counts(repos, "SKU-1") == (4, 1, 3)


def test_a_shipped_or_cancelled_order_has_nothing_left_to_cancel(stocked):
    repos = stocked
    order_id, _ = placed(repos, [("SKU-1", 1)])
    cancel_order(order_id, OPERATOR_PRINCIPAL, "gone", repos, NOW)

    with pytest.raises(Conflict) as refused:
        lines_cancel(repos, order_id, "C-1", {"SKU-1": 1})
    assert refused.value.field == "status"


def test_lines_need_a_cancellation_id(stocked):
    repos = stocked
    order_id, _ = placed(repos, [("SKU-1", 1)])
    with pytest.raises(InvalidInput) as missing:
        cancel(order_id, OPERATOR_PRINCIPAL, CancelRequest(lines={"SKU-1": 1}), repos, NOW)
    assert missing.value.field == "cancellation_id"


def test_a_channel_cancels_lines_of_its_own_orders_only(stocked):
    repos = stocked
    order_id, _ = placed(repos, [("SKU-1", 2)])

    with pytest.raises(NotFound):
        lines_cancel(repos, order_id, "C-1", {"SKU-1": 1}, principal=Principal("app"))
    assert lines_cancel(repos, order_id, "C-1", {"SKU-1": 1}, principal=WEB).cancellations[0].by == "web"


def test_fulfilment_orders_not_created_yet_make_the_cancel_busy_not_wrong(stocked, monkeypatch):
    """Guard: allocated by an earlier version, and request-fulfillment has not made the fulfilment order
    yet. Its units cannot be taken off a fulfilment order that is not there (it would later be made
    with them): 503, retry."""
    allocating_as_before(monkeypatch)
    repos = stocked
    order_id, _ = placed(repos, [("SKU-1", 2)], fulfilled=False)

    with pytest.raises(Busy):
        lines_cancel(repos, order_id, "C-1", {"SKU-1": 1})
    assert counts(repos, "SKU-1") == (5, 2, 3)

    [fo_id] = fulfil(repos, order_id, NOW)
    lines_cancel(repos, order_id, "C-1", {"SKU-1": 1})
    assert fo_lines(repos, fo_id) == [("SKU-1", 1, 0)]


def test_an_order_keeps_a_bounded_number_of_line_cancellations(repos):
    """Guard: the order is one item (400 KB); past MAX_CANCELLATIONS a line cancellation is refused."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 100})
    order_id, _ = placed(repos, [("SKU-1", MAX_CANCELLATIONS + 2)])
    for n in range(MAX_CANCELLATIONS):
        lines_cancel(repos, order_id, f"C-{n}", {"SKU-1": 1})

    with pytest.raises(Conflict) as refused:
        lines_cancel(repos, order_id, "C-last", {"SKU-1": 1})
    assert refused.value.field == "lines"
    assert cancel_order(order_id, OPERATOR_PRINCIPAL, "all of it", repos, NOW).status == OrderStatus.CANCELLED


def test_a_cancellation_too_large_for_one_transaction_is_refused_whole(stocked, monkeypatch):
    """Guard: more writes than one transaction holds is a 409 naming lines, not a store error (500)."""
    repos = stocked
    order_id, _ = placed(repos, [("SKU-1", 1), ("SKU-2", 1), ("SKU-3", 1)])
    monkeypatch.setattr(line_cancellation, "MAX_WRITES", 6)

    with pytest.raises(Conflict) as refused:
        lines_cancel(repos, order_id, "C-1", {"SKU-1": 1, "SKU-2": 1})
    assert refused.value.field == "lines" and counts(repos, "SKU-1") == (5, 1, 4)


# --- concurrency ----------------------------------------------------------------------------------------

def test_two_line_cancellations_at_once_are_both_applied(stocked, monkeypatch):
    repos = stocked
    order_id, [fo_id] = placed(repos, [("SKU-1", 2), ("SKU-2", 2), ("SKU-3", 1)])
    interleave(monkeypatch, repos, lambda: lines_cancel(repos, order_id, "C-B", {"SKU-2": 2, "SKU-1": 1}))

    lines_cancel(repos, order_id, "C-A", {"SKU-1": 1, "SKU-3": 1})

    order = repos.orders.get(order_id)
    assert [c.cancellation_id for c in order.cancellations] == ["C-B", "C-A"]
    assert order.status == OrderStatus.CANCELLED and order.allocations == []
    assert [counts(repos, sku) for sku in ("SKU-1", "SKU-2", "SKU-3")] == [(5, 0, 5)] * 3
    assert reservations(repos, "SKU-1") == {}  # the second to land emptied it: deleted
    assert repos.fulfillment.get(fo_id).status == FulfillmentStatus.CANCELLED


def test_a_ship_landing_first_leaves_nothing_to_cancel(stocked, monkeypatch):
    repos = stocked
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 2)], NOW)
    interleave(monkeypatch, repos, lambda: ship_lines(repos, fo_id, "P-1", {}, NOW))

    with pytest.raises(Conflict):
        lines_cancel(repos, order_id, "C-1", {"SKU-1": 2})

    assert repos.fulfillment.get(fo_id).status == FulfillmentStatus.SHIPPED
    assert repos.orders.get(order_id).status == OrderStatus.SHIPPED
    assert counts(repos, "SKU-1") == (3, 0, 3)  # shipped once, never also released
    assert events(repos, "OrderLinesCancelled") == []


def test_a_cancel_landing_first_leaves_nothing_to_ship(stocked, monkeypatch):
    repos = stocked
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 2)], NOW)
    interleave(monkeypatch, repos, lambda: lines_cancel(repos, order_id, "C-1", {"SKU-1": 2}))

    with pytest.raises(Conflict):
        ship_lines(repos, fo_id, "P-1", {}, NOW)

    assert repos.fulfillment.get(fo_id).status == FulfillmentStatus.CANCELLED
    assert repos.orders.get(order_id).status == OrderStatus.CANCELLED
    assert counts(repos, "SKU-1") == (5, 0, 5)  # released once, never also shipped
    assert repos.shipments.get("P-1") is None


def test_a_ship_of_part_landing_first_leaves_the_rest_to_cancel(stocked, monkeypatch):
    repos = stocked
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 3)], NOW)
    interleave(monkeypatch, repos, lambda: ship_lines(repos, fo_id, "P-1", {"SKU-1": 2}, NOW))

    order = lines_cancel(repos, order_id, "C-1", {"SKU-1": 1})

    assert order.status == OrderStatus.SHIPPED
    assert fo_lines(repos, fo_id) == [("SKU-1", 2, 2)] and counts(repos, "SKU-1") == (3, 0, 3)


# --- the whole order, as before -------------------------------------------------------------------------

def test_without_lines_the_whole_order_is_cancelled_as_before(stocked):
    repos = stocked
    order_id, [fo_id] = placed(repos, [("SKU-1", 2), ("SKU-2", 1)])

    order = cancel(order_id, WEB, CancelRequest(reason="changed my mind"), repos, NOW)

    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "changed my mind"
    assert order.cancellations == [] and events(repos, "OrderLinesCancelled") == []
    assert repos.fulfillment.get(fo_id).status == FulfillmentStatus.CANCELLED
    assert counts(repos, "SKU-1") == (5, 0, 5) and reservations(repos, "SKU-1") == {}
    assert len(events(repos, "OrderCancelled")) == 1
    assert cancel(order_id, WEB, CancelRequest(), repos, NOW).version == order.version  # a repeat


def test_a_whole_cancel_after_a_line_cancellation_releases_exactly_the_rest(stocked):
    repos = stocked
    order_id, _ = placed(repos, [("SKU-1", 3), ("SKU-2", 1)])
    lines_cancel(repos, order_id, "C-1", {"SKU-1": 1})

    order = cancel_order(order_id, OPERATOR_PRINCIPAL, "the rest too", repos, NOW)

    assert order.status == OrderStatus.CANCELLED
    assert counts(repos, "SKU-1") == (5, 0, 5) and counts(repos, "SKU-2") == (5, 0, 5)
    assert reservations(repos, "SKU-1") == {} and reservations(repos, "SKU-2") == {}
