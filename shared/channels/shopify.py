"""Shopify order webhooks: verify the signature on the raw body, then read Shopify's Order (or Refund)
resource into a `ChannelOrder` (shared/channels/intake.py). Pure: no AWS, no clock, no network.

Sources (read 2026-12):
  signature  https://shopify.dev/docs/apps/build/webhooks/subscribe/https (verify the webhook)
  topics     https://shopify.dev/docs/api/webhooks (orders/create, orders/updated, orders/paid,
             orders/cancelled, refunds/create and their sample bodies)
  order      https://shopify.dev/docs/api/admin-rest/latest/resources/order (the webhook body is this
             resource as JSON: ids are numbers, amounts strings, every `*_set` a bag of shop_money and
             presentment_money)
  refund     https://shopify.dev/docs/api/admin-rest/latest/resources/refund
  statuses   https://shopify.dev/docs/api/admin-graphql/latest/enums/OrderDisplayFinancialStatus

Signature (`verify`): X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body keyed with the
app's client secret (UTF-8). We accept when it matches any configured secret (two while a secret is
rotated), compared in constant time. Refused: no header, no secret, a header that is not base64, no
match. Shopify signs no timestamp: a replayed delivery verifies, and intake deduplicates it by
revision (a revision not newer than the one applied is ignored).

Topics (`read`): orders/create, orders/updated and orders/paid carry a whole Order (UPSERT);
orders/cancelled too (CANCEL, with the mapped request when the body still maps, and `cancel_reason`);
refunds/create carries a Refund (ACKNOWLEDGE: the order id and the refund's created_at, no request).
Any other topic is UnreadableOrder(field="X-Shopify-Topic"). A body that is not JSON is MalformedBody;
JSON that is not an order (no id, no line_items, wrong types, absurd sizes) is UnreadableOrder naming
the field. Nothing else is raised for any body.

The resources as Shopify documents them, and the parsing of a body: shared/channels/shopify_payload.py.
Mapping an Order to our OrderRequest (each rule, in the order applied): shared/channels/shopify_mapping.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from shared.channels.intake import (
    ChannelOrder,
    IntakeAction,
    SkuMap,
    UnreadableOrder,
    WebhookSignatureInvalid,
    validate_payload,
)
from shared.channels.shopify_mapping import map_order
from shared.channels.shopify_payload import LineItem, Order, OrderHead, Refund, parse_json
from shared.domain.orders import OrderRequest

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
TOPICS: dict[str, IntakeAction] = {
    "orders/create": IntakeAction.UPSERT,
    "orders/updated": IntakeAction.UPSERT,
    "orders/paid": IntakeAction.UPSERT,
    "orders/cancelled": IntakeAction.CANCEL,
    "refunds/create": IntakeAction.ACKNOWLEDGE,
}


# --- verification ---------------------------------------------------------------------------------

def verify(raw_body: bytes, hmac_header: str | None, secrets: Sequence[str]) -> None:
    """Raise WebhookSignatureInvalid unless `hmac_header` is the base64 HMAC-SHA256 of `raw_body`
    under one of `secrets` (the app's client secret; two while it is rotated)."""
    if isinstance(secrets, str):
        raise TypeError("secrets is a sequence of secrets, not one string")
    keys = [secret.encode() for secret in secrets if secret]  # an empty key would let anyone sign
    if not keys:
        raise WebhookSignatureInvalid("no Shopify webhook secret is configured")
    if hmac_header is None or not hmac_header.strip():
        raise WebhookSignatureInvalid(f"missing {HMAC_HEADER} header")
    try:
        given = base64.b64decode(hmac_header.strip(), validate=True)
    except (ValueError, binascii.Error):  # not base64, or not ASCII at all
        raise WebhookSignatureInvalid(f"{HMAC_HEADER} is not base64") from None
    matches = [hmac.compare_digest(hmac.new(key, raw_body, hashlib.sha256).digest(), given) for key in keys]
    if not any(matches):
        raise WebhookSignatureInvalid(f"{HMAC_HEADER} does not match the body")


# --- reading --------------------------------------------------------------------------------------

def read(topic: str, raw_body: bytes, sku_map: SkuMap) -> ChannelOrder:
    """The ChannelOrder in a verified Shopify webhook body of `topic` (the X-Shopify-Topic header)."""
    action = TOPICS.get(topic.strip()) if isinstance(topic, str) else None
    if action is None:
        raise UnreadableOrder(f"not a Shopify topic we read: {str(topic)[:100]!r}", field=TOPIC_HEADER)
    document = parse_json(raw_body)
    if action is IntakeAction.ACKNOWLEDGE:
        refund = validate_payload(Refund, document, "a Shopify refund")
        return ChannelOrder(action=action, channel_order_id=str(refund.order_id), revision=refund.created_at)
    head = validate_payload(OrderHead, document, "a Shopify order")
    # The topic header is not signed: the signed body decides. An order is cancelled when its
    # cancelled_at says so, whatever topic it came under; orders/cancelled without it is no cancellation.
    if action is IntakeAction.CANCEL and head.cancelled_at is None:
        raise UnreadableOrder("orders/cancelled with no cancelled_at: not a cancellation", field="cancelled_at")
    action = IntakeAction.CANCEL if head.cancelled_at is not None else IntakeAction.UPSERT
    reason = head.cancel_reason
    request: OrderRequest | None
    try:
        order = validate_payload(Order, document, "a Shopify order")
        if action is IntakeAction.UPSERT and not any(_units(item) for item in order.line_items):
            # Every line removed or refunded before anything shipped: nothing is left to send.
            action, reason = IntakeAction.CANCEL, "every line was removed or refunded in Shopify"
        request, problems = map_order(order, sku_map)
    except UnreadableOrder:
        if action is not IntakeAction.CANCEL:
            raise
        request, problems = None, ()  # a cancellation applies whether or not the rest still maps
    return ChannelOrder(
        action=action, channel_order_id=str(head.id), revision=head.updated_at, request=request,
        problems=problems, display_id=head.name, channel_status=head.financial_status,
        cancel_reason=reason if action is IntakeAction.CANCEL else None)


def _units(item: LineItem) -> int:
    return item.current_quantity if item.current_quantity is not None else item.quantity
