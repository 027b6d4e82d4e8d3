"""Step 1, after the expiries: a return's refund left PENDING (the Lambda that claimed it died
before finishing it, and nobody called `POST /returns/{rma}/refund` again) is resumed, so that
money gone at the provider does not stay PENDING in our books.

Only refunds claimed more than `PENDING_FOR` ago: one claimed just now is most likely being moved
by the call that claimed it. Even a race would be safe: the resume goes through the same
`refund_return` under the same provider idempotency key (`refund-return-<refund id>`), the payment
records a movement once per key and the refund is finished once under the return's version; so
one refund at the provider, one in our books, one RefundIssued. The resume only finishes the refund
in flight: units received since wait for an operator's refund call.

Returns are walked through gsi2 (`RETURN_STATUS#<status>`, oldest first) in the statuses where a
refund can be pending, a page at a time; the cursor is the status, the page the last handled return
was on and that return's place in the index, so a long walk survives the run's budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from shared.domain.returns import RefundState, Return, ReturnStatus
from shared.errors import OmsError, Unavailable
from shared.payments.provider import IdempotencyKeyReused, ProviderUnavailable
from shared.services.reconciliation.context import RECONCILER, Cursor, Run, Step, StepResult, walk

# A claim (and the API call that made it) is long over by then: API functions time out after 29 s.
PENDING_FOR = timedelta(minutes=5)
# Where a refund can be pending: received, inspected, and settled ones that received more later. A
# return is closed only without a refund in flight.
STATUSES = (ReturnStatus.RECEIVED, ReturnStatus.INSPECTED, ReturnStatus.REFUNDED, ReturnStatus.EXCHANGED)
PAGE = 50


@dataclass(frozen=True)
class Position:
    """Where a return is in the walk: its status, the page cursor it was read with, its index key."""

    status: str
    page: str | None
    key: str  # `<created_at>#<rma_id>`, the order of gsi2

    def __str__(self) -> str:
        return f"{self.status} {self.key}"

    def cursor(self) -> dict:
        return {"status": self.status, "page": self.page, "after": self.key}


def pending_refunds(run: Run, cursor: Cursor) -> StepResult:
    def handle(indexed: Return) -> None:
        if not _stale(indexed, run):
            return
        ret = run.repos.returns.get(indexed.rma_id)  # the index may lag: read the return itself
        if ret is not None and _stale(ret, run):
            _resume(ret, run)

    return walk(run, Step.PENDING_REFUNDS, cursor, _returns(run, cursor), handle, Position.cursor)


def _stale(ret: Return, run: Run) -> bool:
    pending = ret.pending_refund
    return pending is not None and run.now - pending.created_at >= PENDING_FOR


def _resume(ret: Return, run: Run) -> None:
    from shared.payments.credentials import payment_provider
    from shared.services.return_refunds import refund_return

    pending = ret.pending_refund
    assert pending is not None
    try:
        done = refund_return(ret.rma_id, RECONCILER, run.repos, run.gateway_for or payment_provider, run.now,
                             resume_only=True)
    except (ProviderUnavailable, IdempotencyKeyReused) as error:
        run.report.refunds_failed += 1
        # Counted as the item's error (walk), the pass goes on; the next run tries the same key again.
        raise Unavailable(f"refund {pending.refund_id}: the payment provider: {error}") from error
    except OmsError:
        run.report.refunds_failed += 1
        raise
    state = next(r.state for r in done.refunds if r.refund_id == pending.refund_id)
    if state is RefundState.DONE:
        run.report.refunds_resumed += 1
    elif state is RefundState.REFUSED:
        run.report.refunds_failed += 1  # settlement raised PAYMENT_PROBLEM for it: a person looks


def _returns(run: Run, cursor: Cursor) -> Iterator[tuple[Position, Return | ValueError]]:
    """The returns in each of STATUSES in turn, oldest first, after the cursor. A page that does not
    read comes as one ValueError and ends its status for this pass (the pass goes on)."""
    start = cursor or {}
    names = [s.value for s in STATUSES]
    first = names.index(start["status"]) if start.get("status") in names else 0
    for status in STATUSES[first:]:
        resume = status.value == start.get("status")
        page, after = (start.get("page"), start.get("after")) if resume else (None, None)
        while True:
            try:
                returns, following = run.repos.returns.in_status(status, PAGE, page)
            except (ValueError, OmsError) as error:
                yield Position(status.value, page, after or ""), ValueError(f"returns {status.value}: {error}")
                break
            for ret in returns:
                key = f"{ret.created_at.isoformat()}#{ret.rma_id}"
                if after is None or key > after:
                    yield Position(status.value, page, key), ret
            if following is None:
                break
            page = following
