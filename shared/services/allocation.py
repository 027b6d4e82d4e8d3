"""Allocation: verify an order, plan where its stock comes from, reserve it in one transaction.

Safe under at-least-once delivery and races: every write is conditioned on the order's version
(a redelivered or concurrent attempt finds the order already moved on and does nothing) and each
stock decrement on `available >= q` (two orders racing for the last unit cannot both win). A
refused transaction means the world changed: re-read, re-plan, a bounded number of times.

A batch's orders are planned on what the batch read once (`ahead`: shared/services/allocation_ahead.py)
on their first try; a refused try reads for itself.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum

from shared.config import ChannelPolicy
from shared.domain.events import (
    AllocatedLine,
    DomainEvent,
    HoldInfo,
    LineQuantity,
    OrderAllocated,
    OrderBackordered,
    OrderOnHold,
    StockLow,
)
from shared.domain.orders import (
    Allocation,
    BackorderedLine,
    Hold,
    HoldReason,
    Order,
    OrderStatus,
    RouteEstimate,
    RoutingRecord,
)
from shared.domain.routing import Destination, Line, RoutingDecision, RoutingRequest, route
from shared.domain.routing_replay import bounded_excluded, picture_of
from shared.domain.routing_strategy import OrderFacts, RoutingStrategy, select_strategy
from shared.domain.stock import StockLevel
from shared.domain.verification import verify
from shared.errors import Busy
from shared.repositories import Repositories
from shared.services.allocation_ahead import Ahead
from shared.services.fulfillment_parts import announcements, parts_of
from shared.unit_of_work import CommitFailed, Refused, StaleVersion

MAX_ATTEMPTS = 6
MAX_TRANSACTION_ACTIONS = 100  # DynamoDB's TransactWriteItems limit


def _cancel_actions(allocations: int, fulfillment_orders: int) -> int:
    """What cancelling will need in one transaction: per allocation a level, a reservation record
    and a StockChanged event; per fulfilment order its write and its event; the order and
    OrderCancelled."""
    return 3 * allocations + 2 * fulfillment_orders + 2


class Outcome(StrEnum):
    ALLOCATED = "ALLOCATED"
    PARTIALLY_ALLOCATED = "PARTIALLY_ALLOCATED"
    BACKORDERED = "BACKORDERED"
    ON_HOLD = "ON_HOLD"
    STILL_WAITING = "STILL_WAITING"
    NOTHING_TO_DO = "NOTHING_TO_DO"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class AllocationResult:
    outcome: Outcome
    order: Order | None = None
    # Available units of each SKU across all locations as planning saw them.
    available_by_sku: dict[str, int] | None = None


PolicyFor = Callable[[str], ChannelPolicy]


def allocate_order(order_id: str, repos: Repositories, policy_for: PolicyFor, now: datetime,
                   ahead: Ahead | None = None) -> AllocationResult:
    conflicts: Counter[tuple[str, str]] = Counter()  # stock levels this order found taken, and how often
    for attempt in range(MAX_ATTEMPTS):
        read, order = ahead.take(order_id) if ahead is not None and attempt == 0 else (False, None)
        if not read:
            order = repos.orders.get(order_id)
        try:
            result = _try(order, repos, policy_for, now, ahead, first=attempt == 0)
            if ahead is not None:
                ahead.committed(order_id, result.order)  # as stored now: a second record of it sees that
            return result
        except CommitFailed as failed:
            # The order moved, stock ran short or capacity was taken meanwhile: read again, plan again,
            # after a short jittered pause so racing allocators do not collide again in step. A level
            # met taken again and again is a hot SKU's: split into buckets before the next attempt.
            conflicts.update(repos.stock.contended_levels(failed))
            if conflicts:
                from shared.services.hot_stock import promote_hot_levels  # rare: not at every cold start

                promote_hot_levels(conflicts, repos, now)
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise Busy(f"order {order_id} could not be allocated after {MAX_ATTEMPTS} attempts")


def _try(order: Order | None, repos: Repositories, policy_for: PolicyFor, now: datetime, ahead: Ahead | None,
         first: bool) -> AllocationResult:
    if order is None:
        return AllocationResult(Outcome.NOT_FOUND)
    if order.status != OrderStatus.RECEIVED and not order.awaits_stock:
        return AllocationResult(Outcome.NOTHING_TO_DO, order)
    return _attempt(order, repos, policy_for(order.channel), now, ahead, first)


def _attempt(order: Order, repos: Repositories, policy: ChannelPolicy, now: datetime, ahead: Ahead | None = None,
             first: bool = True) -> AllocationResult:
    expected = order.version
    locations = [loc for loc in repos.locations.all_cached() if loc.location_id not in order.rejected_locations]
    remaining = order.remaining_lines()
    skus, location_ids = {ln.sku for ln in remaining}, [loc.location_id for loc in locations]
    seen = ahead.stock(skus, location_ids, now.date()) if ahead is not None and first else None
    # A hold is conditioned on the order's version only: nothing would refuse one decided on the batch's
    # picture after a level was created or restocked. Decided there, it is decided again on a fresh read.
    recheck_hold = seen is not None
    if seen is None:
        seen = repos.stock.snapshot(skus, location_ids, now.date())
        if ahead is not None:
            ahead.saw(*seen, now.date())
    levels, used_today = seen
    available_by_sku: dict[str, int] = {}
    for (sku, _), level in levels.items():
        available_by_sku[sku] = available_by_sku.get(sku, 0) + max(0, level.available)

    if order.status == OrderStatus.RECEIVED:
        holds = verify(order, {sku for sku, _ in levels}, locations, allow_cod=policy.allow_cod)
        if holds and recheck_hold:
            return _attempt(order, repos, policy, now, ahead, first=False)
        if holds:
            _hold(order, holds, repos, now)
            return AllocationResult(Outcome.ON_HOLD, order, available_by_sku)

    active = [loc for loc in locations if loc.active]
    stock = {key: level.available for key, level in levels.items()}
    strategy = strategy_for(order, repos, now)
    candidates = [loc.candidate(used_today.get(loc.location_id, 0)) for loc in active]
    decision = route(_request(order, remaining, policy), candidates, stock, strategy, repos.routing.profile_cached(),
                     now)
    record = _record(decision, stock, used_today, active, now)

    if decision.hold:
        if order.status != OrderStatus.RECEIVED:
            return AllocationResult(Outcome.STILL_WAITING, order, available_by_sku)
        if recheck_hold:
            return _attempt(order, repos, policy, now, ahead, first=False)
        order.routing.append(record)
        _hold(order, [(HoldReason.ROUTING_SHORTFALL, f"routing strategy {strategy.strategy_id} (version "
                                                     f"{strategy.version}) holds what it cannot fill: "
                                                     f"{decision.reasons[0]}")], repos, now)
        return AllocationResult(Outcome.ON_HOLD, order, available_by_sku)

    if not decision.assignments:
        if order.status != OrderStatus.RECEIVED:
            return AllocationResult(Outcome.STILL_WAITING, order, available_by_sku)
        order.backordered = list(remaining)
        order.routing.append(record)
        order.move_to(OrderStatus.BACKORDERED, now, note=decision.reasons[0])
        order.version += 1
        event = OrderBackordered(occurred_at=now, order_id=order.order_id, channel=order.channel,
                                 lines=[LineQuantity(sku=b.sku, quantity=b.quantity) for b in remaining],
                                 previous=OrderStatus.RECEIVED.value)
        repos.commit(repos.orders.save(order, expected), repos.events.publish(event),
                     still_short_checks(order, locations, levels, repos, room=MAX_TRANSACTION_ACTIONS - 2))
        return AllocationResult(Outcome.BACKORDERED, order, available_by_sku)

    return _reserve(order, expected, decision, record, levels, locations, repos, now, available_by_sku, ahead)


def strategy_for(order: Order, repos: Repositories, now: datetime) -> RoutingStrategy:
    """The first matching strategy (read cached: a minute at most, no request per order). Once an
    operator released the order from a ROUTING_SHORTFALL hold, what cannot be filled follows the
    channel's policy instead of holding it again."""
    strategy = select_strategy(repos.routing.strategies_cached(), OrderFacts.of(order), now)
    if HoldReason.ROUTING_SHORTFALL in order.released_hold_reasons:
        return strategy.model_copy(update={"when_short": None})
    return strategy


def _request(order: Order, remaining: list[BackorderedLine], policy: ChannelPolicy) -> RoutingRequest:
    req = order.request
    address = req.shipping_address
    return RoutingRequest(
        lines=tuple(Line(ln.sku, ln.quantity) for ln in remaining),
        destination=Destination(address.country, address.lat, address.lon),
        pickup_location_id=req.fulfillment.location_id if req.fulfillment.type == "pickup" else None,
        allow_split=policy.allow_split,
        allow_partial=policy.allow_partial,
        promised_by=req.promised_by,
    )


def _record(decision: RoutingDecision, stock: dict[tuple[str, str], int], used_today: dict[str, int], active: list,
            now: datetime) -> RoutingRecord:
    """The decision as kept on the order, with the picture it was made on (what a replay routes against,
    bounded: `picture_of`)."""
    seen = picture_of(decision, stock, used_today,
                      [loc.location_id for loc in active if loc.daily_order_capacity is not None])
    excluded, excluded_omitted = bounded_excluded(decision.excluded)
    return RoutingRecord(
        decided_at=now, locations=list(decision.locations), reasons=list(decision.reasons),
        excluded=excluded, excluded_omitted=excluded_omitted, strategy_id=decision.strategy_id, strategy_version=decision.strategy_version,
        estimate=route_estimate(decision), stock_seen=seen.stock_seen, orders_today=seen.orders_today,
        picture_omitted=seen.omitted, picture_recorded=True, assigned=seen.assigned)


def route_estimate(decision: RoutingDecision) -> RouteEstimate | None:
    """The plan's estimate as the order keeps it."""
    estimate = decision.estimate
    return None if estimate is None else RouteEstimate.model_validate(asdict(estimate))


def _reserve(order, expected, decision: RoutingDecision, record, levels, locations, repos: Repositories, now,
             available_by_sku, ahead: Ahead | None = None) -> AllocationResult:
    already_at = {a.location_id for a in order.allocations}
    merged = merge_allocations(order.allocations, decision)
    stock_low = stock_low_events(decision, levels, now)
    new_locations = {loc for loc in decision.locations if loc not in already_at}
    # A first estimate, before anything is built: the writes themselves are counted below.
    actions_needed = 2 * len(decision.assignments) + len(new_locations) + len(stock_low) + 2
    locations_after = len(already_at | set(decision.locations))
    fulfillment_orders_after = len(order.fulfillment_order_ids) + len(decision.locations)
    if actions_needed > MAX_TRANSACTION_ACTIONS or _cancel_actions(len(merged), fulfillment_orders_after) > \
            MAX_TRANSACTION_ACTIONS:
        # One atomic reservation (and later one atomic cancel) could not hold this plan.
        return _too_large(order, len(merged), locations_after, repos, now, available_by_sku)
    order.allocations = merged
    order.backordered = [BackorderedLine(sku=u.sku, quantity=u.quantity) for u in decision.unfilled]
    order.routing.append(record)
    status = OrderStatus.ALLOCATED if decision.complete else OrderStatus.PARTIALLY_ALLOCATED
    previous = order.status
    if order.status == OrderStatus.PARTIALLY_SHIPPED:
        status = order.status  # some parts left already: the rest being allocated does not undo that
    order.move_to(status, now, note="; ".join(decision.reasons[:1]))
    order.version += 1

    capacity = {loc.location_id: loc.daily_order_capacity for loc in locations}
    allocated = OrderAllocated(
        occurred_at=now, order_id=order.order_id, channel=order.channel,
        allocations=[AllocatedLine(location_id=a.location_id, sku=a.sku, quantity=a.quantity)
                     for a in decision.assignments],
        partial=not decision.complete,
        backordered=[LineQuantity(sku=u.sku, quantity=u.quantity) for u in decision.unfilled],
        pickup=order.request.fulfillment.type == "pickup",
        previous=previous.value,
        parts_opened=True,
    )
    # The parts open with the reservation: an allocated order is never without them (a cancel or a
    # ship in between finds them), and no second transaction per order makes them.
    parts = parts_of(allocated, order, now)
    events: list[DomainEvent] = [allocated, *announcements(parts, now), *stock_low]
    assigned = {(a.sku, a.location_id) for a in decision.assignments}
    # Exact versions where counts matter: a StockLow event reports them, and a level we leave
    # an order waiting on must not have been restocked meanwhile.
    exact_pairs = {(e.sku, e.location_id) for e in stock_low} | (assigned & _waiting_pairs(order, locations))
    reservation = repos.stock.reserve(order.order_id, decision.assignments, now,
                                      {pair: levels[pair].version for pair in exact_pairs}, levels)
    work = repos.unit_of_work().add(
        reservation,
        repos.stock.count_order({loc: capacity.get(loc) for loc in new_locations}, now.date()),
        repos.orders.save(order, expected),
        [repos.fulfillment.create(fo) for fo in parts],
        repos.events.publish_all(events),
    )
    if order.backordered:
        work.add(still_short_checks(order, locations, levels, repos, room=MAX_TRANSACTION_ACTIONS - len(work),
                                    skip=assigned))
    if len(work) > MAX_TRANSACTION_ACTIONS:
        # A hot SKU's line draws from up to 24 buckets, each a write: the estimate above missed them.
        # The order as read, not as this plan changed it, is what goes on hold.
        fresh = repos.orders.get(order.order_id)
        if fresh is None or fresh.version != expected:
            raise Refused([StaleVersion("order", order.order_id)])  # moved meanwhile: read again, plan again
        return _too_large(fresh, len(merged), locations_after, repos, now, available_by_sku, writes=len(work))
    # An SDK retry after a timeout reuses the ClientRequestToken botocore fills in for this call, so
    # DynamoDB does not apply a committed transaction twice (moto ignores the token: there the
    # order's version condition refuses the retry, and the loop above finds the order allocated).
    work.commit()
    if ahead is not None:  # the batch's next orders plan on the stock as this left it
        ahead.reserved(repos.stock.as_reserved(levels, reservation),
                       [loc for loc in new_locations if capacity.get(loc) is not None])
    outcome = Outcome.ALLOCATED if decision.complete else Outcome.PARTIALLY_ALLOCATED
    return AllocationResult(outcome, order, available_by_sku)


def _too_large(order: Order, allocations: int, locations: int, repos: Repositories, now: datetime,
               available_by_sku: dict[str, int], writes: int | None = None) -> AllocationResult:
    """A plan one transaction cannot reserve (or later cancel) atomically: a new order waits for a
    person on hold; one already allocated in part keeps waiting for what it has."""
    if order.status != OrderStatus.RECEIVED:
        return AllocationResult(Outcome.STILL_WAITING, order, available_by_sku)
    needs = f" ({writes} writes)" if writes is not None else ""
    _hold(order, [(HoldReason.TOO_LARGE, f"the plan needs {allocations} stock allocations over {locations} "
                                         f"locations{needs}: more than one transaction can reserve, and later "
                                         "cancel, atomically. Split or reject the order.")], repos, now)
    return AllocationResult(Outcome.ON_HOLD, order, available_by_sku)


def _waiting_pairs(order: Order, locations) -> set[tuple[str, str]]:
    """(SKU, location) pairs whose restock could serve what the order still waits for."""
    req = order.request
    if req.fulfillment.type == "pickup":
        store = req.fulfillment.location_id
        if store is None:  # Fulfillment's own validation requires one for pickup
            raise ValueError(f"pickup order {order.order_id} names no pickup location")
        places = [store]
    else:
        places = [loc.location_id for loc in locations if loc.active and req.shipping_address.country in loc.ships_to]
    return {(b.sku, place) for b in order.backordered for place in places}


def still_short_checks(order: Order, locations, levels, repos: Repositories, room: int,
                 skip: set[tuple[str, str]] | frozenset = frozenset()) -> list:
    """Checks that the stock this order now waits for is still as read.

    Without them, a restock committed between our read and our write would find the order not yet
    waiting (its release looks for BACKORDERED orders), and the order would then wait with stock on
    the shelf. When they do not fit the transaction (a very wide order), the scheduled
    reconciliation is the safety net."""
    pairs = _waiting_pairs(order, locations) - skip
    return repos.stock.unchanged(pairs, levels) if len(pairs) <= room else []


def merge_allocations(existing: list[Allocation], decision: RoutingDecision) -> list[Allocation]:
    totals: dict[tuple[str, str], int] = {(a.location_id, a.sku): a.quantity for a in existing}
    for a in decision.assignments:
        totals[(a.location_id, a.sku)] = totals.get((a.location_id, a.sku), 0) + a.quantity
    return [Allocation(location_id=loc, sku=sku, quantity=q) for (loc, sku), q in totals.items()]


def stock_low_events(decision: RoutingDecision, levels: dict[tuple[str, str], StockLevel], now) -> list[StockLow]:
    events = []
    for a in decision.assignments:
        level = levels[(a.sku, a.location_id)]
        after = level.available - a.quantity
        if after <= level.low_stock_threshold < level.available:
            events.append(StockLow(occurred_at=now, sku=a.sku, location_id=a.location_id, available=after,
                                   threshold=level.low_stock_threshold))
    return events


def _hold(order: Order, holds: list[tuple[HoldReason, str]], repos: Repositories, now: datetime) -> None:
    expected = order.version
    order.holds.extend(Hold(reason=reason, detail=detail, placed_at=now) for reason, detail in holds)
    order.move_to(OrderStatus.ON_HOLD, now, note=", ".join(reason.value for reason, _ in holds))
    order.version += 1
    event = OrderOnHold(occurred_at=now, order_id=order.order_id, channel=order.channel,
                        holds=[HoldInfo(reason=reason.value, detail=detail) for reason, detail in holds])
    repos.commit(repos.orders.save(order, expected), repos.events.publish(event))
