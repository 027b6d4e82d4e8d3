"""The cost run's arithmetic: counts from `bench.order_lifecycle --in-flight N` turned into USD per
1,000 orders by service, and Lambda's duration modelled for AWS from what each invocation did here.

Why Lambda is modelled, not measured: a handler's wall time on the local runtime is mostly waiting
for the emulator, which serves one request at a time for every function and poller (2-4 ms of moto
per request, queued behind the others with hundreds of orders in flight) and for the benchmark's
own capacity reads around every write. DynamoDB answers in single-digit milliseconds. So each
invocation is billed here as

    ceil(CPU ms of the handler's thread x max(1, 1769 / memory MB) + sum of AWS call latencies)

CPU time is the thread's own (`time.thread_time`, the benchmark's capacity reads taken out), run on
a full core here and slowed in proportion below 1,769 MB (one vCPU, Lambda's documented ratio);
the latencies are typical figures for calls from Lambda in the same region (`LATENCY_MS` in
bench/prices.py), assumptions written next to the prices. Warm invocations only: cold starts are
not modelled. The measured wall time is printed beside the model, not added to the total.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from bench.common import table

LAMBDA_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, and CPU in proportion to memory below


@dataclass
class Invocation:
    """What one handler invocation did: its AWS calls and the time the benchmark's metering took."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    overhead_wall_s: float = 0.0
    overhead_cpu_s: float = 0.0


@dataclass(frozen=True)
class Sample:
    wall_ms: float  # measured here, the benchmark's metering taken out
    cpu_ms: float
    calls: tuple[tuple[str, str], ...]


def call_latency_ms(calls, latency: dict) -> float:
    return sum(latency.get(f"{service} {op}", latency.get(service, 10.0)) for service, op in calls)


def modelled_ms(sample: Sample, memory_mb: int, latency: dict, extra_io_ms: float = 0.0) -> int:
    cpu = sample.cpu_ms * max(1.0, LAMBDA_VCPU_MB / memory_mb)
    return max(1, math.ceil(cpu + call_latency_ms(sample.calls, latency) + extra_io_ms))


def lambda_by_function(r: dict) -> list[tuple]:
    """(function, invocations, records per invocation, CPU ms, AWS calls, modelled ms per invocation,
    memory, measured GB-s, modelled GB-s) per function, per order where it says so."""
    from bench.prices import LATENCY_MS

    n, rows = r["orders"], []
    for fn, samples in sorted(r["samples"].items()):
        if not samples:
            continue
        memory = r["memory_mb"][fn]
        # SES is not called locally (the messages go to files): its latency is added per message.
        ses_ms = LATENCY_MS["sesv2 SendEmail"] * r["messages"] / len(samples) if fn == "notify-customers" else 0.0
        modelled = [modelled_ms(s, memory, LATENCY_MS, ses_ms) for s in samples]
        measured_gb_s = sum(math.ceil(s.wall_ms) for s in samples) / 1000 * memory / 1024
        records = r["records"].get(fn, 0) + r.get("stream_records", {}).get(fn, 0)  # a queue's or the stream's
        rows.append((fn, len(samples) / n, records / len(samples),
                     sum(s.cpu_ms for s in samples) / len(samples), sum(len(s.calls) for s in samples) / len(samples),
                     sum(modelled) / len(samples), memory, measured_gb_s / n, sum(modelled) / 1000 * memory / 1024 / n))
    return rows


def cost_lines(r: dict) -> tuple[list[tuple], float, float, float]:
    """(rows of service, what, count per order, USD per 1,000 orders), the OMS's USD per 1,000
    orders without the emails (Lambda modelled), the same with Lambda's measured wall time, and AWS
    requests per order without the emails."""
    from bench.prices import USD

    n, calls = r["orders"], r["calls"]
    ours = Counter({k: c for k, c in calls.items() if k[0] not in ("runtime", "benchmark polling")})
    by_service: Counter[str] = Counter()
    for (_, service, _), c in ours.items():
        by_service[service] += c
    invocations = sum(r["invocations"].values())
    by_fn = lambda_by_function(r)
    measured_gb_s = sum(row[7] for row in by_fn) * n
    modelled_gb_s = sum(row[8] for row in by_fn) * n
    api = sum(c for fn, c in r["invocations"].items() if fn in r["api_functions"])
    units = r["units"]
    reads = sum(u for (_, kind), u in units.items() if kind == "read")
    writes = sum(u for (_, kind), u in units.items() if kind == "write")
    index_writes = sum(u for (_, kind), u in units.items() if kind == "index write")
    runtime_sqs = sum(c for (fn, service, _), c in calls.items() if fn == "runtime" and service == "sqs")
    sent_directly = sum(c for (fn, service, op), c in ours.items() if service == "sqs" and op.startswith("Send"))
    deliveries = max(0, sum(r["records"].values()) - sent_directly)  # EventBridge rules sending to queues
    sqs = by_service["sqs"] + runtime_sqs + deliveries
    s3_puts = sum(c for (_, service, op), c in ours.items() if service == "s3" and op in ("PutObject", "CopyObject"))
    s3_gets = by_service["s3"] - s3_puts
    rows = [
        ("Lambda", "invocations", invocations, USD["lambda request"]),
        ("Lambda", "GB-seconds, modelled for AWS (CPU here x 1769/MB + call latencies)", modelled_gb_s,
         USD["lambda GB-second"]),
        ("API Gateway", "REST requests", api, USD["api gateway request"]),
        ("DynamoDB", f"requests ({by_service['dynamodb'] / n:.2f}/order): read units", reads, USD["dynamodb read unit"]),
        ("DynamoDB", "write units (table)", writes, USD["dynamodb write unit"]),
        ("DynamoDB", "write units (indexes)", index_writes, USD["dynamodb write unit"]),
        ("SQS", f"requests: ours {by_service['sqs'] / n:.2f}, Lambda's pollers {runtime_sqs / n:.2f}, "
                f"EventBridge deliveries {deliveries / n:.2f}", sqs, USD["sqs request"]),
        ("EventBridge", f"events published ({by_service['events'] / n:.2f} PutEvents calls/order)",
         sum(r["events"].values()), USD["eventbridge event"]),
        ("S3", "PUT", s3_puts, USD["s3 put"]),
        ("S3", "GET", s3_gets, USD["s3 get"]),
        ("Secrets Manager", "GetSecretValue", by_service["secretsmanager"], USD["secrets manager call"]),
    ]
    out = [(svc, what, count / n, count / n * price * 1000) for svc, what, count, price in rows]
    total = sum(row[3] for row in out)
    measured_total = total + (measured_gb_s - modelled_gb_s) / n * USD["lambda GB-second"] * 1000
    out.append(("(Lambda)", "GB-seconds as measured here (emulator wall time; not in the total)",
                measured_gb_s / n, measured_gb_s / n * USD["lambda GB-second"] * 1000))
    requests_per_order = sum(c for (_, service, _), c in ours.items() if service not in ("ses", "sesv2")) / n
    return out, total, measured_total, requests_per_order


def report_cost(r: dict, target_requests: int) -> None:
    from bench.prices import PRICES_READ_ON, REFERENCE_SAMPLE_USD_PER_1000, USD

    n = r["orders"]
    print(f"\n{n} orders in flight, capture to DELIVERED (bought label, IN_TRANSIT and DELIVERED webhooks, "
          f"customer messages, invoice), {r['elapsed_s']:.0f} s on the local runtime")
    rows, total, measured_total, per_order = cost_lines(r)
    print(table([(svc, what, f"{per:.3f}", f"{usd:.5f}") for svc, what, per, usd in rows],
                ["service", "what", "per order", "USD per 1,000 orders"]))
    print()
    print(table([(fn, f"{inv:.2f}", f"{rec:.1f}", f"{cpu:.1f}", f"{aws:.1f}", f"{ms:.0f}", mem, f"{meas:.4f}",
                  f"{mod:.4f}", f"{mod * USD['lambda GB-second'] * 1000:.5f}")
                 for fn, inv, rec, cpu, aws, ms, mem, meas, mod in lambda_by_function(r)],
                ["function", "invocations/order", "records/inv", "CPU ms/inv", "AWS calls/inv", "modelled ms/inv",
                 "MB", "GB-s/order measured", "GB-s/order modelled", "USD per 1,000 (modelled)"]))
    print()
    print(table(sorted(((fn, kind, u / n) for (fn, kind), u in r["units"].items()), key=lambda x: -x[2]),
                ["function", "DynamoDB units", "per order"]))
    print()
    by_kind = r.get("units_by_kind", Counter())
    print(table(sorted(((fn, item, kind, u / n) for (fn, item, kind), u in by_kind.items() if u), key=lambda x: -x[3]),
                ["function", "item (pk prefix)", "write units", "per order"]))
    print()
    ours = {k: c for k, c in r["calls"].items() if k[0] not in ("runtime", "benchmark polling")}
    print(table(sorted(((fn, svc, op, c / n) for (fn, svc, op), c in ours.items()), key=lambda x: -x[3]),
                ["function", "service", "operation", "per order"]))
    emails = r["messages"] / n
    print(f"\nOMS cost: ${total:.4f} per 1,000 orders (target $0.05), emails aside, Lambda modelled "
          f"(${measured_total:.4f} with Lambda's wall time here); "
          f"AWS requests per order (our handlers, emails aside): {per_order:.2f} (target {target_requests})")
    print(f"customer messages: {emails:.2f} per order -> SES ${emails * USD['ses message'] * 1000:.4f} per "
          "1,000 orders (what SES charges whatever the OMS does)")
    print(f"reference: the AWS serverless e-commerce sample, about ${REFERENCE_SAMPLE_USD_PER_1000:.2f} per 1,000 "
          f"orders for a smaller lifecycle; prices: us-east-1 list prices read on {PRICES_READ_ON} (bench/prices.py)")
