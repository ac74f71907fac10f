"""The simulator against the population's truth: exact divergences, ceilings and mistake rates.

For the synthetic population every persona's move distribution is known on every evaluation
position (:mod:`.truth`), so a policy can be compared with each persona exactly, not through the
one move the persona happened to play. For a policy with distributions ``q_j`` under each prompt
``j`` and a persona ``k`` with the true distribution ``p_k``, on every evaluation position:

* ``kl``: KL(p_k || q_j) in nats, the information lost when the policy prompted as ``j`` stands
  in for persona ``k`` (the persona x prompt matrix: 0 everywhere on the diagonal for a perfect
  simulator). ``q`` is mixed with :data:`SMOOTHING` of the uniform distribution first, so that a
  policy ruling out a move the persona plays has a large, finite divergence (at most
  log(legal moves / SMOOTHING) nats) instead of an infinite one;
* ``tv``: the total variation distance, half the L1 distance (no smoothing);
* ``p_mistake``: the policy's probability of a mistake (a move losing at least 0.2 win chances)
  under persona ``k``'s prompt, and ``p_mistake_true``, the persona's own (exact);
* on the positions persona ``k`` really played: ``top1`` (ties split: each of k tied moves scores
  1/k) and ``cross_entropy`` of the move played under ``k``'s prompt, beside their ceilings, the
  best any policy can expect against a persona that samples its moves: ``top1_ceiling`` =
  E[max_a p_k(a)] and ``ce_floor`` = E[H(p_k)] (the persona's entropy: cross-entropy = entropy +
  KL).

Statistics across prompts (model prompt ``(across prompts)``), each a function of those means:

* ``diagonal_margin``: min over personas k of [min over other prompts j of KL(p_k||q_j) minus
  KL(p_k||q_k)]: positive when, for every persona, the policy prompted as that persona is closer
  to it than under any other persona's prompt (the prompt picks out whom it plays);
* ``mistake_gap_max``: max over personas of |p_mistake under k's prompt - k's true p_mistake|;
* ``loss_spread`` and ``loss_spread_engines``: the largest minus the smallest expected
  win-chance loss over the persona prompts, and over the Stockfish personas' prompts alone;
* ``decisive_excess_random``: the decisive-win rate under the random mover's prompt minus that
  of the uniform distribution, on positions with a mate in one or a winning capture.

Rows of the policy ``truth`` give each persona's own entropy, mistake probability, expected loss
and ceilings. Every interval comes from one :class:`~simagents.stats.JointBootstrap`: the trained
seeds of a policy resampled, then the positions (the method column says which).

:func:`reliability_table`: the reliability diagram of mistakes, positions binned by the
persona's true mistake probability, with the policy's mean predicted probability in each bin.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from ..stats import Interval, JointBootstrap
from .metrics import ACROSS, PositionValues
from .padded import pad, row_entropy, row_kl, tied_top1
from .win_chances import MISTAKE

#: Share of the uniform distribution mixed into a policy before a KL divergence to it.
SMOOTHING = 1e-4
#: Model-prompt label of the persona's own rows (policy ``truth``) and of statistics over personas.
OWN = "(own)"
TRUTH = "truth"
COLUMNS = ["policy", "persona", "model_prompt", "metric", "value", "low", "high", "n", "method"]
#: Bin edges of the reliability diagram (the persona's true mistake probability at a position).
RELIABILITY_BINS = (0.0, 0.02, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)

#: A policy's distributions: seed -> prompt -> per position, aligned with the positions' actions.
Probabilities = Sequence[Mapping[str, Sequence[np.ndarray]]]


def smoothed_kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats, q first mixed with :data:`SMOOTHING` of the uniform distribution."""
    q = (1.0 - SMOOTHING) * q + SMOOTHING / len(q)
    keep = p > 0
    return float((p[keep] * np.log(p[keep] / q[keep])).sum())


def smoothed_kl_rows(p: np.ndarray, q: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """:func:`smoothed_kl` of each row of padded matrices (``legal``: the real entries)."""
    n = legal.sum(axis=1, keepdims=True)
    return row_kl(p, np.where(legal, (1.0 - SMOOTHING) * q + SMOOTHING / n, 0.0))


def _row(policy: str, persona: str, prompt: str, metric: str, iv: Interval) -> dict[str, object]:
    return {"policy": policy, "persona": persona, "model_prompt": prompt, "metric": metric, "value": iv.value,
            "low": iv.low, "high": iv.high, "n": iv.n, "method": iv.method}  # fmt: skip


def truth_metrics(
    policies: Mapping[str, Probabilities],
    truth: Mapping[str, Sequence[np.ndarray]],
    values: Sequence[PositionValues],
    played_actions: np.ndarray,
    data_prompts: np.ndarray,
    *,
    engines: Sequence[str],
    random_persona: str | None,
    seed: int = 0,
    trained: Collection[str] = (),
) -> pd.DataFrame:
    """Every row of the module docstring, for each policy (name -> its seeds' distributions under
    each prompt; every persona's prompt must be among them) and for the truth itself.
    ``trained``: the policies that come out of training (their method names the seeds)."""
    personas = list(truth)
    n = len(values)
    legal = pad([np.ones(len(pv.actions), bool) for pv in values], False)
    loss = pad([pv.loss for pv in values])
    mistakes = (loss >= MISTAKE) & legal
    decisive_moves = pad([pv.decisive for pv in values], False)
    played = np.array([int(np.flatnonzero(pv.actions == a)[0]) for pv, a in zip(values, played_actions)])
    decisive: np.ndarray = np.asarray(decisive_moves.any(axis=1), dtype=bool)
    rows: list[dict[str, object]] = []
    true = {k: pad(list(truth[k])) for k in personas}

    truth_boot = JointBootstrap(1, n, seed=seed + 1, trained=False)
    true_mistake = {k: (true[k] * mistakes).sum(axis=1) for k in personas}
    for k in personas:
        own = np.asarray(data_prompts == k, dtype=bool)
        entropy = row_entropy(true[k])
        per_position = {"entropy": entropy, "p_mistake_true": true_mistake[k],
                        "expected_loss": (true[k] * loss).sum(axis=1)}  # fmt: skip
        for metric, array in per_position.items():
            rows.append(_row(TRUTH, k, OWN, metric, truth_boot.interval(*truth_boot.mean(array))))
        for metric, array in (("top1_ceiling", true[k].max(axis=1)), ("ce_floor", entropy)):
            rows.append(_row(TRUTH, k, OWN, metric, truth_boot.interval(*truth_boot.mean(array, own), int(own.sum()))))

    for name, seeds in policies.items():
        missing = [k for k in personas if any(k not in by_prompt for by_prompt in seeds)]
        if missing:
            raise ValueError(f"{name}: no distributions under the prompts of the personas {missing}")
        boot = JointBootstrap(len(seeds), n, seed=seed + 2, trained=name in trained)
        prompts = [p for p in seeds[0] if all(p in s for s in seeds)]
        dists = {p: [pad(list(s[p])) for s in seeds] for p in prompts}
        kl: dict[tuple[str, str], tuple[float, np.ndarray]] = {}
        for k in personas:
            for j in prompts:
                kl[(k, j)] = boot.mean(np.stack([smoothed_kl_rows(true[k], q, legal) for q in dists[j]]))
                rows.append(_row(name, k, j, "kl", boot.interval(*kl[(k, j)])))
                tv = np.stack([0.5 * np.abs(true[k] - q).sum(axis=1) for q in dists[j]])
                rows.append(_row(name, k, j, "tv", boot.interval(*boot.mean(tv))))
        # the persona x prompt matrix restricted to the personas' prompts: its diagonal margin
        if len(personas) > 1:
            margins = [
                (min(kl[(k, j)][0] for j in personas if j != k) - kl[(k, k)][0],
                 np.min([kl[(k, j)][1] for j in personas if j != k], axis=0) - kl[(k, k)][1])
                for k in personas
            ]  # fmt: skip
            point = min(m[0] for m in margins)
            draws = np.min([m[1] for m in margins], axis=0)
            rows.append(_row(name, ACROSS, ACROSS, "diagonal_margin", boot.interval(point, draws)))
        gaps, losses = [], {}
        for k in personas:
            own = np.asarray(data_prompts == k, dtype=bool)
            got = boot.mean(np.stack([(q * mistakes).sum(axis=1) for q in dists[k]]))
            rows.append(_row(name, k, k, "p_mistake", boot.interval(*got)))
            true_point, true_draws = boot.mean(true_mistake[k])
            gaps.append((abs(got[0] - true_point), np.abs(got[1] - true_draws)))
            losses[k] = boot.mean(np.stack([(q * loss).sum(axis=1) for q in dists[k]]))
            rows.append(_row(name, k, k, "expected_loss", boot.interval(*losses[k])))
            top1 = np.stack([tied_top1(q, legal, played) for q in dists[k]])
            rows.append(_row(name, k, k, "top1", boot.interval(*boot.mean(top1, own), int(own.sum()))))
            ce = np.stack([-np.log(np.maximum(q[np.arange(n), played], 1e-300)) for q in dists[k]])
            rows.append(_row(name, k, k, "cross_entropy", boot.interval(*boot.mean(ce, own), int(own.sum()))))
        rows.append(_row(name, ACROSS, ACROSS, "mistake_gap_max", boot.interval(
            max(g[0] for g in gaps), np.max([g[1] for g in gaps], axis=0))))  # fmt: skip
        for label, group in (("loss_spread", personas), ("loss_spread_engines", [k for k in personas if k in engines])):
            if len(group) > 1:
                points = [losses[k][0] for k in group]
                draws = np.stack([losses[k][1] for k in group])
                rows.append(_row(name, ACROSS, ACROSS, label,
                                 boot.interval(max(points) - min(points), draws.max(axis=0) - draws.min(axis=0))))  # fmt: skip
        if random_persona is not None and decisive.any():
            under = np.stack([(q * decisive_moves).sum(axis=1) for q in dists[random_persona]])
            uniform = decisive_moves.sum(axis=1) / legal.sum(axis=1)
            got, base = boot.mean(under, decisive), boot.mean(uniform, decisive)
            rows.append(_row(name, random_persona, random_persona, "decisive_excess_random",
                             boot.interval(got[0] - base[0], got[1] - base[1], int(decisive.sum()))))  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def reliability_table(
    policies: Mapping[str, Probabilities],
    truth: Mapping[str, Sequence[np.ndarray]],
    values: Sequence[PositionValues],
) -> pd.DataFrame:
    """Per policy, persona and bin of the persona's true mistake probability at a position: the
    positions in the bin, their mean true probability, and the policy's mean predicted
    probability under the persona's prompt (averaged over its seeds)."""
    legal = pad([np.ones(len(pv.actions), bool) for pv in values], False)
    mistakes = (pad([pv.loss for pv in values]) >= MISTAKE) & legal
    edges = np.array(RELIABILITY_BINS)
    rows = []
    for k, dists in truth.items():
        true = (pad(list(dists)) * mistakes).sum(axis=1)
        bins = np.clip(np.searchsorted(edges, true, side="right") - 1, 0, len(edges) - 2)
        for name, seeds in policies.items():
            predicted = np.mean([(pad(list(s[k])) * mistakes).sum(axis=1) for s in seeds], axis=0)
            for b in range(len(edges) - 1):
                inside = bins == b
                if inside.any():
                    rows.append({"policy": name, "persona": k, "bin_low": edges[b], "bin_high": edges[b + 1],
                                 "positions": int(inside.sum()), "true": float(true[inside].mean()),
                                 "predicted": float(predicted[inside].mean())})  # fmt: skip
    return pd.DataFrame(rows, columns=["policy", "persona", "bin_low", "bin_high", "positions", "true", "predicted"])
