"""AWS requests each channel intake path adds per order, through the local runtime: the same order
captured as canonical JSON (`POST /orders`), as a signed Shopify `orders/create` webhook, and as a
signed WooCommerce `order.created` webhook, each up to ALLOCATED; plus what the stock feed adds for
a channel that has it on (the demo Shopify channel does).

    python -m bench.channel_intake [--orders 30] [--concurrency 10]

Every AWS API call inside a Lambda handler is counted per function (as bench.order_lifecycle does);
the runtime's own polling of queues and the stream is counted apart. Prints figures only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import quiet, table
from bench.order_lifecycle import POLL_HEADER, Counting, wait

ROOT = Path(__file__).resolve().parents[1]
SHOPIFY_SAMPLE = ROOT / "docs" / "samples" / "shopify-orders-create.json"
WOO_SAMPLE = ROOT / "tests" / "unit" / "channel_payloads" / "woocommerce" / "order_created.json"


def signed(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def run(orders: int, concurrency: int) -> dict[str, dict]:
    import requests

    from local.emulator import DEMO_CHANNEL_SECRETS
    from local.runtime import LocalOms
    from tests.factories import order_body

    print("... starting the local OMS", file=sys.stderr, flush=True)
    oms = LocalOms(port=0, concurrency=2, retry_delay_s=1).start()
    counting = Counting(oms.functions)
    operator, poll = requests.Session(), requests.Session()
    operator.headers["x-api-key"] = oms.key("operator")
    poll.headers.update({"x-api-key": oms.key("operator"), POLL_HEADER: "1"})
    for loc in ("WH-DE-BER", "WH-ES-MAD", "WH-US-NJ"):
        for sku in ("TEE-BLK-M", "HOODIE-WHT-L"):
            operator.put(f"{oms.url}/inventory/{sku}/{loc}", json={"on_hand": 100_000}).raise_for_status()
    # Woo's sample: its SKUs mapped to ours, so its orders are allocated like the others.
    woo = operator.get(f"{oms.url}/channels/woo-demo").json()["settings"]
    woo["sku_mapping"] = {"WOO-SINGLE-1": "TEE-BLK-M", "SHIP-IDEA-BLK-M": "HOODIE-WHT-L"}
    operator.put(f"{oms.url}/channels/woo-demo", json=woo).raise_for_status()
    run_id = int(uuid.uuid4().int % 10**9)
    shopify_body, woo_body = SHOPIFY_SAMPLE.read_bytes(), WOO_SAMPLE.read_bytes()

    def canonical(n: int) -> str:
        body = order_body([("TEE-BLK-M", 1)], channel_order_id=f"CAN-{run_id}-{n}")
        return requests.post(f"{oms.url}/orders", json=body, headers={"x-api-key": oms.key("web")}).json()["order_id"]

    def shopify(n: int) -> str:
        body = shopify_body.replace(b"5731202056322", str(9_000_000_000_000 + run_id * 1000 + n).encode())
        return requests.post(f"{oms.url}/webhooks/channels/shopify/shopify-demo", data=body, headers={
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": f"bench-{run_id}-{n}", "X-Shopify-Shop-Domain": "oms-demo.myshopify.com",
            "X-Shopify-Hmac-Sha256": signed(DEMO_CHANNEL_SECRETS["shopify-demo"]["webhook_secret"], body)},
        ).json()["order_id"]

    def woocommerce(n: int) -> str:
        document = json.loads(woo_body)
        document["id"] = 800_000_000 + run_id % 10**6 * 100 + n
        body = json.dumps(document).encode()
        return requests.post(f"{oms.url}/webhooks/channels/woocommerce/woo-demo", data=body, headers={
            "Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Delivery-ID": f"bench-{run_id}-{n}",
            "X-WC-Webhook-Signature": signed(DEMO_CHANNEL_SECRETS["woo-demo"]["webhook_secret"], body)},
        ).json()["order_id"]

    results = {}
    try:
        for name, capture in (("canonical POST /orders", canonical), ("Shopify orders/create", shopify),
                              ("WooCommerce order.created", woocommerce)):
            def one(n: int, capture=capture) -> None:
                order_id = capture(n)
                wait(lambda: poll.get(f"{oms.url}/orders/{order_id}").json()["status"] in ("ALLOCATED", "ON_HOLD"))

            one(-1 - len(results))  # warm the functions this path uses
            counting.quiet()
            before = counting.snapshot()
            print(f"... {orders} orders as {name}", file=sys.stderr, flush=True)
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(one, range(orders)))
            counting.quiet()
            results[name] = {"calls": counting.snapshot() - before, "orders": orders}
        return results
    finally:
        counting.close()
        oms.stop()


def report(results: dict[str, dict], concurrency: int) -> None:
    baseline: Counter | None = None
    for name, r in results.items():
        n, calls = r["orders"], r["calls"]
        ours: Counter = Counter()
        for (fn, _, _), c in calls.items():
            if fn not in ("runtime", "benchmark polling"):
                ours[fn] += c
        per = {fn: c / n for fn, c in ours.items()}
        print(f"\n{name}: {n} orders ({concurrency} at a time), capture to ALLOCATED")
        print(table(sorted(((fn, v) for fn, v in per.items()), key=lambda x: -x[1]), ["function", "requests per order"]))
        operations = sorted(((fn, op, c / n) for (fn, _, op), c in calls.items()
                             if fn not in ("runtime", "benchmark polling")), key=lambda x: (x[0], -x[2]))
        print(table(operations, ["function", "operation", "per order"]))
        total = sum(per.values())
        if baseline is None:
            baseline = Counter(per)
            print(f"total {total:.2f} per order")
        else:
            print(f"total {total:.2f} per order; {total - sum(baseline.values()):+.2f} against canonical capture")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    quiet()
    report(run(args.orders, args.concurrency), args.concurrency)


if __name__ == "__main__":
    main()
