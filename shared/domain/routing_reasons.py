"""The reasons a decision gives for its rankings: one line per ranking, saying which one decided
between the chosen plan and the runner-up, with both figures, e.g.
`lowest_emissions: WH-DE-BER 0.42 kg CO2e vs STORE-FR-PAR 0.55 kg CO2e`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.domain.money import quantum
from shared.domain.routing_plans import MAX_SUBSETS_EXAMINED, Keyer, Plan, SearchResult
from shared.domain.routing_strategy import Ranking


def label(plan: Plan) -> str:
    return " + ".join(p.site.location_id for p in plan)


def ranking_reasons(result: SearchResult, keyer: Keyer) -> list[str]:
    best, runner = result.best, result.runner_up
    if best is None:
        return []
    rankings = keyer.rankings
    ours = keyer.values(best)
    note = None
    if result.greedy:
        greedy = "a greedy choice (the location that fills the most missing units first)"
        found = f"{greedy}" if runner is None else f"the best of the plans found by then and {greedy}"
        note = f"more than {MAX_SUBSETS_EXAMINED:,} combinations to examine: the search stopped there and took {found}"
    if runner is None:
        reasons = [_alone(r, v, i, keyer.currency) for i, (r, v) in enumerate(zip(rankings, ours, strict=True))]
        return reasons + ([note] if note else [])
    theirs = keyer.values(runner)
    decider = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b), None)
    reasons = []
    for i, (r, a, b) in enumerate(zip(rankings, ours, theirs, strict=True)):
        mine = describe(r, a, keyer.currency)
        if decider is None or i < decider:
            reasons.append(f"{r.value}: {mine}, tied with {label(runner)}")
        elif i == decider:
            reasons.append(f"{r.value}: {label(best)} {mine} vs {label(runner)} {describe(r, b, keyer.currency)}")
        else:
            reasons.append(f"{r.value}: {mine} (not needed: decided by {rankings[decider].value})")
    if decider is None:
        reasons.append(f"tie on every ranking: the locations' rank order decides ({label(best)} before "
                       f"{label(runner)})")
    return reasons + ([note] if note else [])


def _alone(ranking: Ranking, value: object, position: int, currency: str) -> str:
    text = f"{ranking.value}: {describe(ranking, value, currency)}"
    if position == 0:
        return text + ("; no other plan has as few" if ranking == Ranking.FEWEST_PARCELS else "; the only plan")
    return text


def describe(ranking: Ranking, value: object, currency: str) -> str:
    """A ranking's value for a plan, in words."""
    match ranking, value:
        case Ranking.FEWEST_PARCELS, int(n):
            return f"{n} parcel" + ("s" if n != 1 else "")
        case Ranking.NEAREST, (int(unknown), float(km)):
            return _with_unknown(f"{km:,.0f} km", unknown, "of unknown distance", known=km > 0)
        case Ranking.LOWEST_COST, (int(unknown), Decimal() as total):
            return _with_unknown(f"{currency} {_money(total, currency)}", unknown, "without a rate")
        case Ranking.LOWEST_HANDLING_COST, Decimal() as total:
            return f"{currency} {_money(total, currency)}"
        case Ranking.FASTEST, (int(unknown), int(latest)):
            return _with_unknown(f"delivered by {date.fromordinal(latest or 1)}", unknown, "without transit days",
                                 known=latest > 0)
        case Ranking.PRIORITY, int(total):
            return f"total {total}"
        case Ranking.BALANCE_LOAD, float(share):
            return f"busiest at {share:.0%} of today's capacity" if share else "no capacity limit"
        case Ranking.LOWEST_EMISSIONS, (int(unknown), float(kg)):
            return _with_unknown(f"{kg:.2f} kg CO2e", unknown, "of unknown distance or mode", known=kg > 0)
    return str(value)


def _with_unknown(figure: str, unknown: int, what: str, known: bool = True) -> str:
    if not unknown:
        return figure
    parcels = f"{unknown} parcel{'s' if unknown != 1 else ''} {what}"
    return f"{figure} + {parcels}" if known else parcels


def _money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency))
