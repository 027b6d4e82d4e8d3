"""Payment lookups beside the order: which order a provider's payment intent belongs to, and the
provider events no order claims. The only module that knows their keys. The payment record itself
is part of the order (`Order.payment`, written by the orders repository).

Access patterns (docs/data-model.md):
- payment intent -> order: pk=PAYMENT_INTENT#<intent id>, sk=ORDER (written with the order at capture,
  or when a webhook first names the intent of an order that had none)
- provider events for no known order: pk=UNMATCHED_PAYMENT#<provider>, sk=<event id> (30 days)
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

from shared.adapters.expressions import NEW, KeyQuery, Put
from shared.payments.provider import ProviderEvent
from shared.unit_of_work import AlreadyExists, Store

INTENT_SK = "ORDER"
# Long enough for someone to match it by hand (an intent created outside the OMS, a shop that forgot
# metadata.order_id); then TTL removes it.
UNMATCHED_RETENTION = timedelta(days=30)


def intent_pk(intent_id: str) -> str:
    return f"PAYMENT_INTENT#{intent_id}"


class PaymentRepository:
    def __init__(self, store: Store):
        self.store = store

    def link_intent(self, intent_id: str, order_id: str) -> Put:
        """The intent belongs to this order, and to no other: refused, AlreadyExists("payment_intent",
        intent id, the order id it already names)."""
        return Put({"pk": intent_pk(intent_id), "sk": INTENT_SK, "order_id": order_id}, when=NEW,
                   refused=lambda old: AlreadyExists("payment_intent", intent_id, (old or {}).get("order_id")))

    def order_for_intent(self, intent_id: str) -> str | None:
        item = self.store.get(intent_pk(intent_id), INTENT_SK)
        return item["order_id"] if item else None

    def record_unmatched(self, event: ProviderEvent, received_at: datetime) -> None:
        """Kept for an operator, acknowledged to the provider: no retry makes an unknown order known.
        Only the normalised event (ids, kind, amounts), never the provider's raw payload (it can carry
        the payer's name and address). A redelivery rewrites the same item."""
        body: dict[str, object] = {k: (str(v) if v is not None and not isinstance(v, bool | int | str) else v)
                for k, v in asdict(event).items() if k != "refunds"}
        body["refunds"] = [{"refund_id": r.refund_id, "amount": str(r.amount), "status": r.status.value}
                           for r in event.refunds]
        self.store.write(Put({"pk": f"UNMATCHED_PAYMENT#{event.provider}", "sk": event.event_id,
                              "event": json.dumps(body, sort_keys=True), "received_at": received_at.isoformat(),
                              "expires_at": int((received_at + UNMATCHED_RETENTION).timestamp())}))

    def unmatched(self, provider: str) -> list[dict]:
        """The recorded events of `provider` that named no order we know."""
        return list(self.store.query_all(KeyQuery(f"UNMATCHED_PAYMENT#{provider}"), consistent=True))
