"""Reconciliation's steps on the in-memory store: the same runs as tests/integration, without moto.
Time passes by handing the run a later `now` than the orders were made at."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.channels import seed_policy
from shared.domain.orders import OrderStatus
from shared.domain.principal import OPERATOR, Principal
from shared.domain.reconciliation import ExceptionKind, config_from_env
from shared.domain.routing import Assignment
from shared.repositories import in_memory
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.order_actions import cancel_order
from shared.services.reconciliation import (
    Budget,
    RunReport,
    Step,
    list_exceptions,
    metric_name,
    metric_names,
    reconcile,
)
from tests.factories import NOW, TWO_WAREHOUSES, order_request, seed
from tests.service.flows import events

pytestmark = pytest.mark.unit


def policy(channel: str):
    return seed_policy(channel)


def run(repos, later=timedelta(0), **kwargs) -> RunReport:
    return reconcile(repos, NOW + later, policy_for=policy, **kwargs)


def placed(repos, coid: str, lines, **kwargs) -> str:
    """An order captured and allocated, as the API and the allocation consumer would."""
    order = capture_order(order_request(lines, channel_order_id=coid, **kwargs), "web", repos, NOW).order
    allocate_order(order.order_id, repos, policy, NOW)
    return order.order_id


@pytest.fixture
def repos():
    repos = in_memory()
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 5})
    return repos


def test_a_hand_edited_level_is_repaired_from_its_records_with_an_audit_and_an_event(repos):
    placed(repos, "CO-1", [("SKU-1", 2)])
    level = repos.stock.level("SKU-1", "BER")
    assert (level.reserved, level.available) == (2, 3)
    # Someone sets the counters by hand: reserved forgets the order, available oversells.
    edited = level.model_copy(update={"reserved": 0, "available": 5, "version": level.version + 1})
    repos.commit(repos.stock.write_level(edited, expected_version=level.version))

    report = run(repos)

    assert report.drift_repaired == 1 and report.stock_items_checked == 2 and report.pass_complete
    after = repos.stock.level("SKU-1", "BER")
    assert (after.on_hand, after.reserved, after.available) == (5, 2, 3)
    [audit] = repos.reconciliation.audits(NOW.date().isoformat())
    assert (audit.sku, audit.location_id, audit.before["reserved"], audit.after["reserved"]) == ("SKU-1", "BER", 0, 2)
    assert [(e["sku"], e["reserved_before"], e["reserved_after"], e["available_after"])
            for e in events(repos, "StockDriftRepaired")] == [("SKU-1", 0, 2, 3)]
    assert run(repos).drift_repaired == 0  # nothing left to repair


def test_a_spent_reservation_record_is_swept_and_a_live_one_kept(repos):
    live = placed(repos, "CO-1", [("SKU-1", 1)])
    repos.commit(repos.stock.reserve("o-gone", [Assignment("BER", "SKU-1", 1)], NOW))
    repos.commit(repos.stock.ship("o-gone", "BER", {"SKU-1": 1}, NOW))  # down to 0 units: spent

    report = run(repos)

    assert report.reservations_swept == 1 and report.drift_repaired == 0
    [partition] = [p for _, p in repos.reconciliation.stock_partitions(None) if p.sku == "SKU-1"]
    assert [(r.order_id, r.quantity) for r in partition.reservations] == [(live, 1)]


def test_a_record_reserved_again_before_its_sweep_is_kept(repos):
    """The sweep deletes a record only while it holds 0 units: a reservation adding to it in between (the
    walk read it spent) keeps it, whole."""
    from shared.unit_of_work import Refused, ReservationChanged

    repos.commit(repos.stock.reserve("o-1", [Assignment("BER", "SKU-1", 1)], NOW))
    repos.commit(repos.stock.ship("o-1", "BER", {"SKU-1": 1}, NOW))
    repos.commit(repos.stock.reserve("o-1", [Assignment("BER", "SKU-1", 2)], NOW))  # live again

    with pytest.raises(Refused) as refused:
        repos.stock.drop_spent_reservation("SKU-1", "BER", "o-1")

    assert refused.value.find(ReservationChanged) is not None
    assert repos.stock.live_reservations("SKU-1", "BER") == 2


def test_an_unpaid_hold_is_cancelled_once_its_time_is_up_and_not_before(repos):
    held = placed(repos, "CO-1", [("SKU-1", 1)], payment_status="pending")
    assert repos.orders.get(held).status == OrderStatus.ON_HOLD

    assert run(repos, timedelta(hours=71)).holds_expired == 0
    assert repos.orders.get(held).status == OrderStatus.ON_HOLD

    report = run(repos, timedelta(hours=73))

    assert report.holds_expired == 1 and report.errors == 0
    order = repos.orders.get(held)
    assert order.status == OrderStatus.CANCELLED and "payment not received within 72 h" in order.cancel_reason
    assert [e["order_id"] for e in events(repos, "OrderCancelled")] == [held]
    assert run(repos, timedelta(hours=74)).holds_expired == 0


def test_a_stuck_order_is_raised_once_listed_and_closed_once_it_moves(repos):
    order_id = placed(repos, "CO-1", [("SKU-1", 1)])
    assert repos.orders.get(order_id).status == OrderStatus.ALLOCATED

    assert run(repos, timedelta(days=1)).orders_stuck == 0  # within the ALLOCATED SLA of 2 days
    first, second = run(repos, timedelta(days=3)), run(repos, timedelta(days=3, minutes=5))

    assert (first.orders_stuck, second.orders_stuck) == (1, 0)
    assert [(e["order_id"], e["status"], e["sla_minutes"]) for e in events(repos, "OrderStuck")] == [
        (order_id, "ALLOCATED", 2880)]
    listed, next_cursor = list_exceptions(repos, NOW + timedelta(days=3), 10, None)
    assert next_cursor is None
    [entry] = listed
    assert (entry.kind, entry.subject, entry.order_id, entry.status) == (
        ExceptionKind.STUCK_ORDER, order_id, order_id, "ALLOCATED")
    assert entry.age_minutes == 3 * 24 * 60 and "BER" in entry.suggested_action

    cancel_order(order_id, Principal(OPERATOR), "customer gave up", repos, NOW + timedelta(days=3, minutes=7))
    assert run(repos, timedelta(days=3, minutes=10)).exceptions_resolved == 1
    assert list_exceptions(repos, NOW + timedelta(days=3, minutes=10), 10, None) == ([], None)


def test_an_item_that_does_not_read_counts_as_an_error_and_the_walk_goes_on(repos):
    from shared.adapters.expressions import Changes, Patch
    from shared.adapters.orders_repo import ORDER_SK, order_pk

    broken = placed(repos, "CO-1", [("SKU-1", 1)])
    fine = placed(repos, "CO-2", [("SKU-1", 1)])
    repos.commit(Patch(order_pk(broken), ORDER_SK, Changes(set={"doc": "{}"})))  # a document that is no order

    report = run(repos, timedelta(days=3))

    assert report.errors == 1 and report.orders_stuck == 1 and report.pass_complete
    assert report.error_samples[0].startswith("stuck_orders ")
    assert [e["order_id"] for e in events(repos, "OrderStuck")] == [fine]


def test_a_run_cut_off_resumes_where_it_stopped_and_a_held_lease_skips_a_run(repos):
    for sku in ("SKU-1", "SKU-2"):
        level = repos.stock.level(sku, "BER")
        drifted = level.model_copy(update={"reserved": 1, "available": 4, "version": level.version + 1})
        repos.commit(repos.stock.write_level(drifted, expected_version=level.version))
    seen: list[tuple[str, str]] = []

    first = run(repos, budget=Budget(60, max_items=1), observer=lambda step, key: seen.append((step, key)))
    assert (first.stopped_in, first.pass_complete, first.drift_repaired) == (Step.DRIFT, False, 1)
    assert repos.reconciliation.state().step == "drift"

    repos.reconciliation.acquire("someone-else", NOW, timedelta(minutes=5))
    assert run(repos).skipped
    repos.reconciliation.abandon("someone-else")

    second = run(repos, observer=lambda step, key: seen.append((step, key)))
    assert second.resumed_from == Step.DRIFT and second.pass_complete and second.drift_repaired == 1
    drift_items = [key for step, key in seen if step == "drift"]
    assert len(drift_items) == len(set(drift_items)) == 2  # each SKU's partition once
    completed = events(repos, "ReconciliationCompleted")
    assert sorted((e["pass_complete"], e["stopped_in"]) for e in completed) == [(False, "drift"), (True, None)]


def test_a_checkpoint_in_a_step_whose_sla_was_switched_off_starts_the_step_over(repos):
    placed(repos, "CO-1", [("SKU-1", 1)])
    cfg = config_from_env({})
    repos.reconciliation.acquire("earlier", NOW, timedelta(minutes=5))
    repos.reconciliation.checkpoint("earlier", Step.STUCK_ORDERS.value, {"status": "ALLOCATED", "after": "2026-01"})
    repos.reconciliation.abandon("earlier")
    switched_off = config_from_env({"OMS_RECONCILE_SLA": "ALLOCATED=off"})

    report = run(repos, timedelta(days=3), cfg=switched_off)

    assert report.resumed_from == Step.STUCK_ORDERS and report.pass_complete and report.errors == 0
    assert report.orders_stuck == 0  # ALLOCATED has no SLA any more
    assert run(repos, timedelta(days=3, minutes=5), cfg=cfg).orders_stuck == 1


def test_every_count_of_the_report_is_a_metric_and_the_event_carries_the_counts_it_knows(repos):
    report = run(repos)
    names = metric_names()
    assert all(metric_name(count) in names for count in report.counts())
    assert metric_name("drift_repaired") == "ReconciliationDriftRepaired"
    assert len(names) == len(set(names))
    [completed] = events(repos, "ReconciliationCompleted")
    assert {k: completed[k] for k in report.counts() if k in completed} == {
        k: v for k, v in report.counts().items() if k in completed}
    assert completed["stock_items_checked"] == 2
