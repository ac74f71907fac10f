"""The data summary: what was read, kept and dropped (by reason), per prompt, and who beat whom."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..games import score
from ..stats import bootstrap_mean

OVERALL = "(all others)"  # opponent label of each agent's pooled score against every other agent


def games_per_prompt(games: pa.Table) -> dict[str, dict[str, int]]:
    """Per prompt token: games played as White, as Black, and plies played (moves made)."""
    white = games.column("white_prompt").to_pylist()
    black = games.column("black_prompt").to_pylist()
    plies = games.column("plies").to_pylist()
    as_white, as_black, moves = Counter(white), Counter(black), Counter[str]()
    for w, b, n in zip(white, black, plies):
        moves[w] += (n + 1) // 2
        moves[b] += n // 2
    return {
        p: {"games_as_white": as_white[p], "games_as_black": as_black[p], "moves_played": moves[p]}
        for p in sorted(set(white) | set(black))
    }


def score_table(games: pa.Table, seed: int = 0) -> pd.DataFrame:
    """Each prompt's (agent's) results against each opponent, from the agent's side.

    Columns: agent, opponent, games, wins, draws, losses, score (mean points, 0-1), and the
    score's 95% interval ``score_low``/``score_high`` (percentile bootstrap over games, seeded).
    Rows with opponent :data:`OVERALL` pool every game against other agents. Self-play rows score
    0.5 by construction and carry no interval (NaN).
    """
    tally: dict[tuple[str, str], list[float]] = defaultdict(list)
    columns = (games.column(c).to_pylist() for c in ("white_prompt", "black_prompt", "result"))
    for white, black, result in zip(*columns):
        if white == black:
            tally[(white, white)].append(0.5)
            continue
        for agent, opponent, is_white in ((white, black, True), (black, white, False)):
            earned = score(result, white=is_white)
            tally[(agent, opponent)].append(earned)
            tally[(agent, OVERALL)].append(earned)
    rows = []
    for k, ((agent, opponent), points) in enumerate(sorted(tally.items())):
        row: dict[str, Any] = {"agent": agent, "opponent": opponent, "games": len(points)}
        if agent == opponent:
            row.update(wins=None, draws=None, losses=None, score=0.5, score_low=None, score_high=None)
        else:
            interval = bootstrap_mean(points, seed=seed * 1000 + k, unit="games")
            row.update(
                wins=points.count(1.0),
                draws=points.count(0.5),
                losses=points.count(0.0),
                score=interval.value,
                score_low=interval.low,
                score_high=interval.high,
            )
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["agent", "opponent", "games", "wins", "draws", "losses", "score", "score_low", "score_high"]
    )


def build_summary(
    source: str,
    ledger: dict[str, Any],
    games: pa.Table,
    positions_meta: dict[str, Any],
    scores: pd.DataFrame | None,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """Everything a reader needs to judge the data, as one JSON-able mapping."""
    summary: dict[str, Any] = {
        "source": source,
        **{k: ledger[k] for k in ("games_read", "games_kept", "games_dropped", "dropped_by_reason", "notes")},
        "drop_examples": ledger.get("examples", {}),
        # Files kept as far as they could be read (data.input_ended_early: keep); [] when none.
        "input_ended_early": ledger.get("input_ended_early", []),
        "plies_kept": int(pc.sum(games.column("plies")).as_py() or 0),
        "games_by_prompt": games_per_prompt(games),
        "positions": {s: v for s, v in positions_meta["splits"].items()},
        "positions_skipped_opening_plies": positions_meta["skip_plies"],
        "games_failed_replay": positions_meta["games_failed_replay"],
        "results": dict(Counter(games.column("result").to_pylist())),
        "terminations": dict(Counter(games.column("termination").to_pylist()).most_common()),
        "provenance": provenance,
    }
    if scores is not None:
        # JSON has no NaN: missing values (self-play intervals) become null.
        summary["scores"] = scores.astype(object).where(scores.notna(), None).to_dict(orient="records")
    return summary


def to_markdown(summary: dict[str, Any]) -> str:
    """A readable rendering of :func:`build_summary` (committed next to the JSON)."""
    lines = [f"# Data summary ({summary['source']})", ""]
    lines += [
        f"- games read: {summary['games_read']}",
        f"- games kept: {summary['games_kept']}",
        f"- games dropped: {summary['games_dropped']}",
        f"- plies kept: {summary['plies_kept']}",
        f"- games that failed to replay when encoding: {summary['games_failed_replay']}",
        "",
    ]
    ended_early = summary.get("input_ended_early", [])
    if ended_early:
        lines += [
            "## Input ended early",
            "",
            (
                "These files could not be read to their end; the whole games read before the damage were kept "
                "(`data.input_ended_early: keep`), the rest of each file is missing from the data."
            ),
            "",
            "| file | what is wrong | whole games read |",
            "|---|---|---:|",
        ]
        lines += [f"| {e['file']} | {e['problem'].replace('|', '/')} | {e['games_read']} |" for e in ended_early]
        lines.append("")
    if summary["dropped_by_reason"]:
        lines += ["## Dropped, by reason", "", "| reason | games | examples |", "|---|---:|---|"]
        for reason, count in summary["dropped_by_reason"].items():
            examples = "; ".join(summary["drop_examples"].get(reason, []))
            lines.append(f"| {reason} | {count} | {examples.replace('|', '/')} |")
        lines.append("")
    if summary["notes"]:
        lines += ["## Kept after a repair", "", "| note | games |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in summary["notes"].items()] + [""]
    splits = summary["positions"]
    lines += [
        "## Games and positions by prompt",
        "",
        "| prompt | games as White | games as Black | moves played | "
        + " | ".join(f"{s} positions" for s in splits)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(splits),
    ]
    for prompt, row in summary["games_by_prompt"].items():
        cells = [str(splits[s]["positions_by_prompt"].get(prompt, 0)) for s in splits]
        lines.append(
            f"| {prompt} | {row['games_as_white']} | {row['games_as_black']} | {row['moves_played']} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append("| **all** | | | | " + " | ".join(str(splits[s]["positions"]) for s in splits) + " |")
    lines.append("")
    if "scores" in summary:
        frame = pd.DataFrame(summary["scores"])
        frame["cell"] = [
            "self-play" if agent == opponent else f"{score:.2f} [{low:.2f}, {high:.2f}]"
            for agent, opponent, score, low, high in zip(
                frame["agent"], frame["opponent"], frame["score"], frame["score_low"], frame["score_high"]
            )
        ]
        matrix = frame.pivot(index="agent", columns="opponent", values="cell")
        columns = [c for c in matrix.columns if not c.startswith("(")] + [
            c for c in matrix.columns if c.startswith("(")
        ]
        lines += [
            "## Score of each agent (row) against each opponent (column)",
            "",
            (
                "Mean points per game from the row agent's side (1 win, 0.5 draw, 0 loss), with a 95% "
                "percentile-bootstrap interval over games (2000 resamples): the variability is that of the "
                "sampled games. The last column pools all games against other agents."
            ),
            "",
            "| agent | " + " | ".join(columns) + " |",
            "|---|" + "---:|" * len(columns),
        ]
        for agent, row in matrix.iterrows():
            lines.append(f"| {agent} | " + " | ".join("" if pd.isna(row[c]) else str(row[c]) for c in columns) + " |")
        lines.append("")
    lines += ["## Terminations", "", "| termination | games |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in summary["terminations"].items()]
    return "\n".join(lines) + "\n"


def persona_strengths(summary: dict[str, Any]) -> dict[str, float] | None:
    """Each prompt's strength in the data, from a data summary: its mean score (0-1) against every
    other prompt; None when the summary has no score table (prompts that are rating bands)."""
    scores = summary.get("scores")
    if not scores:
        return None
    return {row["agent"]: float(row["score"]) for row in scores if row["opponent"] == OVERALL}
