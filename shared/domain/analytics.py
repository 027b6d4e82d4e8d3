"""What one order contributes to the report aggregates, computed from its current state.

Pure: an order and its returns in, a `Contribution` out. The analytics consumer keeps each order's
last contribution and writes `delta(old, new)` to the aggregates with it, in one transaction, so a
duplicate event gives a zero delta and events in any order converge on the same figures
(shared/services/analytics.py, docs/reports.md).

Rules, in order:
1. Everything an order contributes is counted on its capture day (UTC), whatever day it happened:
   a refund in May lowers the net revenue of the order's March day. Reports are cohorts of orders.
2. Cells: the whole order (one cell: its channel and destination country), each fulfilling
   location (the locations its current allocations name; `-` for units not allocated: waiting,
   backordered, or an order never allocated), and each SKU at each of those locations (`<sku>#<loc>`).
3. Units are the order's units less the line cancellations (0 for a cancelled or rejected order).
   Gross revenue is those units at their unit price (a SKU on several lines at its lines' average
   price); discounts are the order's discount pro rata to the value kept; shipping is not revenue.
   Refunds are the returns' refunds that are done, less the shipping refunded. Money is an integer
   number of ten-thousandths of the currency unit (an Amount has at most 4 decimals), per currency.
4. A location's or SKU cell's share of an amount is pro rata to its units' value (largest remainder,
   so the shares add up to the whole exactly). An order counts once in each location cell it has
   units in, and once per SKU at the location holding most of that SKU's units.
5. Fulfilment (the order's cell and location cells; a location `-` only when the order has no other):
   capture to allocation, to first shipment, to delivery in fixed hour buckets (BUCKETS_H); on time
   when delivered by `promised_by`; split when shipped in more than one parcel or from more than one
   location; backordered when it ever waited for stock; cancelled; rejected.
6. Returns: units requested back in returns that were not declined, by reason; their count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.domain.orders import Order
    from shared.domain.returns import Return

SCALE = 10_000  # money in aggregates: integer ten-thousandths of the currency unit
UNALLOCATED = "-"  # the location of units no location holds (never a location id: those start alphanumeric)
# Duration buckets, upper bounds in hours (bucket i holds (BUCKETS_H[i-1], BUCKETS_H[i]]); the last
# bucket is open. Percentiles interpolate inside a bucket; the open one is read as ending at OPEN_END_H.
BUCKETS_H = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 336)
OPEN_END_H = 720
DURATIONS = {"ha": "capture_to_allocation", "hs": "capture_to_shipment", "hd": "capture_to_delivery"}

Metrics = dict[str, int]


class Dimension(StrEnum):
    # The order's channel and destination country in one aggregate (value <channel>#<country>): one
    # item per order fewer in every transaction; a report by channel, by country or by day sums them.
    MARKET = "market"
    LOCATION = "location"
    SKU = "sku"  # value <sku>#<location>


@dataclass(frozen=True)
class Contribution:
    """What one order adds to the aggregates of its capture day, as computed from `version`."""

    order_id: str
    day: date
    version: int  # of the order it was computed from
    customer: str  # <channel>#<customer id>: customer ids are each channel's own
    rma_ids: tuple[str, ...] = ()
    returns_stamp: int = 0  # of the returns it was computed from (returns_stamp(); only grows)
    cells: dict[tuple[Dimension, str], Metrics] = field(default_factory=dict)
    revision: int = 0  # how many times it was recorded: the next record is conditioned on it

    def newer_than(self, other: Contribution) -> bool:
        """Computed from a later state of the order or its returns than `other`, older in neither."""
        return (self.version >= other.version and self.returns_stamp >= other.returns_stamp
                and (self.version, self.returns_stamp) != (other.version, other.returns_stamp))

    def order_metrics(self) -> Metrics:
        """The whole order's cell (its channel and country's)."""
        return next((m for (dim, _), m in self.cells.items() if dim is Dimension.MARKET), {})

    def to_json(self) -> str:
        return json.dumps({f"{dim.value}|{value}": metrics for (dim, value), metrics in sorted(self.cells.items())},
                          separators=(",", ":"), sort_keys=True)

    @staticmethod
    def cells_from_json(text: str) -> dict[tuple[Dimension, str], Metrics]:
        cells: dict[tuple[Dimension, str], Metrics] = {}
        for key, metrics in json.loads(text).items():
            dim, _, value = key.partition("|")
            cells[(Dimension(dim), value)] = {k: int(v) for k, v in metrics.items()}
        return cells


def capture_day(order: Order) -> date:
    return order.created_at.astimezone(UTC).date()


def returns_stamp(returns: Sequence[Return]) -> int:
    """Grows with every change of any of the returns (each save raises its version) and every new one."""
    return sum(ret.version + 1 for ret in returns)


def bucket(hours: float) -> int:
    return next((i for i, upper in enumerate(BUCKETS_H) if hours <= upper), len(BUCKETS_H))


def share(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """`total` split pro rata to `weights` in whole numbers that add up to it (largest remainder,
    ties by key); all to the first key by name when every weight is 0."""
    keys = sorted(weights)
    if not keys:
        return {}
    whole = sum(weights.values())
    if whole <= 0:
        return {k: (total if i == 0 else 0) for i, k in enumerate(keys)}
    parts = {k: total * weights[k] // whole for k in keys}
    rest = total - sum(parts.values())
    by_remainder = sorted(keys, key=lambda k: (-(total * weights[k] % whole), k))
    for k in by_remainder[:rest]:
        parts[k] += 1
    return parts


def _scaled(amount: Decimal) -> int:
    return int((amount * SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def _first(order: Order, statuses: Iterable[str]) -> datetime | None:
    wanted = set(statuses)
    return next((change.at for change in order.history if change.status.value in wanted), None)


def _hours(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0) / 3600


def _fulfilment(order: Order) -> Metrics:
    m: Metrics = {}
    status = order.status.value
    if status == "CANCELLED":
        m["nx"] = 1
    if status == "REJECTED":
        m["nj"] = 1
    if _first(order, ("BACKORDERED", "PARTIALLY_ALLOCATED")) is not None or order.backordered:
        m["nb"] = 1
    moments = {"ha": _first(order, ("ALLOCATED", "PARTIALLY_ALLOCATED")),
               "hs": _first(order, ("PARTIALLY_SHIPPED", "SHIPPED")),
               "hd": _first(order, ("DELIVERED",))}
    for prefix, at in moments.items():
        if at is not None:
            m["n" + prefix[1]] = 1  # na, ns, nd
            m[f"{prefix}{bucket(_hours(order.created_at, at))}"] = 1
    if moments["hs"] is not None and (len(order.shipment_ids) > 1 or len({a.location_id for a in order.allocations}) > 1):
        m["nsp"] = 1
    promised = order.request.promised_by
    if moments["hd"] is not None and promised is not None:
        m["np"] = 1
        if moments["hd"] <= promised:
            m["nt"] = 1
    return m


def _returns(returns: Sequence[Return], sku_of_line: Mapping[int, str]) -> dict[str, Metrics]:
    """Per SKU: units asked back (returns not declined), by reason, and the returns' count."""
    per_sku: dict[str, Metrics] = {}
    for ret in returns:
        if ret.status.value == "DECLINED":
            continue
        touched = set()
        for line in ret.lines:
            sku = sku_of_line.get(line.line, line.sku)
            m = per_sku.setdefault(sku, {})
            m["ru"] = m.get("ru", 0) + line.quantity
            reason = f"rr_{ret.reason.value}"
            m[reason] = m.get(reason, 0) + line.quantity
            touched.add(sku)
        for sku in touched:
            per_sku[sku]["rq"] = per_sku[sku].get("rq", 0) + 1
    return per_sku


def _refunds(returns: Sequence[Return], line_value: Mapping[int, tuple[str, int, Decimal]]) -> dict[str, int]:
    """Per SKU, the done refunds less their shipping, scaled; shared out by the refunded lines' value."""
    per_sku: dict[str, int] = {}
    for ret in returns:
        for refund in ret.refunds:
            if refund.state.value != "DONE":
                continue
            goods = _scaled(max(refund.amount - refund.shipping, Decimal(0)))
            weights: dict[str, int] = {}
            for line, units in refund.lines.items():
                sku, _, price = line_value.get(line, ("", 0, Decimal(0)))
                if sku:
                    weights[sku] = weights.get(sku, 0) + _scaled(price * units)
            for sku, part in share(goods, weights).items():
                per_sku[sku] = per_sku.get(sku, 0) + part
    return per_sku


def _add(into: Metrics, more: Mapping[str, int]) -> None:
    for k, v in more.items():
        if v:
            into[k] = into.get(k, 0) + v


def contribution(order: Order, returns: Sequence[Return] = ()) -> Contribution:
    """What `order` (with its `returns`) contributes now: its cells and their metrics (rules above)."""
    req = order.request
    cur = req.currency
    kept_lines = {ln.sku: ln.quantity for ln in order.remaining_lines_of_request()} \
        if order.status.value not in ("CANCELLED", "REJECTED") else {}
    value: dict[str, Decimal] = {}
    count: dict[str, int] = {}
    for ln in req.lines:
        value[ln.sku] = value.get(ln.sku, Decimal(0)) + ln.unit_price * ln.quantity
        count[ln.sku] = count.get(ln.sku, 0) + ln.quantity
    kept_value = {sku: _scaled(value[sku] * q / count[sku]) for sku, q in kept_lines.items()}
    full, kept_total = sum(value.values(), Decimal(0)), sum(kept_value.values())
    discount = _scaled(req.discount_total * Decimal(kept_total) / SCALE / full) if full > 0 else 0
    discount = min(discount, kept_total)
    discount_by_sku = share(discount, kept_value)
    line_value = {i: (ln.sku, ln.quantity, value[ln.sku] / count[ln.sku]) for i, ln in enumerate(req.lines)}
    refund_by_sku = _refunds(returns, line_value)
    returns_by_sku = _returns(returns, {i: ln.sku for i, ln in enumerate(req.lines)})

    # Where each SKU's kept units are: its allocations, the rest not allocated.
    at: dict[str, dict[str, int]] = {}
    for a in order.allocations:
        if a.sku in kept_lines:
            at.setdefault(a.sku, {})[a.location_id] = at.get(a.sku, {}).get(a.location_id, 0) + a.quantity
    skus = sorted(set(count))
    sku_cells: dict[str, Metrics] = {}
    for sku in skus:
        kept = kept_lines.get(sku, 0)
        places = {loc: min(q, kept) for loc, q in at.get(sku, {}).items()}
        rest = kept - sum(places.values())
        if rest > 0 or not places:
            places[UNALLOCATED] = places.get(UNALLOCATED, 0) + max(rest, 0)
        weights = {loc: q for loc, q in places.items()}
        primary = min(places, key=lambda loc: (-places[loc], loc))
        money = {f"g_{cur}": share(kept_value.get(sku, 0), weights), f"d_{cur}": share(discount_by_sku.get(sku, 0), weights),
                 f"r_{cur}": share(refund_by_sku.get(sku, 0), weights)}
        returned = returns_by_sku.get(sku, {})
        returned_at = {name: share(n, weights) for name, n in returned.items() if name != "rq"}
        for loc, units in places.items():
            m: Metrics = {"u": units}
            if loc == primary:
                m["n"] = 1
                m["k"] = 1 if kept > 0 else 0
                m["rq"] = returned.get("rq", 0)
            for name, parts in (*money.items(), *returned_at.items()):
                m[name] = parts[loc]
            sku_cells[f"{sku}#{loc}"] = {k: v for k, v in m.items() if v}

    fulfilment = _fulfilment(order)
    asked_back = [ret for ret in returns if ret.status.value != "DECLINED"]
    whole: Metrics = {"n": 1, "k": 1 if kept_lines else 0, "rq": len(asked_back)}
    by_location: dict[str, Metrics] = {}
    for key, m in sku_cells.items():
        _, loc = key.split("#", 1)
        cell = by_location.setdefault(loc, {"n": 1})
        _add(cell, {k: v for k, v in m.items() if k not in ("n", "k", "rq")})
        _add(whole, {k: v for k, v in m.items() if k not in ("n", "k", "rq")})
    for loc, cell in by_location.items():
        cell["k"] = 1 if cell.get("u", 0) > 0 else 0
        held = {key.split("#", 1)[0] for key in sku_cells if key.split("#", 1)[1] == loc}
        cell["rq"] = sum(1 for ret in asked_back if held & {ln.sku for ln in ret.lines})
        if loc != UNALLOCATED or len(by_location) == 1:  # the order's times are its locations', `-` only alone
            _add(cell, fulfilment)
    _add(whole, fulfilment)
    whole = {k: v for k, v in whole.items() if v}
    cells: dict[tuple[Dimension, str], Metrics] = {
        (Dimension.MARKET, f"{order.channel}#{req.shipping_address.country}"): whole,
    }
    cells.update({(Dimension.LOCATION, loc): {k: v for k, v in m.items() if v} for loc, m in by_location.items()})
    cells.update({(Dimension.SKU, key): m for key, m in sku_cells.items()})
    return Contribution(order_id=order.order_id, day=capture_day(order), version=order.version,
                        customer=f"{order.channel}#{req.customer.id}", rma_ids=tuple(sorted(r.rma_id for r in returns)),
                        returns_stamp=returns_stamp(returns), cells=cells)


def delta(old: Contribution | None, new: Contribution) -> dict[tuple[Dimension, str], Metrics]:
    """What to add to each aggregate so it holds `new` instead of `old`: only the cells and metrics
    that changed (an unchanged order gives nothing)."""
    before = old.cells if old is not None else {}
    out: dict[tuple[Dimension, str], Metrics] = {}
    for key in set(before) | set(new.cells):
        a, b = before.get(key, {}), new.cells.get(key, {})
        diff = {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b)}
        diff = {k: v for k, v in diff.items() if v}
        if diff:
            out[key] = diff
    return out


def merge(into: dict[tuple[Dimension, str], Metrics], more: Mapping[tuple[Dimension, str], Metrics]) -> None:
    for key, metrics in more.items():
        cell = into.setdefault(key, {})
        for k, v in metrics.items():
            cell[k] = cell.get(k, 0) + v
            if cell[k] == 0:
                del cell[k]
        if not cell:
            del into[key]
