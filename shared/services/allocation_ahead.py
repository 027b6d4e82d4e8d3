"""What a batch of allocations reads once (issue 15): the batch's orders in one BatchGetItem, then the
stock levels of every SKU they still need at every location, with the locations' orders today, in
another (each level once, however many orders want it). `allocate_order` plans each order on
them in turn instead of reading its own.

The batch's picture is kept current by the batch's own writes: an order's committed reservation is
applied to the levels the next orders see (counts and versions, as the writes left them), and a
committed order replaces its copy, so a second record of it in the batch finds it allocated. What
others write meanwhile is not seen: the writes' conditions (the order's version, `available >= q`,
the versions an order's events depend on) refuse a plan made on a stale picture, and the refused
order reads afresh and plans again, as it always did; its fresh read then updates the picture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.domain.orders import Order, OrderStatus
from shared.domain.stock import StockLevel
from shared.repositories import Repositories

Pair = tuple[str, str]  # (SKU, location)


@dataclass
class Ahead:
    # Every order id read, with the order as last committed (None: no such order). An order is taken
    # out while an allocation uses it, and put back only once that allocation's writes committed.
    orders: dict[str, Order | None]
    day: date
    skus: frozenset[str] = frozenset()  # the SKUs whose levels were read at every location
    levels: dict[Pair, StockLevel] = field(default_factory=dict)
    used_today: dict[str, int] = field(default_factory=dict)  # orders taken today per location

    def take(self, order_id: str) -> tuple[bool, Order | None]:
        """(whether the batch read the order, the order as read): a second try reads it again."""
        if order_id not in self.orders:
            return False, None
        return True, self.orders.pop(order_id)

    def committed(self, order_id: str, order: Order | None) -> None:
        self.orders[order_id] = order

    def stock(self, skus: set[str], location_ids: list[str], day: date
              ) -> tuple[dict[Pair, StockLevel], dict[str, int]] | None:
        """The levels of these SKUs at these locations and the locations' orders today, as
        `StockRepository.snapshot` answers them; None when the batch did not read them all."""
        if day != self.day or not skus <= self.skus:
            return None
        places = set(location_ids)
        levels = {pair: lv for pair, lv in self.levels.items() if pair[0] in skus and pair[1] in places}
        return levels, {loc: n for loc, n in self.used_today.items() if loc in places}

    def saw(self, levels: dict[Pair, StockLevel], used_today: dict[str, int], day: date) -> None:
        """A fresh read (an order's retry): newer than the batch's, so what the next orders see."""
        if day == self.day:
            self.levels.update(levels)
            self.used_today.update(used_today)

    def reserved(self, levels: dict[Pair, StockLevel], counted: Iterable[str]) -> None:
        """An order's reservation committed: the levels as it left them, one more order today at
        each capacity-limited location it newly took."""
        self.levels.update(levels)
        for loc in counted:
            self.used_today[loc] = self.used_today.get(loc, 0) + 1


def read_ahead(order_ids: Iterable[str], repos: Repositories, now: datetime) -> Ahead:
    """The batch's orders in one BatchGetItem; then, if any still needs stock, the levels of the
    SKUs they need at every location and each location's orders today in another."""
    ids = list(dict.fromkeys(order_ids))
    found = {o.order_id: o for o in repos.orders.many(ids)} if ids else {}
    ahead = Ahead(orders={i: found.get(i) for i in ids}, day=now.date())
    wanting = [o for o in found.values() if o.status == OrderStatus.RECEIVED or o.awaits_stock]
    skus = {ln.sku for o in wanting for ln in o.remaining_lines()}
    if skus:
        locations = [loc.location_id for loc in repos.locations.all_cached()]
        ahead.levels, ahead.used_today = repos.stock.snapshot(skus, locations, ahead.day)
        ahead.skus = frozenset(skus)
    return ahead
