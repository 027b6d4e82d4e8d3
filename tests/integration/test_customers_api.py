"""GET /customers/{customer_id} and POST /customers/{customer_id}/notes through the handler on moto."""

from __future__ import annotations

import pytest

from tests.factories import TWO_WAREHOUSES, order_body, seed


@pytest.fixture
def orders(api, repos):
    """c-1: two orders on web, one on app (USD); c-2: one on web."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 10})

    def capture(channel, channel_order_id, customer_id, **kw):
        body = order_body(channel_order_id=channel_order_id,
                          customer={"id": customer_id, "email": "ana@example.com", "name": "Ana"}, **kw)
        answer = api("POST", "/orders", as_=channel, json=body)
        assert answer.status_code == 202, answer.json
        return answer.json["order_id"]

    return {"web-1": capture("web", "W-1", "c-1"), "web-2": capture("web", "W-2", "c-1"),
            "app-1": capture("app", "A-1", "c-1", currency="USD"), "web-3": capture("web", "W-3", "c-2")}


def test_the_operator_reads_the_customer_across_channels(api, orders):
    answer = api("GET", "/customers/c-1")
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert {o["order_id"] for o in body["orders"]} == {orders["web-1"], orders["web-2"], orders["app-1"]}
    first = next(o for o in body["orders"] if o["order_id"] == orders["web-1"])
    assert (first["channel"], first["channel_order_id"], first["total"], first["currency"]) == \
        ("web", "W-1", "10.00", "EUR")
    assert first["status"] in ("RECEIVED", "ALLOCATED") and first["placed_at"]
    ltv = body["summary"]["lifetime_value"]
    assert ltv["base_currency"] == "USD" and ltv["by_currency"] == {"EUR": "20.00", "USD": "10.00"}
    # No EUR rate was put for the capture day: the two EUR orders are listed, not guessed.
    assert ltv["base_amount"] == "10.00" and sorted(m["order_id"] for m in ltv["fx_missing"]) == \
        sorted([orders["web-1"], orders["web-2"]])
    assert body["summary"]["notes"] == []


def test_a_channel_sees_its_own_orders_of_the_customer_only(api, orders):
    body = api("GET", "/customers/c-1", as_="web").json
    assert [o["order_id"] for o in body["orders"]] == [orders["web-1"], orders["web-2"]]
    assert body["channels"] == ["web"] and body["summary"]["notes"] is None
    assert api("GET", "/customers/c-1", as_="web", query_string={"channel": "app"}).status_code == 403


def test_notes_operator_only_validated_and_shown(api, orders):
    written = api("POST", "/customers/c-1/notes", json={"text": "Asked to deliver after 6 pm", "request_id": "n-1"})
    assert written.status_code == 201 and written.json["by"] == "operator" and not written.json["duplicate"]
    again = api("POST", "/customers/c-1/notes", json={"text": "Asked to deliver after 6 pm", "request_id": "n-1"})
    assert again.status_code == 200 and again.json["duplicate"] and again.json["note_id"] == written.json["note_id"]
    assert api("POST", "/customers/c-1/notes", as_="web", json={"text": "hi"}).status_code == 403
    for bad, field in (({"text": ""}, "text"), ({"text": "x" * 2001}, "text"), ({"txt": "typo"}, "txt")):
        refused = api("POST", "/customers/c-1/notes", json=bad)
        assert refused.status_code == 422, refused.json
        fields = [refused.json.get("field")] + [e["field"] for e in refused.json.get("errors") or []]
        assert any(f and f.startswith(field) for f in fields), refused.json
    notes = api("GET", "/customers/c-1").json["summary"]["notes"]
    assert [n["text"] for n in notes] == ["Asked to deliver after 6 pm"]


def test_the_order_list_pages_with_an_opaque_cursor(api, orders):
    seen, cursor = [], None
    for _ in range(5):
        query = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        body = api("GET", "/customers/c-1", query_string=query).json
        seen += [o["order_id"] for o in body["orders"]]
        assert (body["summary"] is None) == (cursor is not None)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([orders["web-1"], orders["web-2"], orders["app-1"]]) and len(seen) == 3
    forged = api("GET", "/customers/c-1", query_string={"cursor": "web.bm9wZQ"})
    assert forged.status_code == 422 and forged.json["field"] == "cursor"
