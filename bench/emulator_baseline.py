"""What the local emulator itself sustains: bare conditional DynamoDB transactions per second.

Every request into moto goes through one lock (local/emulator.py), so this rate is the ceiling
any local flow built on transactions can approach. Order capture is one such transaction plus
HTTP, validation and our code, and the guide asks it to reach at least half of this rate.

    python -m bench.emulator_baseline [--transactions 1000] [--concurrency 8] [--prefill 0]

The rate falls as the table grows (see `measure`): 1000 transactions from an empty table take
about 45 s on a 2-core box, 2000 about 3 minutes.
"""

from __future__ import annotations

import argparse
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.common import emulator_client, quiet

TARGET_RATIO = 0.5
TARGET_LINE = "local capture throughput must be >= 0.5x the emulator's bare conditional transaction rate"
COUNTERS = 16  # the updated items: a few hot counters, as stock levels are for capture


def measure(transactions: int = 1000, concurrency: int = 8, prefill: int = 0) -> float:
    """Transactions per second: each one conditional Put of a new item and one conditional ADD.

    moto deep-copies every table a transaction names, once per action, before applying it (its
    rollback), so a transaction costs time proportional to the table's size: `prefill` items are
    written first (BatchWriteItem, no copy) to measure at the size another run had."""
    from local.emulator import start_moto

    server, url = start_moto()
    try:
        ddb = emulator_client("dynamodb", url, pool=concurrency)
        name = f"bench-baseline-{uuid.uuid4().hex[:8]}"  # moto's backends are per process, shared by runs
        ddb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
        )

        for start in range(0, prefill, 25):
            ddb.batch_write_item(RequestItems={name: [
                {"PutRequest": {"Item": {"pk": {"S": f"FILL#{i}"}, "sk": {"S": "A"}}}}
                for i in range(start, min(prefill, start + 25))]})

        def transact(i: int) -> None:
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": f"ITEM#{i}"}, "sk": {"S": "A"}},
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Update": {"TableName": name, "Key": {"pk": {"S": f"COUNTER#{i % COUNTERS}"}, "sk": {"S": "C"}},
                            "UpdateExpression": "ADD n :one",
                            "ConditionExpression": "attribute_not_exists(n) OR n < :max",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": "1000000000"}}}},
            ])

        # Warm-up outside the clock: connection pool, moto's first-request imports, the counters.
        for i in range(-COUNTERS, 0):
            transact(i)
        began = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(transact, range(transactions)))
        elapsed = time.perf_counter() - began
        ddb.delete_table(TableName=name)
        return transactions / elapsed
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1000, help="timed transactions (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--prefill", type=int, default=0, help="items in the table before timing (default 0)")
    args = parser.parse_args()
    quiet()
    rate = measure(args.transactions, args.concurrency, args.prefill)
    print(f"emulator bare conditional transactions: {rate:.1f} tx/s ({args.transactions} TransactWriteItems "
          f"of Put+Update, {args.concurrency} threads, table from {args.prefill} items)")
    print(f"target: {TARGET_LINE}: capture needs >= {TARGET_RATIO * rate:.1f} orders/s on this box")


if __name__ == "__main__":
    main()
