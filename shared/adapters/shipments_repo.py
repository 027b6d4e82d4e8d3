"""Shipments as carrier tracking moves them, and the tracking updates nobody claims.

The shipment item itself (keys, gsi3) is defined in fulfillment_repo.py, which creates it when a
location ships; this repository reads it, finds it by tracking number and replaces it under its
version. Access patterns (docs/data-model.md):
- shipment by id: pk=SHIPMENT#<id>, sk=SHIPMENT (strongly consistent)
- shipments by tracking number: gsi3 (TRACKING#<code>, <shipment id>)
- tracking updates for a number we do not know: pk=UNKNOWN_TRACKING#<code>, sk=<provider>#<event id>
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

from shared.adapters.dynamo import Table, to_attrs
from shared.adapters.fulfillment_repo import SHIPMENT_SK, shipment_item, shipment_pk
from shared.domain.shipments import Shipment
from shared.domain.tracking import TrackingUpdate

# Long enough for someone to notice and replay (a label bought outside the OMS, a typo in a tracking
# number entered at the ship call); then TTL removes it.
UNKNOWN_RETENTION = timedelta(days=30)


def unknown_pk(tracking_code: str) -> str:
    return f"UNKNOWN_TRACKING#{tracking_code}"


class ShipmentRepository:
    def __init__(self, table: Table):
        self.table = table

    def get(self, shipment_id: str) -> Shipment | None:
        item = self.table.get(shipment_pk(shipment_id), SHIPMENT_SK)
        return Shipment.model_validate_json(item["doc"]) if item else None

    def many(self, ids: list[str]) -> list[Shipment]:
        items = self.table.batch_get([(shipment_pk(i), SHIPMENT_SK) for i in ids])
        return [Shipment.model_validate_json(i["doc"]) for i in items]

    def for_tracking(self, tracking_code: str) -> list[Shipment]:
        """The shipments carrying this tracking number, as the index has them (it projects the whole
        item): possibly a moment behind, which the version condition of any write catches."""
        items = self.table.query_all(index="gsi3", key_condition="gsi3pk = :pk",
                                     values={":pk": f"TRACKING#{tracking_code}"})
        return [Shipment.model_validate_json(i["doc"]) for i in items]

    def save_action(self, shipment: Shipment, expected_version: int) -> dict:
        """Replace the shipment if nobody changed it since we read it. Its history holds the
        provider event ids already applied, so this condition is also what makes a duplicate
        delivered twice at once count once."""
        return self.table.put(shipment_item(shipment), condition="version = :v", values={":v": expected_version})

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
        self.table.client.put_item(TableName=self.table.name, Item=to_attrs(item))

    def unknown(self, tracking_code: str) -> list[dict]:
        """The recorded updates for a tracking number no shipment had when they arrived."""
        return list(self.table.query_all(key_condition="pk = :pk", values={":pk": unknown_pk(tracking_code)},
                                         consistent=True))
