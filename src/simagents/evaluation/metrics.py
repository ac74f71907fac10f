"""The metric battery: how a policy behaves under each prompt, computed exactly from its move
distributions on the evaluation positions (no sampling where a distribution exists).

For a policy and a *model prompt* (the prompt the policy is given as the mover; the opponent's
prompt is the position's real one), every evaluation position yields per-position quantities,
averaged with a 95% percentile bootstrap over positions:

* ``expected_loss``: sum over legal moves of p(move) x loss(move) (win-chance points, mover's view);
* ``p_inaccuracy``, ``p_mistake``, ``p_blunder``: probability mass on moves losing at least 0.1,
  0.2, 0.3 win chances;
* ``entropy``: of the move distribution, in nats;
* ``top1``: 1 if the policy's most likely move is the move actually played, else 0 (ties split:
  when k moves share the highest probability and one was played, 1/k);
* ``cross_entropy``: -log p(move actually played), in nats;
* ``decisive_win``: on *decisive* positions only (a mate in one, or a winning capture: the best
  move is a capture and every non-capture loses at least a blunder's worth against it), the mass
  on those decisive moves; ``mate_in_one`` the mass on mating moves where there is a mate in
  one, and ``winning_capture`` the mass on the winning captures where there is one and no mate.

* ``entropy_ratio``: entropy / log(number of legal moves), on positions with two or more: 1 for
  a uniform choice, 0 for a certain one.

``top1`` and ``cross_entropy`` are also broken down by the *data prompt* (the prompt of the
player who really moved), giving the model prompt x data prompt matrix Maia reports. Rows for
the data itself (policy ``played``) give each data prompt's observed mistake rate, the other side
of the calibration plot.

For prompted policies, rows under ``model_prompt`` labels in parentheses pool prompts:

* ``(across prompts)``, ``jsd``: the mean pairwise Jensen-Shannon divergence (nats) between the
  distributions of different model prompts in the same position;
* ``(true)``: each position under the prompt of the player who really moved; ``(shuffled)``: under
  the data prompts permuted across positions (seeded), the control that keeps how often each
  prompt is given but breaks its link to the mover;
* ``(true) - none`` and ``none - (shuffled)``: paired per-position differences of ``top1`` and
  ``cross_entropy`` (one bootstrap over positions for both terms);
* ``(across prompts)``, ``spearman_strength``: with persona strengths given, the Spearman rank
  correlation between each prompt's strength and the policy's quality under that prompt (minus
  its expected loss), resampling positions;
* ``(across prompts)``, ``expected_loss_spread``: the largest minus the smallest mean expected
  loss over the persona prompts (prompt sensitivity: 0 when every prompt plays alike);
* ``(across prompts)``, ``decisive_win_min``: the smallest decisive-win rate over the persona
  prompts (an agent that tries to win everywhere keeps it near 1 under every prompt);
* ``(across prompts)``, ``calibration_slope`` and ``calibration_max_error``: per data prompt, the
  policy's mistake probability under that prompt against the observed mistake rate of the moves
  that prompt's player made (same positions); the least-squares slope of observed on predicted
  across prompts (1 when calibrated) and the largest absolute gap.

:func:`agent_battery` compares several policies on one subset of positions and adds the
*frontier* statistics of a family of policies indexed by a number (the RL learners by their KL
weight beta): ``spearman_beta_<metric>``, the Spearman rank correlation between beta and the
policy's mean ``<metric>`` (pooled over persona prompts; ``top1`` under the true prompt; ``jsd``
across prompts), resampling positions, so all learners are compared on the same resample.

Output: a tidy table, one row per (policy, model prompt, data prompt, metric) with value,
interval, n and the interval's method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import chess
import numpy as np
import pandas as pd
import pyarrow as pa

from ..encoding import move_to_action
from ..policies import Policy
from ..stats import Interval, bootstrap_mean, bootstrap_statistic, spearman
from .win_chances import BLUNDER, INACCURACY, MISTAKE

ALL = "all"  # data-prompt label of metrics over every evaluation position
ACROSS = "(across prompts)"  # model-prompt label of statistics that compare prompts
TRUE, SHUFFLED = "(true)", "(shuffled)"  # model-prompt labels of per-position prompts
COLUMNS = ["policy", "model_prompt", "data_prompt", "metric", "value", "low", "high", "n", "method"]
BATCH = 256  # positions per policy call


@dataclass(frozen=True)
class PositionValues:
    """Action values of one evaluation position, aligned with its legal moves (by action index)."""

    actions: np.ndarray  # int16 [n_legal]
    loss: np.ndarray  # float64 [n_legal]
    decisive: np.ndarray  # bool [n_legal]: mate in one or winning capture (all False if none)
    mate_in_one: np.ndarray  # bool [n_legal]: the move mates at once
    winning_capture: np.ndarray  # bool [n_legal]: a best move that captures where every quiet move blunders
    win_chance: np.ndarray  # float64 [n_legal]: the mover's win chance after each move, in [-1, 1]


def position_values(eval_positions: pa.Table, action_values: pa.Table) -> list[PositionValues]:
    """Per evaluation position (in ``position_id`` order): its legal actions, losses, decisive moves."""
    frame = action_values.select(["position_id", "move", "action", "mate", "win_chance", "loss"]).to_pandas()
    fens = eval_positions.column("fen").to_pylist()
    out = []
    for position_id, rows in frame.groupby("position_id", sort=True):
        board = chess.Board(fens[int(position_id)])
        captures = np.array([board.is_capture(chess.Move.from_uci(m)) for m in rows["move"]])
        loss = rows["loss"].to_numpy(dtype=np.float64)
        mate_in_one = rows["mate"].to_numpy() == 1
        best = loss == 0
        quiet_losses = loss[~captures]
        winning_capture = best & captures & (quiet_losses.size == 0 or quiet_losses.min() >= BLUNDER)
        out.append(
            PositionValues(
                rows["action"].to_numpy(np.int16),
                loss,
                mate_in_one | winning_capture,
                mate_in_one,
                winning_capture,
                rows["win_chance"].to_numpy(dtype=np.float64),
            )
        )
    if len(out) != eval_positions.num_rows:
        raise ValueError(f"action values cover {len(out)} positions, expected {eval_positions.num_rows}")
    return out


def policy_probabilities(
    policy: Policy, eval_positions: pa.Table, values: Sequence[PositionValues], model_prompt: str | Sequence[str]
) -> list[np.ndarray]:
    """The policy's probabilities of each position's legal moves, aligned with ``values[i].actions``.

    ``model_prompt``: one prompt for every position, or one per position.
    """
    fens = eval_positions.column("fen").to_pylist()
    opponents = eval_positions.column("opponent_prompt").to_pylist()
    prompts = [model_prompt] * len(fens) if isinstance(model_prompt, str) else list(model_prompt)
    probs: list[np.ndarray] = []
    for start in range(0, len(fens), BATCH):
        boards = [chess.Board(f) for f in fens[start : start + BATCH]]
        dists = policy.distributions(boards, prompts[start : start + BATCH], opponents[start : start + BATCH])
        for board, dist, pv in zip(boards, dists, values[start : start + BATCH]):
            by_action = {move_to_action(m, board.turn): p for m, p in zip(dist.moves, dist.probs)}
            if set(by_action) != set(pv.actions.tolist()):
                raise ValueError(
                    f"{policy.name}: distribution over {len(by_action)} moves, the position has "
                    f"{len(pv.actions)} legal moves ({board.fen()})"
                )
            probs.append(np.array([by_action[int(a)] for a in pv.actions], dtype=np.float64))
    return probs


def _per_position(
    probs: Sequence[np.ndarray], values: Sequence[PositionValues], played: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(probs)
    out = {
        k: np.zeros(n)
        for k in ("expected_loss", "p_inaccuracy", "p_mistake", "p_blunder", "entropy", "top1", "cross_entropy")
    }
    decisive = np.full(n, np.nan)
    mates = np.full(n, np.nan)
    captures = np.full(n, np.nan)
    entropy_ratio = np.full(n, np.nan)
    for i, (p, pv) in enumerate(zip(probs, values)):
        out["expected_loss"][i] = p @ pv.loss
        out["p_inaccuracy"][i] = p[pv.loss >= INACCURACY].sum()
        out["p_mistake"][i] = p[pv.loss >= MISTAKE].sum()
        out["p_blunder"][i] = p[pv.loss >= BLUNDER].sum()
        nonzero = p[p > 0]
        out["entropy"][i] = float(-(nonzero * np.log(nonzero)).sum())
        if len(p) > 1:
            entropy_ratio[i] = out["entropy"][i] / np.log(len(p))
        j = int(np.flatnonzero(pv.actions == played[i])[0])
        # ties split: each of the k most likely moves counts 1/k (np.argmax would favour the first,
        # the engine's best move in the action values' order)
        best = p >= p.max() * (1 - 1e-12)
        out["top1"][i] = float(best[j]) / float(best.sum())
        out["cross_entropy"][i] = float(-np.log(max(p[j], 1e-300)))
        if pv.decisive.any():
            decisive[i] = p[pv.decisive].sum()
        if pv.mate_in_one.any():
            mates[i] = p[pv.mate_in_one].sum()
        elif pv.winning_capture.any():
            captures[i] = p[pv.winning_capture].sum()
    out["decisive_win"] = decisive
    out["mate_in_one"] = mates
    out["winning_capture"] = captures
    out["entropy_ratio"] = entropy_ratio
    return out


def _rows(
    policy: str, model_prompt: str, data_prompt: str, per_position: dict[str, np.ndarray], mask: np.ndarray, seed: int
) -> list[dict[str, object]]:
    rows = []
    for k, (metric, values) in enumerate(sorted(per_position.items())):
        selected = values[mask]
        selected = selected[~np.isnan(selected)]
        if selected.size == 0:
            continue
        rows.append(
            metric_row(
                policy, model_prompt, data_prompt, metric, bootstrap_mean(selected, seed=seed + k, unit="positions")
            )
        )
    return rows


def metric_row(policy: str, model_prompt: str, data_prompt: str, metric: str, iv: Interval) -> dict[str, object]:
    """One row of a metrics table (:data:`COLUMNS`): a statistic with its interval."""
    return {
        "policy": policy,
        "model_prompt": model_prompt,
        "data_prompt": data_prompt,
        "metric": metric,
        "value": iv.value,
        "low": iv.low,
        "high": iv.high,
        "n": iv.n,
        "method": iv.method,
    }


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (nats) between two distributions over the same moves."""
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        keep = a > 0
        return float((a[keep] * np.log(a[keep] / m[keep])).sum())

    return 0.5 * kl(p) + 0.5 * kl(q)


def evaluate_policy(
    policy: Policy,
    prompts: Sequence[str],
    eval_positions: pa.Table,
    values: Sequence[PositionValues],
    seed: int = 0,
    strengths: Mapping[str, float] | None = None,
    per_position_out: dict[str, dict[str, np.ndarray]] | None = None,
    probabilities_out: dict[str, list[np.ndarray]] | None = None,
    known: Mapping[str, list[np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Every metric of ``policy`` under each model prompt in ``prompts`` (see the module docstring).

    ``probabilities_out``: if given, filled with the policy's distributions under each prompt
    (:func:`policy_probabilities`), for measurements that reuse them (the truth metrics).
    ``known``: distributions already computed, by prompt (the policy is not called for those).

    ``strengths``: a strength per persona prompt (higher is stronger), for ``spearman_strength``.
    ``per_position_out``: if given, filled with the per-position arrays behind the rows, keyed by
    model prompt (including ``(true)``) and, for ``jsd``, by ``(across prompts)``.
    """
    played = eval_positions.column("played_action").to_numpy().astype(np.int64)
    data_prompts = np.array(eval_positions.column("own_prompt").to_pylist())
    everywhere = np.ones(len(played), bool)
    rows: list[dict[str, object]] = []
    all_probs, per_prompt = {}, {}

    def add(prompt: str, probs: list[np.ndarray], k: int) -> None:
        per_position = _per_position(probs, values, played)
        per_prompt[prompt] = per_position
        rows.extend(_rows(policy.name, prompt, ALL, per_position, everywhere, seed * 7919 + 100 * k))
        for data_prompt in sorted(set(data_prompts)):
            subset = {m: per_position[m] for m in ("top1", "cross_entropy", "expected_loss", "p_mistake")}
            rows.extend(
                _rows(policy.name, prompt, data_prompt, subset, data_prompts == data_prompt, seed * 7919 + 100 * k + 50)
            )

    for k, prompt in enumerate(prompts):
        if known is not None and prompt in known:
            all_probs[prompt] = list(known[prompt])
        else:
            all_probs[prompt] = policy_probabilities(policy, eval_positions, values, prompt)
        add(prompt, all_probs[prompt], k)
    if len(prompts) > 1:
        pairs = list(combinations(prompts, 2))
        jsd = np.array(
            [np.mean([jensen_shannon(all_probs[a][i], all_probs[b][i]) for a, b in pairs]) for i in range(len(played))]
        )
        rows += _rows(policy.name, ACROSS, ALL, {"jsd": jsd}, everywhere, seed)
        per_prompt[ACROSS] = {"jsd": jsd}
        personas = [p for p in prompts if p in set(data_prompts)] or [p for p in prompts if p != "none"]
        if len(personas) > 1:
            losses = np.stack([per_prompt[p]["expected_loss"] for p in personas])  # [prompts, positions]
            decisive = np.stack([per_prompt[p]["decisive_win"] for p in personas])  # NaN off decisive positions
            mates = np.stack([per_prompt[p]["mate_in_one"] for p in personas])  # NaN without a mate in one

            def spread(idx: np.ndarray) -> float:
                means = losses[:, idx].mean(axis=1)
                return float(means.max() - means.min())

            def weakest(table: np.ndarray) -> Callable[[np.ndarray], float]:
                def statistic(idx: np.ndarray) -> float:
                    chosen = table[:, idx]
                    keep = ~np.isnan(chosen[0])
                    return float(chosen[:, keep].mean(axis=1).min()) if keep.any() else float("nan")

                return statistic

            rows.append(
                metric_row(
                    policy.name,
                    ACROSS,
                    ALL,
                    "expected_loss_spread",
                    bootstrap_statistic(spread, len(played), seed=seed + 37, unit="positions"),
                )
            )
            for metric, table, salt in (("decisive_win_min", decisive, 41), ("mate_in_one_min", mates, 43)):
                n_positions = int((~np.isnan(table[0])).sum())
                if n_positions:
                    iv = bootstrap_statistic(weakest(table), len(played), seed=seed + salt, unit="positions")
                    rows.append(
                        metric_row(
                            policy.name,
                            ACROSS,
                            ALL,
                            metric,
                            Interval(iv.value, iv.low, iv.high, n_positions, iv.method),
                        )
                    )
    if set(data_prompts) <= set(prompts) and len(set(data_prompts)) > 1:
        # The true and shuffled prompts reuse the distributions computed above: no extra calls.
        shuffled = np.random.default_rng(seed + 17).permutation(data_prompts)
        add(TRUE, [all_probs[p][i] for i, p in enumerate(data_prompts)], len(prompts))
        add(SHUFFLED, [all_probs[p][i] for i, p in enumerate(shuffled)], len(prompts) + 1)
        if "none" in per_prompt:
            for label, (a, b) in {f"{TRUE} - none": (TRUE, "none"), f"none - {SHUFFLED}": ("none", SHUFFLED)}.items():
                diffs = {m: per_prompt[a][m] - per_prompt[b][m] for m in ("top1", "cross_entropy")}
                rows += _rows(policy.name, label, ALL, diffs, everywhere, seed + 29)
        rows += _calibration_rows(policy.name, per_prompt[TRUE]["p_mistake"], values, played, data_prompts, seed)
    ranked = [p for p in prompts if strengths is not None and p in strengths]
    if len(ranked) >= 3:
        strength = np.array([strengths[p] for p in ranked])  # type: ignore[index]
        losses = np.stack([per_prompt[p]["expected_loss"] for p in ranked])  # [prompts, positions]

        def correlation(idx: np.ndarray) -> float:
            return spearman(strength, -losses[:, idx].mean(axis=1))

        iv = bootstrap_statistic(correlation, len(played), seed=seed + 31, unit="positions")
        rows.append(metric_row(policy.name, ACROSS, ALL, "spearman_strength", iv))
    if per_position_out is not None:
        per_position_out.update(per_prompt)
    if probabilities_out is not None:
        probabilities_out.update(all_probs)
    return pd.DataFrame(rows, columns=COLUMNS)


def _calibration_rows(
    policy: str,
    predicted: np.ndarray,
    values: Sequence[PositionValues],
    played: np.ndarray,
    data_prompts: np.ndarray,
    seed: int,
) -> list[dict[str, object]]:
    """Calibration across data prompts: for each, the policy's mistake probability under that
    prompt (mean over the prompt's positions) against the observed rate of its played moves; the
    least-squares slope of observed on predicted (1 when calibrated) and the largest absolute gap."""
    observed = np.array([float(pv.loss[pv.actions == a][0] >= MISTAKE) for pv, a in zip(values, played)])
    groups = [np.flatnonzero(data_prompts == p) for p in sorted(set(data_prompts))]
    if len(groups) < 2:
        return []
    member = np.full(len(played), -1)
    for g, idx in enumerate(groups):
        member[idx] = g

    def rates(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        counts = np.bincount(member[idx], minlength=len(groups)).astype(float)
        pred = np.bincount(member[idx], weights=predicted[idx], minlength=len(groups))
        obs = np.bincount(member[idx], weights=observed[idx], minlength=len(groups))
        with np.errstate(invalid="ignore", divide="ignore"):
            return pred / counts, obs / counts

    def slope(idx: np.ndarray) -> float:
        pred, obs = rates(idx)
        keep = ~np.isnan(pred)
        x, y = pred[keep], obs[keep]
        spread = ((x - x.mean()) ** 2).sum()
        if keep.sum() < 2 or spread <= 1e-12:
            return float("nan")
        return float(((x - x.mean()) * (y - y.mean())).sum() / spread)

    def max_error(idx: np.ndarray) -> float:
        pred, obs = rates(idx)
        return float(np.nanmax(np.abs(pred - obs)))

    n = len(played)
    return [
        metric_row(
            policy, ACROSS, ALL, "calibration_slope", bootstrap_statistic(slope, n, seed=seed + 43, unit="positions")
        ),
        metric_row(
            policy,
            ACROSS,
            ALL,
            "calibration_max_error",
            bootstrap_statistic(max_error, n, seed=seed + 47, unit="positions"),
        ),
    ]


def observed_rates(eval_positions: pa.Table, values: Sequence[PositionValues], seed: int = 0) -> pd.DataFrame:
    """The data's own behaviour (policy ``played``): loss, mistake and decisive-win rates of the moves
    really played."""
    played = eval_positions.column("played_action").to_numpy().astype(np.int64)
    data_prompts = np.array(eval_positions.column("own_prompt").to_pylist())
    losses = np.array([pv.loss[int(np.flatnonzero(pv.actions == a)[0])] for pv, a in zip(values, played)])
    per_position = {
        "expected_loss": losses,
        "p_inaccuracy": (losses >= INACCURACY).astype(float),
        "p_mistake": (losses >= MISTAKE).astype(float),
        "p_blunder": (losses >= BLUNDER).astype(float),
        # on decisive positions only: did the player take the mate or winning capture?
        "decisive_win": np.array(
            [float(pv.decisive[pv.actions == a][0]) if pv.decisive.any() else np.nan for pv, a in zip(values, played)]
        ),
        "mate_in_one": np.array(
            [
                float(pv.mate_in_one[pv.actions == a][0]) if pv.mate_in_one.any() else np.nan
                for pv, a in zip(values, played)
            ]
        ),
    }
    rows: list[dict[str, object]] = []
    for data_prompt in sorted(set(data_prompts)):
        rows += _rows("played", data_prompt, data_prompt, per_position, data_prompts == data_prompt, seed)
    return pd.DataFrame(rows, columns=COLUMNS)


def metric_battery(
    eval_positions: pa.Table,
    values: Sequence[PositionValues],
    policies: Mapping[str, tuple[Policy, Sequence[str]]],
    seed: int = 0,
    strengths: Mapping[str, float] | None = None,
    known: Mapping[str, Mapping[str, list[np.ndarray]]] | None = None,
    probabilities_out: dict[str, dict[str, list[np.ndarray]]] | None = None,
) -> pd.DataFrame:
    """The battery for every policy of a run (name -> (policy, model prompts)), and the data's
    own observed rates (policy ``played``). ``known``: distributions already computed, by policy
    and prompt; ``probabilities_out``: filled with every policy's distributions, by prompt."""
    frames = []
    for name, (policy, prompts) in policies.items():
        out: dict[str, list[np.ndarray]] = {}
        frames.append(
            evaluate_policy(
                policy,
                prompts,
                eval_positions,
                values,
                seed,
                strengths,
                probabilities_out=out,
                known=(known or {}).get(name),
            )
        )
        if probabilities_out is not None:
            probabilities_out[name] = out
    frames.append(observed_rates(eval_positions, values, seed))
    return pd.concat(frames, ignore_index=True)


def agent_subset(
    eval_positions: pa.Table, action_values: pa.Table, per_prompt: int, seed: int
) -> tuple[pa.Table, pa.Table]:
    """The first ``per_prompt`` positions of each data prompt in a seeded order (all of a prompt's
    when it has fewer), with ``position_id`` renumbered 0..n-1 in both tables."""
    prompts = np.array(eval_positions.column("own_prompt").to_pylist())
    order = np.random.default_rng(seed).permutation(len(prompts))
    chosen = np.sort(np.concatenate([order[prompts[order] == p][:per_prompt] for p in sorted(set(prompts))]))
    renumber = {int(old): new for new, old in enumerate(eval_positions.column("position_id").to_numpy()[chosen])}
    positions = eval_positions.take(pa.array(chosen))
    positions = positions.set_column(
        positions.schema.get_field_index("position_id"),
        "position_id",
        pa.array(np.arange(len(chosen)), type=positions.schema.field("position_id").type),
    )
    ids = action_values.column("position_id").to_numpy()
    keep = np.flatnonzero(np.isin(ids, list(renumber)))
    values = action_values.take(pa.array(keep))
    new_ids = np.array([renumber[int(i)] for i in ids[keep]])
    values = values.set_column(
        values.schema.get_field_index("position_id"),
        "position_id",
        pa.array(new_ids, type=values.schema.field("position_id").type),
    )
    return positions, values


def frontier_statistics(
    family: Mapping[str, float],
    per_position: Mapping[str, dict[str, dict[str, np.ndarray]]],
    personas: Sequence[str],
    seed: int = 0,
    label: str = "beta",
) -> pd.DataFrame:
    """Spearman rank correlations between a family's index (``family``: policy name -> beta) and
    each policy's mean metric, one bootstrap over positions shared by every policy.

    ``per_position``: policy name -> :func:`evaluate_policy`'s ``per_position_out``. Metrics:
    ``entropy``, ``expected_loss`` and ``decisive_win`` pooled over the persona prompts, ``top1``
    under the true prompt, ``jsd`` across prompts. Rows: policy ``<label> family``, model prompt
    ``(across prompts)``, metric ``spearman_<label>_<metric>``.
    """
    names = sorted(family, key=lambda name: family[name])
    if len(names) < 3:
        return pd.DataFrame(columns=COLUMNS)
    index = np.array([family[name] for name in names])
    # Pool over the persona prompts every policy was evaluated under (all of them unless the
    # config restricts the prompts), else over no prompt.
    personas = [p for p in personas if all(p in per_position[n] for n in names)] or ["none"]

    # top1 is read under the true prompt, jsd across prompts; the rest pooled over the personas.
    pooled_under = {"top1": TRUE, "jsd": ACROSS}

    def series(name: str, metric: str) -> np.ndarray | None:
        arrays = per_position[name]
        if metric in pooled_under:
            key = pooled_under[metric]
            return arrays[key][metric] if key in arrays else None
        # NaN where the metric is undefined (decisive_win off decisive positions): dropped below.
        pooled: np.ndarray = np.stack([arrays[p][metric] for p in personas]).mean(axis=0)
        return pooled

    rows = []
    for k, metric in enumerate(("entropy", "top1", "jsd", "expected_loss", "decisive_win")):
        found = [series(name, metric) for name in names]
        columns = [column for column in found if column is not None]
        if len(columns) < len(found):  # a policy evaluated without that view
            continue
        table = np.stack(columns)  # [policies, positions]
        defined = ~np.isnan(table).any(axis=0)
        table = table[:, defined]
        if table.shape[1] == 0:
            continue

        def correlation(idx: np.ndarray, table: np.ndarray = table) -> float:
            return spearman(index, table[:, idx].mean(axis=1))

        iv = bootstrap_statistic(correlation, table.shape[1], seed=seed + 53 + k, unit="positions")
        rows.append(metric_row(f"{label} family", ACROSS, ALL, f"spearman_{label}_{metric}", iv))
    return pd.DataFrame(rows, columns=COLUMNS)


def agent_battery(
    eval_positions: pa.Table,
    action_values: pa.Table,
    policies: Mapping[str, tuple[Policy, Sequence[str]]],
    family: Mapping[str, float],
    seed: int = 0,
    probabilities_out: dict[str, dict[str, list[np.ndarray]]] | None = None,
) -> pd.DataFrame:
    """Every policy of ``policies`` (name -> (policy, model prompts)) on the same positions, and the
    frontier statistics of ``family`` (policy name -> beta) across them. ``probabilities_out``:
    if given, filled with each policy's distributions by prompt (:func:`policy_probabilities`)."""
    values = position_values(eval_positions, action_values)
    data_prompts = sorted(set(eval_positions.column("own_prompt").to_pylist()))
    frames: list[pd.DataFrame] = []
    arrays: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for name, (policy, prompts) in policies.items():
        arrays[name] = {}
        probabilities = probabilities_out.setdefault(name, {}) if probabilities_out is not None else None
        frames.append(evaluate_policy(policy, prompts, eval_positions, values, seed, per_position_out=arrays[name],
                                      probabilities_out=probabilities))  # fmt: skip
    frames.append(frontier_statistics({n: b for n, b in family.items() if n in arrays}, arrays, data_prompts, seed))
    frames.append(observed_rates(eval_positions, values, seed))
    return pd.concat([f for f in frames if len(f)], ignore_index=True)
