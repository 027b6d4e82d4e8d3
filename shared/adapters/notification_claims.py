"""The notifier's once-per-event-and-medium records: claimed before a message is sent, completed
after, released when the send failed. The only module that knows their keys (docs/data-model.md).

The records keep the shape Powertools Idempotency's DynamoDB persistence layer gave them (it wrote
them before the notifier claimed a batch at once, and its records must keep counting): pk
`IDEMPOTENCY#notify-customers`, sk `<prefix>#<md5 of the JSON of the event id>`, `status`
(`INPROGRESS` or `COMPLETED`), `expires_at` (epoch s, the table's TTL), `in_progress_expiration`
(epoch ms: the claiming invocation's deadline) and `data` (the send's outcome as JSON). A claim
takes a record that is absent, expired, or in progress past its deadline (Powertools' condition),
so a duplicate finds it completed, a concurrent twin finds it in progress, and a sender that died
leaves it to be taken again once its deadline passed.

A batch's claims are one transaction (`claim`; a single claim, a conditional put: the same guard at
half the write units); what it refuses is named per record and the rest is claimed again without
them. Completions and releases are one batch write (`finish`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.adapters.expressions import Delete, Exists, Missing, Put, Write, eq, lt
from shared.adapters.idempotency import idempotency_pk
from shared.unit_of_work import AlreadyApplied, Refused, Store

FUNCTION = "notify-customers"
INPROGRESS, COMPLETED = "INPROGRESS", "COMPLETED"

ClaimKey = tuple[str, str]


def claim_key(prefix: str, event_id: str) -> ClaimKey:
    """Powertools' key for `event_id` under `prefix` (its md5 of the JSON of the jmespath result)."""
    digest = hashlib.md5(json.dumps(event_id, sort_keys=True).encode()).hexdigest()  # noqa: S324 - a key, not security
    return idempotency_pk(FUNCTION), f"{prefix}#{digest}"


class Found(StrEnum):
    CLAIMED = "CLAIMED"          # ours now: send, then finish
    COMPLETED = "COMPLETED"      # sent before: its outcome is in `outcome`
    IN_PROGRESS = "IN_PROGRESS"  # another invocation is sending it now: retry later


@dataclass(frozen=True)
class ClaimResult:
    found: Found
    outcome: Any = None  # what the earlier send stored, for COMPLETED


class NotificationClaims:
    def __init__(self, store: Store, keep_seconds: int):
        self.store, self.keep_seconds = store, keep_seconds

    def claim(self, keys: list[ClaimKey], now: datetime, deadline_ms: int) -> dict[ClaimKey, ClaimResult]:
        """Claim every key (distinct) in one transaction; a key refused is named and the others are
        claimed again without it. Contention (a twin claiming the same key at the same moment)
        propagates: nothing was claimed, the caller retries."""
        results: dict[ClaimKey, ClaimResult] = {}
        pending = list(dict.fromkeys(keys))
        while pending:
            try:
                claims: list[Write] = [self._claim(k, now, deadline_ms) for k in pending]
                if len(claims) == 1:  # the same guard, at half a transaction's write units
                    self.store.write(claims[0])
                else:
                    self.store.transact(claims)
            except Refused as refused:
                taken = [o for o in refused.outcomes if isinstance(o, AlreadyApplied)]
                if len(taken) != len(refused.outcomes):
                    raise
                by_sk = {sk: (pk, sk) for pk, sk in pending}
                for outcome in taken:
                    results[by_sk[outcome.key]] = _found(outcome.record)
                pending = [k for k in pending if k not in results]
                continue
            results |= {k: ClaimResult(Found.CLAIMED) for k in pending}
            pending = []
        return results

    def _claim(self, key: ClaimKey, now: datetime, deadline_ms: int) -> Put:
        pk, sk = key
        item = {"pk": pk, "sk": sk, "status": INPROGRESS, "expires_at": int(now.timestamp()) + self.keep_seconds,
                "in_progress_expiration": deadline_ms}
        expired = lt("expires_at", int(now.timestamp()))
        abandoned = eq("status", INPROGRESS) & Exists("in_progress_expiration") \
            & lt("in_progress_expiration", int(now.timestamp() * 1000))
        return Put(item, when=Missing("pk") | expired | abandoned, refused=lambda old: AlreadyApplied(sk, old))

    def finish(self, completed: dict[ClaimKey, dict], released: list[ClaimKey], now: datetime) -> None:
        """Completed claims keep their send's outcome until they expire; released ones are deleted,
        so a retry sends them. One batch write, unconditional (the claim was ours)."""
        expires = int(now.timestamp()) + self.keep_seconds
        writes: list[Put | Delete] = [
            Put({"pk": pk, "sk": sk, "status": COMPLETED, "expires_at": expires,
                 "data": json.dumps(outcome, sort_keys=True)}) for (pk, sk), outcome in completed.items()]
        writes += [Delete(pk, sk) for pk, sk in released]
        if writes:
            self.store.batch_write(writes)


def _found(record: dict | None) -> ClaimResult:
    if record is not None and record.get("status") == COMPLETED:
        data = record.get("data")
        return ClaimResult(Found.COMPLETED, json.loads(data) if data else None)
    # In progress with its deadline ahead (an absent record cannot be refused: read as in progress).
    return ClaimResult(Found.IN_PROGRESS)
