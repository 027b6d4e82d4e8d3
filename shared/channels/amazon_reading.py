"""Amazon's two order shapes (Orders API v0: an Order with its getOrderItems items; 2026-01-01: an
Order with its orderItems) read into one `Sale`, which shared/channels/amazon_mapping.py maps to our
ChannelOrder by one set of rules. What maps to what is written in shared/channels/amazon.py's module
docstring. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.channels.intake import IntakeAction, MappingProblem, UnreadableOrder
from shared.domain.money import ZERO

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

_PRINTABLE_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
# Our address fields -> Amazon's (v0 Address; 2026-01-01 CustomerAddress).
V0_ADDRESS = {"name": "Name", "line1": "AddressLine1", "line2": "AddressLine2", "line3": "AddressLine3",
              "city": "City", "region": "StateOrRegion", "postal_code": "PostalCode", "country": "CountryCode",
              "phone": "Phone"}
ADDRESS_2026 = {"name": "name", "line1": "addressLine1", "line2": "addressLine2", "line3": "addressLine3",
                "city": "city", "region": "stateOrRegion", "postal_code": "postalCode", "country": "countryCode",
                "phone": "phone"}


@dataclass
class Line:
    sku_field: str
    channel_sku: str | None
    quantity: int
    unit_price: Decimal | None = None   # given per unit (2026-01-01)
    line_total: Decimal | None = None   # given per line (v0 ItemPrice)


@dataclass
class Sale:
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
    lines: list[Line] = field(default_factory=list)
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

    def __init__(self, sale: Sale, amount_key: str, currency_key: str):
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


# ------------------------------------------------------------------ reading each version


def read_v0(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]] | None) -> Sale:
    order_id = order_id_at(order.get("AmazonOrderId"), "AmazonOrderId")
    status = _text(order.get("OrderStatus"))
    if status is None:
        raise UnreadableOrder("OrderStatus is missing", field="OrderStatus")
    by_amazon = order.get("FulfillmentChannel") == "AFN"
    sale = Sale(order_id=order_id, revision=_moment(order.get("LastUpdateDate"), "LastUpdateDate"),
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
        sale.lines.append(Line(f"{where}.SellerSKU", _text(item.get("SellerSKU")), quantity,
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


def read_2026(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]] | None) -> Sale:
    order_id = order_id_at(order.get("orderId"), "orderId")
    fulfillment = _sub(order, "fulfillment")
    status = _text(fulfillment.get("fulfillmentStatus"))
    if status is None:
        raise UnreadableOrder("fulfillment.fulfillmentStatus is missing (includedData FULFILLMENT)",
                              field="fulfillment.fulfillmentStatus")
    sales_channel = _sub(order, "salesChannel")
    by_amazon = fulfillment.get("fulfilledBy") == "AMAZON"
    sale = Sale(order_id=order_id, revision=_moment(order.get("lastUpdatedTime"), "lastUpdatedTime"),
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
        line = Line(f"{where}.product.sellerSku", _text(product.get("sellerSku")), quantity)
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


# ------------------------------------------------------------------ Amazon's values


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
