"""Bootstrap intervals: deterministic, covering, shrinking with n."""

from __future__ import annotations

import numpy as np
import pytest

from simagents.stats import bootstrap_mean, bootstrap_statistic


def test_bootstrap_mean_is_seeded_and_covers_the_truth():
    rng = np.random.default_rng(0)
    covered = 0
    for trial in range(200):
        sample = rng.binomial(1, 0.3, size=100).astype(float)
        interval = bootstrap_mean(sample, seed=trial, resamples=500)
        covered += interval.low <= 0.3 <= interval.high
    assert 0.88 <= covered / 200 <= 0.99  # nominal 95%
    one = bootstrap_mean([0, 1, 1, 0.5], seed=4)
    assert one == bootstrap_mean([0, 1, 1, 0.5], seed=4)
    assert "bootstrap" in one.method and one.n == 4


def test_interval_shrinks_with_more_data_and_degenerate_cases():
    small = bootstrap_mean(np.tile([0.0, 1.0], 10), seed=0)
    large = bootstrap_mean(np.tile([0.0, 1.0], 1000), seed=0)
    assert (large.high - large.low) < (small.high - small.low) / 5
    assert bootstrap_mean([0.7], seed=0).low == 0.7
    with pytest.raises(ValueError):
        bootstrap_mean([], seed=0)


def test_bootstrap_statistic_pairs_units_and_matches_the_mean():
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, 400)
    b = a + 0.1 + rng.normal(0.0, 0.01, 400)  # b beats a on every unit by ~0.1: a paired effect
    paired = bootstrap_statistic(lambda idx: float((b[idx] - a[idx]).mean()), 400, seed=3, unit="positions")
    assert paired.low > 0.09 and paired.high < 0.11 and paired.n == 400
    assert "bootstrap over positions" in paired.method
    plain = bootstrap_mean(a, seed=3)
    same = bootstrap_statistic(lambda idx: float(a[idx].mean()), 400, seed=3)
    assert same.value == plain.value and abs(same.low - plain.low) < 0.05
    undefined = bootstrap_statistic(lambda idx: float("nan"), 10, seed=0)
    assert np.isnan(undefined.low) and np.isnan(undefined.high)
    with pytest.raises(ValueError):
        bootstrap_statistic(lambda idx: 0.0, 0, seed=0)
