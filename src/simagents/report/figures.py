"""The paper's figures, each drawn from a run's tables in one seaborn style, saved as PDF and PNG.

Every figure has a name (:data:`FIGURES`), a caption (the same text in the paper and in
Snakemake's HTML report) and a function ``draw_<name>(tables) -> Figure``. Error bars are the
tables' 95% intervals (bootstrap over positions or games, as each table's ``method`` says).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
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
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..agents.roster import AgentId
from ..outputs import atomic_output
from .tables import MissingTableError, RunTables

#: name -> caption. The paper and the HTML report both print these.
FIGURES: dict[str, str] = {
    "population": "The population and the simulator. Left: each anchor agent's measured Elo against its "
    "nominal rating. Right: the simulator's Elo under each persona's prompt against that "
    "persona's measured Elo; the dashed line is identity (a perfect simulator of strength). "
    "Bars: 95% bootstrap intervals over ladder games.",
    "calibration": "Mistake calibration. The simulator's probability of a mistake (a move losing at least "
    "0.2 win chances) under each persona's prompt, against the observed mistake rate of that "
    "persona's moves in the same positions. Dashed: identity. Bars: 95% bootstrap intervals "
    "over positions.",
    "move_matching": "Move matching: the share of positions where the simulator's most likely move under the "
    "model prompt (rows) is the move played by the data prompt's player (columns).",
    "frontier": "The beta frontier. Left: each RL learner's score against the frozen simulator by KL weight "
    "beta. Right: playing strength (Elo, averaged over prompts) against move-matching of the data "
    "(top-1 under the true prompt), coloured by entropy; the simulator, the RL learners and the "
    "search agents (piKL, AlphaZero-style). Bars: 95% bootstrap intervals.",
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
    "calibration": ("calibration",),
    "move_matching": ("metrics",),
    "frontier": ("rlft_summary", "agent_metrics", "elo"),
    "sensitivity": ("agent_metrics", "elo"),
    "decisive": ("agent_metrics", "metrics"),
    "training": ("simulator_curves", "rlft_curves"),
}


def load_tables(tables: RunTables, name: str, simulator: str) -> dict[str, pd.DataFrame]:
    """The tables figure ``name`` draws from, by role; a missing one is an error naming it.

    ``simulator_curves`` is the given simulator's; ``rlft_curves`` every RL learner's, stacked
    with its ``beta`` and ``seed`` as columns.
    """
    roles = FIGURE_TABLES[name]
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
    _errorbar(left, anchors["nominal"], anchors["elo"], anchors["low"], anchors["high"])
    for _, row in anchors.iterrows():
        left.annotate(
            row["player"], (row["nominal"], row["elo"]), textcoords="offset points", xytext=(4, -10), fontsize=7
        )
    _identity(left)
    left.set(xlabel="nominal rating", ylabel="measured Elo", title="anchor agents")
    sim = elo[(elo["agent"] == simulator) & elo["prompt"].isin(anchors["player"])]
    persona_elo = anchors.set_index("player")["elo"]
    x = persona_elo.loc[sim["prompt"]].to_numpy()
    _errorbar(right, x, sim["elo"], sim["low"], sim["high"], color="C1")
    for xi, (_, row) in zip(x, sim.iterrows()):
        right.annotate(row["prompt"], (xi, row["elo"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    _identity(right)
    right.set(xlabel="persona's measured Elo", ylabel="simulator's Elo under its prompt", title="the simulator")
    return fig


def draw_calibration(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    table = tables["calibration"]
    table = table[table["policy"] == simulator] if "policy" in table.columns else table
    fig, ax = plt.subplots(figsize=(3.6, 3.4))
    _errorbar(ax, table["observed"], table["predicted"], table["predicted_low"], table["predicted_high"])
    ax.errorbar(
        table["observed"],
        table["predicted"],
        xerr=[table["observed"] - table["observed_low"], table["observed_high"] - table["observed"]],
        fmt="none",
        capsize=2,
        color="C0",
    )
    for _, row in table.iterrows():
        ax.annotate(
            row["prompt"], (row["observed"], row["predicted"]), textcoords="offset points", xytext=(4, 4), fontsize=7
        )
    ax.set_xlim(0, None)
    ax.set_ylim(0, None)
    _identity(ax)
    ax.set(xlabel="observed mistake rate of the persona", ylabel="simulator's predicted mistake rate")
    return fig


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
    ax.set(xlabel="data prompt (who played the move)", ylabel="model prompt")
    return fig


def _agent_points(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    agents = tables["agent_metrics"]
    elo = tables["elo"]
    personas = set(_personas(elo)["player"])
    rows = []
    for key, group in agents.groupby("policy"):
        policy = str(key)
        if policy in ("played", "random_mover", "greedy_grabber") or policy.endswith("family"):
            continue
        top1 = group[(group["metric"] == "top1") & (group["data_prompt"] == "all")]
        true = top1[top1["model_prompt"] == "(true)"]
        top1_value = float((true if len(true) else top1[top1["model_prompt"] == "none"])["value"].iloc[0])
        entropy = group[
            (group["metric"] == "entropy")
            & (group["data_prompt"] == "all")
            & (group["model_prompt"].isin(personas) | (group["model_prompt"] == "none"))
        ]
        ratings = elo[elo["agent"] == policy]
        prompted = ratings[ratings["prompt"].isin(personas)]
        ratings = prompted if len(prompted) else ratings
        kind = policy.split("_")[0]
        rows.append(
            {
                "policy": policy,
                "kind": kind,
                "top1": top1_value,
                "entropy": float(entropy["value"].mean()),
                "elo": float(ratings["elo"].mean()),
                "elo_low": float(ratings["low"].mean()),
                "elo_high": float(ratings["high"].mean()),
            }
        )
    return pd.DataFrame(rows)


def draw_frontier(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    rlft = tables["rlft_summary"].groupby("beta", as_index=False)[["score_vs_frozen", "low", "high"]].mean()
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.4, 3.2))
    labels = [f"{b:g}" for b in rlft["beta"]]
    _errorbar(left, range(len(labels)), rlft["score_vs_frozen"], rlft["low"], rlft["high"], fmt="o-")
    left.axhline(0.5, ls="--", color="0.5", lw=0.8)
    left.set_xticks(range(len(labels)), labels)
    left.set(xlabel="KL weight beta", ylabel="score against the frozen simulator", title="RL learners")
    points = _agent_points(tables)
    markers = {"simulator": "s", "rlft": "o", "pikl": "^", "az": "D"}
    norm = Normalize(points["entropy"].min(), points["entropy"].max())
    for kind, group in points.groupby("kind"):
        right.errorbar(
            group["top1"],
            group["elo"],
            yerr=[group["elo"] - group["elo_low"], group["elo_high"] - group["elo"]],
            fmt="none",
            ecolor="0.6",
            capsize=2,
            zorder=1,
        )
        right.scatter(
            group["top1"],
            group["elo"],
            c=group["entropy"],
            cmap="viridis",
            norm=norm,
            marker=markers.get(str(kind), "o"),
            s=45,
            edgecolor="k",
            linewidth=0.4,
            label=kind,
            zorder=2,
        )
    for _, row in points.iterrows():
        right.annotate(
            row["policy"].replace("_seed0", ""),
            (row["top1"], row["elo"]),
            textcoords="offset points",
            xytext=(3, 3),
            fontsize=6,
        )
    mappable = plt.cm.ScalarMappable(norm=norm, cmap="viridis")
    fig.colorbar(mappable, ax=right, label="entropy (nats)")
    right.legend(fontsize=7, loc="best")
    right.set(xlabel="move matching (top-1, true prompt)", ylabel="Elo (mean over prompts)", title="all agents")
    return fig


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
        ax.bar(x, group["value"], width=width, label=policy, color=f"C{k % 10}")
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
    ax.legend(fontsize=6, ncol=3, loc="upper left")
    return fig


def draw_training(tables: Mapping[str, pd.DataFrame], simulator: str) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.4, 3.0))
    curves = tables["simulator_curves"]
    for column, label in (("train_loss", "train"), ("val_loss", "validation")):
        if column in curves.columns:
            data = curves.dropna(subset=[column])
            left.plot(data["step"], data[column], label=label)
    left.set(xlabel="step", ylabel="loss (nats)", title="simulator")
    left.legend()
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
    "calibration": draw_calibration,
    "move_matching": draw_move_matching,
    "frontier": draw_frontier,
    "sensitivity": draw_sensitivity,
    "decisive": draw_decisive,
    "training": draw_training,
}


def make_figure(name: str, tables: RunTables, simulator: str, out_dir: Path) -> list[Path]:
    """Draw one figure into ``out_dir`` as ``<name>.pdf`` and ``<name>.png`` from the run's
    ``tables`` (:data:`FIGURE_TABLES`); ``simulator``: the simulator it shows (an agent name)."""
    if name not in DRAW:
        raise ValueError(f"unknown figure {name!r}; known: {sorted(DRAW)}")
    _style()
    fig = DRAW[name](load_tables(tables, name, simulator), simulator)
    written = []
    for suffix in ("pdf", "png"):
        path = out_dir / f"{name}.{suffix}"
        with atomic_output(path) as tmp:  # the format named: the temporary file's suffix is .part
            fig.savefig(tmp, format=suffix, metadata={"CreationDate": None} if suffix == "pdf" else None)
        written.append(path)
    plt.close(fig)
    return written
