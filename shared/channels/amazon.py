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

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import ValidationError

from shared.adapters.outbound import HttpsTransport
from shared.channels.intake import (
    PLACEHOLDER_CITY,
    PLACEHOLDER_COUNTRY,
    PLACEHOLDER_NAME,
    ChannelOrder,
    IntakeAction,
    MappingProblem,
    SkuMap,
    UnreadableOrder,
    placeholder_sku,
)
from shared.domain.money import ISO_4217, ZERO, quantum
from shared.domain.orders import (
    ID_PATTERN,
    MAX_LINES,
    Address,
    Customer,
    OrderLine,
    OrderRequest,
    Payment,
)
from shared.domain.payments import PaymentProvider
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
            payload = _object(answer.get("payload"), "getOrders payload")
            raw_orders = _list(payload.get("Orders"), "getOrders payload.Orders")
            orders = [self._with_items(_object(o, "getOrders payload.Orders[]")) for o in raw_orders]
            return OrdersPage(orders, _token(payload.get("NextToken")))
        query = [("lastUpdatedAfter", after), ("marketplaceIds", ",".join(marketplace_ids)),
                 ("maxResultsPerPage", str(self._page_size)), ("includedData", ",".join(INCLUDED_DATA))]
        if next_token:
            query.append(("paginationToken", next_token))
        answer = self._get("searchOrders", ORDERS_2026, query)
        raw_orders = _list(answer.get("orders"), "searchOrders orders")
        orders = [_order_2026(_object(o, "searchOrders orders[]")) for o in raw_orders]
        pagination = answer.get("pagination")
        return OrdersPage(orders, _token(pagination.get("nextToken") if isinstance(pagination, dict) else None))

    def get_order(self, amazon_order_id: str) -> AmazonOrder:
        """One order with its items (for a notification)."""
        if not amazon_order_id:
            raise ValueError("an Amazon order id is required")
        path = f"/{_segment(amazon_order_id)}"
        if self.legacy_v0:
            answer = self._get("getOrder", ORDERS_V0 + path, [])
            return self._with_items(_object(answer.get("payload"), "getOrder payload"))
        answer = self._get("getOrder", ORDERS_2026 + path, [("includedData", ",".join(INCLUDED_DATA))])
        return _order_2026(_object(answer.get("order"), "getOrder order"))

    def order_items(self, amazon_order_id: str) -> list[Mapping[str, Any]]:
        """v0 getOrderItems, every page of it."""
        items: list[Mapping[str, Any]] = []
        token: str | None = None
        path = f"{ORDERS_V0}/{_segment(amazon_order_id)}/orderItems"
        while True:
            answer = self._get("getOrderItems", path, [("NextToken", token)] if token else [])
            payload = _object(answer.get("payload"), "getOrderItems payload")
            items.extend(_object(i, "getOrderItems payload.OrderItems[]")
                         for i in _list(payload.get("OrderItems"), "getOrderItems payload.OrderItems"))
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


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise UnreadableOrder(f"Amazon's answer has no object at {what}", field=what)
    return value


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnreadableOrder(f"Amazon's answer has no list at {what}", field=what)
    return value


def _order_2026(order: Mapping[str, Any]) -> AmazonOrder:
    items = order.get("orderItems")
    return AmazonOrder(order, items if isinstance(items, list) else None)


# ------------------------------------------------------------------ mapping: the rules

V0_ACTIONS: dict[str, IntakeAction] = {
    "Pending": IntakeAction.ACKNOWLEDGE,              # placed, payment not authorised
    "PendingAvailability": IntakeAction.ACKNOWLEDGE,  # a pre-order, payment not authorised
    "Unshipped": IntakeAction.UPSERT,
    # Part of it shipped outside the OMS (the OMS does not confirm shipments to Amazon): capturing it
    # now would ship those units again.
    "PartiallyShipped": IntakeAction.ACKNOWLEDGE,
    # Shipped in full before the OMS heard of it: someone shipped it outside the OMS (or before it took
    # this channel over), and capturing it now would ship it twice. A revision of an order we know
    # changes nothing we act on either.
    "Shipped": IntakeAction.ACKNOWLEDGE,
    "InvoiceUnconfirmed": IntakeAction.ACKNOWLEDGE,   # shipped; the invoice not yet confirmed
    "Canceled": IntakeAction.CANCEL,
    "Unfulfillable": IntakeAction.ACKNOWLEDGE,        # Amazon-fulfilled orders only
}
STATUS_2026: dict[str, IntakeAction] = {
    "PENDING_AVAILABILITY": IntakeAction.ACKNOWLEDGE,
    "PENDING": IntakeAction.ACKNOWLEDGE,
    "UNSHIPPED": IntakeAction.UPSERT,
    "PARTIALLY_SHIPPED": IntakeAction.ACKNOWLEDGE,
    "SHIPPED": IntakeAction.ACKNOWLEDGE,
    "CANCELLED": IntakeAction.CANCEL,
    "UNFULFILLABLE": IntakeAction.ACKNOWLEDGE,
}

# developer-docs.amazon.com/sp-api/docs/marketplace-ids. Prices shown without sales tax, which is
# added at checkout: ItemTax and ShippingTax come on top.
TAX_ON_TOP = {"ATVPDKIKX0DER": "US", "A2EUQ1WTGCTBG2": "CA"}
# Prices shown with VAT: ItemPrice includes it, ItemTax only tells how much of it is VAT.
VAT_INCLUDED = {
    "A28R8C7NBKEWEA": "IE", "A1RKKUPIHCS9HS": "ES", "A1F83G8C2ARO7P": "UK", "A13V1IB3VIYZZH": "FR",
    "AMEN7PMS3EDWL": "BE", "A1805IZSGTT6HS": "NL", "A1PA6795UKMFR9": "DE", "APJ6JRA9NG5V4": "IT",
    "A2NODRKZP88ZB9": "SE", "A1C3SOZRARQ6R3": "PL",
}
LANGUAGES = {"A1PA6795UKMFR9": "de", "A13V1IB3VIYZZH": "fr", "A1RKKUPIHCS9HS": "es", "A1AM78C64UM0Y8": "es"}

_SKU = re.compile(ID_PATTERN)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{4,31}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PRINTABLE_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
PLACEHOLDER_STREET = PLACEHOLDER_NAME
# Our address fields -> Amazon's (v0 Address; 2026-01-01 CustomerAddress).
V0_ADDRESS = {"name": "Name", "line1": "AddressLine1", "line2": "AddressLine2", "line3": "AddressLine3",
              "city": "City", "region": "StateOrRegion", "postal_code": "PostalCode", "country": "CountryCode",
              "phone": "Phone"}
ADDRESS_2026 = {"name": "name", "line1": "addressLine1", "line2": "addressLine2", "line3": "addressLine3",
                "city": "city", "region": "stateOrRegion", "postal_code": "postalCode", "country": "countryCode",
                "phone": "phone"}


@dataclass
class _Line:
    sku_field: str
    channel_sku: str | None
    quantity: int
    unit_price: Decimal | None = None   # given per unit (2026-01-01)
    line_total: Decimal | None = None   # given per line (v0 ItemPrice)


@dataclass
class _Sale:
    """What either API version said, in one shape the rules below read."""

    order_id: str
    revision: datetime
    status: str
    action: IntakeAction
    by_amazon: bool
    marketplace_id: str | None
    restricted_how: str
    problems: list[MappingProblem] = field(default_factory=list)
    currency: str | None = None
    expected_total: Decimal | None = None
    total_field: str = "OrderTotal"
    lines: list[_Line] = field(default_factory=list)
    shipping: Decimal = ZERO
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    address_field: str = "ShippingAddress"
    address_keys: Mapping[str, str] = field(default_factory=dict)  # our field -> Amazon's
    address: dict[str, str | None] = field(default_factory=dict)
    buyer_email: str | None = None
    buyer_name: str | None = None
    promised_by: datetime | None = None
    cancel_reason: str | None = None
    cash_on_delivery: bool = False


class _Money:
    """Collects the amounts of one order and the currency they are in."""

    def __init__(self, sale: _Sale, amount_key: str, currency_key: str):
        self.sale, self.amount_key, self.currency_key = sale, amount_key, currency_key

    def __call__(self, value: Any, where: str) -> Decimal:
        """An amount (ZERO when absent); UnreadableOrder when it is there but is no amount."""
        if value is None:
            return ZERO
        if not isinstance(value, dict):
            raise UnreadableOrder(f"{where} is not a money object", field=where)
        raw = value.get(self.amount_key)
        if raw is None or raw == "":
            return ZERO
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            raise UnreadableOrder(f"{where}.{self.amount_key} is not an amount", field=where) from None
        if not amount.is_finite():
            raise UnreadableOrder(f"{where}.{self.amount_key} is not an amount", field=where)
        currency = value.get(self.currency_key)
        if isinstance(currency, str) and currency:
            if self.sale.currency is None:
                self.sale.currency = currency
            elif currency != self.sale.currency and amount != 0:
                self.sale.problems.append(MappingProblem(
                    where, f"amount in {currency}, the order is in {self.sale.currency}: not converted"))
        return amount


# ------------------------------------------------------------------ mapping: reading each version


def to_channel_order(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]] | None,
                     sku_map: SkuMap) -> ChannelOrder:
    """An Amazon order (v0 Order with its getOrderItems items, or a 2026-01-01 Order, whose items
    are its own orderItems unless `items` are given) as our ChannelOrder. UnreadableOrder when the
    body is not an order we can read."""
    if not isinstance(order, Mapping):
        raise UnreadableOrder("the Amazon order is not a JSON object")
    if "AmazonOrderId" in order:
        sale = _read_v0(order, items)
    elif "orderId" in order:
        sale = _read_2026(order, items)
    else:
        raise UnreadableOrder("no AmazonOrderId (v0) or orderId (2026-01-01): not an Amazon order",
                              field="AmazonOrderId")
    return _channel_order(sale, sku_map)


def _read_v0(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]] | None) -> _Sale:
    order_id = _order_id(order.get("AmazonOrderId"), "AmazonOrderId")
    status = _text(order.get("OrderStatus"))
    if status is None:
        raise UnreadableOrder("OrderStatus is missing", field="OrderStatus")
    by_amazon = order.get("FulfillmentChannel") == "AFN"
    sale = _Sale(order_id=order_id, revision=_moment(order.get("LastUpdateDate"), "LastUpdateDate"),
                 status=status, action=_action(V0_ACTIONS, status, "OrderStatus"), by_amazon=by_amazon,
                 marketplace_id=_text(order.get("MarketplaceId")),
                 restricted_how="a Restricted Data Token (RDT) for the order")
    if sale.action != IntakeAction.UPSERT or by_amazon:
        sale.cancel_reason = "cancelled on Amazon" if sale.action == IntakeAction.CANCEL else None
        return sale
    money = _Money(sale, "Amount", "CurrencyCode")
    if order.get("OrderTotal") is not None:
        sale.expected_total = money(order.get("OrderTotal"), "OrderTotal")
    if items is None:
        raise UnreadableOrder("the order's items (getOrderItems) are missing", field="OrderItems")
    cash = order.get("PaymentMethod") == "COD"
    for i, raw in enumerate(items):
        item = _object(raw, f"OrderItems[{i}]")
        where = f"OrderItems[{i}]"
        quantity = item.get("QuantityOrdered")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            raise UnreadableOrder(f"{where}.QuantityOrdered is not a count", field=f"{where}.QuantityOrdered")
        sale.lines.append(_Line(f"{where}.SellerSKU", _text(item.get("SellerSKU")), quantity,
                                line_total=money(item.get("ItemPrice"), f"{where}.ItemPrice")))
        buyer_info = _sub(item, "BuyerInfo")
        sale.shipping += (money(item.get("ShippingPrice"), f"{where}.ShippingPrice")
                          + money(item.get("CODFee"), f"{where}.CODFee")
                          - money(item.get("CODFeeDiscount"), f"{where}.CODFeeDiscount")
                          + money(buyer_info.get("GiftWrapPrice"), f"{where}.BuyerInfo.GiftWrapPrice"))
        sale.discount += (abs(money(item.get("PromotionDiscount"), f"{where}.PromotionDiscount"))
                          + abs(money(item.get("ShippingDiscount"), f"{where}.ShippingDiscount")))
        sale.tax += (money(item.get("ItemTax"), f"{where}.ItemTax")
                     + money(item.get("ShippingTax"), f"{where}.ShippingTax")
                     + money(buyer_info.get("GiftWrapTax"), f"{where}.BuyerInfo.GiftWrapTax")
                     - abs(money(item.get("PromotionDiscountTax"), f"{where}.PromotionDiscountTax"))
                     - abs(money(item.get("ShippingDiscountTax"), f"{where}.ShippingDiscountTax")))
    address = _sub(order, "ShippingAddress")
    sale.address_field, sale.address_keys = "ShippingAddress", V0_ADDRESS
    sale.address = _address(address, V0_ADDRESS)
    buyer = _sub(order, "BuyerInfo")
    sale.buyer_email, sale.buyer_name = _text(buyer.get("BuyerEmail")), _text(buyer.get("BuyerName"))
    sale.promised_by = _optional_moment(order.get("LatestDeliveryDate"))
    sale.cash_on_delivery = cash
    return sale


def _read_2026(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]] | None) -> _Sale:
    order_id = _order_id(order.get("orderId"), "orderId")
    fulfillment = _sub(order, "fulfillment")
    status = _text(fulfillment.get("fulfillmentStatus"))
    if status is None:
        raise UnreadableOrder("fulfillment.fulfillmentStatus is missing (includedData FULFILLMENT)",
                              field="fulfillment.fulfillmentStatus")
    sales_channel = _sub(order, "salesChannel")
    by_amazon = fulfillment.get("fulfilledBy") == "AMAZON"
    sale = _Sale(order_id=order_id, revision=_moment(order.get("lastUpdatedTime"), "lastUpdatedTime"),
                 status=status, action=_action(STATUS_2026, status, "fulfillment.fulfillmentStatus"),
                 by_amazon=by_amazon, marketplace_id=_text(sales_channel.get("marketplaceId")),
                 restricted_how="the Orders API PII role for the application")
    raw_items = items if items is not None else order.get("orderItems")
    if sale.action == IntakeAction.CANCEL:
        sale.cancel_reason = _cancel_reason_2026(raw_items) or "cancelled on Amazon"
    if sale.action != IntakeAction.UPSERT or by_amazon:
        return sale
    money = _Money(sale, "amount", "currencyCode")
    sale.total_field = "proceeds.grandTotal"
    proceeds = _sub(order, "proceeds")
    if proceeds.get("grandTotal") is not None:
        total = money(proceeds.get("grandTotal"), "proceeds.grandTotal")
        for j, breakdown in enumerate(_list(proceeds.get("breakdowns"), "proceeds.breakdowns")):
            if isinstance(breakdown, dict) and breakdown.get("type") == "DELIVERY_TIP":
                total -= money(breakdown.get("subtotal"), f"proceeds.breakdowns[{j}].subtotal")
        sale.expected_total = total
    for i, raw in enumerate(_list(raw_items, "orderItems")):
        item = _object(raw, f"orderItems[{i}]")
        where = f"orderItems[{i}]"
        quantity = item.get("quantityOrdered")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            raise UnreadableOrder(f"{where}.quantityOrdered is not a count", field=f"{where}.quantityOrdered")
        product = _sub(item, "product")
        price = _sub(product, "price")
        line = _Line(f"{where}.product.sellerSku", _text(product.get("sellerSku")), quantity)
        if price.get("unitPrice") is not None:
            line.unit_price = money(price.get("unitPrice"), f"{where}.product.price.unitPrice")
        item_proceeds = _sub(item, "proceeds")
        for j, breakdown in enumerate(_list(item_proceeds.get("breakdowns"), f"{where}.proceeds.breakdowns")):
            if not isinstance(breakdown, dict):
                continue
            at = f"{where}.proceeds.breakdowns[{j}]"
            kind, amount = breakdown.get("type"), money(breakdown.get("subtotal"), f"{at}.subtotal")
            if kind == "ITEM":
                line.line_total = (line.line_total or ZERO) + amount
            elif kind in ("SHIPPING", "GIFT_WRAP", "COD_FEE"):
                sale.shipping += amount
            elif kind == "DISCOUNT":
                sale.discount += abs(amount)
            elif kind == "TAX":
                sale.tax += amount
            elif amount != 0:
                sale.problems.append(MappingProblem(at, f"a {kind} charge of {amount} is not mapped to the order"))
        sale.lines.append(line)
    recipient = _sub(order, "recipient")
    address = _sub(recipient, "deliveryAddress")
    sale.address_field, sale.address_keys = "recipient.deliveryAddress", ADDRESS_2026
    sale.address = _address(address, ADDRESS_2026)
    buyer = _sub(order, "buyer")
    sale.buyer_email, sale.buyer_name = _text(buyer.get("buyerEmail")), _text(buyer.get("buyerName"))
    deliver_by = _sub(fulfillment, "deliverByWindow")
    sale.promised_by = _optional_moment(deliver_by.get("latestDateTime"))
    payment = _sub(order, "payment")
    executions = _list(payment.get("paymentExecutions"), "payment.paymentExecutions")
    sale.cash_on_delivery = any(isinstance(e, dict) and e.get("paymentMethod") == "CashOnDelivery" for e in executions)
    return sale


def _cancel_reason_2026(items: Any) -> str | None:
    for item in items if isinstance(items, list) else []:
        cancellation = item.get("cancellation") if isinstance(item, dict) else None
        execution = cancellation.get("cancellationExecution") if isinstance(cancellation, dict) else None
        reason = _text(execution.get("cancelReason")) if isinstance(execution, dict) else None
        if reason:
            return reason[:500]
    return None


# ------------------------------------------------------------------ mapping: one set of rules


def _channel_order(sale: _Sale, sku_map: SkuMap) -> ChannelOrder:
    if sale.by_amazon:
        # Fulfilled by Amazon: Amazon ships it from its own stock; nothing for the OMS to reserve or ship.
        return ChannelOrder(IntakeAction.ACKNOWLEDGE, sale.order_id, sale.revision,
                            channel_status=f"{sale.status}; fulfilled by Amazon, not shipped by the OMS")
    if sale.action != IntakeAction.UPSERT:
        return ChannelOrder(sale.action, sale.order_id, sale.revision, channel_status=sale.status,
                            cancel_reason=sale.cancel_reason if sale.action == IntakeAction.CANCEL else None)
    problems = list(sale.problems)
    currency = sale.currency
    if currency is None or currency not in ISO_4217:
        raise UnreadableOrder(f"the order's currency ({currency or 'none'}) is not an ISO 4217 code",
                              field=sale.total_field)
    lines = _lines(sale, sku_map, currency, problems)
    tax_total = _tax_total(sale, lines, problems)
    address, name = _shipping_address(sale, problems)
    customer = _customer(sale, name)
    ours = sum((ln.unit_price * ln.quantity for ln in lines), ZERO) + sale.shipping - sale.discount \
        + (tax_total or ZERO)
    if sale.expected_total is None:
        problems.append(MappingProblem(sale.total_field, "no order total: ours could not be checked"))
        paid = ours.quantize(quantum(currency))
    else:
        paid = sale.expected_total
        if ours.quantize(quantum(currency)) != paid.quantize(quantum(currency)):
            problems.append(MappingProblem(sale.total_field, (
                f"our total {ours} {currency} (lines + shipping {sale.shipping} - discounts {sale.discount}"
                f" + tax {tax_total or ZERO}) differs from Amazon's {paid} {currency}")))
    try:
        request = OrderRequest(
            channel_order_id=sale.order_id, customer=customer, shipping_address=address, lines=lines,
            currency=currency, shipping_price=max(sale.shipping, ZERO), discount_total=sale.discount,
            tax_total=tax_total,
            payment=Payment(status="cod" if sale.cash_on_delivery else "paid", amount=max(paid, ZERO),
                            provider=PaymentProvider.EXTERNAL),
            promised_by=sale.promised_by)
    except ValidationError as error:
        where = ".".join(str(p) for p in error.errors()[0]["loc"]) if error.errors() else None
        raise UnreadableOrder(f"the Amazon order does not make a valid order ({where}: "
                              f"{error.errors()[0]['msg'] if error.errors() else error})", field=where) from None
    return ChannelOrder(IntakeAction.UPSERT, sale.order_id, sale.revision, request=request,
                        problems=tuple(problems), channel_status=sale.status)


def _lines(sale: _Sale, sku_map: SkuMap, currency: str, problems: list[MappingProblem]) -> list[OrderLine]:
    lines: list[OrderLine] = []
    for line in sale.lines:
        if line.quantity == 0:
            continue  # nothing of it left to ship
        sku = sku_map.our_sku(line.channel_sku)
        if not sku or not _SKU.fullmatch(sku):
            problems.append(MappingProblem(line.sku_field, (
                "no SellerSKU" if not line.channel_sku else f"SKU {line.channel_sku!r} maps to no valid SKU of ours")))
            sku = placeholder_sku(line.channel_sku)
        lines.append(OrderLine(sku=sku, quantity=line.quantity,
                               unit_price=_unit_price(line, currency, problems)))
    if not lines:
        raise UnreadableOrder("the order has no items with a quantity", field="OrderItems")
    if len(lines) > MAX_LINES:
        raise UnreadableOrder(f"the order has {len(lines)} lines; an order holds at most {MAX_LINES}",
                              field="OrderItems")
    return lines


def _unit_price(line: _Line, currency: str, problems: list[MappingProblem]) -> Decimal:
    if line.unit_price is not None:
        return max(line.unit_price, ZERO)
    total = max(line.line_total or ZERO, ZERO)
    unit = total / line.quantity
    rounded = unit.quantize(Decimal("0.0001"))  # an Amount holds at most 4 decimals
    if rounded != unit:
        problems.append(MappingProblem(line.sku_field.rsplit(".", 1)[0] + ".ItemPrice", (
            f"line total {total} {currency} for {line.quantity} units is no whole unit price; taken as {rounded}")))
    coarse = rounded.quantize(quantum(currency))
    return coarse if coarse == rounded else rounded


def _tax_total(sale: _Sale, lines: list[OrderLine], problems: list[MappingProblem]) -> Decimal | None:
    """Tax on top of the prices (the US, Canada), or None where prices include it (EU, UK)."""
    marketplace = sale.marketplace_id or ""
    if marketplace in TAX_ON_TOP:
        return max(sale.tax, ZERO)
    if marketplace in VAT_INCLUDED:
        return None
    if sale.expected_total is not None and sale.currency is not None:
        # Not a marketplace whose price basis we list: whichever reading adds up to Amazon's total.
        net = sum((ln.unit_price * ln.quantity for ln in lines), ZERO) + sale.shipping - sale.discount
        step = quantum(sale.currency)
        if net.quantize(step) != sale.expected_total.quantize(step) \
                and (net + sale.tax).quantize(step) == sale.expected_total.quantize(step) and sale.tax > 0:
            return sale.tax
    return None


def _shipping_address(sale: _Sale, problems: list[MappingProblem]) -> tuple[Address, str]:
    """The address, placeholders where Amazon left out what it shares only as restricted data."""
    raw, keys = sale.address, sale.address_keys

    def where(ours: str) -> str:
        return f"{sale.address_field}.{keys[ours]}"

    def fit(ours: str, value: str | None, limit: int) -> str | None:
        if value and len(value) > limit:
            problems.append(MappingProblem(where(ours), f"longer than {limit} characters: cut"))
            return value[:limit]
        return value

    name = raw.get("name")
    streets = [s for s in (raw.get("line1"), raw.get("line2"), raw.get("line3")) if s]
    restricted = [keys[k] for k, present in (("name", name), ("line1", streets)) if not present]
    if restricted:
        problems.append(MappingProblem(sale.address_field, (
            f"missing {', '.join(restricted)}: restricted data Amazon shares only with {sale.restricted_how}; "
            "filled with placeholders, the parcel cannot be labelled")))
    city, country = raw.get("city"), raw.get("country")
    if not country or not _COUNTRY.fullmatch(country):
        country = None
    missing = [keys[k] for k, present in (("city", city), ("country", country)) if not present]
    if missing:
        problems.append(MappingProblem(sale.address_field,
                                       f"missing or invalid {', '.join(missing)}: filled with placeholders"))
    address = Address(
        name=fit("name", name, 200) or PLACEHOLDER_NAME,
        line1=fit("line1", streets[0], 200) or PLACEHOLDER_STREET if streets else PLACEHOLDER_STREET,
        line2=fit("line2", ", ".join(streets[1:]), 200) or None,
        city=fit("city", city, 100) or PLACEHOLDER_CITY,
        postal_code=fit("postal_code", raw.get("postal_code"), 20),
        region=fit("region", raw.get("region"), 100),
        country=country or PLACEHOLDER_COUNTRY,
    )
    return address, name or ""


def _customer(sale: _Sale, address_name: str) -> Customer:
    email = sale.buyer_email if sale.buyer_email and len(sale.buyer_email) <= 254 \
        and _EMAIL.fullmatch(sale.buyer_email) else None
    if email:
        customer_id = "amzn-" + hashlib.sha256(email.lower().encode()).hexdigest()[:24]
    else:
        customer_id = f"amzn-order-{sale.order_id}"[:128]
    phone = sale.address.get("phone")
    return Customer(id=customer_id, email=email, name=(sale.buyer_name or address_name or PLACEHOLDER_NAME)[:200],
                    phone=phone if phone and _PHONE.fullmatch(phone) else None,
                    language=LANGUAGES.get(sale.marketplace_id or "", "en"))


def _address(raw: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, str | None]:
    return {ours: _text(raw.get(theirs)) for ours, theirs in keys.items()}


def _sub(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested object, or an empty one where Amazon sent none (or something else)."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _action(table: Mapping[str, IntakeAction], status: str, where: str) -> IntakeAction:
    action = table.get(status)
    if action is None:
        raise UnreadableOrder(f"order status {status[:40]!r} is not one this adapter knows", field=where)
    return action


def _order_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _PRINTABLE_ID.fullmatch(value):
        raise UnreadableOrder(f"{where} is missing or not an order id", field=where)
    return value


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _moment(value: Any, where: str) -> datetime:
    moment = _optional_moment(value)
    if moment is None:
        raise UnreadableOrder(f"{where} is missing or not an ISO 8601 time", field=where)
    return moment


def _optional_moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
    order_id = _order_id(change.get("AmazonOrderId"), "Payload.OrderChangeNotification.AmazonOrderId")
    summary = change.get("Summary")
    if isinstance(summary, dict) and summary.get("FulfillmentType") == "AFN":
        return []
    return [order_id]
