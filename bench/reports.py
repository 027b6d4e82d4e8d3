"""Reports over 100,000 orders on the emulator: the 90-day report for every group by, from the aggregates.

    python -m bench.reports [--orders 100000] [--days 92] [--skus 200] [--consumer 300] [--seed 11]

1. Generates `--orders` orders over `--days` capture days (4 channels, 12 countries, 6 locations, `--skus`
   SKUs, EUR/USD/GBP, ~6% cancelled, ~2% rejected, ~8% backordered first, ~10% split, ~5% with a
   return, most delivered), computes each one's contribution with the consumer's own code
   (shared/domain/analytics.py) and batch-loads the contributions and the summed aggregates into the
   emulator's table with the repository's own writes (BatchWriteItem: the seeding is not what is measured).
2. Takes `--consumer` of those orders through their lives (stored state by state: allocated, shipped,
   delivered, returned) with the consumer's use case (shared/services/analytics.py) run after each
   state in batches of 100, into a scratch generation: DynamoDB requests, read and write units and USD
   per order.
3. Times the 90-day report of every kind and group by (shared/services/reports.py, as reports-api
   calls it), each three times: the median, the rows and the aggregate items read.

Prints figures only; asserts nothing. Moto serves one request at a time (~2-4 ms each): DynamoDB
answers a day's query in single-digit milliseconds and the service reads eight days at once.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bench.common import CallCounter, emulated_repositories, quiet, table

START = date(2026, 1, 1)
CHANNELS = ("web", "app", "pos", "marketplace")
COUNTRIES = ("DE", "FR", "ES", "IT", "NL", "AT", "BE", "PL", "US", "CA", "GB", "IE")
LOCATIONS = ("WH-DE-BER", "WH-ES-MAD", "STORE-FR-PAR", "WH-US-NJ", "WH-UK-LON", "WH-PL-WAW")
CURRENCY = {"US": "USD", "CA": "USD", "GB": "GBP"}
REASONS = ("damaged", "size_or_fit", "changed_mind", "defective")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def orders(rng: random.Random, n: int, days: int, skus: int):
    """(order, returns) pairs as the use cases would have stored them."""
    from shared.domain.orders import Allocation, BackorderedLine, Order, OrderRequest, StatusChange
    from shared.domain.orders import OrderStatus as S
    from shared.domain.returns import RefundMethod, RefundState, Return, ReturnLine, ReturnPolicy, ReturnRefund
    from shared.domain.returns import ReturnStatus as R

    catalogue = [f"SKU-{i:04d}" for i in range(skus)]
    for i in range(n):
        day = START + timedelta(days=rng.randrange(days))
        created = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(86_400))
        country = rng.choice(COUNTRIES)
        currency = CURRENCY.get(country, "EUR")
        picked = rng.sample(catalogue, k=rng.choice((1, 1, 1, 2, 3)))
        lines = [(sku, rng.choice((1, 1, 2, 3)), f"{rng.randrange(5, 120)}.{rng.choice(('00', '50', '99'))}")
                 for sku in picked]
        total = sum(Decimal(p) * q for _, q, p in lines)
        req = OrderRequest.model_validate({
            "channel_order_id": f"B-{i}", "customer": {"id": f"c-{rng.randrange(n // 2)}", "name": "B"},
            "shipping_address": {"line1": "x", "city": "y", "country": country}, "currency": currency,
            "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
            "payment": {"status": "paid", "amount": str(total)},
            "promised_by": (created + timedelta(days=3)).isoformat()})
        home = rng.sample(LOCATIONS, k=2)
        fate = rng.random()
        history, allocations, shipments, backordered = [], [], [], []
        if fate < 0.02:
            history = [(S.ON_HOLD, 0.1), (S.REJECTED, 5)]
        else:
            split = rng.random() < 0.10 and len(lines) > 1
            waiting = rng.random() < 0.08
            for k, (sku, q, _) in enumerate(lines):
                allocations.append(Allocation(location_id=home[k % 2 if split else 0], sku=sku, quantity=q))
            history = [(S.BACKORDERED, 0.05), (S.ALLOCATED, rng.uniform(2, 72))] if waiting \
                else [(S.ALLOCATED, rng.uniform(0.001, 0.5))]
            if fate < 0.08:
                history.append((S.CANCELLED, history[-1][1] + 1))
                allocations = []
            else:
                shipped = history[-1][1] + rng.uniform(2, 60)
                shipments = ["S1", "S2"] if split else ["S1"]
                history += [(S.SHIPPED, shipped), (S.DELIVERED, shipped + rng.uniform(12, 120))]
            if waiting and fate < 0.08:
                backordered = [BackorderedLine(sku=lines[0][0], quantity=lines[0][1])]
        status = history[-1][0]
        order = Order(order_id=f"o{int(created.timestamp() * 1000):012x}{i:012x}", channel=rng.choice(CHANNELS),
                      created_at=created, updated_at=created, request=req, request_fingerprint="b",
                      total=req.total, status=status, allocations=allocations, backordered=backordered,
                      history=[StatusChange(status=s, at=created + timedelta(hours=h)) for s, h in history],
                      shipment_ids=shipments, version=len(history))
        returns = []
        if status == S.DELIVERED and rng.random() < 0.05:
            sku, q, price = lines[0]
            at = created + timedelta(days=7)
            refunds = [] if rng.random() < 0.3 else [ReturnRefund(
                refund_id="R1", method=RefundMethod.ORIGINAL_PAYMENT, lines={0: 1}, amount=Decimal(price),
                currency=currency, state=RefundState.DONE, created_at=at, done_at=at)]
            returns = [Return(rma_id=f"RMA-{i}", request_id="r", request_fingerprint="f", order_id=order.order_id,
                              channel=order.channel, customer_id="c", status=R.REFUNDED if refunds else R.APPROVED,
                              reason=rng.choice(REASONS), merchant_pays_shipping=False, policy=ReturnPolicy(),
                              lines=[ReturnLine(line=0, sku=sku, quantity=1)], value=Decimal(price), currency=currency,
                              refunds=refunds, created_at=at, updated_at=at)]
        yield order, returns


def batch_write(store, items: list[dict]) -> None:
    from shared.adapters.dynamo import to_attrs

    for i in range(0, len(items), 25):
        request = {store.name: [{"PutRequest": {"Item": to_attrs(item)}} for item in items[i:i + 25]]}
        while request:
            request = store.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def seed(repos, rng: random.Random, args) -> None:
    """Contributions and aggregates of generation 1 for `args.orders` orders."""
    from shared.domain.analytics import contribution
    from shared.services.analytics_rebuild import Built

    t0 = time.monotonic()
    built, items = Built(), []
    for order, returns in orders(rng, args.orders, args.days, args.skus):
        c = contribution(order, returns)
        built.add(c)
        items.append(repos.analytics.record(1, c, None).item)
    _log(f"{args.orders} orders generated and contributed in {time.monotonic() - t0:.1f} s")
    items += [repos.analytics.put_aggregate(1, dim, day, value, {k: v for k, v in m.items() if v}).item
              for (day, dim, value), m in built.aggregates.items() if any(m.values())]
    t0 = time.monotonic()
    batch_write(repos.store, items)
    _log(f"{len(items)} items ({len(built.aggregates)} aggregates) loaded in {time.monotonic() - t0:.1f} s")
    print(f"seeded: {args.orders} orders over {args.days} days, {len(built.aggregates)} aggregates "
          f"+ {args.orders} order contributions")


def consumer(repos, sample: list, label: str) -> None:
    """The consumer over the sample's lives: each order stored state by state (history grows: allocated,
    shipped, delivered; then its returns), and after each state the consumer's use case runs over the
    orders in batches of 100, as the queue would hand them over. DynamoDB requests and capacity units
    (bench/capacity.py's rules) are counted for the consumer's calls only."""
    from bench.capacity import CapacityMeter, TableShape
    from bench.prices import USD
    from shared.adapters.aws import client
    from shared.adapters.orders_repo import OrderRepository
    from shared.adapters.returns_repo import ReturnRepository
    from shared.services import analytics

    meter, ddb, calls = CapacityMeter(TableShape.from_wiring()), client("dynamodb"), [0]
    original, active = ddb._make_api_call, [False]

    def measured(operation, params):
        if not active[0]:
            return original(operation, params)
        calls[0] += 1
        return meter.measure("consumer", operation, params, original)

    ddb._make_api_call = measured
    steps = max(len(o.history) for o, _ in sample) + 1
    elapsed, batches, events = 0.0, 0, 0
    for step in range(1, steps + 1):
        items, named, ids = [], {}, []
        for order, returns in sample:
            if step <= len(order.history):
                state = order.model_copy(update={"history": order.history[:step], "version": step,
                                                 "status": order.history[step - 1].status})
                items.append(OrderRepository._item(state))
                ids.append(order.order_id)
                events += 2 if step == 1 else 1  # received and allocated (or held) come in one window
            elif step == len(order.history) + 1 and returns:
                for ret in returns:
                    items += [ReturnRepository._item(ret), {"pk": f"ORDER#{ret.order_id}", "sk": "RETURNS",
                                                            "rma_ids": [ret.rma_id], "version": 0}]
                    named.setdefault(order.order_id, set()).add(ret.rma_id)
                ids.append(order.order_id)
                events += 1 + len(returns[0].refunds)  # requested (+ refund issued)
        batch_write(repos.store, items)
        active[0], t0 = True, time.monotonic()
        for i in range(0, len(ids), 100):
            chunk = ids[i:i + 100]
            analytics.refresh(chunk, repos, {k: named[k] for k in chunk if k in named}, generation=99)
            batches += 1
        active[0] = False
        elapsed += time.monotonic() - t0
    ddb._make_api_call = original
    n = len(sample)
    units = {kind: u / n for (_, kind), u in meter.units.items()}
    reads, writes = units.get("read", 0.0), units.get("write", 0.0) + units.get("index write", 0.0)
    sqs = events * (1 + 2 / 10) / n  # each event delivered to the queue, received and deleted 10 at a time
    usd = {"DynamoDB reads": reads * USD["dynamodb read unit"], "DynamoDB writes": writes * USD["dynamodb write unit"],
           "SQS": sqs * USD["sqs request"], "Lambda requests": batches / n * USD["lambda request"]}
    print(f"consumer, {n} orders {label} ({events / n:.2f} events an order, {batches} batches of up to 100): "
          f"{elapsed:.1f} s on the emulator, {calls[0] / n:.3f} DynamoDB requests per order, "
          f"{reads:.2f} read units and {writes:.2f} write units per order")
    print("  USD per 1,000 orders: " + ", ".join(f"{k} {v * 1000:.5f}" for k, v in usd.items())
          + f"; total {sum(usd.values()) * 1000:.5f} (Lambda time aside; prices: bench/prices.py)")


def reports_timed(repos, args, counter: CallCounter) -> None:
    from shared.domain.principal import Principal
    from shared.domain.reports import ALLOWED
    from shared.services import reports

    to_day = START + timedelta(days=args.days - 1)
    from_day = to_day - timedelta(days=89)
    rows = []
    for kind, groups in ALLOWED.items():
        for group_by in groups:
            times, answer, calls = [], {}, 0
            for _ in range(3):
                before, t0 = counter.total(), time.monotonic()
                answer = reports.report(reports.ReportQuery(kind, from_day, to_day, group_by), Principal("operator"),
                                        repos, "USD")
                times.append(time.monotonic() - t0)
                calls = counter.total() - before
            rows.append((kind.value, group_by.value, answer["row_count"], calls, statistics.median(times)))
            _log(f"{kind.value} by {group_by.value}: {statistics.median(times):.2f} s")
    print(f"\n90-day reports ({from_day} to {to_day}), median of 3, on the emulator:")
    print(table(rows, ["report", "group_by", "rows", "DynamoDB requests", "seconds"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=92)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--consumer", type=int, default=300, help="orders run through the consumer (0: skip)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    quiet()
    from shared.adapters.aws import client

    with emulated_repositories(quiet_logs=False) as repos:
        counter = CallCounter()
        counter.hook(client("dynamodb"))
        seed(repos, random.Random(args.seed), args)
        if args.consumer:
            # A batch shares aggregates when its orders share a day, channel, country, location or SKU:
            # orders captured on one day (a busy shop, or the cost run's orders in flight) share most;
            # orders spread over the whole range (a quiet shop: one order a batch) share nothing.
            rng = random.Random(args.seed + 1)
            consumer(repos, list(orders(rng, args.consumer, 1, args.skus)), "captured on one day")
            consumer(repos, list(orders(rng, args.consumer, args.days, args.skus)),
                     f"spread over {args.days} days")
        reports_timed(repos, args, counter)


if __name__ == "__main__":
    main()
