"""Soak: thousands of orders through the local runtime with faults injected, then every invariant of
PRODUCT.md checked over the whole table.

    python -m bench.soak [--orders 3000] [--seed 7] [--workers 16] [--round 250] [--no-faults]   (make soak)

The whole local OMS runs in this process (bench/order_lifecycle.py does the same): moto in a child
process, the API and the event sources here. Each order lives a seeded random life
(bench/soak_orders.py): captured (sometimes twice), held and released or rejected, cancelled early
or late or in part, a location rejecting its part, shipped in one or two parcels, tracked by carrier
webhooks duplicated and out of order, the backordered rest cancelled when restocks are slow, returned
(restocked or written off) and refunded to the card or as store credit; a restocker adds stock
meanwhile, sometimes sending an adjustment twice. Every AWS call a handler makes may fail
(bench/soak_faults.py: throttling, TransactionCanceledException, timeouts before and after the write,
a Lambda dying mid-batch, a payment provider's lost answer); the clients retry 5xx as channels do.

Then faults stop, the queues drain, what SQS parked in a DLQ is redriven (what an operator does),
and the checker (bench/invariants) reads the whole table and reports each invariant's violations.
Orders run in rounds (`--round`), each on a fresh local OMS checked over its whole table.
The figures go to stdout (docs/reliability.md shows a run); the exit status is 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import emulator_client, quiet, table
from bench.invariants import INVARIANTS, Expectations, Report, check, load, scan_table
from bench.invariants.clients import duplicates
from bench.soak_clients import Api, GaveUp, Table
from bench.soak_faults import KINDS, FaultRates, Faults
from bench.soak_orders import OrderScript, Outcome

EU_LOCATIONS = ("WH-DE-BER", "WH-ES-MAD", "STORE-FR-PAR")


@dataclass
class SoakResult:
    orders: int
    seed: int
    seconds: float
    report: Report
    faults: Counter
    redriven: Counter
    outcomes: list[Outcome]
    api: Counter
    items: Counter = field(default_factory=Counter)
    resent: dict[str, int] = field(default_factory=dict)  # messages sent again after their record was lost
    phases: dict[str, float] = field(default_factory=dict)  # seconds: setup, orders, drain, check
    rounds: int = 1


ROUND = 150  # orders per round: each round a fresh emulator (its GSI queries read the whole table)


def run(orders: int, seed: int, workers: int = 16, rates: FaultRates | None = None, progress: bool = True,
        round_size: int = ROUND) -> SoakResult:
    """`orders` in rounds of `round_size`, each on a fresh local OMS checked over its whole table: moto
    answers a query on an index by reading every item of the table, so one table of many thousand
    orders would make the run slower with every order (DynamoDB's cost per query does not grow so)."""
    say = (lambda text: print(f"... {text}", file=sys.stderr, flush=True)) if progress else (lambda text: None)
    rates = FaultRates() if rates is None else rates
    results = []
    for number, start in enumerate(range(0, orders, round_size)):
        size = min(round_size, orders - start)
        if orders > round_size:
            say(f"round {number + 1} of {-(-orders // round_size)}: {size} orders")
        results.append(_round(size, seed + 7919 * number, workers, rates, say))
        say(f"round {number + 1}: {len(results[-1].report.violations)} violations, "
            f"{sum(results[-1].faults.values())} faults")
    return _merged(results, seed) if len(results) > 1 else results[0]


def _merged(results: list[SoakResult], seed: int) -> SoakResult:
    merged = SoakResult(sum(r.orders for r in results), seed, sum(r.seconds for r in results), Report(), Counter(),
                        Counter(), [], Counter(), rounds=len(results))
    for r in results:
        merged.report.checked = list(dict.fromkeys(merged.report.checked + r.report.checked))
        merged.report.skipped = list(dict.fromkeys(merged.report.skipped + r.report.skipped))
        merged.report.violations += r.report.violations
        merged.faults.update(r.faults)
        merged.redriven.update(r.redriven)
        merged.outcomes += r.outcomes
        merged.api.update(r.api)
        merged.items.update(r.items)
        merged.resent.update(r.resent)
        for name, seconds in r.phases.items():
            merged.phases[name] = merged.phases.get(name, 0.0) + seconds
    return merged


def _round(orders: int, seed: int, workers: int, rates: FaultRates, say) -> SoakResult:
    from infra import wiring
    from local.runtime import LocalOms

    outbox = Path(tempfile.mkdtemp(prefix="oms-soak-outbox-"))
    saved = os.environ.get(wiring.ENV.local_outbox)
    os.environ[wiring.ENV.local_outbox] = str(outbox)
    say("starting the local OMS")
    oms = LocalOms(port=0, retry_delay_s=1).start()
    dynamodb = emulator_client("dynamodb", oms.emulator_url, pool=workers + 4)
    api, watch = Api(oms), Table(dynamodb, wiring.DEFAULTS.table_name)
    faults = Faults(oms.functions, rates, seed)
    started = time.monotonic()
    try:
        rng = random.Random(seed)
        _stock_up(api, rng)  # written when answered: the baseline needs no drain (nothing else moves on hand)
        phases = {"setup": time.monotonic() - started}
        baseline_at = datetime.now(UTC)
        baseline = _on_hand(dynamodb, wiring.DEFAULTS.table_name)
        faults.enabled = True
        run_id = uuid.uuid4().hex[:6]
        script = OrderScript(api, watch, run_id, seed)
        stop = threading.Event()
        restocker = threading.Thread(target=_restock, args=(api, random.Random(seed + 1), stop, run_id), daemon=True)
        restocker.start()
        say(f"{orders} orders, {workers} at a time, faults {'on' if faults.rates != FaultRates.off() else 'off'}")
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(workers) as pool:
            for done, outcome in enumerate(pool.map(script.run, range(orders)), 1):
                outcomes.append(outcome)
                if done % 25 == 0:
                    say(f"{time.monotonic() - started:.0f} s: {done} of {orders} orders done, "
                        f"{sum(faults.counts.values())} faults")
        stop.set()
        restocker.join()
        phases["orders"] = time.monotonic() - started - sum(phases.values())
        say("faults off; draining the queues and redriving the DLQs")
        faults.enabled = False
        redriven = _drain(oms, faults)
        phases["drain"] = time.monotonic() - started - sum(phases.values())
        say("checking the invariants over the whole table")
        snap = load(scan_table(dynamodb, wiring.DEFAULTS.table_name))
        exp = Expectations(baseline_on_hand=baseline, baseline_at=baseline_at, provider_intents=_provider_books(),
                           messages=sorted(p.name for p in outbox.iterdir()), acknowledged=api.acks,
                           unrecorded_sends=set(faults.unrecorded_sends),
                           observed={"channel_isolation": [v for v in api.observed if v.invariant == "channel_isolation"]})
        report = check(snap, exp)
        report.violations += [v for v in api.observed if v.invariant != "channel_isolation"]
        phases["check"] = time.monotonic() - started - sum(phases.values())
        return SoakResult(orders, seed, time.monotonic() - started, report, Counter(faults.counts), redriven,
                          outcomes, Counter(api.stats), Counter(snap.kinds), duplicates(exp)[1], phases)
    finally:
        faults.close()
        oms.stop()
        shutil.rmtree(outbox, ignore_errors=True)
        if saved is None:
            os.environ.pop(wiring.ENV.local_outbox, None)
        else:
            os.environ[wiring.ENV.local_outbox] = saved


def _stock_up(api: Api, rng: random.Random) -> None:
    """Little stock at the EU locations, so orders race for it, backorder, and wait for restocks."""
    from local.demo import PRODUCTS

    rows = [f"{sku},{location_id},{rng.randint(3, 15)}" for sku in PRODUCTS for location_id in EU_LOCATIONS]
    api.call("POST", "/inventory/import", "operator", data="\n".join(rows).encode(),
             headers={"Content-Type": "text/csv"})


def _restock(api: Api, rng: random.Random, stop: threading.Event, run_id: str) -> None:
    """A few adjustments every few seconds; about one in ten sent twice (applied once). Each one that
    makes more available wakes release-backorders, whose queries read the emulator's whole table: more
    often would slow the run down without testing more."""
    from local.demo import PRODUCTS

    sent: list[dict[str, Any]] = []
    n = 0
    while not stop.wait(rng.uniform(2.0, 4.0)):
        batch: list[dict[str, Any]] = []
        for _ in range(rng.randint(2, 4)):
            n += 1
            batch.append({"adjustment_id": f"restock-{run_id}-{n}", "sku": rng.choice(PRODUCTS),
                          "location_id": rng.choice(EU_LOCATIONS), "delta": rng.randint(4, 12), "reason": "received"})
        if sent and rng.random() < 0.1:
            batch.append(rng.choice(sent))
        try:
            api.call("POST", "/inventory/adjustments", "operator", {"adjustments": batch})
        except GaveUp:
            api.note("restocks given up")
            continue
        sent += batch
        api.acks.adjustments.update(a["adjustment_id"] for a in batch)
        api.note("restock adjustments", len(batch))


def _on_hand(dynamodb, table_name: str) -> dict[tuple[str, str], int]:
    snap = load(item for item in scan_table(dynamodb, table_name) if str(item["pk"]).startswith("STOCK#"))
    return {key: int(level.get("on_hand", 0)) for key, level in snap.levels.items()}


def _provider_books() -> dict:
    """What the sandbox provider received and refunded per intent (its state lives in this process)."""
    from shared.payments.sandbox import _PROCESS_LOCK, _PROCESS_STATE

    with _PROCESS_LOCK:
        return {i.intent_id: (i.received, i.refunded) for i in _PROCESS_STATE.get("intents", {}).values()}


def _queues_empty(sqs, urls) -> bool:
    for url in urls:
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if int(a["ApproximateNumberOfMessages"]) or int(a["ApproximateNumberOfMessagesNotVisible"]):
            return False
    return True


def _drain(oms, faults: Faults, timeout: float = 600.0) -> Counter:
    """Wait until nothing runs and every queue is empty; redrive what the DLQs hold; again until none.
    Returns the messages redriven per queue."""
    sqs = emulator_client("sqs", oms.emulator_url)
    assert oms.resources is not None
    queues, dlqs = oms.resources.queue_urls, oms.resources.dlq_urls
    redriven: Counter[str] = Counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if time.monotonic() - faults.last_invocation < 2.0 or not _queues_empty(sqs, queues.values()):
            time.sleep(0.5)
            continue
        moved = 0
        for fn, dlq in dlqs.items():
            while messages := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", []):
                for m in messages:
                    sqs.send_message(QueueUrl=queues[fn], MessageBody=m["Body"])
                    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
                redriven[fn] += len(messages)
                moved += len(messages)
        if not moved:
            return redriven
        faults.last_invocation = time.monotonic()
    raise TimeoutError("the queues did not drain")


# ---------------------------------------------------------------------- the report


def report(r: SoakResult) -> str:
    finals = Counter(o.status or "not captured" for o in r.outcomes)
    happened = Counter(e.split(",")[0] if e.startswith("returned") else e for o in r.outcomes for e in o.events)
    gave_up = [o for o in r.outcomes if o.problem]
    phases = ", ".join(f"{name} {s:.0f} s" for name, s in r.phases.items())
    lines = [f"soak: {r.orders} orders in {r.rounds} round(s), seed {r.seed}, {r.seconds:.0f} s ({phases}); table "
             f"items: {sum(r.items.values())}", ""]
    lines.append(table([("orders", r.orders), *((f"  final {s}", n) for s, n in sorted(finals.items())),
                        *((f"  {e}", n) for e, n in sorted(happened.items())),
                        ("restock adjustments", r.api["restock adjustments"]),
                        ("API requests (incl. retries)", r.api["requests"]),
                        *((f"  {k}", n) for k, n in sorted(r.api.items()) if k.startswith("answered")),
                        ("scripts that gave up", len(gave_up))], ["what", "count"]))
    lines += ["", table([*((k, r.faults[k]) for k in KINDS), ("total", sum(r.faults.values())),
                         *((f"DLQ redriven: {fn}", n) for fn, n in sorted(r.redriven.items())),
                         ("messages sent again: send not recorded", sum(n - 1 for n in r.resent.values()))],
                        ["faults injected", "count"])]
    counts = r.report.by_invariant()
    described = {inv.name: inv.description for inv in INVARIANTS}
    rows = [(name, counts[name]) for name in r.report.checked]
    rows += [(name, counts[name]) for name in counts if name not in r.report.checked]
    lines += ["", table(rows, ["invariant", "violations"]),
              f"\ninvariants checked: {len(r.report.checked)}, violations: {len(r.report.violations)}"]
    for v in r.report.violations[:40]:
        lines.append(f"  {v.invariant}: {v.subject}: {v.detail}")
    for o in gave_up[:10]:
        lines.append(f"  gave up: order {o.n} ({o.order_id}): {o.problem}")
    lines.append("\n" + "\n".join(f"  {name}: {described.get(name, '')}" for name in r.report.checked))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=int(os.environ.get("ORDERS", 3000)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SEED", 7)))
    parser.add_argument("--workers", type=int, default=16, help="orders in flight at once")
    parser.add_argument("--round", type=int, default=ROUND, help="orders per fresh local OMS (each checked whole)")
    parser.add_argument("--no-faults", action="store_true", help="inject nothing (a baseline)")
    args = parser.parse_args()
    quiet()
    import logging

    # Injected failures are expected: the handlers' warnings and the API's logged 500s would drown the figures.
    os.environ.setdefault("OMS_LOG_LEVEL", "CRITICAL")

    logging.getLogger("oms.local").setLevel(logging.CRITICAL)  # injected failures are expected; the report counts them
    result = run(args.orders, args.seed, args.workers, FaultRates.off() if args.no_faults else None,
                 round_size=args.round)
    print(report(result))
    sys.exit(1 if result.report.violations else 0)


if __name__ == "__main__":
    main()
