"""Shopify's Order (shared/channels/shopify_payload.py) mapped to our OrderRequest, with the problems
that hold it. Pure: no AWS, no clock, no network. shared/channels/shopify.py reads the topics and calls
`map_order`.

Mapping an Order (each rule, in the order applied; "problem" = a MappingProblem, the order is held):
  money       We keep the PRESENTMENT currency and amounts: what the customer saw and was charged
              (`presentment_currency`, every `*_set.presentment_money`), not the shop's currency
              (`currency`, the plain `total_price` strings, `shop_money`). A presentment amount in
              another currency than the order's is a problem. A currency that is not ISO 4217 is
              UnreadableOrder: no stand-in would validate (ISO's "no currency" code is not in our list) and a real
              one would mislabel every amount.
  ids         channel_order_id = str(id); display_id = name ("#1001"); revision = updated_at;
              channel_status = financial_status.
  lines       line_items[]: quantity is current_quantity (what is left after edits, removals and
              refunds) when present, else quantity; lines left with 0 are dropped. SKU =
              sku_map.our_sku(sku, str(variant_id)); none, or not one of our SKU pattern: placeholder
              UNMAPPED-<sku or variant id> and a problem at line_items[i].sku. unit_price =
              price_set.presentment_money.amount (the price before discounts). More than 25 lines,
              none left, or more than 10,000 units of one: UnreadableOrder.
  discounts   discount_total = every line's discount_allocations[].amount_set + every shipping
              line's; a line whose current_quantity is below its quantity keeps that share of its
              allocations (rounded to the currency's minor unit).
  shipping    shipping_price = shipping_lines[].price_set (lines flagged is_removed left out).
  taxes       taxes_included false: tax_total = total_tax_set (tax charged on top of the prices);
              true (or absent): tax_total None, the prices include it.
  total       payment.amount = total_price_set; our total (lines + shipping - discounts + tax) must
              equal it, else a problem at total_price saying both. When any line's current_quantity
              differs from its quantity, the current_* totals (current_total_price_set,
              current_total_tax_set) are the ones compared and charged.
  address     shipping_address: name (or first_name + last_name), address1, address2, city, zip,
              province_code (or province) as region, country_code, latitude/longitude when both are
              numbers in range. Missing address, address1, city or country_code: "unknown"/"ZZ"
              stand-ins and a problem for each; a zip over 20 characters is dropped with a problem.
  customer    id = str(customer.id); a guest (no customer) gets "guest-order-<order id>", the same for
              every revision of the order. email = email, else contact_email, else customer.email,
              whichever first looks like an address (none: no email). name = the customer's first and
              last name, else the shipping then billing address's (none: "unknown" and a problem).
              phone = the first of phone, customer.phone, shipping and billing address phone that fits
              our pattern. language = customer_locale as BCP 47 "ll" or "ll-RR" ("fr-CA"; "zh-Hant-TW"
              -> "zh-TW"; unreadable -> "en").
  payment     provider external (Shopify settles the money). financial_status: authorized ->
              authorized; paid, partially_refunded, refunded -> paid; pending, partially_paid, unpaid
              -> pending, or cod when payment_gateway_names has a cash on delivery gateway ("Cash on
              Delivery (COD)"); voided, expired -> pending (the order waits for payment); missing or
              unknown -> pending and a problem.
  note        note, trimmed, at most 1000 characters; blank -> None.
A stored amount must fit our Amount (at most 14 digits, 4 decimals, not negative): a price, shipping,
discount or tax that does not is 0 with a problem (the total check then names the difference too).
Anything else our OrderRequest still refuses is UnreadableOrder naming the Shopify field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.channels.intake import (
    PLACEHOLDER_CITY,
    PLACEHOLDER_COUNTRY,
    PLACEHOLDER_NAME,
    MappingProblem,
    SkuMap,
    UnreadableOrder,
    field_path,
    placeholder_sku,
)
from shared.channels.shopify_payload import (
    NOTE_LIMIT,
    Address,
    LineItem,
    MoneySet,
    Order,
    ShopifyCustomer,
)
from shared.domain.money import ISO_4217, ZERO, Amount, quantum
from shared.domain.orders import ID_PATTERN, MAX_LINES, Customer, OrderRequest

PLACEHOLDER_STREET = PLACEHOLDER_CITY  # intake has no street stand-in of its own: the same "unknown"
MAX_UNITS = 10_000  # our OrderLine.quantity bound

# financial_status -> our payment status; None: pending unless paid cash on delivery.
_PAYMENT_STATUS: dict[str, str | None] = {
    "authorized": "authorized",
    "paid": "paid", "partially_refunded": "paid", "refunded": "paid",
    "pending": None, "partially_paid": None, "unpaid": None,
    "voided": "pending", "expired": "pending",
}


# --- mapping an Order -----------------------------------------------------------------------------

_AMOUNT: TypeAdapter[Decimal] = TypeAdapter(Amount)
_SKU = re.compile(ID_PATTERN)


def _fits_amount(value: Decimal) -> bool:
    try:
        _AMOUNT.validate_python(format(value, "f"))
    except ValidationError:
        return False
    return True
_COUNTRY = re.compile(r"[A-Z]{2}")


class _Mapper:
    """One Order being mapped: the problems met so far and the order's currency."""

    def __init__(self, order: Order):
        self.order = order
        self.problems: list[MappingProblem] = []
        self.currency = self._currency()

    def problem(self, field: str, text: str) -> None:
        self.problems.append(MappingProblem(field=field, problem=text))

    def _currency(self) -> str:
        given = self.order.presentment_currency or self.order.total_price_set.presentment_money.currency_code
        code = given.strip().upper()
        if code not in ISO_4217:
            raise UnreadableOrder(f"presentment_currency {given[:10]!r} is not an ISO 4217 currency code",
                                  field="presentment_currency")
        return code

    def amount(self, money: MoneySet, field: str) -> Decimal:
        """The presentment amount of a money bag (a problem if in another currency than the order's)."""
        presentment = money.presentment_money
        if presentment.currency_code != self.currency:
            self.problem(f"{field}.presentment_money.currency_code",
                         f"is {presentment.currency_code[:10]!r}, the order's currency is {self.currency}")
        return Decimal(presentment.amount)

    def keep(self, value: Decimal, field: str, stand_in: Decimal = ZERO) -> str:
        """`value` as our Amount text; when it does not fit one, `stand_in` and a problem."""
        if _fits_amount(value):
            return format(value, "f")
        self.problem(field, f"{format(value, 'f')} {self.currency} is not an amount we can keep (at most 14 "
                            f"digits and 4 decimals, not negative): {format(stand_in, 'f')} stands in")
        return format(stand_in, "f")


def map_order(order: Order, sku_map: SkuMap) -> tuple[OrderRequest, tuple[MappingProblem, ...]]:
    mapper = _Mapper(order)
    edited = any(item.current_quantity is not None and item.current_quantity != item.quantity
                 for item in order.line_items)
    lines, sources, line_discounts = _lines(mapper, order, sku_map)
    shipping, shipping_discounts = _shipping(mapper, order)
    body: dict[str, Any] = {
        "channel_order_id": str(order.id),
        "customer": _customer(mapper, order),
        "shipping_address": _address(mapper, order.shipping_address),
        "lines": lines,
        "currency": mapper.currency,
        "shipping_price": mapper.keep(shipping, "shipping_lines"),
        "discount_total": mapper.keep(line_discounts + shipping_discounts, "discount_allocations"),
        "note": _note(order.note),
    }
    if order.taxes_included is False:
        taxes, field = order.total_tax_set, "total_tax_set"
        if edited and order.current_total_tax_set is not None:
            taxes, field = order.current_total_tax_set, "current_total_tax_set"
        body["tax_total"] = mapper.keep(mapper.amount(taxes, field) if taxes else ZERO, field)
    ours = (sum((Decimal(line["unit_price"]) * line["quantity"] for line in lines), ZERO)
            + Decimal(body["shipping_price"]) - Decimal(body["discount_total"]) + Decimal(body.get("tax_total", "0")))
    body["payment"] = {"status": _payment_status(mapper, order), "provider": "external",
                       "amount": _total(mapper, order, edited, ours)}
    try:
        request = OrderRequest.model_validate(body)
    except ValidationError as error:
        detail = error.errors()[0]
        field = _shopify_field(detail["loc"], sources)
        raise UnreadableOrder(f"a Shopify order we cannot take: {field}: {detail['msg']}", field=field) from None
    return request, tuple(mapper.problems)


def _lines(mapper: _Mapper, order: Order, sku_map: SkuMap) -> tuple[list[dict[str, Any]], list[int], Decimal]:
    lines: list[dict[str, Any]] = []
    sources: list[int] = []  # lines[k] came from line_items[sources[k]]
    discounts = ZERO
    for index, item in enumerate(order.line_items):
        at = f"line_items[{index}]"
        current = item.current_quantity is not None
        units = item.current_quantity if item.current_quantity is not None else item.quantity
        if units == 0:
            continue  # removed, refunded or cancelled in full
        if units > MAX_UNITS:
            field = f"{at}.{'current_quantity' if current else 'quantity'}"
            raise UnreadableOrder(f"a Shopify order we cannot take: {field}: {units} units, at most {MAX_UNITS}",
                                  field=field)
        allocated = sum((mapper.amount(allocation.amount_set, f"{at}.discount_allocations[{n}].amount_set")
                         for n, allocation in enumerate(item.discount_allocations)), ZERO)
        if units < item.quantity:  # only what is left keeps its share of the line's discount
            allocated = (allocated * units / item.quantity).quantize(quantum(mapper.currency), ROUND_HALF_UP)
        discounts += allocated
        price = mapper.amount(item.price_set, f"{at}.price_set")
        lines.append({"sku": _sku(mapper, item, at, sku_map), "quantity": units,
                      "unit_price": mapper.keep(price, f"{at}.price_set.presentment_money.amount")})
        sources.append(index)
    if not lines:
        raise UnreadableOrder("a Shopify order we cannot take: line_items: no line has a quantity left",
                              field="line_items")
    if len(lines) > MAX_LINES:
        raise UnreadableOrder(f"a Shopify order we cannot take: line_items: {len(lines)} lines, at most {MAX_LINES}",
                              field="line_items")
    return lines, sources, discounts


def _sku(mapper: _Mapper, item: LineItem, at: str, sku_map: SkuMap) -> str:
    variant = str(item.variant_id) if item.variant_id is not None else None
    ours = sku_map.our_sku(item.sku, variant)
    if ours is not None and _SKU.fullmatch(ours):
        return ours
    what = f"{item.name!r} " if item.name else ""
    if ours is None:
        mapper.problem(f"{at}.sku", f"line {what}has no SKU and its variant {variant or '(none)'} is not mapped")
    else:
        mapper.problem(f"{at}.sku", f"line {what}SKU {ours[:70]!r} is not one we can use (letters, digits, "
                                    "'.', '_', '-', at most 64) and is not mapped")
    return placeholder_sku(item.sku or variant)


def _shipping(mapper: _Mapper, order: Order) -> tuple[Decimal, Decimal]:
    price = discounts = ZERO
    for index, line in enumerate(order.shipping_lines):
        if line.is_removed:
            continue
        at = f"shipping_lines[{index}]"
        price += mapper.amount(line.price_set, f"{at}.price_set")
        discounts += sum((mapper.amount(allocation.amount_set, f"{at}.discount_allocations[{n}].amount_set")
                          for n, allocation in enumerate(line.discount_allocations)), ZERO)
    return price, discounts


def _total(mapper: _Mapper, order: Order, edited: bool, ours: Decimal) -> str:
    """What the customer is charged (payment.amount); a problem when our lines do not add up to it."""
    money, field = order.total_price_set, "total_price_set"
    if edited and order.current_total_price_set is not None:
        money, field = order.current_total_price_set, "current_total_price_set"
    said = mapper.amount(money, field)
    if said != ours:
        mapper.problem("total_price", f"Shopify says {format(said, 'f')} {mapper.currency} but its lines, shipping, "
                                      f"discounts and taxes make {format(ours, 'f')} {mapper.currency}")
    stand_in = ours if _fits_amount(ours) else ZERO
    return mapper.keep(said, f"{field}.presentment_money.amount", stand_in)


def _payment_status(mapper: _Mapper, order: Order) -> str:
    status = (order.financial_status or "").strip().lower()
    if status not in _PAYMENT_STATUS:
        mapper.problem("financial_status", f"{order.financial_status!r} is not a financial status we know: "
                                           "the order waits for payment")
        return "pending"
    mapped = _PAYMENT_STATUS[status]
    if mapped is not None:
        return mapped
    cash = any("cash on delivery" in name.lower() or re.search(r"\bcod\b", name.lower())
               for name in order.payment_gateway_names)
    return "cod" if cash else "pending"


def _fit(text: str | None, limit: int) -> str | None:
    """Trimmed, cut to `limit`, None when blank."""
    if text is None:
        return None
    cut = text.strip()[:limit].strip()
    return cut or None


def _full_name(address: Address | ShopifyCustomer | None) -> str | None:
    if address is None:
        return None
    given = address.name if isinstance(address, Address) else None
    return _fit(given, 200) or _fit(" ".join(filter(None, (address.first_name, address.last_name))), 200)


def _address(mapper: _Mapper, address: Address | None) -> dict[str, Any]:
    if address is None:
        mapper.problem("shipping_address", "missing: there is no address to ship to")
        return {"line1": PLACEHOLDER_STREET, "city": PLACEHOLDER_CITY, "country": PLACEHOLDER_COUNTRY}
    line1, city = _fit(address.address1, 200), _fit(address.city, 100)
    country = (address.country_code or "").strip().upper()
    if line1 is None:
        mapper.problem("shipping_address.address1", f"missing: {PLACEHOLDER_STREET!r} stands in")
    if city is None:
        mapper.problem("shipping_address.city", f"missing: {PLACEHOLDER_CITY!r} stands in")
    if not _COUNTRY.fullmatch(country):
        mapper.problem("shipping_address.country_code",
                       f"{address.country_code!r} is not an ISO 3166 country code: {PLACEHOLDER_COUNTRY} stands in")
        country = PLACEHOLDER_COUNTRY
    postal_code = _fit(address.zip, 255)
    if postal_code is not None and len(postal_code) > 20:
        mapper.problem("shipping_address.zip", f"{postal_code[:30]!r} is longer than a postal code (20): left out")
        postal_code = None
    mapped: dict[str, Any] = {
        "name": _full_name(address), "line1": line1 or PLACEHOLDER_STREET, "line2": _fit(address.address2, 200),
        "city": city or PLACEHOLDER_CITY, "postal_code": postal_code,
        "region": _fit(address.province_code, 100) or _fit(address.province, 100), "country": country,
    }
    lat, lon = address.latitude, address.longitude
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        mapped |= {"lat": lat, "lon": lon}
    return mapped


def _fits_customer(field: str, value: str) -> bool:
    """Whether `value` passes our Customer's own check of `field` (email, phone)."""
    try:
        Customer.model_validate({"id": "probe", "name": "probe", field: value})
    except ValidationError:
        return False
    return True


def _customer(mapper: _Mapper, order: Order) -> dict[str, Any]:
    customer = order.customer
    customer_id = str(customer.id) if customer and customer.id else f"guest-order-{order.id}"
    emails = (order.email, order.contact_email, customer.email if customer else None)
    email = next((e.strip() for e in emails if e and _fits_customer("email", e.strip())), None)
    name = _full_name(customer) or _full_name(order.shipping_address) or _full_name(order.billing_address)
    if name is None:
        mapper.problem("customer", f"no name on the customer, the shipping or the billing address: "
                                   f"{PLACEHOLDER_NAME!r} stands in")
    phones = (order.phone, customer.phone if customer else None,
              order.shipping_address.phone if order.shipping_address else None,
              order.billing_address.phone if order.billing_address else None)
    phone = next((p.strip() for p in phones if p and _fits_customer("phone", p.strip())), None)
    return {"id": customer_id, "email": email, "name": name or PLACEHOLDER_NAME, "phone": phone,
            "language": _language(order.customer_locale)}


def _language(locale: str | None) -> str:
    """Shopify's customer_locale as our BCP 47 pattern: "fr-CA", "de", "zh-Hant-TW" -> "zh-TW";
    anything we cannot read -> "en"."""
    parts = re.split(r"[-_]", (locale or "").strip())
    language = parts[0].lower()
    if not re.fullmatch(r"[a-z]{2}", language):
        return "en"
    region = next((part.upper() for part in parts[1:] if re.fullmatch(r"[A-Za-z]{2}", part)), None)
    return f"{language}-{region}" if region else language


def _note(note: str | None) -> str | None:
    return _fit(note, NOTE_LIMIT)


# Our request's fields -> the Shopify field they were read from (for what OrderRequest still refuses).
_SOURCE_FIELDS = {
    "channel_order_id": "id", "customer": "customer", "shipping_address": "shipping_address",
    "currency": "presentment_currency", "payment": "total_price_set", "shipping_price": "shipping_lines",
    "discount_total": "discount_allocations", "tax_total": "total_tax_set", "note": "note",
}


def _shopify_field(loc: Sequence[int | str], sources: list[int]) -> str:
    if not loc:
        return "total_price"  # the request as a whole: its total
    if loc[0] == "lines" and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(sources):
        return field_path(("line_items", sources[loc[1]], *loc[2:]))
    return _SOURCE_FIELDS.get(str(loc[0]), str(loc[0]))
