"""Shopify's stock feed against a fake transport (never the network): what it sends to the GraphQL
Admin API and how it reads the answers (channel_payloads/shopify/graphql_*.json, shaped like Shopify's
documented responses: data with userErrors, errors with extensions.code THROTTLED and
extensions.cost.throttleStatus; values ours).

Sources
  mutation   https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventorySetQuantities,
             .../input-objects/InventoryQuantityInput (changeFromQuantity required since 2026-04),
             .../enums/InventorySetQuantitiesUserErrorCode
  idempotent https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations
  limits     https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.channels import shopify_inventory as inventory_module
from shared.channels.shopify_inventory import (
    API_VERSION,
    ShopifyInventory,
    ShopifyRejected,
    ShopifyThrottled,
    ShopifyUnavailable,
    Urllib3Transport,
)

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).parent / "channel_payloads" / "shopify"
SHOP = "northfold.myshopify.com"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
ITEM = "gid://shopify/InventoryItem/46708345028712"
LOCATION = "gid://shopify/Location/71234561234"
KEY = "stock-feed-TSHIRT-BLK-M-71234561234-000042"


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def graphql(data: dict) -> bytes:
    return json.dumps({"data": data}).encode()


class FakeShopify:
    """A transport that answers from a script and records every request, its JSON body parsed."""

    def __init__(self, *answers: tuple[int, dict[str, str], bytes] | Exception):
        self.answers = list(answers)
        self.requests: list[dict] = []

    def __call__(self, method, url, headers, body):
        self.requests.append({"method": method, "url": url, "headers": dict(headers), "json": json.loads(body)})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def shop(*answers) -> tuple[ShopifyInventory, FakeShopify]:
    fake = FakeShopify(*answers)
    return ShopifyInventory(SHOP, TOKEN, fake), fake


def ok(name: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, raw(name)


# --- configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("domain", [
    "evil.example.com", "northfold.myshopify.com.evil.example.com", "Northfold.myshopify.com",
    "northfold.myshopify.com/", "https://northfold.myshopify.com", "northfold.myshopify.com\n",
    "-northfold.myshopify.com", "", "northfold.myshopify.com:443", "a@evil.example#.myshopify.com",
    "northfold.myshopifyXcom", ".myshopify.com"])
def test_only_a_myshopify_domain_may_receive_the_token(domain):
    with pytest.raises(ValueError):
        ShopifyInventory(domain, TOKEN, FakeShopify())


@pytest.mark.parametrize("version", ["../2026-10", "2026-11", "latest", "2026-10/x"])
def test_the_api_version_is_a_shopify_version(version):
    with pytest.raises(ValueError):
        ShopifyInventory(SHOP, TOKEN, FakeShopify(), api_version=version)


def test_an_empty_token_is_refused():
    with pytest.raises(ValueError):
        ShopifyInventory(SHOP, "", FakeShopify())


def test_the_token_is_not_in_the_repr():
    assert TOKEN not in repr(ShopifyInventory(SHOP, TOKEN, FakeShopify()))


# --- looking up a SKU --------------------------------------------------------------------------------

def test_a_sku_is_looked_up_as_a_product_variant_of_the_shop():
    inventory, fake = shop(ok("graphql_product_variants"))
    assert inventory.inventory_item_for_sku("TSHIRT-BLK-M") == ITEM
    [request] = fake.requests
    assert request["method"] == "POST"
    assert request["url"] == f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json"
    assert request["headers"]["X-Shopify-Access-Token"] == TOKEN
    assert request["headers"]["Content-Type"] == "application/json"
    assert "productVariants(first: 1, query: $query)" in request["json"]["query"]
    assert request["json"]["variables"] == {"query": 'sku:"TSHIRT-BLK-M"'}


def test_lookups_are_cached_per_instance_found_or_not():
    empty = (200, {}, graphql({"productVariants": {"nodes": []}}))
    inventory, fake = shop(ok("graphql_product_variants"), empty)
    assert inventory.inventory_item_for_sku("TSHIRT-BLK-M") == ITEM
    assert inventory.inventory_item_for_sku("NOT-SOLD-HERE") is None
    assert inventory.inventory_item_for_sku("TSHIRT-BLK-M") == ITEM
    assert inventory.inventory_item_for_sku("NOT-SOLD-HERE") is None
    assert len(fake.requests) == 2


def test_a_variant_whose_sku_only_resembles_ours_is_not_it():
    inventory, _ = shop(ok("graphql_product_variants"))  # answers TSHIRT-BLK-M
    assert inventory.inventory_item_for_sku("TSHIRT-BLK") is None


def test_quotes_in_a_sku_cannot_change_the_search():
    answer = graphql({"productVariants": {"nodes": []}})
    inventory, fake = shop((200, {}, answer))
    inventory.inventory_item_for_sku('A" OR sku:*\\')
    assert fake.requests[0]["json"]["variables"]["query"] == 'sku:"A\\" OR sku:*\\\\"'


@pytest.mark.parametrize("sku", ["", "x" * 256, "TAB\tSKU"])
def test_a_sku_that_cannot_be_one_is_refused_before_any_call(sku):
    inventory, fake = shop()
    with pytest.raises(ValueError):
        inventory.inventory_item_for_sku(sku)
    assert fake.requests == []


# --- setting what may be sold ---------------------------------------------------------------------

def test_available_is_set_with_the_documented_mutation_and_idempotency_key():
    inventory, fake = shop(ok("graphql_inventory_set_quantities"))
    assert inventory.set_available(ITEM, LOCATION, 7, KEY) is None
    [request] = fake.requests
    assert "inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey)" in request["json"]["query"]
    assert "userErrors { code field message }" in request["json"]["query"]
    assert request["json"]["variables"] == {
        "idempotencyKey": KEY,
        "input": {"name": "available", "reason": "correction", "quantities": [
            {"inventoryItemId": ITEM, "locationId": LOCATION, "quantity": 7, "changeFromQuantity": None}]},
    }


def test_change_from_quantity_is_sent_as_an_explicit_null():
    inventory, fake = shop(ok("graphql_inventory_set_quantities"))
    inventory.set_available(ITEM, LOCATION, 0, KEY)
    quantity = fake.requests[0]["json"]["variables"]["input"]["quantities"][0]
    assert "changeFromQuantity" in quantity and quantity["changeFromQuantity"] is None  # omitted is an error


def test_user_errors_are_rejected_with_their_field_and_code():
    inventory, _ = shop(ok("graphql_inventory_set_quantities_user_errors"))
    with pytest.raises(ShopifyRejected) as refused:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert refused.value.field == "input.quantities.0.locationId"
    assert refused.value.message == "The specified location could not be found."
    assert refused.value.code == "INVALID_LOCATION"


def test_a_request_still_running_under_the_same_key_is_retryable():
    errors = graphql({"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": [
        {"code": "IDEMPOTENCY_CONCURRENT_REQUEST", "field": None,
         "message": "This request is currently in progress, please try again."}]}})
    inventory, _ = shop((200, {}, errors))
    with pytest.raises(ShopifyUnavailable) as retry:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert not isinstance(retry.value, ShopifyRejected)


def test_a_key_reused_for_other_parameters_is_rejected():
    errors = graphql({"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": [
        {"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "field": None,
         "message": "The same idempotency key cannot be used with different operation parameters."}]}})
    inventory, _ = shop((200, {}, errors))
    with pytest.raises(ShopifyRejected) as refused:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert refused.value.code == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH" and refused.value.field is None


@pytest.mark.parametrize(("item", "location", "quantity", "key"), [
    ("46708345028712", LOCATION, 1, KEY),
    ("gid://shopify/ProductVariant/1", LOCATION, 1, KEY),
    (ITEM, "gid://shopify/Location/abc", 1, KEY),
    (ITEM, LOCATION, -1, KEY),
    (ITEM, LOCATION, 1_000_000_001, KEY),
    (ITEM, LOCATION, True, KEY),
    (ITEM, LOCATION, 1.0, KEY),
    (ITEM, LOCATION, 1, ""),
    (ITEM, LOCATION, 1, "k" * 256),
    (ITEM, LOCATION, 1, "with space"),
])
def test_arguments_that_cannot_be_sent_are_refused_before_any_call(item, location, quantity, key):
    inventory, fake = shop()
    with pytest.raises(ValueError):
        inventory.set_available(item, location, quantity, key)
    assert fake.requests == []


# --- failures ---------------------------------------------------------------------------------------

def test_a_throttled_answer_suggests_a_wait_from_its_cost():
    inventory, _ = shop(ok("graphql_throttled"))
    with pytest.raises(ShopifyThrottled) as throttled:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert throttled.value.retry_after == pytest.approx((752 - 666) / 50.0)  # requested - available, / restore


def test_http_429_is_throttled_with_the_retry_after_header():
    inventory, _ = shop((429, {"retry-after": "2.0"}, b""))
    with pytest.raises(ShopifyThrottled) as throttled:
        inventory.inventory_item_for_sku("TSHIRT-BLK-M")
    assert throttled.value.retry_after == 2.0


@pytest.mark.parametrize(("headers", "wait"), [({}, 1.0), ({"Retry-After": "soon"}, 1.0),
                                               ({"Retry-After": "3600"}, 60.0), ({"Retry-After": "nan"}, 1.0)])
def test_without_a_usable_hint_the_wait_is_bounded(headers, wait):
    inventory, _ = shop((429, headers, b"<html>Too Many Requests</html>"))
    with pytest.raises(ShopifyThrottled) as throttled:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert throttled.value.retry_after == wait


def test_throttled_is_retryable():
    assert issubclass(ShopifyThrottled, ShopifyUnavailable)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable(status):
    inventory, _ = shop((status, {}, b"<html>Bad gateway</html>"))
    with pytest.raises(ShopifyUnavailable) as unavailable:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert not isinstance(unavailable.value, ShopifyThrottled) and str(status) in str(unavailable.value)


@pytest.mark.parametrize("error", [ConnectionResetError("reset"), TimeoutError("read timed out"),
                                   ConnectionRefusedError("refused")])
def test_a_transport_error_is_unavailable(error):
    inventory, _ = shop(error)
    with pytest.raises(ShopifyUnavailable):
        inventory.inventory_item_for_sku("TSHIRT-BLK-M")


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_unavailable_without_the_token(status):
    inventory, _ = shop((status, {}, b'{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}'))
    with pytest.raises(ShopifyUnavailable) as refused:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert "token" in str(refused.value) and TOKEN not in str(refused.value)


def test_a_4xx_is_rejected_with_shopifys_message():
    inventory, _ = shop((404, {}, b'{"errors":"Not Found"}'))
    with pytest.raises(ShopifyRejected) as refused:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert refused.value.code == "http_404" and "Not Found" in refused.value.message


def test_an_answer_that_is_not_graphql_is_unavailable():
    inventory, _ = shop((200, {}, b"<html>maintenance</html>"))
    with pytest.raises(ShopifyUnavailable):
        inventory.set_available(ITEM, LOCATION, 7, KEY)


def test_access_denied_is_unavailable_naming_the_scopes():
    denied = json.dumps({"errors": [{"message": "Access denied for inventorySetQuantities field.",
                                     "extensions": {"code": "ACCESS_DENIED"}}]}).encode()
    inventory, _ = shop((200, {}, denied))
    with pytest.raises(ShopifyUnavailable) as refused:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert "scopes" in str(refused.value) and not isinstance(refused.value, ShopifyThrottled)


def test_another_graphql_error_is_rejected():
    invalid = json.dumps({"errors": [{"message": "Variable $input of type InventorySetQuantitiesInput! was provided "
                                                 "invalid value", "path": ["inventorySetQuantities"],
                                      "extensions": {"code": "INVALID_VARIABLE"}}]}).encode()
    inventory, _ = shop((200, {}, invalid))
    with pytest.raises(ShopifyRejected) as refused:
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert refused.value.code == "INVALID_VARIABLE" and refused.value.field == "inventorySetQuantities"


def test_no_log_line_carries_the_token(monkeypatch):
    lines: list[str] = []
    monkeypatch.setattr(inventory_module.logger, "info", lambda msg, extra=None: lines.append(f"{msg} {extra}"))
    inventory, _ = shop(ok("graphql_product_variants"), (503, {}, b""))
    inventory.inventory_item_for_sku("TSHIRT-BLK-M")
    with pytest.raises(ShopifyUnavailable):
        inventory.set_available(ITEM, LOCATION, 7, KEY)
    assert len(lines) == 2 and "503" in lines[1]
    assert all(TOKEN not in line for line in lines)


# --- the default transport -------------------------------------------------------------------------

def test_the_default_transport_turns_network_errors_into_unavailable():
    import urllib3

    transport = Urllib3Transport(connect_timeout=0.01, read_timeout=0.01)

    def refuse(*args, **kwargs):
        raise urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]

    transport._pool.request = refuse  # type: ignore[method-assign]
    inventory = ShopifyInventory(SHOP, TOKEN, transport)
    with pytest.raises(ShopifyUnavailable) as raised:
        inventory.inventory_item_for_sku("TSHIRT-BLK-M")
    assert raised.value.__cause__ is None


def test_the_default_transport_times_out_and_does_not_retry_or_follow_redirects():
    transport = Urllib3Transport(connect_timeout=2, read_timeout=7)
    pool = transport._pool
    assert pool.connection_pool_kw["timeout"].connect_timeout == 2
    assert pool.connection_pool_kw["timeout"].read_timeout == 7
    retries = pool.connection_pool_kw["retries"]
    assert retries is False or retries.total is False

    seen = {}

    def answer(method, url, **kwargs):
        seen.update(kwargs, method=method, url=url)

        class Response:
            status, headers, data = 200, {"Content-Type": "application/json"}, raw("graphql_product_variants")
        return Response()

    transport._pool.request = answer  # type: ignore[method-assign]
    assert ShopifyInventory(SHOP, TOKEN, transport).inventory_item_for_sku("TSHIRT-BLK-M") == ITEM
    assert seen["redirect"] is False and seen["url"].startswith(f"https://{SHOP}/")
