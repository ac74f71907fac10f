"""The data summary: what was read, kept and dropped (by reason), per prompt, and who beat whom."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def games_per_prompt(games: pa.Table) -> dict[str, dict[str, int]]:
    """Per prompt token: games played as White, as Black, and plies played (moves made)."""
    white = games.column("white_prompt").to_pylist()
    black = games.column("black_prompt").to_pylist()
    plies = games.column("plies").to_pylist()
    as_white, as_black, moves = Counter(white), Counter(black), Counter()
    for w, b, n in zip(white, black, plies):
        moves[w] += (n + 1) // 2
        moves[b] += n // 2
    return {p: {"games_as_white": as_white[p], "games_as_black": as_black[p], "moves_played": moves[p]}
            for p in sorted(set(white) | set(black))}


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
        summary["scores"] = scores.to_dict(orient="records")
    return summary


def to_markdown(summary: dict[str, Any]) -> str:
    """A readable rendering of :func:`build_summary` (committed next to the JSON)."""
    lines = [f"# Data summary ({summary['source']})", ""]
    lines += [f"- games read: {summary['games_read']}", f"- games kept: {summary['games_kept']}",
              f"- games dropped: {summary['games_dropped']}", f"- plies kept: {summary['plies_kept']}",
              f"- games that failed to replay when encoding: {summary['games_failed_replay']}", ""]
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
    lines += ["## Games and positions by prompt", "",
              "| prompt | games as White | games as Black | moves played | " + " | ".join(
                  f"{s} positions" for s in splits) + " |",
              "|---|---:|---:|---:|" + "---:|" * len(splits)]
    for prompt, row in summary["games_by_prompt"].items():
        cells = [str(splits[s]["positions_by_prompt"].get(prompt, 0)) for s in splits]
        lines.append(f"| {prompt} | {row['games_as_white']} | {row['games_as_black']} | {row['moves_played']} | "
                     + " | ".join(cells) + " |")
    lines.append("| **all** | | | | " + " | ".join(str(splits[s]["positions"]) for s in splits) + " |")
    lines.append("")
    if "scores" in summary:
        frame = pd.DataFrame(summary["scores"])
        matrix = frame.pivot(index="agent", columns="opponent", values="score")
        lines += ["## Score of each agent (row) against each opponent (column)", "",
                  "Mean points per game from the row agent's side (1 win, 0.5 draw, 0 loss).", "",
                  "| agent | " + " | ".join(matrix.columns) + " | overall |",
                  "|---|" + "---:|" * (len(matrix.columns) + 1)]
        overall = frame.assign(points=frame.score * frame.games).groupby("agent")[["points", "games"]].sum()
        for agent, row in matrix.iterrows():
            cells = ["" if pd.isna(v) else f"{v:.2f}" for v in row]
            total = overall.loc[agent]
            lines.append(f"| {agent} | " + " | ".join(cells) + f" | {total.points / total.games:.2f} |")
        lines.append("")
    lines += ["## Terminations", "", "| termination | games |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in summary["terminations"].items()]
    return "\n".join(lines) + "\n"
