"""A WooCommerce order (shared/channels/woocommerce_payload.py) mapped to our OrderRequest, with the
problems that hold it. Pure: no AWS, no clock. shared/channels/woocommerce.py reads the topics and
calls `map_order`.

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

import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Literal

from pydantic import ValidationError

from shared.channels.intake import (
    PLACEHOLDER_CITY,
    PLACEHOLDER_COUNTRY,
    PLACEHOLDER_NAME,
    MappingProblem,
    SkuMap,
    UnreadableOrder,
    placeholder_sku,
)
from shared.channels.woocommerce_payload import LineItem, Order, Person, plain_status
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

GUEST_PREFIX = "guest-"
NOTE_LIMIT = 1000
_PLACEHOLDER_LINE = PLACEHOLDER_CITY  # "unknown": the contract has no street placeholder of its own


# --- mapping --------------------------------------------------------------------------------------

_SKU = re.compile(ID_PATTERN)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ()\-]{4,31}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def map_order(order: Order, sku_map: SkuMap) -> tuple[OrderRequest, list[MappingProblem]]:
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


def _sku(item: LineItem, at: str, sku_map: SkuMap, problems: list[MappingProblem]) -> str:
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


def _request(order: Order, currency: str, lines: list[tuple[str, int, Decimal]], shipping_price: Decimal,
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


def _customer(order: Order, problems: list[MappingProblem]) -> Customer:
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


def _person(person: Person) -> str:
    return " ".join(filter(None, (person.first_name, person.last_name)))


def _has_address(person: Person) -> bool:
    return bool(person.address_1 or person.address_2 or person.city or person.postcode)


def _address(order: Order, problems: list[MappingProblem]) -> Address:
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


def _payment_status(order: Order) -> Literal["paid", "pending", "cod"]:
    status = plain_status(order.status)
    paid = order.date_paid_gmt is not None
    if order.payment_method.lower() == "cod":
        return "paid" if paid or status == "completed" else "cod"
    return "paid" if paid or status in ("processing", "completed") else "pending"
