"""Scheduled reconciliation: the system heals itself and says what it fixed.

One pass walks these steps in order; a run does as much of a pass as its budget allows:

1. `expire_holds`: orders ON_HOLD for AWAITING_PAYMENT longer than the unpaid limit are cancelled
   (they hold no stock yet). `expire_pickups`: click-and-collect orders READY_FOR_PICKUP longer
   than the pickup limit are cancelled through the ordinary cancel, which cancels the fulfilment
   order and releases the reservation in one transaction. Neither relies on TTL.
2. `drift`: every stock level's `reserved` is compared with the sum of its reservation records (a
   scan of the stock partitions finds candidates; a consistent recount decides). A repair writes
   the level from the recount under the level's version (any reservation in between bumps it,
   so the write is refused and the recount is repeated: a concurrent reservation is never lost),
   with an audit record and StockDriftRepaired in the same transaction.
3. `backorders`: orders waiting for stock, oldest first across BACKORDERED, PARTIALLY_ALLOCATED and
   PARTIALLY_SHIPPED, go through `allocate_order` (the restock path) when one of their SKUs has
   something available somewhere.
4. `silent_shipments`: shipments of SHIPPED / PARTIALLY_SHIPPED orders with no tracking news for
   the silent limit are polled at their carrier; updates are applied through the tracking service
   (once each, never backwards); a shipment still silent is flagged as an open exception.
5. `stuck_orders`: an order longer in its status than that status's SLA raises OrderStuck and an
   open exception, once per stay in the status. `exceptions` then closes the open exceptions whose
   cause is gone.

Runs never fight: a run first takes the lease (one conditional write); a second run finds it held
and does nothing. The checkpoint (step and cursor: the last item handled) is written every
`CHECKPOINT_EVERY` items and when the budget runs out, each write conditioned on still holding the
lease. A run that stops early leaves the checkpoint for the next one, which resumes right after the
last item handled; a crashed run's lease expires after its budget plus `LEASE_MARGIN` and the next
run redoes at most `CHECKPOINT_EVERY` items, all of which are idempotent. Configuration: see
shared/domain/reconciliation.py.
"""

from __future__ import annotations

import heapq
import inspect
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from shared.adapters.reconciliation_repo import LeaseLost, ReconciliationRepository
from shared.domain import reconciliation as rules
from shared.domain.events import OrderCancelled, OrderStuck, ReconciliationCompleted, StockDriftRepaired
from shared.domain.fulfillment import FulfillmentOrder
from shared.domain.orders import Order, OrderStatus
from shared.domain.principal import OPERATOR, Principal
from shared.domain.shipments import Shipment
from shared.domain.stock import StockLevel
from shared.errors import Conflict, OmsError
from shared.observability import logger
from shared.services.allocation import Outcome, PolicyFor, allocate_order
from shared.repositories import Repositories
from shared.unit_of_work import AlreadyExists, CommitFailed, Contention, LeaseLost as LeaseLostOutcome, Refused

STEPS = ("expire_holds", "expire_pickups", "drift", "backorders", "silent_shipments", "stuck_orders", "exceptions")
CHECKPOINT_EVERY = 50
LEASE_MARGIN = timedelta(seconds=60)
DRIFT_ATTEMPTS = 8
RECONCILER = Principal(OPERATOR)
STUCK, SILENT, UNCOLLECTED = "STUCK_ORDER", "SILENT_SHIPMENT", "UNCOLLECTED_PICKUP"


def config() -> rules.ReconcileConfig:
    return rules.config_from_env(os.environ)


class Budget:
    """How long a run may work: a monotonic deadline and, for tests, a number of items."""

    def __init__(self, seconds: float, max_items: int | None = None):
        self.deadline = time.monotonic() + seconds
        self.max_items = max_items
        self.items = 0

    @classmethod
    def for_lambda(cls, context, limit: timedelta, margin_s: float) -> Budget:
        """The configured budget, cut to what the invocation has left minus a margin."""
        seconds = limit.total_seconds()
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            seconds = min(seconds, context.get_remaining_time_in_millis() / 1000 - margin_s)
        return cls(max(1.0, seconds))

    def spend(self) -> None:
        self.items += 1

    @property
    def exhausted(self) -> bool:
        return time.monotonic() >= self.deadline or (self.max_items is not None and self.items >= self.max_items)


@dataclass
class RunReport:
    run_id: str
    trigger: str
    started_at: datetime
    skipped: bool = False          # another run holds the lease: this one did nothing
    lease_lost: bool = False       # the lease expired under this run and was taken: it stopped
    pass_complete: bool = False
    resumed_from: str | None = None
    stopped_in: str | None = None
    holds_expired: int = 0
    pickups_expired: int = 0
    pickups_flagged: int = 0
    stock_items_checked: int = 0
    reservations_swept: int = 0    # spent (0-unit) reservation records deleted
    drift_repaired: int = 0
    backorders_examined: int = 0
    backorders_allocated: int = 0
    shipments_polled: int = 0
    shipments_flagged: int = 0
    orders_stuck: int = 0
    exceptions_resolved: int = 0
    errors: int = 0
    items: int = 0
    seconds: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        names = ("holds_expired", "pickups_expired", "pickups_flagged", "stock_items_checked", "drift_repaired", "backorders_examined",
                 "backorders_allocated", "shipments_polled", "shipments_flagged", "orders_stuck",
                 "exceptions_resolved", "errors")
        return {n: getattr(self, n) for n in names}

    def as_dict(self) -> dict:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        return out


Tracker = Callable[[Shipment, datetime], list]  # the carrier's updates for a shipment


@dataclass
class _Run:
    repos: Repositories
    store: ReconciliationRepository
    now: datetime
    cfg: rules.ReconcileConfig
    budget: Budget
    policy_for: PolicyFor
    report: RunReport
    tracker: Tracker | None
    # Called with (step, item key) for every item handled: tests and the benchmark watch coverage.
    observer: Callable[[str, str], None] | None = None
    since_checkpoint: int = 0


def reconcile(repos: Repositories, now: datetime, *, policy_for: PolicyFor, trigger: str = "schedule",
              budget: Budget | None = None, cfg: rules.ReconcileConfig | None = None, tracker: Tracker | None = None,
              run_id: str | None = None, observer: Callable[[str, str], None] | None = None) -> RunReport:
    cfg = cfg or config()
    budget = budget or Budget(cfg.budget.total_seconds())
    started = time.monotonic()
    report = RunReport(run_id=run_id or uuid.uuid4().hex, trigger=trigger, started_at=now)
    store = repos.reconciliation
    # The lease outlives the budget by a margin: a run that overruns a little keeps it.
    lease = timedelta(seconds=max(0.0, budget.deadline - time.monotonic())) + LEASE_MARGIN
    state = store.acquire(report.run_id, now, lease)
    if state is None:
        report.skipped = True
        logger.info("reconciliation skipped: another run holds the lease", extra={"run_id": report.run_id})
        return report
    run = _Run(repos, store, now, cfg, budget, policy_for, report, tracker, observer)
    step = state.step if state.step in STEPS else STEPS[0]
    cursor = state.cursor if state.step in STEPS else None
    if step != STEPS[0] or cursor:
        report.resumed_from = step
    try:
        index = STEPS.index(step)
        while True:
            name = STEPS[index]
            done, cursor = _STEP_FUNCTIONS[name](run, cursor)
            if not done:
                report.stopped_in = name
                break
            cursor = None
            if index == len(STEPS) - 1:
                report.pass_complete = True
                step = STEPS[0]
                break
            index += 1
            step = STEPS[index]
            if budget.exhausted:
                report.stopped_in = step  # nothing of it done yet; the next run starts it
                break
            store.checkpoint(report.run_id, step, None)
        if report.stopped_in:
            step = report.stopped_in
        report.seconds = round(time.monotonic() - started, 3)
        event = ReconciliationCompleted(
            occurred_at=now, run_id=report.run_id, trigger=trigger, started_at=now, pass_complete=report.pass_complete,
            resumed_from=report.resumed_from, stopped_in=report.stopped_in, **report.counts())
        try:
            repos.commit(store.release(report.run_id, step, cursor, report.pass_complete,
                                       {**report.counts(), "seconds": report.seconds}, now),
                         repos.events.publish(event))
        except Refused as refused:
            if refused.find(LeaseLostOutcome) is None:
                raise
            raise LeaseLost() from None
    except LeaseLost:
        # Our lease ran out and another run took it: that run owns the checkpoint now.
        report.lease_lost = True
        report.seconds = round(time.monotonic() - started, 3)
        logger.warning("reconciliation lost its lease and stopped", extra={"run_id": report.run_id})
    except Exception:
        # Not an item's problem (those are counted and skipped): the table or the code failed. The
        # invocation fails (the function's error alarm fires); the next run continues from the last
        # checkpoint without waiting for our lease to expire.
        store.abandon(report.run_id)
        raise
    return report


def _walk(run: _Run, step: str, start: dict | None, items: Iterator[tuple[object, object]],
          handle: Callable[[object], None], cursor_of: Callable[[object], dict]) -> tuple[bool, dict | None]:
    """Handle each (position, item) after `start` until the items or the budget run out. Returns
    (done, the cursor after the last item handled)."""
    last = start
    for position, item in items:
        if run.budget.exhausted:
            return False, last
        try:
            handle(item)
        except (OmsError, CommitFailed, LookupError, ValueError) as error:
            # One bad item must not block the pass for ever: count it, say why, go on.
            run.report.errors += 1
            if len(run.report.error_samples) < 5:
                run.report.error_samples.append(f"{step} {position}: {error}")
            logger.warning("reconciliation item failed", extra={"step": step, "item": str(position),
                                                               "error": str(error)})
        run.budget.spend()
        run.report.items += 1
        if run.observer:
            run.observer(step, str(position))
        last = cursor_of(position)
        run.since_checkpoint += 1
        if run.since_checkpoint >= CHECKPOINT_EVERY:
            run.store.checkpoint(run.report.run_id, step, last)
            run.since_checkpoint = 0
    return True, None


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# ------------------------------------------------------------------ 1. expiry


def _expire_holds(run: _Run, cursor: dict | None) -> tuple[bool, dict | None]:
    upto = _iso(run.now - run.cfg.unpaid_hold_after)  # the hold came after creation
    items = run.store.orders_in_status(OrderStatus.ON_HOLD.value, (cursor or {}).get("after"), upto)

    def handle(item: dict) -> None:
        order = run.repos.orders.get(item["pk"].removeprefix("ORDER#"))
        if order is not None and rules.unpaid_hold_expired(order, run.now, run.cfg.unpaid_hold_after):
            try:
                _cancel_unpaid(order, run)
            except CommitFailed:
                fresh = run.repos.orders.get(order.order_id)
                if fresh is not None and rules.unpaid_hold_expired(fresh, run.now, run.cfg.unpaid_hold_after):
                    raise  # still due: a real failure, tried again next run
                return  # released (or cancelled) by someone a moment earlier: theirs wins
            run.report.holds_expired += 1

    return _walk(run, "expire_holds", cursor, ((sk, item) for sk, item in items), handle, lambda sk: {"after": sk})


def _cancel_unpaid(order: Order, run: _Run) -> None:
    """Cancel a held order as read (a held order has no reservations): conditioned on its version,
    so an operator's release a moment earlier wins."""
    hours = int(run.cfg.unpaid_hold_after.total_seconds() // 3600)
    reason = f"payment not received within {hours} h (reconciliation)"
    expected = order.version
    order.backordered, order.cancel_reason = [], reason
    order.move_to(OrderStatus.CANCELLED, run.now, note=reason)
    order.version += 1
    event = OrderCancelled(occurred_at=run.now, order_id=order.order_id, channel=order.channel, reason=reason,
                           released=[])
    run.repos.commit(run.repos.orders.save(order, expected), run.repos.events.publish(event))


def _expire_pickups(run: _Run, cursor: dict | None) -> tuple[bool, dict | None]:
    from shared.services.order_actions import cancel_order

    upto = _iso(run.now - run.cfg.pickup_after)
    start_loc, after = (cursor or {}).get("loc"), (cursor or {}).get("after")
    locations = sorted(loc.location_id for loc in run.repos.locations.all() if loc.pickup_enabled)

    def items():
        for loc in locations:
            if start_loc is not None and loc < start_loc:
                continue
            for sk, item in run.store.ready_for_pickup(loc, after if loc == start_loc else None, upto):
                yield (loc, sk), item

    def handle(item: dict) -> None:
        fo = FulfillmentOrder.model_validate_json(item["doc"])
        fo = run.repos.fulfillment.get(fo.fulfillment_order_id) or fo
        if rules.pickup_abandoned(fo, run.now, run.cfg.pickup_after):
            limit = _duration_words(run.cfg.pickup_after)
            try:
                cancel_order(fo.order_id, RECONCILER, f"not collected within {limit} (reconciliation)", run.repos,
                             run.now)
            except Conflict:
                fresh = run.repos.fulfillment.get(fo.fulfillment_order_id)
                if fresh is None or not rules.pickup_abandoned(fresh, run.now, run.cfg.pickup_after):
                    return  # collected (or otherwise moved on) a moment earlier
                # Part of the order is already collected, so the order cannot be cancelled as a
                # whole: what to do with the rest (refund it, call the customer) is a person's call.
                _raise_uncollected(fresh, limit, run)
                return
            run.report.pickups_expired += 1

    return _walk(run, "expire_pickups", cursor, items(), handle, lambda pos: {"loc": pos[0], "after": pos[1]})


def _duration_words(limit: timedelta) -> str:
    hours = int(limit.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 24 else f"{hours} hours"


def _raise_uncollected(fo: FulfillmentOrder, limit: str, run: _Run) -> None:
    since = fo.history[-1].at if fo.history else fo.updated_at
    try:
        run.repos.commit(run.store.raise_exception(
            UNCOLLECTED, fo.fulfillment_order_id, since,
            {"order_id": fo.order_id, "status": fo.status.value,
             "reason": f"ready for pickup at {fo.location_id} for more than {limit}; other parts of the order "
                       "were already collected, so the order cannot be cancelled as a whole",
             "suggested_action": "contact the customer; if they will not come, cancel this fulfilment order's "
                                 "lines with the store and refund them"}, run.now))
        run.report.pickups_flagged += 1
    except Refused as refused:
        if not refused.only(AlreadyExists):
            raise  # not "already open"


# ------------------------------------------------------------------ 2. drift


def _drift(run: _Run, cursor: dict | None) -> tuple[bool, dict | None]:
    def handle(group: tuple[str, list[dict]]) -> None:
        sku, items = group
        levels = [i for i in items if i["sk"].startswith("LOC#")]
        seen: dict[str, int] = {}
        for i in items:
            if i["sk"].startswith("RES#") and int(i.get("quantity", 0)) == 0:
                _sweep_spent_reservation(i, run)
            if i["sk"].startswith("RES#"):
                loc = i.get("location_id") or i["sk"].split("#")[1]
                seen[loc] = seen.get(loc, 0) + max(0, int(i.get("quantity", 0)))
        for raw in levels:
            run.report.stock_items_checked += 1
            level = StockLevel.model_validate({k: v for k, v in raw.items() if k not in ("pk", "sk")})
            # The scan is a candidate filter only: its pages are not one snapshot. The recount decides.
            if rules.drift(level, seen.get(level.location_id, 0), run.now) is not None:
                if repair_level(sku, level.location_id, run.repos, run.store, run.now, run.report.run_id):
                    run.report.drift_repaired += 1

    items = ((key, (sku, group)) for key, sku, group in run.store.stock_partitions(cursor))
    return _walk(run, "drift", cursor, items, handle, lambda key: key)


def _sweep_spent_reservation(item: dict, run: _Run) -> None:
    """A reservation record shipped or released down to 0 units (those writes cannot delete it as
    they go) is deleted, so the partition stays the size of the live reservations, not of the
    SKU's history. Only while still 0: a reservation adding to it meanwhile keeps it."""
    try:
        run.repos.commit(run.repos.stock.drop_spent_reservation(item["sku"], item["location_id"], item["order_id"]))
        run.report.reservations_swept += 1
    except Refused:
        pass  # reserved again in between: a live record now


def repair_level(sku: str, location_id: str, repos: Repositories, store: ReconciliationRepository, now: datetime,
                 run_id: str) -> bool:
    """Recount one level from its reservation records and fix it if they disagree. True if fixed.

    Read the level (its version), then the records, then write conditioned on that version: a
    reservation or release commits the level and its record in one transaction and bumps the
    version, so one in between makes our write fail and we count again; one before is in both
    reads. `available` = on_hand - reserved - safety_stock from the same read."""
    for _ in range(DRIFT_ATTEMPTS):
        level = repos.stock.level(sku, location_id)
        if level is None:
            return False
        reserved = repos.stock.live_reservations(sku, location_id)
        repair = rules.drift(level, reserved, now)
        if repair is None:
            return False
        event = StockDriftRepaired(
            occurred_at=now, sku=sku, location_id=location_id, run_id=run_id, on_hand=level.on_hand,
            safety_stock=level.safety_stock, reserved_before=level.reserved, reserved_after=repair.after.reserved,
            available_before=level.available, available_after=repair.after.available)
        try:
            repos.commit(repos.stock.write_level(repair.after, expected_version=level.version),
                         store.audit(run_id, level, repair.after, now), repos.events.publish(event))
        except CommitFailed:
            continue  # the level moved under us: count again
        logger.warning("stock drift repaired", extra={"sku": sku, "location_id": location_id,
                                                      "reserved_before": level.reserved, "reserved_after": reserved})
        return True
    raise Contention(f"stock level {sku} at {location_id} kept moving while it was recounted")


# ------------------------------------------------------------------ 3. backorders


WAITING_STATUSES = (OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_ALLOCATED, OrderStatus.PARTIALLY_SHIPPED)


def _backorders(run: _Run, cursor: dict | None) -> tuple[bool, dict | None]:
    after = (cursor or {}).get("after")
    streams = [run.store.orders_in_status(s.value, after, waiting_only=True) for s in WAITING_STATUSES]
    merged = heapq.merge(*streams, key=lambda pair: pair[0])  # oldest first across the statuses
    available: dict[str, int] = {}
    location_ids = [loc.location_id for loc in run.repos.locations.all() if loc.active]

    def free(sku: str) -> int:
        if sku not in available:  # one batch read of the SKU at every location, once per run
            levels, _ = run.repos.stock.snapshot([sku], location_ids, run.now.date())
            available[sku] = sum(max(0, lv.available) for lv in levels.values())
        return available[sku]

    def handle(item: dict) -> None:
        run.report.backorders_examined += 1
        skus = list(item.get("waiting_skus") or [])
        if not any(free(s) > 0 for s in skus):
            return  # nothing of what it waits for is anywhere: do not even try
        result = allocate_order(item["pk"].removeprefix("ORDER#"), run.repos, run.policy_for, run.now)
        if result.outcome in (Outcome.ALLOCATED, Outcome.PARTIALLY_ALLOCATED):
            run.report.backorders_allocated += 1
            for s in skus:
                available.pop(s, None)  # read again for the next order

    return _walk(run, "backorders", cursor, merged, handle, lambda sk: {"after": sk})


# ------------------------------------------------------------------ 4. silent shipments


def carrier_tracker(shipment: Shipment, now: datetime) -> list:
    """Ask the carrier adapter for every known event of the parcel."""
    from shared.services.labels import label_adapter

    adapter = label_adapter()
    kwargs = {}
    accepted = inspect.signature(adapter.track).parameters
    if "labelled_at" in accepted:  # the sandbox carrier derives its events from the label's time
        kwargs["labelled_at"] = shipment.created_at
    if "now" in accepted:
        kwargs["now"] = now
    return adapter.track(shipment.tracking_code, shipment.carrier, **kwargs)


def _silent_shipments(run: _Run, cursor: dict | None) -> tuple[bool, dict | None]:
    statuses = (OrderStatus.PARTIALLY_SHIPPED.value, OrderStatus.SHIPPED.value)
    upto = _iso(run.now - run.cfg.silent_after)  # a shipment is younger than its order
    start_status, after = (cursor or {}).get("status"), (cursor or {}).get("after")

    def items():
        for status in statuses:
            if start_status is not None and statuses.index(status) < statuses.index(start_status):
                continue
            for sk, item in run.store.orders_in_status(status, after if status == start_status else None, upto):
                yield (status, sk), item

    def handle(item: dict) -> None:
        order = Order.model_validate_json(item["doc"])
        for shipment in run.store.shipments(order.shipment_ids):
            if rules.silent(shipment, run.now, run.cfg.silent_after):
                _chase(shipment, run)

    return _walk(run, "silent_shipments", cursor, items(), handle, lambda pos: {"status": pos[0], "after": pos[1]})


# A shipment flagged silent is asked about again at most this often, not on every run.
REPOLL_FLAGGED = timedelta(hours=6)


def _chase(shipment: Shipment, run: _Run) -> None:
    flagged = run.store.open_exception(SILENT, shipment.shipment_id)
    still_flagged = flagged and flagged.get("since") == rules.last_heard(shipment).isoformat()
    if still_flagged and run.now - datetime.fromisoformat(flagged.get("polled_at") or flagged["raised_at"]) \
            < REPOLL_FLAGGED:
        return  # flagged already and asked recently: a carrier call every 5 minutes tells us nothing new
    if still_flagged:
        run.store.mark_polled(flagged["sk"], run.now)
    problem = None
    if shipment.tracking_code:
        run.report.shipments_polled += 1
        try:
            updates = (run.tracker or carrier_tracker)(shipment, run.now)
            if updates:
                from shared.services.tracking import apply_update

                for update in updates:
                    apply_update(update, run.now, run.repos, run.now)
                shipment = run.store.shipments([shipment.shipment_id])[0]
        except Exception as error:  # noqa: BLE001 - a carrier outage must not stop the pass
            problem = f"the carrier did not answer: {error}"
    if not rules.silent(shipment, run.now, run.cfg.silent_after):
        return
    reason = rules.silent_reason(shipment, run.now, problem)
    try:
        run.repos.commit(run.store.raise_exception(
            SILENT, shipment.shipment_id, rules.last_heard(shipment),
            {"order_id": shipment.order_id, "status": shipment.status.value, "reason": reason,
             "suggested_action": rules.silent_action(shipment)}, run.now))
        run.report.shipments_flagged += 1
    except Refused as refused:
        if not refused.only(AlreadyExists):
            raise  # not "already flagged": a conflict to retry next run


# ------------------------------------------------------------------ 5. stuck orders


def _stuck_orders(run: _Run, cursor: dict | None) -> tuple[bool, dict | None]:
    statuses = [s for s in OrderStatus if s in run.cfg.sla]
    start_status, after = (cursor or {}).get("status"), (cursor or {}).get("after")
    if start_status is not None and start_status not in {s.value for s in statuses}:
        start_status, after = None, None  # its SLA was switched off since the checkpoint: start the step over

    def items():
        for status in statuses:
            if start_status is not None and statuses.index(status) < statuses.index(OrderStatus(start_status)):
                continue
            upto = _iso(run.now - run.cfg.sla[status])  # entered its status after its creation
            for sk, item in run.store.orders_in_status(status.value, after if status.value == start_status else None,
                                                       upto):
                yield (status.value, sk), item

    def handle(item: dict) -> None:
        if rules.stuck(Order.model_validate_json(item["doc"]), run.now, run.cfg.sla) is None:
            return
        order = run.repos.orders.get(item["pk"].removeprefix("ORDER#"))  # the index may lag: read it
        verdict = order and rules.stuck(order, run.now, run.cfg.sla)
        if not verdict:
            return
        raised = run.store.open_exception(STUCK, order.order_id)
        if raised and raised.get("since") == verdict.since.isoformat():
            return  # raised before for this stay in the status: once, and without a refused write each run
        event = OrderStuck(occurred_at=run.now, order_id=order.order_id, channel=order.channel,
                           status=order.status.value, since=verdict.since,
                           sla_minutes=int(verdict.sla.total_seconds() // 60), reason=verdict.reason,
                           suggested_action=verdict.suggested_action)
        try:
            run.repos.commit(
                run.store.raise_exception(
                    STUCK, order.order_id, verdict.since,
                    {"order_id": order.order_id, "channel": order.channel, "status": order.status.value,
                     "sla_minutes": event.sla_minutes, "reason": verdict.reason,
                     "suggested_action": verdict.suggested_action}, run.now),
                run.repos.events.publish(event))
            run.report.orders_stuck += 1
        except Refused as refused:
            if not refused.only(AlreadyExists):
                raise
            # Raised before for this stay in the status: once, not on every run.

    return _walk(run, "stuck_orders", cursor, items(), handle, lambda pos: {"status": pos[0], "after": pos[1]})


def _exceptions(run: _Run, cursor: dict | None) -> tuple[bool, dict | None]:
    """Close open exceptions whose cause is gone: the order left the status, the shipment spoke."""
    def handle(item: dict) -> None:
        if item["kind"] == UNCOLLECTED:
            fo = run.repos.fulfillment.get(item["subject"])
            gone = fo is None or not rules.pickup_abandoned(fo, run.now, run.cfg.pickup_after)
        elif item["kind"] == STUCK:
            order = run.repos.orders.get(item["subject"])
            gone = (order is None or order.status.value != item["status"]
                    or rules.state_since(order).isoformat() != item["since"]
                    or rules.stuck(order, run.now, run.cfg.sla) is None)
        else:
            found = run.store.shipments([item["subject"]])
            gone = not found or not rules.silent(found[0], run.now, run.cfg.silent_after) \
                or rules.last_heard(found[0]).isoformat() != item["since"]
        if gone and run.store.resolve_exception(item["sk"], item["since"]):
            run.report.exceptions_resolved += 1

    return _walk(run, "exceptions", cursor, run.store.exceptions((cursor or {}).get("after")), handle,
                 lambda sk: {"after": sk})


_STEP_FUNCTIONS = {
    "expire_holds": _expire_holds,
    "expire_pickups": _expire_pickups,
    "drift": _drift,
    "backorders": _backorders,
    "silent_shipments": _silent_shipments,
    "stuck_orders": _stuck_orders,
    "exceptions": _exceptions,
}


# ------------------------------------------------------------------ the operator's list


@dataclass(frozen=True)
class OpenException:
    kind: str
    subject: str
    order_id: str | None
    status: str | None
    reason: str
    suggested_action: str
    since: datetime
    raised_at: datetime
    age_minutes: int


def list_exceptions(repos: Repositories, now: datetime, limit: int, cursor: str | None
                    ) -> tuple[list[OpenException], str | None]:
    items, next_cursor = repos.reconciliation.exceptions_page(limit, cursor)
    found = []
    for item in items:
        since = datetime.fromisoformat(item["since"])
        found.append(OpenException(
            kind=item["kind"], subject=item["subject"], order_id=item.get("order_id"), status=item.get("status"),
            reason=item["reason"], suggested_action=item["suggested_action"], since=since,
            raised_at=datetime.fromisoformat(item["raised_at"]),
            age_minutes=int((now - since).total_seconds() // 60)))
    return found, next_cursor
