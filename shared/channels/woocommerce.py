"""WooCommerce order webhooks: verify the signature on the raw body, then read WooCommerce's order JSON
into a `ChannelOrder`. Pure: no AWS, no clock; nothing is parsed before `verify`.

Delivery (WC_Webhook::deliver and ::generate_signature in woocommerce/woocommerce
plugins/woocommerce/includes/class-wc-webhook.php; https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks):
  POST, Content-Type: application/json, body `trim(wp_json_encode($payload))`: compact JSON in which
  PHP escapes "/" as a backslash-slash and non-ASCII as backslash-u escapes (the signature covers those bytes, so we never
  re-serialise). Headers X-WC-Webhook-Source (the shop's home URL), -Topic ("order.updated"),
  -Resource ("order"), -Event ("updated"), -Signature, -ID (the webhook's id), -Delivery-ID.
  X-WC-Webhook-Signature is base64(HMAC-SHA256(body, secret)): the raw 32-byte digest, base64 with
  padding (44 characters), keyed with the webhook's secret as UTF-8 (Woo HTML-decodes the stored
  secret first, i.e. uses it as the merchant typed it). No timestamp is signed, so a replayed
  delivery verifies: replays are harmless here because each revision is applied once and never
  backwards (ChannelOrder.revision). Several secrets are accepted while one is rotated.
  Activation ping (WC_Webhook::deliver_ping): when a webhook is activated Woo POSTs the form body
  `webhook_id=<id>` with no signature and no X-WC-Webhook-* headers, and refuses to activate unless
  the answer is 200. WordPress sends it through its Requests library, which adds
  `Content-Type: application/x-www-form-urlencoded; charset=UTF-8` to a string body (fsockopen
  transport; cURL adds the same type). `is_activation_ping` accepts exactly that body (digits, no
  other field, nothing url-encoded) with that content type or none; the caller answers 200 and does
  nothing else.

Topics (WC_Webhook::get_default_topic_hooks, build_payload): order.created, order.updated and
order.restored carry the order exactly as GET /wp-json/wc/v3/orders/<id> renders it; order.deleted
(fired when an order is trashed) carries only `{"id": <id>}`. Note that the block checkout creates
its order as `checkout-draft` (order.created) and the real order arrives as order.updated.
  status (after Woo strips "wc-")    action
  cancelled, trash                   CANCEL
  refunded                           CANCEL (refunded in full: nothing may ship; intake lists an exception when
                                     it has shipped already)
  checkout-draft, draft, auto-draft,
  new                                ACKNOWLEDGE (not an order yet)
  anything else (pending, processing,
  on-hold, completed, failed, custom) UPSERT
  order.deleted                      CANCEL, no request; its revision is LATEST (the body has no
                                     date, and a trashed order outranks every revision we hold)

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

Money, as WC_Abstract_Order::calculate_totals (includes/abstracts/abstract-wc-order.php) builds it:
a line's `subtotal` (before discounts) and `total` (after) EXCLUDE tax whatever
`prices_include_tax` says; `subtotal_tax`/`total_tax` are their taxes. Woo's
  total = sum(line total) + sum(fee total) + shipping_total + cart_tax + shipping_tax
where cart_tax covers lines and fees and total_tax = cart_tax + shipping_tax. We map:
  prices_include_tax false (net prices, tax on top):
    unit_price     = subtotal / quantity
    discount_total = sum(subtotal - total)
    shipping_price = shipping_total (+ positive fees)
    tax_total      = total_tax
  prices_include_tax true (gross prices, what the customer saw):
    unit_price     = (subtotal + subtotal_tax) / quantity
    discount_total = sum((subtotal + subtotal_tax) - (total + total_tax))
    shipping_price = shipping_total + shipping_tax (+ positive fees with their tax)
    tax_total      = None (tax is inside the prices)
  Either way our total equals Woo's `total`; where it does not (a rounded tax, a plugin's
  arithmetic) the problem `total` says by how much. A unit price that does not divide into the
  currency's minor unit (3 for 10.00) is rounded up to it, the few cents over counted as discount
  (so the total still matches), and is a problem on `line_items[i].subtotal`. An order-level
  amount finer than the minor unit is rounded half up and is a problem on its field.
  Fees (`fee_lines`): our order has no fee line. A positive fee (a COD or gift-wrap surcharge) is
  a charge on top of the goods like shipping and is added to shipping_price; a negative fee is
  Woo's way to give a cart discount and is added to discount_total. Coupons (`coupon_lines`) are
  only a record: Woo has already taken their discount off the lines' `total`.
  Currency: `currency` must be an ISO 4217 code we price in (Woo also offers BTC, IRT, PRB, ...):
  otherwise the order is unreadable (the contract has no placeholder currency).

Lines: SKU `sku_map.our_sku(sku, str(variation_id or product_id))`; a line that maps to nothing,
or to a SKU outside our SKU pattern, gets `placeholder_sku` and a problem on `line_items[i].sku`.
quantity must be a whole number from 1 to 10,000; at most 25 lines and at least one, else unreadable.

Customer: id `str(customer_id)`, or `guest-<order id>` for a guest (customer_id 0): stable for the
order across its revisions, never shared with another order. name from billing, else shipping
(first and last name, else company), else PLACEHOLDER_NAME and a problem. email from
billing.email (None when blank; when it is not an address, None and a problem). phone from
billing.phone, else shipping.phone, when it fits our pattern (else None). language "en": a
WooCommerce order has no language field (multilingual plugins keep their own meta).

Address: `shipping`, or `billing` when shipping has no address (a virtual order, local pickup);
when neither has one, placeholders and a problem on `shipping`. name = first + last (+ company);
line1 = address_1 (address_2 when address_1 is blank); region = state; postal_code = postcode;
country upper-cased. A missing line or city, a country that is not two letters, or text longer
than our fields take are placeholders or cut, each with a problem naming the Woo field.

Payment: provider external (Woo's gateway moved the money), amount = Woo's `total`, status:
  payment_method "cod": paid once date_paid_gmt is set or the order is completed, else cod
    (Woo's COD gateway puts the order in processing without a payment date: WC_Gateway_COD
    process_payment and change_payment_complete_order_status, includes/gateways/cod/)
  any other method: paid when date_paid_gmt is set or the status is processing or completed
    (WC_Order::maybe_set_date_paid sets the date on reaching the paid status), else pending
    (pending, on-hold, failed, custom statuses).
note: `customer_note` stripped, None when blank, cut to 1,000 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Annotated, Any, Literal, NoReturn

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationError

from shared.channels.intake import (
    PLACEHOLDER_CITY,
    PLACEHOLDER_COUNTRY,
    PLACEHOLDER_NAME,
    ChannelOrder,
    IntakeAction,
    MappingProblem,
    SkuMap,
    UnreadableOrder,
    WebhookSignatureInvalid,
    placeholder_sku,
)
from shared.domain.bounds import EARLIEST, LATEST
from shared.domain.money import ISO_4217, ZERO, from_minor, minor_unit, quantum
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
from shared.errors import MalformedBody

CHANNEL = "woocommerce"
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
TOPICS = frozenset({"order.created", "order.updated", "order.deleted", "order.restored"})

# Refunded in full before it shipped: the goods must not go out (after shipping, intake lists an exception).
CANCELLING = {"cancelled": "cancelled in WooCommerce", "trash": "moved to the trash in WooCommerce",
              "refunded": "refunded in WooCommerce"}
ACKNOWLEDGED = frozenset({"checkout-draft", "draft", "auto-draft", "new"})
GUEST_PREFIX = "guest-"
MAX_QUANTITY = 10_000
NOTE_LIMIT = 1000
_PLACEHOLDER_LINE = PLACEHOLDER_CITY  # "unknown": the contract has no street placeholder of its own


# --- verification ---------------------------------------------------------------------------------

def verify(raw_body: bytes, signature_header: str | None, secrets: Sequence[str]) -> None:
    """Raise WebhookSignatureInvalid unless X-WC-Webhook-Signature is base64(HMAC-SHA256(raw_body))
    keyed with one of `secrets` (the webhook's secret; two while it is rotated)."""
    if isinstance(secrets, str | bytes):
        raise TypeError("secrets must be a sequence of secrets, not one string")
    keys = [secret for secret in secrets if secret]  # an empty key would let anyone sign
    if not keys:
        raise WebhookSignatureInvalid("no WooCommerce webhook secret is configured")
    given = (signature_header or "").strip()
    if not given:
        raise WebhookSignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    given_bytes = given.encode("utf-8", "replace")
    matched = False
    for key in keys:  # every key is tried, so the time taken does not say which one matched
        expected = base64.b64encode(hmac.new(key.encode("utf-8"), raw_body, hashlib.sha256).digest())
        matched |= hmac.compare_digest(expected, given_bytes)
    if not matched:
        raise WebhookSignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")


_PING = re.compile(rb"webhook_id=[1-9][0-9]{0,19}")
_FORM = "application/x-www-form-urlencoded"


def is_activation_ping(raw_body: bytes, content_type: str | None) -> bool:
    """Whether this is WooCommerce's unsigned activation ping: the form body `webhook_id=<digits>`,
    nothing else, sent as a form (or without a content type). Answer it 200 and do nothing."""
    if content_type is not None and content_type.split(";", 1)[0].strip().lower() != _FORM:
        return False
    return isinstance(raw_body, bytes) and _PING.fullmatch(raw_body) is not None


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


class _Person(BaseModel):
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


PersonBlock = Annotated[_Person, BeforeValidator(_object)]


class _LineItem(BaseModel):
    product_id: RefId = 0
    variation_id: RefId = 0
    quantity: Quantity
    sku: Text = ""
    subtotal: Charge
    subtotal_tax: Charge = ZERO
    total: Charge
    total_tax: Charge = ZERO


class _FeeLine(BaseModel):
    total: Money = ZERO
    total_tax: Money = ZERO


class _Head(BaseModel):
    """What every full order body must carry, read before deciding what the message asks."""

    id: WooId
    number: Text = ""
    status: Annotated[Text, Field(min_length=1, max_length=64)]
    date_created_gmt: Gmt = None
    date_modified_gmt: Gmt = None


class _Order(_Head):
    currency: Annotated[Text, Field(min_length=1)]
    prices_include_tax: Annotated[bool, Strict()] = False
    date_paid_gmt: Gmt = None
    customer_id: RefId = 0
    customer_note: Text = ""
    billing: PersonBlock = _Person()
    shipping: PersonBlock = _Person()
    payment_method: Text = ""
    shipping_total: Charge = ZERO
    shipping_tax: Charge = ZERO
    total_tax: Charge = ZERO
    total: Charge
    line_items: Annotated[list[_LineItem], BeforeValidator(_list), Field(max_length=1000)] = []
    fee_lines: Annotated[list[_FeeLine], BeforeValidator(_list), Field(max_length=1000)] = []


class _Deleted(BaseModel):
    """order.deleted's body is the id alone: a whole order sent under that (unsigned) topic is refused."""

    model_config = ConfigDict(extra="forbid")
    id: WooId


# --- reading --------------------------------------------------------------------------------------

def read(topic: str, raw_body: bytes, sku_map: SkuMap) -> ChannelOrder:
    """The order message in a verified delivery. UnreadableOrder (naming the field) when the topic is
    not an order topic or the body is not a WooCommerce order; MalformedBody when it is not JSON."""
    name = topic.strip() if isinstance(topic, str) else ""
    if name not in TOPICS:
        raise UnreadableOrder(f"not an order topic: {name[:100]!r} (expected one of {', '.join(sorted(TOPICS))})",
                              field=TOPIC_HEADER)
    document = _json(raw_body)
    if not isinstance(document, dict):
        raise UnreadableOrder("not a WooCommerce order: the body is not a JSON object", field="body")
    if name == "order.deleted":
        deleted = _validate(_Deleted, document)
        return ChannelOrder(action=IntakeAction.CANCEL, channel_order_id=str(deleted.id), revision=LATEST,
                            cancel_reason="deleted in WooCommerce")
    head = _validate(_Head, document)
    revision = head.date_modified_gmt or head.date_created_gmt
    if revision is None:
        raise UnreadableOrder("not a WooCommerce order: no date_modified_gmt (nor date_created_gmt)",
                              field="date_modified_gmt")
    status = _status(head.status)
    number = head.number[:128]
    common: dict[str, Any] = {
        "channel_order_id": str(head.id), "revision": revision, "channel_status": head.status,
        "display_id": number if number and number != str(head.id) else None}
    if status in CANCELLING:
        return ChannelOrder(action=IntakeAction.CANCEL, cancel_reason=CANCELLING[status], **common)
    if status in ACKNOWLEDGED:
        return ChannelOrder(action=IntakeAction.ACKNOWLEDGE, **common)
    order = _validate(_Order, document)
    request, problems = _map(order, sku_map)
    return ChannelOrder(action=IntakeAction.UPSERT, request=request, problems=tuple(problems), **common)


def _status(status: str) -> str:
    key = status.lower()
    return key[3:] if key.startswith("wc-") else key


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _json(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, ArithmeticError, RecursionError, TypeError) as error:  # bad JSON, UTF-8, nesting
        raise MalformedBody(f"not a WooCommerce order: the body is not JSON ({type(error).__name__})",
                            field="body") from None


def _path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _validate[M: BaseModel](model: type[M], document: dict[str, Any]) -> M:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        detail = error.errors()[0]
        field = _path(detail["loc"]) or "body"
        raise UnreadableOrder(f"not a WooCommerce order: {field}: {detail['msg']}", field=field) from None


# --- mapping --------------------------------------------------------------------------------------

_SKU = re.compile(ID_PATTERN)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ()\-]{4,31}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _map(order: _Order, sku_map: SkuMap) -> tuple[OrderRequest, list[MappingProblem]]:
    currency = order.currency.upper()
    if currency not in ISO_4217:
        raise UnreadableOrder(f"not a WooCommerce order we can price: currency {order.currency[:20]!r} is not an "
                              "ISO 4217 code", field="currency")
    if not order.line_items:
        raise UnreadableOrder("not a WooCommerce order: it has no line items", field="line_items")
    if len(order.line_items) > MAX_LINES:
        raise UnreadableOrder(f"not an order we can take: {len(order.line_items)} line items, more than the "
                              f"{MAX_LINES} an order may have", field="line_items")
    problems: list[MappingProblem] = []
    gross = order.prices_include_tax
    with localcontext() as exact:
        exact.prec = 80  # amounts have at most 32 digits: sums of them stay exact
        lines: list[tuple[str, int, Decimal]] = []
        discount = ZERO
        for index, item in enumerate(order.line_items):
            at = f"line_items[{index}]"
            before = item.subtotal + item.subtotal_tax if gross else item.subtotal
            after = item.total + item.total_tax if gross else item.total
            unit, over = _unit_price(before, item.quantity, currency)
            if over:
                problems.append(MappingProblem(f"{at}.subtotal", (
                    f"{before} {currency} for {item.quantity} is not a whole number of minor units each: priced "
                    f"at {unit} each, the {over} over counted as discount")))
            if after > before:
                problems.append(MappingProblem(f"{at}.total", (
                    f"the line's total {after} is above its subtotal {before}: a surcharge we cannot express")))
            discount += max(before - after, ZERO) + over
            lines.append((_sku(item, at, sku_map, problems), item.quantity, unit))
        shipping = order.shipping_total + order.shipping_tax if gross else order.shipping_total
        for fee in order.fee_lines:
            charge = fee.total + fee.total_tax if gross else fee.total
            if charge >= 0:
                shipping += charge
            else:
                discount -= charge
        step = quantum(currency)
        shipping_price = _in_minor_units(shipping, "shipping_total", currency, problems)
        discount_total = _in_minor_units(discount, "discount_total", currency, problems)
        tax_total = None if gross else _in_minor_units(order.total_tax, "total_tax", currency, problems)
        amount = _in_minor_units(order.total, "total", currency, problems)
        request = _request(order, currency, lines, shipping_price, discount_total, tax_total, amount, problems)
        if request.total != amount:  # (a total finer than the minor unit is already a problem above)
            problems.append(MappingProblem("total", (
                f"the lines, shipping, fees, discount and tax add up to {request.total.quantize(step)} {currency}, "
                f"WooCommerce's total is {order.total}")))
    return request, problems


def _unit_price(line: Decimal, quantity: int, currency: str) -> tuple[Decimal, Decimal]:
    """The line's price per unit in whole minor units, rounded up, and what that adds to the line."""
    units = math.ceil(Fraction(line) * 10 ** minor_unit(currency) / quantity)
    unit = from_minor(units, currency)
    return unit, unit * quantity - line


def _in_minor_units(value: Decimal, field: str, currency: str, problems: list[MappingProblem]) -> Decimal:
    rounded = value.quantize(quantum(currency), ROUND_HALF_UP)
    if rounded != value:
        problems.append(MappingProblem(field, f"{value} {currency} is finer than the currency's minor unit: "
                                              f"rounded to {rounded}"))
    return rounded


def _sku(item: _LineItem, at: str, sku_map: SkuMap, problems: list[MappingProblem]) -> str:
    reference = item.variation_id or item.product_id
    variant = str(reference) if reference else None
    ours = sku_map.our_sku(item.sku or None, variant)
    if ours and _SKU.fullmatch(ours):
        return ours
    if ours:
        problem = f"SKU {ours[:80]!r} does not fit our SKU format (letters, digits, '.', '_', '-'; 64 at most)"
    elif variant:
        problem = f"the line has no SKU and its product (variation) id {variant} is not in the SKU map as variant:{variant}"
    else:
        problem = "the line has no SKU and no product id (the product was deleted)"
    problems.append(MappingProblem(f"{at}.sku", problem))
    return placeholder_sku(item.sku or variant)


def _request(order: _Order, currency: str, lines: list[tuple[str, int, Decimal]], shipping_price: Decimal,
             discount_total: Decimal, tax_total: Decimal | None, amount: Decimal,
             problems: list[MappingProblem]) -> OrderRequest:
    customer = _customer(order, problems)
    address = _address(order, problems)
    note = order.customer_note[:NOTE_LIMIT].strip() or None
    built: list[OrderLine] = []
    try:
        for index, (sku, quantity, unit) in enumerate(lines):
            at = f"line_items[{index}].subtotal"
            built.append(OrderLine(sku=sku, quantity=quantity, unit_price=unit))
        at = "total"
        payment = Payment(status=_payment_status(order), amount=amount, provider=PaymentProvider.EXTERNAL)
        return OrderRequest(
            channel_order_id=str(order.id), customer=customer, shipping_address=address, lines=built,
            currency=currency, payment=payment, shipping_price=shipping_price, discount_total=discount_total,
            tax_total=tax_total, note=note)
    except ValidationError as error:  # amounts past what an order can hold (10^10), a negative total
        detail = error.errors()[0]
        field = _OUR_FIELDS.get(str(detail["loc"][0]), at) if detail["loc"] else at
        raise UnreadableOrder(f"not an order we can take: {field}: {detail['msg']}", field=field) from None


_OUR_FIELDS = {"shipping_price": "shipping_total", "discount_total": "discount_total", "tax_total": "total_tax",
               "payment": "total"}


def _customer(order: _Order, problems: list[MappingProblem]) -> Customer:
    billing, shipping = order.billing, order.shipping
    name = _person(billing) or _person(shipping) or billing.company or shipping.company
    if not name:
        problems.append(MappingProblem("billing.first_name", "no customer name in billing or shipping"))
    email: str | None = billing.email or None
    if email and not (len(email) <= 254 and _EMAIL.fullmatch(email)):
        problems.append(MappingProblem("billing.email", f"{email[:80]!r} is not an email address: no emails "
                                                        "will be sent for the order"))
        email = None
    phone = next((p for p in (billing.phone, shipping.phone) if len(p) <= 32 and _PHONE.fullmatch(p)), None)
    return Customer(id=str(order.customer_id) if order.customer_id else f"{GUEST_PREFIX}{order.id}",
                    email=email, name=(name or PLACEHOLDER_NAME)[:200], phone=phone)


def _person(person: _Person) -> str:
    return " ".join(filter(None, (person.first_name, person.last_name)))


def _has_address(person: _Person) -> bool:
    return bool(person.address_1 or person.address_2 or person.city or person.postcode)


def _address(order: _Order, problems: list[MappingProblem]) -> Address:
    if _has_address(order.shipping):
        person, where = order.shipping, "shipping"
    elif _has_address(order.billing):
        person, where = order.billing, "billing"
    else:
        problems.append(MappingProblem("shipping", "neither shipping nor billing has an address"))
        return Address(name=_person(order.shipping) or _person(order.billing) or None, line1=_PLACEHOLDER_LINE,
                       city=PLACEHOLDER_CITY, country=PLACEHOLDER_COUNTRY)

    def fit(value: str, limit: int, field: str) -> str:
        if len(value) > limit:
            problems.append(MappingProblem(f"{where}.{field}", f"longer than the {limit} characters we keep: cut"))
        return value[:limit]

    line1, line2 = (person.address_1, person.address_2) if person.address_1 else (person.address_2, "")
    if not line1:
        problems.append(MappingProblem(f"{where}.address_1", "no street address"))
    city = person.city
    if not city:
        problems.append(MappingProblem(f"{where}.city", "no city"))
    country = person.country.upper()
    if not _COUNTRY.fullmatch(country):
        problems.append(MappingProblem(f"{where}.country", f"{person.country[:40]!r} is not an ISO 3166-1 "
                                                           "alpha-2 country code"))
        country = PLACEHOLDER_COUNTRY
    name = ", ".join(filter(None, (_person(person), person.company)))
    return Address(
        name=fit(name, 200, "first_name") or None,
        line1=fit(line1, 200, "address_1") if line1 else _PLACEHOLDER_LINE,
        line2=fit(line2, 200, "address_2") or None,
        city=fit(city, 100, "city") if city else PLACEHOLDER_CITY,
        postal_code=fit(person.postcode, 20, "postcode") or None,
        region=fit(person.state, 100, "state") or None,
        country=country)


def _payment_status(order: _Order) -> Literal["paid", "pending", "cod"]:
    status = _status(order.status)
    paid = order.date_paid_gmt is not None
    if order.payment_method.lower() == "cod":
        return "paid" if paid or status == "completed" else "cod"
    return "paid" if paid or status in ("processing", "completed") else "pending"
