"""The reconciliation's `pending_refunds` step on the in-memory store: a return's refund left
PENDING by a crash is finished once (one refund at the provider, one movement, one RefundIssued),
whatever the return's status (a closed one too), a refund claimed just now is left to the call that
claimed it, and the units received since are left for an operator. Only the returns with a refund
in flight are read (a sparse index), never the returns by status."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.adapters.expressions import KeyQuery
from shared.adapters.returns_repo import PENDING_REFUND_PK
from shared.domain.channels import seed_policy
from shared.domain.payments import MovementKind
from shared.domain.reconciliation import ExceptionKind, config_from_env
from shared.domain.returns import RefundState, ReturnStatus
from shared.payments.provider import ProviderUnavailable
from shared.services import return_refunds, returns
from shared.services.reconciliation import Budget, RunReport, Step, reconcile
from shared.services.reconciliation import pending_refunds as step
from shared.services.reconciliation.context import Run
from tests.service import test_returns as returns_tests
from tests.service.flows import OPERATOR_PRINCIPAL, events
from tests.service.test_returns import LATER, LambdaDied, receive, received, refund
from tests.service.test_settlement import FakeGateway

pytestmark = pytest.mark.unit

D = Decimal
delivered = returns_tests.delivered  # a paid order of SKU-1 x2 and SKU-2 x1 (35.00), delivered
labels = returns_tests.labels        # the return label bucket, in memory (autouse)


def paid() -> FakeGateway:
    return FakeGateway(authorized=D("35.00"), received=D("35.00"))


def crashed(repos, rma_id: str, gateway: FakeGateway, monkeypatch, at=LATER) -> None:
    """The refund call (at `at`) dies right after the provider refunded: the refund stays PENDING."""
    real, before = repos.commit, len(gateway.calls)
    died: list[bool] = []

    def commit(*writes):
        if len(gateway.calls) > before and not died:
            died.append(True)
            raise LambdaDied
        return real(*writes)

    monkeypatch.setattr(repos, "commit", commit)
    with pytest.raises(LambdaDied):
        return_refunds.refund_return(rma_id, OPERATOR_PRINCIPAL, repos, gateway, at)
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


def test_a_refund_left_pending_on_a_closed_return_is_finished(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    ret = received(repos, order_id, ("SKU-1", 1))
    returns.close_return(ret.rma_id, OPERATOR_PRINCIPAL, "settled by phone", repos, LATER)  # refunded later
    crashed(repos, ret.rma_id, gateway, monkeypatch)
    assert repos.returns.get(ret.rma_id).status is ReturnStatus.CLOSED

    report = run(repos, gateway, timedelta(minutes=10))

    assert (report.refunds_resumed, report.refunds_failed, report.errors) == (1, 0, 0)
    after = repos.returns.get(ret.rma_id)
    assert (after.status, [r.state for r in after.refunds]) == (ReturnStatus.CLOSED, [RefundState.DONE])
    assert gateway.refunded == D("10.00") and [m.amount for m in refunds_of(repos, order_id)] == [D("10.00")]


def in_flight(repos) -> list[str]:
    """The RMAs in the pending-refund index, in its order."""
    items, _ = repos.returns.store.query(KeyQuery(PENDING_REFUND_PK, index="gsi1"))
    return [i["gsi1sk"].split("#")[-1] for i in items]


def step_run(repos, gateway, cursor=None, items=100, seen=None):
    """The step alone, 10 minutes after LATER: (done, cursor), and the run's report."""
    report = RunReport(run_id="r", trigger="test", started_at=LATER)
    context = Run(repos, LATER + timedelta(minutes=10), config_from_env({}), Budget(60, max_items=items), seed_policy,
                  report, None, (lambda _step, key: seen.append(key.split("#")[-1])) if seen is not None else None,
                  gateway)
    return step.pending_refunds(context, cursor), report


def test_only_returns_with_a_refund_in_flight_are_read(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    received(repos, order_id, ("SKU-1", 1))                            # nothing refunded yet
    done = received(repos, order_id, ("SKU-1", 1), request_id="r-2")  # refunded
    refund(repos, done.rma_id, gateway)
    pending = received(repos, order_id, ("SKU-2", 1), request_id="r-3")
    crashed(repos, pending.rma_id, gateway, monkeypatch)
    assert in_flight(repos) == [pending.rma_id]

    store, queried, read = repos.returns.store, [], []
    real_query, real_get = store.query, store.get

    def query(key, **kw):
        queried.append((key.index, key.partition))
        return real_query(key, **kw)

    def get(pk, sk, *args, **kw):
        read.append(pk)
        return real_get(pk, sk, *args, **kw)

    monkeypatch.setattr(store, "query", query)
    monkeypatch.setattr(store, "get", get)
    (finished, _), report = step_run(repos, gateway)

    assert finished and report.refunds_resumed == 1
    assert [q for q in queried if q[0] is not None] == [("gsi1", PENDING_REFUND_PK)]  # no walk by status
    assert {pk for pk in read if pk.startswith("RETURN#")} == {f"RETURN#{pending.rma_id}"}
    assert in_flight(repos) == []  # finished: out of the index


def test_a_walk_cut_by_the_budget_resumes_after_the_last_return_handled(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    monkeypatch.setattr(step, "PAGE", 2)  # pages of two: a resume rereads its page and skips what was handled
    # Claimed one minute apart, oldest first: the first fails this pass (and stays in the index).
    first, second, third = (received(repos, order_id, (sku, 1), request_id=f"r-{n}")
                            for n, sku in enumerate(("SKU-1", "SKU-1", "SKU-2")))
    for n, ret in enumerate((first, second, third)):
        crashed(repos, ret.rma_id, gateway, monkeypatch, at=LATER + timedelta(minutes=n))
    assert in_flight(repos) == [first.rma_id, second.rma_id, third.rma_id]
    answer = gateway.refund

    def first_unavailable(intent_id, amount, currency, idempotency_key, reason=None):
        if idempotency_key.endswith(f"{first.rma_id}-R1"):
            raise ProviderUnavailable("503 from the provider")
        return answer(intent_id, amount, currency, idempotency_key, reason)

    monkeypatch.setattr(gateway, "refund", first_unavailable)
    seen: list[str] = []

    (done, cursor), report = step_run(repos, gateway, items=2, seen=seen)
    assert not done and (report.refunds_resumed, report.refunds_failed) == (1, 1)
    assert cursor["after"].split("#")[-1] == second.rma_id
    (done, cursor), report = step_run(repos, gateway, cursor, seen=seen)
    assert done and cursor is None and (report.refunds_resumed, report.refunds_failed) == (1, 0)
    assert seen == [first.rma_id, second.rma_id, third.rma_id]  # each once in the pass
    assert in_flight(repos) == [first.rma_id]  # the failed one waits for the next pass

    monkeypatch.setattr(gateway, "refund", answer)
    (done, _), report = step_run(repos, gateway)
    assert done and report.refunds_resumed == 1 and in_flight(repos) == []
    assert gateway.refunded == D("30.00") and len(refunds_of(repos, order_id)) == 3


def test_a_checkpoint_of_the_former_walk_by_status_starts_over(delivered, monkeypatch):
    repos, order_id = delivered
    gateway = paid()
    ret = received(repos, order_id, ("SKU-1", 1))
    crashed(repos, ret.rma_id, gateway, monkeypatch)
    old = {"status": "INSPECTED", "page": "bm90IG91cnM=", "after": f"{LATER.isoformat()}#{ret.rma_id}"}

    (done, _), report = step_run(repos, gateway, old)

    assert done and (report.refunds_resumed, report.errors) == (1, 0)
