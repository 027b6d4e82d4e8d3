"""The embedded AWS emulation: a moto server on 127.0.0.1, and the resources the wiring declares.

moto's DynamoDB backend has no per-operation lock: under concurrent requests a threaded moto server
loses updates, answers 500s and can even let a conditional write oversell, whereas real DynamoDB
applies each request atomically. So every request into the emulator is serialised by one lock
around its WSGI app: what we run and test is our logic under DynamoDB's real per-request
semantics, not moto's races. local/emulator_server.py holds that lock, and lets SQS long polls
wait without it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from infra import wiring
from local.emulator_server import END_LONG_POLLS_PATH, KeepAliveHandler, SerialisedApp
from shared.domain.channels import SECRET_PREFIX as CHANNEL_SECRET_PREFIX

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account id


def serve(port: int = 0) -> BaseWSGIServer:
    """The moto server of this process, serialised, with the cheaper transaction rollback and the
    cheaper answers of local/moto_speedups.py, keeping connections open between requests."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    from local import moto_speedups, moto_transactions

    moto_transactions.install()
    moto_speedups.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise
    app = SerialisedApp(DomainDispatcherApplication(create_backend_app))
    return make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAliveHandler)


class Emulator:
    """The moto server in a child process: its work and ours then run on separate cores instead
    of sharing one interpreter lock. The child exits with its parent."""

    def __init__(self, port: int = 0):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.emulator", "--port", str(port), "--parent", str(os.getpid())],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None  # stdout=PIPE
        ready = self.process.stdout.readline().strip()  # the child prints its port once listening
        if not ready.isdigit():
            self.process.kill()
            raise RuntimeError(f"the moto emulator did not start: {ready!r}")
        self.endpoint = f"http://127.0.0.1:{ready}"

    def end_long_polls(self) -> None:
        """Answer every SQS long poll now (empty), so pollers waiting in one can stop."""
        request = urllib.request.Request(self.endpoint + END_LONG_POLLS_PATH, data=b"", method="POST")
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=5):  # 127.0.0.1 only
            pass

    def shutdown(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_moto(port: int = 0) -> tuple[Emulator, str]:
    emulator = Emulator(port)
    return emulator, emulator.endpoint


def use_emulator(endpoint: str) -> None:
    """Point every boto3 client of this process at the emulator, with throwaway credentials."""
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    })


@dataclass
class Provisioned:
    table_name: str
    bus_name: str
    stream_arn: str
    queue_urls: dict[str, str] = field(default_factory=dict)  # function name -> queue url
    dlq_urls: dict[str, str] = field(default_factory=dict)
    rest_api_id: str = ""  # the emulator's API Gateway REST API that channel keys are issued on
    by_queue_name: dict[str, str] = field(default_factory=dict)  # queue name -> queue url

    def environment(self) -> dict[str, str]:
        """What the stack adds per resource: the URLs of the queues functions send to directly, and
        the API that channel keys go on."""
        return {wiring.queue_url_env(name): url for name, url in self.by_queue_name.items()} | {
            wiring.ENV.api_id: self.rest_api_id, wiring.ENV.api_stage: LOCAL_API_STAGE}


# Local stand-ins for the carrier credentials a merchant puts into the stack's secret
# (shared/carriers/credentials.py names the keys). Documented in README for signing test webhooks.
DEMO_CARRIER_SECRET = {
    "webhook_secret": "demo-webhook-secret",
    "easypost_webhook_secret": "demo-easypost-webhook-secret",
    "shippo_webhook_secret": "demo-shippo-webhook-secret",
    "aftership_webhook_secret": "demo-aftership-webhook-secret",
}


# The local stand-in for the payment secret (shared/payments/credentials.py). The local runtime moves
# money with the sandbox provider, so it needs no Stripe key; the webhook signing secret is printed at
# start and listed in README for signing test Stripe events.
DEMO_PAYMENT_SECRET = {
    "stripe_webhook_secret": "whsec_demo_local_signing_secret",
}


# The demo channels in the shops' own formats (local/demo.py): their webhook signing secrets, printed
# at start and listed in README for signing test webhooks.
DEMO_CHANNEL_SECRETS = {
    "shopify-demo": {"webhook_secret": "demo-shopify-webhook-secret"},
    "woo-demo": {"webhook_secret": "demo-woocommerce-webhook-secret"},
}
LOCAL_API_STAGE = "v1"


def provision(session: boto3.Session, endpoint: str, table_name: str, bus_name: str) -> Provisioned:
    """Create what infra/stack.py creates in AWS, from the same wiring declaration."""
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    spec = wiring.TABLE
    attrs = {spec.partition_key, spec.sort_key} | {a for i in spec.indexes for a in (i.partition_key, i.sort_key)}
    ddb.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": spec.partition_key, "KeyType": "HASH"},
                   {"AttributeName": spec.sort_key, "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
        GlobalSecondaryIndexes=[{
            "IndexName": i.name,
            "KeySchema": [{"AttributeName": i.partition_key, "KeyType": "HASH"},
                          {"AttributeName": i.sort_key, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": i.projection,
                           **({"NonKeyAttributes": list(i.non_key_attributes)} if i.non_key_attributes else {})},
        } for i in spec.indexes],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    stream_arn = ddb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]

    events = session.client("events", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    events.create_event_bus(Name=bus_name)
    out = Provisioned(table_name, bus_name, stream_arn)
    for fn in wiring.FUNCTIONS:
        if fn.queue is None:
            continue
        q = fn.queue
        dlq_url = sqs.create_queue(QueueName=f"{q.name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=q.name, Attributes={
            "VisibilityTimeout": str(q.visibility_timeout_s),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": q.max_receive_count}),
        })["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for n, pattern in enumerate(q.event_patterns):
            rule = f"{q.name}-{n}"
            events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps(pattern))
            events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[{"Id": q.name, "Arn": arn}])
        out.queue_urls[fn.name], out.dlq_urls[fn.name], out.by_queue_name[q.name] = url, dlq_url, url
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=wiring.DEFAULTS.label_bucket)
    s3.create_bucket(Bucket=wiring.DEFAULTS.documents_bucket)
    session.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name=wiring.DEFAULTS.carrier_secret, SecretString=json.dumps(DEMO_CARRIER_SECRET))
    session.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name=wiring.DEFAULTS.payment_secret, SecretString=json.dumps(DEMO_PAYMENT_SECRET))
    for channel_id, secret in DEMO_CHANNEL_SECRETS.items():
        session.client("secretsmanager", endpoint_url=endpoint).create_secret(
            Name=f"{CHANNEL_SECRET_PREFIX}{channel_id}", SecretString=json.dumps(secret))
    # Channel keys issued at run time go on this API (as on the stack's), and the local gateway
    # checks them against the emulator's keys.
    out.rest_api_id = session.client("apigateway", endpoint_url=endpoint).create_rest_api(name="oms")["id"]
    return out


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="the serialised moto server of the local runtime")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--parent", type=int, default=0, help="exit when this process is gone")
    args = parser.parse_args()
    # Ctrl+C in a terminal reaches the whole process group: the parent stops us (terminate) once its
    # pollers are done with us, so an interrupt here would only cut their last calls short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = serve(args.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)
    while args.parent == 0 or os.getppid() == args.parent:
        time.sleep(0.5)


if __name__ == "__main__":
    _main()
