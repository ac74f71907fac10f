"""Intervals for figures of merit: percentile bootstrap, seeded, with the method named."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval, and how the interval was computed."""

    value: float
    low: float
    high: float
    n: int
    method: str


def bootstrap_mean(
    values: Sequence[float] | np.ndarray,
    *,
    seed: int,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    unit: str = "observations",
) -> Interval:
    """Mean of ``values`` with a percentile-bootstrap interval, resampling ``unit`` (e.g. games).

    Deterministic for a given ``seed``. With fewer than 2 values the interval is the point.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("bootstrap_mean needs at least one value")
    mean = float(data.mean())
    method = f"percentile bootstrap over {unit}, {resamples} resamples, {level:.0%}"
    if data.size < 2:
        return Interval(mean, mean, mean, int(data.size), method)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return Interval(mean, float(low), float(high), int(data.size), method)


def bootstrap_statistic(
    statistic: Callable[[np.ndarray], float],
    n: int,
    *,
    seed: int,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    unit: str = "observations",
) -> Interval:
    """Any statistic of ``n`` units with a percentile-bootstrap interval.

    ``statistic`` receives an int array of unit indices (``arange(n)`` for the point estimate, a
    resample with replacement for each bootstrap draw) and returns a float; resamples where it
    is undefined (NaN) are dropped. Use it for statistics that are not means, or that pair
    several measurements of the same units (differences, correlations across prompts).
    """
    if n < 1:
        raise ValueError("bootstrap_statistic needs at least one unit")
    value = float(statistic(np.arange(n)))
    method = f"percentile bootstrap over {unit}, {resamples} resamples, {level:.0%}"
    if n < 2:
        return Interval(value, value, value, n, method)
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(rng.integers(0, n, size=n)) for _ in range(resamples)], dtype=np.float64)
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return Interval(value, float("nan"), float("nan"), n, method)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha])
    return Interval(value, float(low), float(high), n, method)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either side is constant."""

    def ranks(a: np.ndarray) -> np.ndarray:
        return pd.Series(a).rank(method="average").to_numpy()

    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])
