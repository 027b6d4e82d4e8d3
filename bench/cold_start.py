"""Cold start of each Lambda function: importing its handler module plus its first invocation.

Each sample is a fresh interpreter (bench/cold_child.py) talking to a moto server started here,
with the environment the stack gives the function. The baseline is the least any function that
touches DynamoDB pays: import boto3, create one client, make one call. The guide's target is a
median within 1.5x of that baseline. Finally the slowest function is run once more under
`python -X importtime` to show which modules its cold start spends time on.

    python -m bench.cold_start [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

from bench.cold_child import BASELINE, MARK

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
BASELINE_NAME = "baseline (boto3 + 1 call)"
UNKNOWN_ORDER_ID = "o" + "0" * 24
UNKNOWN = "BENCH-UNKNOWN"  # ids that exist nowhere: the first call does a real read and answers "not found"
CHEAP_READS = ("/health", "/locations", "/orders/{order_id}")  # else an API function's first GET route
KEY_ID = "bench-operator-key"


def api_event(fn) -> dict:
    gets = [r for r in fn.routes if r.method == "GET"]
    # A function with no GET (the carrier webhook) gets an unsigned POST: it reads its secret and says 401.
    route = next((r for r in gets if r.path in CHEAP_READS), gets[0] if gets else fn.routes[0])
    # An order id of the right shape (o + 24 hex) that does not exist: the read goes to DynamoDB.
    params = {p.strip("{}"): UNKNOWN_ORDER_ID if p == "{order_id}" else UNKNOWN
              for p in route.path.split("/") if p.startswith("{")}
    path = route.path.format(**params)
    headers = {"Host": "localhost", "x-api-key": "bench", "Content-Type": "application/json"}
    return {  # API Gateway's REST proxy event, as local/runtime.py ApiGateway builds it
        "resource": route.path, "path": path, "httpMethod": route.method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": params or None, "stageVariables": None,
        "body": "{}" if route.method != "GET" else None, "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": route.path, "httpMethod": route.method, "path": path, "stage": "local",
            "requestId": str(uuid.uuid4()), "accountId": "123456789012", "apiId": "local",
            "requestTimeEpoch": 0, "identity": {"apiKeyId": KEY_ID, "apiKey": "bench", "sourceIp": "127.0.0.1"},
        },
    }


def sqs_event(fn) -> dict:
    """An EventBridge event through SQS, as the queue's rule delivers it, about nothing that exists
    (or, for a queue fed directly, a tracking update for a tracking number nobody shipped)."""
    if fn.queue.event_patterns:
        detail_type = fn.queue.event_patterns[0]["detail-type"][0]
        body = {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": "oms",
                "account": "123456789012", "time": "2025-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
                "detail": {"event_id": uuid.uuid4().hex, "order_id": UNKNOWN, "sku": UNKNOWN,
                           "location_id": UNKNOWN}}
    else:
        body = {"provider": "canonical", "provider_event_id": uuid.uuid4().hex, "tracking_code": UNKNOWN,
                "status": "IN_TRANSIT", "occurred_at": "2025-01-01T00:00:00Z", "received_at": "2025-01-01T00:00:00Z"}
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "bench", "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1735689600000", "SenderId": "bench",
                       "ApproximateFirstReceiveTimestamp": "1735689600000"},
        "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{fn.queue.name}", "awsRegion": "us-east-1",
    }]}


def stream_event(stream_arn: str) -> dict:
    """One outbox INSERT from the table stream."""
    detail = {"event_id": uuid.uuid4().hex, "occurred_at": "2025-01-01T00:00:00Z", "sku": UNKNOWN}
    image = {"pk": {"S": f"EVENT#{detail['event_id']}"}, "sk": {"S": "EVENT"}, "detail_type": {"S": "StockChanged"},
             "detail": {"S": json.dumps(detail)}, "expires_at": {"N": "1736294400"}}
    return {"Records": [{
        "eventID": uuid.uuid4().hex, "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "eventSourceARN": stream_arn,
        "dynamodb": {"ApproximateCreationDateTime": 1735689600, "Keys": {k: image[k] for k in ("pk", "sk")},
                     "NewImage": image, "SequenceNumber": "100000000000000000001", "SizeBytes": 200,
                     "StreamViewType": "NEW_IMAGE"},
    }]}


def first_event(fn, stream_arn: str) -> dict:
    if fn.routes:
        return api_event(fn)
    if fn.queue:
        return sqs_event(fn)
    if fn.table_stream:
        return stream_event(stream_arn)
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2025-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {}}


def child_environment(endpoint: str) -> dict[str, str]:
    from bench.common import EMULATOR_CREDENTIALS
    from infra import wiring

    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "OMS_", "PYTHON"))}
    return inherited | EMULATOR_CREDENTIALS | {
        "AWS_ENDPOINT_URL": endpoint,
        wiring.ENV.table: wiring.DEFAULTS.table_name,
        wiring.ENV.bus: wiring.DEFAULTS.bus_name,
        wiring.ENV.principals: json.dumps({KEY_ID: wiring.OPERATOR}),
        wiring.ENV.carrier_secret: wiring.DEFAULTS.carrier_secret,
        wiring.ENV.label_bucket: wiring.DEFAULTS.label_bucket,
        wiring.ENV.local_outbox: tempfile.gettempdir() + "/oms-bench-outbox",
        wiring.queue_url_env(wiring.on.TRACKING_UPDATES): f"{endpoint}/123456789012/{wiring.on.TRACKING_UPDATES}",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "oms",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }


def cold_start(module: str, event: dict, env: dict, importtime: bool = False) -> tuple[dict, str]:
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "bench.cold_child",
           module, json.dumps(event)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"{module} failed:\n{done.stderr[-3000:]}")
    return json.loads(line[len(MARK):]), done.stderr


def import_times(stderr: str) -> dict[str, float]:
    """Each module's own import time (ms) from `-X importtime` output."""
    own: dict[str, float] = {}
    for line in stderr.splitlines():  # "import time: self [us] | cumulative | imported package"
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:"):].split("|")
            own[name.strip()] = float(self_us) / 1000
    return own


def by_package(own: dict[str, float]) -> list[tuple[str, float]]:
    packages: dict[str, float] = defaultdict(float)
    for name, ms in own.items():
        packages[name.split(".")[0]] += ms
    return sorted(packages.items(), key=lambda kv: -kv[1])[:10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", "-r", type=int, default=5, help="cold starts per function (default 5)")
    args = parser.parse_args()

    import boto3

    from bench.common import REGION, quiet, table
    from infra import wiring
    from local.emulator import provision, start_moto

    quiet()
    server, endpoint = start_moto()
    try:
        session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        stream_arn = provision(session, endpoint, wiring.DEFAULTS.table_name, wiring.DEFAULTS.bus_name).stream_arn
        env = child_environment(endpoint)
        cases = {BASELINE_NAME: (BASELINE, {"table": wiring.DEFAULTS.table_name})}
        cases |= {fn.name: (fn.module, first_event(fn, stream_arn)) for fn in wiring.FUNCTIONS}
        samples: dict[str, list[dict]] = defaultdict(list)
        for n in range(args.repeats):  # round robin, so drift on the box affects every function alike
            print(f"... round {n + 1}/{args.repeats}", file=sys.stderr, flush=True)
            for name, (module, event) in cases.items():
                sample = cold_start(module, event, env)[0]
                samples[name].append(sample | {"total_ms": sample["import_ms"] + sample["invoke_ms"]})

        def median(name: str, key: str) -> float:
            return statistics.median(s[key] for s in samples[name])

        floor = median(BASELINE_NAME, "total_ms")
        rows = [(name, median(name, "import_ms"), median(name, "invoke_ms"), median(name, "total_ms"),
                 median(name, "total_ms") / floor, samples[name][-1]["outcome"]) for name in cases]
        print(f"\ncold start, median of {args.repeats} fresh interpreters (ms); target <= {TARGET_RATIO}x baseline")
        print(table(rows, ["function", "import", "1st invoke", "total", "x baseline", "1st invoke answered"]))
        worst = max((r for r in rows if r[0] != BASELINE_NAME), key=lambda r: r[3])
        print(f"\nworst: {worst[0]} at {worst[4]:.2f}x the baseline ({worst[3]:.0f} ms vs {floor:.0f} ms)")

        module, event = cases[worst[0]]
        own = import_times(cold_start(module, event, env, importtime=True)[1])
        floor_modules = import_times(cold_start(*cases[BASELINE_NAME], env, importtime=True)[1])
        print(f"\n{worst[0]} under -X importtime (a slower clock: compare, don't add): top modules by own time")
        print(table(sorted(own.items(), key=lambda kv: -kv[1])[:10], ["module", "self ms"]))
        print("\n... and what it imports beyond the baseline (boto3 and its dependencies), by package")
        print(table(by_package({m: ms for m, ms in own.items() if m not in floor_modules}), ["package", "self ms"]))
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
