"""The reconciliation's `pending_refunds` step on the in-memory store: a return's refund left
PENDING by a crash is finished once (one refund at the provider, one movement, one RefundIssued),
a refund claimed just now is left to the call that claimed it, and the units received since are
left for an operator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.domain.channels import seed_policy
from shared.domain.payments import MovementKind
from shared.domain.reconciliation import ExceptionKind, config_from_env
from shared.domain.returns import RefundState
from shared.payments.provider import ProviderUnavailable
from shared.services.reconciliation import Budget, RunReport, Step, reconcile
from shared.services.reconciliation import pending_refunds as step
from shared.services.reconciliation.context import Run
from tests.service import test_returns as returns_tests
from tests.service.flows import events
from tests.service.test_returns import LATER, LambdaDied, receive, received, refund
from tests.service.test_settlement import FakeGateway

pytestmark = pytest.mark.unit

D = Decimal
delivered = returns_tests.delivered  # a paid order of SKU-1 x2 and SKU-2 x1 (35.00), delivered
labels = returns_tests.labels        # the return label bucket, in memory (autouse)


def paid() -> FakeGateway:
    return FakeGateway(authorized=D("35.00"), received=D("35.00"))


def crashed(repos, rma_id: str, gateway: FakeGateway, monkeypatch) -> None:
    """The refund call dies right after the provider refunded: the refund stays PENDING."""
    real, before = repos.commit, len(gateway.calls)
    died: list[bool] = []

    def commit(*writes):
        if len(gateway.calls) > before and not died:
            died.append(True)
            raise LambdaDied
        return real(*writes)

    monkeypatch.setattr(repos, "commit", commit)
    with pytest.raises(LambdaDied):
        refund(repos, rma_id, gateway)
    monkeypatch.setattr(repos, "commit", real)
    assert repos.returns.get(rma_id).pending_refund is not None


def run(repos, gateway, later: timedelta, **kwargs) -> RunReport:
    return reconcile(repos, LATER + later, policy_for=seed_policy, gateway_for=gateway, **kwargs)


def refunds_of(repos, order_id: str) -> list:
    return [m for m in repos.orders.get(order_id).pay.movements if m.kind == MovementKind.REFUND]


def test_the_step_runs_early_in_the_pass():
    from shared.services.reconciliation import STEPS

    assert STEPS.index(Step.PENDING_REFUNDS) < STEPS.index(Step.DRIFT)


def test_a_refund_left_pending_by_a_crash_is_finished_once(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    ret = received(repos, order_id, ("SKU-1", 2))
    crashed(repos, ret.rma_id, gateway, monkeypatch)

    report = run(repos, gateway, timedelta(minutes=10))

    assert (report.refunds_resumed, report.refunds_failed, report.errors) == (1, 0, 0)
    assert gateway.refunded == D("20.00") and len(set(gateway.keys("refund"))) == 1
    assert [m.amount for m in refunds_of(repos, order_id)] == [D("20.00")]
    assert repos.orders.get(order_id).pay.refunded == D("20.00")
    assert [r.state for r in repos.returns.get(ret.rma_id).refunds] == [RefundState.DONE]
    assert len([e for e in events(repos, "RefundIssued") if e["rma_id"] == ret.rma_id]) == 1

    calls = len(gateway.calls)
    again = run(repos, gateway, timedelta(minutes=15))
    assert (again.refunds_resumed, again.refunds_failed, again.errors) == (0, 0, 0)
    assert len(gateway.calls) == calls and len(refunds_of(repos, order_id)) == 1
    assert len([e for e in events(repos, "RefundIssued") if e["rma_id"] == ret.rma_id]) == 1


def test_a_refund_claimed_just_now_is_left_to_its_call(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    ret = received(repos, order_id, ("SKU-1", 1))
    crashed(repos, ret.rma_id, gateway, monkeypatch)
    calls = len(gateway.calls)

    report = run(repos, gateway, step.PENDING_FOR - timedelta(seconds=1))

    assert (report.refunds_resumed, report.refunds_failed) == (0, 0)
    assert len(gateway.calls) == calls and refunds_of(repos, order_id) == []
    assert repos.returns.get(ret.rma_id).pending_refund is not None
    assert events(repos, "RefundIssued") == []


def test_units_received_after_the_claim_wait_for_an_operator(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    ret = returns_tests.approved(repos, order_id, ("SKU-1", 2))
    receive(repos, ret.rma_id, ("SKU-1", 1))
    crashed(repos, ret.rma_id, gateway, monkeypatch)
    receive(repos, ret.rma_id, ("SKU-1", 1), receipt_id="rc-2")

    assert run(repos, gateway, timedelta(minutes=10)).refunds_resumed == 1

    after = repos.returns.get(ret.rma_id)
    assert [(r.state, r.lines) for r in after.refunds] == [(RefundState.DONE, {0: 1})]
    assert after.awaiting_refund() == {0: 1} and gateway.refunded == D("10.00")


def test_a_provider_outage_is_counted_and_the_next_run_finishes_the_refund(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    ret = received(repos, order_id, ("SKU-2", 1))
    crashed(repos, ret.rma_id, gateway, monkeypatch)
    answer = gateway.refund

    def unavailable(*args, **kwargs):
        raise ProviderUnavailable("503 from the provider")

    monkeypatch.setattr(gateway, "refund", unavailable)
    down = run(repos, gateway, timedelta(minutes=10))
    assert (down.refunds_resumed, down.refunds_failed, down.errors, down.pass_complete) == (0, 1, 1, True)
    assert repos.returns.get(ret.rma_id).pending_refund is not None

    monkeypatch.setattr(gateway, "refund", answer)
    up = run(repos, gateway, timedelta(minutes=15))
    assert (up.refunds_resumed, up.refunds_failed, up.errors) == (1, 0, 0)
    assert gateway.refunded == D("10.00") and [m.amount for m in refunds_of(repos, order_id)] == [D("10.00")]


def test_a_refund_the_provider_refuses_is_counted_and_left_to_a_person(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    ret = received(repos, order_id, ("SKU-1", 1))
    answer = gateway.refund

    def died(*args, **kwargs):  # the function stopped before the provider was asked
        raise LambdaDied

    monkeypatch.setattr(gateway, "refund", died)
    with pytest.raises(LambdaDied):
        refund(repos, ret.rma_id, gateway)
    monkeypatch.setattr(gateway, "refund", answer)
    gateway.refunded = D("35.00")  # meanwhile refunded in full in the provider's dashboard

    report = run(repos, gateway, timedelta(minutes=10))

    assert (report.refunds_resumed, report.refunds_failed, report.errors) == (0, 1, 0)
    assert [r.state for r in repos.returns.get(ret.rma_id).refunds] == [RefundState.REFUSED]
    assert repos.reconciliation.open_exception(ExceptionKind.PAYMENT_PROBLEM, order_id) is not None
    assert run(repos, gateway, timedelta(minutes=15)).refunds_failed == 0  # once, not on every run


def test_a_walk_cut_by_the_budget_resumes_after_the_last_return_handled(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    monkeypatch.setattr(step, "PAGE", 2)  # pages of two: a resume rereads its page and skips what was handled
    # Oldest first: one with nothing to resume (it stays where it is), then two left pending.
    idle = received(repos, order_id, ("SKU-1", 1), at=LATER - timedelta(hours=2))
    first = received(repos, order_id, ("SKU-1", 1), request_id="r-2", at=LATER - timedelta(hours=1))
    crashed(repos, first.rma_id, gateway, monkeypatch)
    second = received(repos, order_id, ("SKU-2", 1), request_id="r-3")
    crashed(repos, second.rma_id, gateway, monkeypatch)
    status = idle.status.value
    seen: list[str] = []

    def one_run(cursor, items):
        report = RunReport(run_id="r", trigger="test", started_at=LATER)
        context = Run(repos, LATER + timedelta(minutes=10), config_from_env({}), Budget(60, max_items=items),
                      seed_policy, report, None, lambda _step, key: seen.append(key), gateway)
        return step.pending_refunds(context, cursor), report

    (done, cursor), report = one_run(None, 2)
    assert not done and report.refunds_resumed == 1
    assert (cursor["status"], cursor["after"].split("#")[-1]) == (status, first.rma_id)
    (done, cursor), report = one_run(cursor, 10)
    assert done and cursor is None and report.refunds_resumed == 1
    # Each return of the walked status once, in order (the first, refunded since, is met again
    # under REFUNDED with nothing left to do).
    walked = [key.split("#")[-1] for key in seen if key.startswith(f"{status} ")]
    assert walked == [idle.rma_id, first.rma_id, second.rma_id]
    assert [r.state for r in repos.returns.get(second.rma_id).refunds] == [RefundState.DONE]
    assert repos.returns.get(idle.rma_id).refunds == []
