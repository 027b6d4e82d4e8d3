"""Amazon's orders in our canonical form: the mapping half of the Amazon adapter (the client, its
pagination, throttling and credentials are in shared/channels/amazon.py; what maps to what is written
there, in its module docstring). Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

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
    order_id = order_id_at(order.get("AmazonOrderId"), "AmazonOrderId")
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
        item = object_at(raw, f"OrderItems[{i}]")
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
    order_id = order_id_at(order.get("orderId"), "orderId")
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
        for j, breakdown in enumerate(list_at(proceeds.get("breakdowns"), "proceeds.breakdowns")):
            if isinstance(breakdown, dict) and breakdown.get("type") == "DELIVERY_TIP":
                total -= money(breakdown.get("subtotal"), f"proceeds.breakdowns[{j}].subtotal")
        sale.expected_total = total
    for i, raw in enumerate(list_at(raw_items, "orderItems")):
        item = object_at(raw, f"orderItems[{i}]")
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
        for j, breakdown in enumerate(list_at(item_proceeds.get("breakdowns"), f"{where}.proceeds.breakdowns")):
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
    executions = list_at(payment.get("paymentExecutions"), "payment.paymentExecutions")
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


def order_id_at(value: Any, where: str) -> str:
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


def object_at(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise UnreadableOrder(f"Amazon's answer has no object at {what}", field=what)
    return value


def list_at(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnreadableOrder(f"Amazon's answer has no list at {what}", field=what)
    return value
