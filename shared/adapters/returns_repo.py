"""Returns (RMAs) and the channels' return policies: the only module that knows their keys.

Access patterns (docs/data-model.md):
- a return by RMA: pk=RETURN#<rma>, sk=RETURN
- an order's returns: pk=ORDER#<order id>, sk=RETURNS lists their RMAs (read consistently, and
  written under its version by every new return of the order, so two requests racing for the
  order's last returnable unit cannot both pass the policy's quantity check)
- a caller's request id: pk=RETURN_REQUEST#<order id>#<request id>, sk=RETURN_REQUEST (the RMA it made)
- returns in a status, oldest first: gsi2 (RETURN_STATUS#<status>, <created_at>#<rma>)
- returns with a refund in flight, oldest claim first: gsi1 (RETURN_PENDING_REFUND, <claimed at>#<rma>),
  sparse: a return is in it only while a refund of it is PENDING, so the reconciliation reads those
  and nothing else (the returns in any status only ever grow)
- the return a carrier's update is about: gsi3 (RETURN_TRACKING#<code>, <rma>)
- a channel's return policy: pk=RETURN_POLICY, sk=<channel> (tens of channels: one partition)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.adapters.cursors import decode_cursor, encode_cursor
from shared.adapters.expressions import NEW, Changes, KeyQuery, Patch, Put, SortRange, eq
from shared.adapters.index_reads import items_behind
from shared.unit_of_work import AlreadyExists, StaleVersion, Store

if TYPE_CHECKING:  # the return models are built on first use: most functions never read a return
    from datetime import datetime

    from shared.domain.returns import Return, ReturnPolicy, ReturnStatus

SK = "RETURN"
POLICY_PK = "RETURN_POLICY"
PENDING_REFUND_PK = "RETURN_PENDING_REFUND"  # gsi1: no other item type writes this partition


def return_pk(rma_id: str) -> str:
    return f"RETURN#{rma_id}"


def request_pk(order_id: str, request_id: str) -> str:
    return f"RETURN_REQUEST#{order_id}#{request_id}"


@dataclass(frozen=True)
class OrderReturns:
    """The RMAs of an order, with the version every new return of the order writes under."""

    order_id: str
    rma_ids: tuple[str, ...] = ()
    version: int | None = None  # None: no return yet


@dataclass(frozen=True)
class RequestTaken:
    """A request id used before: the RMA it made, and the body's fingerprint then."""

    rma_id: str
    fingerprint: str


@dataclass(frozen=True)
class StoredPolicy:
    channel: str
    policy: ReturnPolicy
    version: int
    updated_at: str
    updated_by: str


class ReturnRepository:
    def __init__(self, store: Store):
        self.store = store

    # ------------------------------------------------------------------ returns

    def get(self, rma_id: str) -> Return | None:
        item = self.store.get(return_pk(rma_id), SK)
        return _return(item) if item else None

    def many(self, rma_ids: list[str]) -> list[Return]:
        items = self.store.batch_get([(return_pk(r), SK) for r in rma_ids])
        return sorted((_return(i) for i in items), key=lambda r: (r.created_at, r.rma_id))

    def of_order(self, order_id: str) -> OrderReturns:
        item = self.store.get(f"ORDER#{order_id}", "RETURNS")
        if item is None:
            return OrderReturns(order_id)
        return OrderReturns(order_id, tuple(item.get("rma_ids", [])), int(item["version"]))

    def rma_ids_of(self, order_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The RMAs of each order, in batch reads (an order without returns is left out)."""
        items = self.store.batch_get([(f"ORDER#{order_id}", "RETURNS") for order_id in dict.fromkeys(order_ids)])
        return {item["pk"].removeprefix("ORDER#"): tuple(item.get("rma_ids", [])) for item in items}

    def for_order(self, order_id: str) -> list[Return]:
        known = self.of_order(order_id)
        return self.many(list(known.rma_ids)) if known.rma_ids else []

    def request(self, order_id: str, request_id: str) -> RequestTaken | None:
        item = self.store.get(request_pk(order_id, request_id), "RETURN_REQUEST")
        return RequestTaken(item["rma_id"], item["fingerprint"]) if item else None

    def create(self, ret: Return, known: OrderReturns) -> list[Put]:
        """The new return, its request id, and the order's list of returns under the version read:
        AlreadyExists (with the RMA made first) for a request id used before, StaleVersion when
        another return of the order was created since `known` was read."""
        taken = request_pk(ret.order_id, ret.request_id)
        listed = {"pk": f"ORDER#{ret.order_id}", "sk": "RETURNS", "rma_ids": [*known.rma_ids, ret.rma_id],
                  "version": (known.version or 0) + 1}
        return [
            Put(self._item(ret), when=NEW, refused=lambda _old: AlreadyExists("return", ret.rma_id)),
            Put({"pk": taken, "sk": "RETURN_REQUEST", "rma_id": ret.rma_id, "fingerprint": ret.request_fingerprint},
                when=NEW, refused=lambda old: AlreadyExists("return_request", ret.request_id, _taken(old))),
            Put(listed, when=NEW if known.version is None else eq("version", known.version),
                refused=lambda _old: StaleVersion("order_returns", ret.order_id)),
        ]

    def serialised(self, known: OrderReturns) -> Patch:
        """A condition on the order's list of returns as read, moving its version on: writes of two
        returns of one order that each depend on the other (their refunds share the order's shipping
        and its lines' shares) commit one after the other, the second from a fresh read."""
        return Patch(f"ORDER#{known.order_id}", "RETURNS", Changes(add={"version": 1}),
                     when=eq("version", known.version or 0),
                     refused=lambda _old: StaleVersion("order_returns", known.order_id))

    def save(self, ret: Return, expected_version: int) -> Put:
        return Put(self._item(ret), when=eq("version", expected_version),
                   refused=lambda _old: StaleVersion("return", ret.rma_id))

    def in_status(self, status: ReturnStatus, limit: int, cursor: str | None) -> tuple[list[Return], str | None]:
        partition = f"RETURN_STATUS#{status.value}"
        start = decode_cursor(cursor, {"pk", "sk", "gsi2pk", "gsi2sk"}, ("gsi2pk", partition))
        entries, last = self.store.query(KeyQuery(partition, index="gsi2"), limit=limit, start_key=start)
        found = [_return(i) for i in items_behind(self.store, entries)]
        return [r for r in found if r.status == status], encode_cursor(last)  # the index lags

    def pending_refunds(self, claimed_before: datetime, limit: int, cursor: str | None
                        ) -> tuple[list[Return], str | None]:
        """Returns whose refund in flight was claimed at or before `claimed_before`, oldest claim
        first (as the index has them: the return may have finished the refund since), a page at a time."""
        start = decode_cursor(cursor, {"pk", "sk", "gsi1pk", "gsi1sk"}, ("gsi1pk", PENDING_REFUND_PK))
        upto = SortRange("<=", f"{claimed_before.isoformat()}~")  # `~` sorts after the `#<rma>` of that instant
        entries, last = self.store.query(KeyQuery(PENDING_REFUND_PK, upto, index="gsi1"), limit=limit,
                                         start_key=start)
        return [_return(i) for i in items_behind(self.store, entries)], encode_cursor(last)

    def for_tracking(self, tracking_code: str) -> list[Return]:
        entries, _ = self.store.query(KeyQuery(f"RETURN_TRACKING#{tracking_code}", index="gsi3"), limit=10)
        return [_return(i) for i in items_behind(self.store, entries, consistent=True)]

    @staticmethod
    def _item(ret: Return) -> dict:
        item = {"pk": return_pk(ret.rma_id), "sk": SK, "version": ret.version, "order_id": ret.order_id,
                "status": ret.status.value, "gsi2pk": f"RETURN_STATUS#{ret.status.value}",
                "gsi2sk": f"{ret.created_at.isoformat()}#{ret.rma_id}", "doc": ret.model_dump_json()}
        if ret.parcel is not None:
            item |= {"gsi3pk": f"RETURN_TRACKING#{ret.parcel.tracking_code}", "gsi3sk": ret.rma_id}
        pending = pending_refund_key(ret)
        if pending is not None:  # sparse: the Put that finishes (or refuses) the refund drops it
            item |= {"gsi1pk": PENDING_REFUND_PK, "gsi1sk": pending}
        return item

    # ------------------------------------------------------------------ policies

    def policy(self, channel: str) -> StoredPolicy | None:
        item = self.store.get(POLICY_PK, channel)
        if item is None:
            return None
        from shared.domain.bounds import STORED
        from shared.domain.returns import ReturnPolicy

        return StoredPolicy(channel, ReturnPolicy.model_validate_json(item["doc"], context=STORED),
                            int(item["version"]), item["updated_at"], item["updated_by"])

    def put_policy(self, channel: str, policy: ReturnPolicy, expected_version: int | None, updated_at: str,
                   updated_by: str) -> Put:
        item = {"pk": POLICY_PK, "sk": channel, "version": (expected_version or 0) + 1, "doc": policy.model_dump_json(),
                "updated_at": updated_at, "updated_by": updated_by}
        return Put(item, when=NEW if expected_version is None else eq("version", expected_version),
                   refused=lambda _old: StaleVersion("return_policy", channel))


def pending_refund_key(ret: Return) -> str | None:
    """The return's place in the pending-refund index: `<its PENDING refund's created_at>#<rma>`."""
    pending = ret.pending_refund
    return None if pending is None else f"{pending.created_at.isoformat()}#{ret.rma_id}"


def _return(item: dict) -> Return:
    from shared.domain.bounds import STORED
    from shared.domain.returns import Return

    return Return.model_validate_json(item["doc"], context=STORED)


def _taken(old: dict | None) -> RequestTaken | None:
    return RequestTaken(old["rma_id"], old["fingerprint"]) if old else None
