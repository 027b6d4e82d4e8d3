"""Fulfilment orders: one per location of an allocation, then accepted, picked, packed by the location."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from shared.adapters.dynamo import TransactionCancelled
from shared.adapters.outbox import event_action
from shared.domain.events import FulfillmentOrderChanged, FulfillmentRequested, LineQuantity
from shared.domain.fulfillment import Action, Decision, FulfillmentChange, FulfillmentLine, FulfillmentOrder, \
    FulfillmentStatus, fulfillment_order_id
from shared.domain.principal import Principal
from shared.errors import AccessDenied, Busy, Conflict, NotFound
from shared.services.context import Repositories

ATTEMPTS = 5


def request_fulfillment(event_id: str, order_id: str, channel: str, allocations: list[dict], pickup: bool,
                        repos: Repositories, now: datetime) -> list[FulfillmentOrder]:
    """One fulfilment order per location of this allocation step, each announced, all in one
    transaction. A redelivery finds them there and creates nothing (they are returned as stored);
    an order cancelled in the meantime gets none."""
    by_location: dict[str, list[FulfillmentLine]] = defaultdict(list)
    for a in allocations:
        by_location[a["location_id"]].append(FulfillmentLine(sku=a["sku"], quantity=int(a["quantity"])))
    orders = [FulfillmentOrder(
        fulfillment_order_id=fulfillment_order_id(event_id, location), order_id=order_id, channel=channel,
        location_id=location, pickup=pickup, lines=lines, created_at=now, updated_at=now,
        history=[FulfillmentChange(status=FulfillmentStatus.OPEN, at=now)],
    ) for location, lines in sorted(by_location.items())]
    actions = []
    for fo in orders:
        actions.append(repos.fulfillment.create_action(fo))
        actions.append(event_action(repos.table, FulfillmentRequested(
            occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id, order_id=order_id, channel=channel,
            location_id=fo.location_id, pickup=pickup,
            lines=[LineQuantity(sku=line.sku, quantity=line.quantity) for line in fo.lines])))
    # Not for an order cancelled meanwhile: its cancel could not see these yet.
    actions.append(repos.orders.not_cancelled_check(order_id))
    try:
        repos.table.transact(actions)
    except TransactionCancelled as cancelled:
        failed = cancelled.failed_indexes()
        if not failed:
            raise
        if len(actions) - 1 in failed:
            return []
        return [repos.fulfillment.get(fo.fulfillment_order_id) or fo for fo in orders]
    return orders


def get_fulfillment_order(fulfillment_order_id: str, principal: Principal, repos: Repositories) -> FulfillmentOrder:
    _require_operator(principal)
    fo = repos.fulfillment.get(fulfillment_order_id)
    if fo is None:
        raise NotFound(f"fulfilment order {fulfillment_order_id} not found", field="fulfillment_order_id")
    return fo


def advance(fulfillment_order_id: str, action: Action, principal: Principal, repos: Repositories, now: datetime,
            note: str | None = None) -> FulfillmentOrder:
    """Accept, pick or pack: idempotent, and a late or repeated call cannot move it backwards."""
    for _ in range(ATTEMPTS):
        fo = get_fulfillment_order(fulfillment_order_id, principal, repos)
        expected, previous = fo.version, fo.status
        verdict = fo.apply(action, now, note)
        if verdict.decision == Decision.ALREADY:
            return fo
        if verdict.decision == Decision.REFUSE:
            raise Conflict(verdict.reason, field="status")
        event = FulfillmentOrderChanged(occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id,
                                        order_id=fo.order_id, location_id=fo.location_id, status=fo.status.value,
                                        previous=previous.value)
        try:
            repos.table.transact([repos.fulfillment.save_action(fo, expected), event_action(repos.table, event)])
            return fo
        except TransactionCancelled:
            continue  # someone else moved it: decide again on a fresh read
    raise Busy("the fulfilment order is changing too fast; retry")


def _require_operator(principal: Principal) -> None:
    # Warehouses and stores without a WMS use the operator key for now (per-location keys: later).
    if not principal.is_operator:
        raise AccessDenied("fulfilment orders are for operators and locations, not sales channels")
