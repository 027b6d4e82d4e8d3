"""The local runtime over real HTTP: what `make run` starts, driven as a channel and an operator would."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests

from local.runtime import LocalOms
from tests.factories import order_body


@pytest.fixture(scope="module")
def oms():
    runtime = LocalOms(port=0, retry_delay_s=1).start()
    yield runtime
    runtime.stop()


def call(oms, method, path, as_="operator", **kw):
    return requests.request(method, oms.url + path, headers={"x-api-key": oms.key(as_)}, timeout=30, **kw)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out; last saw {value!r}")


def order_in(oms, order_id, status, as_="app", timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        order = call(oms, "GET", f"/orders/{order_id}", as_=as_).json()
        if order["status"] == status:
            return order
        if time.monotonic() > deadline:
            raise AssertionError(f"order is {order['status']}, not {status}: {order}")
        time.sleep(0.1)


def test_health_docs_and_openapi_are_served(oms):
    assert requests.get(oms.url + "/health", timeout=10).json() == {"status": "ok"}
    assert "swagger" in requests.get(oms.url + "/docs", timeout=30).text.lower()
    spec = requests.get(oms.url + "/openapi.json", timeout=30).json()
    assert {"/orders", "/orders/{order_id}", "/inventory/{sku}", "/locations/{location_id}"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "x-api-key"


def test_demo_data_is_loaded(oms):
    locations = call(oms, "GET", "/locations").json()
    assert len(locations) >= 3 and len({x["country"] for x in locations}) >= 3
    assert all(x["lat"] is not None for x in locations)


def test_an_order_goes_from_capture_to_allocated_with_its_routing_reasons(oms):
    body = order_body([("TEE-BLK-M", 1)], channel_order_id="E2E-1", price="19.99")
    captured = call(oms, "POST", "/orders", as_="web", json=body)
    assert captured.status_code == 202
    order_id = captured.json()["order_id"]

    order = wait_for(lambda: (o := call(oms, "GET", f"/orders/{order_id}", as_="web").json())["status"] != "RECEIVED"
                     and o)

    assert order["status"] == "ALLOCATED"
    assert order["allocations"][0]["location_id"] == "WH-DE-BER"
    assert order["routing"][0]["reasons"]
    assert [h["status"] for h in order["history"]] == ["RECEIVED", "ALLOCATED"]


def test_fifty_orders_race_for_twenty_units_and_nothing_is_oversold(oms):
    # 12 units in Berlin and 8 in Madrid, both ship to France; 50 one-unit orders arrive at once.
    call(oms, "PUT", "/inventory/RACE-1/WH-DE-BER", json={"on_hand": 12})
    call(oms, "PUT", "/inventory/RACE-1/WH-ES-MAD", json={"on_hand": 8})

    def place(n):
        body = order_body([("RACE-1", 1)], channel_order_id=f"RACE-{n}", country="FR", lat=48.85, lon=2.35)
        return call(oms, "POST", "/orders", as_="web", json=body)

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(place, range(50)))
    assert {r.status_code for r in responses} == {202}, [r.text for r in responses if r.status_code != 202]
    ids = [r.json()["order_id"] for r in responses]

    def settled():
        statuses = [call(oms, "GET", f"/orders/{i}", as_="web").json()["status"] for i in ids]
        return statuses if "RECEIVED" not in statuses else None

    statuses = wait_for(settled, timeout=90)
    stock = call(oms, "GET", "/inventory/RACE-1").json()
    assert (statuses.count("ALLOCATED"), statuses.count("BACKORDERED")) == (20, 30), (Counter(statuses), stock)
    assert stock["reserved"] == 20 and stock["available_to_promise"] == 0, stock
    for level in stock["locations"]:
        assert level["available"] == 0 and level["reserved"] == level["on_hand"]


def test_a_poison_message_ends_in_the_dead_letter_queue(oms):
    sqs = boto3.client("sqs", endpoint_url=oms.emulator_url)
    queue = oms.resources.queue_urls["allocate-orders"]
    dlq = oms.resources.dlq_urls["allocate-orders"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"detail-type": "OrderReceived", "detail": {}}))

    def dead_lettered():
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
        return [m for m in messages if '"detail": {}' in m["Body"]]

    assert wait_for(dead_lettered, timeout=60)


def test_cancel_returns_the_stock_to_a_backordered_order_over_http(oms):
    call(oms, "PUT", "/inventory/LAST-1/WH-DE-BER", json={"on_hand": 1})
    first = call(oms, "POST", "/orders", as_="app", json=order_body([("LAST-1", 1)], channel_order_id="L-1")).json()
    order_in(oms, first["order_id"], "ALLOCATED")
    second = call(oms, "POST", "/orders", as_="app", json=order_body([("LAST-1", 1)], channel_order_id="L-2")).json()
    order_in(oms, second["order_id"], "BACKORDERED")

    assert call(oms, "POST", f"/orders/{first['order_id']}/cancel", as_="app").json()["status"] == "CANCELLED"

    order_in(oms, second["order_id"], "ALLOCATED")
