"""The demand forecast's backtest over families of synthetic series (docs/replenishment.md's figures).

    .venv/bin/python -m bench.forecast_backtest [--seeds 200]

For each family, `--seeds` series of 112 days (fixed seeds, so the figures repeat): which model the
backtest chooses, its one-step MAE against the MAE of knowing the true mean of each day (the best any
forecast can do on that noise), and the error of the demand it forecasts over the next 14 days
against the true mean demand, as a share of the latter (median and 95th percentile). Also the time
one forecast takes (fit of every candidate), printed, not asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

from shared.domain.forecast import HISTORY_DAYS, WARMUP_DAYS, forecast_demand

TODAY = date(2026, 6, 1)
LEAD = 14

# name -> the true mean demand of day t (t = 0 is 112 days ago, t = 112 today) and the noise's sd
Family = tuple[Callable[[int], float], float]
FAMILIES: dict[str, Family] = {
    "level 20, sd 4": (lambda t: 20.0, 4.0),
    "level 3, sd 2 (slow mover)": (lambda t: 3.0, 2.0),
    "trend 5 + 0.3 t, sd 3": (lambda t: 5 + 0.3 * t, 3.0),
    "decline 60 - 0.4 t, sd 4": (lambda t: max(0.0, 60 - 0.4 * t), 4.0),
    "step 10 -> 25 at day 84, sd 3": (lambda t: 10.0 if t < 84 else 25.0, 3.0),
}


def sample(mean: Callable[[int], float], sd: float, seed: int) -> dict[date, int]:
    rng = random.Random(seed)
    start = TODAY - timedelta(days=HISTORY_DAYS)
    return {start + timedelta(days=t): max(0, round(mean(t) + rng.gauss(0, sd))) for t in range(HISTORY_DAYS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    print(f"{args.seeds} series per family, {HISTORY_DAYS} days each, {LEAD}-day horizon")
    print(f"{'family':32} {'chosen':18} {'MAE / oracle':>13} {'14-day error p50':>17} {'p95':>7}")
    spent, fits = 0.0, 0
    for name, (mean, sd) in FAMILIES.items():
        chosen: Counter[str] = Counter()
        ratios, errors = [], []
        for seed in range(args.seeds):
            history = sample(mean, sd, seed)
            started = time.perf_counter()
            f = forecast_demand(history, TODAY)
            spent, fits = spent + time.perf_counter() - started, fits + 1
            chosen[f.model.value] += 1
            days = sorted(history)
            start = days.index(next(d for d in days if history[d] > 0))
            scored = [(history[d], mean(t)) for t, d in enumerate(days) if t >= start + WARMUP_DAYS]
            oracle = sum(abs(y - m) for y, m in scored) / len(scored)
            if f.mae is not None and oracle > 0:
                ratios.append(f.mae / oracle)
            truth = sum(mean(HISTORY_DAYS - 1 + h) for h in range(1, LEAD + 1))
            errors.append(abs(f.demand(LEAD) - truth) / truth)
        errors.sort()
        mix = ", ".join(f"{m} {n}" for m, n in chosen.most_common())
        print(f"{name:32} {mix:18} {statistics.median(ratios):13.3f} {statistics.median(errors):16.1%} "
              f"{errors[int(0.95 * (len(errors) - 1))]:7.1%}")
    print(f"one forecast (every candidate fitted): {1000 * spent / fits:.2f} ms")


if __name__ == "__main__":
    main()
