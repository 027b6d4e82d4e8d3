"""What-if routing replay: how fast past orders are replayed through two strategy sets.

    python -m bench.routing_replay [--orders 100000] [--locations 20] [--seed 17] [--emulator 10000]

Synthetic, seeded: `--locations` warehouses and stores across 8 European countries (each ships to its
own and 2-5 others, a third with a daily capacity), 400 SKUs, and `--orders` orders of 1-3 lines to
random addresses in those countries, 30% with a promised_by, each with the picture its first routing
saw (1-8 locations holding each SKU, today's counts at the capacity-limited ones) as allocation records it.

Figures (orders/s, on this machine, one core):
1. pure replay, both sides: the cases built in advance, each routed through the built-in default (the
   version that decided it) and through a candidate set that differs (a strategy for FR and ES orders
   ranking by emissions, a deny list for DE orders), and added up: the worker's inner loop;
2. the same with the candidate set equal to the live set (the second side is the first's plan: routed once);
3. from stored orders: Order documents parsed from JSON, the case rebuilt from the first routing record, both
   sides, added up (what a chunk does per order once the listing has read it), on a tenth of the orders;
4. with `--emulator N` (0: skip): N orders written to the emulator's table, then the whole simulation run by
   the worker's code (`run_chunk`) from the listing to the figures: the emulator's Query of gsi3 included.
Asserts nothing. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import emulated_repositories, quiet

COUNTRIES = {"DE": (47.3, 55.0, 6.0, 15.0), "FR": (43.0, 50.9, -1.5, 7.5), "ES": (36.5, 43.5, -8.5, 3.0),
             "IT": (38.0, 46.5, 7.0, 17.0), "NL": (51.0, 53.3, 3.6, 7.1), "PL": (49.5, 54.5, 14.5, 23.5),
             "AT": (46.5, 48.9, 9.6, 17.0), "BE": (49.6, 51.4, 2.6, 6.3)}
SKUS = [f"SKU-{i:04d}" for i in range(400)]
START = datetime(2026, 3, 1, tzinfo=UTC)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def locations(rng: random.Random, n: int) -> list:
    from shared.domain.locations import Location, LocationType

    found = []
    fields = Location.model_fields
    for i in range(n):
        country = rng.choice(list(COUNTRIES))
        lat0, lat1, lon0, lon1 = COUNTRIES[country]
        extra: dict = {}
        if "transit_days" in fields:  # the strategy engine's location fields, where they exist
            extra = {"cutoff_utc": "15:00", "transit_days": {"domestic": 1, "rest_of_world": rng.randint(2, 4)}}
        found.append(Location(
            location_id=f"LOC-{i:02d}", updated_at=START, name=f"Location {i}",
            type=LocationType.STORE if i % 4 == 3 else LocationType.WAREHOUSE, country=country,
            lat=round(rng.uniform(lat0, lat1), 4), lon=round(rng.uniform(lon0, lon1), 4),
            ships_to=sorted({country, *rng.sample(list(COUNTRIES), rng.randint(2, 5))}),
            priority=rng.randint(1, 10), handling_cost=Decimal(rng.randint(150, 450)) / 100,
            daily_order_capacity=rng.choice([200, 500, 1000]) if i % 3 == 0 else None, **extra))
    return found


def orders(rng: random.Random, n: int, locs: list):
    """`n` Orders with a first routing record, oldest first (a generator: 100,000 Orders do not fit
    comfortably in memory at once)."""
    from shared.domain.orders import Order, OrderRequest, RoutingRecord

    capped = [loc.location_id for loc in locs if loc.daily_order_capacity]
    ids = [loc.location_id for loc in locs]
    step = timedelta(days=30) / max(n, 1)
    for k in range(n):
        country = rng.choice(list(COUNTRIES))
        lat0, lat1, lon0, lon1 = COUNTRIES[country]
        lines = {sku: rng.randint(1, 3) for sku in rng.sample(SKUS, rng.choice([1, 1, 1, 2, 2, 3]))}
        created = START + step * k
        body = {
            "channel_order_id": f"CO-{k}", "customer": {"id": f"c{k}", "name": "A Buyer"},
            "shipping_address": {"line1": "1 Main St", "city": "Town", "country": country,
                                 "lat": round(rng.uniform(lat0, lat1), 4), "lon": round(rng.uniform(lon0, lon1), 4)},
            "lines": [{"sku": s, "quantity": q, "unit_price": "10.00"} for s, q in lines.items()],
            "currency": "EUR", "payment": {"status": "paid", "amount": str(10 * sum(lines.values())) + ".00"}}
        if rng.random() < 0.3:
            body["promised_by"] = (created + timedelta(days=rng.randint(1, 4))).isoformat()
        request = OrderRequest.model_validate(body)
        seen = {sku: {loc: rng.randint(1, 20) for loc in rng.sample(ids, rng.randint(1, 8))} for sku in lines}
        today = {loc: rng.randint(0, 250) for loc in capped}
        record = RoutingRecord(decided_at=created + timedelta(seconds=2), locations=[], reasons=[],
                               stock_seen=seen, orders_today=today)
        yield Order(order_id=f"o{k:024x}", channel="web", created_at=created, updated_at=created, request=request,
                    request_fingerprint="x", total=request.total, routing=[record])


def candidate_set() -> list:
    from shared.domain.routing_strategy import RoutingStrategy

    rank = [{"kind": "rank", "by": by} for by in ("fewest_parcels", "nearest", "priority", "lowest_handling_cost")]
    emissions = RoutingStrategy.model_validate({
        "strategy_id": "green-south", "version": 0, "name": "FR and ES by emissions", "rank": 1,
        "conditions": {"countries": ["FR", "ES"]}, "updated_at": START, "updated_by": "bench",
        "criteria": [{"kind": "rank", "by": "fewest_parcels"}, {"kind": "rank", "by": "lowest_emissions"},
                     {"kind": "rank", "by": "nearest"}]})
    deny = RoutingStrategy.model_validate({
        "strategy_id": "de-not-00", "version": 0, "name": "DE not from LOC-00", "rank": 2,
        "conditions": {"countries": ["DE"]}, "updated_at": START, "updated_by": "bench",
        "criteria": [{"kind": "deny_locations", "location_ids": ["LOC-00"]}, *rank]})
    return [emissions, deny]


def pure(args, locs) -> None:
    from shared.domain.routing_replay import Candidates, ReplayTally, case_of, replay
    from shared.domain.routing_strategy import DEFAULT_STRATEGY
    from shared.domain.shipping_profile import ShippingProfile

    profile, pool = ShippingProfile(), Candidates(locs)
    for label, cands in (("candidate differs", candidate_set()), ("candidate = live set", [])):
        rng = random.Random(args.seed)
        tally, elapsed, batch = ReplayTally(currency="EUR"), 0.0, []
        for n, order in enumerate(orders(rng, args.orders, locs), 1):
            batch.append(case_of(order, order.routing[0], DEFAULT_STRATEGY, True, False))
            if len(batch) == 10_000 or n == args.orders:
                t0 = time.perf_counter()
                for case in batch:
                    tally.add(replay(case, pool.seen_with(case.orders_today), cands, profile))
                elapsed += time.perf_counter() - t0
                batch = []
        print(f"pure replay, both sides ({label}): {tally.replayed} orders in {elapsed:.2f} s = "
              f"{tally.replayed / elapsed:,.0f} orders/s; changed {tally.changed}")


def from_documents(args, locs) -> None:
    from shared.domain.bounds import STORED
    from shared.domain.orders import Order
    from shared.domain.routing_replay import Candidates, ReplayTally, case_of, replay
    from shared.domain.routing_strategy import DEFAULT_STRATEGY
    from shared.domain.shipping_profile import ShippingProfile

    n = max(1, args.orders // 10)
    docs = [o.model_dump_json() for o in orders(random.Random(args.seed), n, locs)]
    profile, pool, cands, tally = ShippingProfile(), Candidates(locs), candidate_set(), ReplayTally(currency="EUR")
    t0 = time.perf_counter()
    for doc in docs:
        order = Order.model_validate_json(doc, context=STORED)
        record = order.routing[0]
        tally.add(replay(case_of(order, record, DEFAULT_STRATEGY, True, False), pool.seen_with(record.orders_today),
                         cands, profile))
    elapsed = time.perf_counter() - t0
    print(f"from stored documents (parse, rebuild, both sides): {n} orders in {elapsed:.2f} s = "
          f"{n / elapsed:,.0f} orders/s")


def emulator(args, locs) -> None:
    from shared.adapters.dynamo import DynamoStore, to_attrs
    from shared.adapters.orders_repo import OrderRepository
    from shared.domain.principal import Principal
    from shared.domain.routing_simulation import SimulationRequest
    from shared.services.routing_simulation import SimulationMessage, run_chunk, start_simulation

    with emulated_repositories() as repos:
        table = repos.store
        assert isinstance(table, DynamoStore)
        t0 = time.monotonic()
        items = [{"pk": "LOCATION", "sk": loc.location_id, "doc": loc.model_dump_json()} for loc in locs]
        items += [OrderRepository._item(o) for o in orders(random.Random(args.seed), args.emulator, locs)]
        for i in range(0, len(items), 25):
            request = {table.name: [{"PutRequest": {"Item": to_attrs(item)}} for item in items[i:i + 25]]}
            while request:
                request = table.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        _log(f"{args.emulator} orders written in {time.monotonic() - t0:.1f} s")
        body = {"strategies": [s.model_dump(mode="json", exclude={"version", "updated_at", "updated_by"})
                               for s in candidate_set()], "from": "2026-03-01", "to": "2026-03-31"}
        queue: list[str] = []
        now = START + timedelta(days=40)
        job = start_simulation(SimulationRequest.model_validate(body), Principal("operator"), repos, now,
                               send=queue.extend)
        t0 = time.monotonic()
        chunks = 0
        while queue:
            run_chunk(SimulationMessage.model_validate_json(queue.pop(0)), repos, now, send=queue.extend)
            chunks += 1
        elapsed = time.monotonic() - t0
        done = repos.simulations.get(job.simulation_id)
        read = done.state["read"] if done and done.state else 0
        print(f"emulator, listing to figures ({chunks} chunks): {read} orders in {elapsed:.1f} s = "
              f"{read / elapsed:,.0f} orders/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--emulator", type=int, default=10_000, help="orders through the emulator (0: skip)")
    args = parser.parse_args()
    quiet()
    locs = locations(random.Random(args.seed), args.locations)
    print(f"{args.orders} orders over {args.locations} locations, seed {args.seed}")
    pure(args, locs)
    from_documents(args, locs)
    if args.emulator:
        emulator(args, locs)


if __name__ == "__main__":
    main()
