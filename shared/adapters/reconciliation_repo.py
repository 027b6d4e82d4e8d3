"""Reconciliation's own items: the run lease with its checkpoint, drift audit records, open
exceptions (stuck orders, silent shipments); and the walks over other items it needs. The only
module that knows these keys (docs/data-model.md, "Reconciliation").

- run state: pk=RECONCILE, sk=STATE: `holder` (run id) and `lease_until_ms` (the lease), `step` and
  `cursor` (the checkpoint), `passes`, `pass_started_at`, `last_run_*`. Every checkpoint write is
  conditioned on `holder = <this run>`, so a run whose lease expired and was taken can never move
  the checkpoint of the run that took it.
- drift audit: pk=RECONCILE_AUDIT#<yyyy-mm-dd>, sk=<at>#<sku>#<location>#<run id>, kept 400 days.
- open exception: pk=RECONCILE_EXCEPTION, sk=<kind>#<subject> (STUCK_ORDER#<order id>,
  SILENT_SHIPMENT#<shipment id>, UNCOLLECTED_PICKUP#<fulfilment order id>); `since` (when the order
  entered its status, the shipment was last heard of, the pickup became ready) makes raising it
  once per stay: a conditional put `attribute_not_exists(pk) OR since <> :since`.

Everything it answers is typed (orders, fulfilment orders, stock partitions, exception records);
the walks answer (position, thing), where the position is what a checkpoint resumes after. A walked
item that does not read as its type comes as the ValueError saying why (the walk counts it as that
item's failure and goes on), so one bad item cannot end a walk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from shared.adapters.cursors import decode_cursor, encode_cursor
from shared.adapters.expressions import (
    PRESENT,
    Changes,
    Compare,
    Delete,
    Exists,
    KeyQuery,
    Missing,
    Patch,
    Put,
    SortRange,
    eq,
    ne,
)
from shared.adapters.index_reads import BATCH
from shared.adapters.packed import unpack
from shared.adapters.stock_keys import RESERVATION_PREFIX, STOCK_SHARDS, shard_pk, stock_pk
from shared.domain.exception_records import ExceptionKind, ExceptionRecord
from shared.unit_of_work import AlreadyExists, Refused, Store
from shared.unit_of_work import LeaseLost as LeaseLostOutcome

# The run's reads import the domains they read when they run: the operator's list of open exceptions
# (admin-api) reads exception records only, and its cold start loads none of them.
if TYPE_CHECKING:
    from shared.domain.fulfillment import FulfillmentOrder
    from shared.domain.orders import Order, OrderStatus
    from shared.domain.reconciliation import StockPartition
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
    holder: str | None = None  # the run holding the lease, if any


@dataclass(frozen=True)
class DriftAudit:
    """One drift repair as audited: the level's counts before and after."""

    run_id: str
    sku: str
    location_id: str
    at: datetime
    before: dict[str, int]
    after: dict[str, int]


def _run_state(item: dict) -> RunState:
    return RunState(step=item.get("step") or None, cursor=json.loads(item["cursor"]) if item.get("cursor") else None,
                    passes=int(item.get("passes", 0)), pass_started_at=item.get("pass_started_at") or None,
                    holder=item.get("holder"))


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
        return _run_state(item)

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

    def state(self) -> RunState | None:
        item = self.store.get(STATE_PK, STATE_SK)
        return _run_state(item) if item else None

    # -------------------------------------------------------------- drift

    def stock_partitions(self, start: dict | None) -> Iterator[tuple[dict, StockPartition | ValueError]]:
        """Every SKU's stock partition (its levels and reservation records), as (resume key after
        it, partition). The SKUs come from gsi4 (level items only, keys only, in STOCK_SHARDS
        shards), so the walk reads stock and nothing else of the table; each SKU's partition is then
        one strongly consistent query. The resume key names the shard and the SKU, so a run that
        stops between SKUs continues with the next one."""
        start = start if start and "shard" in start else None  # an older checkpoint's shape: start over
        first_shard = int(start["shard"]) if start else 0
        for shard in range(first_shard, STOCK_SHARDS):
            after = SortRange(">", start["after"]) if start and shard == first_shard else None
            last_sku = None
            for key in self.store.query_all(KeyQuery(shard_pk(shard), after, index="gsi4")):
                sku = key["gsi4sk"].split("#", 1)[0]  # SKUs and location ids never contain "#"
                if sku == last_sku:
                    continue
                last_sku = sku
                items = self.store.query_all(KeyQuery(stock_pk(sku)), consistent=True)
                # "\uffff" sorts after every "<sku>#<location>" of this SKU.
                yield {"shard": shard, "after": f"{sku}#\uffff"}, _read(_partition, sku, items)

    def audit(self, run_id: str, before: StockLevel, after: StockLevel, now: datetime) -> Put:
        counts = ("on_hand", "reserved", "safety_stock", "available", "version")
        return Put({
            "pk": f"RECONCILE_AUDIT#{now.date().isoformat()}",
            "sk": f"{now.isoformat()}#{before.sku}#{before.location_id}#{run_id}",
            "kind": "stock_drift", "run_id": run_id, "sku": before.sku, "location_id": before.location_id,
            "before": {c: getattr(before, c) for c in counts}, "after": {c: getattr(after, c) for c in counts},
            "at": now.isoformat(), "expires_at": int((now + AUDIT_RETENTION).timestamp()),
        })

    def audits(self, day: str) -> list[DriftAudit]:
        return [DriftAudit(run_id=i["run_id"], sku=i["sku"], location_id=i["location_id"],
                           at=datetime.fromisoformat(i["at"]),
                           before={k: int(v) for k, v in i["before"].items()},
                           after={k: int(v) for k, v in i["after"].items()})
                for i in self.store.query_all(KeyQuery(f"RECONCILE_AUDIT#{day}"), consistent=True)]

    # -------------------------------------------------------------- orders and fulfilment orders

    def orders_in_status(self, status: OrderStatus, after: str | None, upto: datetime | None = None,
                         waiting_only: bool = False) -> Iterator[tuple[str, Order | ValueError]]:
        """(position, order) of the orders in `status` created up to `upto`, oldest first, strictly
        after the position `after`. `waiting_only`: those waiting for stock. The index may lag the
        order, which is read after it (eventually consistent): it may have moved on since."""
        from shared.domain.orders import Order  # as the run's other reads: see TYPE_CHECKING above

        low, high = after or LOWEST, f"{upto.isoformat()}{HIGHEST}" if upto else HIGHEST
        if low > high:
            return  # a cursor past the bound (a limit raised since it was saved): nothing left here
        where = Exists("waiting_skus") if waiting_only else None
        entries = self.store.query_all(KeyQuery(f"STATUS#{status.value}", SortRange.between(low, high), index="gsi2"),
                                       where=where)
        yield from _walk_behind(self.store, entries, "gsi2sk", after, Order)

    def ready_for_pickup(self, location_id: str, after: str | None, upto: datetime
                         ) -> Iterator[tuple[str, FulfillmentOrder | ValueError]]:
        """(position, fulfilment order) of a location's fulfilment orders READY_FOR_PICKUP created
        up to `upto`, oldest first (the index's copy)."""
        from shared.domain.fulfillment import FulfillmentOrder, FulfillmentStatus  # as orders_in_status

        prefix = f"{FulfillmentStatus.READY_FOR_PICKUP.value}#"
        low, high = after or prefix, f"{prefix}{upto.isoformat()}{HIGHEST}"
        if low > high:
            return  # DynamoDB refuses BETWEEN with lower > upper; a cursor past the bound: done here
        entries = self.store.query_all(KeyQuery(f"LOCATION_FO#{location_id}", SortRange.between(low, high),
                                                index="gsi1"))
        yield from _walk_behind(self.store, entries, "gsi1sk", after, FulfillmentOrder)

    def shipments(self, ids: list[str]) -> list[Shipment]:
        from shared.adapters.shipments_repo import SHIPMENT_SK, shipment_pk  # as orders_in_status
        from shared.domain.shipments import Shipment

        items = self.store.batch_get([(shipment_pk(i), SHIPMENT_SK) for i in ids])
        return [unpack(Shipment, i) for i in items]

    # -------------------------------------------------------------- exceptions

    def raise_exception(self, record: ExceptionRecord) -> Put:
        """Once per stay: AlreadyExists when the same exception (same `since`) is already open."""
        key = _exception_sk(record.kind, record.subject)
        item: dict[str, Any] = {"pk": EXCEPTION_PK, "sk": key, "kind": record.kind.value, "subject": record.subject,
                "since": record.since.isoformat(), "raised_at": record.raised_at.isoformat(),
                "reason": record.reason, "suggested_action": record.suggested_action}
        optional: dict[str, Any] = {"order_id": record.order_id, "status": record.status, "channel": record.channel,
                    "sla_minutes": record.sla_minutes,
                    "polled_at": record.polled_at.isoformat() if record.polled_at else None}
        item.update({k: v for k, v in optional.items() if v is not None})
        return Put(item, when=Missing("pk") | ne("since", item["since"]),
                   refused=lambda _old: AlreadyExists("exception", key))

    def open_exception(self, kind: ExceptionKind, subject: str) -> ExceptionRecord | None:
        item = self.store.get(EXCEPTION_PK, _exception_sk(kind, subject))
        return _exception(item) if item else None

    def open_exceptions_of(self, order_ids: list[str], kinds: tuple[ExceptionKind, ...]) -> list[ExceptionRecord]:
        """The open exceptions of these kinds whose subject is one of these orders, in batch reads."""
        keys = [(EXCEPTION_PK, _exception_sk(kind, order_id)) for order_id in dict.fromkeys(order_ids) for kind in kinds]
        return [_exception(item) for item in self.store.batch_get(keys, consistent=False)] if keys else []

    def mark_polled(self, kind: ExceptionKind, subject: str, now: datetime) -> None:
        """When a flagged shipment's carrier was last asked (it is asked again only hours later)."""
        try:
            self.store.write(Patch(EXCEPTION_PK, _exception_sk(kind, subject),
                                   Changes(set={"polled_at": now.isoformat()}), when=PRESENT))
        except Refused:
            pass  # resolved meanwhile, nothing to mark

    def exceptions(self, after: str | None = None) -> Iterator[tuple[str, ExceptionRecord | ValueError]]:
        """(position, record) of every open exception, after the position `after`."""
        for item in self.store.query_all(KeyQuery(EXCEPTION_PK, SortRange(">=", after or LOWEST)), consistent=True):
            if item["sk"] != after:
                yield item["sk"], _read(_exception, item)

    def exceptions_page(self, limit: int, cursor: str | None, kind: ExceptionKind | None = None
                        ) -> tuple[list[ExceptionRecord], str | None]:
        """Open exceptions by kind and subject; of one kind only: its sort key prefix (<kind>#)."""
        start = decode_cursor(cursor, {"pk", "sk"}, ("pk", EXCEPTION_PK))
        sort = SortRange.prefix(f"{kind.value}#") if kind is not None else None
        items, last = self.store.query(KeyQuery(EXCEPTION_PK, sort), limit=limit, start_key=start, consistent=True)
        return [_exception(i) for i in items], encode_cursor(last)

    def resolve_exception(self, record: ExceptionRecord) -> bool:
        """Close an exception whose cause is gone (unless it was raised again meanwhile)."""
        try:
            self.store.write(Delete(EXCEPTION_PK, _exception_sk(record.kind, record.subject),
                                    when=eq("since", record.since.isoformat())))
            return True
        except Refused:
            return False


def _walk_behind[M: BaseModel](store, entries, position: str, after: str | None, model: type[M]
                               ) -> Iterator[tuple[str, M | ValueError]]:
    """(position, item as `model`) of the items behind index entries, past the position `after`,
    read 100 at a time; the position is the index entry's sort key."""
    page: list[dict] = []
    for entry in entries:
        if entry[position] != after:
            page.append(entry)
        if len(page) == BATCH:
            yield from _positioned(store, page, position, model)
            page = []
    yield from _positioned(store, page, position, model)


def _positioned[M: BaseModel](store, page: list[dict], position: str, model: type[M]
                              ) -> Iterator[tuple[str, M | ValueError]]:
    if not page:
        return
    items = {(i["pk"], i["sk"]): i for i in store.batch_get([(e["pk"], e["sk"]) for e in page], consistent=False)}
    for entry in page:
        item = items.get((entry["pk"], entry["sk"]))
        if item is not None:  # gone since the index named it
            yield entry[position], _read(_doc, model, item)


def _read[T](parse: Callable[..., T], *args: Any) -> T | ValueError:
    """What an item reads as, or why it does not (a walk goes on past it)."""
    try:
        return parse(*args)
    except (ValueError, KeyError) as error:
        return error if isinstance(error, ValueError) else ValueError(f"missing {error}")


def _doc[M: BaseModel](model: type[M], item: dict) -> M:
    return unpack(model, item)


def _partition(sku: str, items) -> StockPartition:
    from shared.adapters.stock_repo import levels_of_partition  # as orders_in_status
    from shared.domain.reconciliation import ReservationRecord, StockPartition

    items = list(items)
    levels, reservations = levels_of_partition(items), []
    for item in items:
        if item["sk"].startswith(RESERVATION_PREFIX):
            # RES#<location>#<order id>: the attributes say the same, the key is the fallback.
            _, loc, order_id = item["sk"].split("#", 2)
            reservations.append(ReservationRecord(sku=sku, location_id=item.get("location_id") or loc,
                                                  order_id=item.get("order_id") or order_id,
                                                  quantity=int(item.get("quantity", 0))))
    return StockPartition(sku, levels, reservations)


def _exception_sk(kind: ExceptionKind, subject: str) -> str:
    return f"{kind.value}#{subject}"


def _exception(item: dict) -> ExceptionRecord:
    def moment(name: str) -> datetime | None:
        return datetime.fromisoformat(item[name]) if item.get(name) else None

    return ExceptionRecord(
        kind=ExceptionKind(item["kind"]), subject=item["subject"], since=datetime.fromisoformat(item["since"]),
        raised_at=datetime.fromisoformat(item["raised_at"]), reason=item["reason"],
        suggested_action=item["suggested_action"], order_id=item.get("order_id"), status=item.get("status"),
        channel=item.get("channel"), sla_minutes=int(item["sla_minutes"]) if "sla_minutes" in item else None,
        polled_at=moment("polled_at"))
