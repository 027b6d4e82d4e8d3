"""Reconciliation's own items: the run lease with its checkpoint, drift audit records, open
exceptions (stuck orders, silent shipments); and the walks over other items it needs. The only
module that knows these keys (docs/data-model.md, "Reconciliation").

- run state: pk=RECONCILE, sk=STATE: `holder` (run id) and `lease_until_ms` (the lease), `step` and
  `cursor` (the checkpoint), `passes`, `pass_started_at`, `last_run_*`. Every checkpoint write is
  conditioned on `holder = <this run>`, so a run whose lease expired and was taken can never move
  the checkpoint of the run that took it.
- drift audit: pk=RECONCILE_AUDIT#<yyyy-mm-dd>, sk=<at>#<sku>#<location>#<run id>, kept 400 days.
- open exception: pk=RECONCILE_EXCEPTION, sk=ORDER#<order id> | SHIPMENT#<shipment id>; `since`
  (when the order entered its status, or when the shipment was last heard of) makes raising it
  once per stay: a conditional put `attribute_not_exists(pk) OR since <> :since`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from shared.adapters.dynamo import Table, decode_cursor, encode_cursor, from_item, key, to_attrs
from shared.adapters.fulfillment_repo import SHIPMENT_SK, shipment_pk
from shared.adapters.stock_repo import STOCK_SHARDS, reservation_sk, stock_pk
from shared.domain.shipments import Shipment
from shared.domain.stock import StockLevel

STATE_PK, STATE_SK = "RECONCILE", "STATE"
EXCEPTION_PK = "RECONCILE_EXCEPTION"
AUDIT_RETENTION = timedelta(days=400)
# Below every ISO time and above every "<iso time>#<id>" sort key: open bounds of a key range.
LOWEST, HIGHEST = "0", "~"


class LeaseLost(Exception):
    """Another run holds the lease now (ours expired): stop without writing anything more."""


@dataclass(frozen=True)
class RunState:
    step: str | None
    cursor: dict | None
    passes: int
    pass_started_at: str | None


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class ReconciliationRepository:
    def __init__(self, table: Table):
        self.table = table

    # -------------------------------------------------------------- lease and checkpoint

    def acquire(self, run_id: str, now: datetime, lease: timedelta) -> RunState | None:
        """Take the lease until now + lease, or None when another run holds it."""
        try:
            resp = self.table.client.update_item(
                TableName=self.table.name, Key=key(STATE_PK, STATE_SK),
                UpdateExpression="SET holder = :me, lease_until_ms = :until, run_started_at = :now",
                ConditionExpression="attribute_not_exists(holder) OR lease_until_ms <= :now_ms OR holder = :me",
                ExpressionAttributeValues=to_attrs({":me": run_id, ":until": _epoch_ms(now + lease),
                                                    ":now": now.isoformat(), ":now_ms": _epoch_ms(now)}),
                ReturnValues="ALL_NEW",
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        item = from_item(resp["Attributes"])
        return RunState(step=item.get("step"), cursor=json.loads(item["cursor"]) if item.get("cursor") else None,
                        passes=int(item.get("passes", 0)), pass_started_at=item.get("pass_started_at"))

    def checkpoint(self, run_id: str, step: str, cursor: dict | None, pass_started_at: str | None = None) -> None:
        values = {":me": run_id, ":step": step, ":cursor": json.dumps(cursor) if cursor else "",
                  ":ps": pass_started_at}
        expression = "SET step = :step, #c = :cursor" + (", pass_started_at = :ps" if pass_started_at else "")
        self._conditional_update(expression, values)

    def release_action(self, run_id: str, step: str, cursor: dict | None, pass_complete: bool,
                       summary: dict, now: datetime) -> dict:
        """Give the lease back with the checkpoint the next run starts from (in one transaction
        with the ReconciliationCompleted event)."""
        expression = ("REMOVE holder SET lease_until_ms = :zero, step = :step, #c = :cursor, last_run_at = :now, "
                      "last_run = :summary")
        values = {":me": run_id, ":zero": 0, ":step": step, ":cursor": json.dumps(cursor) if cursor else "",
                  ":now": now.isoformat(), ":summary": json.dumps(summary)}
        if pass_complete:
            expression += ", last_pass_completed_at = :now, pass_started_at = :none ADD passes :one"
            values.update({":none": "", ":one": 1})
        return self.table.update(STATE_PK, STATE_SK, expression, condition="holder = :me", values=values,
                                 names={"#c": "cursor"})

    def abandon(self, run_id: str) -> None:
        """Give the lease back after a failure, keeping the last checkpoint written: the next
        scheduled run need not wait for the lease to expire."""
        try:
            self._conditional_update("REMOVE holder SET lease_until_ms = :zero", {":me": run_id, ":zero": 0},
                                     names=False)
        except LeaseLost:
            pass

    def _conditional_update(self, expression: str, values: dict, names: bool = True) -> None:
        kwargs = {"ExpressionAttributeNames": {"#c": "cursor"}} if names else {}
        try:
            self.table.client.update_item(
                TableName=self.table.name, Key=key(STATE_PK, STATE_SK), UpdateExpression=expression,
                ConditionExpression="holder = :me", ExpressionAttributeValues=to_attrs(values), **kwargs)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise LeaseLost() from None
            raise

    def state(self) -> dict | None:
        return self.table.get(STATE_PK, STATE_SK)

    # -------------------------------------------------------------- drift

    def stock_partitions(self, start: dict | None) -> Iterator[tuple[dict, str, list[dict]]]:
        """Every stock partition (STOCK#<sku>: its levels and reservation records), as
        (resume key after it, sku, items). The SKUs come from gsi4 (level items only, keys only, in
        STOCK_SHARDS shards), so the walk reads stock and nothing else of the table; each SKU's
        partition is then one strongly consistent query. The resume key names the shard and the
        SKU, so a run that stops between SKUs continues with the next one."""
        start = start if start and "shard" in start else None  # an older checkpoint's shape: start over
        first_shard = int(start["shard"]) if start else 0
        for shard in range(first_shard, STOCK_SHARDS):
            condition, values = "gsi4pk = :pk", {":pk": f"STOCK_LEVELS#{shard:02d}"}
            if start and shard == first_shard:
                condition += " AND gsi4sk > :after"
                values[":after"] = start["after"]
            last_sku = None
            for key in self.table.query_all(index="gsi4", key_condition=condition, values=values):
                sku = key["gsi4sk"].split("#", 1)[0]  # SKUs and location ids never contain "#"
                if sku == last_sku:
                    continue
                last_sku = sku
                items = list(self.table.query_all(key_condition="pk = :pk", values={":pk": stock_pk(sku)},
                                                  consistent=True))
                # "\uffff" sorts after every "<sku>#<location>" of this SKU.
                yield {"shard": shard, "after": f"{sku}#\uffff"}, sku, items

    def reserved_by_records(self, sku: str, location_id: str) -> int:
        """The units the live reservation records of (sku, location) hold: a consistent read."""
        items = self.table.query_all(key_condition="pk = :pk AND begins_with(sk, :res)",
                                     values={":pk": stock_pk(sku), ":res": reservation_sk(location_id, "")},
                                     consistent=True)
        return sum(max(0, int(i.get("quantity", 0))) for i in items)

    def audit_action(self, run_id: str, before: StockLevel, after: StockLevel, now: datetime) -> dict:
        counts = ("on_hand", "reserved", "safety_stock", "available", "version")
        return self.table.put({
            "pk": f"RECONCILE_AUDIT#{now.date().isoformat()}",
            "sk": f"{now.isoformat()}#{before.sku}#{before.location_id}#{run_id}",
            "kind": "stock_drift", "run_id": run_id, "sku": before.sku, "location_id": before.location_id,
            "before": {c: getattr(before, c) for c in counts}, "after": {c: getattr(after, c) for c in counts},
            "at": now.isoformat(), "expires_at": int((now + AUDIT_RETENTION).timestamp()),
        })

    def audits(self, day: str) -> list[dict]:
        return list(self.table.query_all(key_condition="pk = :pk", values={":pk": f"RECONCILE_AUDIT#{day}"},
                                         consistent=True))

    # -------------------------------------------------------------- orders and fulfilment orders

    def orders_in_status(self, status: str, after: str | None, upto: str | None = None,
                         waiting_only: bool = False) -> Iterator[tuple[str, dict]]:
        """(gsi2sk, item) of the orders in `status` created up to `upto` (an ISO time), oldest
        first, strictly after the sort key `after`."""
        values = {":pk": f"STATUS#{status}", ":lo": after or LOWEST, ":hi": f"{upto}{HIGHEST}" if upto else HIGHEST}
        if values[":lo"] > values[":hi"]:
            return  # a cursor past the bound (a limit raised since it was saved): nothing left here
        kwargs = {}
        if waiting_only:
            kwargs["filter_expression"] = "attribute_exists(waiting_skus)"
        for item in self.table.query_all(index="gsi2", key_condition="gsi2pk = :pk AND gsi2sk BETWEEN :lo AND :hi",
                                         values=values, **kwargs):
            if item["gsi2sk"] != after:
                yield item["gsi2sk"], item

    def ready_for_pickup(self, location_id: str, after: str | None, upto: str) -> Iterator[tuple[str, dict]]:
        """(gsi1sk, item) of a location's fulfilment orders READY_FOR_PICKUP created up to `upto`."""
        prefix = "READY_FOR_PICKUP#"
        values = {":pk": f"LOCATION_FO#{location_id}", ":lo": after or prefix, ":hi": f"{prefix}{upto}{HIGHEST}"}
        if values[":lo"] > values[":hi"]:
            return  # DynamoDB refuses BETWEEN with lower > upper; a cursor past the bound: done here
        for item in self.table.query_all(index="gsi1", key_condition="gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
                                         values=values):
            if item["gsi1sk"] != after:
                yield item["gsi1sk"], item

    def shipments(self, ids: list[str]) -> list[Shipment]:
        items = self.table.batch_get([(shipment_pk(i), SHIPMENT_SK) for i in ids])
        return [Shipment.model_validate_json(i["doc"]) for i in items]

    # -------------------------------------------------------------- exceptions

    def raise_exception_action(self, kind: str, subject: str, since: datetime, fields: dict, now: datetime) -> dict:
        """Once per stay: refused when the same exception (same `since`) is already open."""
        item = {"pk": EXCEPTION_PK, "sk": f"{kind}#{subject}", "kind": kind, "subject": subject,
                "since": since.isoformat(), "raised_at": now.isoformat(), **fields}
        return self.table.put(item, condition="attribute_not_exists(pk) OR since <> :since",
                              values={":since": since.isoformat()})

    def open_exception(self, kind: str, subject: str) -> dict | None:
        return self.table.get(EXCEPTION_PK, f"{kind}#{subject}")

    def mark_polled(self, sk: str, now: datetime) -> None:
        """When a flagged shipment's carrier was last asked (it is asked again only hours later)."""
        try:
            self.table.client.update_item(TableName=self.table.name, Key=key(EXCEPTION_PK, sk),
                                          UpdateExpression="SET polled_at = :now",
                                          ConditionExpression="attribute_exists(pk)",
                                          ExpressionAttributeValues=to_attrs({":now": now.isoformat()}))
        except ClientError as e:
            if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # else: resolved meanwhile, nothing to mark

    def exceptions(self, after: str | None = None) -> Iterator[tuple[str, dict]]:
        values = {":pk": EXCEPTION_PK, ":lo": after or LOWEST}
        for item in self.table.query_all(key_condition="pk = :pk AND sk >= :lo", values=values, consistent=True):
            if item["sk"] != after:
                yield item["sk"], item

    def exceptions_page(self, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        start = decode_cursor(cursor, {"pk", "sk"}, ("pk", EXCEPTION_PK))
        items, last = self.table.query(key_condition="pk = :pk", values={":pk": EXCEPTION_PK}, limit=limit,
                                       start_key=start, consistent=True)
        return items, encode_cursor(last)

    def resolve_exception(self, sk: str, since: str) -> bool:
        """Close an exception whose cause is gone (unless it was raised again meanwhile)."""
        try:
            self.table.client.delete_item(TableName=self.table.name, Key=key(EXCEPTION_PK, sk),
                                          ConditionExpression="since = :since",
                                          ExpressionAttributeValues=to_attrs({":since": since}))
            return True
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
