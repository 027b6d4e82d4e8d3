"""The WooCommerce order bodies we read, and how a raw body becomes one. Pure: no AWS, no clock.
Read by shared/channels/woocommerce.py (the topics) and shared/channels/woocommerce_mapping.py (the
mapping); a body that does not fit is UnreadableOrder naming the Woo field, one that is not JSON is
MalformedBody.

The order (https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties, rendered by
WC_REST_Orders_V2_Controller::get_formatted_item_data / get_order_item_data in
includes/rest-api/Controllers/Version2/class-wc-rest-orders-v2-controller.php): amounts are
strings formatted to the shop's price decimals ("10.00"), but some are numbers (a line's `price`
is total/quantity as a PHP float, coupon `nominal_amount` a float) and plugins filtering the
payload send numbers too: an amount is read as a string or a JSON number (10, 10.5), exactly
(JSON numbers are parsed as Decimal, never float). Ids are JSON integers (digit strings accepted).
Dates: `date_*` are the site's local time, `date_*_gmt` UTC, both without an offset; we read only
the `_gmt` ones. `billing`/`shipping` carry empty strings for missing values; `meta_data` arrays
hold values of any JSON type and are ignored. Text is cut to 5,000 characters, ids to 20 digits,
amounts to 12 integer and 20 decimal digits, 1,000 line items (our orders take 25).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, NoReturn

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from shared.domain.bounds import EARLIEST, LATEST
from shared.domain.money import ZERO
from shared.errors import MalformedBody

MAX_QUANTITY = 10_000


# --- Woo's values ---------------------------------------------------------------------------------

_AMOUNT = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,20})?")
_DIGITS = re.compile(r"[0-9]{1,20}")
_GMT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?")
TEXT_LIMIT = 5000


def _amount(value: Any) -> Decimal:
    """"10.00", 10 or 10.5 (a JSON number, read as Decimal): exact, bounded."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError('must be an amount such as "10.00" or 10.5')
    if isinstance(value, str):
        if not _AMOUNT.fullmatch(value.strip()):
            raise ValueError('must be an amount such as "10.00": digits, an optional sign and decimal point')
        value = Decimal(value.strip())
    number = Decimal(value)
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -20 or number.adjusted() >= 12:
        raise ValueError("must be an amount below 10^12 with at most 20 decimals")
    return Decimal(0) if number.is_zero() else number


def _charge(value: Any) -> Decimal:
    """An amount that is never negative in a WooCommerce order (a line, shipping, tax, the total)."""
    number = _amount(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _whole(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value() and abs(value) < 10**20:
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"must be a whole number from {low} to {high}")
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        value = str(value)  # a postcode or phone some plugin wrote as a number
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value.strip()[:TEXT_LIMIT]


def _gmt(value: Any) -> datetime | None:
    """A `_gmt` date: "2017-03-22T19:28:08", UTC without an offset (an offset, if any, is honoured)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _GMT.fullmatch(value.strip()):
        raise ValueError('must be a date such as "2017-03-22T19:28:08" (UTC)')
    try:
        moment = datetime.fromisoformat(value.strip())
        moment = moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 2017-02-30, 24:00, an offset past year 1 or 9999
        raise ValueError('must be a date such as "2017-03-22T19:28:08" (UTC)') from None
    if not EARLIEST <= moment <= LATEST:
        raise ValueError("must be between the years 1000 and 9998")
    return moment


def _object(value: Any) -> Any:
    return {} if value is None or value == [] else value  # PHP encodes an empty array as []


def _list(value: Any) -> Any:
    return [] if value is None else value


Money = Annotated[Decimal, BeforeValidator(_amount)]
Charge = Annotated[Decimal, BeforeValidator(_charge)]
WooId = Annotated[int, BeforeValidator(lambda v: _whole(v, 1, 10**20 - 1))]
RefId = Annotated[int, BeforeValidator(lambda v: 0 if v is None else _whole(v, 0, 10**20 - 1))]
Quantity = Annotated[int, BeforeValidator(lambda v: _whole(v, 1, MAX_QUANTITY))]
Text = Annotated[str, BeforeValidator(_text)]
Gmt = Annotated[datetime | None, BeforeValidator(_gmt)]


class Person(BaseModel):
    """`billing` and `shipping` (shipping has no email; phone since WooCommerce 5.6)."""

    first_name: Text = ""
    last_name: Text = ""
    company: Text = ""
    address_1: Text = ""
    address_2: Text = ""
    city: Text = ""
    state: Text = ""
    postcode: Text = ""
    country: Text = ""
    email: Text = ""
    phone: Text = ""


PersonBlock = Annotated[Person, BeforeValidator(_object)]


class LineItem(BaseModel):
    product_id: RefId = 0
    variation_id: RefId = 0
    quantity: Quantity
    sku: Text = ""
    subtotal: Charge
    subtotal_tax: Charge = ZERO
    total: Charge
    total_tax: Charge = ZERO


class FeeLine(BaseModel):
    total: Money = ZERO
    total_tax: Money = ZERO


class Head(BaseModel):
    """What every full order body must carry, read before deciding what the message asks."""

    id: WooId
    number: Text = ""
    status: Annotated[Text, Field(min_length=1, max_length=64)]
    date_created_gmt: Gmt = None
    date_modified_gmt: Gmt = None


class Order(Head):
    currency: Annotated[Text, Field(min_length=1)]
    prices_include_tax: Annotated[bool, Strict()] = False
    date_paid_gmt: Gmt = None
    customer_id: RefId = 0
    customer_note: Text = ""
    billing: PersonBlock = Person()
    shipping: PersonBlock = Person()
    payment_method: Text = ""
    shipping_total: Charge = ZERO
    shipping_tax: Charge = ZERO
    total_tax: Charge = ZERO
    total: Charge
    line_items: Annotated[list[LineItem], BeforeValidator(_list), Field(max_length=1000)] = []
    fee_lines: Annotated[list[FeeLine], BeforeValidator(_list), Field(max_length=1000)] = []


class Deleted(BaseModel):
    """order.deleted's body is the id alone: a whole order sent under that (unsigned) topic is refused."""

    model_config = ConfigDict(extra="forbid")
    id: WooId


# --- parsing -------------------------------------------------------------------------------------

def plain_status(status: str) -> str:
    key = status.lower()
    return key[3:] if key.startswith("wc-") else key


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, ArithmeticError, RecursionError, TypeError) as error:  # bad JSON, UTF-8, nesting
        raise MalformedBody(f"not a WooCommerce order: the body is not JSON ({type(error).__name__})",
                            field="body") from None


