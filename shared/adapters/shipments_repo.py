"""Shipments, created when a location ships and moved by carrier tracking, and the tracking updates
nobody claims. The only module that knows their keys. Access patterns (docs/data-model.md):
- shipment by id: pk=SHIPMENT#<id>, sk=SHIPMENT (strongly consistent)
- shipments by tracking number: the lookup item pk=TRACKING#<code>, sk=TRACKING (written in the ship
  transaction, one attribute per shipment naming its order), read with the batch's other items; gsi3
  (TRACKING#<code>, <shipment id>) for shipments shipped before the lookup items existed
- tracking updates for a number we do not know: pk=UNKNOWN_TRACKING#<code>, sk=<provider>#<event id>
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

from shared.adapters.expressions import NEW, Changes, KeyQuery, Patch, Put, eq
from shared.adapters.packed import pack, unpack
from shared.adapters.reads import Wanted
from shared.domain.shipments import Shipment
from shared.domain.tracking import TrackingUpdate
from shared.unit_of_work import AlreadyExists, StaleVersion, Store

SHIPMENT_SK = "SHIPMENT"
LOOKUP_SK = "TRACKING"
SHIPPED_AS = "s#"  # a lookup item's attribute per shipment: s#<shipment id> = <order id>

# Long enough for someone to notice and replay (a label bought outside the OMS, a typo in a tracking
# number entered at the ship call); then TTL removes it.
UNKNOWN_RETENTION = timedelta(days=30)


def unknown_pk(tracking_code: str) -> str:
    return f"UNKNOWN_TRACKING#{tracking_code}"


def shipment_pk(shipment_id: str) -> str:
    return f"SHIPMENT#{shipment_id}"


def lookup_pk(tracking_code: str) -> str:
    return f"TRACKING#{tracking_code}"


def shipment_item(shipment: Shipment) -> dict:
    """A shipment by id (pk=SHIPMENT#<id>), and by tracking number on gsi3 (TRACKING#<code>): how
    apply-tracking finds a shipment from before the lookup items (`track`). Kept on every write, as
    a rewrite of such a shipment must not drop it from the index."""
    item = {"pk": shipment_pk(shipment.shipment_id), "sk": SHIPMENT_SK, "version": shipment.version,
            "order_id": shipment.order_id, **pack(shipment)}
    if shipment.tracking_code:
        item["gsi3pk"], item["gsi3sk"] = f"TRACKING#{shipment.tracking_code}", shipment.shipment_id
    return item


class ShipmentRepository:
    def __init__(self, store: Store):
        self.store = store

    def get(self, shipment_id: str) -> Shipment | None:
        item = self.store.get(shipment_pk(shipment_id), SHIPMENT_SK)
        return unpack(Shipment, item) if item else None

    def many(self, ids: list[str]) -> list[Shipment]:
        items = self.store.batch_get([(shipment_pk(i), SHIPMENT_SK) for i in ids])
        return [unpack(Shipment, i) for i in items]

    def for_tracking(self, tracking_code: str) -> list[Shipment]:
        """The shipments carrying this tracking number (strongly consistent), by shipment id."""
        ids = [shipment_id for shipment_id, _ in self.tracked([tracking_code])[tracking_code]]
        return sorted(self.many(ids), key=lambda s: s.shipment_id) if ids else []

    def tracked(self, tracking_codes: list[str]) -> dict[str, list[tuple[str, str | None]]]:
        """Per tracking number, (shipment id, order id) of the shipments carrying it: what to read,
        with their orders, in one go (`wanted`). One strongly consistent BatchGetItem of the numbers'
        lookup items, so a shipment committed a moment ago is found; only a number without one (a
        return's label, a number we never shipped, a shipment from before the lookup items) is
        asked of the index, which projects the order id."""
        codes = list(dict.fromkeys(tracking_codes))
        found = {item["pk"].removeprefix(lookup_pk("")): item
                 for item in self.store.batch_get([(lookup_pk(c), LOOKUP_SK) for c in codes])} if codes else {}
        pairs: dict[str, list[tuple[str, str | None]]] = {}
        for code in codes:
            if (item := found.get(code)) is not None:
                pairs[code] = sorted((attr.removeprefix(SHIPPED_AS), str(order_id)) for attr, order_id in item.items()
                                     if attr.startswith(SHIPPED_AS))
            else:
                entries = self.store.query_all(KeyQuery(lookup_pk(code), index="gsi3"))
                pairs[code] = [(e["pk"].removeprefix(shipment_pk("")), e.get("order_id")) for e in entries]
        return pairs

    def wanted(self, shipment_id: str) -> Wanted:
        """The shipment, to read beside other repositories' items (Repositories.read)."""
        return Wanted((shipment_pk(shipment_id), SHIPMENT_SK), lambda item: unpack(Shipment, item))

    def create(self, shipment: Shipment) -> Put:
        """The new shipment record; its id is the caller's, so a repeated ship call is refused here
        (AlreadyExists)."""
        return Put(shipment_item(shipment), when=NEW,
                   refused=lambda _old: AlreadyExists("shipment", shipment.shipment_id))

    def track(self, shipment: Shipment) -> Patch:
        """The shipment under its tracking number, for apply-tracking to find by key: written in
        the transaction that creates the shipment (so never missing for one that exists), one
        attribute per shipment, so two shipments given the same number are both found."""
        if not shipment.tracking_code:
            raise ValueError(f"shipment {shipment.shipment_id} has no tracking number to be found by")
        return Patch(lookup_pk(shipment.tracking_code), LOOKUP_SK,
                     Changes(set={f"{SHIPPED_AS}{shipment.shipment_id}": shipment.order_id}))

    def save(self, shipment: Shipment, expected_version: int) -> Put:
        """Replace the shipment if nobody changed it since we read it. Its history holds the
        provider event ids already applied, so this condition is also what makes a duplicate
        delivered twice at once count once."""
        return Put(shipment_item(shipment), when=eq("version", expected_version),
                   refused=lambda _old: StaleVersion("shipment", shipment.shipment_id))

    def record_unknown(self, update: TrackingUpdate, received_at: datetime) -> None:
        """Keep an update whose tracking number names no shipment. A plain put: a redelivery
        rewrites the same item."""
        document = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(update).items()}
        item = {
            "pk": unknown_pk(update.tracking_code), "sk": f"{update.provider}#{update.provider_event_id}",
            "provider": update.provider, "provider_event_id": update.provider_event_id,
            "received_at": received_at.isoformat(), "update": json.dumps(document),
            "expires_at": int((received_at + UNKNOWN_RETENTION).timestamp()),
        }
        self.store.write(Put(item))

    def unknown(self, tracking_code: str) -> list[dict]:
        """The recorded updates for a tracking number no shipment had when they arrived."""
        return list(self.store.query_all(KeyQuery(unknown_pk(tracking_code)), consistent=True))
