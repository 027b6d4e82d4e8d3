"""Money moves at most once per intent: no capture above what was authorised, no refund above what was
paid, one refund per returned unit, the provider's books equal ours, document numbers gapless, store
credit balances equal to their entries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from bench.invariants.core import Expectations, Violation, invariant
from bench.invariants.snapshot import Snapshot
from shared.adapters.invoices_repo import series_pk
from shared.domain.money import ZERO
from shared.domain.payments import MovementKind, PaymentProvider
from shared.domain.returns import RefundState, ReturnStatus

MONEY_MOVED = (MovementKind.CAPTURE, MovementKind.REFUND, MovementKind.COLLECTION)


@invariant("payment_within_bounds", "per order: refunded <= captured + collected, captured <= authorised (when a "
                                    "provider holds an authorisation), each movement key used once per kind and each "
                                    "provider event applied once")
def payment_within_bounds(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for order_id, order in snap.orders.items():
        pay = order.pay
        if pay.refunded > pay.captured + pay.collected:
            yield Violation("payment_within_bounds", order_id,
                            f"refunded {pay.refunded} > captured {pay.captured} + collected {pay.collected}")
        ours = sum((m.amount for m in pay.movements if m.kind == MovementKind.CAPTURE), ZERO)
        if pay.moves_money and ours > pay.authorized:
            yield Violation("payment_within_bounds", order_id, f"captured {ours} > authorised {pay.authorized}")
        keys = Counter((m.kind, m.key) for m in pay.movements if m.kind in MONEY_MOVED)
        if twice := [f"{kind.value} {key}" for (kind, key), n in keys.items() if n > 1]:
            yield Violation("payment_within_bounds", order_id, f"moved twice: {twice}")
        if again := [e for e, n in Counter(pay.applied_events).items() if n > 1]:
            yield Violation("payment_within_bounds", order_id, f"provider events applied twice: {again}")
        if shipped_twice := [k for k, n in Counter(m.key for m in pay.movements
                                                   if m.kind == MovementKind.CAPTURE).items() if n > 1]:
            yield Violation("payment_within_bounds", order_id, f"captured twice for {shipped_twice}")


@invariant("provider_agrees", "the payment provider (sandbox) received and refunded, per intent, exactly what the "
                              "order's payment records: no money moved twice or left unrecorded",
           needs="provider_intents")
def provider_agrees(snap: Snapshot, exp: Expectations) -> Iterator[Violation]:
    assert exp.provider_intents is not None
    for order_id, order in snap.orders.items():
        pay = order.pay
        if pay.provider != PaymentProvider.SANDBOX or not pay.intent_id:
            continue
        received, refunded = exp.provider_intents.get(pay.intent_id, (ZERO, ZERO))
        ours = sum((m.amount for m in pay.movements if m.kind == MovementKind.CAPTURE), ZERO)
        our_refunds = sum((m.amount for m in pay.movements if m.kind == MovementKind.REFUND), ZERO)
        if (received, refunded) != (ours, our_refunds):
            yield Violation("provider_agrees", order_id, f"provider received {received}, refunded {refunded}; the "
                                                         f"order records {ours} and {our_refunds}")


@invariant("returns_within_bounds", "per return line: refunded <= received <= approved, restocked + written off = "
                                    "received; per order line: returned <= shipped; refunds of an order's returns <= "
                                    "what was paid; no refund left pending")
def returns_within_bounds(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    by_order: dict[str, list] = {}
    for ret in snap.returns.values():
        by_order.setdefault(ret.order_id, []).append(ret)
        for line in ret.lines:
            if not (0 <= line.refunded <= line.received <= line.quantity) or \
                    line.restocked + line.written_off != line.received:
                yield Violation("returns_within_bounds", ret.rma_id, f"line {line.line}: {line.model_dump()}")
        done: Counter[int] = Counter()
        for refund in ret.refunds:
            if refund.state == RefundState.DONE:
                done.update(refund.lines)
            if refund.state == RefundState.PENDING:
                yield Violation("returns_within_bounds", ret.rma_id, f"refund {refund.refund_id} left pending")
        if done != Counter({ln.line: ln.refunded for ln in ret.lines if ln.refunded}):
            yield Violation("returns_within_bounds", ret.rma_id, f"refunds cover {dict(done)}, lines say refunded "
                                                                 f"{[(ln.line, ln.refunded) for ln in ret.lines]}")
    for order_id, returns in by_order.items():
        order = snap.orders.get(order_id)
        if order is None:
            yield Violation("returns_within_bounds", order_id, "returns of no order")
            continue
        shipped: Counter[str] = Counter()
        for sid in order.shipment_ids:
            if sid in snap.shipments:
                shipped.update(snap.shipments[sid].lines)
        for fo in snap.fulfillment_of(order_id):
            if fo.pickup:
                shipped.update({ln.sku: ln.shipped for ln in fo.lines})
        asked: Counter[str] = Counter()
        for ret in returns:
            if ret.status != ReturnStatus.DECLINED:
                asked.update({ln.sku: ln.received for ln in ret.lines})
        if over := {sku: n for sku, n in asked.items() if n > shipped[sku]}:
            yield Violation("returns_within_bounds", order_id, f"received back more than shipped: {over} of "
                                                               f"{dict(shipped)}")
        refunded = sum((r.amount for ret in returns for r in ret.refunds if r.state == RefundState.DONE), ZERO)
        paid = order.pay.captured + order.pay.collected
        if refunded > paid:
            yield Violation("returns_within_bounds", order_id, f"returns refunded {refunded} of {paid} paid")


@invariant("documents_gapless", "invoice and credit note numbers run 1..last in each series, each used once, and "
                                "each order's document count equals its documents")
def documents_gapless(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    numbers: dict[str, Counter[int]] = {}
    per_order: Counter[str] = Counter()
    for doc in snap.documents:
        numbers.setdefault(series_pk(doc.series), Counter())[doc.sequence] += 1
        per_order[doc.order_id] += 1
        if doc.number != doc.series.number(doc.sequence):
            yield Violation("documents_gapless", doc.number, f"number does not match sequence {doc.sequence}")
    for pk in set(numbers) | set(snap.series):
        used, last = numbers.get(pk, Counter()), snap.series.get(pk, 0)
        if sorted(used) != list(range(1, last + 1)) or any(n > 1 for n in used.values()):
            gaps = sorted(set(range(1, last + 1)) - set(used))[:5]
            yield Violation("documents_gapless", pk, f"last {last}, {sum(used.values())} documents; missing {gaps}, "
                                                     f"twice {[n for n, c in used.items() if c > 1][:5]}")
    for order_id in set(per_order) | set(snap.document_counts):
        if per_order[order_id] != snap.document_counts.get(order_id, 0):
            yield Violation("documents_gapless", order_id, f"{per_order[order_id]} documents, count says "
                                                           f"{snap.document_counts.get(order_id, 0)}")


@invariant("store_credit_balanced", "each customer's store credit balance = the sum of its entries, never below 0")
def store_credit_balanced(snap: Snapshot, _: Expectations) -> Iterator[Violation]:
    for key in set(snap.credit_balances) | set(snap.credit_entries):
        balance, entries = snap.credit_balances.get(key, 0), snap.credit_entries.get(key, [])
        if balance != sum(entries) or balance < 0:
            yield Violation("store_credit_balanced", f"{key[0]} {key[1]}",
                            f"balance {balance}, entries sum to {sum(entries)}")
