#!/usr/bin/env python3
"""Write every generated part of the documentation: `make docs`, checked by the tests.

* blocks between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in README.md and docs/*.md,
  copied from the committed run outputs (the default run's claims, data summary, checks and
  agents; the benchmarks; each run's ``benchmark:`` files) and from the Slurm profile;
* docs/configuration.md, every config key with its type, default and meaning, from the schema.

Nothing there is typed by hand. ``--check`` writes nothing and exits 1 when a file is not what
this script would write (tests/test_docs.py runs it), so the documentation cannot drift from the
code, the schema, the profile or the committed results.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- BEGIN {name} -->\n)(.*?)(<!-- END {name} -->)", re.DOTALL)


def replace_section(text: str, name: str, body: str) -> str:
    return _pattern(name).sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(3), text)


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


CONFIG_ROLES = {
    "smoke": "the whole workflow at toy scale: proves the plumbing, in the tests",
    "default": "the offline main run: five personas, about 216k training positions, four RL learners, the ladder, the paper",
}


def costs_summary_section(runs: list[Path]) -> str:
    """One row per config: the sum of its rules' measured times, and the longest rules."""
    lines = ["| config | what it is | its rules' measured time, one after another (2 cores) | longest rules |",
             "|---|---|---:|---|"]  # fmt: skip
    for run in runs:
        times = []
        for tsv in sorted((run / "benchmarks").glob("*.tsv")):
            with tsv.open() as handle:
                times.append((float(next(csv.DictReader(handle, delimiter="\t"))["s"]), tsv.stem))
        longest = ", ".join(f"{name} {seconds / 60:.1f} min" for seconds, name in sorted(times, reverse=True)[:3])
        total = sum(seconds for seconds, _ in times)
        lines.append(
            f"| `config/{run.name}.yaml` | {CONFIG_ROLES.get(run.name, '')} | {total / 60:.1f} min | {longest} |"
        )
    lines.append(
        "| `config/lichess.yaml` | real human games at paper scale (three months of lichess, three simulator seeds, "
        "a residual net) | not runnable here (no internet, no GPU): estimated 17-21 h on one GPU host plus the "
        "download, 10-14 h on a cluster ([docs/cluster.md](docs/cluster.md)) | |"
    )
    lines += ["", "Snakemake runs independent rules side by side, so `make reproduce` takes less than the sum."]
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


def simulator_section(truth_csv: Path, elo_csv: Path) -> str:
    """The simulator against the personas' exact behaviour: the persona x prompt divergence
    matrix, the Elo under each persona's prompt beside the persona's, and the calibration."""
    import pandas as pd

    truth = pd.read_csv(truth_csv)
    sim = truth[truth.policy == "simulator"]
    kl = sim[sim.metric == "kl"]
    personas = list(dict.fromkeys(kl.persona))
    prompts = [*personas, "none"]

    def cell(row: pd.DataFrame, digits: int = 3) -> str:
        r = row.iloc[0]
        return f"{r.value:.{digits}f} [{r.low:.{digits}f}, {r.high:.{digits}f}]"

    lines = [
        (
            "KL(persona || simulator under a prompt), nats, mean over the evaluation positions "
            "(`results/default/evaluation/truth_metrics.csv`); rows: the persona whose exact distribution is "
            "the truth, columns: the prompt given to the simulator; bold: each row's minimum (a simulator of the "
            "population has it on the diagonal)."
        ),
        "",
        "| persona \\ prompt | " + " | ".join(prompts) + " |",
        "|---|" + "---|" * len(prompts),
    ]
    for persona in personas:
        rows = kl[kl.persona == persona]
        best = rows.value.idxmin()
        cells = []
        for prompt in prompts:
            row = rows[rows.model_prompt == prompt]
            text = "" if row.empty else cell(row)
            cells.append(f"**{text}**" if not row.empty and row.index[0] == best else text)
        lines.append(f"| {persona} | " + " | ".join(cells) + " |")
    lines += ["", f"Intervals: {sim.method.iloc[0]}.", ""]
    mistakes = sim[sim.metric == "p_mistake"]
    exact = truth[(truth.policy == "truth") & (truth.metric == "p_mistake_true")]
    if not mistakes.empty and not exact.empty:
        lines += [
            (
                "Calibration: the probability mass on mistakes (moves losing at least 0.2 win chances against "
                "the best move, by Stockfish's action values) under each persona's own prompt, against the "
                "persona's exact one, on the same positions (the issue's target: within 0.05)."
            ),
            "",
            "| persona | simulator | persona (exact) | difference |",
            "|---|---|---|---:|",
        ]
        for persona in personas:
            predicted = mistakes[(mistakes.persona == persona) & (mistakes.model_prompt == persona)]
            true = exact[exact.persona == persona]
            if predicted.empty or true.empty:
                continue
            gap = predicted.value.iloc[0] - true.value.iloc[0]
            lines.append(f"| {persona} | {cell(predicted)} | {cell(true)} | {gap:+.3f} |")
        lines.append("")
    if elo_csv.exists():
        elo = pd.read_csv(elo_csv)
        seeds = sorted(elo[elo.kind == "simulator"].agent.unique())
        lines += [
            (
                "Elo under each persona's prompt (`results/default/ladder/elo.csv`): the persona itself (an anchor), "
                "its exact distribution played by the oracle, and each simulator seed."
            ),
            "",
            "| prompt | persona | oracle | " + " | ".join(seeds) + " |",
            "|---|---|---|" + "---|" * len(seeds),
        ]

        def rating(rows: pd.DataFrame) -> str:
            if rows.empty:
                return ""
            r = rows.iloc[0]
            return f"{r.elo:.0f} [{r.low:.0f}, {r.high:.0f}]"

        for prompt in prompts:
            anchor = rating(elo[(elo.player == prompt) & (elo.kind != "simulator")])
            oracle = rating(elo[(elo.agent == "oracle") & (elo.prompt == prompt)])
            sims = [rating(elo[(elo.agent == seed) & (elo.prompt == prompt)]) for seed in seeds]
            lines.append(f"| {prompt} | {anchor} | {oracle} | " + " | ".join(sims) + " |")
        lines += ["", f"Intervals: {elo.method.iloc[0]}.", ""]
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
            "one** (it writes `results/bench/device-cuda.md`; `make docs` then copies it here)."
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
    lines = [
        "| claim | test | measured [95% interval] | passes | controls: positive / negative (valid?) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for claim, group in claims.groupby("claim", sort=True):
        for k, r in enumerate(group.itertuples()):
            controls = (
                f"{r.positive_control} {r.positive_value:.3f} ({r.positive_passed}) / "
                f"{r.negative_control} {r.negative_value:.3f} ({r.negative_passed}): {r.valid}"
            )
            lines.append(
                f"| {f'**{claim}** {r.name}' if k == 0 else ''} | {r.test} ({r.expectation}) "
                f"| {r.value:.3f} [{r.low:.3f}, {r.high:.3f}] | {r.passed} | {controls} "
                f"| {f'**{r.verdict}**' if k == 0 else ''} |"
            )
    digest = str(claims["ledger_sha256"].iloc[0]) if "ledger_sha256" in claims and len(claims) else "?"
    lines += [
        "",
        (
            "A test is valid when its positive control passes it and its negative control fails it. Intervals: "
            "95% percentile bootstrap over the trained seeds then positions (simulator), positions (agents, "
            "controls) or games (ladder), as each source table's `method` column says. Ledger sha256: "
            f"`{digest[:16]}...`."
        ),
    ]
    if verify_md.exists():
        lines += ["", verify_md.read_text().splitlines()[0]]
    else:  # a regenerated run whose rerun has not been checked yet: say so, claim nothing
        lines += ["", "`make verify` has not yet been run on this committed run."]
    return "\n".join(lines) + "\n"


def _schema_leaves(node: dict[str, Any], root: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    from simagents.config import _resolve

    node = _resolve(node, root)
    leaves: list[tuple[str, dict[str, Any]]] = []
    for key, child in node.get("properties", {}).items():
        dotted = f"{prefix}.{key}" if prefix else key
        resolved = _resolve(child, root)
        if "properties" in resolved:
            leaves += _schema_leaves(child, root, dotted)
        else:
            leaves.append((dotted, {**resolved, **child}))
    return leaves


def _type_of(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "const" in spec:
        return f"`{spec['const']}`"
    kinds = spec.get("type", "any")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return " or ".join("null" if k == "null" else k for k in kinds)


def _default_of(spec: dict[str, Any], required: set[str], dotted: str) -> str:
    if "default" not in spec:
        return "(required)" if dotted in required else "(none)"
    value = spec["default"]
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()
    if isinstance(value, list) and len(text) > 60:
        text = f"{len(value)} items (see the schema)"
    return f"`{text}`".replace("|", "\\|")


def configuration_markdown() -> str:
    """docs/configuration.md: every key of the schema, its type, default and meaning."""
    from simagents.config import schema

    root = schema()
    required = {*root.get("required", []), "data.source"}
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from src/simagents/resources/config.schema.yaml by `make docs`; do not edit. -->",
        "",
        "A run is one YAML file (`config/smoke.yaml`, `config/pgn-smoke.yaml`, `config/default.yaml` and",
        "`config/lichess.yaml` are commented examples), validated against the schema (`workflow/schemas/config.schema.yaml`, a link",
        "to `src/simagents/resources/config.schema.yaml`) before anything runs: an unknown key, a wrong",
        "type or an out-of-range value stops the run with a message that names the key and what was",
        "expected. Defaults live in the schema beside each type. Values can be overridden on the command",
        "line (`snakemake --configfile config/default.yaml --config seed=1`). When a key changes meaning,",
        "`config_version` is bumped and an old file is refused with a message naming the version.",
        "",
        "Each stage reads only its slice of the configuration (`src/simagents/stages.py`), written by the",
        "workflow to `<run>/config/<stage>.yaml`: editing a key reruns the stages that read it and no",
        "other. The slices are not committed (a fresh clone writes them anew, so an edited config always",
        "reaches its stages); the committed record of a run's configuration is `<run>/config/resolved.yaml`.",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for dotted, spec in _schema_leaves(root, root):
        meaning = str(spec.get("description", "")).replace("|", "\\|")
        lines.append(f"| `{dotted}` | {_type_of(spec)} | {_default_of(spec, required, dotted)} | {meaning} |")
    persona = root["$defs"]["persona"]["properties"]
    lines += [
        "",
        "A persona (`data.synthetic.personas` items): "
        + "; ".join(f"`{k}` ({v.get('description', _type_of(v))})" for k, v in persona.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def slurm_section() -> str:
    """The Slurm profile's requests per rule, as a table (docs/cluster.md)."""
    profile = yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    lines = ["| rule | threads | memory (MB) | runtime (min) | GPUs |", "|---|---:|---:|---:|---:|"]
    for rule, threads in profile["set-threads"].items():
        resources = profile["set-resources"][rule]
        gpus = resources.get("gpu", "-")
        lines.append(f"| `{rule}` | {threads} | {resources['mem_mb']} | {resources['runtime']} | {gpus} |")
    return "\n".join(lines) + "\n"


def blocks(runs: list[Path]) -> dict[str, Callable[[], str]]:
    """Every generated block by marker name (a block whose sources are missing is left as it is)."""
    default = REPO / "results" / "default"
    evaluation = default / "evaluation"
    bench = REPO / "results" / "bench"
    found: dict[str, Callable[[], str]] = {
        "config-costs": lambda: costs_section([r.resolve() for r in runs if (r / "benchmarks").is_dir()]),
        "config-costs-summary": lambda: costs_summary_section(
            [r.resolve() for r in runs if (r / "benchmarks").is_dir()]
        ),
        "slurm-resources": slurm_section,
    }
    if (default / "data" / "summary.md").exists():
        found["default-scores"] = lambda: scores_section(default / "data" / "summary.md")
    if (evaluation / "checks.csv").exists():
        found["default-checks"] = lambda: checks_section(evaluation / "checks.csv", evaluation / "calibration.csv")
    if (evaluation / "truth_metrics.csv").exists():
        found["default-simulator"] = lambda: simulator_section(
            evaluation / "truth_metrics.csv", default / "ladder" / "elo.csv"
        )
    if (default / "ladder" / "elo.csv").exists() or (default / "agents" / "rlft.csv").exists():
        found["default-agents"] = lambda: agents_section(
            default / "agents" / "rlft.csv", default / "ladder" / "elo.csv"
        )
    if (default / "claims.csv").exists():
        found["default-claims"] = lambda: claims_section(default / "claims.csv", default / "verify.md")
    if (bench / "games.md").exists():
        found["bench-games"] = lambda: games_bench_section(bench / "games.md")
    if any(bench.glob("device-*.md")):
        found["bench-device"] = lambda: device_bench_section(bench)
    if (bench / "ingest.md").exists():
        found["bench-ingest"] = lambda: bench_section(bench / "ingest.md")
    return found


def generated_files(runs: list[Path]) -> dict[Path, str]:
    """Every documentation file as this script would write it."""
    out = {REPO / "docs" / "configuration.md": configuration_markdown()}
    bodies = {name: make() for name, make in blocks(runs).items()}
    for path in DOC_FILES:
        if path.name == "configuration.md":
            continue
        text = path.read_text()
        for name, body in bodies.items():
            if _pattern(name).search(text):
                if path.parent.name == "docs":  # links are relative to the file
                    body = body.replace("](results/", "](../results/")
                text = replace_section(text, name, body)
        out[path] = text
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--runs", nargs="+", type=Path, default=[REPO / "results" / "smoke", REPO / "results" / "default"]
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files(args.runs).items():
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        if args.check:
            stale.append(path)
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(), str(path), "generated", lineterm="")
            print("\n".join(list(diff)[:40]), file=sys.stderr)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print(f"out of date (run `make docs`): {', '.join(str(p.relative_to(REPO)) for p in stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
