"""Intervals for figures of merit: percentile bootstrap, seeded, with the method named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval, and how the interval was computed."""

    value: float
    low: float
    high: float
    n: int
    method: str


def bootstrap_mean(values: Sequence[float] | np.ndarray, *, seed: int, level: float = 0.95,
                   resamples: int = DEFAULT_RESAMPLES, unit: str = "observations") -> Interval:
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
