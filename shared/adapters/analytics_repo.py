"""Report aggregates, the orders' contributions to them, the live generation and FX rates. The only
module that knows their keys.

Access patterns (docs/data-model.md, "Reports"):
- a dimension's aggregates of one day: pk=AGG#<gen>#<dimension>#<yyyy-mm-dd>, sk=<value> (channel,
  country, location id or `-`, `<sku>#<location>`); attributes: the metrics (shared/domain/analytics.py)
- an order's contribution: pk=AGG#<gen>#order#<capture day>, sk=<order id>; attributes v (the order
  version it was computed from), cu (<channel>#<customer id>), rma (its returns), x (its cells, JSON).
  A day's contributions are also its customer aggregates (a customer rarely orders twice a day)
- which generation the reports read and the consumer writes: pk=ANALYTICS, sk=GENERATION (live;
  none: 1; built: rebuilds started, so a rebuild writes generation built + 1 and then makes it live)
- FX rates of a day into the base currency: pk=FX_RATES, sk=<yyyy-mm-dd> (rates: currency -> decimal string)

Invariant kept by conditions: an order's contribution is replaced only over the version it was
read at, in the same transaction as the deltas to the aggregates, so each change of an order is
added to the aggregates exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared.adapters.expressions import NEW, Changes, Item, KeyQuery, Missing, Patch, Put, SortRange, eq
from shared.domain.analytics import Contribution, Dimension, Metrics
from shared.unit_of_work import Outcome, Store

GENERATION_KEY = ("ANALYTICS", "GENERATION")
FX_PK = "FX_RATES"
ORDERS = "order"
GENERATION_TTL_S = 60  # a container reads the live generation at most once a minute
_NOT_METRICS = frozenset({"pk", "sk"})


def aggregate_pk(generation: int, dimension: Dimension | str, day: date) -> str:
    return f"AGG#{generation}#{dimension}#{day.isoformat()}"


def contribution_pk(generation: int, day: date) -> str:
    return aggregate_pk(generation, ORDERS, day)


def days(from_day: date, to_day: date) -> list[date]:
    return [from_day + timedelta(days=i) for i in range((to_day - from_day).days + 1)]


@dataclass(frozen=True)
class ContributionMoved(Outcome):
    """Another batch recorded a newer contribution of the order since it was read: read again."""

    order_id: str


@dataclass(frozen=True)
class GenerationMoved(Outcome):
    """The live generation is no longer the one read (another rebuild was activated)."""

    previous: int


@dataclass(frozen=True)
class StoredRates:
    day: date
    rates: dict[str, Decimal]  # currency -> units of the base currency per unit
    base: str
    updated_at: str
    updated_by: str


class AnalyticsRepository:
    def __init__(self, store: Store):
        self.store = store
        self._live: tuple[float, int] | None = None

    # -------------------------------------------------------------- generation

    def live_generation(self, fresh: bool = False) -> int:
        """The generation reports read and the consumer writes (cached a minute per container)."""
        now = time.monotonic()
        if fresh or self._live is None or now - self._live[0] > GENERATION_TTL_S:
            item = self.store.get(*GENERATION_KEY)
            self._live = (now, int(item.get("live", 1)) if item else 1)
        return self._live[1]

    def make_live(self, generation: int, previous: int) -> Patch:
        """Switch the reports to `generation`, over the generation read (refused: someone else switched)."""
        when = (Missing("live") | eq("live", 1)) if previous == 1 else eq("live", previous)
        return Patch(*GENERATION_KEY, Changes(set={"live": generation, "previous": previous}), when=when,
                     refused=lambda _old: GenerationMoved(previous))

    def next_generation(self) -> int:
        """A generation number no rebuild has used (2, 3, ...): claimed by one atomic counter."""
        item = self.store.write(Patch(*GENERATION_KEY, Changes(add={"built": 1})), return_new=True)
        return int(item["built"]) + 1 if item else 2

    # -------------------------------------------------------------- contributions

    def contributions(self, generation: int, keys: list[tuple[date, str]]) -> dict[str, Contribution]:
        """The recorded contributions of these (capture day, order id), by order id (absent: none yet)."""
        if not keys:
            return {}
        items = self.store.batch_get([(contribution_pk(generation, day), order_id) for day, order_id in keys])
        return {c.order_id: c for c in map(_contribution, items)}

    def record(self, generation: int, new: Contribution, previous: Contribution | None) -> Put:
        """The order's contribution as `new`, over `previous` (refused ContributionMoved otherwise)."""
        item: Item = {"pk": contribution_pk(generation, new.day), "sk": new.order_id, "v": new.version,
                      "rs": new.returns_stamp, "rev": previous.revision + 1 if previous else 1,
                      "cu": new.customer, "x": new.to_json()}
        if new.rma_ids:
            item["rma"] = list(new.rma_ids)
        return Put(item, when=NEW if previous is None else eq("rev", previous.revision),
                   refused=lambda _old: ContributionMoved(new.order_id))

    def day_contributions(self, generation: int, day: date) -> Iterator[Contribution]:
        yield from map(_contribution, self.store.query_all(KeyQuery(contribution_pk(generation, day))))

    # -------------------------------------------------------------- aggregates

    def add(self, generation: int, dimension: Dimension, day: date, value: str, metrics: Metrics) -> Patch:
        """Add `metrics` (some negative) to one aggregate, creating it when absent."""
        return Patch(aggregate_pk(generation, dimension, day), value, Changes(add=dict(sorted(metrics.items()))))

    def put_aggregate(self, generation: int, dimension: Dimension, day: date, value: str, metrics: Metrics) -> Put:
        """One aggregate written whole (a rebuild into a fresh generation)."""
        return Put({"pk": aggregate_pk(generation, dimension, day), "sk": value, **metrics})

    def day_aggregates(self, generation: int, dimension: Dimension, day: date) -> Iterator[tuple[str, Metrics]]:
        """Every value of `dimension` on `day` with its metrics (one query, paged)."""
        for item in self.store.query_all(KeyQuery(aggregate_pk(generation, dimension, day))):
            yield item["sk"], _metrics(item)

    def daily_units(self, sku: str, location_id: str, from_day: date, to_day: date,
                    generation: int | None = None) -> dict[date, int]:
        """Units of `sku` ordered on each day from `from_day` to `to_day` (inclusive, capture days,
        UTC) that `location_id` fulfils, every day of the range present (0 when none): the demand
        history a forecast reads. Units are those of the orders' current state: less cancelled units,
        and at the location the order's allocation names (`-`, UNALLOCATED, for units no location
        holds yet). One batch read per 100 days."""
        gen = generation if generation is not None else self.live_generation()
        wanted = days(from_day, to_day)
        found = self.store.batch_get([(aggregate_pk(gen, Dimension.SKU, day), f"{sku}#{location_id}")
                                      for day in wanted])
        units = {date.fromisoformat(item["pk"].rsplit("#", 1)[1]): int(item.get("u", 0)) for item in found}
        return {day: units.get(day, 0) for day in wanted}

    # -------------------------------------------------------------- FX rates

    def fx_rates(self, from_day: date, to_day: date) -> dict[date, dict[str, Decimal]]:
        query = KeyQuery(FX_PK, SortRange.between(from_day.isoformat(), to_day.isoformat()))
        return {date.fromisoformat(i["sk"]): _rates(i) for i in self.store.query_all(query, consistent=True)}

    def fx_rates_of(self, day: date) -> StoredRates | None:
        item = self.store.get(FX_PK, day.isoformat())
        if item is None:
            return None
        return StoredRates(day, _rates(item), item["base"], item["updated_at"], item["updated_by"])

    def put_fx_rates(self, day: date, rates: dict[str, Decimal], base: str, at: datetime, by: str) -> Put:
        """The day's rates, replaced whole (a correction replaces them; reports convert when read)."""
        return Put({"pk": FX_PK, "sk": day.isoformat(), "rates": {c: str(r) for c, r in sorted(rates.items())},
                    "base": base, "updated_at": at.isoformat(), "updated_by": by})


def _rates(item: Item) -> dict[str, Decimal]:
    return {c: Decimal(str(r)) for c, r in item.get("rates", {}).items()}


def _metrics(item: Item) -> Metrics:
    return {k: int(v) for k, v in item.items() if k not in _NOT_METRICS}


def _contribution(item: Item) -> Contribution:
    return Contribution(order_id=item["sk"], day=date.fromisoformat(item["pk"].rsplit("#", 1)[1]),
                        version=int(item["v"]), customer=item.get("cu", ""), rma_ids=tuple(item.get("rma", ())),
                        returns_stamp=int(item.get("rs", 0)), cells=Contribution.cells_from_json(item["x"]),
                        revision=int(item.get("rev", 0)))
