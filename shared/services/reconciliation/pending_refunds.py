"""Step 1, after the expiries: a return's refund left PENDING (the Lambda that claimed it died
before finishing it, and nobody called `POST /returns/{rma}/refund` again) is resumed, so that
money gone at the provider does not stay PENDING in our books.

Only refunds claimed more than `PENDING_FOR` ago: one claimed just now is most likely being moved
by the call that claimed it. Even a race would be safe: the resume goes through the same
`refund_return` under the same provider idempotency key (`refund-return-<refund id>`), the payment
records a movement once per key and the refund is finished once under the return's version; so
one refund at the provider, one in our books, one RefundIssued. The resume only finishes the refund
in flight: units received since wait for an operator's refund call.

The returns come from a sparse index (`ReturnRepository.pending_refunds`, gsi1): a return is in it
only while a refund of it is PENDING, in any status (a closed return may still be refunded), so a
run reads the refunds in flight and nothing else, oldest claim first and only those claimed before
the limit. A page at a time; the cursor is the page the last handled return was read with and that
return's place in the index, so a long walk survives the run's budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from shared.adapters.returns_repo import pending_refund_key
from shared.domain.returns import RefundState, Return
from shared.errors import OmsError, Unavailable
from shared.payments.provider import IdempotencyKeyReused, ProviderUnavailable
from shared.services.reconciliation.context import RECONCILER, Cursor, Run, Step, StepResult, walk

# A claim (and the API call that made it) is long over by then: API functions time out after 29 s.
PENDING_FOR = timedelta(minutes=5)
PAGE = 50


@dataclass(frozen=True)
class Position:
    """Where a return is in the walk: the page cursor it was read with, its index key."""

    page: str | None
    key: str  # `<refund claimed at>#<rma_id>`, the order of the index

    def __str__(self) -> str:
        return self.key

    def cursor(self) -> dict:
        return {"page": self.page, "after": self.key}


def pending_refunds(run: Run, cursor: Cursor) -> StepResult:
    def handle(indexed: Return) -> None:
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
    """The returns with a refund in flight claimed more than PENDING_FOR ago, oldest claim first,
    after the cursor. A page that does not read comes as one ValueError and ends the walk for this
    pass. A checkpoint of the former walk by status (it names a status) starts over."""
    start = cursor if cursor and "status" not in cursor else {}
    page, after = start.get("page"), start.get("after")
    while True:
        try:
            returns, following = run.repos.returns.pending_refunds(run.now - PENDING_FOR, PAGE, page)
        except (ValueError, OmsError) as error:
            yield Position(page, after or ""), ValueError(f"pending refunds: {error}")
            return
        for ret in returns:
            key = pending_refund_key(ret) or ""
            if after is None or key > after:
                yield Position(page, key), ret
        if following is None:
            return
        page = following
