"""A flash sale of one SKU, simulated: DynamoDB's per-item throughput limit driving the real allocation.

Every order runs the real `allocate_order` (routing, the bucket draw, its retry and re-plan) on the
in-memory store; only time is simulated. A discrete-event scheduler lets one order's code run at a
time and advances a virtual clock whenever that code waits: on a read, on a transaction, on the
allocator's own back-off sleep. The store stands in for DynamoDB's limits:

- each item accepts at most ITEM_WCU_PER_S (1,000) write units a second: a transactional write of an
  item of up to 1 KB costs 2 units, so it holds the item for 2 ms;
- a transaction that reaches an item still held by another one is cancelled (TransactionConflict,
  `Contention`: the allocator re-reads, re-plans and retries), and so is a refused condition
  (`Refused`), after the round trip;
- an order whose attempts all fail (`Busy`) goes back to its queue and is tried again when its
  message becomes visible (the allocation queue's visibility timeout).

Orders arrive at --rate a second (Poisson), one SKU at one location, 1 or 2 units each, until
--orders arrived; the stock is --units. Printed per bucket count: accepted (allocated) orders a
second until sell-out, latency from arrival to outcome (p50, p99), transactions and conflicts per
order, oversell (units reserved beyond the stock: 0) and stranded units at sell-out (units left
available while an order they could fill waits: 0). It prints; it asserts nothing.

    python -m bench.hot_sku_sim [--orders 3000] [--units 1200] [--rate 5000] [--buckets 1,4,16,64,auto]

"auto" starts from one level item with automatic promotion on: the allocator splits it into buckets
once one order meets it taken HOT_CONFLICTS times (shared/services/hot_stock.py); the fixed counts
run with promotion off.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import sys
import threading
import time as wall
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bench.common import percentile

ITEM_WCU_PER_S = 1000  # one DynamoDB item (one partition's share for it), per second
READ_S = 0.003  # a GetItem/BatchGetItem/Query round trip
WRITE_RTT_S = 0.010  # a TransactWriteItems round trip (the item is held only for its write units)
REDELIVERY_S = 90.0  # the allocation queue's visibility timeout (infra/wiring_shapes.py default)


class Scheduler:
    """One actor (thread) runs at a time; the others wait for their virtual wake-up time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, object]] = []
        self._seq = itertools.count()
        self._back = threading.Semaphore(0)

    def at(self, t: float, start: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), start))

    def wait(self, seconds: float) -> None:
        """From an actor: sleep `seconds` of virtual time, handing the baton back meanwhile."""
        wake = threading.Semaphore(0)
        heapq.heappush(self._heap, (self.now + seconds, next(self._seq), wake))
        self._back.release()
        wake.acquire()

    def _spawn(self, body: Callable[[], None]) -> None:
        def run() -> None:
            try:
                body()
            finally:
                self._back.release()
        threading.Thread(target=run, daemon=True).start()
        self._back.acquire()

    def run(self) -> None:
        while self._heap:
            t, _, what = heapq.heappop(self._heap)
            self.now = t
            if isinstance(what, threading.Semaphore):
                what.release()
                self._back.acquire()
            else:
                self._spawn(what)  # type: ignore[arg-type]


@dataclass
class ItemModel:
    """DynamoDB's per-item limit over a MemoryStore: reads and writes cost virtual time."""

    store: object
    clock: Scheduler
    held_until: dict[tuple[str, str], float] = field(default_factory=dict)
    transactions: int = 0
    conflicts: int = 0
    refused: int = 0
    conflicted_on: Counter = field(default_factory=Counter)  # by the kind of item (its sort key's prefix)

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def get(self, *args, **kwargs):
        self.clock.wait(READ_S)
        return self.store.get(*args, **kwargs)  # type: ignore[attr-defined]

    def batch_get(self, *args, **kwargs):
        self.clock.wait(READ_S)
        return self.store.batch_get(*args, **kwargs)  # type: ignore[attr-defined]

    def query_all(self, *args, **kwargs):
        self.clock.wait(READ_S)
        return list(self.store.query_all(*args, **kwargs))  # type: ignore[attr-defined]

    def query(self, *args, **kwargs):
        self.clock.wait(READ_S)
        return self.store.query(*args, **kwargs)  # type: ignore[attr-defined]

    def transact(self, writes) -> None:
        from shared.adapters.memory import item_size
        from shared.unit_of_work import CommitFailed, Contention

        self.clock.wait(WRITE_RTT_S / 2)  # on its way
        arrived = self.clock.now
        self.transactions += 1
        keys = [w.key for w in writes]
        busy = [k for k in keys if self.held_until.get(k, 0.0) > arrived]
        if busy:
            self.conflicts += 1
            self.conflicted_on.update(k[1].split("#", 1)[0] for k in busy)
            self.clock.wait(WRITE_RTT_S / 2)
            raise Contention("TransactionConflict", [w for w in writes if w.key in busy])
        for w in writes:
            old = self.store.items.get(w.key)  # type: ignore[attr-defined]
            size = item_size(old) if old else 0
            if getattr(w, "item", None):
                size = max(size, item_size(w.item))
            units = 2 * max(1, math.ceil(size / 1024))
            self.held_until[w.key] = arrived + units / ITEM_WCU_PER_S
        failed: CommitFailed | None = None
        try:
            self.store.transact(writes)  # type: ignore[attr-defined]
        except CommitFailed as refused:
            self.refused += 1
            failed = refused
        self.clock.wait(WRITE_RTT_S / 2)
        if failed is not None:
            raise failed


@dataclass
class Result:
    buckets: int | str
    buckets_at_end: int = 1
    promoted_at: float | None = None  # virtual seconds into the sale ("auto")
    allocated: int = 0
    backordered: int = 0
    redelivered: int = 0
    sold_out_at: float = 0.0
    first_second: int = 0  # orders allocated within the first second of the sale
    latencies: list[float] = field(default_factory=list)
    transactions: int = 0
    conflicts: int = 0
    refused: int = 0
    oversell: int = 0
    stranded: int = 0
    wall_s: float = 0.0
    conflicted_on: Counter = field(default_factory=Counter)


def simulate(buckets: int | str, orders: int, units: int, rate: float, seed: int) -> Result:
    """`buckets`: a fixed count (automatic promotion off), or "auto": one level item that the allocator
    splits by itself once orders keep meeting it taken (shared/services/hot_stock.py)."""
    from shared.domain import stock_buckets
    from shared.domain.orders import OrderStatus
    from shared.domain.stock import SetStockRequest
    from shared.errors import Busy
    from shared.repositories import Repositories, in_memory
    from shared.services import allocation
    from shared.services.allocation import Outcome, allocate_order
    from shared.services.inventory import set_stock
    from tests.factories import NOW, capture, location_request
    from tests.factories import seed as seed_locations
    from tests.service.flows import policy

    random.seed(seed)  # the allocator's jitter and the bucket draw's random start
    rng = random.Random(seed)
    repos = in_memory()
    seed_locations(repos, {"BER": location_request("DE", ships_to=["DE", "FR"])}, {})
    fixed = buckets if isinstance(buckets, int) and buckets > 1 else None
    set_stock("FLASH", "BER", SetStockRequest(on_hand=units, buckets=fixed), repos, NOW)
    threshold = stock_buckets.HOT_CONFLICTS
    if buckets != "auto":
        stock_buckets.HOT_CONFLICTS = sys.maxsize  # a fixed count: never promoted
    wanted = [rng.choice((1, 1, 1, 2)) for _ in range(orders)]
    ids = [capture(repos, ("FLASH", q), coid=f"F{n}").order_id for n, q in enumerate(wanted)]

    clock = Scheduler()
    model = ItemModel(repos.store, clock)
    seeded, repos = repos, Repositories.on(model)
    allocation.time = _VirtualTime(clock)  # type: ignore[assignment]
    result = Result(buckets)
    outcome_at: dict[str, float] = {}

    def order(order_id: str, arrived: float) -> Callable[[], None]:
        def body() -> None:
            now = NOW + timedelta(seconds=clock.now)
            try:
                done = allocate_order(order_id, repos, policy, now).outcome
            except Busy:
                result.redelivered += 1
                clock.at(clock.now + REDELIVERY_S, order(order_id, arrived))
                return
            if done in (Outcome.ALLOCATED, Outcome.BACKORDERED):
                result.latencies.append(clock.now - arrived)
                outcome_at[order_id] = clock.now
        return body

    t = 0.0
    for order_id in ids:
        t += rng.expovariate(rate)
        clock.at(t, order(order_id, t))
    started = wall.perf_counter()
    try:
        clock.run()
    finally:
        allocation.time = wall
        stock_buckets.HOT_CONFLICTS = threshold
    result.wall_s = wall.perf_counter() - started

    repos = seeded
    level = repos.stock.level("FLASH", "BER")
    reserved = 0
    waiting: list[int] = []
    for order_id, q in zip(ids, wanted, strict=True):
        stored = repos.orders.get(order_id)
        assert stored is not None
        if stored.status == OrderStatus.ALLOCATED:
            result.allocated += 1
            reserved += q
            result.sold_out_at = max(result.sold_out_at, outcome_at.get(order_id, 0.0))
            result.first_second += outcome_at.get(order_id, 2.0) <= 1.0
        elif stored.status == OrderStatus.BACKORDERED:
            result.backordered += 1
            waiting.append(q)
    assert level is not None
    result.buckets_at_end = level.buckets or 1
    result.promoted_at = _promoted_at(repos)
    result.oversell = max(0, reserved - units) + max(0, -min([level.available, *level.bucket_available]))
    # Units left while an order they could fill waits: what the sale stranded.
    result.stranded = level.available if waiting and min(waiting) <= level.available else 0
    result.transactions, result.conflicts, result.refused = model.transactions, model.conflicts, model.refused
    result.conflicted_on = model.conflicted_on
    return result


def _promoted_at(repos) -> float | None:
    """When the allocator split the level ("auto"), from its StockChanged in the outbox."""
    import json
    from datetime import datetime

    from shared.outbox_format import OUTBOX_PREFIX, outbox_entries
    from shared.services.hot_stock import PROMOTED
    from tests.factories import NOW

    for detail in (json.loads(e.detail) for i in repos.store.with_prefix(OUTBOX_PREFIX) for e in outbox_entries(i)):
        if detail.get("cause") == PROMOTED:
            return (datetime.fromisoformat(detail["occurred_at"]) - NOW).total_seconds()
    return None


class _VirtualTime:
    """What allocation's `time` module is during a run: its back-off sleeps are virtual."""

    def __init__(self, clock: Scheduler):
        self.sleep = clock.wait


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--units", type=int, default=1200)
    parser.add_argument("--rate", type=float, default=5000.0, help="orders arriving a second")
    parser.add_argument("--buckets", default="1,4,16,64,auto",
                        help="bucket counts to compare; auto: one item, split by the allocator when hot")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    threading.stack_size(256 * 1024)  # one thread per order in flight
    print(f"flash sale: {args.orders} orders of 1-2 units at {args.rate:.0f}/s for {args.units} units of one SKU "
          f"at one location; item limit {ITEM_WCU_PER_S} WCU/s, reads {READ_S * 1000:.0f} ms, "
          f"transactions {WRITE_RTT_S * 1000:.0f} ms round trip, redelivery after {REDELIVERY_S:.0f} s")
    header = ("buckets", "accepted/s", "in 1st s", "allocated", "backordered", "p50 ms", "p99 ms", "tx/order",
              "conflicts/order", "refused/order", "redelivered", "oversell", "stranded", "wall s")
    rows = []
    for n in (b if b == "auto" else int(b) for b in args.buckets.split(",")):
        print(f"  {n} bucket(s)...", file=sys.stderr, flush=True)
        r = simulate(n, args.orders, args.units, args.rate, args.seed)
        print(f"  {n} bucket(s): conflicts on {dict(r.conflicted_on.most_common())}"
              + (f"; split into {r.buckets_at_end} at {r.promoted_at * 1000:.0f} ms" if r.promoted_at is not None else ""),
              file=sys.stderr, flush=True)
        per = max(1, args.orders)
        rows.append((n if n != "auto" else f"auto (1->{r.buckets_at_end})", f"{r.allocated / r.sold_out_at:.0f}" if r.sold_out_at else "-", r.first_second,
                     r.allocated, r.backordered,
                     f"{percentile(r.latencies, 50) * 1000:.0f}", f"{percentile(r.latencies, 99) * 1000:.0f}",
                     f"{r.transactions / per:.2f}", f"{r.conflicts / per:.2f}", f"{r.refused / per:.2f}",
                     r.redelivered, r.oversell, r.stranded, f"{r.wall_s:.0f}"))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(" | ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print(" | ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)))
    print("accepted/s: allocated orders / virtual time of the last allocation (the sell-out); in 1st s: orders "
          "allocated in the sale's first second; latency: arrival to allocated or backordered (redelivered orders "
          "count from their first arrival)")


if __name__ == "__main__":
    main()
