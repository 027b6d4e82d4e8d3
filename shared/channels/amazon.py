"""Amazon Selling Partner API (SP-API) orders: a client for the Orders API and a pure mapper of its
orders to our `ChannelOrder` (shared/channels/intake.py).

Sources (read 2026-11; the JSON models are github.com/amzn/selling-partner-api-models, main):
- models/orders-api-model/orders_2026-01-01.json: searchOrders GET /orders/2026-01-01/orders and
  getOrder GET /orders/2026-01-01/orders/{orderId} (the current version; items always included,
  buyer, recipient, proceeds, fulfilment and cancellation by `includedData`; the pagination token
  expires after 24 hours and is sent back as `paginationToken` with all other parameters unchanged)
- models/orders-api-model/ordersV0.json: getOrders GET /orders/v0/orders, getOrder
  GET /orders/v0/orders/{orderId}, getOrderItems GET /orders/v0/orders/{orderId}/orderItems (all
  marked deprecated in the model; kept as the fallback `legacy_v0=True`)
- schemas/notifications/OrderChangeNotification.json: the ORDER_CHANGE notification
- developer-docs.amazon.com/sp-api/docs/orders-api-migration-guide (v0 operation -> 2026-01-01)
- developer-docs.amazon.com/sp-api/docs/connect-to-the-selling-partner-api (LWA token exchange at
  https://api.amazon.com/auth/o2/token; tokens live an hour; the `x-amz-access-token` header),
  /sp-api/changelog/sp-api-will-no-longer-require-aws-iam-or-aws-signature-version-4 (no SigV4)
- developer-docs.amazon.com/sp-api/docs/sp-api-endpoints (the three regional hosts),
  /sp-api/docs/marketplace-ids, /sp-api/docs/usage-plans-and-rate-limits (token bucket; 429;
  the `x-amzn-RateLimit-Limit` header carries the operation's rate in requests per second)
- github.com/amzn/selling-partner-api-models/issues/4858 (EU ItemPrice is the line total with VAT)

What maps to what (`to_channel_order`):
- AmazonOrderId / orderId -> channel_order_id; LastUpdateDate / lastUpdatedTime -> revision;
  OrderStatus / fulfillment.fulfillmentStatus -> channel_status, and the action:
  Pending, PendingAvailability (no payment yet) -> ACKNOWLEDGE; Unshipped -> UPSERT;
  PartiallyShipped, Shipped, InvoiceUnconfirmed (shipped, in part or in full, outside the OMS:
  capturing now would ship it twice) -> ACKNOWLEDGE;
  Canceled -> CANCEL;
  Unfulfillable (Amazon-fulfilled only) -> ACKNOWLEDGE.
- Fulfilled by Amazon (FulfillmentChannel AFN / fulfilledBy AMAZON): ACKNOWLEDGE whatever its
  status. Amazon ships those from its own warehouses; the OMS must not reserve or ship them.
- Lines: SellerSKU through the SkuMap (unmappable: placeholder SKU + problem); QuantityOrdered;
  unit price = ItemPrice / quantity in v0 (ItemPrice is the line total), product.price.unitPrice in
  2026-01-01. v0 has no cancelled quantity per item (the model has none), so none is subtracted.
- Shipping: ShippingPrice (+ the COD fee less its discount, + gift wrap) -> shipping_price.
  Discounts: PromotionDiscount + ShippingDiscount -> discount_total.
- Tax: by marketplace. The US and Canada price without tax: ItemTax + ShippingTax (+ GiftWrapTax,
  less the tax on discounts) -> tax_total. The EU and UK marketplaces price with VAT: the tax fields
  only tell the VAT inside the prices and are not added. Any other marketplace: whichever reading
  adds up to OrderTotal (else a problem).
- Our total (lines + shipping - discounts + tax_total) must equal OrderTotal (2026-01-01:
  proceeds.grandTotal less any DELIVERY_TIP, which is not the order's) to the currency's minor unit,
  else a problem. Currency: OrderTotal's.
- Payment: external (Amazon collects and pays out), paid, amount = OrderTotal; `cod` for a cash on
  delivery order (PaymentMethod COD / a CashOnDelivery payment execution).
- Address: ShippingAddress / recipient.deliveryAddress. Without a Restricted Data Token (v0) or the
  Orders PII role (2026-01-01) Amazon sends only city, region, postal code and country: the name
  and street lines are then filled with placeholders and one problem names what is missing.
- Customer: name from BuyerName, else the address name. Email: BuyerEmail (Amazon's anonymised
  relay address) when it is there, else None. Customer id: "amzn-" + the first 24 hex digits of the
  SHA-256 of the lower-cased BuyerEmail, so the same buyer gets the same id across orders without
  their address being stored as an id; without an email, "amzn-order-<AmazonOrderId>" (one
  customer per order: nothing else Amazon sends identifies a buyer). Language: from the marketplace
  (de, fr, es where we write those), else en.
- promised_by: LatestDeliveryDate / fulfillment.deliverByWindow.latestDateTime.

A body that is not an order we can read at all raises `UnreadableOrder` and nothing else; messages
name fields, never a buyer's data. Credentials go into the LWA form body and the access token into
the `x-amz-access-token` header only, never into a log line, an exception or a repr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from shared.adapters.outbound import HttpsTransport
from shared.channels.amazon_mapping import to_channel_order
from shared.channels.amazon_reading import V0_ACTIONS, list_at, object_at, order_id_at
from shared.channels.intake import (
    ChannelOrder,
    IntakeAction,
    SkuMap,
    UnreadableOrder,
)
from shared.observability import logger

# ------------------------------------------------------------------ where requests may go

# developer-docs.amazon.com/sp-api/docs/sp-api-endpoints: NA (CA, US, MX, BR), EU (incl. UK, TR,
# AE, SA, EG, IN, ZA), FE (SG, AU, JP). Nothing else gets our access token.
SP_API_ENDPOINTS = frozenset({
    "https://sellingpartnerapi-na.amazon.com",
    "https://sellingpartnerapi-eu.amazon.com",
    "https://sellingpartnerapi-fe.amazon.com",
})
# The LWA token endpoint the SP-API docs name for every region. Fixed: the refresh token and client
# secret are sent nowhere else.
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
TOKEN_MARGIN_SECONDS = 60  # an access token is renewed this long before Amazon says it expires

ORDERS_2026 = "/orders/2026-01-01/orders"
ORDERS_V0 = "/orders/v0/orders"
# What searchOrders/getOrder (2026-01-01) should include beside the items, which always come.
INCLUDED_DATA = ("BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT", "CANCELLATION", "PAYMENT")
MAX_PAGE_SIZE = 100  # maxResultsPerPage / MaxResultsPerPage: 1 to 100

USER_AGENT = "serverless-oms (Language=Python)"

# (method, url, headers, body or None) -> (HTTP status, response headers, raw body). Raises
# AmazonUnavailable (or OSError) when no answer came.
Transport = Callable[[str, str, dict[str, str], bytes | None], tuple[int, Mapping[str, str], bytes]]


# ------------------------------------------------------------------ errors


class AmazonError(Exception):
    """Amazon could not answer what we asked."""


class AmazonUnavailable(AmazonError):
    """No answer, a 5xx, or an answer that was not JSON: retry later."""


class AmazonThrottled(AmazonUnavailable):
    """Still throttled (429) after our retries, or the wait Amazon's rate asks for is longer than
    we may wait here: try again at the next scheduled run."""


class AmazonRejected(AmazonError):
    """A 4xx other than 429: Amazon refused the request (bad parameters, no access, unknown order,
    an expired pagination token). `errors` holds Amazon's (code, message) pairs."""

    def __init__(self, operation: str, status: int, errors: list[tuple[str, str]]):
        described = "; ".join(f"{code}: {message}" for code, message in errors) or "no error body"
        super().__init__(f"Amazon {operation}: HTTP {status}: {described}")
        self.operation, self.status, self.errors = operation, status, errors

    @property
    def codes(self) -> list[str]:
        return [code for code, _ in self.errors]


# ------------------------------------------------------------------ the default transport


class Urllib3Transport(HttpsTransport):
    """The default transport (shared/adapters/outbound.py). No retries of its own: the client decides
    what to retry."""

    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = 30.0):
        super().__init__(lambda why: AmazonUnavailable(f"Amazon unreachable: {why}"), connect_timeout, read_timeout)


def _send(transport: Transport, method: str, url: str, headers: dict[str, str], body: bytes | None
          ) -> tuple[int, dict[str, str], bytes]:
    try:
        status, response_headers, raw = transport(method, url, headers, body)
    except OSError as exc:  # a transport that lets the socket's error through
        raise AmazonUnavailable(f"Amazon unreachable: {type(exc).__name__}") from None
    return status, {k.lower(): v for k, v in response_headers.items()}, raw or b""


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


# ------------------------------------------------------------------ Login with Amazon


@dataclass(frozen=True)
class LwaCredentials:
    """The application's LWA client and the selling partner's refresh token (from its authorisation)."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)


class LwaTokens:
    """Access tokens for the SP-API: the refresh token exchanged at LWA_TOKEN_URL (grant_type
    refresh_token), each kept until TOKEN_MARGIN_SECONDS before its `expires_in`."""

    def __init__(self, credentials: LwaCredentials, transport: Transport,
                 clock: Callable[[], float] = time.monotonic):
        if not (credentials.client_id and credentials.client_secret and credentials.refresh_token):
            raise ValueError("an LWA client id, client secret and refresh token are required")
        self._credentials, self._transport, self._clock = credentials, transport, clock
        self._token: str | None = None
        self._until = 0.0

    def __repr__(self) -> str:
        return f"LwaTokens(client_id={self._credentials.client_id!r})"

    @property
    def cached(self) -> bool:
        return self._token is not None and self._clock() < self._until

    def invalidate(self) -> None:
        self._token = None

    def access_token(self) -> str:
        if self._token is not None and self._clock() < self._until:
            return self._token
        asked_at = self._clock()
        body = urlencode({"grant_type": "refresh_token", "refresh_token": self._credentials.refresh_token,
                          "client_id": self._credentials.client_id,
                          "client_secret": self._credentials.client_secret}).encode()
        status, _, raw = _send(self._transport, "POST", LWA_TOKEN_URL,
                               {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
                                "Accept": "application/json", "User-Agent": USER_AGENT}, body)
        logger.info("amazon lwa token", extra={"status": status})
        answer = _json(raw)
        payload: dict = answer if isinstance(answer, dict) else {}
        if status == 429 or status >= 500:
            raise AmazonUnavailable(f"LWA token exchange: HTTP {status}")
        if not 200 <= status < 300:
            # OAuth 2.0 error body: {"error": "invalid_grant", "error_description": "..."}
            code = str(payload.get("error") or f"http_{status}")
            raise AmazonRejected("LWA token exchange", status,
                                 [(code, self._scrub(str(payload.get("error_description") or "")))])
        token, expires_in = payload.get("access_token"), payload.get("expires_in")
        if not isinstance(token, str) or not token:
            raise AmazonUnavailable("LWA token exchange answered without an access_token")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) \
            else 3600.0  # the documented lifetime, when the answer does not say
        self._token, self._until = token, asked_at + lifetime - TOKEN_MARGIN_SECONDS
        return token

    def _scrub(self, text: str) -> str:
        for secret in (self._credentials.client_secret, self._credentials.refresh_token):
            text = text.replace(secret, "***")
        return text


# ------------------------------------------------------------------ what the client answers


@dataclass(frozen=True)
class AmazonOrder:
    """One order as Amazon sent it: `order` is the v0 Order or the 2026-01-01 Order object; `items`
    the v0 OrderItems (None when not fetched: they are fetched only for orders the OMS captures),
    or the 2026-01-01 order's own orderItems."""

    order: Mapping[str, Any]
    items: Sequence[Mapping[str, Any]] | None = None

    @property
    def order_id(self) -> str:
        value = self.order.get("AmazonOrderId") or self.order.get("orderId")
        return value if isinstance(value, str) else ""

    @property
    def fulfilled_by_amazon(self) -> bool:
        fulfillment = self.order.get("fulfillment")
        return self.order.get("FulfillmentChannel") == "AFN" or (
            isinstance(fulfillment, dict) and fulfillment.get("fulfilledBy") == "AMAZON")

    def channel_order(self, sku_map: SkuMap) -> ChannelOrder:
        return to_channel_order(self.order, self.items, sku_map)


@dataclass(frozen=True)
class OrdersPage:
    orders: list[AmazonOrder]
    next_token: str | None  # None on the last page


# ------------------------------------------------------------------ the client


class AmazonOrders:
    """The Orders API of one selling partner in one region.

    search_orders  searchOrders (2026-01-01) with lastUpdatedAfter, marketplaceIds,
                   maxResultsPerPage, includedData and paginationToken; with `legacy_v0`, getOrders
                   (MarketplaceIds, LastUpdatedAfter, MaxResultsPerPage, NextToken) and, for each
                   merchant-fulfilled order the OMS would capture, getOrderItems (all its pages).
    get_order      getOrder, for a notification (v0: getOrder + getOrderItems).

    Throttling (429): the same request is repeated after a wait of `backoff` seconds, doubled at
    each attempt, and at least 1 / the rate Amazon's x-amzn-RateLimit-Limit header gave for the
    operation (so no more requests per second than that rate); once an operation was throttled,
    its later calls are spaced by that rate too. After `max_attempts`, or when a wait would exceed
    `max_wait` (searchOrders' default rate is one request every 180 s), AmazonThrottled.
    5xx or no answer: AmazonUnavailable. Any other 4xx: AmazonRejected with Amazon's errors.
    A 403 with a cached access token is retried once with a new token (it may have been revoked).
    """

    def __init__(self, endpoint: str, credentials: LwaCredentials, transport: Transport | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 *, legacy_v0: bool = False, page_size: int = MAX_PAGE_SIZE, max_attempts: int = 5,
                 backoff: float = 1.0, max_wait: float = 20.0):
        base = endpoint.rstrip("/")
        if base not in SP_API_ENDPOINTS:
            raise ValueError(f"{endpoint!r} is not an SP-API regional endpoint ({', '.join(sorted(SP_API_ENDPOINTS))})")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base = base
        self._transport = transport if transport is not None else Urllib3Transport()
        self._tokens = LwaTokens(credentials, self._transport, clock)
        self._sleep, self._clock = sleep, clock
        self.legacy_v0, self._page_size = legacy_v0, page_size
        self._max_attempts, self._backoff, self._max_wait = max_attempts, backoff, max_wait
        self._rates: dict[str, float] = {}       # operation -> requests per second, as Amazon last said
        self._paced: set[str] = set()            # operations throttled in this client's life
        self._last_call: dict[str, float] = {}   # operation -> clock() of its last request

    def __repr__(self) -> str:
        return f"AmazonOrders(endpoint={self._base!r}, legacy_v0={self.legacy_v0})"

    def access_token(self) -> str:
        return self._tokens.access_token()

    # -------------------------------------------------------------- operations

    def search_orders(self, updated_after: datetime, marketplace_ids: Sequence[str],
                      next_token: str | None = None) -> OrdersPage:
        """One page of the orders of `marketplace_ids` last updated at or after `updated_after`.
        A `next_token` must come with the same `updated_after` and marketplaces as the page that
        gave it (Amazon refuses it otherwise, and after 24 hours)."""
        if not marketplace_ids:
            raise ValueError("at least one marketplace id is required")
        if len(marketplace_ids) > 50:
            raise ValueError("at most 50 marketplace ids per request")
        after = _iso(updated_after)
        if self.legacy_v0:
            query = [("MarketplaceIds", ",".join(marketplace_ids)), ("LastUpdatedAfter", after),
                     ("MaxResultsPerPage", str(self._page_size))]
            if next_token:
                query.append(("NextToken", next_token))
            answer = self._get("getOrders", ORDERS_V0, query)
            payload = object_at(answer.get("payload"), "getOrders payload")
            raw_orders = list_at(payload.get("Orders"), "getOrders payload.Orders")
            orders = [self._with_items(object_at(o, "getOrders payload.Orders[]")) for o in raw_orders]
            return OrdersPage(orders, _token(payload.get("NextToken")))
        query = [("lastUpdatedAfter", after), ("marketplaceIds", ",".join(marketplace_ids)),
                 ("maxResultsPerPage", str(self._page_size)), ("includedData", ",".join(INCLUDED_DATA))]
        if next_token:
            query.append(("paginationToken", next_token))
        answer = self._get("searchOrders", ORDERS_2026, query)
        raw_orders = list_at(answer.get("orders"), "searchOrders orders")
        orders = [_order_2026(object_at(o, "searchOrders orders[]")) for o in raw_orders]
        pagination = answer.get("pagination")
        return OrdersPage(orders, _token(pagination.get("nextToken") if isinstance(pagination, dict) else None))

    def get_order(self, amazon_order_id: str) -> AmazonOrder:
        """One order with its items (for a notification)."""
        if not amazon_order_id:
            raise ValueError("an Amazon order id is required")
        path = f"/{_segment(amazon_order_id)}"
        if self.legacy_v0:
            answer = self._get("getOrder", ORDERS_V0 + path, [])
            return self._with_items(object_at(answer.get("payload"), "getOrder payload"))
        answer = self._get("getOrder", ORDERS_2026 + path, [("includedData", ",".join(INCLUDED_DATA))])
        return _order_2026(object_at(answer.get("order"), "getOrder order"))

    def order_items(self, amazon_order_id: str) -> list[Mapping[str, Any]]:
        """v0 getOrderItems, every page of it."""
        items: list[Mapping[str, Any]] = []
        token: str | None = None
        path = f"{ORDERS_V0}/{_segment(amazon_order_id)}/orderItems"
        while True:
            answer = self._get("getOrderItems", path, [("NextToken", token)] if token else [])
            payload = object_at(answer.get("payload"), "getOrderItems payload")
            items.extend(object_at(i, "getOrderItems payload.OrderItems[]")
                         for i in list_at(payload.get("OrderItems"), "getOrderItems payload.OrderItems"))
            token = _token(payload.get("NextToken"))
            if token is None:
                return items

    def _with_items(self, order: Mapping[str, Any]) -> AmazonOrder:
        """A v0 order, with its items when the OMS would capture it (their prices are there only
        once the order left Pending, and Amazon-fulfilled or cancelled orders need none)."""
        needs_items = (order.get("FulfillmentChannel") != "AFN"
                       and V0_ACTIONS.get(str(order.get("OrderStatus"))) == IntakeAction.UPSERT)
        order_id = order.get("AmazonOrderId")
        if needs_items and isinstance(order_id, str) and order_id:
            return AmazonOrder(order, self.order_items(order_id))
        return AmazonOrder(order, None)

    # -------------------------------------------------------------- HTTP

    def _get(self, operation: str, path: str, query: list[tuple[str, str]]) -> dict:
        url = self._base + path + (f"?{urlencode(query)}" if query else "")
        attempt, renewed = 0, False
        while True:
            attempt += 1
            self._pace(operation)
            token_was_cached = self._tokens.cached
            headers = {"x-amz-access-token": self._tokens.access_token(), "Accept": "application/json",
                       "User-Agent": USER_AGENT}
            started = self._clock()
            self._last_call[operation] = started
            status, response_headers, raw = _send(self._transport, "GET", url, headers, None)
            rate = _rate_limit(response_headers)
            if rate is not None:
                self._rates[operation] = rate
            # Operation and status only: never the token, the query or a body.
            logger.info("amazon call", extra={"operation": operation, "status": status, "attempt": attempt,
                                              "ms": round((self._clock() - started) * 1000)})
            if 200 <= status < 300:
                answer = _json(raw)
                if not isinstance(answer, dict):
                    raise UnreadableOrder(f"Amazon {operation} answered {status} with a body that is not a JSON "
                                          "object")
                return answer
            if status == 429:
                self._paced.add(operation)
                wait = max(self._backoff * 2 ** (attempt - 1), self._interval(operation))
                if attempt >= self._max_attempts or wait > self._max_wait:
                    raise AmazonThrottled(f"Amazon {operation}: still throttled after {attempt} attempt(s)")
                self._sleep(wait)
                continue
            if status == 403 and token_was_cached and not renewed:
                self._tokens.invalidate()  # revoked or expired early: one more try with a new one
                renewed = True
                continue
            if status >= 500:
                raise AmazonUnavailable(f"Amazon {operation}: HTTP {status}")
            raise AmazonRejected(operation, status, _errors(_json(raw)))

    def _interval(self, operation: str) -> float:
        rate = self._rates.get(operation)
        return 1.0 / rate if rate else 0.0

    def _pace(self, operation: str) -> None:
        """No faster than Amazon's rate for an operation that was throttled."""
        if operation not in self._paced or operation not in self._last_call:
            return
        wait = self._last_call[operation] + self._interval(operation) - self._clock()
        if wait > self._max_wait:
            raise AmazonThrottled(f"Amazon {operation}: its rate allows the next request only in {wait:.0f} s")
        if wait > 0:
            self._sleep(wait)


def _rate_limit(headers: Mapping[str, str]) -> float | None:
    try:
        rate = float(headers.get("x-amzn-ratelimit-limit", ""))
    except ValueError:
        return None
    return rate if rate > 0 and rate == rate and rate != float("inf") else None


def _errors(body: Any) -> list[tuple[str, str]]:
    """Amazon's errors[] (code, message, details), as (code, message)."""
    raw = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        return []
    return [(str(e.get("code") or "unknown"), str(e.get("message") or "")) for e in raw if isinstance(e, dict)]


def _segment(value: str) -> str:
    """An id as one path segment: a stray "/" or "?" must not reach another endpoint."""
    return quote(value, safe="")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("updated_after must carry its offset")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _token(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _order_2026(order: Mapping[str, Any]) -> AmazonOrder:
    items = order.get("orderItems")
    return AmazonOrder(order, items if isinstance(items, list) else None)


# ------------------------------------------------------------------ notifications


def read_order_change_notification(body: str) -> list[str]:
    """The order ids an ORDER_CHANGE notification (the SQS message body: NotificationType
    ORDER_CHANGE, Payload.OrderChangeNotification.AmazonOrderId) asks us to fetch. An order that
    Amazon fulfils (Summary.FulfillmentType AFN) names nothing to fetch. Anything else:
    UnreadableOrder."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError):
        raise UnreadableOrder("the notification is not JSON") from None
    if not isinstance(message, dict):
        raise UnreadableOrder("the notification is not a JSON object")
    kind = message.get("NotificationType")
    if kind != "ORDER_CHANGE":
        raise UnreadableOrder(f"notification type {str(kind)[:40]!r} is not ORDER_CHANGE", field="NotificationType")
    payload = message.get("Payload")
    change = payload.get("OrderChangeNotification") if isinstance(payload, dict) else None
    if not isinstance(change, dict):
        raise UnreadableOrder("no Payload.OrderChangeNotification", field="Payload.OrderChangeNotification")
    order_id = order_id_at(change.get("AmazonOrderId"), "Payload.OrderChangeNotification.AmazonOrderId")
    summary = change.get("Summary")
    if isinstance(summary, dict) and summary.get("FulfillmentType") == "AFN":
        return []
    return [order_id]
