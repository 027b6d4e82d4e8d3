"""WooCommerce order webhooks: signatures computed the way WooCommerce computes them, payloads shaped
like the order JSON WooCommerce delivers (channel_payloads/woocommerce/: compact `wp_json_encode`
output with "\\/" and "\\uXXXX" escapes, fields and key order of GET /wp-json/wc/v3/orders/<id>, values
ours). order_updated_plugin_numbers.json is the same shape with amounts as JSON numbers, as a plugin
filtering `woocommerce_webhook_payload` may send them.

Sources
  delivery   WC_Webhook::deliver, ::generate_signature, ::deliver_ping, ::build_payload,
             ::get_default_topic_hooks in github.com/woocommerce/woocommerce
             plugins/woocommerce/includes/class-wc-webhook.php;
             https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks
  ping       WordPress Requests (github.com/WordPress/Requests src/Transport/Fsockopen.php): a string
             body gets "application/x-www-form-urlencoded; charset=UTF-8"
  orders     https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties;
             WC_REST_Orders_V2_Controller (includes/rest-api/Controllers/Version2/);
             WC_Abstract_Order::calculate_totals (includes/abstracts/abstract-wc-order.php)
  payment    WC_Order::maybe_set_date_paid; WC_Gateway_COD (includes/gateways/cod/)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
)
from shared.channels.woocommerce import is_activation_ping, read, verify
from shared.domain.bounds import LATEST
from shared.domain.orders import OrderRequest
from shared.errors import InvalidInput, MalformedBody, Unauthenticated
from tests.signers import base64_hmac

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).parent / "channel_payloads" / "woocommerce"
SECRET = "Zq=8wR,3h@jT}k5^Lv&eP2~xN!9c"  # what the merchant typed in WooCommerce > Settings > Advanced
OLD_SECRET = "old-secret-being-rotated-out"
FORM = "application/x-www-form-urlencoded; charset=UTF-8"
CREATED, COD, CANCELLED = "order_created.json", "order_created_cod.json", "order_updated_cancelled.json"
DELETED, NUMBERS = "order_deleted.json", "order_updated_plugin_numbers.json"
NO_MAP = SkuMap()


def raw(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def doc(name: str) -> dict[str, Any]:
    return json.loads(raw(name))


def php(document: Any) -> bytes:
    """As wp_json_encode writes it: compact, "/" escaped, non-ASCII as \\uXXXX."""
    return json.dumps(document, separators=(",", ":")).replace("/", "\\/").encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    """base64_encode(hash_hmac('sha256', $body, $secret, true)), as WC_Webhook::generate_signature."""
    return base64_hmac(body, secret)


def upsert(document: dict[str, Any], sku_map: SkuMap = NO_MAP, topic: str = "order.updated") -> ChannelOrder:
    order = read(topic, php(document), sku_map)
    assert order.action is IntakeAction.UPSERT and order.request is not None
    return order


def request_of(order: ChannelOrder) -> OrderRequest:
    assert order.request is not None
    return order.request


def fields(order: ChannelOrder) -> list[str]:
    return [problem.field for problem in order.problems]


def unreadable(document: Any, topic: str = "order.updated") -> UnreadableOrder:
    with pytest.raises(UnreadableOrder) as caught:
        read(topic, php(document), NO_MAP)
    return caught.value


# --- signatures -----------------------------------------------------------------------------------

def test_a_valid_signature_on_the_raw_body_passes():
    body = raw(CREATED)
    verify(body, signature(body), [SECRET])


def test_the_signature_is_base64_of_the_raw_hmac_digest_not_hex():
    body = raw(COD)
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256)
    assert len(signature(body)) == 44  # 32 bytes, base64 with padding
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify(body, digest.hexdigest(), [SECRET])
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify(body, signature(body).rstrip("="), [SECRET])  # unpadded base64 is not what Woo sends


def test_verify_reads_nothing_but_bytes():
    body = b"\xff not even JSON"
    verify(body, signature(body), [SECRET])


def test_a_wrong_secret_is_rejected_as_unauthenticated():
    body = raw(CREATED)
    with pytest.raises(WebhookSignatureInvalid, match="does not match") as caught:
        verify(body, signature(body, "someone-else"), [SECRET])
    assert isinstance(caught.value, Unauthenticated) and SECRET not in caught.value.message


def test_a_body_changed_by_one_byte_is_rejected():
    body = raw(CREATED)
    changed = body.replace(b'"total":"28.06"', b'"total":"28.07"', 1)
    assert changed != body and len(changed) == len(body)
    with pytest.raises(WebhookSignatureInvalid):
        verify(changed, signature(body), [SECRET])


def test_a_body_re_serialised_after_signing_is_rejected():
    # the signature covers the bytes Woo sent ("\/" escapes and all), not the JSON they mean
    body = raw(COD)
    reserialised = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    assert reserialised != body and json.loads(reserialised) == json.loads(body)
    with pytest.raises(WebhookSignatureInvalid):
        verify(reserialised, signature(body), [SECRET])


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_signature_is_rejected(header):
    with pytest.raises(WebhookSignatureInvalid, match="missing X-WC-Webhook-Signature"):
        verify(raw(CREATED), header, [SECRET])


@pytest.mark.parametrize("header", ["garbage", "sha256=abc", "=" * 44, "\u00e9\u00e9\u00e9", "\ud800",
                                    base64.b64encode(b"\x00" * 32).decode()])
def test_garbage_signatures_are_rejected(header):
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify(raw(CREATED), header, [SECRET])


def test_spaces_around_the_header_value_are_tolerated():
    body = raw(CREATED)
    verify(body, f"  {signature(body)} ", [SECRET])


def test_while_a_secret_is_rotated_either_secret_verifies():
    body = raw(CREATED)
    verify(body, signature(body, SECRET), [OLD_SECRET, SECRET])
    verify(body, signature(body, OLD_SECRET), [OLD_SECRET, SECRET])
    with pytest.raises(WebhookSignatureInvalid):
        verify(body, signature(body, OLD_SECRET), [SECRET])  # rotation finished: the old one is gone
    with pytest.raises(WebhookSignatureInvalid):
        verify(body, signature(body, "a-third-secret"), [OLD_SECRET, SECRET])


@pytest.mark.parametrize("secrets", [[], [""], ("", "")])
def test_without_a_configured_secret_everything_is_rejected(secrets):
    body = raw(CREATED)
    with pytest.raises(WebhookSignatureInvalid, match="no WooCommerce webhook secret"):
        verify(body, signature(body, ""), secrets)  # signed with the empty key: still refused


def test_one_secret_passed_as_a_string_is_a_programming_error_not_a_rejection():
    body = raw(CREATED)
    with pytest.raises(TypeError):
        verify(body, signature(body), SECRET)


# --- the activation ping --------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [FORM, "application/x-www-form-urlencoded",
                                          "Application/X-WWW-Form-Urlencoded;charset=utf-8", None])
def test_the_activation_ping_is_recognised(content_type):
    assert raw("ping.txt") == b"webhook_id=17"
    assert is_activation_ping(raw("ping.txt"), content_type) is True


@pytest.mark.parametrize("body", [
    b"webhook_id=17&topic=order.created",  # another field
    b"topic=order.created&webhook_id=17",
    b"webhook_id=17&webhook_id=18",
    b"webhook_id=17\n",
    b" webhook_id=17",
    b"webhook_id=",
    b"webhook_id=0",
    b"webhook_id=017",
    b"webhook_id=-17",
    b"webhook_id=abc",
    b"webhook_id=%31%37",                  # url-encoded digits: not what Woo writes
    b"Webhook_id=17",
    b"webhook_id=1" + b"7" * 20,           # past any id
    b'{"webhook_id":17}',
    b"",
])
def test_a_ping_lookalike_is_not_a_ping(body):
    assert is_activation_ping(body, FORM) is False


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=x", "text/plain", ""])
def test_the_ping_body_under_another_content_type_is_not_a_ping(content_type):
    assert is_activation_ping(b"webhook_id=17", content_type) is False


def test_an_order_delivery_is_not_a_ping():
    assert is_activation_ping(raw(CREATED), "application/json") is False
    assert is_activation_ping(raw(DELETED), None) is False


# --- topics and actions ---------------------------------------------------------------------------

@pytest.mark.parametrize("topic", ["product.updated", "order.paid", "coupon.created", "action.woocommerce_new_order",
                                   "ORDER.CREATED", "", "order.created.extra"])
def test_an_unknown_topic_is_unreadable_naming_the_header(topic):
    with pytest.raises(UnreadableOrder) as caught:
        read(topic, raw(CREATED), NO_MAP)
    assert caught.value.field == "X-WC-Webhook-Topic"


def test_the_topic_is_checked_before_the_body():
    with pytest.raises(UnreadableOrder) as caught:
        read("product.created", b"not json", NO_MAP)
    assert caught.value.field == "X-WC-Webhook-Topic"


@pytest.mark.parametrize("topic", ["order.created", "order.updated", "order.restored", " order.updated "])
def test_a_full_order_under_any_order_topic_is_an_upsert(topic):
    order = read(topic, raw(CREATED), NO_MAP)
    assert order.action is IntakeAction.UPSERT and request_of(order).channel_order_id == "727"


def test_an_order_updated_to_cancelled_is_a_cancel_without_a_request():
    order = read("order.updated", raw(CANCELLED), NO_MAP)
    assert order == ChannelOrder(
        action=IntakeAction.CANCEL, channel_order_id="1043", revision=datetime(2024, 11, 27, 8, 2, 10, tzinfo=UTC),
        display_id="2024-1043", channel_status="cancelled", cancel_reason="cancelled in WooCommerce")


def test_order_deleted_carries_only_the_id_and_cancels():
    assert doc(DELETED) == {"id": 1043}
    order = read("order.deleted", raw(DELETED), NO_MAP)
    assert order.action is IntakeAction.CANCEL and order.channel_order_id == "1043"
    assert order.request is None and order.problems == ()
    assert order.revision == LATEST  # no date in the body; a deletion outranks every revision we hold
    assert order.cancel_reason == "deleted in WooCommerce"


def test_order_deleted_takes_a_digit_string_id_and_nothing_else():
    order = read("order.deleted", php({"id": "1043"}), NO_MAP)
    assert order.channel_order_id == "1043"
    # The topic header is not signed: a whole order body sent as order.deleted is no deletion.
    assert unreadable({"id": 1043, "status": "processing", "line_items": []}, "order.deleted").field == "status"


@pytest.mark.parametrize("body", [{}, {"id": 0}, {"id": -1}, {"id": True}, {"id": 1.5}, {"id": "12a"}, {"id": None}])
def test_order_deleted_without_a_usable_id_is_unreadable(body):
    assert unreadable(body, "order.deleted").field == "id"


@pytest.mark.parametrize(("status", "action"), [
    ("cancelled", IntakeAction.CANCEL),
    ("trash", IntakeAction.CANCEL),
    ("wc-cancelled", IntakeAction.CANCEL),
    ("refunded", IntakeAction.CANCEL),
    ("checkout-draft", IntakeAction.ACKNOWLEDGE),
    ("draft", IntakeAction.ACKNOWLEDGE),
    ("pending", IntakeAction.UPSERT),
    ("processing", IntakeAction.UPSERT),
    ("on-hold", IntakeAction.UPSERT),
    ("completed", IntakeAction.UPSERT),
    ("failed", IntakeAction.UPSERT),
    ("awaiting-shipment", IntakeAction.UPSERT),  # a plugin's custom status
])
def test_the_woo_status_decides_the_action(status, action):
    document = doc(CREATED) | {"status": status}
    order = read("order.updated", php(document), NO_MAP)
    assert order.action is action and order.channel_status == status
    assert (order.request is not None) is (action is IntakeAction.UPSERT)
    if status == "trash":
        assert order.cancel_reason == "moved to the trash in WooCommerce"


def test_a_cancel_or_acknowledge_does_not_need_readable_lines():
    for status in ("cancelled", "refunded"):
        document = doc(CREATED) | {"status": status, "line_items": "not even a list", "currency": "???"}
        assert read("order.updated", php(document), NO_MAP).action is not IntakeAction.UPSERT


# --- the recorded orders --------------------------------------------------------------------------

def test_a_net_price_order_maps_subtotals_discounts_shipping_and_tax():
    order = read("order.created", raw(CREATED), NO_MAP)
    request = request_of(order)
    assert order.problems == ()
    assert order.channel_order_id == "727" and order.display_id is None  # number "727" is the id
    assert order.channel_status == "processing"
    assert [(line.sku, line.quantity, line.unit_price) for line in request.lines] == [
        ("WOO-SINGLE-1", 2, Decimal("3.00")), ("SHIP-IDEA-BLK-M", 1, Decimal("12.00"))]  # before the coupon
    assert request.discount_total == Decimal("1.20")   # 12.00 - 10.80, the coupon's 10 %
    assert request.shipping_price == Decimal("10.00")
    assert request.tax_total == Decimal("1.26")       # prices_include_tax false: tax on top
    assert request.currency == "USD"
    assert request.total == Decimal("28.06") == request.payment.amount


def test_a_gross_price_order_keeps_what_the_customer_saw():
    order = read("order.created", raw(COD), SkuMap({"variant:305": "MUG-WHT"}))
    request = request_of(order)
    assert order.problems == ()
    # Woo's subtotals exclude tax even here: 50.39 + 9.58 tax is 3 x 19.99
    assert [(line.sku, line.quantity, line.unit_price) for line in request.lines] == [
        ("TSHIRT-BLK-M", 3, Decimal("19.99")), ("MUG-WHT", 1, Decimal("12.50"))]
    assert request.tax_total is None
    assert request.shipping_price == Decimal("7.00")  # 4.20 + 0.80 tax, and the 1.68 + 0.32 COD fee
    assert request.discount_total == 0
    assert request.total == Decimal("79.47") == request.payment.amount


def test_the_revision_is_the_gmt_modification_date_not_the_local_one():
    document = doc(COD)
    assert document["date_modified"] == "2024-11-26T21:15:42"  # Berlin, no offset
    order = read("order.created", raw(COD), NO_MAP)
    assert order.revision == datetime(2024, 11, 26, 20, 15, 42, tzinfo=UTC)


def test_escapes_in_the_body_are_read_as_the_text_they_stand_for():
    assert b"\\u00fc" in raw(COD) and b"\\/" in raw(COD)
    request = request_of(read("order.created", raw(COD), NO_MAP))
    assert request.customer.name == "J\u00fcrgen M\u00fcller"
    assert request.shipping_address.line1 == "Friedrichstra\u00dfe 123"
    assert request.note == "Bitte beim Nachbarn abgeben / please leave with the neighbour (T\u00fcr links)."


def test_a_guest_cod_order():
    order = read("order.created", raw(COD), NO_MAP)
    request = request_of(order)
    assert order.display_id == "2024-1042"
    assert request.customer.id == "guest-1042"  # customer_id 0: the order's own id
    assert request.customer.email == "j.mueller@example.de" and request.customer.phone == "+49 30 1234567"
    assert request.customer.language == "en"
    assert request.payment.status == "cod" and request.payment.provider == "external"
    address = request.shipping_address
    assert (address.name, address.line2, address.postal_code, address.region, address.country) == (
        "J\u00fcrgen M\u00fcller, M\u00fcller GmbH", "Hinterhaus, 3. OG", "10117", "BE", "DE")


def test_a_registered_customer_keeps_the_woo_customer_id():
    customer = request_of(read("order.created", raw(CREATED), NO_MAP)).customer
    assert (customer.id, customer.email, customer.name, customer.phone) == (
        "12", "john.doe@example.com", "John Doe", "(555) 555-5555")


def test_amounts_sent_as_json_numbers_are_read_exactly():
    document = doc(NUMBERS)
    assert document["line_items"][1]["subtotal"] == 10.5 and document["shipping_total"] == 4.99
    order = read("order.updated", raw(NUMBERS), NO_MAP)
    request = request_of(order)
    assert order.problems == ()
    assert [line.unit_price for line in request.lines] == [Decimal("10.00"), Decimal("5.25")]
    assert request.shipping_price == Decimal("4.99") and request.tax_total == Decimal("5.10")
    assert request.total == Decimal("30.59") == request.payment.amount
    assert request.payment.status == "pending"  # bacs, on-hold: the transfer has not arrived
    assert request.note is None                 # "   "


@pytest.mark.parametrize("value", ["10.00", 10, 10.0, "10", "10.0000", " 10.00 "])
def test_an_amount_may_be_a_string_or_a_number(value):
    document = doc(CREATED)
    document["shipping_total"] = value
    assert request_of(upsert(document)).shipping_price == Decimal("10.00")


@pytest.mark.parametrize("value", ["1e3", "10,00", "$10", "", "NaN", "Infinity", True, [10], {"v": 10}, "1" * 13])
def test_an_amount_that_is_not_one_is_unreadable_naming_the_field(value):
    document = doc(CREATED)
    document["shipping_total"] = value
    assert unreadable(document).field == "shipping_total"


@pytest.mark.parametrize(("path", "value", "field"), [
    (("line_items", 0, "subtotal"), "-6.00", "line_items[0].subtotal"),
    (("line_items", 1, "total"), None, "line_items[1].total"),
    (("line_items", 0, "quantity"), 0, "line_items[0].quantity"),
    (("line_items", 0, "quantity"), 10_001, "line_items[0].quantity"),
    (("line_items", 0, "quantity"), 1.5, "line_items[0].quantity"),
    (("line_items", 0, "quantity"), True, "line_items[0].quantity"),
    (("line_items", 0), "a line", "line_items[0]"),
    (("billing",), "John Doe, 969 Market", "billing"),
    (("billing", "first_name"), {"a": 1}, "billing.first_name"),
    (("total",), "-1.00", "total"),
    (("prices_include_tax",), "yes", "prices_include_tax"),
    (("date_paid_gmt",), "yesterday", "date_paid_gmt"),
    (("date_modified_gmt",), "2024-02-30T10:00:00", "date_modified_gmt"),
    (("id",), "seven", "id"),
    (("status",), "", "status"),
    (("currency",), "BTC", "currency"),
    (("currency",), "", "currency"),
    (("line_items",), [], "line_items"),
    (("line_items",), {"0": {}}, "line_items"),
])
def test_an_order_past_the_documented_shape_is_unreadable_naming_the_field(path, value, field):
    document = doc(CREATED)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert unreadable(document).field == field


def test_more_lines_than_an_order_takes_is_unreadable():
    document = doc(CREATED)
    document["line_items"] = [document["line_items"][0]] * 26
    error = unreadable(document)
    assert error.field == "line_items" and "26" in error.message


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe{}", b'{"id": NaN}', b"[1,2", b'{"id":1}}', b"\x00"])
def test_a_body_that_is_not_json_is_malformed(body):
    with pytest.raises(MalformedBody) as caught:
        read("order.updated", body, NO_MAP)
    assert caught.value.field == "body" and isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize("body", [b"[]", b'"order"', b"727", b"null", b"true"])
def test_json_that_is_not_an_object_is_unreadable(body):
    with pytest.raises(UnreadableOrder) as caught:
        read("order.updated", body, NO_MAP)
    assert caught.value.field == "body"


def test_a_product_payload_under_an_order_topic_names_the_missing_field():
    product = {"id": 93, "name": "Woo Single #1", "slug": "woo-single-1", "type": "simple", "status": "publish",
               "sku": "WOO-SINGLE-1", "price": "3.00", "date_modified_gmt": "2024-11-26T19:28:08"}
    error = unreadable(product)
    assert error.field == "currency" and "Field required" in error.message  # the first order field it lacks


# --- revision -------------------------------------------------------------------------------------

def test_without_date_modified_gmt_the_creation_date_is_the_revision():
    document = doc(CREATED) | {"date_modified_gmt": None}
    assert upsert(document).revision == datetime(2024, 11, 26, 19, 28, 2, tzinfo=UTC)


def test_an_order_without_any_gmt_date_is_unreadable():
    document = doc(CREATED) | {"date_modified_gmt": None, "date_created_gmt": None}
    assert unreadable(document).field == "date_modified_gmt"


@pytest.mark.parametrize("value", ["2024-11-26T19:28:08Z", "2024-11-26T20:28:08+01:00", "2024-11-26T19:28:08"])
def test_a_gmt_date_with_or_without_an_offset_is_the_same_instant(value):
    assert upsert(doc(CREATED) | {"date_modified_gmt": value}).revision == datetime(2024, 11, 26, 19, 28, 8, tzinfo=UTC)


@pytest.mark.parametrize("value", ["0999-12-31T23:59:59", "9999-12-31T23:59:59", "0001-01-01T00:00:00+01:00"])
def test_a_date_past_the_bounds_is_unreadable(value):
    assert unreadable(doc(CREATED) | {"date_modified_gmt": value}).field == "date_modified_gmt"


# --- money ----------------------------------------------------------------------------------------

def test_a_unit_price_that_does_not_divide_into_cents_is_rounded_up_and_flagged():
    document = doc(CREATED)
    document["line_items"][0] |= {"quantity": 3, "subtotal": "10.00", "total": "10.00"}
    document["total"] = "32.06"  # 28.06 + 4.00 more for the first line
    order = upsert(document)
    request = request_of(order)
    assert request.lines[0].unit_price == Decimal("3.34")
    assert request.discount_total == Decimal("1.22")  # the coupon's 1.20 and the 0.02 over
    assert request.total == Decimal("32.06")          # still Woo's total
    assert fields(order) == ["line_items[0].subtotal"]


def test_a_total_that_does_not_add_up_is_a_problem_naming_both():
    document = doc(CREATED) | {"total": "28.10"}
    order = upsert(document)
    assert fields(order) == ["total"]
    assert "28.06" in order.problems[0].problem and "28.10" in order.problems[0].problem
    assert request_of(order).payment.amount == Decimal("28.10")  # the payment is what Woo charged


def test_an_amount_finer_than_the_currencys_minor_unit_is_rounded_and_flagged():
    document = doc(CREATED) | {"shipping_total": "10.005", "total": "28.065"}
    order = upsert(document)
    request = request_of(order)
    assert request.shipping_price == Decimal("10.01") and request.payment.amount == Decimal("28.07")
    assert fields(order) == ["shipping_total", "total"]


def test_a_zero_decimal_currency_prices_in_whole_units():
    document = doc(CREATED) | {"currency": "JPY", "shipping_total": "800", "total_tax": "0", "total": "3800"}
    document["line_items"] = [document["line_items"][0] | {"subtotal": "3000", "total": "3000", "quantity": 3,
                                                          "subtotal_tax": "0", "total_tax": "0"}]
    order = upsert(document)
    assert order.problems == ()
    assert request_of(order).lines[0].unit_price == Decimal("1000")


def test_a_lower_case_currency_is_read():
    assert request_of(upsert(doc(CREATED) | {"currency": "usd"})).currency == "USD"


def test_a_coupon_on_gross_prices_is_a_gross_discount():
    document = doc(COD)
    document["line_items"][0] |= {"total": "45.35", "total_tax": "8.62"}  # 10 % off 59.97 is 53.97
    document |= {"total": "73.47", "discount_total": "5.04", "discount_tax": "0.96"}
    order = upsert(document)
    request = request_of(order)
    assert request.lines[0].unit_price == Decimal("19.99") and request.discount_total == Decimal("6.00")
    assert request.total == Decimal("73.47") and fields(order) == ["line_items[1].sku"]


def test_a_positive_fee_on_net_prices_is_charged_as_shipping_its_tax_as_tax():
    document = doc(CREATED)
    document["fee_lines"] = [{"id": 320, "name": "Gift wrap", "tax_class": "", "tax_status": "taxable",
                              "amount": "2.50", "total": "2.50", "total_tax": "0.19", "taxes": [], "meta_data": []}]
    document |= {"total_tax": "1.45", "total": "30.75"}
    order = upsert(document)
    request = request_of(order)
    assert request.shipping_price == Decimal("12.50") and request.tax_total == Decimal("1.45")
    assert request.total == Decimal("30.75") and order.problems == ()


def test_a_negative_fee_is_a_discount():
    document = doc(CREATED)
    document["fee_lines"] = [{"id": 321, "name": "Loyalty discount", "tax_class": "", "tax_status": "none",
                              "amount": "-5", "total": "-5.00", "total_tax": "0.00", "taxes": [], "meta_data": []}]
    document["total"] = "23.06"
    order = upsert(document)
    request = request_of(order)
    assert request.discount_total == Decimal("6.20") and request.shipping_price == Decimal("10.00")
    assert request.total == Decimal("23.06") and order.problems == ()


def test_coupon_lines_are_only_a_record_their_discount_is_in_the_lines():
    document = doc(CREATED)
    document["coupon_lines"][0]["discount"] = "999.00"
    assert request_of(upsert(document)).discount_total == Decimal("1.20")


def test_a_line_total_above_its_subtotal_is_flagged():
    document = doc(CREATED)
    document["line_items"][0]["total"] = "7.00"
    document["total"] = "29.06"
    order = upsert(document)
    assert "line_items[0].total" in fields(order) and "total" in fields(order)


def test_amounts_past_what_an_order_holds_are_unreadable_not_a_crash():
    document = doc(CREATED)
    document["line_items"][0] |= {"quantity": 10_000, "subtotal": "999999999999", "total": "999999999999"}
    with pytest.raises(UnreadableOrder) as caught:
        read("order.updated", php(document), NO_MAP)
    assert caught.value.field in {"line_items[0].subtotal", "total"}


# --- payment --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "status", "date_paid_gmt", "expected"), [
    ("stripe", "processing", "2024-11-26T19:28:08", "paid"),
    ("stripe", "processing", None, "paid"),
    ("stripe", "completed", None, "paid"),
    ("stripe", "pending", None, "pending"),
    ("bacs", "on-hold", None, "pending"),
    ("stripe", "failed", None, "pending"),
    ("bacs", "on-hold", "2024-11-27T08:00:00", "paid"),  # marked paid by hand
    ("cod", "processing", None, "cod"),                  # Woo's COD gateway: processing, no payment date
    ("cod", "on-hold", None, "cod"),
    ("cod", "completed", None, "paid"),                  # delivered and collected
    ("cod", "processing", "2024-11-27T08:00:00", "paid"),
])
def test_the_payment_status(method, status, date_paid_gmt, expected):
    document = doc(CREATED) | {"payment_method": method, "status": status, "date_paid_gmt": date_paid_gmt}
    payment = request_of(upsert(document)).payment
    assert payment.status == expected and payment.provider == "external" and payment.intent_id is None


# --- SKUs -----------------------------------------------------------------------------------------

def test_a_line_without_sku_or_mapped_variant_gets_a_placeholder_and_a_problem():
    order = read("order.created", raw(COD), NO_MAP)
    assert request_of(order).lines[1].sku == "UNMAPPED-305"
    assert order.problems == (MappingProblem(
        "line_items[1].sku",
        "the line has no SKU and its product (variation) id 305 is not in the SKU map as variant:305"),)


def test_the_sku_map_maps_by_sku_and_by_variation_id_before_sku():
    sku_map = SkuMap({"WOO-SINGLE-1": "SINGLE-1", "variant:23": "IDEA-BLACK-M", "SHIP-IDEA-BLK-M": "NOT-THIS"})
    lines = request_of(read("order.created", raw(CREATED), sku_map)).lines
    assert [line.sku for line in lines] == ["SINGLE-1", "IDEA-BLACK-M"]


def test_a_simple_product_is_looked_up_by_its_product_id():
    sku_map = SkuMap({"variant:93": "SINGLE-ONE"})
    assert request_of(read("order.created", raw(CREATED), sku_map)).lines[0].sku == "SINGLE-ONE"


@pytest.mark.parametrize(("sku", "placeholder"), [("Bar 3", "UNMAPPED-Bar-3"), ("T\u00f6pfchen", "UNMAPPED-T-pfchen"),
                                                  ("X" * 65, ("UNMAPPED-" + "X" * 65)[:64])])
def test_a_sku_outside_our_format_gets_a_placeholder_and_a_problem(sku, placeholder):
    document = doc(CREATED)
    document["line_items"][0]["sku"] = sku
    order = upsert(document)
    assert request_of(order).lines[0].sku == placeholder and fields(order) == ["line_items[0].sku"]


def test_a_line_of_a_deleted_product_gets_a_placeholder():
    document = doc(CREATED)
    document["line_items"][0] |= {"sku": None, "product_id": 0, "variation_id": 0}
    order = upsert(document)
    assert request_of(order).lines[0].sku == "UNMAPPED-none" and fields(order) == ["line_items[0].sku"]
    assert "no product id" in order.problems[0].problem


# --- customer and address -------------------------------------------------------------------------

def test_an_order_without_a_shipping_address_ships_to_the_billing_address():
    request = request_of(read("order.updated", raw(NUMBERS), NO_MAP))
    address = request.shipping_address
    assert (address.name, address.line1, address.city, address.postal_code, address.country) == (
        "Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH", "GB")
    assert address.region is None and address.line2 is None


def test_an_empty_php_array_for_shipping_is_no_address():
    document = doc(NUMBERS) | {"shipping": []}
    order = upsert(document)
    assert request_of(order).shipping_address.city == "London" and order.problems == ()


def test_an_order_without_any_address_gets_placeholders_and_a_problem():
    document = doc(NUMBERS)
    for key in ("address_1", "address_2", "city", "postcode", "state", "country"):
        document["billing"][key] = ""
    order = upsert(document)
    address = request_of(order).shipping_address
    assert (address.line1, address.city, address.country) == (PLACEHOLDER_CITY, PLACEHOLDER_CITY, PLACEHOLDER_COUNTRY)
    assert fields(order) == ["shipping"]


@pytest.mark.parametrize(("changes", "field", "check"), [
    ({"city": ""}, "shipping.city", lambda a: a.city == PLACEHOLDER_CITY),
    ({"address_1": "", "address_2": ""}, "shipping.address_1", lambda a: a.line1 == PLACEHOLDER_CITY),
    ({"country": "Germany"}, "shipping.country", lambda a: a.country == PLACEHOLDER_COUNTRY),
    ({"country": ""}, "shipping.country", lambda a: a.country == PLACEHOLDER_COUNTRY),
    ({"city": "B" * 101}, "shipping.city", lambda a: a.city == "B" * 100),
    ({"postcode": "1" * 21}, "shipping.postcode", lambda a: a.postal_code == "1" * 20),
])
def test_an_incomplete_shipping_address_gets_placeholders_and_problems(changes, field, check):
    document = doc(COD)
    document["shipping"] |= changes
    order = upsert(document, SkuMap({"variant:305": "MUG-WHT"}))
    assert fields(order) == [field] and check(request_of(order).shipping_address)


def test_a_lower_case_country_and_a_line_only_in_address_2_are_used():
    document = doc(COD)
    document["shipping"] |= {"country": "de", "address_1": "", "address_2": "Packstation 123"}
    order = upsert(document, SkuMap({"variant:305": "MUG-WHT"}))
    address = request_of(order).shipping_address
    assert (address.country, address.line1, address.line2) == ("DE", "Packstation 123", None)
    assert order.problems == ()


def test_the_customer_name_falls_back_to_shipping_then_company_then_a_placeholder():
    document = doc(COD)
    document["billing"] |= {"first_name": "", "last_name": ""}
    assert request_of(upsert(document)).customer.name == "J\u00fcrgen M\u00fcller"
    document["shipping"] |= {"first_name": "", "last_name": ""}
    assert request_of(upsert(document)).customer.name == "M\u00fcller GmbH"
    document["shipping"]["company"] = ""
    order = upsert(document)
    assert request_of(order).customer.name == PLACEHOLDER_NAME and "billing.first_name" in fields(order)


def test_a_blank_email_is_none_and_an_invalid_one_is_a_problem():
    document = doc(CREATED)
    document["billing"]["email"] = ""
    order = upsert(document)
    assert request_of(order).customer.email is None and order.problems == ()
    document["billing"]["email"] = "john at example"
    order = upsert(document)
    assert request_of(order).customer.email is None and fields(order) == ["billing.email"]


@pytest.mark.parametrize(("billing", "shipping", "expected"), [
    ("+49 30 1234567", "+49 30 7654321", "+49 30 1234567"),
    ("call me maybe", "+49 30 7654321", "+49 30 7654321"),
    ("", "", None),
    ("+49.30.1234567", "", None),
])
def test_the_phone_is_taken_when_it_fits_our_pattern(billing, shipping, expected):
    document = doc(COD)
    document["billing"]["phone"], document["shipping"]["phone"] = billing, shipping
    assert request_of(upsert(document)).customer.phone == expected


def test_a_long_customer_note_is_cut_to_what_an_order_keeps():
    document = doc(CREATED) | {"customer_note": "x" * 1500}
    assert request_of(upsert(document)).note == "x" * 1000


# --- the fuzz -------------------------------------------------------------------------------------

ALLOWED = (MalformedBody, UnreadableOrder)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
    | st.sampled_from(["", "0", "10.00", "-1", "1e5", "cancelled", "trash", "cod", "EUR", "2024-01-01T00:00:00"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)
PATHS = [("id",), ("status",), ("currency",), ("total",), ("total_tax",), ("shipping_total",), ("shipping_tax",),
         ("prices_include_tax",), ("date_modified_gmt",), ("date_paid_gmt",), ("customer_id",), ("number",),
         ("billing",), ("shipping",), ("billing", "email"), ("shipping", "country"), ("shipping", "city"),
         ("line_items",), ("line_items", 0), ("line_items", 0, "quantity"), ("line_items", 0, "subtotal"),
         ("line_items", 0, "sku"), ("line_items", 1, "total"), ("line_items", 1, "variation_id"), ("fee_lines",),
         ("meta_data",), ("customer_note",), ("payment_method",)]


def _put(document: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Set document[path] = value where the path still exists (an earlier mutation may have removed it)."""
    target = document
    for key in path[:-1]:
        if isinstance(key, str) and isinstance(target, dict) and key in target:
            target = target[key]
        elif isinstance(key, int) and isinstance(target, list) and key < len(target):
            target = target[key]
        else:
            return
    last = path[-1]
    if isinstance(last, str) and isinstance(target, dict):
        target[last] = value
    elif isinstance(last, int) and isinstance(target, list) and last < len(target):
        target[last] = value


def _check(outcome: ChannelOrder) -> None:
    assert isinstance(outcome, ChannelOrder)
    if outcome.action is IntakeAction.UPSERT:
        assert isinstance(outcome.request, OrderRequest)
        OrderRequest.model_validate(outcome.request.model_dump(mode="json"))  # what we built is a valid request
    assert all(isinstance(problem, MappingProblem) for problem in outcome.problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from([CREATED, COD, NUMBERS, CANCELLED]), mutations=st.lists(
    st.tuples(st.sampled_from(PATHS), JSON), min_size=1, max_size=3),
    topic=st.sampled_from(["order.created", "order.updated", "order.restored", "order.deleted"]))
def test_fuzz_a_mutated_order_is_read_or_refused_with_a_field_never_a_crash(name, mutations, topic):
    document = doc(name)
    for path, value in mutations:
        _put(document, path, value)
    try:
        _check(read(topic, php(document), SkuMap({"variant:305": "MUG-WHT"})))
    except ALLOWED as refused:
        assert refused.field, refused.message


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=512) | JSON.map(lambda value: json.dumps(value).encode()),
       topic=st.sampled_from(["order.created", "order.updated", "order.deleted", "order.restored", "product.updated"]))
def test_fuzz_any_body_is_read_or_refused_never_a_crash(body, topic):
    try:
        _check(read(topic, body, NO_MAP))
    except ALLOWED as refused:
        assert refused.field


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=256), header=st.none() | st.text(max_size=60),
       content_type=st.none() | st.text(max_size=40))
def test_fuzz_verify_only_rejects_and_ping_only_answers(body, header, content_type):
    with pytest.raises(WebhookSignatureInvalid):
        verify(body, header, [SECRET])  # a random header never matches
    verify(body, signature(body), [SECRET])
    assert is_activation_ping(body, content_type) in (True, False)
