"""Where a polled channel's pass through its orders stands: one checkpoint per channel. The only
module that knows its key.

Access pattern: pk=CHANNEL_SYNC#<channel id>, sk=CHECKPOINT, attributes
- `updated_after`: every order the channel last updated before this moment has been taken (ISO 8601)
- while a pass is in progress: `next_token` (the channel's token for the next page, bound to the
  pass's `updated_after`) and `pass_started_at` (where the next `updated_after` is derived from)
- `pages` (taken in this pass), `version` (each write is conditioned on the version read, so two
  runs of one channel at once cannot move the checkpoint back), `saved_at`, `last_pass_completed_at`
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shared.adapters.expressions import NEW, Put, eq
from shared.unit_of_work import Refused, StaleVersion, Store

CHECKPOINT_SK = "CHECKPOINT"


def checkpoint_pk(channel_id: str) -> str:
    return f"CHANNEL_SYNC#{channel_id}"


class CheckpointMoved(Exception):
    """Another run moved this channel's checkpoint since we read it: stop; that run carries on."""


@dataclass(frozen=True)
class SyncCheckpoint:
    channel_id: str
    updated_after: datetime | None = None   # None: never polled
    next_token: str | None = None           # set while a pass is in progress
    pass_started_at: datetime | None = None
    pages: int = 0
    version: int = 0                        # 0: not stored yet
    last_pass_completed_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.next_token is not None

    def page_taken(self, updated_after: datetime, next_token: str, pass_started_at: datetime) -> SyncCheckpoint:
        """A page of the pass from `updated_after` is taken; the next one is at `next_token`."""
        return replace(self, updated_after=updated_after, next_token=next_token, pass_started_at=pass_started_at,
                       pages=self.pages + 1 if self.in_progress else 1)

    def pass_completed(self, updated_after: datetime, at: datetime) -> SyncCheckpoint:
        """The last page is taken: the next pass starts from `updated_after`."""
        return replace(self, updated_after=updated_after, next_token=None, pass_started_at=None, pages=0,
                       last_pass_completed_at=at)


class ChannelSyncRepository:
    def __init__(self, store: Store):
        self.store = store

    def checkpoint(self, channel_id: str) -> SyncCheckpoint:
        """The channel's checkpoint (an empty one, version 0, before its first save)."""
        item = self.store.get(checkpoint_pk(channel_id), CHECKPOINT_SK)
        if item is None:
            return SyncCheckpoint(channel_id)
        return SyncCheckpoint(
            channel_id=channel_id, updated_after=_moment(item.get("updated_after")),
            next_token=item.get("next_token") or None, pass_started_at=_moment(item.get("pass_started_at")),
            pages=int(item.get("pages", 0)), version=int(item["version"]),
            last_pass_completed_at=_moment(item.get("last_pass_completed_at")))

    def write(self, read: SyncCheckpoint, new: SyncCheckpoint, now: datetime) -> Put:
        """`new` in place of the checkpoint `read` (refused, StaleVersion, if it moved meanwhile)."""
        if new.channel_id != read.channel_id:
            raise ValueError("a checkpoint is saved over its own channel's")
        item: dict = {"pk": checkpoint_pk(new.channel_id), "sk": CHECKPOINT_SK, "channel_id": new.channel_id,
                      "version": read.version + 1, "pages": new.pages, "saved_at": now.isoformat()}
        optional = {"updated_after": new.updated_after, "next_token": new.next_token,
                    "pass_started_at": new.pass_started_at, "last_pass_completed_at": new.last_pass_completed_at}
        item.update({k: v.isoformat() if isinstance(v, datetime) else v for k, v in optional.items() if v is not None})
        return Put(item, when=NEW if read.version == 0 else eq("version", read.version),
                   refused=lambda _old: StaleVersion("channel_sync", new.channel_id))

    def save(self, read: SyncCheckpoint, new: SyncCheckpoint, now: datetime) -> SyncCheckpoint:
        """Write `new` over `read`; the checkpoint as saved, or CheckpointMoved."""
        try:
            self.store.write(self.write(read, new, now))
        except Refused:
            raise CheckpointMoved(new.channel_id) from None
        return replace(new, version=read.version + 1)


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None
