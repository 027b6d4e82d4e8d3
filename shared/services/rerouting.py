"""A location rejects its fulfilment order: the order goes to the next best location, in one step.

One transaction: the fulfilment order REJECTED, its reservation at that location released, the
lines re-planned without that location (and without any other that rejected this order before),
the new reservation made, and the order updated, with their events. The new allocation is
announced by `OrderAllocated`, and its fulfilment orders open in the same transaction, as a first
allocation's do. What no location can take waits as a backorder (and the order goes back to
BACKORDERED when nothing of it is allocated any more).

A click-and-collect order's pickup store is the one place it can go: when that store rejects it,
there is nothing to re-route to, and a backorder would wait for a store allocation never offers it
again. The order goes ON_HOLD instead (`PICKUP_UNAVAILABLE`, with `OrderOnHold`), in the same
transaction that rejects the fulfilment order and releases the store's reservation: the customer
chooses another store (a new order) or the order is cancelled. An operator who releases that hold
gives the store another chance: the release takes the store off the order's rejected locations, and
allocation plans the whole order at the store again (reserving it, or backordering for the store's
restock). A new rejection puts it on hold again; nothing loops without a person deciding. (Only an
order with nothing else allocated or collected goes on hold: one with another open part at the store
keeps the old behaviour and waits as a backorder for an operator to cancel it.)
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.events import (
    AllocatedLine,
    DomainEvent,
    FulfillmentOrderChanged,
    HoldInfo,
    LineQuantity,
    OrderAllocated,
    OrderBackordered,
    OrderOnHold,
    StockChanged,
)
from shared.domain.fulfillment import Action, Decision, FulfillmentOrder
from shared.domain.orders import (
    Allocation,
    BackorderedLine,
    Hold,
    HoldReason,
    Order,
    OrderStatus,
    RoutingRecord,
)
from shared.domain.principal import Principal
from shared.domain.routing import Destination, Line, RoutingRequest, route
from shared.domain.routing_replay import bounded_excluded
from shared.domain.routing_strategy import Shortfall
from shared.errors import Busy, Conflict
from shared.repositories import Repositories
from shared.services.allocation import (
    MAX_TRANSACTION_ACTIONS,
    PolicyFor,
    route_estimate,
    still_short_checks,
    stock_low_events,
    strategy_for,
)
from shared.services.fulfillment import ATTEMPTS, get_fulfillment_order
from shared.services.fulfillment_parts import announcements, parts_of
from shared.unit_of_work import CommitFailed, UnitOfWork


def reject_fulfillment_order(fulfillment_order_id_: str, reason: str, principal: Principal, repos: Repositories,
                             policy_for: PolicyFor, now: datetime) -> FulfillmentOrder:
    for _ in range(ATTEMPTS):
        fo = get_fulfillment_order(fulfillment_order_id_, principal, repos)
        expected_fo, previous = fo.version, fo.status
        verdict = fo.apply(Action.REJECT, now, reason, by=principal.name)
        if verdict.decision == Decision.ALREADY:
            return fo
        if verdict.decision == Decision.REFUSE:
            raise Conflict(verdict.reason, field="status")
        fo.reject_reason = reason
        order = repos.orders.get(fo.order_id)
        if order is None:  # cannot happen while fulfilment orders only come from allocations
            raise Conflict(f"order {fo.order_id} of this fulfilment order is gone", field="order_id")
        work = repos.unit_of_work().add(
            repos.fulfillment.save(fo, expected_fo),
            repos.events.publish(FulfillmentOrderChanged(
                occurred_at=now, fulfillment_order_id=fo.fulfillment_order_id, order_id=fo.order_id,
                location_id=fo.location_id, status=fo.status.value, previous=previous.value)))
        _reroute(order, fo, reason, repos, policy_for(order.channel), now, work)
        if len(work) > MAX_TRANSACTION_ACTIONS:
            raise Conflict("this fulfilment order is too large to re-route in one step; cancel the order instead",
                           field="fulfillment_order_id")
        try:
            work.commit()
            return fo
        except CommitFailed:
            continue  # the fulfilment order, the order or a stock level moved: decide again
    raise Busy("the fulfilment order is changing too fast; retry")


def _reroute(order: Order, fo: FulfillmentOrder, reason: str, repos: Repositories, policy, now: datetime,
             work: UnitOfWork) -> None:
    """The order's side of a rejection: release there, re-plan elsewhere, reserve, record."""
    expected = order.version
    rejected_at = fo.location_id
    lines = {line.sku: line.quantity - line.shipped for line in fo.lines if line.quantity > line.shipped}
    if rejected_at not in order.rejected_locations:
        order.rejected_locations.append(rejected_at)
    if _pickup_store_gone(order, rejected_at, lines):
        _hold_for_another_store(order, fo, reason, lines, repos, now, work)
        return
    locations = [loc for loc in repos.locations.all_cached()
                 if loc.location_id not in order.rejected_locations or loc.location_id == rejected_at]
    levels, used_today = repos.stock.snapshot(set(lines), [loc.location_id for loc in locations], now.date())
    candidates = [loc.candidate(used_today.get(loc.location_id, 0)) for loc in locations
                  if loc.active and loc.location_id != rejected_at]

    req = order.request
    # The order's own strategy decides again; what cannot be placed waits as a backorder (the rest
    # of the order is already on its way), whatever the strategy says about shortfalls.
    strategy = strategy_for(order, repos, now).model_copy(update={"when_short": Shortfall.PARTIAL})
    decision = route(
        RoutingRequest(
            lines=tuple(Line(sku, q) for sku, q in sorted(lines.items())),
            destination=Destination(req.shipping_address.country, req.shipping_address.lat,
                                    req.shipping_address.lon),
            pickup_location_id=req.fulfillment.location_id if req.fulfillment.type == "pickup" else None,
            allow_split=policy.allow_split,
            # What cannot be placed waits as a backorder: the rest of the order is already on its way.
            allow_partial=True,
            promised_by=req.promised_by,
        ),
        candidates,
        {key: level.available for key, level in levels.items() if key[1] != rejected_at},
        strategy, repos.routing.profile_cached(), now,
    )
    excluded, excluded_omitted = bounded_excluded({**dict(decision.excluded), rejected_at: "rejected this order"})
    order.routing.append(RoutingRecord(
        decided_at=now, locations=list(decision.locations),
        reasons=[f"{rejected_at} rejected fulfilment order {fo.fulfillment_order_id}: {reason}",
                 *decision.reasons],
        excluded=excluded, excluded_omitted=excluded_omitted,
        strategy_id=decision.strategy_id, strategy_version=decision.strategy_version,
        estimate=route_estimate(decision)))

    # The rejected location's part of the allocation goes; the new plan's part comes.
    totals = {(a.location_id, a.sku): a.quantity for a in order.allocations}
    for sku, q in lines.items():
        totals[(rejected_at, sku)] = totals.get((rejected_at, sku), 0) - q
    for a in decision.assignments:
        totals[(a.location_id, a.sku)] = totals.get((a.location_id, a.sku), 0) + a.quantity
    already_at = {a.location_id for a in order.allocations if a.location_id != rejected_at}
    order.allocations = [Allocation(location_id=loc, sku=sku, quantity=q) for (loc, sku), q in totals.items() if q > 0]
    waiting = {b.sku: b.quantity for b in order.backordered}
    for u in decision.unfilled:
        waiting[u.sku] = waiting.get(u.sku, 0) + u.quantity
    order.backordered = [BackorderedLine(sku=sku, quantity=q) for sku, q in sorted(waiting.items())]

    events: list[DomainEvent] = []
    for sku, q in sorted(lines.items()):
        before = levels[(sku, rejected_at)]
        events.append(StockChanged(
            occurred_at=now, sku=sku, location_id=rejected_at, cause="reservation_released",
            on_hand=before.on_hand, reserved=before.reserved - q, safety_stock=before.safety_stock,
            available=before.available + q, available_before=before.available, available_increased=True))
    stock_low = stock_low_events(decision, levels, now)
    parts: list[FulfillmentOrder] = []
    if decision.assignments:
        allocated = OrderAllocated(
            occurred_at=now, order_id=order.order_id, channel=order.channel,
            allocations=[AllocatedLine(location_id=a.location_id, sku=a.sku, quantity=a.quantity)
                         for a in decision.assignments],
            partial=bool(order.backordered),
            backordered=[LineQuantity(sku=b.sku, quantity=b.quantity) for b in order.backordered],
            pickup=req.fulfillment.type == "pickup", previous=order.status.value, parts_opened=True)
        parts = parts_of(allocated, order, now)  # opened here, as a first allocation's are
        events += [allocated, *announcements(parts, now)]
    events += stock_low

    if order.status != OrderStatus.PARTIALLY_SHIPPED:  # parts already gone stay gone
        status = (OrderStatus.ALLOCATED if not order.backordered
                  else OrderStatus.PARTIALLY_ALLOCATED if order.allocations else OrderStatus.BACKORDERED)
        if status == OrderStatus.BACKORDERED and order.status != status:
            events.append(OrderBackordered(occurred_at=now, order_id=order.order_id, channel=order.channel,
                                           lines=[LineQuantity(sku=b.sku, quantity=b.quantity)
                                                  for b in order.backordered], previous=order.status.value))
        order.move_to(status, now, note=f"{rejected_at} rejected: {reason}")
    order.updated_at = now
    order.version += 1

    capacity = {loc.location_id: loc.daily_order_capacity for loc in locations}
    new_locations = {loc for loc in decision.locations if loc not in already_at}
    work.add(
        repos.stock.release_lines(order.order_id, rejected_at, lines, now,
                                  {(sku, rejected_at): levels[(sku, rejected_at)].version for sku in lines}, levels),
        repos.stock.reserve(order.order_id, decision.assignments, now,
                            {(e.sku, e.location_id): levels[(e.sku, e.location_id)].version for e in stock_low},
                            levels),
        repos.stock.count_order({loc: capacity.get(loc) for loc in new_locations}, now.date()),
        repos.orders.save(order, expected),
        [repos.fulfillment.create(fo) for fo in parts],
        repos.events.publish_all(events),
    )
    if decision.unfilled:
        # A restock between our read and our write must not leave these lines waiting unseen.
        work.add(still_short_checks(order, [loc for loc in locations if loc.location_id != rejected_at], levels,
                                    repos, room=MAX_TRANSACTION_ACTIONS - len(work),
                                    # Levels this work writes already carry their own condition (and
                                    # DynamoDB refuses two operations on one item): a pickup store
                                    # that rejects is both released here and the store its lines wait for.
                                    skip={(a.sku, a.location_id) for a in decision.assignments}
                                    | {(sku, rejected_at) for sku in lines}))


def _pickup_store_gone(order: Order, rejected_at: str, lines: dict[str, int]) -> bool:
    """The order's pickup store rejected it, and nothing else of the order is allocated or collected."""
    req = order.request
    if req.fulfillment.type != "pickup" or req.fulfillment.location_id != rejected_at:
        return False
    if order.status not in (OrderStatus.ALLOCATED, OrderStatus.PARTIALLY_ALLOCATED):
        return False
    left = {(a.location_id, a.sku): a.quantity for a in order.allocations}
    for sku, q in lines.items():
        left[(rejected_at, sku)] = left.get((rejected_at, sku), 0) - q
    return all(q <= 0 for q in left.values())


def _hold_for_another_store(order: Order, fo: FulfillmentOrder, reason: str, lines: dict[str, int],
                            repos: Repositories, now: datetime, work: UnitOfWork) -> None:
    """The pickup store rejected: release its reservation and hold the order for a person to decide."""
    expected = order.version
    store = fo.location_id
    levels, _ = repos.stock.snapshot(set(lines), [store], now.date())
    detail = (f"pickup store {store} rejected the order ({reason}): ask the customer to choose another store "
              f"(a new order) or cancel it; releasing the hold offers the order to {store} again")
    order.allocations, order.backordered = [], []
    order.routing.append(RoutingRecord(
        decided_at=now, locations=[],
        reasons=[f"{store} rejected fulfilment order {fo.fulfillment_order_id}: {reason}",
                 "the pickup store rejected the order: no other location can serve it"],
        excluded={store: "rejected this order"}))
    order.holds.append(Hold(reason=HoldReason.PICKUP_UNAVAILABLE, detail=detail, placed_at=now))
    order.move_to(OrderStatus.ON_HOLD, now, note=f"{store} rejected: {reason}")
    order.version += 1
    events: list[DomainEvent] = []
    for sku, q in sorted(lines.items()):
        before = levels[(sku, store)]
        events.append(StockChanged(
            occurred_at=now, sku=sku, location_id=store, cause="reservation_released",
            on_hand=before.on_hand, reserved=before.reserved - q, safety_stock=before.safety_stock,
            available=before.available + q, available_before=before.available, available_increased=True))
    events.append(OrderOnHold(occurred_at=now, order_id=order.order_id, channel=order.channel,
                              holds=[HoldInfo(reason=HoldReason.PICKUP_UNAVAILABLE.value, detail=detail)]))
    work.add(
        repos.stock.release_lines(order.order_id, store, lines, now,
                                  {(sku, store): levels[(sku, store)].version for sku in lines}, levels),
        repos.orders.save(order, expected),
        repos.events.publish_all(events),
    )
