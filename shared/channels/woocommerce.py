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

The order's wire format and the parsing of a body: shared/channels/woocommerce_payload.py. Mapping
an order to our OrderRequest (money, lines, customer, address, payment):
shared/channels/woocommerce_mapping.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import Any

from shared.channels.intake import (
    ChannelOrder,
    IntakeAction,
    SkuMap,
    UnreadableOrder,
    WebhookSignatureInvalid,
    validate_payload,
)
from shared.channels.woocommerce_mapping import map_order
from shared.channels.woocommerce_payload import Deleted, Head, Order, parse_json, plain_status
from shared.domain.bounds import LATEST

CHANNEL = "woocommerce"
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
TOPICS = frozenset({"order.created", "order.updated", "order.deleted", "order.restored"})

# Refunded in full before it shipped: the goods must not go out (after shipping, intake lists an exception).
CANCELLING = {"cancelled": "cancelled in WooCommerce", "trash": "moved to the trash in WooCommerce",
              "refunded": "refunded in WooCommerce"}
ACKNOWLEDGED = frozenset({"checkout-draft", "draft", "auto-draft", "new"})


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


# --- reading --------------------------------------------------------------------------------------

def read(topic: str, raw_body: bytes, sku_map: SkuMap) -> ChannelOrder:
    """The order message in a verified delivery. UnreadableOrder (naming the field) when the topic is
    not an order topic or the body is not a WooCommerce order; MalformedBody when it is not JSON."""
    name = topic.strip() if isinstance(topic, str) else ""
    if name not in TOPICS:
        raise UnreadableOrder(f"not an order topic: {name[:100]!r} (expected one of {', '.join(sorted(TOPICS))})",
                              field=TOPIC_HEADER)
    document = parse_json(raw_body)
    if not isinstance(document, dict):
        raise UnreadableOrder("not a WooCommerce order: the body is not a JSON object", field="body")
    if name == "order.deleted":
        deleted = validate_payload(Deleted, document, "a WooCommerce order")
        return ChannelOrder(action=IntakeAction.CANCEL, channel_order_id=str(deleted.id), revision=LATEST,
                            cancel_reason="deleted in WooCommerce")
    head = validate_payload(Head, document, "a WooCommerce order")
    revision = head.date_modified_gmt or head.date_created_gmt
    if revision is None:
        raise UnreadableOrder("not a WooCommerce order: no date_modified_gmt (nor date_created_gmt)",
                              field="date_modified_gmt")
    status = plain_status(head.status)
    number = head.number[:128]
    common: dict[str, Any] = {
        "channel_order_id": str(head.id), "revision": revision, "channel_status": head.status,
        "display_id": number if number and number != str(head.id) else None}
    if status in CANCELLING:
        return ChannelOrder(action=IntakeAction.CANCEL, cancel_reason=CANCELLING[status], **common)
    if status in ACKNOWLEDGED:
        return ChannelOrder(action=IntakeAction.ACKNOWLEDGE, **common)
    order = validate_payload(Order, document, "a WooCommerce order")
    request, problems = map_order(order, sku_map)
    return ChannelOrder(action=IntakeAction.UPSERT, request=request, problems=tuple(problems), **common)
