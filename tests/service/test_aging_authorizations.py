"""Reconciliation's aging-authorisation step on the in-memory store: a card authorisation older
than the limit (6 days by default) and not fully captured is listed once for an operator
(AUTHORIZATION_AGING, `since` = when it was authorised), and the listing closes itself once the
authorisation is captured or released. Orders are captured a week before the run's `now`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.domain.fulfillment import Action
from shared.domain.orders import OrderStatus
from shared.domain.payments import MovementKind, PaymentStatus
from shared.domain.reconciliation import ExceptionKind, config_from_env
from shared.repositories import in_memory
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.fulfillment import advance
from shared.services.order_actions import cancel_order
from shared.services.reconciliation import STEPS, RunReport, Step, list_exceptions, reconcile
from tests.factories import NOW, TWO_WAREHOUSES, order_request, seed
from tests.service.flows import OPERATOR_PRINCIPAL, fulfil, policy, ship_lines

pytestmark = pytest.mark.unit

WEEK_AGO = NOW - timedelta(days=7)


def run(repos, now=NOW, **kwargs) -> RunReport:
    return reconcile(repos, now, policy_for=policy, **kwargs)


def authorised(repos, coid: str, lines=(("SKU-1", 1),), at=WEEK_AGO) -> str:
    """An order whose card was authorised (not captured) at checkout, captured and allocated at `at`.
    No payment intent: the channel settles (external), so nothing calls a gateway."""
    order = capture_order(order_request(list(lines), channel_order_id=coid, payment_status="authorized"), "web",
                          repos, at).order
    allocate_order(order.order_id, repos, policy, at)
    return order.order_id


def packed(repos, order_id: str, at=WEEK_AGO) -> str:
    [fo_id] = fulfil(repos, order_id, at)
    for action in (Action.ACCEPT, Action.PICK, Action.PACK):
        advance(fo_id, action, OPERATOR_PRINCIPAL, repos, at)
    return fo_id


def paid_for(repos, order_id: str, key: str, amount: str, at, release: bool = False) -> None:
    """Money moved on the order's payment as settle-payments records it: a capture under `key`
    (a shipment), and with `release` the uncaptured rest released (a void, or the final capture)."""
    order = repos.orders.get(order_id)
    expected = order.version
    assert order.pay.record(MovementKind.CAPTURE, key, Decimal(amount), at)
    if release:
        order.pay.release(at)
    order.version += 1
    repos.commit(repos.orders.save(order, expected))


def released(repos, order_id: str, at) -> None:
    """The authorisation's rest released (a void) while the order is still open."""
    order = repos.orders.get(order_id)
    expected = order.version
    order.pay.release(at)
    order.version += 1
    repos.commit(repos.orders.save(order, expected))


def aging(repos):
    listed, _ = list_exceptions(repos, NOW, 50, None)
    return {e.subject: e for e in listed if e.kind == ExceptionKind.AUTHORIZATION_AGING}


@pytest.fixture
def repos():
    repos = in_memory()
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 20, ("SKU-2", "BER"): 20})
    return repos


def test_the_step_runs_after_the_stuck_orders_and_before_the_exceptions_are_closed():
    assert STEPS[-3:] == (Step.STUCK_ORDERS, Step.AGING_AUTHORIZATIONS, Step.EXCEPTIONS)


def test_an_old_uncaptured_authorisation_is_listed_once_and_a_fresh_one_is_not(repos):
    old = authorised(repos, "CO-OLD")
    fresh = authorised(repos, "CO-FRESH", at=NOW - timedelta(days=1))
    seen: list[tuple[str, str]] = []

    first = run(repos, observer=lambda step, key: seen.append((step, key)))
    second = run(repos, NOW + timedelta(minutes=5))

    assert (first.authorizations_aging, second.authorizations_aging) == (1, 0)
    assert first.errors == second.errors == 0 and first.pass_complete
    assert set(aging(repos)) == {old}
    entry = aging(repos)[old]
    assert (entry.order_id, entry.status, entry.since) == (old, PaymentStatus.AUTHORIZED.value, WEEK_AGO)
    assert "10.00 EUR authorised 7 d ago" in entry.reason
    assert "re-authorise" in entry.suggested_action
    # The index bound: an order created after now - 6 days is not even read by the step.
    walked = [key for step, key in seen if step == Step.AGING_AUTHORIZATIONS]
    assert len(walked) == 1 and fresh not in " ".join(walked)


def test_the_limit_is_a_setting(repos):
    four_days = authorised(repos, "CO-1", at=NOW - timedelta(days=4))

    assert run(repos).authorizations_aging == 0
    shorter = config_from_env({"OMS_RECONCILE_AUTHORIZATION_MAX_AGE": "3d"})
    assert run(repos, NOW + timedelta(minutes=5), cfg=shorter).authorizations_aging == 1
    assert set(aging(repos)) == {four_days}


def test_a_paid_a_fully_captured_or_a_released_authorisation_is_not_listed(repos):
    paid = capture_order(order_request([("SKU-1", 1)], channel_order_id="CO-PAID"), "web", repos, WEEK_AGO).order
    captured = authorised(repos, "CO-CAPTURED")
    ship_lines(repos, packed(repos, captured), "S-1", {"SKU-1": 1}, WEEK_AGO + timedelta(days=1))
    paid_for(repos, captured, "S-1", "10.00", WEEK_AGO + timedelta(days=1), release=True)
    voided = authorised(repos, "CO-VOIDED")
    released(repos, voided, WEEK_AGO + timedelta(days=1))

    report = run(repos)

    assert repos.orders.get(paid.order_id).pay.status == PaymentStatus.CAPTURED
    order = repos.orders.get(captured)
    assert (order.status, order.pay.status, order.pay.authorization_open) == (OrderStatus.SHIPPED,
                                                                               PaymentStatus.CAPTURED, False)
    assert repos.orders.get(voided).pay.status == PaymentStatus.VOIDED
    assert report.authorizations_aging == 0 and aging(repos) == {}


def test_a_partly_captured_old_authorisation_is_listed_and_closes_once_the_rest_is_captured(repos):
    order_id = authorised(repos, "CO-1", lines=[("SKU-1", 1), ("SKU-2", 1)])
    fo_id = packed(repos, order_id)
    ship_lines(repos, fo_id, "S-1", {"SKU-1": 1}, WEEK_AGO + timedelta(days=1))
    paid_for(repos, order_id, "S-1", "10.00", WEEK_AGO + timedelta(days=1))
    assert repos.orders.get(order_id).status == OrderStatus.PARTIALLY_SHIPPED

    report = run(repos)

    assert report.authorizations_aging == 1
    entry = aging(repos)[order_id]
    assert entry.status == PaymentStatus.PARTIALLY_CAPTURED.value and entry.since == WEEK_AGO
    assert entry.reason.startswith("10.00 EUR authorised")  # the uncaptured rest, not the whole order
    assert run(repos, NOW + timedelta(minutes=5)).authorizations_aging == 0  # once

    ship_lines(repos, fo_id, "S-2", {"SKU-2": 1}, NOW + timedelta(minutes=10))
    paid_for(repos, order_id, "S-2", "10.00", NOW + timedelta(minutes=10), release=True)
    order = repos.orders.get(order_id)
    assert (order.pay.status, order.pay.captured, order.pay.authorization_open) == (
        PaymentStatus.CAPTURED, Decimal("20.00"), False)

    closing = run(repos, NOW + timedelta(minutes=15))

    assert (closing.exceptions_resolved, closing.authorizations_aging) == (1, 0)
    assert aging(repos) == {}
    assert run(repos, NOW + timedelta(minutes=20)).authorizations_aging == 0  # captured: never again


def test_a_listed_authorisation_closes_once_it_is_released(repos):
    order_id = authorised(repos, "CO-1")
    assert run(repos).authorizations_aging == 1

    released(repos, order_id, NOW + timedelta(minutes=1))
    closing = run(repos, NOW + timedelta(minutes=5))

    assert closing.exceptions_resolved == 1 and aging(repos) == {}


def test_an_authorisation_left_open_after_everything_shipped_is_listed_to_be_settled(repos):
    # The parcel left but its settle-payments message never got through: nothing captured, still open.
    order_id = authorised(repos, "CO-1")
    ship_lines(repos, packed(repos, order_id), "S-1", {"SKU-1": 1}, WEEK_AGO + timedelta(days=1))
    assert repos.orders.get(order_id).status == OrderStatus.SHIPPED

    assert run(repos).authorizations_aging == 1
    entry = aging(repos)[order_id]
    assert "everything has shipped" in entry.suggested_action and "release the rest" in entry.suggested_action


def test_a_cancelled_order_whose_release_is_still_on_its_way_is_not_listed(repos):
    order_id = authorised(repos, "CO-1")
    cancel_order(order_id, OPERATOR_PRINCIPAL, "customer gave up", repos, NOW - timedelta(hours=1))
    assert repos.orders.get(order_id).pay.authorization_open  # settle-payments has not released it yet

    assert run(repos).authorizations_aging == 0 and aging(repos) == {}
