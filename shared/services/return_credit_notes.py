"""Credit notes for a return's refund, issued on its RefundIssued (the settle-payments consumer).

RefundIssued is committed in the transaction that finishes the refund DONE, so it is never lost:
a Lambda that dies after the finish, before `refund_return` reached its own credit notes, leaves
the event on the queue and this heals it. Everything here is idempotent per refund key (the credit
note covers it, and what a key's notes already credit is counted), so the event redelivered, or
`refund_return` crediting the same refund at the same time, issues nothing twice.

The keys: a refund to the original payment is credited by the payment's movement (its provider
refund id), the way a provider's refund webhook credits it, so the two paths meet; a store-credit
refund by `credit-<refund id>`; the part of the units' value that paid an exchange order (no money
moved, but the goods came back) by `exchange-<refund id>`.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.returns import RefundMethod, RefundState
from shared.observability import logger
from shared.repositories import Repositories


def credit_return_refund(order_id: str, rma_id: str, refund_id: str, repos: Repositories, now: datetime) -> bool:
    """The credit notes of refund `refund_id` of return `rma_id` (of order `order_id`), once it is
    DONE. Answers whether there was such a refund to credit: False for an unknown return or refund,
    or one not DONE (a refused refund moved nothing), which the caller logs and drops."""
    from shared.services.invoicing import credit_refund, credit_refunds

    ret = repos.returns.get(rma_id)
    refund = next((r for r in ret.refunds if r.refund_id == refund_id), None) if ret else None
    order = repos.orders.get(order_id) if ret is not None and ret.order_id == order_id else None
    if refund is None or order is None or refund.state is not RefundState.DONE:
        logger.warning("no finished return refund to credit", extra={
            "order_id": order_id, "rma_id": rma_id, "refund_id": refund_id,
            "state": refund.state.value if refund else None})
        return False
    credit_refunds(order, repos, now)  # every provider refund of the order without its credit note
    if refund.method is RefundMethod.STORE_CREDIT and refund.amount > 0:
        credit_refund(order, f"credit-{refund_id}", refund.amount, repos, now)
    if refund.exchanged > 0:
        credit_refund(order, f"exchange-{refund_id}", refund.exchanged, repos, now)
    return True
