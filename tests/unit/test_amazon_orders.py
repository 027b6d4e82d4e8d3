"""The Amazon SP-API orders adapter against a fake transport (never the network): what it asks,
how it waits when throttled, how Amazon's errors become ours, and how orders map.

Samples in channel_payloads/amazon/, shaped as the documented models (github.com/amzn/
selling-partner-api-models: models/orders-api-model/ordersV0.json and orders_2026-01-01.json,
schemas/notifications/OrderChangeNotification.json, each built on the model's own examples),
ids, people and amounts made up:
- lwa_token.json, lwa_error_invalid_grant.json   LWA token exchange: success, refused refresh token
- get_orders_page.json        v0 getOrders with NextToken: a US MFN Unshipped order without restricted
                              data (city/state/postal/country only), a Pending one, an AFN Shipped one,
                              a Canceled one
- get_order_items_page1/2.json  getOrderItems of the Unshipped order, two pages (NextToken)
- search_orders_page.json     2026-01-01 searchOrders with pagination.nextToken: a UK MFN order with
                              buyer and recipient (the PII role), a US order with tax and a delivery
                              tip but no PII, a JP order fulfilled by Amazon
- get_order.json              2026-01-01 getOrder of the UK order, updated later
- error_invalid_input_400.json, error_quota_exceeded_429.json   ErrorList bodies
- order_change_notification.json   an ORDER_CHANGE notification (SQS message body)
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from shared.channels.amazon import (
    LWA_TOKEN_URL,
    AmazonOrders,
    AmazonRejected,
    AmazonThrottled,
    AmazonUnavailable,
    LwaCredentials,
    read_order_change_notification,
    to_channel_order,
)
from shared.channels.intake import (
    PLACEHOLDER_COUNTRY,
    PLACEHOLDER_NAME,
    IntakeAction,
    SkuMap,
    UnreadableOrder,
)
from shared.domain.payments import PaymentProvider

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).parent / "channel_payloads" / "amazon"
NA = "https://sellingpartnerapi-na.amazon.com"
CREDENTIALS = LwaCredentials(client_id="amzn1.application-oa2-client.fake0000",
                             client_secret="amzn1.oa2-cs.v1.fakeClientSecretNeverReal",
                             refresh_token="Atzr|IwEBIFakeRefreshTokenNeverReal")
ACCESS_TOKEN = "Atza|IwEBIFakeAccessTokenForTestsOnly0000000000000000"
NOW = "2026-11-02T08:00:00+00:00"


def sample(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def ok(body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    return 200, headers or {"x-amzn-RateLimit-Limit": "0.0056"}, body


@dataclass
class Call:
    method: str
    url: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes | None


class FakeAmazon:
    """A transport answering LWA and SP-API paths from queues (the last answer repeats); an answer
    is (status, headers, body), an exception to raise, or a function of the call giving either."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.answers: dict[str, list[Any]] = {}
        self.lwa: list[Any] = []

    def on(self, path: str, *answers: Any) -> FakeAmazon:
        self.answers.setdefault(path, []).extend(answers)
        return self

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes | None):
        parts = urlsplit(url)
        call = Call(method, url, parts.path, dict(parse_qsl(parts.query)), dict(headers), body)
        self.calls.append(call)
        if url == LWA_TOKEN_URL:
            answer = self.lwa.pop(0) if self.lwa else ok(sample("lwa_token"), {})
        else:
            queue = self.answers.get(parts.path)
            assert queue, f"unexpected request {method} {parts.path}"
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(answer):
            answer = answer(call)
        if isinstance(answer, Exception):
            raise answer
        status, response_headers, response = answer
        return status, response_headers, response if isinstance(response, bytes) else json.dumps(response).encode()

    def api(self, path: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.url != LWA_TOKEN_URL and (path is None or c.path == path)]

    def token_exchanges(self) -> list[Call]:
        return [c for c in self.calls if c.url == LWA_TOKEN_URL]


class Clock:
    """A monotonic clock that only the recorded sleeps move."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.now += seconds


def client(fake: FakeAmazon, clock: Clock | None = None, **kwargs: Any) -> AmazonOrders:
    clock = clock or Clock()
    return AmazonOrders(NA, CREDENTIALS, fake, sleep=clock.sleep, clock=clock, **kwargs)


def moment(text: str = NOW):
    from datetime import datetime

    return datetime.fromisoformat(text)


def v0_order(index: int = 0) -> dict:
    return copy.deepcopy(sample("get_orders_page")["payload"]["Orders"][index])


def v0_items() -> list[dict]:
    return (copy.deepcopy(sample("get_order_items_page1")["payload"]["OrderItems"])
            + copy.deepcopy(sample("get_order_items_page2")["payload"]["OrderItems"]))


def order_2026(index: int = 0) -> dict:
    return copy.deepcopy(sample("search_orders_page")["orders"][index])


# ------------------------------------------------------------------ Login with Amazon


def test_the_refresh_token_is_exchanged_once_and_the_access_token_kept_until_shortly_before_it_expires():
    fake, clock = FakeAmazon(), Clock()
    fake.on("/orders/2026-01-01/orders/203-0000001-0000001", ok(sample("get_order")))
    amazon = client(fake, clock)

    amazon.get_order("203-0000001-0000001")
    amazon.get_order("203-0000001-0000001")
    (exchange,) = fake.token_exchanges()
    assert exchange.method == "POST"
    assert exchange.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert dict(parse_qsl(exchange.body.decode())) == {
        "grant_type": "refresh_token", "refresh_token": CREDENTIALS.refresh_token,
        "client_id": CREDENTIALS.client_id, "client_secret": CREDENTIALS.client_secret}
    assert all(c.headers["x-amz-access-token"] == ACCESS_TOKEN for c in fake.api())

    clock.now += 3600 - 61  # expires_in 3600: still good a minute before
    amazon.get_order("203-0000001-0000001")
    assert len(fake.token_exchanges()) == 1
    clock.now += 2
    amazon.get_order("203-0000001-0000001")
    assert len(fake.token_exchanges()) == 2


def test_a_refused_refresh_token_is_rejected_naming_lwa_error_and_never_the_secrets():
    fake = FakeAmazon()
    fake.lwa.append((400, {}, sample("lwa_error_invalid_grant")))
    with pytest.raises(AmazonRejected) as refused:
        client(fake).access_token()
    assert refused.value.codes == ["invalid_grant"]
    shown = f"{refused.value} {refused.value!r} {CREDENTIALS!r} {client(FakeAmazon())!r}"
    assert CREDENTIALS.client_secret not in shown and CREDENTIALS.refresh_token not in shown
    assert not fake.api()


@pytest.mark.parametrize("endpoint", [
    "http://sellingpartnerapi-na.amazon.com",
    "https://sellingpartnerapi-na.amazon.com.evil.example",
    "https://evil.example/sellingpartnerapi-na.amazon.com",
    "https://sandbox.sellingpartnerapi-na.amazon.com",
    "https://sellingpartnerapi-xx.amazon.com",
])
def test_credentials_go_only_to_the_three_regional_sp_api_hosts(endpoint):
    with pytest.raises(ValueError, match="regional endpoint"):
        AmazonOrders(endpoint, CREDENTIALS, FakeAmazon())


@pytest.mark.parametrize("region", ["na", "eu", "fe"])
def test_each_regional_host_is_accepted(region):
    fake = FakeAmazon().on("/orders/2026-01-01/orders/203-0000001-0000001", ok(sample("get_order")))
    AmazonOrders(f"https://sellingpartnerapi-{region}.amazon.com/", CREDENTIALS, fake).get_order("203-0000001-0000001")
    assert fake.api()[0].url.startswith(f"https://sellingpartnerapi-{region}.amazon.com/orders/")


# ------------------------------------------------------------------ the calls


def test_search_orders_asks_searchOrders_for_orders_updated_since_with_items_buyer_and_recipient():
    fake = FakeAmazon().on("/orders/2026-01-01/orders", ok(sample("search_orders_page")))
    page = client(fake).search_orders(moment("2026-11-02T09:00:00+01:00"), ["A1F83G8C2ARO7P", "ATVPDKIKX0DER"])

    (call,) = fake.api()
    assert call.method == "GET" and call.url.startswith(NA + "/orders/2026-01-01/orders?")
    assert call.query["lastUpdatedAfter"] == "2026-11-02T08:00:00Z"  # in UTC
    assert call.query["marketplaceIds"] == "A1F83G8C2ARO7P,ATVPDKIKX0DER"
    assert call.query["maxResultsPerPage"] == "100"
    assert {"BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT"} <= set(call.query["includedData"].split(","))
    assert "paginationToken" not in call.query
    assert call.headers["x-amz-access-token"] == ACCESS_TOKEN
    assert page.next_token == "9ZhB4RmVyc2lvbiAxLjAgb2YgdGhl"
    assert [o.order_id for o in page.orders] == ["203-0000001-0000001", "114-0000005-0000005", "250-0000006-0000006"]
    assert [len(o.items or []) for o in page.orders] == [2, 1, 1]  # the items come inside each order


def test_the_next_page_is_asked_with_paginationToken_and_the_same_parameters():
    fake = FakeAmazon().on("/orders/2026-01-01/orders", ok({"orders": []}))
    amazon = client(fake)
    amazon.search_orders(moment(), ["A1F83G8C2ARO7P"])
    last = amazon.search_orders(moment(), ["A1F83G8C2ARO7P"], next_token="9ZhB4RmVyc2lvbiAxLjAgb2YgdGhl")

    first, second = fake.api()
    assert second.query.pop("paginationToken") == "9ZhB4RmVyc2lvbiAxLjAgb2YgdGhl"
    assert second.query == first.query
    assert last.next_token is None and last.orders == []  # no pagination: the last page


def test_v0_get_orders_fetches_every_items_page_but_only_for_orders_the_oms_would_capture():
    fake = FakeAmazon().on("/orders/v0/orders", ok(sample("get_orders_page")))
    fake.on("/orders/v0/orders/113-0000001-0000001/orderItems",
            ok(sample("get_order_items_page1"), {"x-amzn-RateLimit-Limit": "0.5"}),
            ok(sample("get_order_items_page2"), {"x-amzn-RateLimit-Limit": "0.5"}))
    page = client(fake, legacy_v0=True).search_orders(moment(), ["ATVPDKIKX0DER"], next_token="prev-token")

    orders_call, *items_calls = fake.api()
    assert orders_call.path == "/orders/v0/orders"
    assert orders_call.query == {"MarketplaceIds": "ATVPDKIKX0DER", "LastUpdatedAfter": "2026-11-02T08:00:00Z",
                                 "MaxResultsPerPage": "100", "NextToken": "prev-token"}
    # Pending (no prices yet), fulfilled by Amazon and cancelled orders need no items.
    assert [c.path for c in items_calls] == ["/orders/v0/orders/113-0000001-0000001/orderItems"] * 2
    assert [c.query for c in items_calls] == [{}, {"NextToken": "NXRva2VuLWl0ZW1zLXBhZ2UtMg"}]
    assert page.next_token == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    assert [o.order_id for o in page.orders] == ["113-0000001-0000001", "113-0000002-0000002",
                                                 "113-0000003-0000003", "113-0000004-0000004"]
    assert [i["SellerSKU"] for i in page.orders[0].items or []] == ["TSHIRT-BLK-M", "MUG 11oz/white"]
    assert [o.items for o in page.orders[1:]] == [None, None, None]


def test_get_order_asks_one_order_with_its_data_and_keeps_the_id_one_path_segment():
    fake = FakeAmazon().on("/orders/2026-01-01/orders/203-0000001-0000001", ok(sample("get_order")))
    order = client(fake).get_order("203-0000001-0000001")
    assert order.order_id == "203-0000001-0000001" and len(order.items or []) == 2
    assert "RECIPIENT" in fake.api()[0].query["includedData"]

    fake = FakeAmazon().on("/orders/2026-01-01/orders/..%2F..%2Fsellers%3Fx", ok(sample("get_order")))
    client(fake).get_order("../../sellers?x")
    assert fake.api()[0].url.startswith(NA + "/orders/2026-01-01/orders/..%2F..%2Fsellers%3Fx")


def test_v0_get_order_reads_the_order_and_then_its_items():
    order = v0_order(0)
    fake = FakeAmazon().on("/orders/v0/orders/113-0000001-0000001", ok({"payload": order}))
    fake.on("/orders/v0/orders/113-0000001-0000001/orderItems",
            ok(sample("get_order_items_page1")), ok(sample("get_order_items_page2")))
    got = client(fake, legacy_v0=True).get_order("113-0000001-0000001")
    assert got.order["AmazonOrderId"] == "113-0000001-0000001" and len(got.items or []) == 2
    assert got.channel_order(SkuMap()).action == IntakeAction.UPSERT


# ------------------------------------------------------------------ throttling and errors


def test_a_throttled_call_waits_at_least_one_over_the_rate_amazon_gives_and_is_repeated():
    fake, clock = FakeAmazon(), Clock()
    fake.on("/orders/v0/orders/113-0000001-0000001/orderItems",
            (429, {"x-amzn-RateLimit-Limit": "0.5", "x-amzn-RequestId": "req-1"}, sample("error_quota_exceeded_429")),
            ok(sample("get_order_items_page2"), {"x-amzn-RateLimit-Limit": "0.5"}))
    amazon = client(fake, clock, legacy_v0=True)

    items = amazon.order_items("113-0000001-0000001")
    assert [i["OrderItemId"] for i in items] == ["79039765272157"]
    assert clock.waits == [2.0]  # max(backoff 1 s, 1 / 0.5 requests per second)
    assert len(fake.api()) == 2 and fake.api()[0].url == fake.api()[1].url

    # Once throttled, the operation is paced at Amazon's rate: no more than 0.5 requests a second.
    clock.now += 0.5
    amazon.order_items("113-0000001-0000001")
    assert clock.waits == [2.0, 1.5]


def test_still_throttled_after_the_last_attempt_raises_amazon_throttled():
    fake, clock = FakeAmazon(), Clock()
    fake.on("/orders/2026-01-01/orders", (429, {}, sample("error_quota_exceeded_429")))
    with pytest.raises(AmazonThrottled):
        client(fake, clock, max_attempts=3).search_orders(moment(), ["ATVPDKIKX0DER"])
    assert len(fake.api()) == 3
    assert clock.waits == [1.0, 2.0]  # doubled each time, no header: no rate to honour


def test_a_rate_asking_for_a_longer_wait_than_allowed_gives_up_at_once():
    fake, clock = FakeAmazon(), Clock()
    fake.on("/orders/2026-01-01/orders",
            (429, {"x-amzn-RateLimit-Limit": "0.0056"}, sample("error_quota_exceeded_429")))
    with pytest.raises(AmazonThrottled):
        client(fake, clock, max_wait=20).search_orders(moment(), ["ATVPDKIKX0DER"])
    assert clock.waits == [] and len(fake.api()) == 1  # 1/0.0056 = 179 s: the next scheduled run asks again


def test_amazons_4xx_errors_are_rejections_with_its_codes():
    fake = FakeAmazon().on("/orders/2026-01-01/orders", (400, {}, sample("error_invalid_input_400")))
    with pytest.raises(AmazonRejected) as refused:
        client(fake).search_orders(moment(), ["ATVPDKIKX0DER"])
    assert refused.value.status == 400 and refused.value.errors == [("InvalidInput", "Invalid Input")]
    assert "searchOrders" in str(refused.value) and "InvalidInput" in str(refused.value)


@pytest.mark.parametrize("answer", [
    (503, {}, b"<html>Service Unavailable</html>"),
    (500, {}, {"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]}),
    ConnectionResetError(104, "Connection reset by peer"),
    AmazonUnavailable("Amazon unreachable: ReadTimeoutError"),
])
def test_5xx_and_transport_failures_are_unavailable(answer):
    fake = FakeAmazon().on("/orders/2026-01-01/orders", answer)
    with pytest.raises(AmazonUnavailable) as failed:
        client(fake).search_orders(moment(), ["ATVPDKIKX0DER"])
    assert not isinstance(failed.value, AmazonThrottled)


def test_a_403_with_a_kept_token_is_retried_once_with_a_new_token():
    fake = FakeAmazon()
    denied = (403, {}, {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]})
    fake.on("/orders/2026-01-01/orders/203-0000001-0000001", ok(sample("get_order")), denied, ok(sample("get_order")))
    amazon = client(fake)
    amazon.get_order("203-0000001-0000001")
    amazon.get_order("203-0000001-0000001")  # 403 with the kept token, then fine with a new one
    assert len(fake.token_exchanges()) == 2 and len(fake.api()) == 3

    fake = FakeAmazon().on("/orders/2026-01-01/orders/203-0000001-0000001", denied)
    with pytest.raises(AmazonRejected) as refused:
        client(fake).get_order("203-0000001-0000001")  # a fresh token refused: no point asking again
    assert refused.value.status == 403 and len(fake.api()) == 1


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"[]", json.dumps({"orders": {"not": "a list"}}).encode(),
                                  json.dumps({"orders": ["not an object"]}).encode()])
def test_a_2xx_body_that_is_not_the_documented_shape_is_unreadable(body):
    fake = FakeAmazon().on("/orders/2026-01-01/orders", (200, {}, body))
    with pytest.raises(UnreadableOrder):
        client(fake).search_orders(moment(), ["ATVPDKIKX0DER"])


def test_logs_carry_no_token_and_no_buyer_data(caplog):
    fake = FakeAmazon().on("/orders/2026-01-01/orders", ok(sample("search_orders_page")))
    with caplog.at_level("INFO"):
        page = client(fake).search_orders(moment(), ["A1F83G8C2ARO7P"])
        for order in page.orders:
            order.channel_order(SkuMap())
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "searchOrders" in logged  # the call was logged...
    for secret in (ACCESS_TOKEN, CREDENTIALS.refresh_token, CREDENTIALS.client_secret, "Ada Example",
                   "f4k3b0x9q2@marketplace.amazon.co.uk", "45 Oak Avenue", "SW1A 1AA"):
        assert secret not in logged  # ...without a secret or anything about the buyer


# ------------------------------------------------------------------ mapping


def test_a_us_v0_order_maps_lines_shipping_discount_and_tax_on_top_to_amazons_total():
    mapped = to_channel_order(v0_order(0), v0_items(), SkuMap({"MUG 11oz/white": "MUG-WHT-11"}))
    assert mapped.action == IntakeAction.UPSERT
    assert (mapped.channel_order_id, mapped.channel_status) == ("113-0000001-0000001", "Unshipped")
    assert mapped.revision == moment("2026-11-02T10:15:30+00:00")
    request = mapped.request
    assert request is not None and request.channel_order_id == "113-0000001-0000001"
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in request.lines] == [
        ("TSHIRT-BLK-M", 2, Decimal("19.99")),  # ItemPrice 39.98 is the line total
        ("MUG-WHT-11", 1, Decimal("12.00"))]
    assert request.currency == "USD"
    assert request.shipping_price == Decimal("4.99")
    assert request.discount_total == Decimal("5.00")
    assert request.tax_total == Decimal("5.41")  # ItemTax 3.80 + 1.14, ShippingTax 0.47: on top in the US
    assert request.total == Decimal("57.38") == Decimal(v0_order(0)["OrderTotal"]["Amount"])
    assert (request.payment.provider, request.payment.status, request.payment.amount) == (
        PaymentProvider.EXTERNAL, "paid", Decimal("57.38"))
    assert request.promised_by == moment("2026-11-09T07:59:59+00:00")
    assert [p.field for p in mapped.problems] == ["ShippingAddress"]  # the restricted address, nothing else


def test_a_sku_the_map_cannot_make_ours_becomes_a_placeholder_and_a_problem():
    mapped = to_channel_order(v0_order(0), v0_items(), SkuMap())
    assert mapped.request is not None
    assert [ln.sku for ln in mapped.request.lines] == ["TSHIRT-BLK-M", "UNMAPPED-MUG-11oz-white"]
    (problem,) = [p for p in mapped.problems if p.field == "OrderItems[1].SellerSKU"]
    assert "MUG 11oz/white" in problem.problem


def test_without_restricted_data_the_address_gets_placeholders_and_one_problem_names_what_is_missing():
    mapped = to_channel_order(v0_order(0), v0_items(), SkuMap({"MUG 11oz/white": "MUG-WHT-11"}))
    assert mapped.request is not None
    address, customer = mapped.request.shipping_address, mapped.request.customer
    assert (address.city, address.region, address.postal_code, address.country) == ("SEATTLE", "WA", "98121-2778", "US")
    assert address.name == PLACEHOLDER_NAME and address.line1 == PLACEHOLDER_NAME
    assert customer.name == PLACEHOLDER_NAME and customer.email is None
    (problem,) = mapped.problems
    assert problem.field == "ShippingAddress"
    assert "Name" in problem.problem and "AddressLine1" in problem.problem and "Restricted Data Token" in problem.problem

    with_rdt = v0_order(0)
    with_rdt["ShippingAddress"].update({"Name": "Jo Example", "AddressLine1": "2201 Westlake Ave",
                                        "AddressLine2": "Suite 3", "Phone": "+1 206-555-0100"})
    with_rdt["BuyerInfo"] = {"BuyerEmail": "0x1fakebuyer@marketplace.amazon.com"}
    mapped = to_channel_order(with_rdt, v0_items(), SkuMap({"MUG 11oz/white": "MUG-WHT-11"}))
    assert mapped.problems == () and mapped.request is not None
    address, customer = mapped.request.shipping_address, mapped.request.customer
    assert (address.name, address.line1, address.line2) == ("Jo Example", "2201 Westlake Ave", "Suite 3")
    assert (customer.name, customer.email, customer.phone) == (
        "Jo Example", "0x1fakebuyer@marketplace.amazon.com", "+1 206-555-0100")


def test_without_the_pii_role_a_2026_order_says_so_too():
    mapped = to_channel_order(order_2026(1), None, SkuMap())
    (problem,) = mapped.problems
    assert problem.field == "recipient.deliveryAddress"
    assert "name, addressLine1" in problem.problem and "PII role" in problem.problem


@pytest.mark.parametrize(("status", "action"), [
    ("Pending", IntakeAction.ACKNOWLEDGE), ("PendingAvailability", IntakeAction.ACKNOWLEDGE),
    ("Unshipped", IntakeAction.UPSERT), ("PartiallyShipped", IntakeAction.ACKNOWLEDGE), ("Shipped", IntakeAction.ACKNOWLEDGE),
    ("InvoiceUnconfirmed", IntakeAction.ACKNOWLEDGE), ("Canceled", IntakeAction.CANCEL),
    ("Unfulfillable", IntakeAction.ACKNOWLEDGE),
])
def test_the_order_status_decides_the_action(status, action):
    order = v0_order(0)
    order["OrderStatus"] = status
    mapped = to_channel_order(order, v0_items(), SkuMap())
    assert mapped.action == action and mapped.channel_status == status
    assert (mapped.request is not None) == (action == IntakeAction.UPSERT)
    assert (mapped.cancel_reason is not None) == (action == IntakeAction.CANCEL)


def test_a_pending_order_is_acknowledged_without_its_items_or_prices():
    mapped = to_channel_order(v0_order(1), None, SkuMap())
    assert (mapped.action, mapped.request, mapped.problems) == (IntakeAction.ACKNOWLEDGE, None, ())
    assert mapped.revision == moment("2026-11-02T10:20:04+00:00")


@pytest.mark.parametrize("order", [v0_order(2), order_2026(2)], ids=["v0 AFN", "2026 fulfilledBy AMAZON"])
def test_an_order_fulfilled_by_amazon_is_acknowledged_and_says_it_is_not_ours_to_ship(order):
    mapped = to_channel_order(order, None, SkuMap())
    assert mapped.action == IntakeAction.ACKNOWLEDGE and mapped.request is None
    assert mapped.channel_status is not None and "fulfilled by Amazon" in mapped.channel_status


def test_a_total_that_does_not_add_up_is_a_problem_and_the_payment_says_what_amazon_charged():
    order = v0_order(0)
    order["OrderTotal"]["Amount"] = "60.00"
    mapped = to_channel_order(order, v0_items(), SkuMap({"MUG 11oz/white": "MUG-WHT-11"}))
    assert mapped.request is not None and mapped.request.total == Decimal("57.38")
    assert mapped.request.payment.amount == Decimal("60.00")  # capture holds the mismatch too
    (problem,) = [p for p in mapped.problems if p.field == "OrderTotal"]
    assert "57.38" in problem.problem and "60.00" in problem.problem


def test_eu_prices_include_vat_so_the_tax_amounts_are_not_added():
    order = v0_order(0)
    order.update({"MarketplaceId": "A1PA6795UKMFR9", "OrderTotal": {"CurrencyCode": "EUR", "Amount": "51.97"}})
    items = v0_items()
    for item in items:
        for money in item.values():
            if isinstance(money, dict) and "CurrencyCode" in money:
                money["CurrencyCode"] = "EUR"
    mapped = to_channel_order(order, items, SkuMap({"MUG 11oz/white": "MUG-WHT-11"}))
    assert mapped.request is not None
    assert mapped.request.tax_total is None  # ItemTax 3.80 etc. is the VAT inside ItemPrice
    assert mapped.request.total == Decimal("51.97")  # 39.98 + 12.00 + 4.99 - 5.00
    assert [p.field for p in mapped.problems] == ["ShippingAddress"]
    assert mapped.request.customer.language == "de"

    order["MarketplaceId"] = "ATVPDKIKX0DER"  # the same numbers read as a US order do not add up
    us = to_channel_order(order, items, SkuMap({"MUG 11oz/white": "MUG-WHT-11"}))
    assert "OrderTotal" in [p.field for p in us.problems]


def test_a_uk_2026_order_with_the_pii_role_maps_without_problems():
    mapped = to_channel_order(order_2026(0), None, SkuMap())
    assert mapped.problems == () and mapped.request is not None
    request = mapped.request
    assert (mapped.channel_order_id, mapped.channel_status) == ("203-0000001-0000001", "UNSHIPPED")
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in request.lines] == [
        ("HOODIE-GRY-L", 1, Decimal("24.99")), ("SOCKS-2P", 2, Decimal("10.00"))]
    assert (request.currency, request.shipping_price, request.tax_total) == ("GBP", Decimal("2.99"), None)
    assert request.total == request.payment.amount == Decimal("47.98")
    address = request.shipping_address
    assert (address.name, address.line1, address.line2, address.city, address.postal_code, address.country) == (
        "Ada Example", "45 Oak Avenue", "Flat 2A", "London", "SW1A 1AA", "GB")
    assert request.customer.email == "f4k3b0x9q2@marketplace.amazon.co.uk"
    assert request.promised_by == moment("2026-11-06T23:59:59+00:00")


def test_a_us_2026_order_adds_its_tax_and_leaves_the_delivery_tip_out_of_the_total():
    mapped = to_channel_order(order_2026(1), None, SkuMap())
    assert mapped.request is not None
    assert mapped.request.tax_total == Decimal("8.25")
    assert mapped.request.total == mapped.request.payment.amount == Decimal("108.23")  # grandTotal 113.23 - tip 5.00
    assert [p.field for p in mapped.problems] == ["recipient.deliveryAddress"]  # no total problem


def test_the_customer_id_is_the_same_for_one_buyer_email_and_never_the_email_itself():
    first, second = order_2026(0), order_2026(0)
    second.update({"orderId": "203-0000002-0000002"})
    second["buyer"]["buyerEmail"] = "F4K3B0X9Q2@marketplace.amazon.co.uk"
    a = to_channel_order(first, None, SkuMap()).request
    b = to_channel_order(second, None, SkuMap()).request
    assert a is not None and b is not None
    assert a.customer.id == b.customer.id and a.customer.id.startswith("amzn-")
    assert "marketplace" not in a.customer.id and "f4k3b0x9q2" not in a.customer.id

    anonymous = to_channel_order(order_2026(1), None, SkuMap()).request
    assert anonymous is not None and anonymous.customer.id == "amzn-order-114-0000005-0000005"


def test_a_line_total_that_is_no_whole_unit_price_is_kept_to_four_decimals_and_flagged():
    order, items = v0_order(0), v0_items()[:1]
    items[0].update({"QuantityOrdered": 3, "ItemPrice": {"CurrencyCode": "USD", "Amount": "10.00"}})
    mapped = to_channel_order(order, items, SkuMap())
    assert mapped.request is not None and mapped.request.lines[0].unit_price == Decimal("3.3333")
    assert "OrderItems[0].ItemPrice" in [p.field for p in mapped.problems]


def test_cash_on_delivery_is_a_cod_payment():
    order = v0_order(0)
    order["PaymentMethod"] = "COD"
    mapped = to_channel_order(order, v0_items(), SkuMap())
    assert mapped.request is not None and mapped.request.payment.status == "cod"


def test_a_2026_cancellation_carries_amazons_reason():
    order = order_2026(0)
    order["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
    order["orderItems"][0]["cancellation"] = {"cancellationRequest": {"requester": "BUYER", "cancelReason": "x"},
                                              "cancellationExecution": {"cancelledBy": "MERCHANT",
                                                                        "cancelReason": "Buyer requested cancellation"}}
    mapped = to_channel_order(order, None, SkuMap())
    assert (mapped.action, mapped.cancel_reason) == (IntakeAction.CANCEL, "Buyer requested cancellation")


def _broken(change):
    order = v0_order(0)
    change(order)
    return order


@pytest.mark.parametrize(("order", "items"), [
    ("not an order", v0_items()),
    ({"SomethingElse": 1}, v0_items()),
    (_broken(lambda o: o.update(LastUpdateDate="yesterday")), v0_items()),
    (_broken(lambda o: o.pop("OrderStatus")), v0_items()),
    (_broken(lambda o: o.update(OrderStatus="Teleported")), v0_items()),
    (_broken(lambda o: o.update(AmazonOrderId="has spaces in it")), v0_items()),
    (_broken(lambda o: o.update(OrderTotal={"CurrencyCode": "XXX", "Amount": "57.38"})), v0_items()),
    (_broken(lambda o: o.update(OrderTotal={"CurrencyCode": "USD", "Amount": "lots"})), v0_items()),
    (v0_order(0), None),
    (v0_order(0), [{"SellerSKU": "A", "QuantityOrdered": "two"}]),
    (v0_order(0), []),
], ids=["not a dict", "no id", "bad date", "no status", "unknown status", "bad id", "bad currency", "bad amount",
        "items not fetched", "bad quantity", "no items"])
def test_a_body_that_is_no_readable_order_raises_unreadable_order(order, items):
    with pytest.raises(UnreadableOrder):
        to_channel_order(order, items, SkuMap())


def test_whatever_a_field_holds_the_mapper_maps_or_raises_unreadable_order_and_nothing_else():
    weird_values = [None, "", "x", -1, 0, 1.5, True, [], {}, ["a"], {"Amount": "-5", "CurrencyCode": "USD"},
                    {"amount": "1e9", "currencyCode": "USD"}, "2026-13-45T99:99:99Z"]

    def paths(node, prefix=()):
        if isinstance(node, dict):
            for key, value in node.items():
                yield prefix + (key,)
                yield from paths(value, prefix + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield prefix + (i,)
                yield from paths(value, prefix + (i,))

    def mutated(root, path, value):
        copied = copy.deepcopy(root)
        node = copied
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return copied

    cases = 0
    for base, items in [(v0_order(0), v0_items()), (order_2026(0), None), (order_2026(1), None)]:
        for target in ("order", "items") if items is not None else ("order",):
            root = base if target == "order" else items
            for path in list(paths(root)):
                for value in weird_values:
                    order = mutated(base, path, value) if target == "order" else base
                    its = mutated(items, path, value) if target == "items" else items
                    cases += 1
                    try:
                        to_channel_order(order, its, SkuMap())
                    except UnreadableOrder:
                        pass
    assert cases > 1000


# ------------------------------------------------------------------ notifications


def test_an_order_change_notification_names_the_order_to_fetch():
    assert read_order_change_notification((PAYLOADS / "order_change_notification.json").read_text()) == [
        "203-0000001-0000001"]


def test_an_order_change_of_an_order_amazon_fulfils_names_nothing_to_fetch():
    message = sample("order_change_notification")
    message["Payload"]["OrderChangeNotification"]["Summary"]["FulfillmentType"] = "AFN"
    assert read_order_change_notification(json.dumps(message)) == []


@pytest.mark.parametrize("body", [
    "not json", "[]", json.dumps({"NotificationType": "ANY_OFFER_CHANGED", "Payload": {}}),
    json.dumps({"NotificationType": "ORDER_CHANGE", "Payload": {}}),
    json.dumps({"NotificationType": "ORDER_CHANGE", "Payload": {"OrderChangeNotification": {"AmazonOrderId": 5}}}),
])
def test_anything_but_an_order_change_is_unreadable(body):
    with pytest.raises(UnreadableOrder):
        read_order_change_notification(body)


def test_an_address_without_a_country_gets_the_placeholder_country():
    order = v0_order(0)
    order["ShippingAddress"]["CountryCode"] = "United States"
    mapped = to_channel_order(order, v0_items(), SkuMap())
    assert mapped.request is not None and mapped.request.shipping_address.country == PLACEHOLDER_COUNTRY
    assert any("CountryCode" in p.problem for p in mapped.problems)
