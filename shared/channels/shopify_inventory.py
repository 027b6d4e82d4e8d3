"""Shopify's stock feed: tell a shop how many units of a SKU it may sell at one of its locations, with
the GraphQL Admin API. No AWS, no clock; the HTTP transport is injected (tests never reach the network).

Sources (read 2026-12):
- https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventorySetQuantities and its input
  objects InventorySetQuantitiesInput (name, reason, quantities, referenceDocumentUri) and
  InventoryQuantityInput (inventoryItemId, locationId, quantity, changeFromQuantity)
- https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations
  and https://shopify.dev/docs/api/usage/idempotent-requests (the @idempotent directive)
- https://shopify.dev/docs/api/admin-graphql/latest/queries/productVariants (search syntax `sku:`)
- https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits (calculated query cost,
  extensions.cost.throttleStatus, the THROTTLED error)
- https://shopify.dev/docs/api/usage/versioning (quarterly versions; 2026-10 is the latest stable)

What we send
  POST https://{shop}.myshopify.com/admin/api/{version}/graphql.json, X-Shopify-Access-Token.
  inventory_item_for_sku  productVariants(first: 1, query: "sku:\"<sku>\"") -> the variant's
                          inventoryItem id, only when the variant's SKU is exactly ours (search
                          matches loosely); None otherwise. Cached per instance, misses too.
  set_available           inventorySetQuantities with name "available", reason "correction" (one of
                          Shopify's documented reasons: the OMS corrects the figure to its own) and one
                          quantity. Since 2026-04 every quantity must carry changeFromQuantity (the
                          compare-and-swap value); we send it explicitly null: the OMS is the source
                          of truth for what may be sold, so the figure is set whatever Shopify had.
                          Since 2026-04 the @idempotent(key:) directive is required: the caller's key
                          goes in it, so a retry with the same key is applied once.
What we make of the answer
  HTTP 429, or a GraphQL error with extensions.code THROTTLED   ShopifyThrottled (retry after
      retry_after seconds: from extensions.cost, (requested - currently available) / restore rate,
      else the Retry-After header, else 1 s)
  userErrors (the mutation refused the input)                    ShopifyRejected(field, message, code)
  userErrors IDEMPOTENCY_CONCURRENT_REQUEST (still running)       ShopifyUnavailable (retry, same key)
  HTTP 5xx, a transport error, an answer that is not GraphQL     ShopifyUnavailable (retry)
  HTTP 401/403, ACCESS_DENIED                                    ShopifyUnavailable (the token or
                                                                  its scopes: an operator's fix)
  another 4xx or GraphQL error                                   ShopifyRejected
Only a shop domain of the form <name>.myshopify.com is accepted, so a misconfigured channel cannot
send the access token to another host; the token never reaches a log line, an error or the repr.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.adapters.outbound import HttpsTransport
from shared.observability import logger

API_VERSION = "2026-10"
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
API_VERSION_PATTERN = re.compile(r"[0-9]{4}-(01|04|07|10)")
INVENTORY_ITEM_ID = re.compile(r"gid://shopify/InventoryItem/[0-9]{1,20}")
LOCATION_ID = re.compile(r"gid://shopify/Location/[0-9]{1,20}")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
MAX_QUANTITY = 1_000_000_000  # GraphQL Int is 32-bit; no shop holds more
REASON = "correction"
# userErrors codes that ask for the same request again (InventorySetQuantitiesUserErrorCode): the first
# request with this key is still running. IDEMPOTENCY_KEY_PARAMETER_MISMATCH (the key was used for other
# parameters) and IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED (retry with a new key) are the caller's to decide.
RETRYABLE_USER_ERRORS = frozenset({"IDEMPOTENCY_CONCURRENT_REQUEST", "SERVICE_UNAVAILABLE"})
DEFAULT_WAIT = 1.0
MAX_WAIT = 60.0

# (method, url, headers, body) -> (HTTP status, response headers, body)
Transport = Callable[[str, str, dict[str, str], bytes], tuple[int, Mapping[str, str], bytes]]

VARIANT_BY_SKU = """
query VariantBySku($query: String!) {
  productVariants(first: 1, query: $query) {
    nodes { sku inventoryItem { id } }
  }
}
"""

SET_AVAILABLE = """
mutation SetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { reason changes { name delta } }
    userErrors { code field message }
  }
}
"""


class ShopifyUnavailable(Exception):
    """Shopify could not be asked, or did not answer: try again later with the same idempotency key."""


class ShopifyThrottled(ShopifyUnavailable):
    """Over the shop's rate limit: retryable after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ShopifyRejected(Exception):
    """Shopify refused what we sent (`field` is its path in our input, when it names one): repeating
    the same request will not help."""

    def __init__(self, field: str | None, message: str, code: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.field, self.message, self.code = field, message, code


class ShopifyInventory:
    """One shop's inventory, through its GraphQL Admin API."""

    def __init__(self, shop_domain: str, access_token: str, transport: Transport, api_version: str = API_VERSION):
        if not isinstance(shop_domain, str) or not SHOP_DOMAIN.fullmatch(shop_domain):
            raise ValueError("shop_domain must be the shop's <name>.myshopify.com domain")
        if not access_token:
            raise ValueError("a Shopify access token is required")
        if not API_VERSION_PATTERN.fullmatch(api_version):
            raise ValueError("api_version must be a Shopify version such as 2026-10")
        self._url = f"https://{shop_domain}/admin/api/{api_version}/graphql.json"
        self._token = access_token
        self._transport = transport
        self._items: dict[str, str | None] = {}

    def __repr__(self) -> str:  # the default repr would put the token into any log line holding us
        return f"ShopifyInventory(url={self._url!r}, access_token=***)"

    def inventory_item_for_sku(self, sku: str) -> str | None:
        """The inventory item id (gid://shopify/InventoryItem/...) of the variant whose SKU is `sku`."""
        if not sku or len(sku) > 255 or not sku.isprintable():
            raise ValueError("a SKU is 1 to 255 printable characters")
        if sku in self._items:
            return self._items[sku]
        quoted = sku.replace("\\", "\\\\").replace('"', '\\"')
        data = self._graphql(VARIANT_BY_SKU, {"query": f'sku:"{quoted}"'})
        item = None
        for node in _list(_dict(data.get("productVariants")).get("nodes")):
            found = _dict(_dict(node).get("inventoryItem")).get("id")
            if _dict(node).get("sku") == sku and isinstance(found, str) and INVENTORY_ITEM_ID.fullmatch(found):
                item = found
        self._items[sku] = item
        return item

    def set_available(self, inventory_item_id: str, location_id: str, quantity: int, idempotency_key: str) -> None:
        """Set the item's "available" quantity at the location to `quantity`, once per idempotency key."""
        if not INVENTORY_ITEM_ID.fullmatch(inventory_item_id):
            raise ValueError("inventory_item_id must be a gid://shopify/InventoryItem/<id>")
        if not LOCATION_ID.fullmatch(location_id):
            raise ValueError("location_id must be a gid://shopify/Location/<id>")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
            raise ValueError(f"quantity must be an integer from 0 to {MAX_QUANTITY}")
        if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ValueError("idempotency_key must be 1 to 255 printable ASCII characters")
        variables = {
            "idempotencyKey": idempotency_key,
            "input": {
                "name": "available",
                "reason": REASON,
                "quantities": [{"inventoryItemId": inventory_item_id, "locationId": location_id,
                                "quantity": quantity, "changeFromQuantity": None}],
            },
        }
        data = self._graphql(SET_AVAILABLE, variables)
        errors = _list(_dict(data.get("inventorySetQuantities")).get("userErrors"))
        if errors:
            first = _dict(errors[0])
            code, message = _text(first.get("code")), str(first.get("message") or "refused")
            if code in RETRYABLE_USER_ERRORS:
                raise ShopifyUnavailable(f"Shopify: {code}: {message}")
            path = [str(part) for part in _list(first.get("field"))]
            raise ShopifyRejected(".".join(path) or None, message, code)

    # --- the one call -----------------------------------------------------------------------------

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "X-Shopify-Access-Token": self._token, "User-Agent": "serverless-oms"}
        body = json.dumps({"query": query, "variables": variables}).encode()
        started = time.monotonic()
        try:
            status, answer_headers, raw = self._transport("POST", self._url, headers, body)
        except OSError as error:  # refused, reset, timed out (TimeoutError is an OSError)
            raise ShopifyUnavailable(f"Shopify unreachable: {type(error).__name__}") from None
        # Only the status and timing: never headers (the token) nor bodies.
        logger.info("shopify call", extra={"url": self._url, "status": status,
                                           "ms": round((time.monotonic() - started) * 1000)})
        payload = _decode(raw)
        if status == 429:
            raise ShopifyThrottled("Shopify throttled the call (HTTP 429)", _wait(payload, answer_headers))
        if status in (401, 403):
            raise ShopifyUnavailable(f"Shopify refused the access token (HTTP {status}): check the token and "
                                     "its write_inventory/read_products scopes")
        if status >= 500 or status < 200:
            raise ShopifyUnavailable(f"Shopify answered HTTP {status}")
        if status >= 300:
            raise ShopifyRejected(None, f"HTTP {status}: {_messages(payload)}", f"http_{status}")
        if payload is None:
            raise ShopifyUnavailable(f"Shopify answered HTTP {status} with no GraphQL document")
        errors = [_dict(error) for error in _list(payload.get("errors"))]
        if isinstance(payload.get("errors"), str):  # some errors come as one string
            errors = [{"message": payload["errors"]}]
        if errors:
            codes = {_text(_dict(error.get("extensions")).get("code")) for error in errors}
            if "THROTTLED" in codes:
                raise ShopifyThrottled("Shopify throttled the call (THROTTLED)", _wait(payload, answer_headers))
            if "ACCESS_DENIED" in codes:
                raise ShopifyUnavailable(f"Shopify denied access: {_messages(payload)} (check the token's scopes)")
            if "INTERNAL_SERVER_ERROR" in codes:
                raise ShopifyUnavailable(f"Shopify failed: {_messages(payload)}")
            first = errors[0]
            path = ".".join(str(part) for part in _list(first.get("path"))) or None
            raise ShopifyRejected(path, str(first.get("message") or "refused"),
                                  _text(_dict(first.get("extensions")).get("code")))
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ShopifyUnavailable("Shopify answered without data")
        return data


# --- reading answers defensively ------------------------------------------------------------------

def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(raw or b"null")
    except (ValueError, RecursionError):  # a proxy's HTML error page: the status says enough
        return None
    return document if isinstance(document, dict) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _messages(payload: dict[str, Any] | None) -> str:
    errors = _dict(payload).get("errors")
    if isinstance(errors, str):
        return errors[:500]
    texts = [str(_dict(error).get("message")) for error in _list(errors) if _dict(error).get("message")]
    return "; ".join(texts)[:500] or "no error message"


def _wait(payload: dict[str, Any] | None, headers: Mapping[str, str]) -> float:
    """Seconds until the bucket holds what the call asked for: from extensions.cost when Shopify sent
    it, else the Retry-After header, else DEFAULT_WAIT; never more than MAX_WAIT."""
    cost = _dict(_dict(_dict(payload).get("extensions")).get("cost"))
    throttle = _dict(cost.get("throttleStatus"))
    requested, available = _number(cost.get("requestedQueryCost")), _number(throttle.get("currentlyAvailable"))
    rate = _number(throttle.get("restoreRate"))
    if requested is not None and available is not None and rate:
        return min(MAX_WAIT, max(DEFAULT_WAIT, (requested - available) / rate))
    retry_after = next((value for name, value in headers.items() if name.lower() == "retry-after"), None)
    try:
        seconds = float(retry_after) if retry_after is not None else DEFAULT_WAIT
    except ValueError:  # an HTTP date, or garbage
        seconds = DEFAULT_WAIT
    return min(MAX_WAIT, max(DEFAULT_WAIT, seconds)) if math.isfinite(seconds) else DEFAULT_WAIT


class Urllib3Transport(HttpsTransport):
    """The default transport (shared/adapters/outbound.py). No retries of its own: the caller
    retries on ShopifyUnavailable with the same idempotency key."""

    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 30.0):
        super().__init__(lambda why: ShopifyUnavailable(f"Shopify unreachable: {why}"), connect_timeout, read_timeout)
