"""Hot SKUs on moto: the inventory API's `buckets`, and a reservation across buckets and its release
through the DynamoDB store (the service tests run the same on the in-memory store)."""

from __future__ import annotations

import pytest

from shared.adapters import stock_repo
from shared.adapters.expressions import KeyQuery, SortRange
from shared.domain.principal import OPERATOR, Principal
from shared.services.allocation import Outcome, allocate_order
from shared.services.order_actions import cancel_order
from tests.factories import NOW, capture
from tests.service.flows import policy

LOCATION = {"name": "Berlin", "type": "warehouse", "country": "DE", "lat": 52.52, "lon": 13.40,
            "ships_to": ["DE", "FR"], "priority": 1, "handling_cost": "2.50"}


def buckets(repos) -> list[int]:
    items = repos.store.query_all(KeyQuery("STOCK#HOT", SortRange.prefix("BKT#BER#")), consistent=True)
    return [int(i["available"]) for i in items]


@pytest.fixture
def hot(api, repos):
    assert api("PUT", "/locations/BER", json=LOCATION).status_code == 200
    set_ = api("PUT", "/inventory/HOT/BER", json={"on_hand": 10, "buckets": 4})
    assert set_.status_code == 200 and (set_.json["available"], set_.json["buckets"]) == (10, 4)
    return repos


def test_the_api_sets_buckets_and_reads_the_exact_sum(api, hot):
    assert buckets(hot) == [3, 3, 2, 2]
    stock = api("GET", "/inventory/HOT", as_="web").json
    assert (stock["on_hand"], stock["available_to_promise"], stock["locations"][0]["buckets"]) == (10, 10, 4)
    adjusted = api("POST", "/inventory/adjustments", json={"adjustments": [
        {"adjustment_id": "A-1", "sku": "HOT", "location_id": "BER", "delta": -7, "reason": "damaged"}]})
    assert adjusted.status_code == 200 and adjusted.json[0]["level"]["available"] == 3
    assert sum(buckets(hot)) == 3 and min(buckets(hot)) >= 0
    shrink = api("PUT", "/inventory/HOT/BER", json={"on_hand": 3, "buckets": 2})
    assert shrink.status_code == 409 and shrink.json["field"] == "buckets"


def test_a_line_larger_than_a_bucket_reserves_across_buckets_and_a_cancel_gives_them_back(hot, monkeypatch):
    monkeypatch.setattr(stock_repo.random, "randrange", lambda n: 3)
    order = capture(hot, ("HOT", 5))
    assert allocate_order(order.order_id, hot, policy, NOW).outcome == Outcome.ALLOCATED
    assert buckets(hot) == [0, 3, 2, 0]  # 2 from bucket 3, then 3 from bucket 0
    assert hot.stock.level("HOT", "BER").available == 5
    cancel_order(order.order_id, Principal(OPERATOR), "customer asked", hot, NOW)
    assert buckets(hot) == [3, 3, 2, 2]
