"""A strategy's filters: each removes locations, in the strategy's order, and says what it removed.

Each filter answers the locations it keeps, the ones it removes with the reason (recorded in the
decision's `excluded`), and one line for the decision's reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from shared.domain.routing_plans import Site
from shared.domain.routing_strategy import (
    AllowLocations,
    DenyLocations,
    LocationTypes,
    MaxDistance,
    MeetsPromise,
)
from shared.domain.routing_types import RoutingRequest

Removed = list[tuple[Site, str]]
Outcome = tuple[list[Site], Removed, str]
MAX_NAMED = 5  # locations named in a filter's reason line; the rest are counted


def apply_filters(criteria: Sequence[object], sites: list[Site], request: RoutingRequest, now: datetime | None,
                  excluded: dict[str, str]) -> tuple[list[Site], list[str]]:
    """The sites every filter keeps, and one reason per filter; removed sites go to `excluded`."""
    reasons: list[str] = []
    for criterion in criteria:
        sites, removed, line = _FILTERS[type(criterion)](criterion, sites, request, now)
        for site, why in removed:
            excluded[site.location_id] = why
        reasons.append(line)
    return sites, reasons


def _names(removed: Removed, detail: Callable[[Site], str] | None = None) -> str:
    if not removed:
        return "removed none"
    named = [s.location_id + (f" ({detail(s)})" if detail else "") for s, _ in removed[:MAX_NAMED]]
    more = f" and {len(removed) - MAX_NAMED} more" if len(removed) > MAX_NAMED else ""
    return "removed " + ", ".join(named) + more


def _split(sites: list[Site], why_not: Callable[[Site], str | None]) -> tuple[list[Site], Removed]:
    kept: list[Site] = []
    removed: Removed = []
    for s in sites:
        why = why_not(s)
        if why is None:
            kept.append(s)
        else:
            removed.append((s, why))
    return kept, removed


def _location_types(f: LocationTypes, sites: list[Site], request: RoutingRequest, now: datetime | None) -> Outcome:
    allowed = [t.value for t in f.allowed]
    kept, removed = _split(sites, lambda s: None if s.candidate.location_type in allowed else
                           f"location_types: a {s.candidate.location_type}, not one the strategy allows")
    return kept, removed, f"location_types ({', '.join(allowed)}): {_names(removed)}"


def _allow(f: AllowLocations, sites: list[Site], request: RoutingRequest, now: datetime | None) -> Outcome:
    allowed = set(f.location_ids)
    kept, removed = _split(sites, lambda s: None if s.location_id in allowed else
                           "allow_locations: not in the strategy's list")
    return kept, removed, f"allow_locations: {_names(removed)}"


def _deny(f: DenyLocations, sites: list[Site], request: RoutingRequest, now: datetime | None) -> Outcome:
    denied = set(f.location_ids)
    kept, removed = _split(sites, lambda s: "deny_locations: on the strategy's list" if s.location_id in denied
                           else None)
    return kept, removed, f"deny_locations: {_names(removed)}"


def _max_distance(f: MaxDistance, sites: list[Site], request: RoutingRequest, now: datetime | None) -> Outcome:
    def why_not(s: Site) -> str | None:
        if s.distance is None or s.distance <= f.km:
            return None
        return f"max_distance: {s.distance:,.0f} km from the destination, over {f.km:,} km"

    kept, removed = _split(sites, why_not)
    line = f"max_distance {f.km:,} km: {_names(removed, lambda s: f'{s.distance:,.0f} km')}"
    unknown = [s.location_id for s in kept if s.distance is None]
    if unknown:
        line += f"; kept {', '.join(unknown[:MAX_NAMED])}{' and more' if len(unknown) > MAX_NAMED else ''} " \
                "(distance unknown: no coordinates)"
    return kept, removed, line


def _meets_promise(f: MeetsPromise, sites: list[Site], request: RoutingRequest, now: datetime | None) -> Outcome:
    if request.promised_by is None:
        return sites, [], "meets_promise: the order has no promised_by; removed none"
    promised = promised_day(request.promised_by)

    def why_not(s: Site) -> str | None:
        if s.delivery is None:
            cause = "no routing time given" if now is None else f"no transit days for zone {s.zone}"
            return f"meets_promise: cannot promise ({cause})"
        if s.delivery > promised:
            return f"meets_promise: estimated delivery {s.delivery} is after the promised {promised}"
        return None

    kept, removed = _split(sites, why_not)
    return kept, removed, f"meets_promise (by {promised}): {_names(removed, _delivery)}"


def _delivery(s: Site) -> str:
    return f"delivery {s.delivery}" if s.delivery else "cannot promise"


def promised_day(promised_by: datetime) -> date:
    """The day the customer was promised: `promised_by`'s date in its own offset, as the channel wrote it
    (2026-03-04T23:30:00-05:00 is the 4th, though it is the 5th in UTC). A naive time is UTC."""
    return promised_by.date()


_FILTERS: dict[type, Callable[..., Outcome]] = {
    LocationTypes: _location_types,
    AllowLocations: _allow,
    DenyLocations: _deny,
    MaxDistance: _max_distance,
    MeetsPromise: _meets_promise,
}
