"""Shopify order webhooks: signatures computed the way Shopify documents them, bodies shaped like
Shopify's documented webhook samples (channel_payloads/shopify/*.json: the Order and Refund resources
as the orders/create, orders/cancelled and refunds/create samples render them; values ours).

orders_create.json: a US shop (shop money USD) selling to Ottawa in CAD (presentment money), taxes on
top (HST 13%), a 10% code on the T-shirts, 2.00 off shipping, a poster line without a SKU (its variant
is mapped), coordinates on the shipping address. orders_cancelled.json: a German shop (EUR, prices
include VAT), authorised then cancelled by the customer. refunds_create.json: the broken mug refunded.

Sources
  signature  https://shopify.dev/docs/apps/build/webhooks/subscribe/https
  payloads   https://shopify.dev/docs/api/webhooks (orders/create, orders/cancelled, refunds/create)
  resources  https://shopify.dev/docs/api/admin-rest/latest/resources/order, .../resources/refund
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.channels.intake import (
    PLACEHOLDER_CITY,
    PLACEHOLDER_COUNTRY,
    PLACEHOLDER_NAME,
    ChannelOrder,
    IntakeAction,
    SkuMap,
    UnreadableOrder,
    WebhookSignatureInvalid,
)
from shared.channels.shopify import TOPIC_HEADER, read, verify
from shared.domain.orders import OrderRequest
from shared.errors import InvalidInput, MalformedBody, Unauthenticated
from tests.signers import base64_hmac

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).parent / "channel_payloads" / "shopify"
SECRET = "shpss_4c0ffee4c0ffee4c0ffee4c0ffee4c0f"
OLD_SECRET = "shpss_0ld5ecret0ld5ecret0ld5ecret0ld5"
ORDER_ID = "6012893405417"
SKU_MAP = SkuMap({"variant:44610569208041": "POSTER-A2"})
EST = timezone(timedelta(hours=-5))


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def doc(name: str = "orders_create") -> dict:
    return json.loads(raw(name))


def encode(document: dict) -> bytes:
    return json.dumps(document).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    """X-Shopify-Hmac-Sha256 as Shopify documents it: base64 of the HMAC-SHA256 digest of the raw body,
    keyed with the app's client secret."""
    return base64_hmac(body, secret)


def read_doc(document: dict, topic: str = "orders/create", sku_map: SkuMap = SKU_MAP) -> ChannelOrder:
    return read(topic, encode(document), sku_map)


def request_of(document: dict, sku_map: SkuMap = SKU_MAP) -> OrderRequest:
    order = read_doc(document, sku_map=sku_map)
    assert order.request is not None
    return order.request


def fields(order: ChannelOrder) -> list[str]:
    return [problem.field for problem in order.problems]


def presentment(amount: str, currency: str = "CAD") -> dict:
    return {"shop_money": {"amount": amount, "currency_code": "USD"},
            "presentment_money": {"amount": amount, "currency_code": currency}}


# --- signatures -----------------------------------------------------------------------------------

def test_a_valid_signature_on_the_raw_body_passes():
    body = raw("orders_create")
    verify(body, signature(body), [SECRET])


def test_verify_reads_nothing_but_bytes():
    verify(b"\xff not even JSON", signature(b"\xff not even JSON"), [SECRET])


def test_a_wrong_secret_is_rejected():
    body = raw("orders_create")
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify(body, signature(body, "shpss_someone_else"), [SECRET])


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_header_is_rejected(header):
    with pytest.raises(WebhookSignatureInvalid, match="missing"):
        verify(raw("orders_create"), header, [SECRET])


@pytest.mark.parametrize("secrets", [[], [""], ["", ""]])
def test_without_a_secret_nothing_verifies(secrets):
    body = raw("orders_create")
    with pytest.raises(WebhookSignatureInvalid, match="no Shopify webhook secret"):
        verify(body, signature(body, ""), secrets)  # an empty key would let anyone sign


@pytest.mark.parametrize("header", ["not base64!", "é" * 44, "abc", "=" * 44])
def test_a_header_that_is_not_base64_is_rejected(header):
    with pytest.raises(WebhookSignatureInvalid):
        verify(raw("orders_create"), header, [SECRET])


def test_a_hex_digest_is_not_shopifys_header():
    body = raw("orders_create")
    hex_digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(WebhookSignatureInvalid):
        verify(body, hex_digest, [SECRET])


def test_while_the_secret_is_rotated_either_secret_verifies():
    body = raw("orders_cancelled")
    verify(body, signature(body, SECRET), [OLD_SECRET, SECRET])   # the second secret matches
    verify(body, signature(body, OLD_SECRET), [OLD_SECRET, SECRET])
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify(body, signature(body, "shpss_third"), [OLD_SECRET, SECRET])


def test_a_body_changed_by_one_byte_is_rejected():
    body = raw("orders_create")
    changed = body.replace(b'"amount": "126.23"', b'"amount": "126.24"', 1)
    assert changed != body and len(changed) == len(body)
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify(changed, signature(body), [SECRET])


def test_a_body_re_serialised_after_signing_is_rejected():
    body = raw("refunds_create")  # the signature covers the bytes on the wire, not the JSON they mean
    with pytest.raises(WebhookSignatureInvalid):
        verify(json.dumps(json.loads(body)).encode(), signature(body), [SECRET])


def test_a_refused_signature_is_a_401_kind_of_error():
    assert issubclass(WebhookSignatureInvalid, Unauthenticated)


def test_one_string_is_not_a_list_of_secrets():
    body = raw("orders_create")
    with pytest.raises(TypeError):
        verify(body, signature(body), SECRET)  # type: ignore[arg-type]  # its characters would be keys


# --- topics ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("topic", ["orders/create", "orders/updated", "orders/paid"])
def test_a_whole_order_is_upserted(topic):
    order = read(topic, raw("orders_create"), SKU_MAP)
    assert order.action is IntakeAction.UPSERT
    assert order.request is not None and order.request.channel_order_id == ORDER_ID
    assert order.cancel_reason is None


@pytest.mark.parametrize("topic", ["orders/delete", "products/create", "", "ORDERS/CREATE", "orders/create/x"])
def test_a_topic_we_do_not_read_is_unreadable_naming_the_header(topic):
    with pytest.raises(UnreadableOrder) as refused:
        read(topic, raw("orders_create"), SKU_MAP)
    assert refused.value.field == TOPIC_HEADER


# --- the order as Shopify's sample renders it ------------------------------------------------------

def test_the_order_is_read_with_its_ids_revision_and_status():
    order = read("orders/create", raw("orders_create"), SKU_MAP)
    assert (order.channel_order_id, order.display_id, order.channel_status) == (ORDER_ID, "#1187", "paid")
    assert order.revision == datetime(2026, 11, 26, 14, 2, 13, tzinfo=EST)
    assert order.revision.tzinfo is not None
    assert order.problems == ()


def test_presentment_money_is_kept_not_the_shops():
    request = request_of(doc())
    assert request.currency == "CAD"  # the customer's, not the shop's USD
    assert [(line.sku, line.quantity, line.unit_price) for line in request.lines] == [
        ("TSHIRT-BLK-M", 2, Decimal("34.00")), ("MUG-WHT", 1, Decimal("18.50")), ("POSTER-A2", 1, Decimal("22.00"))]
    assert request.payment.amount == Decimal("126.23")  # total_price_set.presentment_money, not total_price 92.16


def test_discounts_are_the_lines_and_the_shipping_lines_allocations():
    request = request_of(doc())
    assert request.discount_total == Decimal("8.80")  # 6.80 on the T-shirts + 2.00 off shipping


def test_shipping_is_the_shipping_lines_price_before_its_discount():
    request = request_of(doc())
    assert request.shipping_price == Decimal("12.00")


def test_a_removed_shipping_line_is_left_out():
    document = doc()
    document["shipping_lines"][0]["is_removed"] = True
    order = read_doc(document)
    assert order.request is not None and order.request.shipping_price == 0
    assert order.request.discount_total == Decimal("6.80")
    assert fields(order) == ["total_price"]  # Shopify's total still counts it: the operator sees why


def test_taxes_charged_on_top_are_the_tax_total_and_the_total_adds_up():
    request = request_of(doc())
    assert request.tax_total == Decimal("14.53")
    assert request.total == Decimal("126.23") == request.payment.amount


def test_taxes_included_in_prices_leave_tax_total_empty():
    order = read("orders/create", raw("orders_cancelled"), SkuMap())
    assert order.request is not None
    assert order.request.tax_total is None  # the 10.33 of VAT is inside the 29.90 and 4.90
    assert order.request.total == Decimal("64.70") == order.request.payment.amount
    assert order.problems == ()


def test_a_total_that_does_not_add_up_is_a_problem_saying_both_figures():
    document = doc()
    document["total_price_set"] = presentment("130.00")
    order = read_doc(document)
    assert fields(order) == ["total_price"]
    assert "130.00 CAD" in order.problems[0].problem and "126.23 CAD" in order.problems[0].problem
    assert order.request is not None and order.request.payment.amount == Decimal("130.00")  # what was charged


def test_an_amount_in_another_currency_than_the_orders_is_a_problem():
    document = doc()
    document["shipping_lines"][0]["price_set"]["presentment_money"]["currency_code"] = "USD"
    order = read_doc(document)
    assert fields(order) == ["shipping_lines[0].price_set.presentment_money.currency_code"]


# --- lines and SKUs --------------------------------------------------------------------------------

def test_an_unknown_sku_gets_a_placeholder_and_a_problem():
    order = read("orders/create", raw("orders_create"), SkuMap())  # the poster's variant is not mapped
    assert order.request is not None
    assert [line.sku for line in order.request.lines] == ["TSHIRT-BLK-M", "MUG-WHT", "UNMAPPED-44610569208041"]
    assert fields(order) == ["line_items[2].sku"]
    assert "44610569208041" in order.problems[0].problem
    assert order.request.lines[2].unit_price == Decimal("22.00")  # the rest of the line is kept


def test_a_variant_mapping_wins_over_the_channel_sku():
    request = request_of(doc(), SkuMap({"variant:44610569208040": "TEE-M-BLACK", "variant:44610569208041": "P-A2"}))
    assert [line.sku for line in request.lines] == ["TEE-M-BLACK", "MUG-WHT", "P-A2"]


def test_a_channel_sku_can_be_mapped_to_ours():
    request = request_of(doc(), SkuMap({"MUG-WHT": "MUG-001", "variant:44610569208041": "POSTER-A2"}))
    assert request.lines[1].sku == "MUG-001"


def test_a_sku_that_is_not_one_of_ours_gets_a_placeholder_and_a_problem():
    document = doc()
    document["line_items"][1]["sku"] = "MUG WHITE/350ml"
    order = read_doc(document)
    assert order.request is not None and order.request.lines[1].sku == "UNMAPPED-MUG-WHITE-350ml"
    assert fields(order) == ["line_items[1].sku"]


def test_current_quantity_is_what_is_left_and_an_emptied_line_is_dropped():
    document = doc()
    document["line_items"][1]["current_quantity"] = 0  # the mug was removed
    document["current_total_price_set"] = presentment("105.32")  # 126.23 - 18.50 - 2.41 of HST
    document["current_total_tax_set"] = presentment("12.12")
    order = read_doc(document)
    assert order.request is not None
    assert [line.sku for line in order.request.lines] == ["TSHIRT-BLK-M", "POSTER-A2"]
    assert order.request.payment.amount == Decimal("105.32") and order.request.tax_total == Decimal("12.12")
    assert order.problems == ()


def test_a_line_partly_removed_keeps_its_share_of_the_discount():
    document = doc()
    document["line_items"][0]["current_quantity"] = 1  # one T-shirt of two is left
    document["current_total_price_set"] = presentment("91.21")  # 74.50 + 12.00 - 5.40 + 10.11
    document["current_total_tax_set"] = presentment("10.11")
    order = read_doc(document)
    assert order.request is not None
    assert order.request.lines[0].quantity == 1
    assert order.request.discount_total == Decimal("5.40")  # 3.40 of the T-shirts' 6.80, and 2.00 off shipping
    assert order.problems == ()


def test_quantity_is_read_when_current_quantity_is_absent():
    document = doc()
    for item in document["line_items"]:
        del item["current_quantity"]
    assert [line.quantity for line in request_of(document).lines] == [2, 1, 1]


def test_a_price_we_cannot_keep_is_zero_with_a_problem():
    document = doc()
    document["line_items"][1]["price_set"] = presentment("123456789012345.50")
    order = read_doc(document)
    assert order.request is not None and order.request.lines[1].unit_price == 0
    assert fields(order) == ["line_items[1].price_set.presentment_money.amount", "total_price"]


def test_a_negative_price_is_zero_with_a_problem():
    document = doc()
    document["line_items"][1]["price_set"] = presentment("-18.50")
    order = read_doc(document)
    assert order.request is not None and order.request.lines[1].unit_price == 0
    assert "line_items[1].price_set.presentment_money.amount" in fields(order)


def test_more_units_than_an_order_line_holds_is_unreadable():
    document = doc()
    document["line_items"][0]["current_quantity"] = 10_001
    with pytest.raises(UnreadableOrder) as refused:
        read_doc(document)
    assert refused.value.field == "line_items[0].current_quantity"


def test_more_lines_than_an_order_holds_is_unreadable():
    document = doc()
    document["line_items"] = [copy.deepcopy(document["line_items"][1]) for _ in range(26)]
    with pytest.raises(UnreadableOrder) as refused:
        read_doc(document)
    assert refused.value.field == "line_items" and "26 lines" in str(refused.value)


def test_an_order_with_nothing_left_to_ship_is_a_cancellation():
    document = doc()
    for item in document["line_items"]:
        item["current_quantity"] = 0
    order = read_doc(document, topic="orders/updated")
    assert order.action == IntakeAction.CANCEL and order.request is None
    assert "removed or refunded" in order.cancel_reason


def test_the_signed_body_not_the_unsigned_topic_decides_a_cancellation():
    # orders/create re-sent under the orders/cancelled topic: no cancelled_at, no cancellation.
    with pytest.raises(UnreadableOrder) as refused:
        read_doc(doc(), topic="orders/cancelled")
    assert refused.value.field == "cancelled_at"
    # A cancelled order is a cancellation under any order topic.
    cancelled = doc() | {"cancelled_at": "2026-11-26T15:00:00-05:00", "cancel_reason": "customer"}
    assert read_doc(cancelled, topic="orders/updated").action == IntakeAction.CANCEL


def test_a_currency_that_is_not_iso_4217_is_unreadable():
    document = doc()
    document["presentment_currency"] = "CADX"
    with pytest.raises(UnreadableOrder) as refused:
        read_doc(document)
    assert refused.value.field == "presentment_currency"


def test_without_presentment_currency_the_totals_currency_is_read():
    document = doc()
    del document["presentment_currency"]
    assert request_of(document).currency == "CAD"


# --- address ----------------------------------------------------------------------------------------

def test_the_shipping_address_is_mapped_with_its_coordinates():
    address = request_of(doc()).shipping_address
    assert address.model_dump() == {
        "name": "Amélie Tremblay", "line1": "150 Elgin St", "line2": "Apt 1204", "city": "Ottawa",
        "postal_code": "K2P 1L4", "region": "ON", "country": "CA", "lat": 45.4201, "lon": -75.692}


def test_a_missing_shipping_address_gets_placeholders_and_a_problem():
    document = doc()
    document["shipping_address"] = None
    order = read_doc(document)
    assert order.request is not None
    address = order.request.shipping_address
    assert (address.city, address.country) == (PLACEHOLDER_CITY, PLACEHOLDER_COUNTRY)
    assert fields(order) == ["shipping_address"]


def test_a_missing_city_and_country_get_placeholders_and_a_problem_each():
    document = doc()
    document["shipping_address"].update(city="  ", country_code=None)
    order = read_doc(document)
    assert order.request is not None
    address = order.request.shipping_address
    assert (address.line1, address.city, address.country) == ("150 Elgin St", PLACEHOLDER_CITY, PLACEHOLDER_COUNTRY)
    assert fields(order) == ["shipping_address.city", "shipping_address.country_code"]


@pytest.mark.parametrize(("latitude", "longitude"), [(None, None), ("45.42", "-75.69"), (45.42, None),
                                                     (True, False), (91.0, 0.0)])
def test_coordinates_are_kept_only_as_a_pair_of_numbers_in_range(latitude, longitude):
    document = doc()
    document["shipping_address"].update(latitude=latitude, longitude=longitude)
    order = read_doc(document)
    assert order.request is not None
    assert (order.request.shipping_address.lat, order.request.shipping_address.lon) == (None, None)
    assert order.problems == ()


def test_the_name_is_first_and_last_name_when_there_is_no_name():
    document = doc()
    document["shipping_address"]["name"] = None
    assert request_of(document).shipping_address.name == "Amélie Tremblay"


def test_a_zip_longer_than_a_postal_code_is_left_out_with_a_problem():
    document = doc()
    document["shipping_address"]["zip"] = "K2P 1L4 " * 4
    order = read_doc(document)
    assert order.request is not None and order.request.shipping_address.postal_code is None
    assert fields(order) == ["shipping_address.zip"]


# --- customer ---------------------------------------------------------------------------------------

def test_the_customer_is_mapped():
    customer = request_of(doc()).customer
    assert customer.model_dump() == {"id": "7390254841960", "email": "amelie.tremblay@example.ca",
                                     "name": "Amélie Tremblay", "phone": "+16135550142", "language": "fr-CA"}


def test_a_guest_gets_an_id_from_the_order_the_same_for_every_revision():
    document = doc()
    document.update(customer=None, email=None, contact_email="guest@example.org")
    created = read_doc(document)
    document["updated_at"] = "2026-11-26T15:30:00-05:00"
    updated = read_doc(document, topic="orders/updated")
    assert created.request is not None and updated.request is not None
    assert created.request.customer.id == updated.request.customer.id == f"guest-order-{ORDER_ID}"
    assert created.request.customer.email == "guest@example.org"  # contact_email when there is no email
    assert created.request.customer.name == "Amélie Tremblay"  # from the shipping address
    assert created.problems == ()


def test_an_email_that_is_not_an_address_is_left_out():
    document = doc()
    document.update(email="not-an-email", contact_email=None)
    document["customer"]["email"] = None
    order = read_doc(document)
    assert order.request is not None and order.request.customer.email is None
    assert order.problems == ()  # email is optional: no message, no hold


def test_a_phone_that_does_not_fit_is_skipped_for_the_next_one():
    document = doc()
    document["phone"] = "555-555-SHIP"
    assert request_of(document).customer.phone == "+16135550142"


def test_no_name_anywhere_is_a_placeholder_and_a_problem():
    document = doc()
    document["customer"].update(first_name=None, last_name=None)
    for which in ("shipping_address", "billing_address"):
        document[which].update(name=None, first_name=None, last_name=" ")
    order = read_doc(document)
    assert order.request is not None and order.request.customer.name == PLACEHOLDER_NAME
    assert fields(order) == ["customer"]


@pytest.mark.parametrize(("locale", "language"), [
    ("fr-CA", "fr-CA"), ("de", "de"), ("pt_BR", "pt-BR"), ("EN-gb", "en-GB"), ("zh-Hant-TW", "zh-TW"),
    ("es-419", "es"), (None, "en"), ("", "en"), ("klingon", "en"), ("x", "en")])
def test_the_customer_locale_becomes_our_language(locale, language):
    document = doc()
    document["customer_locale"] = locale
    assert request_of(document).customer.language == language


# --- payment ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("financial_status", "status"), [
    ("authorized", "authorized"), ("paid", "paid"), ("partially_refunded", "paid"), ("refunded", "paid"),
    ("pending", "pending"), ("partially_paid", "pending"), ("unpaid", "pending"),
    ("voided", "pending"), ("expired", "pending")])
def test_the_financial_status_becomes_our_payment_status(financial_status, status):
    document = doc()
    document["financial_status"] = financial_status
    order = read_doc(document)
    assert order.request is not None
    assert order.request.payment.status == status
    assert order.request.payment.provider == "external"  # Shopify settles the money
    assert order.channel_status == financial_status and order.problems == ()


@pytest.mark.parametrize("gateways", [["Cash on Delivery (COD)"], ["manual", "COD"]])
def test_a_pending_order_paid_cash_on_delivery_is_cod(gateways):
    document = doc()
    document.update(financial_status="pending", payment_gateway_names=gateways)
    assert request_of(document).payment.status == "cod"


def test_a_paid_cash_on_delivery_order_is_paid():
    document = doc()
    document["payment_gateway_names"] = ["Cash on Delivery (COD)"]
    assert request_of(document).payment.status == "paid"


@pytest.mark.parametrize("financial_status", [None, "pending_review"])
def test_an_unknown_financial_status_waits_for_payment_with_a_problem(financial_status):
    document = doc()
    document["financial_status"] = financial_status
    order = read_doc(document)
    assert order.request is not None and order.request.payment.status == "pending"
    assert fields(order) == ["financial_status"]


# --- note -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("note", "kept"), [
    ("  Please leave the parcel with the concierge.  ", "Please leave the parcel with the concierge."),
    ("   ", None), (None, None), ("x" * 1500, "x" * 1000)])
def test_the_note_is_trimmed_and_cut(note, kept):
    document = doc()
    document["note"] = note
    assert request_of(document).note == kept


# --- cancellation and refunds ----------------------------------------------------------------------

def test_a_cancellation_carries_its_reason_and_the_mapped_order():
    order = read("orders/cancelled", raw("orders_cancelled"), SkuMap())
    assert order.action is IntakeAction.CANCEL
    assert (order.channel_order_id, order.display_id, order.cancel_reason) == ("5918723047521", "#1042", "customer")
    assert order.revision == datetime(2026, 11, 27, 8, 41, 6, tzinfo=UTC)
    assert order.channel_status == "voided"
    assert order.request is not None and order.request.payment.status == "pending"


def test_a_cancellation_whose_lines_are_all_gone_still_cancels():
    document = doc("orders_cancelled")
    document["line_items"][0]["current_quantity"] = 0
    order = read_doc(document, topic="orders/cancelled")
    assert order.action is IntakeAction.CANCEL and order.request is None
    assert order.cancel_reason == "customer"


def test_a_cancellation_without_line_items_still_cancels():
    document = doc("orders_cancelled")
    del document["line_items"]
    order = read_doc(document, topic="orders/cancelled")
    assert (order.action, order.channel_order_id, order.request) == (IntakeAction.CANCEL, "5918723047521", None)


def test_a_cancellation_without_an_id_is_unreadable():
    document = doc("orders_cancelled")
    del document["id"]
    with pytest.raises(UnreadableOrder) as refused:
        read_doc(document, topic="orders/cancelled")
    assert refused.value.field == "id"


def test_a_refund_is_acknowledged_for_its_order():
    order = read("refunds/create", raw("refunds_create"), SkuMap())
    assert order.action is IntakeAction.ACKNOWLEDGE
    assert order.channel_order_id == ORDER_ID
    assert order.revision == datetime(2026, 11, 30, 10, 15, 2, tzinfo=EST)
    assert order.request is None and order.problems == ()


def test_a_refund_without_its_order_id_is_unreadable():
    document = doc("refunds_create")
    del document["order_id"]
    with pytest.raises(UnreadableOrder) as refused:
        read_doc(document, topic="refunds/create")
    assert refused.value.field == "order_id"


# --- bodies that are not orders -------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"not json", b"[" * 100_000, b"1" * 5000])
def test_a_body_that_is_not_json_is_malformed(body):
    with pytest.raises(MalformedBody) as refused:
        read("orders/create", body, SKU_MAP)
    assert refused.value.field == "body"


@pytest.mark.parametrize("body", [b"[]", b"null", b'"order"', b"42"])
def test_json_that_is_not_an_object_is_unreadable(body):
    with pytest.raises(UnreadableOrder) as refused:
        read("orders/create", body, SKU_MAP)
    assert refused.value.field == "body"


def _without(path: str):
    def change(document: dict) -> None:
        del document[path]
    return change


def _set(path: tuple, value):
    def change(document: dict) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


@pytest.mark.parametrize(("change", "field"), [
    (_without("id"), "id"),
    (_set(("id",), "6012893405417"), "id"),
    (_set(("id",), True), "id"),
    (_set(("id",), 0), "id"),
    (_without("line_items"), "line_items"),
    (_set(("line_items",), []), "line_items"),
    (_set(("line_items",), [{}] * 501), "line_items"),
    (_set(("line_items", 0, "quantity"), "2"), "line_items[0].quantity"),
    (_set(("line_items", 0, "quantity"), -1), "line_items[0].quantity"),
    (_set(("line_items", 0, "price_set", "presentment_money", "amount"), 34.0),
     "line_items[0].price_set.presentment_money.amount"),
    (_set(("line_items", 0, "price_set", "presentment_money", "amount"), "3.4e1"),
     "line_items[0].price_set.presentment_money.amount"),
    (_set(("line_items", 1, "price_set"), None), "line_items[1].price_set"),
    (_without("updated_at"), "updated_at"),
    (_set(("updated_at",), 1795727950), "updated_at"),
    (_set(("updated_at",), "2026-11-26T14:02:13"), "updated_at"),  # no offset
    (_set(("shipping_address",), "150 Elgin St, Ottawa"), "shipping_address"),
    (_set(("total_price_set",), None), "total_price_set"),
    (_set(("taxes_included",), "false"), "taxes_included"),
])
def test_json_that_is_not_an_order_is_unreadable_naming_the_field(change, field):
    document = doc()
    change(document)
    with pytest.raises(UnreadableOrder) as refused:
        read_doc(document)
    assert refused.value.field == field
    assert field in str(refused.value)


def test_unreadable_and_malformed_bodies_are_4xx_kinds_of_error():
    assert issubclass(UnreadableOrder, InvalidInput) and issubclass(MalformedBody, InvalidInput)


# --- no other exception, whatever the body ---------------------------------------------------------

ALLOWED = (MalformedBody, UnreadableOrder)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(["", "0", "-0", "1e3", "12.345678901234", "99999999999999999", "CAD", "ZZ", "2026-11-26T14:02:13Z"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


SAMPLES = {name: doc(name) for name in ("orders_create", "orders_cancelled", "refunds_create")}
PATHS = [(name, path) for name, sample in SAMPLES.items() for path in _paths(sample) if path]
TOPICS = st.sampled_from(["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "refunds/create"])


def _check(topic: str, body: bytes) -> None:
    try:
        order = read(topic, body, SKU_MAP)
    except ALLOWED:
        return
    assert isinstance(order, ChannelOrder)
    assert order.request is None or isinstance(order.request, OrderRequest)
    assert order.revision.tzinfo is not None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=TOPICS, where=st.lists(st.sampled_from(PATHS), min_size=1, max_size=3), values=st.lists(JSON, min_size=3,
                                                                                                     max_size=3))
def test_a_sample_with_fields_replaced_by_anything_raises_nothing_else(topic, where, values):
    document = copy.deepcopy(SAMPLES[where[0][0]])
    for (name, path), value in zip(where, values, strict=False):
        if name != where[0][0]:
            continue
        target = document
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed the way there
    _check(topic, json.dumps(document).encode())


@settings(max_examples=100, deadline=None)
@given(topic=TOPICS, body=st.binary(max_size=200) | JSON.map(lambda value: json.dumps(value).encode()))
def test_any_body_raises_nothing_else(topic, body):
    _check(topic, body)
