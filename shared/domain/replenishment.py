"""Reorder points, order suggestions and the low-stock crossing, per SKU and location. Pure.

Rules (docs/replenishment.md has a worked example):
1. Demand over the lead time L (the supplier's days): the forecast's days 1..L summed.
2. Safety stock: z * sigma * sqrt(L), z the standard normal quantile of the supplier's service level
   (statistics.NormalDist), sigma the forecast's one-step error: daily errors taken as independent.
3. Reorder point: demand over the lead time plus safety stock, rounded up to whole units.
4. Low: available at or below a reorder point of at least one unit (a SKU that does not sell has
   reorder point 0 and is never low). StockLow is published when a pair becomes low, once: the
   stored `low` flag is set with a conditional write, and cleared (re-armed) once available is above
   the reorder point again.
5. Suggestion: when the inventory position (available plus what open purchase orders still bring)
   is at or below the reorder point, order up to the reorder point plus the demand of one order
   cycle (the supplier's days between orders; at least one unit), at least the supplier's minimum,
   rounded up to its order multiple. Days of cover: available divided by the mean daily demand over the lead time.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from statistics import NormalDist

from pydantic import ConfigDict

from shared.domain.base import DeferredModel
from shared.domain.forecast import Forecast
from shared.domain.purchasing import Supplier


class ReorderPoint(DeferredModel):
    model_config = ConfigDict(frozen=True)
    supplier_id: str
    lead_time_days: int
    service_level: float
    z: float
    daily_demand: float  # mean over the lead time
    demand_over_lead_time: float
    safety_units: float  # z * sigma * sqrt(L): the statistical safety stock (not the level's safety_stock)
    reorder_point: int
    reasons: tuple[str, ...] = ()


def z_for(service_level: float) -> float:
    """The standard normal quantile: 0.95 -> 1.645."""
    return NormalDist().inv_cdf(service_level)


def reorder_point(forecast: Forecast, supplier: Supplier) -> ReorderPoint:
    lead = supplier.lead_time_days
    z = z_for(supplier.service_level)
    demand = forecast.demand(lead)
    safety = max(0.0, z) * forecast.sigma * math.sqrt(lead)
    # A hair below a whole number is that number (float sums): 180.0000000001 must not order 181.
    point = max(0, math.ceil(demand + safety - 1e-9))
    reasons = (f"lead time {lead} days ({supplier.supplier_id}): demand {demand:.1f} units",
               f"safety stock {safety:.1f} = z {z:.3f} (service level {supplier.service_level}) x sigma "
               f"{forecast.sigma:.2f} x sqrt({lead})",
               f"reorder point {point} = {demand:.1f} + {safety:.1f}, rounded up")
    return ReorderPoint(supplier_id=supplier.supplier_id, lead_time_days=lead, service_level=supplier.service_level,
                        z=z, daily_demand=demand / lead, demand_over_lead_time=demand, safety_units=safety,
                        reorder_point=point, reasons=reasons)


def is_low(available: int, point: ReorderPoint | None) -> bool:
    return point is not None and point.reorder_point >= 1 and available <= point.reorder_point


class LowChange(StrEnum):
    FELL = "fell"  # crossed to at or below the reorder point: StockLow, once
    RECOVERED = "recovered"  # above it again: re-armed


def low_change(was_low: bool, available: int, point: ReorderPoint | None) -> LowChange | None:
    low = is_low(available, point)
    if low and not was_low:
        return LowChange.FELL
    if was_low and not low:
        return LowChange.RECOVERED
    return None


def days_of_cover(available: int, point: ReorderPoint | None, forecast: Forecast | None) -> float | None:
    """Days the available units last at the forecast's pace; None when nothing is expected to sell."""
    rate = point.daily_demand if point is not None else forecast.day(1) if forecast is not None else 0.0
    if rate <= 0:
        return None
    return round(max(0, available) / rate, 1)


class Suggestion(DeferredModel):
    sku: str
    location_id: str
    supplier_id: str | None
    available: int
    on_order: int
    position: int  # available + on order
    days_of_cover: float | None
    reorder_point: int | None
    order_up_to: int | None
    quantity: int  # 0: nothing to order now
    low: bool  # available at or below the reorder point
    reasons: list[str]
    forecast: Forecast | None
    reorder: ReorderPoint | None
    computed_on: date | None


def suggest(sku: str, location_id: str, available: int, on_order: int, forecast: Forecast | None,
            supplier: Supplier | None) -> Suggestion:
    """What to order of `sku` for `location_id` now, and why (rules 3-5 above)."""
    point = reorder_point(forecast, supplier) if forecast is not None and supplier is not None else None
    position = available + on_order
    reasons: list[str] = []
    quantity, order_up_to = 0, None
    if forecast is None:
        reasons.append("no forecast yet: the scheduled run computes one (hourly)")
    elif supplier is None:
        reasons.append("no active supplier supplies this SKU: PUT /suppliers/{id} with it in skus")
    if point is not None:
        reasons += point.reasons
        # At least one unit above the reorder point, or an order would leave the position where it was.
        cycle = max(1, math.ceil(point.daily_demand * supplier.order_cycle_days - 1e-9)) if supplier else 1
        order_up_to = point.reorder_point + cycle
        if point.reorder_point < 1:
            reasons.append("no demand expected over the lead time: nothing to order")
        elif position > point.reorder_point:
            reasons.append(f"position {position} (available {available} + on order {on_order}) is above the reorder "
                           f"point {point.reorder_point}: nothing to order yet")
        else:
            assert supplier is not None
            quantity = _orderable(order_up_to - position, supplier)
            reasons.append(f"position {position} (available {available} + on order {on_order}) is at or below the "
                           f"reorder point {point.reorder_point}: order up to {order_up_to} (reorder point + "
                           f"{supplier.order_cycle_days} days of demand) = {order_up_to - position}, "
                           f"at least {supplier.min_order_quantity}, in multiples of {supplier.order_multiple}: "
                           f"{quantity}")
    return Suggestion(sku=sku, location_id=location_id, supplier_id=supplier.supplier_id if supplier else None,
                      available=available, on_order=on_order, position=position,
                      days_of_cover=days_of_cover(available, point, forecast),
                      reorder_point=point.reorder_point if point else None, order_up_to=order_up_to,
                      quantity=quantity, low=is_low(available, point), reasons=reasons, forecast=forecast,
                      reorder=point, computed_on=forecast.computed_on if forecast else None)


def _orderable(wanted: int, supplier: Supplier) -> int:
    quantity = max(wanted, supplier.min_order_quantity, 1)
    return math.ceil(quantity / supplier.order_multiple) * supplier.order_multiple
