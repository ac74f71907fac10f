"""Did the simulator learn the population? Pass/fail checks and the calibration table, read from
the metric battery's tidy table (:mod:`.metrics`), for every simulator in it.

Each check compares an interval with a threshold, so a verdict is only ``holds`` when the whole
95% interval is on the right side:

==========================  ===============================================================
check                       holds when
==========================  ===============================================================
top1_true_over_none         the paired difference top1(true prompt) - top1(none) is above 0
ce_true_under_none          cross-entropy(true prompt) - cross-entropy(none) is below 0
top1_none_over_shuffled     top1(none) - top1(shuffled prompts) is above 0
ce_none_under_shuffled      cross-entropy(none) - cross-entropy(shuffled prompts) is below 0
random_prompt_entropy       entropy / log(legal moves) under the random mover's prompt is at
                            least 0.95 (within 5% of uniform)
strength_rank               the Spearman correlation between persona strength and the
                            simulator's quality (minus expected loss) under that persona's
                            prompt is above 0
==========================  ===============================================================

A check whose metric is absent (no random persona in the data, fewer than three ranked
personas) is reported as ``not applicable``, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import Config
from .metrics import ACROSS, ALL, SHUFFLED, TRUE

#: Entropy under the random mover's prompt must be within this fraction of log(legal moves).
ENTROPY_TOLERANCE = 0.05
HOLDS, FAILS, NOT_APPLICABLE = "holds", "fails", "not applicable"
CHECK_COLUMNS = [
    "policy",
    "check",
    "statement",
    "model_prompt",
    "metric",
    "value",
    "low",
    "high",
    "n",
    "method",
    "criterion",
    "verdict",
]
CALIBRATION_COLUMNS = [
    "policy",
    "prompt",
    "predicted",
    "predicted_low",
    "predicted_high",
    "observed",
    "observed_low",
    "observed_high",
    "n",
]


@dataclass(frozen=True)
class _Check:
    name: str
    statement: str
    model_prompt: str
    metric: str
    sign: int  # +1: the interval must lie above the threshold; -1: below it
    threshold: float
    inclusive: bool = False  # whether the interval's end may equal the threshold


def _checks(random_prompt: str | None) -> list[_Check]:
    checks = [
        _Check(
            "top1_true_over_none",
            "move matching is higher with the true prompt than with none",
            f"{TRUE} - none",
            "top1",
            +1,
            0.0,
        ),
        _Check(
            "ce_true_under_none",
            "cross-entropy is lower with the true prompt than with none",
            f"{TRUE} - none",
            "cross_entropy",
            -1,
            0.0,
        ),
        _Check(
            "top1_none_over_shuffled",
            "move matching is higher with no prompt than with shuffled prompts",
            f"none - {SHUFFLED}",
            "top1",
            +1,
            0.0,
        ),
        _Check(
            "ce_none_under_shuffled",
            "cross-entropy is lower with no prompt than with shuffled prompts",
            f"none - {SHUFFLED}",
            "cross_entropy",
            -1,
            0.0,
        ),
    ]
    if random_prompt is not None:
        checks.append(
            _Check(
                "random_prompt_entropy",
                "under the random mover's prompt the simulator is within 5% of uniform entropy",
                random_prompt,
                "entropy_ratio",
                +1,
                1.0 - ENTROPY_TOLERANCE,
                inclusive=True,
            )
        )
    checks.append(
        _Check(
            "strength_rank",
            "the stronger the persona, the better the simulator plays under its prompt",
            ACROSS,
            "spearman_strength",
            +1,
            0.0,
        )
    )
    return checks


def random_prompt_of(config: Config) -> str | None:
    """The random mover's prompt in a synthetic population (None: no random persona, or human data)."""
    if config.data.source != "synthetic":
        return None
    return next((p.name for p in config.data.synthetic.personas if p.kind == "random"), None)


def simulator_checks(metrics: pd.DataFrame, random_prompt: str | None) -> pd.DataFrame:
    """One row per (simulator, check); ``random_prompt``: the random mover's prompt, if the data has one."""
    rows = []
    simulators = sorted(p for p in metrics["policy"].unique() if str(p).startswith("simulator"))
    for policy in simulators:
        mine = metrics[(metrics.policy == policy) & (metrics.data_prompt == ALL)]
        for check in _checks(random_prompt):
            found = mine[(mine.model_prompt == check.model_prompt) & (mine.metric == check.metric)]
            relation = (">" if check.sign > 0 else "<") + ("=" if check.inclusive else "")
            bound = "low" if check.sign > 0 else "high"
            criterion = f"95% interval {relation} {check.threshold:g} ({bound} end {relation} {check.threshold:g})"
            row: dict[str, object] = {
                "policy": policy,
                "check": check.name,
                "statement": check.statement,
                "model_prompt": check.model_prompt,
                "metric": check.metric,
                "criterion": criterion,
            }
            if found.empty or np.isnan(float(found.iloc[0][bound])):
                row.update(value=np.nan, low=np.nan, high=np.nan, n=0, method="", verdict=NOT_APPLICABLE)
            else:
                r = found.iloc[0]
                edge = float(r[bound])
                margin = (edge - check.threshold) * check.sign
                ok = margin >= 0 if check.inclusive else margin > 0
                row.update(
                    value=r.value, low=r.low, high=r.high, n=int(r.n), method=r.method, verdict=HOLDS if ok else FAILS
                )
            rows.append(row)
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def calibration_table(metrics: pd.DataFrame, prompts: Sequence[str] | None = None) -> pd.DataFrame:
    """Per simulator and persona prompt: the simulator's predicted mistake rate under that prompt
    on that persona's positions, against the observed rate of the persona's moves there."""
    observed = metrics[(metrics.policy == "played") & (metrics.metric == "p_mistake")]
    rows = []
    simulators = sorted(p for p in metrics["policy"].unique() if str(p).startswith("simulator"))
    for policy in simulators:
        for _, obs in observed.sort_values("data_prompt").iterrows():
            prompt = obs.data_prompt
            if prompts is not None and prompt not in prompts:
                continue
            pred = metrics[
                (metrics.policy == policy)
                & (metrics.model_prompt == prompt)
                & (metrics.data_prompt == prompt)
                & (metrics.metric == "p_mistake")
            ]
            if pred.empty:
                continue
            p = pred.iloc[0]
            rows.append(
                {
                    "policy": policy,
                    "prompt": prompt,
                    "predicted": p.value,
                    "predicted_low": p.low,
                    "predicted_high": p.high,
                    "observed": obs.value,
                    "observed_low": obs.low,
                    "observed_high": obs.high,
                    "n": int(obs.n),
                }
            )
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)
