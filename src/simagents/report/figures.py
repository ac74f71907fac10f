"""The paper's figures, each drawn from a run's tables in one seaborn style, saved as PDF and PNG.

Every figure has a name (:data:`FIGURES`), a caption (the same text in the paper and in
Snakemake's HTML report) and a function ``draw_<name>(tables) -> Figure``. Error bars are the
tables' 95% intervals (bootstrap over positions or games, as each table's ``method`` says).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a cluster node
logging.getLogger("fontTools").setLevel(logging.WARNING)  # its PDF font subsetting logs every table at INFO

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from ..agents.roster import AgentId, frontier_beta
from ..outputs import atomic_output
from .tables import TRUTH_ROLES, MissingTableError, RunTables

#: name -> caption. The paper and the HTML report both print these.
FIGURES: dict[str, str] = {
    "population": "The population and the simulator. Left: each anchor agent's measured Elo against its "
    "nominal rating. Right: the simulator's Elo under each persona's prompt against that "
    "persona's measured Elo; the dashed line is identity (a perfect simulator of strength). "
    "Bars: 95% bootstrap intervals over ladder games.",
    "divergence": "The persona x prompt matrix: KL(persona || policy under the prompt), nats, mean over the "
    "evaluation positions, each persona's exact distribution (rows) against the policy prompted as each "
    "persona (columns). A simulator of the population has its row minima on the diagonal, as the oracle "
    "does; the prompt-blind simulator has equal columns. The simulator's seeds are averaged.",
    "calibration": "Mistake calibration. Left: each persona's exact probability of a mistake (a move losing at "
    "least 0.2 win chances) against the simulator's under that persona's prompt (on synthetic data; on "
    "human data, the observed rate of the persona's moves). Right: the reliability diagram, positions "
    "binned by the persona's exact mistake probability, the simulator's mean prediction in each bin. "
    "Dashed: identity. Bars: 95% bootstrap intervals over seeds, then positions.",
    "move_matching": "Move matching: the share of positions where the simulator's most likely move under the "
    "model prompt (rows) is the move played by the data prompt's player (columns), ties shared. Under each "
    "column, its ceiling on synthetic data: the top-1 of the persona's own exact distribution, the most any "
    "policy can expect against moves sampled from it.",
    "frontier": "The KL-regularised frontier, exact: pi ~ p exp(Q/beta) with Q the Stockfish win chance of "
    "each move, from the policy (left end of each curve) to the agent that takes the best move, against "
    "sqrt(KL(pi || p)). Expected win-chance loss, entropy and the prompt sensitivity (spread of expected "
    "loss across the persona prompts) averaged over the persona prompts, and the divergence to the "
    "personas' truth, for the simulator (seeds together), the oracle and the prompt-blind simulator. "
    "Bands: 95% bootstrap intervals over seeds, then positions. Right: the frontier played, ladder Elo "
    "under each prompt of the simulator (at 0) and of the simulator tilted by a Q of the ladder's node "
    "budget in every move of its games, placed at the exact frontier's KL of its beta (20,000-node Q, "
    "mean over prompts); crosses: the RL learners at the KL of their last iteration; dotted: the "
    "Stockfish personas. Bars: 95% bootstrap intervals over games.",
    "sensitivity": "Prompt sensitivity before and after RL. Expected win-chance loss per move (left) and Elo "
    "(right) under each prompt, for the simulator and each RL learner. Flat lines mean the "
    "prompt no longer changes behaviour. Bars: 95% bootstrap intervals.",
    "decisive": "Decisive wins: on positions with a mate in one or a winning capture, the probability of "
    "taking it, by prompt and policy. Dashed: the uniform random mover; dotted: the rate at which "
    "the data's own players took them. Bars: 95% bootstrap intervals over positions.",
    "training": "Training curves. Left: the simulator's training and validation loss (nats over legal moves). "
    "Right: each RL learner's score against the frozen simulator per iteration (smoothed over 5).",
}


def _style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 150, "savefig.bbox": "tight", "pdf.fonttype": 42})


#: The run tables each figure reads (roles of :mod:`.tables`): the figure rule passes exactly these.
FIGURE_TABLES: dict[str, tuple[str, ...]] = {
    "population": ("elo",),
    "divergence": ("truth_metrics",),
    "calibration": ("calibration", "truth_metrics", "reliability"),
    "move_matching": ("metrics", "truth_metrics"),
    "frontier": ("exact_frontier", "elo", "rlft_summary"),
    "sensitivity": ("agent_metrics", "elo"),
    "decisive": ("agent_metrics", "metrics"),
    "training": ("simulator_curves", "rlft_curves"),
}


def load_tables(tables: RunTables, name: str, simulator: str) -> dict[str, pd.DataFrame]:
    """The tables figure ``name`` draws from, by role; a missing one is an error naming it.

    ``simulator_curves`` is the given simulator's; ``rlft_curves`` every RL learner's, stacked
    with its ``beta`` and ``seed`` as columns.
    """
    # the truth's tables exist for the synthetic population only: a figure draws without them
    roles = tuple(r for r in FIGURE_TABLES[name] if r not in TRUTH_ROLES or tables.has(r))
    tables.require(roles)
    out: dict[str, pd.DataFrame] = {}
    for role in roles:
        if role == "simulator_curves":
            curves = tables.labelled(role)
            if simulator not in curves:
                raise MissingTableError(
                    f"figure {name} needs the curves of {simulator}: pass --table {role}:{simulator}=PATH"
                )
            out[role] = pd.read_csv(curves[simulator])
        elif role == "rlft_curves":
            frames = []
            for label, frame in tables.labelled_frames(role).items():
                agent = AgentId.parse(label)
                frames.append(frame.assign(beta=agent.weight_value, seed=agent.seed))
            out[role] = pd.concat(frames, ignore_index=True)
        else:
            out[role] = tables.frame(role)
    return out


def _errorbar(ax: Axes, x: Any, y: Any, low: Any, high: Any, **kwargs: Any) -> None:
    """Points at ``(x, y)`` with vertical bars from ``low`` to ``high`` (array-likes of one length)."""
    y, low, high = (np.asarray(a, float) for a in (y, low, high))
    ax.errorbar(x, y, yerr=[y - low, high - y], fmt=kwargs.pop("fmt", "o"), capsize=2, **kwargs)


def _identity(ax: Axes) -> None:
    lo = min(ax.get_xlim()[0], ax.get_ylim()[0])
    hi = max(ax.get_xlim()[1], ax.get_ylim()[1])
    ax.plot([lo, hi], [lo, hi], ls="--", color="0.5", lw=0.8, zorder=0)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)


def _personas(elo: pd.DataFrame) -> pd.DataFrame:
    return elo[elo["kind"].isin(["random", "greedy", "stockfish"])]


def draw_population(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    elo = tables["elo"]
    anchors = _personas(elo).sort_values("nominal")
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 3.2))
    fig.subplots_adjust(wspace=0.4)  # room for the right panel's y-axis title beside the left panel
    _errorbar(left, anchors["nominal"], anchors["elo"], anchors["low"], anchors["high"])
    _identity(left)
    _label_points(left, list(anchors["nominal"]), list(anchors["elo"]), list(anchors["player"]))
    left.set(xlabel="nominal rating", ylabel="measured Elo", title="anchor agents")
    sim = elo[(elo["agent"] == simulator) & elo["prompt"].isin(anchors["player"])]
    persona_elo = anchors.set_index("player")["elo"]
    x = persona_elo.loc[sim["prompt"]].to_numpy()
    _errorbar(right, x, sim["elo"], sim["low"], sim["high"], color="C1")
    _identity(right)
    _label_points(right, list(x), list(sim["elo"]), list(sim["prompt"]))
    right.set(xlabel="persona's measured Elo", ylabel="simulator's Elo under its prompt", title="the simulator")
    return fig


def _no_truth(fig: Figure, ax: Axes) -> Figure:
    ax.text(0.5, 0.5, "no exact truth: the run reads human games", ha="center", va="center", transform=ax.transAxes)
    ax.set(xticks=[], yticks=[])
    return fig


def draw_divergence(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    if "truth_metrics" not in tables:
        return _no_truth(*plt.subplots(figsize=(7.4, 2.8)))
    truth = tables["truth_metrics"]
    kl = truth[truth["metric"] == "kl"]
    personas = list(dict.fromkeys(kl["persona"]))
    panels = [p for p in ("simulator", "oracle", "prompt_blind") if p in set(kl["policy"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.9 * len(panels), 2.9), squeeze=False)
    top = float(kl[kl["policy"].isin(panels) & kl["model_prompt"].isin(personas)]["value"].max())
    for ax, policy in zip(axes[0], panels):
        matrix = (
            kl[(kl["policy"] == policy) & kl["model_prompt"].isin(personas)]
            .pivot(index="persona", columns="model_prompt", values="value")
            .reindex(index=personas, columns=personas)
            .clip(lower=0.0)  # the smoothing can leave -0.00 where policy and persona agree
        )
        sns.heatmap(
            matrix,
            annot=True,
            fmt=".2f",
            cmap="viridis_r",
            vmin=0,
            vmax=top,
            cbar=False,
            ax=ax,
            annot_kws={"fontsize": 6},
        )
        for k in range(len(personas)):  # the row minimum of each persona (none where the row is flat)
            row = matrix.to_numpy()[k]
            if np.nanmax(row) - np.nanmin(row) < 5e-3:
                continue
            j = int(np.nanargmin(row))
            ax.add_patch(Rectangle((j, k), 1, 1, fill=False, edgecolor="red", lw=1.2))
        ax.set_title(policy.replace("_", "-"), fontsize=9)
        ax.set_xlabel("prompt")
        ax.set_ylabel("persona (truth)" if ax is axes[0][0] else "")
        ax.tick_params(labelsize=7)
    return fig


def draw_calibration(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.3))
    if "truth_metrics" in tables:
        truth = tables["truth_metrics"]
        true = truth[(truth["policy"] == "truth") & (truth["metric"] == "p_mistake_true")].set_index("persona")
        mine = truth[(truth["policy"] == "simulator") & (truth["metric"] == "p_mistake")].set_index("persona")
        personas = [p for p in true.index if p in mine.index]
        x, y = true.loc[personas], mine.loc[personas]
        _errorbar(left, x["value"], y["value"], y["low"], y["high"])
        xlabel = "persona's exact mistake probability"
    else:
        table = tables["calibration"]
        table = table[table["policy"] == simulator]
        personas = list(table["prompt"])
        x = table.set_index("prompt")[["observed"]].rename(columns={"observed": "value"})
        y = table.set_index("prompt")[["predicted", "predicted_low", "predicted_high"]]
        y.columns = ["value", "low", "high"]
        _errorbar(left, x["value"], y["value"], y["low"], y["high"])
        xlabel = "observed mistake rate of the persona"
    left.set_xlim(0, None)
    left.set_ylim(0, None)
    _identity(left)
    _label_points(left, list(x["value"]), list(y["value"]), personas)
    left.set(xlabel=xlabel, ylabel="simulator's mistake probability", title="per persona")
    if "reliability" in tables:
        rel = tables["reliability"]
        rel = rel[rel["policy"] == "simulator"]
        for k, (persona, group) in enumerate(rel.groupby("persona", sort=False)):
            right.plot(group["true"], group["predicted"], "o-", color=f"C{k}", label=str(persona), ms=3)
        right.plot([0, 1], [0, 1], ls="--", color="0.5", lw=0.8)
        right.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel="exact mistake probability at a position (bin mean)",
            ylabel="simulator's mean prediction",
            title="reliability",
        )
        right.legend(fontsize=6, loc="upper left")
    else:
        _no_truth(fig, right)
    return fig


def _label_points(ax: Axes, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str]) -> None:
    """A label beside each point, placed where it overlaps no label placed before it: to the
    right of the point (to its left in the right part of the axes, so that it stays inside), moved
    up a line at a time, with a leader line once it has left its point. Call it once the axes'
    limits are final."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    x_low, x_high = ax.get_xlim()
    from matplotlib.transforms import Bbox

    # the points themselves are obstacles too: a label must not sit on another point
    centres = ax.transData.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]))
    placed: list[Any] = [Bbox.from_bounds(cx - 5, cy - 5, 10, 10) for cx, cy in centres]
    for i in np.argsort(np.asarray(ys, float), kind="stable"):
        right_side = (float(xs[i]) - x_low) > 0.6 * (x_high - x_low)
        for step in range(40):
            note = ax.annotate(
                labels[i],
                (xs[i], ys[i]),
                xytext=(-4 if right_side else 4, 2 + 8 * step),
                textcoords="offset points",
                fontsize=7,
                ha="right" if right_side else "left",
                va="bottom",
                arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"} if step else None,
            )
            note.update_positions(renderer)
            box = Text.get_window_extent(note, renderer)  # the label's own box, not its leader line's
            if not any(box.overlaps(other) for other in placed) or step == 39:
                break
            note.remove()
        placed.append(box)


def draw_move_matching(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    metrics = tables["metrics"]
    rows = metrics[
        (metrics["policy"] == simulator)
        & (metrics["metric"] == "top1")
        & (metrics["data_prompt"] != "all")
        & ~metrics["model_prompt"].str.startswith("(")
    ]
    matrix = rows.pivot(index="model_prompt", columns="data_prompt", values="value")
    fig, ax = plt.subplots(figsize=(4.4, 3.6))
    sns.heatmap(matrix, annot=True, fmt=".2f", cmap="viridis", cbar_kws={"label": "top-1 move matching"}, ax=ax)
    if "truth_metrics" in tables:  # each column's ceiling: the best any policy can expect on its positions
        truth = tables["truth_metrics"]
        rows = truth[(truth["policy"] == "truth") & (truth["metric"] == "top1_ceiling")]
        ceiling = {str(p): float(v) for p, v in zip(rows["persona"], rows["value"])}
        columns = [str(c) for c in matrix.columns]
        # Short labels: five "(ceiling 0.28)" side by side do not fit the figure's width.
        labels = [f"{c}\n\u2264 {ceiling[c]:.2f}" if c in ceiling else c for c in columns]
        ax.set_xticks(np.arange(len(labels)) + 0.5, labels, rotation=0, fontsize=7)
        ax.set(xlabel="data prompt (who played the move; \u2264 its top-1 ceiling)", ylabel="model prompt")
    else:
        ax.set(xlabel="data prompt (who played the move)", ylabel="model prompt")
    return fig


def draw_frontier(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    if "exact_frontier" not in tables:
        return _no_truth(*plt.subplots(figsize=(10.0, 2.8)))
    frontier = tables["exact_frontier"]
    kl = frontier[(frontier["metric"] == "mean_kl_to_policy")]
    fig, axes = plt.subplots(1, 5, figsize=(12.5, 2.8))
    panels = (
        ("mean_expected_loss", "expected loss per move"),
        ("mean_entropy", "entropy (nats)"),
        ("loss_spread", "prompt sensitivity"),
        ("truth_kl", "KL to the personas (nats)"),
    )
    # the controls first, dashed, so that the simulator's curve is drawn on top where they overlap
    styles = {"oracle": (1, "--"), "prompt_blind": (2, ":"), "simulator": (0, "-")}
    for family in (f for f in styles if f in set(frontier["family"])):
        k, line = styles[family]
        rows = frontier[frontier["family"] == family]
        x = np.sqrt(kl[kl["family"] == family].groupby("beta")["value"].mean())
        for ax, (metric, label) in zip(axes, panels):
            curve = rows[rows["metric"] == metric].set_index("beta").reindex(x.index)
            if curve["value"].isna().all():
                continue
            order = np.argsort(x.to_numpy())
            xs = x.to_numpy()[order]
            ax.plot(xs, curve["value"].to_numpy()[order], marker="o", ls=line, ms=2.5, color=f"C{k}",
                    label=family.replace("_", "-"), zorder=3 if family == "simulator" else 2)  # fmt: skip
            ax.fill_between(
                xs, curve["low"].to_numpy()[order], curve["high"].to_numpy()[order], color=f"C{k}", alpha=0.2, lw=0
            )
            ax.set_title(label, fontsize=8)
    _draw_played_frontier(axes[4], tables, simulator, kl[kl["family"] == "simulator"].groupby("beta")["value"].mean())
    for ax in axes:
        ax.set_xlabel("sqrt KL(pi || policy)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return fig


def _draw_played_frontier(ax: Axes, tables: Mapping[str, pd.DataFrame], simulator: str, kl: pd.Series) -> None:
    """Ladder Elo against sqrt(KL): the simulator (at 0), the frontier players at the exact
    frontier's KL of their beta (``kl``: mean KL to the simulator by beta), and the RL learners at
    the KL of their last iteration, one colour per prompt the frontier players play under;
    dotted: the Stockfish personas' Elo."""
    elo = tables["elo"]
    players: list[dict[str, Any]] = [{str(k): v for k, v in row.items()} for row in elo.to_dict("records")]
    prompts = sorted({str(p["prompt"]) for p in players if p["kind"] == "frontier"}) or ["none"]
    for persona in players:
        if persona["kind"] == "stockfish":
            ax.axhline(float(persona["elo"]), ls=":", lw=0.8, color="0.5", zorder=0)
            ax.annotate(str(persona["player"]), (1.0, float(persona["elo"])), xycoords=("axes fraction", "data"),
                        fontsize=6, color="0.4", va="bottom", ha="right")  # fmt: skip
    learners = {
        str(AgentId("rlft", int(run["seed"]), float(run["beta"]))): float(
            np.sqrt(max(float(run["kl_last_iteration"]), 0.0))
        )
        for run in tables["rlft_summary"].to_dict("records")
    }
    for k, prompt in enumerate(prompts):
        played: list[tuple[float, dict[str, Any]]] = []
        learned: list[tuple[float, dict[str, Any]]] = []
        for row in (p for p in players if p["prompt"] == prompt):
            agent = str(row["agent"])
            beta = frontier_beta(agent)
            if agent == simulator:
                played.append((0.0, row))
            elif row["kind"] == "frontier" and beta is not None:
                match = [b for b in kl.index if np.isclose(float(b), beta)]
                if match:
                    played.append((float(np.sqrt(kl[match[0]])), row))
            elif agent in learners:
                learned.append((learners[agent], row))
        for points, style, label in ((played, "o-", "frontier"), (learned, "x", "RL")):
            if not points:
                continue
            points.sort(key=lambda point: point[0])
            xs = [x for x, _ in points]
            ys, lows, highs = ([float(r[c]) for _, r in points] for c in ("elo", "low", "high"))
            _errorbar(ax, xs, ys, lows, highs, fmt=style, ms=3, lw=1, color=f"C{k + 3}", label=f"{label}, {prompt}")
    ax.set_title("ladder Elo", fontsize=8)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=5.5, loc="upper left")


def draw_sensitivity(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    agents = tables["agent_metrics"]
    elo = tables["elo"]
    anchor_elo = elo.set_index("player")["elo"]
    personas = sorted(_personas(elo)["player"], key=lambda p: float(anchor_elo[p]))
    policies = [simulator] + sorted(p for p in agents["policy"].unique() if str(p).startswith("rlft_"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.4, 3.2), sharex=True)
    for k, policy in enumerate(policies):
        rows = (
            agents[
                (agents["policy"] == policy) & (agents["metric"] == "expected_loss") & (agents["data_prompt"] == "all")
            ]
            .set_index("model_prompt")
            .reindex(personas)
        )
        offset = (k - len(policies) / 2) * 0.06
        x = np.arange(len(personas)) + offset
        _errorbar(
            left,
            x,
            rows["value"],
            rows["low"],
            rows["high"],
            fmt="o-",
            color=f"C{k}",
            label=policy.replace("_seed0", ""),
        )
        ratings = elo[elo["agent"] == policy].set_index("prompt").reindex(personas)
        _errorbar(right, x, ratings["elo"], ratings["low"], ratings["high"], fmt="o-", color=f"C{k}")
    for ax in (left, right):
        ax.set_xticks(range(len(personas)), personas)
        ax.set_xlabel("prompt (personas, weakest first)")
    left.set_ylabel("expected win-chance loss per move")
    right.set_ylabel("Elo")
    left.legend(fontsize=7)
    return fig


def draw_decisive(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    agents = tables["agent_metrics"]
    rows = agents[
        (agents["metric"] == "decisive_win")
        & (agents["data_prompt"] == "all")
        & ~agents["model_prompt"].str.startswith("(")
        & ~agents["policy"].isin(["played", "random_mover", "greedy_grabber"])
    ].copy()
    rows["policy"] = rows["policy"].str.replace("_seed0", "", regex=False)
    order = sorted(rows["model_prompt"].unique())
    policies = list(dict.fromkeys(rows["policy"]))
    fig, ax = plt.subplots(figsize=(7.4, 3.4))
    if not policies:  # a small run's positions may hold no mate in one and no winning capture
        ax.text(
            0.5,
            0.5,
            "no evaluated position has a mate in one or a winning capture",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set(xticks=[], yticks=[])
        return fig
    width = 0.8 / len(policies)
    for k, policy in enumerate(policies):
        group = rows[rows["policy"] == policy].set_index("model_prompt").reindex(order)
        x = np.arange(len(order)) + (k - (len(policies) - 1) / 2) * width
        ax.bar(x, group["value"], width=width, label=policy, color=plt.get_cmap("tab20")(k % 20))  # >10 policies
        ax.errorbar(
            x,
            group["value"],
            yerr=[group["value"] - group["low"], group["high"] - group["value"]],
            fmt="none",
            ecolor="k",
            elinewidth=0.6,
            capsize=1,
        )
    metrics = tables["metrics"]
    uniform = metrics[(metrics["policy"] == "random_mover") & (metrics["metric"] == "decisive_win")]
    if len(uniform):
        ax.axhline(float(uniform["value"].iloc[0]), ls="--", color="0.3", lw=0.8, label="uniform random mover")
    played = metrics[(metrics["policy"] == "played") & (metrics["metric"] == "decisive_win")]
    if len(played):
        ax.scatter(
            [order.index(p) for p in played["model_prompt"] if p in order],
            [v for p, v in zip(played["model_prompt"], played["value"]) if p in order],
            marker="_",
            s=400,
            color="k",
            zorder=3,
            label="data (played)",
        )
    ax.set_xticks(range(len(order)), order)
    ax.set(xlabel="prompt", ylabel="decisive-win rate", ylim=(0, 1.05))
    # Beside the bars, not over them: the legend has a dozen entries.
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return fig


def draw_training(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.4, 3.0))
    fig.subplots_adjust(wspace=0.4)  # room for the right panel's y-axis title beside the left panel
    curves = tables["simulator_curves"]
    for column, label in (("train_loss", "train"), ("val_loss", "validation")):
        if column in curves.columns:
            data = curves.dropna(subset=[column])
            left.plot(data["step"], data[column], label=label)
    left.set(xlabel="step", ylabel="loss (nats)", title="simulator")
    left.legend(fontsize=7)
    rl = tables["rlft_curves"]
    for k, (beta, group) in enumerate(rl.groupby("beta")):
        smooth = group["score_vs_frozen"].rolling(5, min_periods=1).mean()
        right.plot(group["iteration"], smooth, label=f"beta {beta:g}", color=f"C{k}")
    right.axhline(0.5, ls="--", color="0.5", lw=0.8)
    right.set(xlabel="iteration", ylabel="score against the frozen simulator", title="RL fine-tuning")
    right.legend(fontsize=7)
    return fig


DRAW: dict[str, Callable[[Mapping[str, pd.DataFrame], str], Figure]] = {
    "population": draw_population,
    "divergence": draw_divergence,
    "calibration": draw_calibration,
    "move_matching": draw_move_matching,
    "frontier": draw_frontier,
    "sensitivity": draw_sensitivity,
    "decisive": draw_decisive,
    "training": draw_training,
}


def overlapping_texts(fig: Figure, margin: float = 1.0) -> list[tuple[str, str]]:
    """Every pair of non-empty texts that drawing ``fig`` puts on the canvas (titles, axis and
    tick labels, annotations, legend entries) whose boxes overlap by more than ``margin`` display
    pixels each way: labels drawn over each other, which a reader cannot read. Only the texts
    actually drawn count (an axis keeps labels for ticks outside its view, and draws none)."""
    drawn: list[Text] = []
    draw_text = Text.draw

    def record(text: Text, renderer: Any) -> None:
        drawn.append(text)
        draw_text(text, renderer)

    Text.draw = record  # type: ignore[method-assign,assignment]
    try:
        fig.canvas.draw()
    finally:
        Text.draw = draw_text  # type: ignore[method-assign]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = []
    for text in dict.fromkeys(drawn):
        if text.get_visible() and text.get_text().strip() and text.get_alpha() != 0:
            box = Text.get_window_extent(text, renderer)  # an annotation's text, not its leader line
            if box.width > 0 and box.height > 0:
                boxes.append((text.get_text(), box))
    pairs = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if overlap_x > margin and overlap_y > margin:
                pairs.append((a, b))
    return pairs


def make_figure(name: str, tables: RunTables, simulator: str, out_dir: Path) -> list[Path]:
    """Draw one figure into ``out_dir`` as ``<name>.pdf`` and ``<name>.png`` from the run's
    ``tables`` (:data:`FIGURE_TABLES`); ``simulator``: the simulator it shows (an agent name)."""
    if name not in DRAW:
        raise ValueError(f"unknown figure {name!r}; known: {sorted(DRAW)}")
    _style()
    fig = DRAW[name](load_tables(tables, name, simulator), simulator)
    for a, b in overlapping_texts(fig):  # tests/test_figures.py holds the committed figures to none
        logging.getLogger(__name__).warning("figure %s: the labels %r and %r overlap", name, a, b)
    written = []
    for suffix in ("pdf", "png"):
        path = out_dir / f"{name}.{suffix}"
        with atomic_output(path) as tmp:  # the format named: the temporary file's suffix is .part
            fig.savefig(tmp, format=suffix, metadata={"CreationDate": None} if suffix == "pdf" else None)
        written.append(path)
    plt.close(fig)
    return written
