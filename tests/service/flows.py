"""What the service tests share: the events a test's writes published, and an order taken through
capture, allocation, fulfilment and shipping by the same use cases the functions call."""

from __future__ import annotations

import json
from datetime import datetime

from shared.config import ChannelPolicy
from shared.domain.channels import seed_policy
from shared.domain.fulfillment import Action, fulfillment_order_id
from shared.domain.principal import OPERATOR, Principal
from shared.outbox_format import OUTBOX_PREFIX, outbox_entries
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.fulfillment import ShipRequest, advance, request_fulfillment, ship
from tests.factories import order_request

OPERATOR_PRINCIPAL = Principal(OPERATOR)


def policy(channel: str) -> ChannelPolicy:
    return seed_policy(channel)


def events(repos, detail_type: str) -> list[dict]:
    """The details of the events of this type in the outbox, in the order they were written (the
    in-memory store keeps its items in insertion order, and outbox items are never rewritten; their
    keys are random event ids, so `with_prefix`'s key order would not do for "the latest")."""
    items = [i for (pk, _), i in repos.store.items.items() if pk.startswith(OUTBOX_PREFIX)]
    return [json.loads(e.detail) for i in items for e in outbox_entries(i) if e.detail_type == detail_type]


def fulfil(repos, order_id: str, now: datetime) -> list[str]:
    """The fulfilment orders of the order's latest allocation step: opened with it, or, for a step made
    as an earlier version made them (`allocating_as_before`), created as request-fulfillment does."""
    allocated = [e for e in events(repos, "OrderAllocated") if e["order_id"] == order_id][-1]
    if allocated["parts_opened"] is True:
        return [fulfillment_order_id(allocated["event_id"], location, order_id)
                for location in sorted({a["location_id"] for a in allocated["allocations"]})]
    made = request_fulfillment(allocated["event_id"], order_id, allocated["channel"], allocated["allocations"],
                               allocated["pickup"], repos, now)
    return [fo.fulfillment_order_id for fo in made]


def allocating_as_before(monkeypatch) -> None:
    """Allocation as versions before issue 15's last step made it: the order names its parts' ids and
    OrderAllocated has no `parts_opened`, but the parts are left to request-fulfillment."""
    def named_only(allocated, order, now):
        allocated.parts_opened = False  # stands for the field's absence then (no rule reads it here)
        order.fulfillment_order_ids += [fulfillment_order_id(allocated.event_id, location, order.order_id)
                                        for location in sorted({a.location_id for a in allocated.allocations})]
        return []
    monkeypatch.setattr("shared.services.allocation.parts_of", named_only)


def placed_and_packed(repos, lines: list[tuple[str, int]], now: datetime, channel: str = "web",
                      **order) -> tuple[str, str]:
    """An order captured, allocated to one location and packed there: (order id, fulfilment order id)."""
    captured = capture_order(order_request(lines, **order), channel, repos, now).order
    allocate_order(captured.order_id, repos, policy, now)
    [fo_id] = fulfil(repos, captured.order_id, now)
    for action in (Action.ACCEPT, Action.PICK, Action.PACK):
        advance(fo_id, action, OPERATOR_PRINCIPAL, repos, now)
    return captured.order_id, fo_id


def ship_lines(repos, fo_id: str, shipment_id: str, lines: dict[str, int], now: datetime, carrier: str | None = None,
               tracking_code: str | None = None):
    return ship(fo_id, ShipRequest(shipment_id, lines, carrier=carrier, tracking_code=tracking_code),
                OPERATOR_PRINCIPAL, repos, now)


def interleave(monkeypatch, repos, other) -> None:
    """Run `other` (another worker's whole invocation) just before the first transaction written
    after this point: it commits between our read and our write."""
    store_type = type(repos.store)
    real = store_type.transact
    pending = [other]

    def transact(self, actions):
        if pending:
            pending.pop()()
        return real(self, actions)

    monkeypatch.setattr(store_type, "transact", transact)
