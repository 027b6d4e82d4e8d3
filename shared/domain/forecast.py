"""Demand forecasts from daily sales, one SKU at one location. A pure function of plain data.

Rules, in order (docs/replenishment.md explains them and gives the backtest figures):
1. The series is the units sold per day in the HISTORY_DAYS days before `today` (today itself is not
   over yet), starting at the first day with a sale: days before it, the SKU was not sold there yet.
   A day without sales counts 0.
2. No sale in the window: zero demand. Fewer than MIN_BACKTEST_DAYS days: the series' mean, its
   spread the standard deviation of the days (too short to compare models on).
3. Otherwise each candidate of GRID runs over the series: simple exponential smoothing (SES, alpha)
   and Holt's linear trend (alpha, beta), initialised on the first WARMUP_DAYS days. From then on,
   every day is forecast one day ahead from the days before it only, and then seen: a rolling-origin,
   one-step-ahead backtest. The candidate with the lowest mean absolute error (MAE) wins. Holt wins
   only when it beats the best SES by HOLT_MARGIN (a trend fitted to noise must not win by luck); ties
   go to the smaller alpha, then the smaller beta, so the choice is deterministic.
4. The forecast of day h (h = 1 is today) is level + h * trend (trend 0 but for Holt), never below 0;
   `sigma` is the root mean square of the winner's one-step errors: how far a day's demand strays
   from its forecast, what the safety stock covers (shared/domain/replenishment.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from enum import StrEnum

from pydantic import ConfigDict

from shared.domain.base import DeferredModel

HISTORY_DAYS = 112  # 16 weeks: enough to see a trend, short enough to follow a change
WARMUP_DAYS = 14  # the first two weeks set the starting level (and trend), unscored
MIN_BACKTEST_DAYS = 28  # two weeks of warm-up and two scored: fewer, and models are not compared
HOLT_MARGIN = 0.02  # Holt must be 2% better than the best SES to be chosen
SES_ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5)
HOLT_ALPHAS = (0.1, 0.2, 0.3, 0.5)
HOLT_BETAS = (0.05, 0.1, 0.2)


class Model(StrEnum):
    NONE = "none"  # no sales in the window
    MEAN = "mean"  # too little history to compare models
    SES = "ses"
    HOLT = "holt"


GRID: tuple[tuple[Model, float, float | None], ...] = (
    *((Model.SES, a, None) for a in SES_ALPHAS),
    *((Model.HOLT, a, b) for a in HOLT_ALPHAS for b in HOLT_BETAS),
)


class Forecast(DeferredModel):
    """Demand per day from `computed_on` on, with how it was found."""

    model_config = ConfigDict(frozen=True)
    model: Model
    alpha: float | None = None
    beta: float | None = None
    level: float  # units per day at the origin (the forecast of today, before its trend step)
    trend: float = 0.0  # units per day, per day (Holt only)
    sigma: float  # root mean square of the one-step errors, units per day
    mae: float | None = None  # the backtest's mean absolute error (None: no backtest)
    history_days: int  # days in the series (from its first sale)
    units: int  # units sold in the series
    computed_on: date
    reasons: tuple[str, ...] = ()

    def day(self, h: int) -> float:
        """The forecast of the h-th day from the origin (h = 1 is `computed_on`), never below 0."""
        return max(0.0, self.level + h * self.trend)

    def demand(self, days: int) -> float:
        """Units expected over the next `days` days (today first)."""
        if self.trend == 0.0:
            return max(0.0, self.level) * days
        return sum(self.day(h) for h in range(1, days + 1))


def series(history: Mapping[date, int], today: date) -> list[int]:
    """Units per day over the HISTORY_DAYS before `today`, from the first day with a sale."""
    days = [today - timedelta(days=HISTORY_DAYS - n) for n in range(HISTORY_DAYS)]
    units = [max(0, int(history.get(d, 0))) for d in days]
    first = next((n for n, u in enumerate(units) if u > 0), len(units))
    return units[first:]


def forecast_demand(history: Mapping[date, int], today: date) -> Forecast:
    """The forecast from `history` (units sold per day; days outside the window are ignored)."""
    ys = series(history, today)
    units = sum(ys)
    if not ys:
        return Forecast(model=Model.NONE, level=0.0, sigma=0.0, history_days=0, units=0, computed_on=today,
                        reasons=(f"no sale in the {HISTORY_DAYS} days before {today.isoformat()}: no demand",))
    if len(ys) < MIN_BACKTEST_DAYS:
        mean = units / len(ys)
        spread = math.sqrt(sum((y - mean) ** 2 for y in ys) / len(ys))
        return Forecast(model=Model.MEAN, level=mean, sigma=spread, history_days=len(ys), units=units,
                        computed_on=today,
                        reasons=(f"only {len(ys)} days since the first sale (fewer than {MIN_BACKTEST_DAYS}): "
                                 f"the mean, {mean:.2f} a day",))
    fits = [fit(ys, model, alpha, beta) for model, alpha, beta in GRID]
    best_ses = min((f for f in fits if f.model == Model.SES), key=_rank)
    best_holt = min((f for f in fits if f.model == Model.HOLT), key=_rank)
    holt_wins = best_holt.mae < best_ses.mae * (1 - HOLT_MARGIN)
    chosen = best_holt if holt_wins else best_ses
    scored = len(ys) - WARMUP_DAYS
    reasons = [f"{len(ys)} days since the first sale ({units} units); {scored} days forecast one day ahead",
               f"best SES alpha {best_ses.alpha}: MAE {best_ses.mae:.3f}",
               f"best Holt alpha {best_holt.alpha} beta {best_holt.beta}: MAE {best_holt.mae:.3f}",
               ("Holt chosen: " if holt_wins else "SES chosen: ")
               + ("it beats SES by more than " if holt_wins else "Holt does not beat it by more than ")
               + f"{HOLT_MARGIN:.0%}"]
    return Forecast(model=chosen.model, alpha=chosen.alpha, beta=chosen.beta, level=chosen.level,
                    trend=chosen.trend, sigma=chosen.rmse, mae=chosen.mae, history_days=len(ys), units=units,
                    computed_on=today, reasons=tuple(reasons))


class Fit(DeferredModel):
    """One candidate run over a series: its end state and its one-step errors."""

    model_config = ConfigDict(frozen=True)
    model: Model
    alpha: float
    beta: float | None
    level: float
    trend: float
    mae: float
    rmse: float


def _rank(f: Fit) -> tuple[float, float, float]:
    return (round(f.mae, 9), f.alpha, f.beta or 0.0)


def fit(ys: Sequence[int], model: Model, alpha: float, beta: float | None = None) -> Fit:
    """Run SES or Holt over `ys` (at least MIN_BACKTEST_DAYS long): initialised on the first
    WARMUP_DAYS, then each later day forecast from the days before it, and its error counted."""
    if len(ys) < MIN_BACKTEST_DAYS:
        raise ValueError(f"a backtest needs {MIN_BACKTEST_DAYS} days, got {len(ys)}")
    half = WARMUP_DAYS // 2
    first, second = sum(ys[:half]) / half, sum(ys[half:WARMUP_DAYS]) / half
    if model == Model.HOLT:
        trend = (second - first) / half
        # The second week's mean is its middle day's level: carried to the warm-up's last day.
        level = second + trend * (half - 1) / 2
        b = beta if beta is not None else 0.0
    else:
        trend, b = 0.0, 0.0
        level = (first + second) / 2
    errors: list[float] = []
    for y in ys[WARMUP_DAYS:]:
        errors.append(y - max(0.0, level + trend))
        if model == Model.HOLT:
            previous = level
            level = alpha * y + (1 - alpha) * (level + trend)
            trend = b * (level - previous) + (1 - b) * trend
        else:
            level = alpha * y + (1 - alpha) * level
    mae = sum(abs(e) for e in errors) / len(errors)
    rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
    return Fit(model=model, alpha=alpha, beta=beta if model == Model.HOLT else None, level=level, trend=trend,
               mae=mae, rmse=rmse)
