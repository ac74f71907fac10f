"""The paper's generated inputs: every number of the text as a macro, and the generated tables.

``paper/paper.tex`` never types a result: it writes ``\\sn{key}``, and this module writes the
value of every key from the run's tables into ``generated/numbers.tex`` (``\\snset{key}{value}``
lines; ``paper.tex`` defines both commands and stops with an error on an unknown key). Keys
are lower case with hyphens and dots; an interval's key is the value's key plus ``-ci``.

Also generated: the claims table (``claims_table.tex``), the methods table of the config
(``config_table.tex``), the measured runtimes (``runtime_table.tex``) and the figure captions.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..agents.roster import AgentId, frontier_name
from ..agents.roster import roles as agent_roles
from ..config import Config
from ..outputs import write_text
from .figures import FIGURES
from .tables import MissingTableError, RunTables

_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def escape(text: object) -> str:
    """Plain text for LaTeX: special characters escaped."""
    return "".join(_SPECIAL.get(c, c) for c in str(text))


def key(*parts: object) -> str:
    """A macro key from parts: lower case, anything but letters, digits and dots becomes a hyphen."""
    return re.sub(r"[^a-z0-9.]+", "-", "-".join(str(p) for p in parts).lower()).strip("-")


def number(value: float, digits: int = 2) -> str:
    """A number as the text prints it: ``digits`` decimals, a proper minus sign, n/a for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = f"{value:.{digits}f}"
    return f"$-${text[1:]}" if text.startswith("-") else text


def interval(low: float, high: float, digits: int = 2) -> str:
    return f"[{number(low, digits)}, {number(high, digits)}]"


def _count_word(n: int) -> str:
    """A small count as a word that can start a sentence (Three simulators ...), else digits."""
    words = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")
    return words[n] if 0 <= n < len(words) else f"{n:,}"


def _put(out: dict[str, str], name: str, row: Any, digits: int = 2) -> None:
    """``name``, ``name-ci`` and ``name-n`` from a table row (a Series or mapping with value, low, high, n)."""
    out[name] = number(float(row["value"]), digits)
    out[f"{name}-ci"] = interval(float(row["low"]), float(row["high"]), digits)
    if "n" in row and not pd.isna(row["n"]):
        out[f"{name}-n"] = f"{int(row['n']):,}"


#: Role names of the run's main policies in keys (the text cites roles, not seeds or betas).
#: The tables the paper's numbers and generated tables come from (roles of :mod:`.tables`).
PAPER_TABLES = (
    "data_summary",
    "simulator_training",
    "checks",
    "calibration",
    "metrics",
    "agent_metrics",
    "rlft_summary",
    "elo",
    "ladder_statistics",
    "claims",
    "benchmark",
    "truth_metrics",
    "exact_frontier",
)

#: The tables that exist for the synthetic population only (its truth).
TRUTH_TABLES = ("truth_metrics", "exact_frontier")

ROLE_KEYS = {
    "simulator": "sim",
    "rlft_lowest": "rl-lowest",
    "rlft_highest": "rl-highest",
    "pikl_lowest": "pikl-lowest",
    "az": "az",
}


def paper_numbers(config: Config, tables: RunTables) -> dict[str, str]:
    """Every number the text may cite, by key, from the run's tables (see the module docstring).

    A policy's rows appear under its name and, for the run's main policies, under its role too
    (:data:`ROLE_KEYS`: ``metric-sim-...`` is the first simulator seed's, ``rl-lowest`` the RL
    learner with the smallest beta), so the text does not depend on seeds or beta values.
    """
    out: dict[str, str] = {}
    simulator = f"simulator_seed{config.simulator.seeds[0]}"
    # policy name -> its role aliases: one policy can hold several roles (a run with one beta has
    # one RL learner, both the lowest and the highest)
    roles: dict[str, list[str]] = {}
    for role, alias in ROLE_KEYS.items():
        roles.setdefault(agent_roles(config)[role], []).append(alias)
    frontier_betas = sorted(config.ladder.frontier_betas)
    if frontier_betas:  # the frontier played: its nearest-to-the-simulator and nearest-to-the-agent players
        roles.setdefault(frontier_name(frontier_betas[-1]), []).append("frontier-highest")
        roles.setdefault(frontier_name(frontier_betas[0]), []).append("frontier-lowest")
    tables.require([t for t in PAPER_TABLES if t not in TRUTH_TABLES or config.data.source == "synthetic"])
    synthetic_run = config.data.source == "synthetic"
    personas = sorted(config.data.synthetic.personas, key=lambda p: p.rating) if synthetic_run else []
    engines = [p.name for p in personas if p.kind == "stockfish"]
    others = [p.name for p in personas if p.kind != "stockfish"]
    # Prompts by role: the strongest persona's prompt (the highest nominal rating).
    prompt_roles = {personas[-1].name: "strongest"} if personas else {}

    def names(policy: str) -> list[str]:
        return [policy, *roles.get(policy, [])]

    def prompts(prompt: str) -> list[str]:
        return [prompt] + ([prompt_roles[prompt]] if prompt in prompt_roles else [])

    # The design (config).
    synthetic = config.data.synthetic
    out |= {
        "games": f"{synthetic.games:,}",
        "personas": str(len(synthetic.personas)),
        "nodes-per-move": f"{synthetic.nodes_per_move:,}",
        "eval-positions-per-prompt": f"{config.evaluation.positions_per_prompt:,}",
        "agent-positions-per-prompt": f"{config.evaluation.agent_positions_per_prompt:,}",
        "action-value-nodes": f"{config.evaluation.action_value_nodes:,}",
        "simulator-steps": f"{config.simulator.steps:,}",
        "simulator-seeds": _count_word(len(config.simulator.seeds)),
        "simulator-batch": f"{config.simulator.batch_size:,}",
        "simulator-hidden": str(config.simulator.hidden),
        "simulator-layers": str(config.simulator.layers),
        "rlft-iterations": str(config.rlft.iterations),
        "rlft-games": str(config.rlft.games_per_iteration),
        "rlft-betas": ", ".join(f"{b:g}" for b in config.rlft.betas),
        "pikl-lambdas": ", ".join(f"{x:g}" for x in config.pikl.lambdas),
        "az-iterations": str(config.az.iterations),
        "az-simulations": str(config.az.simulations),
        "ladder-games": str(config.ladder.games_per_pairing),
        "ladder-anchor": escape(config.ladder.anchor),
        "max-plies": str(config.games.max_plies),
        "opening-plies": str(config.games.opening_plies),
    }
    anchor = next((p for p in synthetic.personas if p.name == config.ladder.anchor), None)
    out["ladder-anchor-rating"] = str(anchor.rating) if anchor else "n/a"
    summary = tables.json("data_summary")
    out["games-kept"] = f"{summary['games_kept']:,}"
    out["plies-kept"] = f"{summary['plies_kept']:,}"
    trained = tables.labelled("simulator_training")
    if simulator not in trained:
        raise MissingTableError(
            f"the paper needs the training summary of {simulator}: pass --table simulator_training:{simulator}=PATH"
        )
    info = json.loads(trained[simulator].read_text())
    out["simulator-val-loss"] = number(info["best_val_loss"])
    out["simulator-train-positions"] = f"{info['train_positions']:,}"
    # Checks and calibration (the simulator learned the population?).
    for _, row in tables.frame("checks").iterrows():
        _put(out, key("check", row["check"]), row, 3)
        out[key("check", row["check"], "verdict")] = escape(row["verdict"])
    calibration = tables.frame("calibration")
    calibration = calibration[calibration["policy"] == simulator] if "policy" in calibration else calibration
    for _, row in calibration.iterrows():
        out[key("calibration", row["prompt"], "predicted")] = number(row["predicted"])
        out[key("calibration", row["prompt"], "observed")] = number(row["observed"])
    # The engines' prompts against the others' (the text reports the two groups).
    for group, members in (("engines", engines), ("others", others)):
        rows = calibration[calibration["prompt"].isin(members)]
        if len(rows):
            for column in ("predicted", "observed"):
                out[f"calibration-{group}-{column}-min"] = number(rows[column].min())
                out[f"calibration-{group}-{column}-max"] = number(rows[column].max())
            out[f"calibration-{group}-max-gap"] = number((rows["predicted"] - rows["observed"]).abs().max(), 3)
            out[f"calibration-{group}-names"] = escape(", ".join(rows["prompt"]))
    # The metric battery (simulator) and the agents.
    for source, role in (("metric", "metrics"), ("agent", "agent_metrics")):
        table = tables.frame(role)
        table = table[table["data_prompt"] == "all"]
        for _, row in table.iterrows():
            for name in names(row["policy"]):
                for prompt in prompts(row["model_prompt"]):
                    _put(out, key(source, name, prompt, row["metric"]), row, 3)
    # RL learners.
    for _, row in tables.frame("rlft_summary").iterrows():
        for name in names(str(AgentId("rlft", int(row["seed"]), float(row["beta"])))):
            name = key("rlft", name)
            out[f"{name}-score"] = number(row["score_vs_frozen"])
            out[f"{name}-score-ci"] = interval(row["low"], row["high"])
            out[f"{name}-wins"] = number(row["wins"])
            out[f"{name}-losses"] = number(row["losses"])
            out[f"{name}-unconverted"] = number(row["unconverted_draws"])
            out[f"{name}-entropy-first"] = number(row["entropy_first_iteration"])
            out[f"{name}-entropy-last"] = number(row["entropy_last_iteration"])
            out[f"{name}-kl"] = number(row["kl_last_iteration"])
            out[f"{name}-target-score"] = number(row["target_score_vs_frozen"])
            out[f"{name}-target-score-ci"] = interval(row["target_low"], row["target_high"])
    out["rl-lowest-beta"] = f"{min(config.rlft.betas):g}"
    if frontier_betas:
        out["frontier-lowest-beta"] = f"{frontier_betas[0]:g}"
        out["frontier-highest-beta"] = f"{frontier_betas[-1]:g}"
        out["frontier-nodes"] = f"{config.ladder.frontier_nodes:,}"
    out["rl-highest-beta"] = f"{max(config.rlft.betas):g}"
    # The ladder.
    ratings = tables.frame("elo")
    for _, row in ratings.iterrows():
        prompt = "" if pd.isna(row["prompt"]) else row["prompt"]
        for agent in names(row["agent"]):
            name = key("elo", agent, prompt)
            out[name] = f"{row['elo']:.0f}"
            out[f"{name}-ci"] = f"[{row['low']:.0f}, {row['high']:.0f}]"
    # Ranges the text cites: the simulator under the persona prompts, and the engine anchors.
    under = ratings[(ratings["agent"] == simulator) & ratings["prompt"].isin([p.name for p in personas])]
    if len(under):
        elos = under["elo"].to_numpy()
        low, high = under.iloc[int(elos.argmin())], under.iloc[int(elos.argmax())]
        out |= {
            "elo-sim-persona-min": f"{low['elo']:.0f}",
            "elo-sim-persona-min-prompt": escape(low["prompt"]),
            "elo-sim-persona-max": f"{high['elo']:.0f}",
            "elo-sim-persona-max-prompt": escape(high["prompt"]),
        }
    anchors = ratings[ratings["player"].isin(engines)]
    if len(anchors):
        out["elo-engines-min"] = f"{anchors['elo'].min():.0f}"
        out["elo-engines-max"] = f"{anchors['elo'].max():.0f}"
    for _, row in tables.frame("ladder_statistics").iterrows():
        for agent in names(row["agent"]):
            _put(out, key("ladder", agent, row["statistic"]), row, 2 if "spearman" in row["statistic"] else 0)
    # Claims.
    claims = tables.frame("claims")
    for claim, tests in claims.groupby("claim", sort=True):
        out[key("claim", claim, "verdict")] = escape(tests["verdict"].iloc[0])
        for k, (_, row) in enumerate(tests.iterrows(), start=1):
            _put(out, key("claim", claim, "test", k), row, 3)
            out[key("claim", claim, "test", k, "valid")] = escape(row["valid"])
            for sign in ("positive", "negative"):
                out[key("claim", claim, "test", k, sign)] = escape(row[f"{sign}_control"])
                out[key("claim", claim, "test", k, sign, "value")] = number(float(row[f"{sign}_value"]), 3)
    verdicts = claims.groupby("claim")["verdict"].first()
    out["claims-total"] = str(len(verdicts))
    out["claims-supported"] = str(int((verdicts == "supported").sum()))
    out["claims-cannot-decide"] = str(int((verdicts == "test cannot decide").sum()))
    out["claims-valid-tests"] = str(int((claims["valid"] == "yes").sum()))
    out["claims-tests"] = str(len(claims))
    out["ledger-sha256"] = escape(str(claims["ledger_sha256"].iloc[0])[:12])
    # Against the truth (synthetic data): the persona x prompt matrix, ceilings, exact mistakes.
    if tables.has("truth_metrics"):
        truth = tables.frame("truth_metrics")
        for _, row in truth.iterrows():
            policy = "sim" if row["policy"] == "simulator" else row["policy"]
            _put(out, key("truth", policy, row["persona"], row["model_prompt"], row["metric"]), row, 3)
            if row["persona"] == row["model_prompt"] == "(across prompts)":  # a statistic of the matrix
                _put(out, key("truth", policy, row["metric"]), row, 3)
        kl = truth[(truth["metric"] == "kl") & (truth["persona"] == truth["model_prompt"])]
        for policy, rows in kl.groupby("policy"):
            name = "sim" if policy == "simulator" else str(policy)
            out[key("truth", name, "diagonal-kl-min")] = number(float(rows["value"].min()), 2)
            out[key("truth", name, "diagonal-kl-max")] = number(float(rows["value"].max()), 2)
        # Ranges over the engines and over the other personas, under each persona's own prompt
        # (the truth's own rows are its ceilings), so that the text need not name the personas.
        own = truth[(truth["persona"] == truth["model_prompt"]) | (truth["model_prompt"] == "(own)")]
        for group, members in (("engines", engines), ("others", others)):
            for (policy, metric), rows in own[own["persona"].isin(members)].groupby(["policy", "metric"]):
                name = "sim" if policy == "simulator" else str(policy)
                for end in ("min", "max"):
                    value = float(getattr(rows["value"], end)())
                    out[key("truth", name, group, metric, end)] = number(value, 2)
    if tables.has("exact_frontier"):
        frontier = tables.frame("exact_frontier")
        drops = frontier[frontier["metric"].str.startswith("drop_")]
        for _, row in drops.iterrows():
            family = "sim" if row["family"] == "simulator" else row["family"]
            _put(out, key("frontier", family, row["metric"]), row, 3)
            if row["metric"] == "drop_truth_kl":  # the text says how far the frontier moves away
                rise = {"value": -row["value"], "low": -row["high"], "high": -row["low"], "n": row["n"]}
                _put(out, key("frontier", family, "truth-kl-rise"), rise, 3)
        out["frontier-betas"] = str(frontier["beta"].dropna().nunique())
    # Runtimes (the rules' benchmark files).
    seconds = runtimes(tables)
    if len(seconds):
        out["runtime-total-minutes"] = f"{seconds['seconds'].sum() / 60:.0f}"
    for name, caption in FIGURES.items():
        out[key("caption", name)] = escape(caption)
    out["simulator-name"] = escape(simulator)
    return out


def runtimes(tables: RunTables) -> pd.DataFrame:
    """Wall seconds and peak memory of every job whose ``benchmark:`` file the paper was given
    (role ``benchmark``, labelled by job), in job-name order."""
    rows = []
    for job, table in sorted(tables.labelled_frames("benchmark").items()):
        if len(table):
            rows.append(
                {
                    "rule": job,
                    "seconds": float(table["s"].iloc[-1]),
                    "max_rss_mb": float(table["max_rss"].iloc[-1]) if "max_rss" in table else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=["rule", "seconds", "max_rss_mb"])


def claims_table(claims: pd.DataFrame) -> str:
    """The claims ledger as a LaTeX longtable (captioned, label ``tab:claims``): claim, test,
    measured value with interval and pass or fail, the controls' values and whether they
    separate (the test is valid), and the claim's verdict."""
    ragged = r">{\raggedright\arraybackslash}"
    widths = (0.05, 0.36, 0.21, 0.22, 0.12)
    lines = [
        r"\begin{longtable}{@{}" + "".join(rf"{ragged}p{{{w}\linewidth}}" for w in widths) + "@{}}",
        (
            r"\caption{The claims ledger evaluated on this run (generated). A test passes when its 95\% interval "
            r"clears the threshold fixed in the ledger; it is valid when its positive control passes it and its "
            r"negative control fails it. A claim is supported when all its tests are valid and pass, not supported "
            r"when a valid test fails, and the test cannot decide it otherwise.}"
            r"\label{tab:claims} \\"
        ),
        r"\toprule claim & test & measured [95\% interval] & controls: positive / negative & verdict \\ \midrule \endhead",
    ]
    marks = {"yes": "pass", "no": "fail"}
    for claim, group in claims.groupby("claim", sort=True):
        first = True
        for _, row in group.iterrows():
            verdict = (r"\textbf{" + escape(row["verdict"]) + "}") if first else ""
            label = escape(row["test"]) + r" \newline{\footnotesize " + escape(row["expectation"]) + "}"
            value = f"{number(row['value'], 3)} {interval(row['low'], row['high'], 3)} ({marks.get(str(row['passed']), 'n/a')})"
            controls = (
                f"{escape(row['positive_control'])} {number(float(row['positive_value']), 3)} "
                f"({marks.get(str(row['positive_passed']), 'n/a')}) / {escape(row['negative_control'])} "
                f"{number(float(row['negative_value']), 3)} ({marks.get(str(row['negative_passed']), 'n/a')})"
                + ("" if row["valid"] == "yes" else r" \newline\textit{not valid}")
            )
            lines.append(
                f"{escape(claim) if first else ''} & {label} & {value} & {{\\footnotesize {controls}}} & {verdict} \\\\"
            )
            first = False
        lines.append(r"\midrule")
    lines[-1] = r"\bottomrule"
    lines.append(r"\end{longtable}")
    return "\n".join(lines) + "\n"


def config_table(config: Config) -> str:
    """The methods table: the settings of each stage, from the resolved config."""
    s, r, a = config.simulator, config.rlft, config.az
    rows = [
        (
            "data",
            (
                f"{config.data.source}; {config.data.synthetic.games:,} games among "
                f"{len(config.data.synthetic.personas)} personas, Stockfish at "
                f"{config.data.synthetic.nodes_per_move:,} nodes per move"
            ),
        ),
        (
            "simulator",
            (
                f"{s.arch} {s.layers} x {s.hidden}, dropout {s.dropout:g}, prompt dropout {s.prompt_dropout:g}; "
                f"{s.steps:,} AdamW steps of {s.batch_size:,}, lr {s.lr:g}"
            ),
        ),
        (
            "evaluation",
            (
                f"{config.evaluation.positions_per_prompt:,} test positions per prompt, every legal move "
                f"scored at {config.evaluation.action_value_nodes:,} nodes; agents on "
                f"{config.evaluation.agent_positions_per_prompt:,} per prompt"
            ),
        ),
        (
            "games",
            f"ply cap {config.games.max_plies}, openings: first {config.games.opening_plies} plies of held-out games",
        ),
        (
            "rlft",
            (
                f"beta in {{{', '.join(f'{b:g}' for b in r.betas)}}}; {r.iterations} iterations x "
                f"{r.games_per_iteration} games, step size {r.step_size:g}, {r.epochs} epochs"
            ),
        ),
        ("pikl", f"lambda in {{{', '.join(f'{x:g}' for x in config.pikl.lambdas)}}}"),
        (
            "az",
            (
                f"from the {a.init}; {a.iterations} iterations x {a.games_per_iteration} games, "
                f"{a.simulations} simulations per move, c_puct {a.c_puct:g}"
            ),
        ),
        (
            "ladder",
            (
                f"{config.ladder.games_per_pairing} games per pairing against "
                f"{', '.join(config.ladder.anchors)}; anchored at {config.ladder.anchor}"
            ),
        ),
    ]
    body = "\n".join(f"{escape(stage)} & {escape(text)} \\\\" for stage, text in rows)
    return (
        r"\begin{tabular}{@{}lp{0.78\linewidth}@{}}"
        "\n"
        r"\toprule stage & setting \\ \midrule"
        "\n"
        f"{body}\n"
        r"\bottomrule"
        "\n"
        r"\end{tabular}"
        "\n"
    )


def runtime_table(table: pd.DataFrame) -> str:
    """Measured wall time per rule (the ``benchmark:`` files), longest first, and the sum."""
    table = table.sort_values("seconds", ascending=False)
    body = "\n".join(f"{escape(row.rule)} & {row.seconds:,.0f} \\\\" for row in table.itertuples())
    return (
        r"\begin{tabular}{@{}lr@{}}"
        "\n"
        r"\toprule rule & wall time (s) \\ \midrule"
        "\n"
        f"{body}\n"
        r"\midrule"
        "\n"
        f"all rules, one after another & {table['seconds'].sum():,.0f} \\\\\n"
        r"\bottomrule"
        "\n"
        r"\end{tabular}"
        "\n"
    )


def write_generated(config: Config, tables: RunTables, out_dir: Path) -> list[Path]:
    """Write ``numbers.tex`` and the generated tables into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    numbers = paper_numbers(config, tables)
    files = {
        "numbers.tex": "% Generated by `simagents paper`: every number of the text. Do not edit.\n"
        + "".join(f"\\snset{{{k}}}{{{v}}}\n" for k, v in sorted(numbers.items())),
        "config_table.tex": config_table(config),
        "runtime_table.tex": runtime_table(runtimes(tables)),
        "claims_table.tex": claims_table(tables.frame("claims")),
    }
    files["inputs.tex"] = (
        "% Generated by `simagents paper`: the sha256 of the generated numbers and tables (the PDF's\n"
        "% keywords carry it, so a PDF can be matched to the numbers it was built from).\n"
        f"\\newcommand{{\\sninputs}}{{{inputs_digest(files)}}}\n"
    )
    written = []
    for name, text in files.items():
        written.append(write_text(out_dir / name, text))
    return written


#: The generated files whose content the paper's text and tables cite (the runtime table records
#: time, so it is left out of the fingerprint).
FINGERPRINTED = ("numbers.tex", "config_table.tex", "claims_table.tex")
#: Lines of ``numbers.tex`` that quote a measured wall time: left out of the fingerprint, so the
#: same results give the same digest on any machine (a Slurm run and a local run, for one).
TIMED_NUMBER = re.compile(r"^\\snset\{runtime-")


def inputs_digest(files: Mapping[str, str]) -> str:
    """The sha256 of the fingerprinted generated files (name and text, in a fixed order), without
    the lines that record measured time."""
    digest = hashlib.sha256()
    for name in FINGERPRINTED:
        text = "".join(line for line in files[name].splitlines(keepends=True) if not TIMED_NUMBER.match(line))
        digest.update(f"{name}\n{text}\n".encode())
    return digest.hexdigest()


def build_paper(
    config: Config,
    tables: RunTables,
    figures: Mapping[str, Path],
    source_dir: Path,
    out_dir: Path,
    *,
    compile_pdf: bool = True,
) -> Path:
    """Assemble the paper of a run in ``out_dir`` (the LaTeX sources, the numbers and tables
    generated from ``tables``, the ``figures``: name -> PDF, one per :data:`FIGURES`) and compile
    it with latexmk; returns the PDF's path (or the .tex's when not compiling)."""
    missing = [name for name in FIGURES if name not in figures]
    if missing:
        raise FileNotFoundError(f"the paper needs the figures {', '.join(missing)}: pass --figure NAME=PDF")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("paper.tex", "references.bib"):
        shutil.copy2(source_dir / name, out_dir / name)
    write_generated(config, tables, out_dir / "generated")
    folder = out_dir / "figures"
    folder.mkdir(exist_ok=True)
    for name in FIGURES:
        if not figures[name].is_file():
            raise FileNotFoundError(f"figure {name} not found: {figures[name]}")
        shutil.copy2(figures[name], folder / f"{name}.pdf")
    if not compile_pdf:
        return out_dir / "paper.tex"
    latexmk = shutil.which("latexmk")
    if latexmk is None:
        raise FileNotFoundError(
            "latexmk not found: run `make setup` (it installs TeX Live's latexmk and the "
            "packages the paper needs) or install latexmk and a TeX distribution"
        )
    # A fixed date makes the PDF depend on its sources only (pdfTeX reads these two variables).
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
    result = subprocess.run(
        [latexmk, "-g", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "paper.tex"],
        cwd=out_dir,
        capture_output=True,
        text=True,
        env=env,
        check=False,  # the return code is read below, with the log's first errors
    )
    if result.returncode != 0:
        log = (out_dir / "paper.log").read_text(errors="replace") if (out_dir / "paper.log").exists() else ""
        errors = [line for line in log.splitlines() if line.startswith("!") or ".tex:" in line][:10]
        raise RuntimeError(
            f"latexmk failed in {out_dir} (see paper.log there):\n"
            + "\n".join(errors or result.stdout.splitlines()[-20:])
        )
    return out_dir / "paper.pdf"
