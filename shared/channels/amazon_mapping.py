"""Amazon's orders in our canonical form: the mapping half of the Amazon adapter (the client, its
pagination, throttling and credentials are in shared/channels/amazon.py; what maps to what is written
there, in its module docstring). Each API version's order is read into one `Sale`
(shared/channels/amazon_reading.py); one set of rules here maps a Sale to our ChannelOrder. Pure: no
I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from shared.channels.amazon_reading import Line, Sale, read_2026, read_v0
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

# ------------------------------------------------------------------ the rules

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
PLACEHOLDER_STREET = PLACEHOLDER_NAME


def to_channel_order(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]] | None,
                     sku_map: SkuMap) -> ChannelOrder:
    """An Amazon order (v0 Order with its getOrderItems items, or a 2026-01-01 Order, whose items
    are its own orderItems unless `items` are given) as our ChannelOrder. UnreadableOrder when the
    body is not an order we can read."""
    if not isinstance(order, Mapping):
        raise UnreadableOrder("the Amazon order is not a JSON object")
    if "AmazonOrderId" in order:
        sale = read_v0(order, items)
    elif "orderId" in order:
        sale = read_2026(order, items)
    else:
        raise UnreadableOrder("no AmazonOrderId (v0) or orderId (2026-01-01): not an Amazon order",
                              field="AmazonOrderId")
    return _channel_order(sale, sku_map)


def _channel_order(sale: Sale, sku_map: SkuMap) -> ChannelOrder:
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


def _lines(sale: Sale, sku_map: SkuMap, currency: str, problems: list[MappingProblem]) -> list[OrderLine]:
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


def _unit_price(line: Line, currency: str, problems: list[MappingProblem]) -> Decimal:
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


def _tax_total(sale: Sale, lines: list[OrderLine], problems: list[MappingProblem]) -> Decimal | None:
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


def _shipping_address(sale: Sale, problems: list[MappingProblem]) -> tuple[Address, str]:
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


def _customer(sale: Sale, address_name: str) -> Customer:
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