"""What the purchasing service tests share (tests/service/test_purchasing.py and
test_purchase_order_cancel.py): the callers, the stock and supplier they start from, request
builders, the counters they read, and two requests made to overlap."""

from __future__ import annotations

from collections.abc import Callable

from shared.domain.principal import Principal
from shared.domain.purchasing import PurchaseOrderRequest, ReceiptRequest, SupplierRequest
from shared.repositories import Repositories
from shared.services.purchasing import put_supplier
from tests.factories import NOW, TWO_WAREHOUSES, seed

OPERATOR = Principal("operator")
WEB = Principal("web")


def stock_and_acme(repos: Repositories) -> Repositories:
    """TEE-1 5 and TEE-2 0 at BER; ACME supplies TEE-* (10 at least, by 5) in 7 days."""
    seed(repos, TWO_WAREHOUSES, {("TEE-1", "BER"): 5, ("TEE-2", "BER"): 0})
    put_supplier("ACME", SupplierRequest(name="Acme", lead_time_days=7, skus=["TEE-*"], min_order_quantity=10,
                                         order_multiple=5), OPERATOR, repos, NOW)
    return repos


def po(lines: dict[str, int], po_id: str | None = "PO-1", **kw) -> PurchaseOrderRequest:
    return PurchaseOrderRequest(purchase_order_id=po_id, supplier_id="ACME", location_id="BER",
                                lines=[{"sku": s, "quantity": q} for s, q in lines.items()], **kw)


def receipt(receipt_id: str, final: bool = False, **lines: int) -> ReceiptRequest:
    return ReceiptRequest(receipt_id=receipt_id, final=final, lines=[{"sku": s, "quantity": q}
                                                                     for s, q in lines.items()])


def on_hand(repos, sku: str = "TEE-1") -> int:
    return repos.stock.level(sku, "BER").on_hand


def on_order(repos, sku: str = "TEE-1") -> int:
    return repos.replenishment.planned([(sku, "BER")])[(sku, "BER")].on_order


def overlapping[A, B](repos, first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """`first` reads, then `second` runs whole (read, commit) before `first` commits: what two requests
    (a client's retry after a timeout, two clerks) do when they overlap. Their answers, in that order."""
    commit = repos.commit
    raced: list[bool] = []
    answers: list[B] = []

    def commit_after_the_other(*writes):
        if not raced:
            raced.append(True)
            answers.append(second())
        return commit(*writes)

    repos.commit = commit_after_the_other
    try:
        return first(), answers[0]
    finally:
        repos.commit = commit
