"""The plans routing chooses between, how a strategy's rankings order them, and the search for the best.

A plan is a set of locations and the fill of each line from them, taken in the locations' rank order
(the order of single locations under the strategy's rankings). Rankings compare whole plans, the first
ranking first, then a deterministic tie-break: fewer parcels, then the better-ranked locations.

Every ranking's value can only stay or grow when a parcel is added to a plan (sums of non-negative
figures, counts, maxima), so a part-built plan's key is a lower bound of every plan built from it:
the search drops a branch as soon as its key reaches the runner-up's (the runner-up is kept so that
the reasons can say what the winner beat).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

from shared.domain.money import quantum
from shared.domain.routing_estimates import Estimator
from shared.domain.routing_strategy import Ranking
from shared.domain.routing_types import Candidate, PlanEstimate

# Exhaustive search over location subsets is exact but combinatorial; past this many subsets (or search
# steps) we fall back to a greedy cover (merchants with dozens of locations), which is still never wrong
# about stock, only possibly one parcel more than optimal.
MAX_SUBSETS_EXAMINED = 20_000


@dataclass(slots=True)
class Site:
    """An eligible location as the search sees it, its figures computed once per order."""

    candidate: Candidate
    distance: float | None  # great-circle km to the destination
    zone: str
    delivery: date | None  # estimated delivery of a parcel from here
    share: float  # share of today's order capacity used after taking this order (0: no limit)
    available: tuple[int, ...] = ()  # units available of each line
    index: int = 0  # rank position
    solo: Parcel | None = None  # the whole order from here (how the site is ranked)
    solo_values: tuple = ()

    @property
    def location_id(self) -> str:
        return self.candidate.location_id


@dataclass(slots=True)
class Parcel:
    site: Site
    takes: tuple[int, ...]  # units of each line
    # Computed only when a ranking (or the estimate) needs them:
    figured: bool = False
    rate: Decimal | None = None  # shipping rate for the zone and weight
    co2e_kg: float | None = None


Plan = tuple[Parcel, ...]


def _nearest(plan: Plan) -> tuple[int, float]:
    unknown, km = 0, 0.0
    for p in plan:
        if p.site.distance is None:
            unknown += 1
        else:
            km += p.site.distance
    return unknown, km


def _cost(plan: Plan) -> tuple[int, Decimal]:
    unknown, total = 0, Decimal(0)
    for p in plan:
        total += p.site.candidate.handling_cost
        rate = p.rate
        if rate is None:
            unknown += 1
        else:
            total += rate
    return unknown, total


def _fastest(plan: Plan) -> tuple[int, int]:
    unknown, latest = 0, 0
    for p in plan:
        if p.site.delivery is None:
            unknown += 1
        else:
            latest = max(latest, p.site.delivery.toordinal())
    return unknown, latest


def _emissions(plan: Plan) -> tuple[int, float]:
    unknown, kg = 0, 0.0
    for p in plan:
        co2e = p.co2e_kg
        if co2e is None:
            unknown += 1
        else:
            kg += co2e
    return unknown, kg


# Unknown figures rank after known ones: the count of parcels without the figure comes first.
KEYS: dict[Ranking, Callable[[Plan], object]] = {
    Ranking.FEWEST_PARCELS: len,
    Ranking.NEAREST: _nearest,
    Ranking.LOWEST_COST: _cost,
    Ranking.LOWEST_HANDLING_COST: lambda plan: sum((p.site.candidate.handling_cost for p in plan), Decimal(0)),
    Ranking.FASTEST: _fastest,
    Ranking.PRIORITY: lambda plan: sum(p.site.candidate.priority for p in plan),
    Ranking.BALANCE_LOAD: lambda plan: max((p.site.share for p in plan), default=0.0),
    Ranking.LOWEST_EMISSIONS: _emissions,
}
NEEDS_FIGURES = frozenset({Ranking.LOWEST_COST, Ranking.LOWEST_EMISSIONS})


class Keyer:
    """Builds parcels and the key a strategy's rankings order plans by (smaller is better)."""

    def __init__(self, rankings: Sequence[Ranking], estimator: Estimator, unit_weights_mg: Sequence[int]) -> None:
        self.rankings = tuple(rankings)
        self._fns = [KEYS[r] for r in self.rankings]
        self._estimator = estimator
        self._unit_weights = tuple(unit_weights_mg)
        self._figures = bool(NEEDS_FIGURES & set(self.rankings))
        self.currency = estimator.currency

    def figure(self, parcel: Parcel) -> Parcel:
        if not parcel.figured:
            site = parcel.site
            weight = 0
            for t, w in zip(parcel.takes, self._unit_weights, strict=True):
                weight += t * w
            parcel.rate = self._estimator.rate(site.zone, weight)
            parcel.co2e_kg = self._estimator.co2e_kg(site.candidate.transport_mode, site.distance, weight)
            parcel.figured = True
        return parcel

    def parcel(self, site: Site, takes: tuple[int, ...]) -> Parcel:
        parcel = Parcel(site, takes)
        return self.figure(parcel) if self._figures else parcel

    def values(self, plan: Plan) -> tuple:
        return tuple([fn(plan) for fn in self._fns])

    def key(self, plan: Plan) -> tuple:
        return (*self.values(plan), (len(plan), tuple(sorted([p.site.index for p in plan]))))

    def rank(self, sites: list[Site], need: tuple[int, ...]) -> list[Site]:
        """Single locations in the strategy's order, as if each shipped the whole order (then by id)."""
        for s in sites:
            s.solo = self.parcel(s, need)
            s.solo_values = self.values((s.solo,))
        ranked = sorted(sites, key=lambda s: (s.solo_values, s.location_id))
        for i, s in enumerate(ranked):
            s.index = i
        return ranked


class Podium:
    """The best plan and the runner-up seen so far."""

    def __init__(self) -> None:
        self.best: tuple[tuple, Plan] | None = None
        self.second: tuple[tuple, Plan] | None = None

    def offer(self, key: tuple, plan: Plan) -> None:
        if (self.best is not None and key == self.best[0]) or (self.second is not None and key == self.second[0]):
            return  # the same plan again (the greedy fallback may find one the search found)
        if self.best is None or key < self.best[0]:
            self.best, self.second = (key, plan), self.best
        elif self.second is None or key < self.second[0]:
            self.second = (key, plan)

    def beaten(self, key: tuple) -> bool:
        """Whether a part-built plan with this key cannot reach the podium."""
        return self.second is not None and key >= self.second[0]


@dataclass(frozen=True)
class SearchResult:
    best: Plan | None
    runner_up: Plan | None
    greedy: bool = False  # the exhaustive search was cut short by MAX_SUBSETS_EXAMINED


def fill(sites: Sequence[Site], need: Sequence[int], keyer: Keyer) -> tuple[Plan, tuple[int, ...]]:
    """Take each line from the sites in their order; the parcels and what is left unfilled."""
    left = list(need)
    plan: list[Parcel] = []
    for s in sites:
        takes = tuple(min(q, a) for q, a in zip(left, s.available, strict=True))
        if any(takes):
            plan.append(keyer.parcel(s, takes))
            left = [q - t for q, t in zip(left, takes, strict=True)]
    return tuple(plan), tuple(left)


def search(sites: Sequence[Site], need: tuple[int, ...], keyer: Keyer, split: bool) -> SearchResult:
    """The best complete plan (and the runner-up) under the keyer's rankings, or None."""
    podium = Podium()
    for s in sites:
        if s.solo is not None and all(a >= q for a, q in zip(s.available, need, strict=True)):
            podium.offer((*s.solo_values, (1, (s.index,))), (s.solo,))
    fewest_first = keyer.rankings[:1] == (Ranking.FEWEST_PARCELS,)
    if (podium.best is None or not fewest_first) and split and _covers(sites, need):
        if fewest_first:
            return _by_size(sites, need, keyer)
        exhausted = _branch_and_bound(sites, need, keyer, podium)
        if exhausted:
            greedy, _ = fill(greedy_cover(sites, need), need, keyer)
            podium.offer(keyer.key(greedy), greedy)
            return _result(podium, greedy=True)
    return _result(podium)


def _result(podium: Podium, greedy: bool = False) -> SearchResult:
    return SearchResult(podium.best[1] if podium.best else None, podium.second[1] if podium.second else None, greedy)


def _covers(sites: Sequence[Site], need: Sequence[int]) -> bool:
    return all(sum(s.available[j] for s in sites) >= q for j, q in enumerate(need))


def _by_size(sites: Sequence[Site], need: tuple[int, ...], keyer: Keyer) -> SearchResult:
    """Fewest parcels first: the smallest number of locations that covers, best of that size."""
    podium = Podium()
    examined = 0
    for k in range(2, len(sites) + 1):
        for subset in combinations(sites, k):
            examined += 1
            if examined > MAX_SUBSETS_EXAMINED:
                greedy, _ = fill(greedy_cover(sites, need), need, keyer)
                return SearchResult(greedy, None, greedy=True)
            if _covers(subset, need):
                plan, _ = fill(subset, need, keyer)
                podium.offer(keyer.key(plan), plan)
        if podium.best is not None:
            return _result(podium)
    return _result(podium)  # unreachable: every site together covers


def _branch_and_bound(sites: Sequence[Site], need: tuple[int, ...], keyer: Keyer, podium: Podium) -> bool:
    """Every plan of two or more locations each of which contributes, best first (depth first in rank
    order), dropping branches that cannot beat the runner-up. True when cut short by the cap."""
    n = len(sites)
    suffix = [tuple(0 for _ in need)] * (n + 1)  # units available from site i on
    for i in range(n - 1, -1, -1):
        suffix[i] = tuple(a + b for a, b in zip(sites[i].available, suffix[i + 1], strict=True))
    # Bit j set: the site holds some of line j (a site contributes to a branch missing any of those).
    holds = [sum(1 << j for j, a in enumerate(s.available) if a) for s in sites]
    alone = [all(a >= q for a, q in zip(s.available, need, strict=True)) for s in sites]  # offered as singles
    examined = 0
    stack: list[list] = [[0, need, (), sum(1 << j for j, q in enumerate(need) if q), None]]
    while stack:
        frame = stack[-1]
        i, left, plan, missing, key = frame
        while i < n and not (holds[i] & missing and (plan or not alone[i])):
            i += 1
        if i >= n or any(s < q for s, q in zip(suffix[i], left, strict=True)) or (key and podium.beaten(key)):
            stack.pop()
            continue
        frame[0] = i + 1
        examined += 1
        if examined > MAX_SUBSETS_EXAMINED:
            return True
        site = sites[i]
        takes = tuple(min(q, a) for q, a in zip(left, site.available, strict=True))
        grown = (*plan, keyer.parcel(site, takes))
        rest = tuple(q - t for q, t in zip(left, takes, strict=True))
        grown_key = keyer.key(grown)
        if not any(rest):
            podium.offer(grown_key, grown)
        elif not podium.beaten(grown_key):
            stack.append([i + 1, rest, grown, sum(1 << j for j, q in enumerate(rest) if q), grown_key])
    return False


def greedy_cover(sites: Sequence[Site], need: Sequence[int]) -> list[Site]:
    """Repeatedly take the location that fills the most still-missing units (rank breaks ties)."""
    left = list(need)
    chosen: list[Site] = []
    remaining = list(sites)
    while any(left) and remaining:
        gains = {s.index: _gain(left, s) for s in remaining}
        best = max(remaining, key=lambda s: (gains[s.index], -s.index))
        if gains[best.index] == 0:
            break
        chosen.append(best)
        remaining.remove(best)
        left = [q - min(q, a) for q, a in zip(left, best.available, strict=True)]
    return chosen


def best_single(sites: Sequence[Site], need: Sequence[int]) -> Site:
    """The location that can fill the most units (rank breaks ties)."""
    return max(sites, key=lambda s: (_gain(need, s), -s.index))


def _gain(need: Sequence[int], site: Site) -> int:
    return sum(min(q, a) for q, a in zip(need, site.available, strict=True))


def estimate(plan: Plan, keyer: Keyer) -> PlanEstimate:
    """The plan's estimated distance, cost, CO2e and last delivery (None where data is missing)."""
    figured = [keyer.figure(p) for p in plan]
    distances = [p.site.distance for p in plan]
    rates = [p.rate for p in figured]
    co2e = [p.co2e_kg for p in figured]
    deliveries = [p.site.delivery for p in plan]
    cost = None
    if all(r is not None for r in rates):
        total = sum((p.site.candidate.handling_cost for p in plan), Decimal(0)) + sum(r for r in rates if r)
        cost = total.quantize(quantum(keyer.currency), ROUND_HALF_UP)
    return PlanEstimate(
        parcels=len(plan),
        distance_km=None if any(d is None for d in distances) else round(sum(d for d in distances if d), 1),
        cost=cost,
        currency=None if cost is None else keyer.currency,
        co2e_kg=None if any(c is None for c in co2e) else Decimal(f"{sum(c for c in co2e if c):.3f}"),
        delivery_by=None if any(d is None for d in deliveries) else max(d for d in deliveries if d),
    )
