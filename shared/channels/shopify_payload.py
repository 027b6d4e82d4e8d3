"""The Shopify webhook bodies we read, as Shopify documents them (only the fields we read), and how a
raw body becomes one: JSON that is not an object is refused, a body that does not fit a model is
UnreadableOrder naming the Shopify field. Pure: no AWS, no clock, no network. Read by
shared/channels/shopify.py (the topics) and shared/channels/shopify_mapping.py (the mapping).

Sources (read 2026-12):
  order      https://shopify.dev/docs/api/admin-rest/latest/resources/order (the webhook body is this
             resource as JSON: ids are numbers, amounts strings, every `*_set` a bag of shop_money and
             presentment_money)
  refund     https://shopify.dev/docs/api/admin-rest/latest/resources/refund
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, Strict

from shared.channels.intake import UnreadableOrder
from shared.domain.bounds import AwareMoment, Flag
from shared.errors import MalformedBody

NOTE_LIMIT = 1000


# --- the documented resources (only the fields we read) -------------------------------------------

def _cut(limit: int) -> BeforeValidator:
    """Free text is cut to `limit`, not refused: refused, the whole signed order would be unreadable."""
    return BeforeValidator(lambda v: v[:limit] if isinstance(v, str) else v)


def _text_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string")
    return value


def _finite_number(value: Any) -> float | None:
    """A coordinate when it is a JSON number (not true, not "45.4", not NaN); anything else: none."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


ShopifyId = Annotated[int, Strict(), Field(ge=1, le=2**63 - 1)]
Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
Text = Annotated[str, _cut(255)]
Timestamp = Annotated[AwareMoment, BeforeValidator(_text_only)]
DecimalText = Annotated[str, Strict(), Field(max_length=40, pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,10})?$")]
Coordinate = Annotated[float | None, BeforeValidator(_finite_number)]


class Money(BaseModel):
    amount: DecimalText
    currency_code: Annotated[str, Field(max_length=10)]


class MoneySet(BaseModel):
    presentment_money: Money


class Allocation(BaseModel):
    amount_set: MoneySet


Allocations = Annotated[list[Allocation], BeforeValidator(_none_as_empty), Field(max_length=100)]


class LineItem(BaseModel):
    sku: Text | None = None
    variant_id: ShopifyId | None = None
    name: Text | None = None
    quantity: Count
    current_quantity: Count | None = None
    price_set: MoneySet
    discount_allocations: Allocations = []


class ShippingLine(BaseModel):
    price_set: MoneySet
    discount_allocations: Allocations = []
    is_removed: Flag | None = None


ShippingLines = Annotated[list[ShippingLine], BeforeValidator(_none_as_empty), Field(max_length=100)]
GatewayNames = Annotated[list[Text], BeforeValidator(_none_as_empty), Field(max_length=50)]


class Address(BaseModel):
    name: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    address1: Text | None = None
    address2: Text | None = None
    city: Text | None = None
    zip: Text | None = None
    province: Text | None = None
    province_code: Text | None = None
    country_code: Text | None = None
    phone: Text | None = None
    latitude: Coordinate = None
    longitude: Coordinate = None


class ShopifyCustomer(BaseModel):
    id: ShopifyId | None = None
    email: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    phone: Text | None = None


class OrderHead(BaseModel):
    """What every order topic needs, even when the rest does not map."""

    id: ShopifyId
    name: Text | None = None
    updated_at: Timestamp
    financial_status: Text | None = None
    cancel_reason: Text | None = None
    cancelled_at: Timestamp | None = None


class Order(OrderHead):
    email: Text | None = None
    contact_email: Text | None = None
    phone: Text | None = None
    customer_locale: Text | None = None
    note: Annotated[str, _cut(4 * NOTE_LIMIT)] | None = None
    payment_gateway_names: GatewayNames = []
    taxes_included: Flag | None = None
    presentment_currency: Text | None = None
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=500)]
    shipping_lines: ShippingLines = []
    shipping_address: Address | None = None
    billing_address: Address | None = None
    customer: ShopifyCustomer | None = None
    total_price_set: MoneySet
    total_tax_set: MoneySet | None = None
    current_total_price_set: MoneySet | None = None
    current_total_tax_set: MoneySet | None = None


class Refund(BaseModel):
    id: ShopifyId
    order_id: ShopifyId
    created_at: Timestamp


# --- parsing -------------------------------------------------------------------------------------

def parse_json(raw_body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw_body)
    except (ValueError, RecursionError) as error:  # bad JSON, bad UTF-8, absurd nesting or digits
        raise MalformedBody(f"not a Shopify webhook: the body is not JSON ({type(error).__name__})",
                            field="body") from None
    if not isinstance(document, dict):
        raise UnreadableOrder("not a Shopify webhook: the body is not a JSON object", field="body")
    return document


