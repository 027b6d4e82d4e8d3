"""Fulfilment orders. The only module that knows their keys.

Access patterns (docs/data-model.md):
- fulfilment order by id: pk=FULFILLMENT#<id>, sk=FULFILLMENT
- a location's fulfilment orders by status, oldest first: gsi1 (LOCATION_FO#<location>,
  <status>#<created_at>#<id>)
- an order's fulfilment orders: gsi2 (ORDER_FO#<order id>, <created_at>#<id>)
- shipment by id: pk=SHIPMENT#<id>, sk=SHIPMENT; by tracking number: gsi3 (TRACKING#<code>, <id>)
"""

from __future__ import annotations

from shared.adapters.dynamo import Table, decode_cursor, encode_cursor
from shared.domain.fulfillment import FulfillmentOrder, FulfillmentStatus
from shared.domain.shipments import Shipment

SK = "FULFILLMENT"
SHIPMENT_SK = "SHIPMENT"


def shipment_pk(shipment_id: str) -> str:
    return f"SHIPMENT#{shipment_id}"


def shipment_item(shipment: Shipment) -> dict:
    """A shipment by id (pk=SHIPMENT#<id>), and by tracking number on gsi3 (TRACKING#<code>):
    the webhook worker finds the shipment a carrier update is about."""
    item = {"pk": shipment_pk(shipment.shipment_id), "sk": SHIPMENT_SK, "version": shipment.version,
            "doc": shipment.model_dump_json()}
    if shipment.tracking_code:
        item["gsi3pk"], item["gsi3sk"] = f"TRACKING#{shipment.tracking_code}", shipment.shipment_id
    return item


def fulfillment_pk(fulfillment_order_id: str) -> str:
    return f"FULFILLMENT#{fulfillment_order_id}"


class FulfillmentRepository:
    def __init__(self, table: Table):
        self.table = table

    def get(self, fulfillment_order_id: str) -> FulfillmentOrder | None:
        item = self.table.get(fulfillment_pk(fulfillment_order_id), SK)
        return FulfillmentOrder.model_validate_json(item["doc"]) if item else None

    def create_action(self, fo: FulfillmentOrder) -> dict:
        """New only: a redelivered request finds it there and creates nothing."""
        return self.table.put(self._item(fo), condition="attribute_not_exists(pk)")

    def absent_check(self, fulfillment_order_id: str) -> dict:
        """A transaction condition: this fulfilment order does not exist (yet)."""
        return self.table.check(fulfillment_pk(fulfillment_order_id), SK, "attribute_not_exists(pk)")

    def save_action(self, fo: FulfillmentOrder, expected_version: int) -> dict:
        return self.table.put(self._item(fo), condition="version = :v", values={":v": expected_version})

    @staticmethod
    def _item(fo: FulfillmentOrder) -> dict:
        created = fo.created_at.isoformat()
        return {
            "pk": fulfillment_pk(fo.fulfillment_order_id), "sk": SK, "version": fo.version,
            "gsi1pk": f"LOCATION_FO#{fo.location_id}",
            "gsi1sk": f"{fo.status.value}#{created}#{fo.fulfillment_order_id}",
            "gsi2pk": f"ORDER_FO#{fo.order_id}", "gsi2sk": f"{created}#{fo.fulfillment_order_id}",
            "doc": fo.model_dump_json(),
        }

    def shipment_action(self, shipment: Shipment) -> dict:
        """The new shipment record; its id is the caller's, so a repeated ship call is refused here."""
        return self.table.put(shipment_item(shipment), condition="attribute_not_exists(pk)")

    def shipment(self, shipment_id: str) -> Shipment | None:
        item = self.table.get(shipment_pk(shipment_id), SHIPMENT_SK)
        return Shipment.model_validate_json(item["doc"]) if item else None

    def many(self, ids: list[str]) -> list[FulfillmentOrder]:
        items = self.table.batch_get([(fulfillment_pk(i), SK) for i in ids])
        return [FulfillmentOrder.model_validate_json(i["doc"]) for i in items]

    def for_location(self, location_id: str, status: FulfillmentStatus | None, limit: int, cursor: str | None
                     ) -> tuple[list[FulfillmentOrder], str | None]:
        pk_value = f"LOCATION_FO#{location_id}"
        values: dict[str, object] = {":pk": pk_value}
        condition = "gsi1pk = :pk"
        if status is not None:
            condition += " AND begins_with(gsi1sk, :st)"
            values[":st"] = f"{status.value}#"
        start = decode_cursor(cursor, {"pk", "sk", "gsi1pk", "gsi1sk"}, ("gsi1pk", pk_value))
        items, last = self.table.query(index="gsi1", key_condition=condition, values=values, limit=limit,
                                       start_key=start)
        return [FulfillmentOrder.model_validate_json(i["doc"]) for i in items], encode_cursor(last)
