"""Handlers and repositories on moto: one fresh emulated account per test.

`pump` moves work along the way AWS would (stream -> relay -> bus -> queues -> consumers) using the
local runtime's own pollers, synchronously, so a test can say "and then everything settles".
"""

from __future__ import annotations

import json
import threading
from collections import Counter

import boto3
import pytest
import requests
from werkzeug.test import Client

from infra import wiring
from local.emulator import provision, start_moto
from local.functions import Functions
from local.runtime import ApiGateway, QueuePoller, StreamPoller, demo_keys, function_environment, reset_process_caches
from shared.repositories import repositories
from tests.factories import TWO_WAREHOUSES, order_body, seed


def outbox_events(repos, detail_type: str) -> list[dict]:
    """The details of the events of this type in the table's outbox (shared/outbox_format.py reads
    an item's events), whatever their order."""
    from shared.adapters.dynamo import from_item
    from shared.outbox_format import OUTBOX_PREFIX, outbox_entries

    found, start = [], None
    while True:
        kwargs = {"TableName": repos.store.name, "FilterExpression": "begins_with(pk, :p)",
                  "ExpressionAttributeValues": {":p": {"S": OUTBOX_PREFIX}}}
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = repos.store.client.scan(**kwargs)
        found += [json.loads(e.detail) for i in resp["Items"] for e in outbox_entries(from_item(i))
                  if e.detail_type == detail_type]
        start = resp.get("LastEvaluatedKey")
        if not start:
            return found


def people_pool(emulator, monkeypatch, people, locations):
    """The emulator's Cognito pool with these demo people (local/people.py), and the functions' environment
    pointing at it (process caches reset, so the next call reads it)."""
    from local.people import provision_people

    pool = provision_people(boto3.Session(), emulator, people, locations=locations)
    for name, value in pool.environment().items():
        monkeypatch.setenv(name, value)
    reset_process_caches()
    return pool


def person_caller(api, pool, *, sign_in_each_call: bool = False):
    """api(...) as a signed-in person: call(username, method, path, ...) with their pool token (one per
    person, or a fresh sign-in per call where roles change between calls)."""
    tokens: dict[str, str] = {}

    def call(username: str, method: str, path: str, **kwargs):
        if sign_in_each_call or username not in tokens:
            tokens[username] = pool.token(username)
        return api(method, path, as_="console", headers={"Authorization": f"Bearer {tokens[username]}"}, **kwargs)

    return call


@pytest.fixture(scope="session")
def emulator():
    server, endpoint = start_moto()
    yield endpoint
    server.shutdown()


@pytest.fixture
def aws(emulator, monkeypatch, tmp_path):
    """A fresh emulated account per test: the same serialised moto server the local runtime uses
    (in-process `mock_aws` does not route DynamoDB Streams calls), reset between tests."""
    requests.post(f"{emulator}/moto-api/reset", timeout=10)
    for name, value in {"AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        **function_environment(demo_keys()),
                        wiring.ENV.local_outbox: str(tmp_path / "outbox")}.items():
        monkeypatch.setenv(name, value)
    resources = provision(boto3.Session(), emulator, wiring.DEFAULTS.table_name, wiring.DEFAULTS.bus_name)
    for name, value in resources.environment().items():
        monkeypatch.setenv(name, value)
    reset_process_caches()
    yield resources
    reset_process_caches()


@pytest.fixture
def repos(aws):
    return repositories()


@pytest.fixture
def functions(aws):
    return Functions(concurrency=1)


class Api:
    """Requests through the local API Gateway stand-in (routing, API keys, proxy events)."""

    def __init__(self, functions: Functions):
        self.client = Client(ApiGateway(functions, demo_keys()))

    def __call__(self, method: str, path: str, as_: str | None = "operator", **kwargs):
        headers = kwargs.pop("headers", {})
        if as_:
            headers["x-api-key"] = f"demo-{as_}-key"
        return self.client.open(path, method=method, headers=headers, **kwargs)


@pytest.fixture
def api(functions):
    return Api(functions)


class Pump:
    def __init__(self, resources, functions: Functions):
        session = boto3.Session()
        stop = threading.Event()
        sqs = session.client("sqs")
        # No batching window: a pump takes what is there at once (the window is for bursts, not tests).
        self.pollers = [StreamPoller(wiring.function("publish-events"), resources.stream_arn,
                                     session.client("dynamodbstreams"), functions, stop, batching_window_s=0)]
        self.pollers += [QueuePoller(fn, resources.queue_urls[fn.name], sqs, functions, stop, retry_delay_s=0,
                                     batching_window_s=0) for fn in wiring.FUNCTIONS if fn.queue]

    def __call__(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            if not any([p.poll_once() for p in self.pollers]):
                return
        raise AssertionError("work did not settle")


@pytest.fixture
def pump(aws, functions):
    return Pump(aws, functions)


@pytest.fixture
def allocated(repos, api, pump) -> str:
    """An order split over two locations (SKU-1 x2 and SKU-2 at BER, SKU-1 x1 at MAD), allocated: its id.
    A module with another order in mind defines its own `allocated`."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 2, ("SKU-1", "MAD"): 2, ("SKU-2", "BER"): 1})
    order_id = api("POST", "/orders", as_="web", json=order_body([("SKU-1", 3), ("SKU-2", 1)])).json["order_id"]
    pump()
    return order_id


def sqs_event(detail_type: str, detail: dict, message_id: str = "m-1") -> dict:
    body = {"version": "0", "id": "e-1", "detail-type": detail_type, "source": "oms", "account": "123456789012",
            "time": "2026-11-25T09:00:00Z", "region": "us-east-1", "resources": [], "detail": detail}
    return {"Records": [{"messageId": message_id, "receiptHandle": "r", "body": json.dumps(body), "attributes": {
        "ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
        "ApproximateFirstReceiveTimestamp": "0"}, "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:allocation", "awsRegion": "us-east-1"}]}


def count_store_calls(monkeypatch, repos, methods: tuple[str, ...]) -> Counter:
    """The table requests of these store methods a handler makes, by method (for the tests that a
    batch, or a ship, reads as few times as it claims)."""
    calls: Counter = Counter()
    for name in methods:
        real = getattr(type(repos.store), name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(type(repos.store), name, counted)
    return calls
