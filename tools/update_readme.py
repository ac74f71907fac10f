#!/usr/bin/env python3
"""Copy generated results into README.md between <!-- BEGIN name --> / <!-- END name --> markers.

Nothing in those README sections is typed by hand: `make readme-results` regenerates them from
the committed run outputs (the default run's data summary, each run's `benchmark:` files).
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def replace_section(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(.*?)(<!-- END {name} -->)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- BEGIN {name} --> ... <!-- END {name} --> markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(3), text)


def scores_section(summary_md: Path) -> str:
    text = summary_md.read_text()
    start = text.index("## Score of each agent")
    end = text.index("\n## ", start + 3)
    table = text[start:end].split("\n", 1)[1].strip()
    return table + f"\n\n(from [`{summary_md.relative_to(REPO)}`]({summary_md.relative_to(REPO)}))\n"


def bench_section(bench_md: Path) -> str:
    lines = bench_md.read_text().splitlines()
    table = [line for line in lines if line.startswith("|")]
    verdict = next((line for line in lines if line.startswith("Per core")), "")
    return "\n".join(table) + "\n\n" + verdict + "\n"


def costs_section(runs: list[Path]) -> str:
    lines = ["| config | rule | wall time (s) | max memory (MB) |", "|---|---|---:|---:|"]
    for run in runs:
        total = 0.0
        for tsv in sorted((run / "benchmarks").glob("*.tsv")):
            with tsv.open() as handle:
                row = next(csv.DictReader(handle, delimiter="\t"))
            seconds = float(row["s"])
            total += seconds
            memory = row.get("max_rss", "NA")
            lines.append(f"| {run.name} | {tsv.stem} | {seconds:.1f} | {memory} |")
        lines.append(f"| **{run.name}** | **all rules** | **{total:.1f}** | |")
    lines.append("")
    lines.append(
        "Memory is Snakemake's sampled maximum resident set size; jobs of a second or less are "
        "sampled too rarely for it to mean much."
    )
    return "\n".join(lines) + "\n"


def checks_section(checks_csv: Path, calibration_csv: Path) -> str:
    """The default-scale checks that the simulator learned the population, and its calibration."""
    import pandas as pd

    checks = pd.read_csv(checks_csv)
    lines = ["| simulator | check | statement | value [95% interval] | n | verdict |", "|---|---|---|---|---:|---|"]
    for r in checks.itertuples():
        lines.append(
            f"| {r.policy} | `{r.check}` | {r.statement} | {r.value:.4f} [{r.low:.4f}, {r.high:.4f}] "
            f"| {int(r.n)} | **{r.verdict}** |"
        )
    lines += ["", f"Intervals: {checks.method.dropna().iloc[0]}.", ""]
    if calibration_csv.exists():
        cal = pd.read_csv(calibration_csv)
        lines += [
            (
                "Calibration: the simulator's predicted mistake probability under each persona's prompt on that "
                "persona's evaluation positions, against the persona's observed mistake rate there."
            ),
            "",
            "| simulator | prompt | predicted | observed | n |",
            "|---|---|---|---|---:|",
        ]
        for r in cal.itertuples():
            lines.append(
                f"| {r.policy} | {r.prompt} | {r.predicted:.3f} [{r.predicted_low:.3f}, {r.predicted_high:.3f}] "
                f"| {r.observed:.3f} [{r.observed_low:.3f}, {r.observed_high:.3f}] | {int(r.n)} |"
            )
    return "\n".join(lines) + "\n"


def agents_section(rlft_csv: Path, elo_csv: Path) -> str:
    """RL fine-tuning as beta varies, and the Elo ladder: every agent beside the simulator, per prompt."""
    import pandas as pd

    lines: list[str] = []
    if rlft_csv.exists():
        rlft = pd.read_csv(rlft_csv).sort_values(["beta", "seed"])
        lines += [
            (
                "RL fine-tuning (`results/default/agents/rlft.csv`): each learner's score against the frozen "
                "simulator (same prompt on both sides, averaged over prompts, both colours), and the entropy and "
                "KL(pi || p_sim) of its moves at the positions it visited, first and last iteration. Last "
                "column: the policy the learner is fitted to (the frozen simulator tilted by the final critic's "
                "one-ply values, pi ~ p_sim exp(Q / beta), greedy in Q at beta = 0), played in the same games."
            ),
            "",
            (
                "| beta | seed | score vs frozen simulator [95% interval] | games | won / lost | drawn by stalemate "
                "or insufficient material | entropy, first -> last (nats) | KL last (nats) | its target's score |"
            ),
            "|---:|---:|---|---:|---|---:|---|---:|---|",
        ]
        for r in rlft.itertuples():
            lines.append(
                f"| {r.beta:g} | {r.seed} | {r.score_vs_frozen:.3f} [{r.low:.3f}, {r.high:.3f}] | {r.games} "
                f"| {r.wins:.2f} / {r.losses:.2f} | {r.unconverted_draws:.2f} "
                f"| {r.entropy_first_iteration:.2f} -> {r.entropy_last_iteration:.2f} "
                f"| {r.kl_last_iteration:.3f} "
                f"| {r.target_score_vs_frozen:.3f} [{r.target_low:.3f}, {r.target_high:.3f}] |"
            )
        lines += ["", f"Intervals: {rlft.method.iloc[0]}.", ""]
    if elo_csv.exists():
        elo = pd.read_csv(elo_csv)
        anchors = elo[elo.kind.isin(["random", "greedy", "stockfish"])].sort_values("elo", ascending=False)
        lines += [
            "Elo ladder (`results/default/ladder/elo.csv`), anchors (nominal rating in brackets):",
            "",
            "| anchor | nominal | Elo [95% interval] | games |",
            "|---|---:|---|---:|",
        ]
        for r in anchors.itertuples():
            lines.append(f"| {r.player} | {r.nominal:.0f} | {r.elo:.0f} [{r.low:.0f}, {r.high:.0f}] | {r.games} |")
        agents = elo[~elo.kind.isin(["random", "greedy", "stockfish"])].copy()
        agents["prompt"] = agents.prompt.fillna("none")
        prompts = sorted(agents.prompt.unique(), key=lambda p: (p != "none", p))
        lines += [
            "",
            "Agents, Elo [95% interval] under each prompt (the az agent is unprompted):",
            "",
            "| agent | " + " | ".join(prompts) + " |",
            "|---|" + "---|" * len(prompts),
        ]
        for agent, rows in agents.groupby("agent", sort=False):
            cells = []
            for prompt in prompts:
                row = rows[rows.prompt == prompt]
                cells.append(
                    "" if row.empty else f"{row.elo.iloc[0]:.0f} [{row.low.iloc[0]:.0f}, {row.high.iloc[0]:.0f}]"
                )
            lines.append(f"| {agent} | " + " | ".join(cells) + " |")
        lines += ["", f"Intervals: {elo.method.iloc[0]}.", ""]
    return "\n".join(lines) + "\n"


def games_bench_section(bench_md: Path) -> str:
    lines = bench_md.read_text().splitlines()
    keep = [line for line in lines if line.startswith(("|", "**", "Legal-move", "The policy call"))]
    return "\n\n".join("\n".join(group) for group in _paragraphs(keep)) + "\n"


def device_bench_section(bench_dir: Path) -> str:
    """The device benchmark's two tables for each device measured (``make bench-gpu``), the GPU
    first; where no GPU was measured, a line that says so and how to measure one."""
    parts = []
    if not (bench_dir / "device-cuda.md").exists():
        parts.append(
            "GPU: **not measured yet: no GPU was available; run `make bench-gpu` on a machine with "
            "one** (it writes `results/bench/device-cuda.md`; `make readme-results` then copies it here)."
        )
    for kind in ("cuda", "mps", "cpu"):
        path = bench_dir / f"device-{kind}.md"
        if not path.exists():
            continue
        lines = path.read_text().splitlines()
        device = lines[0].removeprefix("# Device benchmark: ")
        relative = path.relative_to(REPO)
        tables: list[list[str]] = []  # each run of table rows in the file, under its section's title
        heading = ""
        for previous, line in zip([""] + lines, lines):
            if line.startswith("## "):
                heading = line.removeprefix("## ")
            elif line.startswith("|"):
                if not previous.startswith("|"):
                    tables.append([f"*{heading}*", ""])
                tables[-1].append(line)
        parts.append(f"**{device}** ([`{relative}`]({relative}), with the command, date and load average):")
        parts.extend("\n".join(table) for table in tables)
    return "\n\n".join(parts) + "\n"


def _paragraphs(lines: list[str]) -> list[list[str]]:
    # Table rows stay together; every other kept line is a paragraph of its own.
    groups: list[list[str]] = []
    for line in lines:
        if line.startswith("|") and groups and groups[-1][-1].startswith("|"):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def claims_section(claims_csv: Path, verify_md: Path) -> str:
    """The claims ledger as evaluated on the committed run, and the last `make verify`."""
    import pandas as pd

    claims = pd.read_csv(claims_csv)
    lines = ["| claim | test | measured [95% interval] | test passes | verdict |", "|---|---|---|---|---|"]
    for claim, group in claims.groupby("claim", sort=True):
        for k, r in enumerate(group.itertuples()):
            lines.append(
                f"| {f'**{claim}** {r.name}' if k == 0 else ''} | {r.test} ({r.expectation}) "
                f"| {r.value:.3f} [{r.low:.3f}, {r.high:.3f}] | {r.passed} "
                f"| {f'**{r.verdict}**' if k == 0 else ''} |"
            )
    lines += [
        "",
        (
            "Intervals: 95% percentile bootstrap, over positions (metrics), games (ladder, RL scores) or "
            "both, as each source table's `method` column says."
        ),
    ]
    if verify_md.exists():
        lines += ["", verify_md.read_text().splitlines()[0]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs", nargs="+", type=Path, default=[REPO / "results" / "smoke", REPO / "results" / "default"]
    )
    args = parser.parse_args()
    readme = REPO / "README.md"
    text = readme.read_text()
    text = replace_section(text, "default-scores", scores_section(REPO / "results" / "default" / "data" / "summary.md"))
    text = replace_section(
        text, "config-costs", costs_section([r.resolve() for r in args.runs if (r / "benchmarks").is_dir()])
    )
    evaluation = REPO / "results" / "default" / "evaluation"
    if (evaluation / "checks.csv").exists():
        text = replace_section(
            text, "default-checks", checks_section(evaluation / "checks.csv", evaluation / "calibration.csv")
        )
    agents = REPO / "results" / "default"
    if (agents / "ladder" / "elo.csv").exists() or (agents / "agents" / "rlft.csv").exists():
        text = replace_section(
            text, "default-agents", agents_section(agents / "agents" / "rlft.csv", agents / "ladder" / "elo.csv")
        )
    if (agents / "claims.csv").exists():
        text = replace_section(text, "default-claims", claims_section(agents / "claims.csv", agents / "verify.md"))
    games_bench = REPO / "results" / "bench" / "games.md"
    if games_bench.exists():
        text = replace_section(text, "bench-games", games_bench_section(games_bench))
    if any((REPO / "results" / "bench").glob("device-*.md")):
        text = replace_section(text, "bench-device", device_bench_section(REPO / "results" / "bench"))
    bench = REPO / "results" / "bench" / "ingest.md"
    if bench.exists():
        text = replace_section(text, "bench-ingest", bench_section(bench))
    readme.write_text(text)


if __name__ == "__main__":
    main()
