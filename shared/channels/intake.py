"""What every channel format adapter makes of a channel's payload: pure, no AWS, no clock.

An adapter (Shopify, WooCommerce, Amazon) verifies the payload's signature on the raw bytes first,
then reads the channel's own JSON into a `ChannelOrder`: our canonical `OrderRequest` plus the
`MappingProblem`s met on the way (an unknown SKU, a missing address, an unsupported currency, a
total that does not add up). A problem never drops the order: the adapter fills the field with a
`PLACEHOLDER_*` value so the request still validates, and the intake service captures the order on
hold (`HoldReason.CHANNEL_MAPPING`) naming every problem for an operator.

A payload that is signed but is not an order at all (not JSON, no id, no line items) raises
`UnreadableOrder` (a 4xx; the intake keeps the raw body for an operator).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.domain.orders import OrderRequest
from shared.errors import InvalidInput, Unauthenticated

# Stand-ins where the channel sent nothing usable: they validate, and the problem holds the order.
PLACEHOLDER_SKU_PREFIX = "UNMAPPED-"  # + the channel's SKU or variant id, sanitised
PLACEHOLDER_CITY = "unknown"
PLACEHOLDER_COUNTRY = "ZZ"  # ISO 3166 user-assigned: no location ships there
PLACEHOLDER_NAME = "unknown"


class IntakeAction(StrEnum):
    """What a channel's message asks of the OMS."""

    UPSERT = "upsert"  # an order as the channel now sees it: capture it, or apply a newer revision
    CANCEL = "cancel"  # the channel cancelled the order
    ACKNOWLEDGE = "acknowledge"  # nothing to change (a paid/refund notice we only record, a ping)


@dataclass(frozen=True)
class MappingProblem:
    """One thing the channel sent that we could not map; `field` is the channel's own field path
    (line_items[2].sku), `problem` says what is wrong in words an operator can act on."""

    field: str
    problem: str


@dataclass(frozen=True)
class ChannelOrder:
    """A channel's order in our canonical form.

    `channel_order_id` is the channel's stable id (Shopify's numeric `id`, Woo's `id`, Amazon's
    `AmazonOrderId`); `display_id` the number people see (Shopify `name` "#1001"), when different.
    `revision` orders the channel's revisions of one order (Shopify/Woo `updated_at`, Amazon
    `LastUpdateDate`): a revision not newer than the one applied is stale and ignored.
    `channel_status` is the channel's payment or order status as sent, kept for the record.
    """

    action: IntakeAction
    channel_order_id: str
    revision: datetime
    request: OrderRequest | None = None  # None only for CANCEL/ACKNOWLEDGE messages
    problems: tuple[MappingProblem, ...] = ()
    display_id: str | None = None
    channel_status: str | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True)
class SkuMap:
    """A channel's SKU mapping: its SKU or variant id -> our SKU. Pass-through by default: a channel
    SKU with no entry is our SKU as it is. Variant ids are looked up as "variant:<id>"."""

    entries: Mapping[str, str] = field(default_factory=dict)

    def our_sku(self, channel_sku: str | None, variant_id: str | None = None) -> str | None:
        if variant_id and (mapped := self.entries.get(f"variant:{variant_id}")):
            return mapped
        if channel_sku:
            return self.entries.get(channel_sku, channel_sku)
        return None


class UnreadableOrder(InvalidInput):
    """A signed payload that is not an order we can read at all: 422 naming the field, and the raw
    body is kept for an operator (GET /admin/exceptions)."""

    code = "unreadable_channel_order"


def field_path(loc: Sequence[int | str]) -> str:
    """A validation error's location as the channel's JSON spells it: ('line_items', 2, 'sku') ->
    'line_items[2].sku'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def validate_payload[M: BaseModel](model: type[M], document: dict[str, Any], what: str) -> M:
    """A channel's payload read as `model`, or UnreadableOrder naming the first field it fails on."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        detail = error.errors()[0]
        field = field_path(detail["loc"]) or "body"
        raise UnreadableOrder(f"not {what}: {field}: {detail['msg']}", field=field) from None


class WebhookSignatureInvalid(Unauthenticated):
    """The signature is missing or does not verify: 401, and the payload is stored nowhere."""

    code = "invalid_signature"


def placeholder_sku(channel_value: str | None) -> str:
    """The stand-in SKU for a line we could not map: UNMAPPED-<what the channel sent>, cut to fit
    our SKU pattern, so the operator sees which line it was."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", channel_value or "none")
    return (PLACEHOLDER_SKU_PREFIX + cleaned)[:64]
