"""Channel intake on the fake store: a Shopify order as Shopify sends it, captured once however often
and in whatever order its webhooks come; newer revisions applied before allocation and recorded after;
cancellations that cancel, or list an exception once it is too late."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest

from shared.channels import shopify
from shared.channels.intake import IntakeAction, SkuMap
from shared.domain.channels import Channel, ChannelKind, ChannelSettings
from shared.domain.fulfillment import Action
from shared.domain.orders import HoldReason, OrderStatus
from shared.domain.reconciliation import ExceptionKind
from shared.services.allocation import allocate_order
from shared.services.channel_intake import IntakeOutcome, receive_channel_order
from shared.services.fulfillment import advance
from tests.factories import NOW, location_request, seed
from tests.service.flows import OPERATOR_PRINCIPAL, events, fulfil, policy, ship_lines

SAMPLES = Path(__file__).resolve().parents[1] / "unit" / "channel_payloads" / "shopify"
SAMPLE = json.loads((SAMPLES / "orders_create.json").read_bytes())
# The sample's third line has no SKU: its variant is mapped, so the order maps completely.
MAPPING = {"variant:44610569208041": "POSTER-A2"}
SKUS = ("TSHIRT-BLK-M", "MUG-WHT", "POSTER-A2")


@pytest.fixture
def shop(repos) -> Channel:
    seed(repos, {"TOR": location_request("CA", lat=43.65, lon=-79.38)}, {(sku, "TOR"): 20 for sku in SKUS})
    channel = Channel(channel_id="shop-ca", settings=ChannelSettings(
        kind=ChannelKind.SHOPIFY, secret_ref="oms/channels/shop-ca", sku_mapping=MAPPING), created_at=NOW,
        updated_at=NOW, updated_by="test")
    repos.commit(repos.channels.save(channel, None))
    return channel


def revision(minutes: int = 0, topic: str = "orders/updated", mapping: dict | None = None, **changes):
    """The sample order as Shopify would send it `minutes` after its own updated_at, with `changes`."""
    body = copy.deepcopy(SAMPLE)
    body["updated_at"] = (NOW + timedelta(minutes=minutes)).isoformat()
    for name, value in changes.items():
        body[name] = value
    return shopify.read(topic, json.dumps(body).encode(), SkuMap(MAPPING if mapping is None else mapping))


def receive(shop, repos, message, delivery: str | None = None, later: int = 0):
    return receive_channel_order(shop, message, repos, NOW + timedelta(minutes=later), delivery_id=delivery)


def test_a_shopify_order_is_captured_once_whatever_the_redeliveries(shop, repos):
    first = receive(shop, repos, revision(topic="orders/create"), delivery="wh-1")
    assert first.outcome == IntakeOutcome.CAPTURED
    order = repos.orders.get(first.order_id)
    assert (order.channel, order.request.channel_order_id, order.request.currency) == ("shop-ca", "6012893405417",
                                                                                       "CAD")
    assert order.channel_record.display_id == "#1187" and order.channel_record.status == "paid"
    # The same delivery again (Shopify retries with the same webhook id) and the same order in another
    # delivery (a second subscription) change nothing.
    assert receive(shop, repos, revision(topic="orders/create"), delivery="wh-1").outcome == IntakeOutcome.DUPLICATE
    again = receive(shop, repos, revision(topic="orders/create"), delivery="wh-2")
    assert (again.outcome, again.order_id) == (IntakeOutcome.STALE, first.order_id)
    assert len(events(repos, "OrderReceived")) == 1


def test_a_delivery_is_taken_in_the_same_transaction_as_the_order(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create"), delivery="wh-1")
    assert repos.channels.delivery_taken("shop-ca", "wh-1")
    # A delivery id seen before is refused by the claim's condition inside the change's transaction,
    # even when what it carries would change the order: nothing of it is applied.
    again = receive(shop, repos, revision(minutes=5, note="changed"), delivery="wh-1")
    assert again.outcome == IntakeOutcome.DUPLICATE
    assert repos.orders.get(captured.order_id).request.note != "changed"
    assert events(repos, "ChannelOrderUpdated") == []


def test_an_update_arriving_before_its_create_is_captured_and_the_create_is_stale(shop, repos):
    newer = revision(minutes=10, note="Ring twice")
    first = receive(shop, repos, newer, delivery="wh-upd")
    assert first.outcome == IntakeOutcome.CAPTURED
    late_create = receive(shop, repos, revision(topic="orders/create"), delivery="wh-create")
    assert late_create.outcome == IntakeOutcome.STALE
    order = repos.orders.get(first.order_id)
    assert order.request.note == "Ring twice" and order.channel_record.revision == newer.revision


def test_a_newer_revision_replaces_lines_and_address_before_allocation(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create"))
    moved = copy.deepcopy(SAMPLE["shipping_address"]) | {"address1": "1 Rideau St", "address2": None}
    result = receive(shop, repos, revision(minutes=3, shipping_address=moved), later=1)
    assert result.outcome == IntakeOutcome.UPDATED and "shipping_address" in result.detail
    order = repos.orders.get(captured.order_id)
    assert order.request.shipping_address.line1 == "1 Rideau St"
    assert order.request_fingerprint == order.request.fingerprint()
    [updated] = events(repos, "ChannelOrderUpdated")
    assert updated["applied"] is True and updated["changed"] == ["shipping_address"]


def test_a_revision_after_allocation_is_recorded_not_applied(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create"))
    allocate_order(captured.order_id, repos, policy, NOW)
    assert repos.orders.get(captured.order_id).status == OrderStatus.ALLOCATED
    moved = copy.deepcopy(SAMPLE["shipping_address"]) | {"address1": "1 Rideau St"}
    result = receive(shop, repos, revision(minutes=3, shipping_address=moved), later=1)
    assert result.outcome == IntakeOutcome.RECORDED
    order = repos.orders.get(captured.order_id)
    assert order.request.shipping_address.line1 == "150 Elgin St"
    assert "not applied" in order.history[-1].note
    assert events(repos, "ChannelOrderUpdated")[-1]["applied"] is False


def test_an_older_revision_never_overwrites_a_newer_one(shop, repos):
    captured = receive(shop, repos, revision(minutes=10, note="newest"))
    assert receive(shop, repos, revision(minutes=5, note="older")).outcome == IntakeOutcome.STALE
    assert repos.orders.get(captured.order_id).request.note == "newest"


def test_what_cannot_be_mapped_holds_the_order_naming_it(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create", mapping={}))
    allocate_order(captured.order_id, repos, policy, NOW)
    order = repos.orders.get(captured.order_id)
    assert order.status == OrderStatus.ON_HOLD
    [hold] = [h for h in order.holds if h.reason == HoldReason.CHANNEL_MAPPING]
    assert "line_items[2].sku" in hold.detail
    # The shop fixes the product; its next revision replaces the lines, and allocation verifies afresh.
    fixed = receive(shop, repos, revision(minutes=5), later=1)
    assert fixed.outcome == IntakeOutcome.UPDATED
    assert repos.orders.get(captured.order_id).status == OrderStatus.RECEIVED
    # Announced, so allocation runs again (the queue's rule takes OrderReleased).
    assert [e["released"] for e in events(repos, "OrderReleased")] == [["CHANNEL_MAPPING", "UNKNOWN_SKU"]]
    allocate_order(captured.order_id, repos, policy, NOW + timedelta(minutes=1))
    assert repos.orders.get(captured.order_id).status == OrderStatus.ALLOCATED


def test_a_currency_the_channel_does_not_sell_in_holds_the_order(repos, shop):
    euro_only = shop.model_copy(update={"settings": shop.settings.model_copy(update={"currencies": ["EUR"]})})
    captured = receive(euro_only, repos, revision(topic="orders/create"))
    allocate_order(captured.order_id, repos, policy, NOW)
    order = repos.orders.get(captured.order_id)
    assert order.status == OrderStatus.ON_HOLD
    assert any(h.reason == HoldReason.CHANNEL_MAPPING and "currency" in h.detail for h in order.holds)
    # The hold (published in OrderOnHold) names fields only, never what the customer's order said.
    assert not any("CAD" in h.detail for h in order.holds)
    assert any("CAD is not a currency" in p.problem for p in order.channel_record.problems)


def test_a_payment_the_shop_takes_later_releases_the_order(shop, repos):
    pending = revision(topic="orders/create", financial_status="pending")
    captured = receive(shop, repos, pending)
    allocate_order(captured.order_id, repos, policy, NOW)
    assert repos.orders.get(captured.order_id).status == OrderStatus.ON_HOLD
    paid = receive(shop, repos, revision(minutes=30, topic="orders/paid", financial_status="paid"), later=30)
    assert paid.outcome == IntakeOutcome.UPDATED
    order = repos.orders.get(captured.order_id)
    assert order.status == OrderStatus.RECEIVED and order.pay.captured == order.total
    assert [e["released"] for e in events(repos, "OrderReleased")] == [["AWAITING_PAYMENT"]]


def test_a_shopify_cancellation_cancels_the_order(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create"))
    allocate_order(captured.order_id, repos, policy, NOW)
    cancelled = revision(minutes=20, topic="orders/cancelled", cancel_reason="customer",
                         cancelled_at=(NOW + timedelta(minutes=20)).isoformat())
    assert cancelled.action == IntakeAction.CANCEL
    result = receive(shop, repos, cancelled, delivery="wh-cancel", later=20)
    assert result.outcome == IntakeOutcome.CANCELLED
    order = repos.orders.get(captured.order_id)
    assert order.status == OrderStatus.CANCELLED and "customer" in order.cancel_reason
    assert receive(shop, repos, cancelled, delivery="wh-cancel", later=21).outcome == IntakeOutcome.DUPLICATE


def test_a_cancellation_after_shipping_lists_an_exception(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create"))
    allocate_order(captured.order_id, repos, policy, NOW)
    [fo_id] = fulfil(repos, captured.order_id, NOW)
    for action in (Action.ACCEPT, Action.PICK, Action.PACK):
        advance(fo_id, action, OPERATOR_PRINCIPAL, repos, NOW)
    ship_lines(repos, fo_id, "SH-1", {"TSHIRT-BLK-M": 2, "MUG-WHT": 1, "POSTER-A2": 1}, NOW)
    cancelled = revision(minutes=60, topic="orders/cancelled", cancel_reason="fraud",
                         cancelled_at=(NOW + timedelta(minutes=60)).isoformat())
    result = receive(shop, repos, cancelled, later=60)
    assert result.outcome == IntakeOutcome.CANCEL_REFUSED
    record = repos.reconciliation.open_exception(ExceptionKind.CHANNEL_CONFLICT, captured.order_id)
    assert record is not None and "shopify cancelled" in record.reason
    assert repos.orders.get(captured.order_id).status == OrderStatus.SHIPPED


def test_a_channel_cannot_touch_another_channels_order_with_the_same_id(shop, repos):
    first = receive(shop, repos, revision(topic="orders/create"))
    other = shop.model_copy(update={"channel_id": "shop-us"})
    second = receive(other, repos, revision(topic="orders/create"))
    assert second.outcome == IntakeOutcome.CAPTURED and second.order_id != first.order_id
    assert receive(other, repos, revision(minutes=5, topic="orders/cancelled", cancel_reason="other",
                                          cancelled_at=NOW.isoformat())).order_id == second.order_id
    assert repos.orders.get(first.order_id).status == OrderStatus.RECEIVED


def test_a_revision_back_to_the_first_body_is_applied(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create"))
    moved = copy.deepcopy(SAMPLE["shipping_address"]) | {"address1": "1 Rideau St"}
    assert receive(shop, repos, revision(minutes=5, shipping_address=moved)).outcome == IntakeOutcome.UPDATED
    back = receive(shop, repos, revision(minutes=10))
    assert back.outcome == IntakeOutcome.UPDATED
    assert repos.orders.get(captured.order_id).request.shipping_address.line1 == "150 Elgin St"


def test_lines_changed_in_the_channel_after_allocation_are_an_exception_for_a_person(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create"))
    allocate_order(captured.order_id, repos, policy, NOW)
    fewer = copy.deepcopy(SAMPLE["line_items"])
    fewer[0]["current_quantity"] = 1
    assert receive(shop, repos, revision(minutes=5, line_items=fewer)).outcome == IntakeOutcome.RECORDED
    record = repos.reconciliation.open_exception(ExceptionKind.CHANNEL_CONFLICT, captured.order_id)
    assert record is not None and "lines" in record.reason
    assert repos.orders.get(captured.order_id).request.lines[0].quantity == 2


def test_a_payment_revision_keeps_the_payment_record_and_a_closed_order_takes_none(shop, repos):
    captured = receive(shop, repos, revision(topic="orders/create", financial_status="pending"))
    paid = receive(shop, repos, revision(minutes=5, topic="orders/paid", financial_status="paid"))
    assert paid.outcome == IntakeOutcome.UPDATED
    order = repos.orders.get(captured.order_id)
    assert order.pay.captured == order.total
    # A later revision with another address before allocation keeps what the payment learnt.
    moved = copy.deepcopy(SAMPLE["shipping_address"]) | {"address1": "1 Rideau St"}
    receive(shop, repos, revision(minutes=6, financial_status="paid", shipping_address=moved))
    assert repos.orders.get(captured.order_id).pay.captured == order.total
    cancelled = revision(minutes=20, topic="orders/cancelled", cancel_reason="customer",
                         cancelled_at=(NOW + timedelta(minutes=20)).isoformat())
    receive(shop, repos, cancelled)
    late = receive(shop, repos, revision(minutes=30, topic="orders/updated", financial_status="refunded"))
    assert late.outcome == IntakeOutcome.STALE and "CANCELLED" in late.detail


def test_cash_on_delivery_marked_paid_by_the_channel_is_not_counted_again(shop, repos):
    cod = revision(topic="orders/create", financial_status="pending",
                   payment_gateway_names=["Cash on Delivery (COD)"])
    captured = receive(shop, repos, cod)
    assert repos.orders.get(captured.order_id).pay.method.value == "cash_on_delivery"
    receive(shop, repos, revision(minutes=5, financial_status="paid", payment_gateway_names=["Cash on Delivery (COD)"]))
    order = repos.orders.get(captured.order_id)
    assert order.pay.captured == 0 and events(repos, "PaymentCaptured") == []
