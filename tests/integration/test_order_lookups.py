"""GET /orders?channel_order_id= and ?customer_id=: the answers people look for, from a key or an
index (never a scan), each caller seeing only what it may."""

from __future__ import annotations

import base64
import json

import pytest

from shared.adapters.orders_repo import OrderFilter
from tests.factories import TWO_WAREHOUSES, order_body, seed


@pytest.fixture
def orders(api, repos):
    """Two orders of customer c-1 on web, one of c-1 on app, one of c-2 on web."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 10})

    def capture(channel, channel_order_id, customer_id):
        body = order_body(channel_order_id=channel_order_id,
                          customer={"id": customer_id, "email": "ana@example.com", "name": "Ana"})
        return api("POST", "/orders", as_=channel, json=body).json["order_id"]

    return {
        "web-1": capture("web", "W-1", "c-1"),
        "web-2": capture("web", "W-2", "c-1"),
        "app-1": capture("app", "W-1", "c-1"),  # the same channel order id, on another channel
        "web-3": capture("web", "W-3", "c-2"),
    }


def ids(response):
    assert response.status_code == 200, response.json
    return [o["order_id"] for o in response.json["orders"]]


def test_a_channel_finds_its_order_by_its_own_order_id(api, orders):
    assert ids(api("GET", "/orders", as_="web", query_string={"channel_order_id": "W-1"})) == [orders["web-1"]]
    assert ids(api("GET", "/orders", as_="app", query_string={"channel_order_id": "W-1"})) == [orders["app-1"]]
    # Another channel's order id is simply not there for it.
    assert ids(api("GET", "/orders", as_="app", query_string={"channel_order_id": "W-2"})) == []
    assert ids(api("GET", "/orders", as_="web", query_string={"channel_order_id": "NOPE"})) == []


def test_a_channel_order_id_lookup_keeps_the_other_filters(api, orders):
    assert ids(api("GET", "/orders", as_="web",
                   query_string={"channel_order_id": "W-1", "status": "RECEIVED"})) == [orders["web-1"]]
    assert ids(api("GET", "/orders", as_="web",
                   query_string={"channel_order_id": "W-1", "status": "SHIPPED"})) == []
    assert ids(api("GET", "/orders", as_="web",
                   query_string={"channel_order_id": "W-1", "customer_id": "c-2"})) == []


def test_an_operator_names_the_channel_of_a_channel_order_id(api, orders):
    assert ids(api("GET", "/orders", query_string={"channel_order_id": "W-1", "channel": "app"})) == \
        [orders["app-1"]]
    without = api("GET", "/orders", query_string={"channel_order_id": "W-1"})
    assert without.status_code == 422 and without.json["field"] == "channel"
    # A channel cannot reach another channel's order ids by naming it.
    assert api("GET", "/orders", as_="app", query_string={"channel_order_id": "W-2", "channel": "web"}
               ).status_code == 403


def test_a_customers_orders_oldest_first_each_channel_its_own(api, orders):
    assert ids(api("GET", "/orders", as_="web", query_string={"customer_id": "c-1"})) == \
        [orders["web-1"], orders["web-2"]]
    assert ids(api("GET", "/orders", as_="app", query_string={"customer_id": "c-1"})) == [orders["app-1"]]
    assert ids(api("GET", "/orders", query_string={"customer_id": "c-1", "channel": "web"})) == \
        [orders["web-1"], orders["web-2"]]
    assert ids(api("GET", "/orders", query_string={"customer_id": "c-1", "channel": "app"})) == [orders["app-1"]]
    assert ids(api("GET", "/orders", query_string={"customer_id": "c-2", "channel": "web", "status": "RECEIVED"})) \
        == [orders["web-3"]]
    assert ids(api("GET", "/orders", as_="app", query_string={"customer_id": "c-2"})) == []


def test_an_operator_names_the_channel_of_a_customer(api, orders):
    """Customer ids are each channel's own: c-1 on web and c-1 on app need not be one person."""
    without = api("GET", "/orders", query_string={"customer_id": "c-1"})
    assert without.status_code == 422 and without.json["field"] == "channel"
    # A channel cannot reach another channel's customers by naming it.
    assert api("GET", "/orders", as_="app", query_string={"customer_id": "c-1", "channel": "web"}
               ).status_code == 403


def test_a_customers_listing_pages_with_its_cursor(api, orders):
    first = api("GET", "/orders", query_string={"customer_id": "c-1", "channel": "web", "limit": 1}).json
    assert len(first["orders"]) == 1 and first["next_cursor"]
    rest = api("GET", "/orders", query_string={"customer_id": "c-1", "channel": "web", "limit": 1,
                                               "cursor": first["next_cursor"]})
    assert ids(rest) == [orders["web-2"]]
    # A cursor of another listing is refused, not followed: another customer's, or another channel's.
    for other in ({"customer_id": "c-2", "channel": "web"}, {"customer_id": "c-1", "channel": "app"}):
        foreign = api("GET", "/orders", query_string={**other, "cursor": first["next_cursor"]})
        assert foreign.status_code == 422 and foreign.json["field"] == "cursor"


def test_a_channels_customer_cursor_never_names_another_channels_order(api, repos):
    """A cursor is DynamoDB's last evaluated key, which can be an item the query's filter removed:
    when a customer's orders on all channels shared one partition, web's `limit=1` page after an
    order of its own read app's orders (filtered out, up to ten reads a page) and answered a cursor
    naming one of them. Each channel's customers now have a partition of their own."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 10})

    def capture(channel, channel_order_id):
        body = order_body(channel_order_id=channel_order_id,
                          customer={"id": "c-9", "email": "ana@example.com", "name": "Ana"})
        return api("POST", "/orders", as_=channel, json=body).json["order_id"]

    web = [capture("web", "W-1")]
    app = [capture("app", f"A-{n}") for n in range(12)]
    web.append(capture("web", "W-2"))

    cursor, listed, cursors = None, [], []
    for _ in range(len(web) + len(app)):
        answer = api("GET", "/orders", as_="web",
                     query_string={"customer_id": "c-9", "limit": 1, **({"cursor": cursor} if cursor else {})})
        listed += ids(answer)
        cursor = answer.json["next_cursor"]
        if not cursor:
            break
        cursors.append(json.loads(base64.urlsafe_b64decode(cursor)))
    assert listed == web
    assert cursors and all(c["pk"]["S"] in {f"ORDER#{i}" for i in web} for c in cursors)
    assert all(c["gsi5pk"]["S"] == "CUSTOMER#web#c-9" for c in cursors)


def test_lookups_read_a_key_or_the_customer_index_never_a_scan(orders, repos, monkeypatch):
    seen = []
    real_query, real_get = repos.store.query, repos.store.get

    def query(key, **kw):
        seen.append(("query", key.index, key.partition))
        return real_query(key, **kw)

    def get(pk, sk, **kw):
        seen.append(("get", pk, sk))
        return real_get(pk, sk, **kw)

    monkeypatch.setattr(repos.store, "query", query)
    monkeypatch.setattr(repos.store, "get", get)
    monkeypatch.setattr(repos.store, "scan", lambda *a, **k: pytest.fail("scanned"), raising=False)

    repos.orders.list(OrderFilter(customer_id="c-1", channel="web"), 10, None, [])
    assert seen == [("query", "gsi5", "CUSTOMER#web#c-1")]
    seen.clear()
    found = repos.orders.by_channel_order_id("web", "W-2")
    assert found.order_id == orders["web-2"]
    assert [s[0] for s in seen] == ["get", "get"] and seen[0][1] == "CHANNEL_ORDER#web#W-2"


@pytest.mark.parametrize("query", [{"customer_id": ""}, {"customer_id": "x" * 129}, {"channel_order_id": "a b"}])
def test_lookup_values_are_bounded(api, orders, query):
    answer = api("GET", "/orders", as_="web", query_string=query)
    assert answer.status_code == 422
