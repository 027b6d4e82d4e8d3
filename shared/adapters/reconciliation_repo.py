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

from shared.adapters.cursors import decode_cursor, encode_cursor
from shared.adapters.expressions import PRESENT, Changes, Compare, Delete, Exists, KeyQuery, Missing, Patch, Put, SortRange, \
    eq, ne
from shared.adapters.shipments_repo import SHIPMENT_SK, shipment_pk
from shared.adapters.stock_repo import STOCK_SHARDS, stock_pk
from shared.domain.shipments import Shipment
from shared.domain.stock import StockLevel
from shared.unit_of_work import AlreadyExists, LeaseLost as LeaseLostOutcome, Refused, Store

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
    def __init__(self, store: Store):
        self.store = store

    # -------------------------------------------------------------- lease and checkpoint

    def acquire(self, run_id: str, now: datetime, lease: timedelta) -> RunState | None:
        """Take the lease until now + lease, or None when another run holds it."""
        try:
            item = self.store.write(Patch(
                STATE_PK, STATE_SK,
                Changes(set={"holder": run_id, "lease_until_ms": _epoch_ms(now + lease),
                             "run_started_at": now.isoformat()}),
                when=Missing("holder") | Compare("lease_until_ms", "<=", _epoch_ms(now)) | eq("holder", run_id),
            ), return_new=True)
        except Refused:
            return None
        assert item is not None
        return RunState(step=item.get("step"), cursor=json.loads(item["cursor"]) if item.get("cursor") else None,
                        passes=int(item.get("passes", 0)), pass_started_at=item.get("pass_started_at"))

    def checkpoint(self, run_id: str, step: str, cursor: dict | None, pass_started_at: str | None = None) -> None:
        changes = {"step": step, "cursor": json.dumps(cursor) if cursor else ""}
        if pass_started_at:
            changes["pass_started_at"] = pass_started_at
        self._held(run_id, Changes(set=changes))

    def release(self, run_id: str, step: str, cursor: dict | None, pass_complete: bool,
                summary: dict, now: datetime) -> Patch:
        """Give the lease back with the checkpoint the next run starts from (in one transaction
        with the ReconciliationCompleted event). LeaseLost if another run took it."""
        changes: dict = {"lease_until_ms": 0, "step": step, "cursor": json.dumps(cursor) if cursor else "",
                         "last_run_at": now.isoformat(), "last_run": json.dumps(summary)}
        add = {}
        if pass_complete:
            changes.update({"last_pass_completed_at": now.isoformat(), "pass_started_at": ""})
            add = {"passes": 1}
        return Patch(STATE_PK, STATE_SK, Changes(set=changes, add=add, remove=("holder",)),
                     when=eq("holder", run_id), refused=lambda _old: LeaseLostOutcome())

    def abandon(self, run_id: str) -> None:
        """Give the lease back after a failure, keeping the last checkpoint written: the next
        scheduled run need not wait for the lease to expire."""
        try:
            self._held(run_id, Changes(set={"lease_until_ms": 0}, remove=("holder",)))
        except LeaseLost:
            pass

    def _held(self, run_id: str, changes: Changes) -> None:
        try:
            self.store.write(Patch(STATE_PK, STATE_SK, changes, when=eq("holder", run_id)))
        except Refused:
            raise LeaseLost() from None

    def state(self) -> dict | None:
        return self.store.get(STATE_PK, STATE_SK)

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
            after = SortRange(">", start["after"]) if start and shard == first_shard else None
            last_sku = None
            for key in self.store.query_all(KeyQuery(f"STOCK_LEVELS#{shard:02d}", after, index="gsi4")):
                sku = key["gsi4sk"].split("#", 1)[0]  # SKUs and location ids never contain "#"
                if sku == last_sku:
                    continue
                last_sku = sku
                items = list(self.store.query_all(KeyQuery(stock_pk(sku)), consistent=True))
                # "\uffff" sorts after every "<sku>#<location>" of this SKU.
                yield {"shard": shard, "after": f"{sku}#\uffff"}, sku, items

    def audit(self, run_id: str, before: StockLevel, after: StockLevel, now: datetime) -> Put:
        counts = ("on_hand", "reserved", "safety_stock", "available", "version")
        return Put({
            "pk": f"RECONCILE_AUDIT#{now.date().isoformat()}",
            "sk": f"{now.isoformat()}#{before.sku}#{before.location_id}#{run_id}",
            "kind": "stock_drift", "run_id": run_id, "sku": before.sku, "location_id": before.location_id,
            "before": {c: getattr(before, c) for c in counts}, "after": {c: getattr(after, c) for c in counts},
            "at": now.isoformat(), "expires_at": int((now + AUDIT_RETENTION).timestamp()),
        })

    def audits(self, day: str) -> list[dict]:
        return list(self.store.query_all(KeyQuery(f"RECONCILE_AUDIT#{day}"), consistent=True))

    # -------------------------------------------------------------- orders and fulfilment orders

    def orders_in_status(self, status: str, after: str | None, upto: str | None = None,
                         waiting_only: bool = False) -> Iterator[tuple[str, dict]]:
        """(gsi2sk, item) of the orders in `status` created up to `upto` (an ISO time), oldest
        first, strictly after the sort key `after`."""
        low, high = after or LOWEST, f"{upto}{HIGHEST}" if upto else HIGHEST
        if low > high:
            return  # a cursor past the bound (a limit raised since it was saved): nothing left here
        where = Exists("waiting_skus") if waiting_only else None
        for item in self.store.query_all(KeyQuery(f"STATUS#{status}", SortRange.between(low, high), index="gsi2"),
                                         where=where):
            if item["gsi2sk"] != after:
                yield item["gsi2sk"], item

    def ready_for_pickup(self, location_id: str, after: str | None, upto: str) -> Iterator[tuple[str, dict]]:
        """(gsi1sk, item) of a location's fulfilment orders READY_FOR_PICKUP created up to `upto`."""
        prefix = "READY_FOR_PICKUP#"
        low, high = after or prefix, f"{prefix}{upto}{HIGHEST}"
        if low > high:
            return  # DynamoDB refuses BETWEEN with lower > upper; a cursor past the bound: done here
        for item in self.store.query_all(KeyQuery(f"LOCATION_FO#{location_id}", SortRange.between(low, high),
                                                  index="gsi1")):
            if item["gsi1sk"] != after:
                yield item["gsi1sk"], item

    def shipments(self, ids: list[str]) -> list[Shipment]:
        items = self.store.batch_get([(shipment_pk(i), SHIPMENT_SK) for i in ids])
        return [Shipment.model_validate_json(i["doc"]) for i in items]

    # -------------------------------------------------------------- exceptions

    def raise_exception(self, kind: str, subject: str, since: datetime, fields: dict, now: datetime) -> Put:
        """Once per stay: AlreadyExists when the same exception (same `since`) is already open."""
        item = {"pk": EXCEPTION_PK, "sk": f"{kind}#{subject}", "kind": kind, "subject": subject,
                "since": since.isoformat(), "raised_at": now.isoformat(), **fields}
        return Put(item, when=Missing("pk") | ne("since", since.isoformat()),
                   refused=lambda _old: AlreadyExists("exception", f"{kind}#{subject}"))

    def open_exception(self, kind: str, subject: str) -> dict | None:
        return self.store.get(EXCEPTION_PK, f"{kind}#{subject}")

    def mark_polled(self, sk: str, now: datetime) -> None:
        """When a flagged shipment's carrier was last asked (it is asked again only hours later)."""
        try:
            self.store.write(Patch(EXCEPTION_PK, sk, Changes(set={"polled_at": now.isoformat()}), when=PRESENT))
        except Refused:
            pass  # resolved meanwhile, nothing to mark

    def exceptions(self, after: str | None = None) -> Iterator[tuple[str, dict]]:
        for item in self.store.query_all(KeyQuery(EXCEPTION_PK, SortRange(">=", after or LOWEST)), consistent=True):
            if item["sk"] != after:
                yield item["sk"], item

    def exceptions_page(self, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        start = decode_cursor(cursor, {"pk", "sk"}, ("pk", EXCEPTION_PK))
        items, last = self.store.query(KeyQuery(EXCEPTION_PK), limit=limit, start_key=start, consistent=True)
        return items, encode_cursor(last)

    def resolve_exception(self, sk: str, since: str) -> bool:
        """Close an exception whose cause is gone (unless it was raised again meanwhile)."""
        try:
            self.store.write(Delete(EXCEPTION_PK, sk, when=eq("since", since)))
            return True
        except Refused:
            return False
