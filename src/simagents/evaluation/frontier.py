"""The KL-regularised frontier, computed exactly: what RL to win would make of a policy.

Maximising E[win chance] - beta KL(pi || p) over the legal moves of a position has the closed-form
optimum pi*_beta(a) proportional to p(a) exp(Q(a) / beta) (the piKL form; Korbak et al. 2022 read
KL-regularised RL as Bayesian inference with this posterior). With Q the Stockfish action values'
win chance of each move (mover's view, in [-1, 1]: a reward model for winning), the whole
frontier from the policy (beta = infinity) to the agent that takes the best move (beta -> 0) is
exact, with no RL noise, on the evaluation positions. :data:`BETAS` spans it.

For each family (a policy under each prompt, tilted by the same Q) and beta: expected win-chance
loss, entropy, the mate-in-one rate, KL(pi*_beta || p), move matching of the data (``top1`` under
the true prompt, ties split), and the prompt sensitivity across the persona prompts:
``loss_spread`` (the largest minus the smallest expected loss) and ``best_move_split`` (the share
of positions where the persona prompts' most likely moves are not all the same). These do not
rise merely because each prompt's distribution sharpens, as the divergence between prompts does.

The ``drop_<metric>`` rows compare the frontier's two ends: the value at beta = infinity (the
policy itself) minus the value at the smallest beta, one bootstrap for both (seeds, then
positions). The claims ledger's frontier tests read them, with the oracle's frontier (which starts
at the personas' own spread) and the prompt-blind simulator's or the strong engine's frontier
(which have nothing to lose) as controls.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from ..stats import JointBootstrap, bootstrap_mean
from .metrics import ALL, PositionValues, metric_row
from .metrics import COLUMNS as METRIC_COLUMNS
from .padded import pad, row_entropy, row_kl, tied_top1
from .truth_metrics import smoothed_kl_rows

#: KL weights of the exact frontier, from the policy itself (infinity) to nearly argmax Q.
BETAS = (float("inf"), 10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001)
COLUMNS = ["family", "beta", "model_prompt", "metric", "value", "low", "high", "n", "method"]
ACROSS = "(across prompts)"
#: Bootstrap resamples of the frontier's statistics (12 betas x 4 families: fewer than elsewhere).
RESAMPLES = 1000
DROPPED = ("entropy", "expected_loss", "loss_spread", "best_move_split", "top1", "truth_kl")


def tilt(p: np.ndarray, q_values: np.ndarray, beta: float) -> np.ndarray:
    """pi*_beta: ``p`` tilted by exp(Q / beta), normalised (``p`` itself at beta = infinity; at
    beta = 0 the limit, ``p`` restricted to the best moves it gives mass to, normalised)."""
    if np.isinf(beta):
        return p
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if beta == 0:
        support = p > 0
        best = support & (q_values >= q_values[support].max() - 1e-12)
        limit: np.ndarray = np.where(best, p, 0.0) / p[best].sum()
        return limit
    logits = np.log(np.maximum(p, 1e-300)) + (q_values - q_values.max()) / beta
    logits[p <= 0] = -np.inf
    weights = np.exp(logits - logits[np.isfinite(logits)].max())
    tilted: np.ndarray = weights / weights.sum()
    return tilted


def tilt_rows(p: np.ndarray, q_values: np.ndarray, legal: np.ndarray, beta: float) -> np.ndarray:
    """:func:`tilt` of every row of padded matrices (``legal``: the real entries)."""
    if np.isinf(beta):
        return p
    support = legal & (p > 0)
    with np.errstate(divide="ignore"):
        logits = np.where(support, np.log(np.where(support, p, 1.0)) + q_values / beta, -np.inf)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    tilted: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return tilted


def _entropy(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def _kl(a: np.ndarray, b: np.ndarray) -> float:
    keep = a > 0
    return float((a[keep] * np.log(a[keep] / np.maximum(b[keep], 1e-300))).sum())


def exact_frontier(
    families: Mapping[str, Sequence[Mapping[str, Sequence[np.ndarray]]]],
    values: Sequence[PositionValues],
    win_chances: Sequence[np.ndarray],
    played_actions: np.ndarray,
    data_prompts: np.ndarray,
    personas: Sequence[str],
    *,
    truth: Mapping[str, Sequence[np.ndarray]] | None = None,
    betas: Sequence[float] = BETAS,
    seed: int = 0,
    trained: Collection[str] = (),
) -> pd.DataFrame:
    """The frontier table (see the module docstring). ``families``: name -> its seeds'
    distributions under each prompt; ``win_chances[i]``: Q of position i's legal moves, aligned
    with ``values[i].actions``; ``truth``: each persona's exact distributions, for ``truth_kl``,
    the mean over personas k of KL(p_k || pi*_beta under k's prompt) (smoothed as in
    :mod:`.truth_metrics`): how far the frontier moves from the personas it simulates.
    ``trained``: the families that come out of training (their method names the seeds)."""
    n = len(values)
    legal = pad([np.ones(len(pv.actions), bool) for pv in values], False)
    loss = pad([pv.loss for pv in values])
    mate_moves = pad([pv.mate_in_one for pv in values], False)
    q_values = pad(list(win_chances), fill=-1.0)
    played = np.array([int(np.flatnonzero(pv.actions == a)[0]) for pv, a in zip(values, played_actions)])
    mates: np.ndarray = np.asarray(mate_moves.any(axis=1), dtype=bool)
    true = {k: pad(list(v)) for k, v in truth.items()} if truth is not None else None
    rows: list[dict[str, object]] = []

    def row(family: str, beta: float, prompt: str, metric: str, point: float, draws: np.ndarray, boot: JointBootstrap,
            count: int | None = None) -> None:  # fmt: skip
        iv = boot.interval(point, draws, count)
        rows.append({"family": family, "beta": beta, "model_prompt": prompt, "metric": metric, "value": iv.value,
                     "low": iv.low, "high": iv.high, "n": iv.n, "method": iv.method})  # fmt: skip

    for family, seeds in families.items():
        boot = JointBootstrap(len(seeds), n, seed=seed + 7, resamples=RESAMPLES, trained=family in trained)
        prompts = [p for p in personas if all(p in s for s in seeds)]
        base = {p: [pad(list(s[p])) for s in seeds] for p in prompts}
        ends: dict[str, dict[float, tuple[float, np.ndarray]]] = {m: {} for m in DROPPED}
        for beta in betas:
            tilted = {p: [tilt_rows(q, q_values, legal, beta) for q in base[p]] for p in prompts}
            losses, arrays = {}, {}
            for p in prompts:
                per = {
                    "expected_loss": np.stack([(d * loss).sum(axis=1) for d in tilted[p]]),
                    "entropy": np.stack([row_entropy(d) for d in tilted[p]]),
                    "kl_to_policy": np.stack([row_kl(d, q) for d, q in zip(tilted[p], base[p])]),
                    "mate_in_one": np.stack([(d * mate_moves).sum(axis=1) for d in tilted[p]]),
                }
                arrays[p] = per
                for metric, array in per.items():
                    if metric in ("entropy", "kl_to_policy"):
                        continue  # averaged over the prompts below
                    mask = mates if metric == "mate_in_one" else None
                    point, draws = boot.mean(array, mask)
                    if metric == "expected_loss":
                        losses[p] = (point, draws)
                    row(family, beta, p, metric, point, draws, boot, int(mates.sum()) if mask is not None else None)
            # averaged over the persona prompts
            for metric in ("entropy", "expected_loss", "kl_to_policy"):
                point, draws = boot.mean(np.mean([arrays[p][metric] for p in prompts], axis=0))
                if metric in ends:
                    ends[metric][beta] = (point, draws)
                row(family, beta, ACROSS, f"mean_{metric}", point, draws, boot)
            if len(prompts) > 1:
                point = max(v[0] for v in losses.values()) - min(v[0] for v in losses.values())
                stacked = np.stack([v[1] for v in losses.values()])
                ends["loss_spread"][beta] = (point, stacked.max(axis=0) - stacked.min(axis=0))
                row(family, beta, ACROSS, "loss_spread", *ends["loss_spread"][beta], boot)
                best = np.stack([[np.argmax(np.where(legal, tilted[p][k], -1.0), axis=1) for p in prompts]
                                 for k in range(len(seeds))])  # fmt: skip  # [seeds, prompts, positions]
                split = (best != best[:, :1, :]).any(axis=1).astype(np.float64)
                ends["best_move_split"][beta] = boot.mean(split)
                row(family, beta, ACROSS, "best_move_split", *ends["best_move_split"][beta], boot)
            if true is not None and all(k in prompts for k in true):
                kl = np.mean([np.stack([smoothed_kl_rows(true[k], d, legal) for d in tilted[k]]) for k in true], axis=0)
                ends["truth_kl"][beta] = boot.mean(kl)
                row(family, beta, ACROSS, "truth_kl", *ends["truth_kl"][beta], boot)
            # move matching: each position under its mover's prompt
            covered = np.isin(data_prompts, prompts)
            if covered.any():
                top1 = np.zeros((len(seeds), n))
                for p in prompts:
                    index = data_prompts == p
                    for k, d in enumerate(tilted[p]):
                        top1[k, index] = tied_top1(d, legal, played)[index]
                ends["top1"][beta] = boot.mean(top1, covered)
                row(family, beta, "(true)", "top1", *ends["top1"][beta], boot, int(covered.sum()))
        low_beta, high_beta = min(betas), max(betas)
        for metric, by_beta in ends.items():
            if high_beta in by_beta and low_beta in by_beta:
                (p0, d0), (p1, d1) = by_beta[high_beta], by_beta[low_beta]
                row(family, float("nan"), ACROSS, f"drop_{metric}", p0 - p1, d0 - d1, boot)
    return pd.DataFrame(rows, columns=COLUMNS)


#: Floor on a learner's probability inside KL(pi*_beta || learner): a move it gives no mass at
#: all (float underflow) costs log(1e12), about 28 nats, instead of infinity.
PROBABILITY_FLOOR = 1e-12


def learner_frontier_gaps(
    family: Mapping[str, float],
    probabilities: Mapping[str, Mapping[str, Sequence[np.ndarray]]],
    values: Sequence[PositionValues],
    seed: int = 0,
) -> pd.DataFrame:
    """How far each RL learner is from the exact optimum of its own objective: per learner of
    ``family`` (name -> beta; the policy at beta = infinity is the simulator it started from) and
    prompt, the mean over positions of KL(pi*_beta || learner), pi*_beta the simulator's
    distribution under that prompt tilted by exp(Q / beta) (Q: the action values' win chance),
    and of KL(learner || simulator), the learner's own distance from where it started; nats,
    intervals a bootstrap over positions. Rows of a metrics table (``data_prompt`` all).

    ``probabilities``: policy name -> prompt -> per-position distributions aligned with
    ``values[i].actions`` (:func:`~.metrics.agent_battery`'s ``probabilities_out``)."""
    start = next((name for name, beta in family.items() if np.isinf(beta)), None)
    rows: list[dict[str, object]] = []
    if start is None or start not in probabilities:
        return pd.DataFrame(rows, columns=METRIC_COLUMNS)
    for k, (name, beta) in enumerate(sorted(family.items())):
        if np.isinf(beta) or name not in probabilities:
            continue
        for j, prompt in enumerate(sorted(set(probabilities[name]) & set(probabilities[start]))):
            learner, simulator = probabilities[name][prompt], probabilities[start][prompt]
            to_optimum, to_start = np.zeros(len(values)), np.zeros(len(values))
            for i, (q, p, pv) in enumerate(zip(learner, simulator, values)):
                to_optimum[i] = _kl(tilt(p, pv.win_chance, beta), np.maximum(q, PROBABILITY_FLOOR))
                to_start[i] = _kl(np.where(q > PROBABILITY_FLOOR, q, 0.0), np.maximum(p, PROBABILITY_FLOOR))
            for metric, per_position, salt in (
                ("kl_to_exact_optimum", to_optimum, 0),
                ("kl_to_simulator", to_start, 1),
            ):
                iv = bootstrap_mean(per_position, seed=seed * 7919 + 1000 * k + 10 * j + salt, unit="positions")
                rows.append(metric_row(name, prompt, ALL, metric, iv))
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)
