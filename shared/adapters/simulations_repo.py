"""What-if simulations: one job item each. The only module that knows its key.

Access pattern (docs/data-model.md): pk=SIMULATION#<simulation id>, sk=JOB, attributes
- `status`, `chunk` (chunks done: every chunk's write is conditioned on the number it read, so a
  redelivered message cannot add a chunk's orders twice), `expires_at` (TTL, 90 days after creation)
- `queued`: the message for chunk `chunk` was sent (set after the send, conditioned on the chunk)
- `last_try_at`: when the queue's last allowed delivery of chunk `chunk` started (ISO 8601)
- `doc`: the job without its figures (the request, the cursor, where it got to) as JSON
- `state`: the figures so far (shared/domain/routing_replay.py ReplayTally), JSON compressed with zlib
  and base64-encoded: a 92-day period's load per location and day, and a sample of 50 changed orders
  with both decisions, would otherwise crowd DynamoDB's 400 KB item limit

and beside it, written once with it: pk=SIMULATION#<simulation id>, sk=NETWORK#<nnn>, `part`, `expires_at`:
the network the simulation replays against (ReplayNetwork: locations, shipping profile, channel policies
when it was asked), JSON compressed with zlib and base64-encoded, cut into parts of at most 350,000
characters (a network of tens of thousands of locations takes several).
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.expressions import NEW, Changes, KeyQuery, Patch, Put, SortRange, eq, ne
from shared.domain.bounds import STORED
from shared.domain.routing_simulation import ReplayNetwork, SimulationJob, SimulationRequest, SimulationStatus
from shared.unit_of_work import AlreadyExists, StaleVersion, Store

JOB_SK = "JOB"
NETWORK_PREFIX = "NETWORK#"
NETWORK_PART_CHARS = 350_000
RETENTION = timedelta(days=90)
MAX_STATE_CHARS = 300_000  # the compressed figures; the item's other attributes stay far below 100 KB


class StateTooLarge(Exception):
    """The figures would not fit the job item (hundreds of locations over a long period)."""


def simulation_pk(simulation_id: str) -> str:
    return f"SIMULATION#{simulation_id}"


class SimulationRepository:
    def __init__(self, store: Store):
        self.store = store

    def get(self, simulation_id: str) -> SimulationJob | None:
        item = self.store.get(simulation_pk(simulation_id), JOB_SK)
        return _job(item) if item else None

    def network(self, simulation_id: str) -> ReplayNetwork | None:
        """The network kept with the job; None for a job from before networks were kept."""
        parts = list(self.store.query_all(KeyQuery(simulation_pk(simulation_id), SortRange.prefix(NETWORK_PREFIX)),
                                          consistent=True))
        if not parts:
            return None
        packed = "".join(p["part"] for p in sorted(parts, key=lambda p: p["sk"]))
        return ReplayNetwork.from_doc(json.loads(zlib.decompress(base64.b64decode(packed))))

    def create(self, job: SimulationJob, network: ReplayNetwork | None = None) -> list[Put]:
        """A new job and the network it replays against, for one transaction; refused AlreadyExists
        (carrying the stored job) when its id is taken."""
        writes = [Put(self._item(job), when=NEW,
                      refused=lambda old: AlreadyExists("simulation", job.simulation_id, _job(old) if old else None))]
        if network is not None:
            packed = base64.b64encode(zlib.compress(json.dumps(network.to_doc(), separators=(",", ":")).encode(),
                                                    6)).decode()
            expires = int((job.created_at + RETENTION).timestamp())
            for n, at in enumerate(range(0, len(packed), NETWORK_PART_CHARS)):
                writes.append(Put({"pk": simulation_pk(job.simulation_id), "sk": f"{NETWORK_PREFIX}{n:03d}",
                                   "part": packed[at:at + NETWORK_PART_CHARS], "expires_at": expires}, when=NEW,
                                  refused=lambda _old: AlreadyExists("simulation", job.simulation_id)))
        return writes

    def advance(self, job: SimulationJob, read_chunk: int) -> Put:
        """`job` (its chunk one past `read_chunk`) in place of the job as read; refused StaleVersion when
        another worker recorded that chunk first, or the job was failed meanwhile."""
        return Put(self._item(job), when=eq("chunk", read_chunk) & ne("status", SimulationStatus.FAILED.value),
                   refused=lambda _old: StaleVersion("simulation", job.simulation_id))

    def mark_queued(self, simulation_id: str, chunk: int) -> Patch:
        """The message for `chunk` was sent; refused StaleVersion once that chunk is recorded (or failed)."""
        return Patch(simulation_pk(simulation_id), JOB_SK, Changes(set={"queued": True}),
                     when=eq("chunk", chunk) & ne("status", SimulationStatus.FAILED.value),
                     refused=lambda _old: StaleVersion("simulation", simulation_id))

    def last_try(self, simulation_id: str, chunk: int, at: datetime) -> Patch:
        """The last delivery the queue allows of `chunk` started `at`; refused StaleVersion once that chunk is
        recorded or the job closed."""
        return Patch(simulation_pk(simulation_id), JOB_SK, Changes(set={"last_try_at": at.isoformat()}),
                     when=eq("chunk", chunk) & ne("status", SimulationStatus.FAILED.value)
                     & ne("status", SimulationStatus.DONE.value),
                     refused=lambda _old: StaleVersion("simulation", simulation_id))

    def finish_failed(self, job: SimulationJob, reason: str, now: datetime) -> Put:
        """FAILED with `reason`, unless it finished or moved past the chunk read meanwhile."""
        failed = replace(job, status=SimulationStatus.FAILED, error=reason[:500], updated_at=now)
        return Put(self._item(failed), when=eq("chunk", job.chunk) & ne("status", SimulationStatus.DONE.value),
                   refused=lambda _old: StaleVersion("simulation", job.simulation_id))

    @staticmethod
    def _item(job: SimulationJob) -> dict[str, Any]:
        doc = {k: v for k, v in asdict(job).items() if k not in ("request", "state", "queued", "last_try_at")}
        doc |= {"request": job.request.model_dump(mode="json", by_alias=True), "status": job.status.value,
                "created_at": job.created_at.isoformat(), "updated_at": job.updated_at.isoformat(),
                "reached": job.reached.isoformat() if job.reached else None}
        item: dict[str, Any] = {
            "pk": simulation_pk(job.simulation_id), "sk": JOB_SK, "status": job.status.value, "chunk": job.chunk,
            "queued": job.queued, **({"last_try_at": job.last_try_at.isoformat()} if job.last_try_at else {}),
            "doc": json.dumps(doc, separators=(",", ":")),
            "expires_at": int((job.created_at + RETENTION).timestamp()),
        }
        if job.state is not None:
            packed = base64.b64encode(zlib.compress(json.dumps(job.state, separators=(",", ":")).encode(), 6))
            if len(packed) > MAX_STATE_CHARS:
                raise StateTooLarge(f"the figures take {len(packed)} bytes compressed, over {MAX_STATE_CHARS}")
            item["state"] = packed.decode()
        return item


def _job(item: dict[str, Any]) -> SimulationJob:
    doc = json.loads(item["doc"])
    state = json.loads(zlib.decompress(base64.b64decode(item["state"]))) if item.get("state") else None
    return SimulationJob(
        simulation_id=doc["simulation_id"], status=SimulationStatus(doc["status"]),
        request=SimulationRequest.model_validate(doc["request"], context=STORED), fingerprint=doc["fingerprint"],
        requested_by=doc["requested_by"], created_at=datetime.fromisoformat(doc["created_at"]),
        updated_at=datetime.fromisoformat(doc["updated_at"]), chunk=int(doc["chunk"]), cursor=doc.get("cursor"),
        reached=datetime.fromisoformat(doc["reached"]) if doc.get("reached") else None, state=state,
        error=doc.get("error"), queued=bool(item.get("queued", True)),  # jobs from before the flag: as queued
        last_try_at=datetime.fromisoformat(item["last_try_at"]) if item.get("last_try_at") else None)
