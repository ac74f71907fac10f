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


class JointBootstrap:
    """One set of bootstrap resamples shared by many means over the same units, for statistics
    that combine several of them (a minimum over personas of a difference of divergences, say).

    Each draw resamples the trained seeds with replacement and, independently, the units
    (positions) with replacement; the same draws serve every mean, so a statistic of several
    means gets a coherent interval. A mean is taken over a seed's values at the drawn units, then
    over the drawn seeds. With one seed the interval holds the sampling of the evaluation only,
    not the variability of training, and the method says so (``trained=False``: a policy that
    is not trained, such as a control of known behaviour, has no such variability to leave out).
    """

    def __init__(self, n_seeds: int, n_units: int, *, seed: int, resamples: int = DEFAULT_RESAMPLES,
                 level: float = 0.95, unit: str = "positions", trained: bool = True) -> None:  # fmt: skip
        if n_seeds < 1 or n_units < 1:
            raise ValueError("a bootstrap needs at least one seed and one unit")
        rng = np.random.default_rng(seed)
        self.n_seeds, self.n_units, self.level = n_seeds, n_units, level
        # counts[r, i]: how often unit i is drawn in resample r (a weight matrix: means are products)
        draws = rng.integers(0, n_units, size=(resamples, n_units))
        self.counts = np.stack([np.bincount(row, minlength=n_units) for row in draws]).astype(np.float64)
        self.seeds = rng.integers(0, n_seeds, size=(resamples, n_seeds))
        # ``trained``: the policy comes out of training, so one seed leaves training's variability out
        scope = f"{n_seeds} trained seeds, then {unit}" if n_seeds > 1 else f"{unit} (one trained seed)"
        scope = scope if trained else unit
        self.method = f"percentile bootstrap over {scope}, {resamples} resamples, {level:.0%}"

    def mean(self, values: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """The mean of ``values`` (``[seeds, units]``, or ``[units]`` for a seed-free quantity) over
        the units in ``mask`` (default all) and the seeds: the point estimate and its draws."""
        v = np.asarray(values, dtype=np.float64)
        v = np.broadcast_to(v, (self.n_seeds, self.n_units)) if v.ndim == 1 else v
        keep = np.ones(self.n_units, bool) if mask is None else np.asarray(mask, bool)
        point = float(v[:, keep].mean()) if keep.any() else float("nan")
        weights = self.counts * keep
        with np.errstate(invalid="ignore", divide="ignore"):
            per_seed = (weights @ np.where(keep, v, 0.0).T) / weights.sum(axis=1, keepdims=True)  # [R, seeds]
        chosen = np.take_along_axis(per_seed, self.seeds, axis=1)
        return point, chosen.mean(axis=1)

    def interval(self, point: float, draws: np.ndarray, n: int | None = None) -> Interval:
        """The interval of a statistic from its point estimate and its value in every draw."""
        kept = draws[~np.isnan(draws)]
        n = self.n_units if n is None else n
        if kept.size == 0:
            return Interval(point, float("nan"), float("nan"), n, self.method)
        alpha = (1.0 - self.level) / 2.0
        low, high = np.quantile(kept, [alpha, 1.0 - alpha])
        return Interval(point, float(low), float(high), n, self.method)
