"""Refunding a return's received units: to the original payment or as store credit, at most once per unit.

Three steps, each safe to repeat:
1. claim: the units awaiting a refund and their amount (computed from what was paid for them,
   shared/domain/refunds.py) are recorded on the return as a PENDING refund, under the return's
   version. Two concurrent calls cannot both claim the same units: one commit wins, the other
   reads the claim and goes on with it.
2. move the money: through the payment adapter with the idempotency key `refund-return-<refund id>`
   (the provider answers a repeated key with the first refund), recorded on the order's payment
   keyed by the provider's refund id; or, for store credit, nothing yet (step 3 writes the ledger).
3. finish: the refund DONE and its units refunded on the return, with RefundIssued, and for store
   credit the ledger entry (new only, keyed by the refund id) in the same transaction.

A crash anywhere leaves a PENDING refund that the next call (the same request again, or the
reconciliation's resume) carries on from step 2 under the same key: one refund at the provider, one
in our books. Then a credit note per refund (idempotent per refund key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.domain.events import DomainEvent
from shared.domain.orders import Order
from shared.domain.payments import PaymentMethod
from shared.domain.principal import Principal
from shared.domain.return_events import RefundIssued, ReturnedUnits, StoreCreditIssued
from shared.domain.returns import RefundMethod, RefundState, Return, ReturnRefund, ReturnStatus
from shared.errors import AccessDenied, Busy, Conflict, InvalidInput
from shared.repositories import Repositories
from shared.services.returns import get_return
from shared.services.settlement import GatewayFor, every_handover_settled, refund_of, settle_return_refund
from shared.unit_of_work import CommitFailed

ATTEMPTS = 5
REFUNDABLE = frozenset({ReturnStatus.RECEIVED, ReturnStatus.INSPECTED, ReturnStatus.REFUNDED, ReturnStatus.EXCHANGED,
                        ReturnStatus.CLOSED})


def refund_return(rma_id: str, principal: Principal, repos: Repositories, gateway_for: GatewayFor, now: datetime,
                  method: RefundMethod | None = None, *, resume_only: bool = False) -> Return:
    """Refund what the return has received and not yet refunded (a refund in flight is finished
    first). Answers the return; its `refunds` say what moved. `resume_only` (the reconciliation):
    finish the refund in flight and claim nothing new, since units received since wait for an operator."""
    if not principal.is_operator:
        raise AccessDenied("only an operator refunds returns", field="rma_id")
    ret = get_return(rma_id, principal, repos)
    if ret.status not in REFUNDABLE:
        raise Conflict(f"return {rma_id} is {ret.status.value}: nothing of it was received to refund", field="rma_id")
    finished: list[str] = []
    for _ in range(3):  # a pending refund, then the units left: at most two refunds and a look
        pending = ret.pending_refund or (None if resume_only else _claim(rma_id, method, repos, now))
        if pending is None:
            ret = get_return(rma_id, principal, repos)  # as it is now: another call may have refunded it
            break
        ret = _finish(rma_id, pending, _move_money(ret, pending, repos, gateway_for, now), repos, now)
        finished.append(pending.refund_id)
        if any(r.refund_id == pending.refund_id and r.state is RefundState.REFUSED for r in ret.refunds):
            break  # the provider refused: a person looks (PAYMENT_PROBLEM) before anything is tried again
    ret = _refunded_in_full(ret, repos, now)
    _credit(ret, finished, repos, now)
    return ret


def _refunded_in_full(ret: Return, repos: Repositories, now: datetime) -> Return:
    """INSPECTED -> REFUNDED once every unit is refunded (units received and refunded before the last
    receipt are refunded already when the return becomes INSPECTED)."""
    done = any(r.state is RefundState.DONE for r in ret.refunds)
    if ret.status is not ReturnStatus.INSPECTED or ret.awaiting_refund() or ret.pending_refund or not done:
        return ret
    expected = ret.version
    ret.move_to(_settled(ret), now, "refund")
    ret.version += 1
    try:
        repos.commit(repos.returns.save(ret, expected))
    except CommitFailed:
        pass  # moved meanwhile: the next call looks again
    return ret


def _settled(ret: Return) -> ReturnStatus:
    return ReturnStatus.EXCHANGED if ret.exchange_order_id else ReturnStatus.REFUNDED


def _claim(rma_id: str, method: RefundMethod | None, repos: Repositories, now: datetime) -> ReturnRefund | None:
    from shared.domain.refunds import quote_refund
    from shared.services.return_exchanges import exchanged_now

    for _ in range(ATTEMPTS):
        ret = get_return(rma_id, Principal("operator"), repos)
        if ret.pending_refund is not None:
            return ret.pending_refund
        units = ret.awaiting_refund()
        if not units:
            return None
        if ret.exchange_lines and ret.status not in (ReturnStatus.INSPECTED, ReturnStatus.CLOSED):
            # The replacement is made from what came back: once all of it has, or the rest never will.
            raise Conflict(f"return {rma_id} is settled by an exchange once every unit is received (or it is "
                           "closed)", field="rma_id")
        order = repos.orders.get(ret.order_id)
        assert order is not None
        known = repos.returns.of_order(ret.order_id)
        others = [r for r in repos.returns.many(list(known.rma_ids)) if r.rma_id != rma_id] + [ret]
        before, shipping_before = _refunded_before(others)
        quote = quote_refund(order, units, before, include_shipping=ret.merchant_pays_shipping,
                             shipping_refunded_before=shipping_before,
                             restocking_fee_percent=ret.policy.restocking_fee_percent
                             if ret.policy.restocking_fee_applies(ret.reason) else Decimal(0))
        # What pays for the replacement is not refunded: only the rest of the units' value.
        exchanged = exchanged_now(ret, quote.amount)
        refund = ReturnRefund(refund_id=f"{rma_id}-R{len(ret.refunds) + 1}", method=method or ret.refund_method,
                              lines=units, amount=quote.amount - exchanged, currency=quote.currency,
                              shipping=quote.shipping, restocking_fee=quote.restocking_fee, exchanged=exchanged,
                              created_at=now)
        left = _creditable(order, others)
        pay = order.pay
        if refund.amount > left and pay.method == PaymentMethod.PREPAID and pay.authorization_open \
                and not every_handover_settled(order, pay):
            # Settlement captures each parcel's invoice shortly after it ships (settle-payments): until
            # then the money is not there to give back. Refused as "not yet", not claimed: a claim would
            # end REFUSED at the provider and wait for a person, when a moment later it goes through.
            raise Conflict(f"the payment for what this order shipped is not captured yet (settlement follows "
                           f"each shipment): {left} {refund.currency} can be refunded now, {refund.amount} is "
                           "asked; refund again in a moment", field="rma_id")
        if refund.method is RefundMethod.STORE_CREDIT and refund.amount > left:
            # No provider refuses store credit for us: bounded here by what was paid, as a refund to the
            # payment is by the provider (and settle_return_refund). Checked under the serialised claim.
            raise Conflict(f"store credit of {refund.amount} {refund.currency} is more than the {left} paid and "
                           "not yet refunded for this order", field="refund_method")
        expected = ret.version
        ret.refunds.append(refund)
        ret.version += 1
        try:
            # Serialised with the claims of the order's other returns: each is valued after the others.
            repos.commit(repos.returns.save(ret, expected), repos.returns.serialised(known))
            return refund
        except CommitFailed:
            continue
    raise Busy(f"return {rma_id} is changing too fast; retry")


def _refunded_before(returns: list[Return]) -> tuple[dict[int, int], Decimal]:
    """Units of each order line refunded (or claimed) by the order's returns, and the shipping they
    refunded: a new refund is valued after them, so the shares of a line add up to what was paid."""
    units: dict[int, int] = {}
    shipping = Decimal(0)
    for r in returns:
        for refund in r.refunds:
            if refund.state is RefundState.REFUSED:
                continue
            shipping += refund.shipping
            for line, n in refund.lines.items():
                units[line] = units.get(line, 0) + n
    return units, shipping


def _creditable(order: Order, returns: list[Return]) -> Decimal:
    """What store credit may still be given for the order: paid and not yet refunded, less what its
    returns gave or claimed outside the payment's books: store credit (it never reaches them) and refunds
    to the payment claimed but not yet recorded on it."""
    def outside_books(refund: ReturnRefund) -> bool:
        if refund.state is RefundState.REFUSED:
            return False
        if refund.method is RefundMethod.STORE_CREDIT:
            return True
        return refund.state is RefundState.PENDING and refund_of(order, f"return-{refund.refund_id}") is None

    claimed = sum((r.amount for ret in returns for r in ret.refunds if outside_books(r)), Decimal(0))
    return max(order.pay.refundable - claimed, Decimal(0))


@dataclass(frozen=True)
class Moved:
    provider_refund_id: str | None = None
    problem: str | None = None
    exchange_order_id: str | None = None


def _move_money(ret: Return, refund: ReturnRefund, repos: Repositories, gateway_for: GatewayFor, now: datetime
                ) -> Moved:
    """The replacement order when the refund pays one (idempotent per RMA), then the money: nothing
    moves here for store credit (the finish writes it) or a free refund."""
    exchange = None
    if refund.exchanged > 0:
        from shared.services.return_exchanges import make_exchange

        order = repos.orders.get(ret.order_id)
        assert order is not None
        try:
            exchange = make_exchange(ret, order, refund.exchanged, repos, now)
        except (InvalidInput, Conflict) as refused:  # e.g. its pickup store closed: a person decides
            return Moved(problem=f"the replacement order could not be made: {refused.message}")
    if refund.method is RefundMethod.STORE_CREDIT or refund.amount <= 0:
        return Moved(exchange_order_id=exchange)
    key = f"return-{refund.refund_id}"
    settled = settle_return_refund(ret.order_id, key, refund.amount, repos, gateway_for, now)
    if settled.problem:
        return Moved(problem=settled.problem, exchange_order_id=exchange)
    order = repos.orders.get(ret.order_id)
    assert order is not None
    return Moved(refund_of(order, key), exchange_order_id=exchange)


def _finish(rma_id: str, claimed: ReturnRefund, moved: Moved, repos: Repositories, now: datetime) -> Return:
    provider_refund_id, problem = moved.provider_refund_id, moved.problem
    for _ in range(ATTEMPTS):
        ret = get_return(rma_id, Principal("operator"), repos)
        refund = next(r for r in ret.refunds if r.refund_id == claimed.refund_id)
        if refund.state is not RefundState.PENDING:
            return ret  # finished by a concurrent call
        expected = ret.version
        refund.provider_refund_id, refund.done_at = provider_refund_id, now
        writes: list = []
        events: list[DomainEvent] = []
        if moved.exchange_order_id and ret.exchange_order_id is None:  # made once; a refusal keeps it
            from shared.services.return_exchanges import exchange_created

            ret.exchange_order_id = moved.exchange_order_id
            events.append(exchange_created(ret, moved.exchange_order_id, now))
        if problem:
            refund.state, refund.problem = RefundState.REFUSED, problem[:500]
            if refund.exchanged > 0 and ret.exchange_order_id is None:
                # Settlement raises the provider's refusals; a replacement that could not be made is ours.
                writes.append(_exchange_problem(ret, problem, now, repos))
        else:
            refund.state = RefundState.DONE
            for line, units in refund.lines.items():
                ret_line = ret.line_of(line)
                assert ret_line is not None
                ret_line.refunded += units
            if ret.status is ReturnStatus.INSPECTED and not ret.awaiting_refund():
                ret.move_to(_settled(ret), now, "refund")
            events.append(_issued(ret, refund, now))
            if refund.method is RefundMethod.STORE_CREDIT and refund.amount > 0:
                writes.extend(repos.store_credit.move(ret.channel, ret.customer_id, refund.refund_id, refund.amount,
                                                      refund.currency, now, order_id=ret.order_id, rma_id=rma_id,
                                                      note="return refund"))
                events.append(_credited(ret, refund, now))
        ret.updated_at = now
        ret.version += 1
        try:
            repos.commit(repos.returns.save(ret, expected), writes, repos.events.publish_all(events))
            return ret
        except CommitFailed:
            # Another call finished it (its store credit entry and the DONE refund are one transaction):
            # the next read says so. Anything else moved the return: try again from a fresh read.
            continue
    raise Busy(f"return {rma_id} is changing too fast; retry")


def _exchange_problem(ret: Return, problem: str, now: datetime, repos: Repositories):
    from shared.domain.reconciliation import ExceptionKind, ExceptionRecord

    return repos.reconciliation.raise_exception(ExceptionRecord(
        kind=ExceptionKind.PAYMENT_PROBLEM, subject=ret.order_id, since=now, raised_at=now,
        reason=f"return {ret.rma_id}: {problem}"[:500],
        suggested_action="make the replacement possible (e.g. reopen the pickup store) and refund the return "
                         "again, or refund it without the exchange",
        order_id=ret.order_id, status=ret.status.value, channel=ret.channel))


def _issued(ret: Return, refund: ReturnRefund, now: datetime) -> RefundIssued:
    sku = {ln.line: ln.sku for ln in ret.lines}
    lines = [ReturnedUnits(line=line, sku=sku[line], quantity=n) for line, n in sorted(refund.lines.items())]
    return RefundIssued(occurred_at=now, rma_id=ret.rma_id, order_id=ret.order_id, channel=ret.channel,
                        status=ret.status.value, refund_id=refund.refund_id, method=refund.method.value,
                        amount=str(refund.amount), currency=refund.currency, shipping=str(refund.shipping),
                        restocking_fee=str(refund.restocking_fee), lines=lines)


def _credited(ret: Return, refund: ReturnRefund, now: datetime) -> StoreCreditIssued:
    return StoreCreditIssued(occurred_at=now, channel=ret.channel, customer_id=ret.customer_id,
                             entry_id=refund.refund_id, order_id=ret.order_id, rma_id=ret.rma_id,
                             amount=str(refund.amount), currency=refund.currency)


def _credit(ret: Return, finished: list[str], repos: Repositories, now: datetime) -> None:
    """Credit notes for the refunds this call finished, at once for the caller (idempotent per
    refund). RefundIssued makes settle-payments issue the same, so a crash before this line loses none."""
    from shared.services.return_credit_notes import credit_return_refund

    for refund in ret.refunds:
        if refund.refund_id in finished and refund.state is RefundState.DONE:
            credit_return_refund(ret.order_id, ret.rma_id, refund.refund_id, repos, now)
