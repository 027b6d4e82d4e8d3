"""The stock feed's memory: the last available-to-sell figure sent to each channel for each SKU. Only
this module knows its keys.

Access patterns (docs/data-model.md):
- last figure sent to a channel for a SKU: pk=CHANNEL_STOCK#<channel id>, sk=<sku>
  (attributes figure, stamp, sent_at)

Invariant kept by conditions, not by reads: the stored stamp only grows, so a figure computed from an
older reading never replaces one from a later reading, whichever transaction commits last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.expressions import Changes, Item, Missing, Patch, Put, eq, lt
from shared.unit_of_work import Outcome, Store


def feed_pk(channel_id: str) -> str:
    return f"CHANNEL_STOCK#{channel_id}"


@dataclass(frozen=True)
class SentFigure:
    figure: int
    stamp: int
    sent_at: datetime


@dataclass(frozen=True)
class StaleFigure(Outcome):
    """A figure from a reading at least as late as this one was recorded already (a concurrent batch)."""

    channel_id: str
    sku: str


@dataclass(frozen=True)
class FigureChanged(Outcome):
    """The figure recorded is no longer the one read: decide again on a fresh read."""

    channel_id: str
    sku: str


class StockFeedRepository:
    def __init__(self, store: Store):
        self.store = store

    def last(self, channel_id: str, sku: str) -> SentFigure | None:
        item = self.store.get(feed_pk(channel_id), sku, consistent=True)
        return _sent(item) if item else None

    def last_for(self, sku: str, channel_ids: Iterable[str]) -> dict[str, SentFigure]:
        """The last figure sent for `sku` to each of the channels, in one batch read (channel id ->
        figure; a channel never told about the SKU is absent)."""
        keys = [(feed_pk(channel_id), sku) for channel_id in sorted(set(channel_ids))]
        if not keys:
            return {}
        return {item["pk"].removeprefix("CHANNEL_STOCK#"): _sent(item) for item in self.store.batch_get(keys)}

    def record(self, channel_id: str, sku: str, figure: int, stamp: int, now: datetime) -> Put:
        """The figure sent now: refused StaleFigure when a reading at least as late was recorded."""
        return Put({"pk": feed_pk(channel_id), "sk": sku, "figure": figure, "stamp": stamp,
                    "sent_at": now.isoformat()},
                   when=Missing("pk") | lt("stamp", stamp),
                   refused=lambda _old: StaleFigure(channel_id, sku))

    def advance(self, channel_id: str, sku: str, figure: int, stamp: int) -> Patch:
        """A later reading that gave the same figure: only the stamp moves (no event), so an older
        reading with another figure can no longer be recorded over it. Refused StaleFigure when a
        reading at least as late was recorded, FigureChanged when the figure is no longer `figure`."""
        def refused(old: Item | None) -> Outcome:
            if old is not None and int(old.get("figure", -1)) == figure:
                return StaleFigure(channel_id, sku)
            return FigureChanged(channel_id, sku)

        return Patch(feed_pk(channel_id), sku, Changes(set={"stamp": stamp}),
                     when=eq("figure", figure) & lt("stamp", stamp), refused=refused)


def _sent(item: Item) -> SentFigure:
    return SentFigure(figure=int(item["figure"]), stamp=int(item["stamp"]),
                      sent_at=datetime.fromisoformat(item["sent_at"]))
