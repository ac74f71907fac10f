"""The ``simagents`` command: one subcommand per workflow stage, and nothing but argument parsing.

Every Snakemake rule calls one of these, so each stage also runs (and can be debugged) outside
Snakemake. A stage command takes every file it reads and writes as an argument (the rules pass
``{input}`` and ``{output}``); none builds a path from the config. Its ``--config`` is the
stage's slice of the run config (``<run>/config/<stage>.yaml``, :mod:`simagents.stages`) or a
whole run config. ``simagents data`` runs the data stages in order into the run's folder, and
``simagents snakemake`` runs the workflow. Run ``simagents <command> --help`` for each command's
options; ``--debug`` shows the traceback behind an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, ConfigError, load_config
from .data.lichess import DownloadError
from .outputs import DISK_ERRNOS, OutputError, make_folder, write_csv, write_text
from .stages import load_stage_config
from .stockfish import EngineNotFoundError, engine_version, find_stockfish

log = logging.getLogger("simagents")

Command = Callable[[argparse.Namespace], int]


def _write_csv(table: Any, path: str | Path) -> Path:
    """A result table as CSV (6 significant digits), atomically, its folder created; returns the path."""
    return write_csv(table, path, float_format="%.6g")


def _workers(value: int | None) -> int:
    from .data.ingest import default_workers

    return value if value else default_workers()


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _stage(args: argparse.Namespace, stage: str) -> Config:
    """The config of the command's stage from ``--config`` (see :mod:`simagents.stages`)."""
    return load_stage_config(args.config, stage)


def _compute(config: Config) -> Any:
    """Where the run's networks run and in what precision (``simulator.device`` and ``.precision``)."""
    from .models import resolve_compute

    return resolve_compute(config.simulator.device, config.simulator.precision)


def _positions_dir(meta: str | Path) -> Path:
    """The positions folder of a ``meta.json`` (its arrays are the rule's other declared inputs)."""
    path = Path(meta)
    if not path.is_file():
        raise FileNotFoundError(f"positions metadata not found: {path}")
    return path.parent


# --- commands: set-up ------------------------------------------------------------------------


def cmd_validate_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(f"{args.config}: valid (run {config.run_name!r}, source {config.data.source!r}, seed {config.seed})")
    return 0


def cmd_find_engine(args: argparse.Namespace) -> int:
    configured = load_config(args.config).engine.path if args.config else None
    path = find_stockfish(configured)
    print(f"{path} ({engine_version(path)})")
    return 0


def cmd_snakemake(args: argparse.Namespace) -> int:
    from .workflow import run_snakemake

    return run_snakemake(args.snakemake_args)  # reached by --help only: main() passes the rest on


# --- commands: data --------------------------------------------------------------------------


def cmd_synthetic(args: argparse.Namespace) -> int:
    from .data.synthetic import generate, to_pgn

    config = _stage(args, "synthetic_games")
    games = generate(
        config.data.synthetic, config.engine, config.seed, workers=_workers(args.workers), progress=not args.no_progress
    )
    write_text(args.pgn_out, to_pgn(games, config.data.synthetic.personas, config.seed))
    log.info("wrote %d games to %s", len(games), args.pgn_out)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .data.lichess import download_month, lichess_dump_name

    config = _stage(args, "download_lichess")
    lichess = config.data.lichess
    out = Path(args.out)
    expected = lichess_dump_name(lichess.url_template, args.month)
    if out.name != expected or out.parent.name != "lichess":
        raise ValueError(f"--out must be <resources_dir>/lichess/{expected} for month {args.month}, got {out}")
    path = download_month(
        args.month,
        out.parent.parent,
        url_template=lichess.url_template,
        checksums_url=lichess.checksums_url,
        sha256=dict(lichess.sha256),
        progress=not args.no_progress,
    )
    print(path)
    return 0


def cmd_games(args: argparse.Namespace) -> int:
    from .data.sources import build_games_table
    from .data.table import write_games, write_json

    config = _stage(args, "games_table")
    inputs = [Path(p) for p in args.inputs]
    table, ledger = build_games_table(config, inputs, workers=_workers(args.workers), progress=not args.no_progress)
    write_games(table, Path(args.out))
    write_json(ledger.to_dict(), Path(args.ledger_out))
    dropped = ", ".join(f"{k}: {v}" for k, v in sorted(ledger.dropped.items())) or "none"
    log.info("games read %d, kept %d, dropped %d (%s)", ledger.read, ledger.kept, ledger.total_dropped, dropped)
    return 0


def cmd_positions(args: argparse.Namespace) -> int:
    from .data.sources import prompt_tokens
    from .data.table import read_games
    from .positions import build_positions
    from .prompts import vocabulary
    from .provenance import provenance

    config = _stage(args, "positions")
    games = read_games(Path(args.games))
    split = config.positions.split
    meta = build_positions(
        games,
        vocabulary(prompt_tokens(config, games)),
        Path(args.out_dir),
        seed=config.seed,
        skip_plies=config.positions.skip_plies,
        split=(split.train, split.val, split.test),
        workers=_workers(args.workers),
        progress=not args.no_progress,
        provenance=provenance(config),
    )
    log.info("positions: %s", {s: v["positions"] for s, v in meta["splits"].items()})
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from .data.sources import prompt_mode
    from .data.summary import build_summary, score_table, to_markdown
    from .data.table import read_games, write_json
    from .provenance import provenance

    config = _stage(args, "data_summary")
    ledger = json.loads(Path(args.ledger).read_text())
    meta = json.loads(Path(args.positions_meta).read_text())
    games = read_games(Path(args.games))
    # Who beat whom is meaningful where prompts name agents (personas), not rating bands.
    scores = score_table(games, config.seed) if prompt_mode(config) == "persona" else None
    extra = {}
    if config.data.source == "synthetic" and any(p.kind == "stockfish" for p in config.data.synthetic.personas):
        try:
            extra["engine"] = engine_version(find_stockfish(config.engine.path))
        except EngineNotFoundError:
            extra["engine"] = "not found"
    summary = build_summary(config.data.source, ledger, games, meta, scores, provenance(config, **extra))
    write_json(summary, Path(args.out_json))
    write_text(args.out_md, to_markdown(summary))
    print(Path(args.out_md).read_text())
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """The data stages in order, outside Snakemake, into the run's folder; stops at a failed step."""
    from .data.lichess import lichess_dump_path
    from .data.sources import input_files
    from .paths import RunPaths

    config = load_config(args.config)
    paths = RunPaths.of(config)
    common = ["--config", str(args.config)]
    parallel = [*common, *(["--workers", str(args.workers)] if args.workers else [])]
    quiet = ["--no-progress"] if args.no_progress else []
    steps: list[list[str]] = []
    if config.data.source == "synthetic":
        steps.append(["synthetic", *parallel, *quiet, "--pgn-out", str(paths.synthetic_pgn)])
    elif config.data.source == "lichess":
        for month in config.data.lichess.months:
            out = lichess_dump_path(Path(config.resources_dir), config.data.lichess.url_template, month)
            steps.append(["download", *common, *quiet, "--month", month, "--out", str(out)])
    steps += [
        ["games", *parallel, *quiet, "--inputs", *map(str, input_files(config, paths)), "--out", str(paths.games),
         "--ledger-out", str(paths.ingest_ledger)],
        ["positions", *parallel, *quiet, "--games", str(paths.games), "--out-dir", str(paths.positions)],
        ["summary", *common, "--games", str(paths.games), "--ledger", str(paths.ingest_ledger),
         "--positions-meta", str(paths.positions_meta), "--out-json", str(paths.summary_json),
         "--out-md", str(paths.summary_md)],
    ]  # fmt: skip
    for step in steps:
        code = main(step)
        if code != 0:
            print(
                f"simagents data: step `{step[0]}` failed (exit {code}); the later steps were not run", file=sys.stderr
            )
            return code
    return 0


# --- commands: the simulator and its measurement --------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from .models import simulator_configs, train_simulator

    config = _stage(args, "train_simulator")
    positions = _positions_dir(args.positions_meta)
    meta = json.loads(Path(args.positions_meta).read_text())
    network, train = simulator_configs(config.simulator, len(meta["vocabulary"]), args.seed)
    _set_threads(args.threads)
    summary = train_simulator(positions, Path(args.out_dir), network, train, progress=not args.no_progress)
    log.info(
        "simulator seed %d: best validation loss %.4f after %d steps (%.0f positions/s, %.1f%% loading)",
        args.seed,
        summary["best_val_loss"],
        summary["steps"],
        summary["positions_per_second"] or 0,
        100 * (summary["data_loading_share"] or 0),
    )
    return 0


def cmd_eval_positions(args: argparse.Namespace) -> int:
    from .data.table import read_games
    from .evaluation.eval_positions import select_eval_positions, write_eval_positions

    config = _stage(args, "eval_positions")
    positions_dir = _positions_dir(args.positions_meta)
    vocab = json.loads(Path(args.positions_meta).read_text())["vocabulary"]
    table = select_eval_positions(
        read_games(Path(args.games)),
        positions_dir,
        vocab,
        per_prompt=config.evaluation.positions_per_prompt,
        seed=config.seed,
    )
    write_eval_positions(table, Path(args.out))
    log.info("%d evaluation positions", table.num_rows)
    return 0


def cmd_action_values(args: argparse.Namespace) -> int:
    from .evaluation.action_values import compute_action_values
    from .evaluation.eval_positions import load_eval_positions

    config = _stage(args, "action_values")
    table = compute_action_values(
        load_eval_positions(Path(args.positions)),
        Path(args.out),
        engine_path=find_stockfish(config.engine.path),
        nodes=config.evaluation.action_value_nodes,
        workers=_workers(args.workers),
        threads=1,  # 1 thread: reproducible; parallelism comes from workers
        hash_mb=config.engine.hash_mb,
        progress=not args.no_progress,
    )
    log.info(
        "action values: %d moves in %d positions", table.num_rows, len(set(table.column("position_id").to_pylist()))
    )
    return 0


def cmd_truth(args: argparse.Namespace) -> int:
    from .evaluation.eval_positions import load_eval_positions
    from .evaluation.truth import TruthSpec, compute_truth

    config = _stage(args, "persona_truth")
    synthetic = config.data.synthetic
    needs_engine = any(p.kind == "stockfish" for p in synthetic.personas)
    spec = TruthSpec(
        personas=synthetic.personas,
        engine=config.engine,
        engine_path=str(find_stockfish(config.engine.path)) if needs_engine else None,
        nodes_per_move=synthetic.nodes_per_move,
    )
    table = compute_truth(
        load_eval_positions(Path(args.positions)), Path(args.out), spec, workers=_workers(args.workers),
        progress=not args.no_progress,
    )  # fmt: skip
    log.info("persona truth: %d rows for %d personas", table.num_rows, len(synthetic.personas))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from .agents.controls import training_mixture
    from .agents.roster import AgentId
    from .data.summary import persona_strengths
    from .evaluation.action_values import load_action_values
    from .evaluation.battery import Population, measure
    from .evaluation.eval_positions import load_eval_positions
    from .evaluation.truth import load_truth
    from .models.simulator_policy import SimulatorPolicy
    from .policies import Policy
    from .prompts import measured_prompts

    config = _stage(args, "metrics")
    truth_args = (args.truth, args.truth_out, args.reliability_out, args.frontier_out)
    if any(truth_args) and not all(truth_args):
        raise ValueError("--truth, --truth-out, --reliability-out and --frontier-out go together")
    compute = _compute(config)
    simulators: dict[str, Policy] = {}
    vocabulary: list[str] | None = None
    for pair in args.simulator:
        name, _, checkpoint = pair.partition("=")
        if AgentId.parse(name).kind != "simulator":
            raise ValueError(f"--simulator expects simulator_seedN=PATH, got {pair!r}")
        policy = SimulatorPolicy.from_checkpoint(checkpoint, name=name, compute=compute)
        simulators[name] = policy
        if vocabulary is None:
            vocabulary = list(policy.vocabulary)
    positions = load_eval_positions(Path(args.positions))  # after the checkpoints: their errors first
    prompts = measured_prompts(vocabulary, positions.column("own_prompt").to_pylist()) if vocabulary else None
    summary = json.loads(Path(args.summary).read_text())
    population = None
    if args.truth:
        if config.data.source != "synthetic":
            raise ValueError("--truth: only the synthetic population has a truth")
        synthetic = config.data.synthetic
        population = Population(synthetic.personas, config.engine, synthetic.nodes_per_move, training_mixture(summary))
    table, truth_table, reliability, frontier = measure(
        positions,
        load_action_values(Path(args.action_values)),
        simulators,
        prompts or ["none"],
        seed=config.seed,
        strengths=persona_strengths(summary),
        truth=load_truth(Path(args.truth)) if args.truth else None,
        population=population,
    )
    log.info("%d metric rows written to %s", len(table), _write_csv(table, args.out))
    if truth_table is not None and reliability is not None and frontier is not None:
        log.info("%d truth rows written to %s", len(truth_table), _write_csv(truth_table, args.truth_out))
        _write_csv(reliability, args.reliability_out)
        log.info("%d frontier rows written to %s", len(frontier), _write_csv(frontier, args.frontier_out))
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    import pandas as pd

    from .evaluation.checks import calibration_table, random_prompt_of, simulator_checks

    config = _stage(args, "simulator_checks")
    metrics = pd.read_csv(args.metrics)
    checks = simulator_checks(metrics, random_prompt_of(config))
    _write_csv(checks, args.out)
    _write_csv(calibration_table(metrics), args.calibration)
    for row in checks.itertuples():
        print(f"{row.policy:>16}  {row.check:<24} {row.value:8.4f} [{row.low:.4f}, {row.high:.4f}]  {row.verdict}")
    return 0


# --- commands: agents --------------------------------------------------------------------------


def cmd_rlft(args: argparse.Namespace) -> int:
    from .agents.rlft import RlftRun, train_rlft
    from .games import openings_of_games_table
    from .models import checkpoint_prompts
    from .prompts import UNKNOWN_TOKEN

    config = _stage(args, "rlft")
    if args.beta not in config.rlft.betas:
        raise ValueError(f"beta {args.beta:g} is not one of rlft.betas {list(config.rlft.betas)}")
    _set_threads(args.threads)
    simulator = Path(args.simulator)
    split = config.positions.split
    openings = openings_of_games_table(
        Path(args.games), config.games.opening_plies, 256, "rlft", config.seed, split.train, split.val
    )
    run = RlftRun(
        beta=args.beta,
        seed=args.seed,
        prompts=tuple(p for p in checkpoint_prompts(simulator) if p != UNKNOWN_TOKEN),
        openings=tuple(openings),
        max_plies=config.games.max_plies,
    )
    summary = train_rlft(
        simulator, Path(args.out_dir), config.rlft, run, compute=_compute(config), progress=not args.no_progress
    )
    log.info(
        "rlft beta=%g seed=%d: score against the frozen simulator %.3f [%.3f, %.3f]",
        args.beta,
        args.seed,
        summary.get("score_vs_frozen", float("nan")),
        summary.get("score_low", float("nan")),
        summary.get("score_high", float("nan")),
    )
    return 0


def cmd_rlft_summary(args: argparse.Namespace) -> int:
    import pandas as pd

    from .agents.rlft import summarise_runs
    from .games import match_seed

    config = _stage(args, "rlft_summary")
    table, frontier = summarise_runs(
        [Path(d) for d in args.runs], seed=match_seed("rlft-frontier", config.seed) % 2**32
    )
    log.info("wrote %s", _write_csv(table, args.out))
    log.info("wrote %s", _write_csv(pd.DataFrame([frontier]), args.frontier))
    return 0


def cmd_az(args: argparse.Namespace) -> int:
    from .agents.az import AzRun, train_az
    from .games import openings_of_games_table
    from .models import simulator_configs

    config = _stage(args, "az")
    _set_threads(args.threads)
    split = config.positions.split
    openings = openings_of_games_table(
        Path(args.games), config.games.opening_plies, 256, "az", config.seed, split.train, split.val
    )
    run = AzRun(openings=tuple(openings), max_plies=config.games.max_plies)
    network = vocabulary = None
    if config.az.init == "scratch":
        if not args.positions_meta:
            raise ValueError("az.init is scratch: pass --positions-meta (the vocabulary of the positions)")
        vocabulary = json.loads(Path(args.positions_meta).read_text())["vocabulary"]
        network, _ = simulator_configs(config.simulator, len(vocabulary), config.az.seed)
    elif not args.simulator:
        raise ValueError("az.init is simulator: pass --simulator (the checkpoint to start from)")
    summary = train_az(
        Path(args.out_dir),
        config.az,
        run,
        simulator_checkpoint=Path(args.simulator) if config.az.init == "simulator" else None,
        network=network,
        vocabulary=vocabulary,
        compute=_compute(config),
        progress=not args.no_progress,
    )
    log.info("az: %d iterations in %.0f s", summary["iterations"], summary["seconds_this_call"])
    return 0


def cmd_agent_metrics(args: argparse.Namespace) -> int:
    from .agents import roster
    from .evaluation.action_values import load_action_values
    from .evaluation.battery import measure_agents
    from .evaluation.eval_positions import load_eval_positions

    config = _stage(args, "agent_metrics")
    table = measure_agents(
        config,
        roster.parse_checkpoints(args.checkpoint, config),
        load_eval_positions(Path(args.positions)),
        load_action_values(Path(args.action_values)),
        compute=_compute(config),
    )
    log.info("%d metric rows written to %s", len(table), _write_csv(table, args.out))
    return 0


def cmd_ladder(args: argparse.Namespace) -> int:
    from .agents import roster
    from .agents.ladder import run_ladder

    config = _stage(args, "ladder")
    games, players = run_ladder(
        config,
        roster.parse_checkpoints(args.checkpoint, config),
        Path(args.games),
        Path(args.out_dir),
        workers=_workers(args.workers),
        progress=not args.no_progress,
        compute=_compute(config),
    )
    log.info("ladder: %d games, %d players; Elo table in %s", games, players, args.out_dir)
    return 0


# --- commands: the paper -----------------------------------------------------------------------


def cmd_claims(args: argparse.Namespace) -> int:
    from .report.claims import run_claims
    from .report.tables import RunTables

    config = _stage(args, "claims")
    table = run_claims(config, Path(args.ledger), RunTables.parse(args.table))
    _write_csv(table, args.out)
    for claim, group in table.groupby("claim", sort=True):
        log.info("%s %s: %s", claim, group["name"].iloc[0], group["verdict"].iloc[0])
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    from .agents.roster import simulators
    from .report.figures import make_figure
    from .report.tables import RunTables

    config = _stage(args, "figure")
    for path in make_figure(args.name, RunTables.parse(args.table), str(simulators(config)[0]), Path(args.out_dir)):
        log.info("wrote %s", path)
    return 0


def cmd_paper(args: argparse.Namespace) -> int:
    import shutil

    from .report.latex import build_paper
    from .report.tables import RunTables

    config = _stage(args, "paper")
    figures = {}
    for pair in args.figure:
        name, sep, path = pair.partition("=")
        if not sep:
            raise ValueError(f"--figure expects NAME=PDF, got {pair!r}")
        figures[name] = Path(path)
    result = build_paper(
        config,
        RunTables.parse(args.table),
        figures,
        Path(args.source),
        Path(args.out_dir),
        compile_pdf=not args.no_pdf,
    )
    log.info("wrote %s", result)
    if args.publish:
        make_folder(Path(args.publish).parent)
        shutil.copy2(result, args.publish)
        log.info("copied to %s", args.publish)
    return 0


def cmd_uci(args: argparse.Namespace) -> int:
    from .uci import main as uci_main

    return uci_main(
        Path(args.checkpoint),
        args.prompt,
        args.opponent_prompt,
        args.temperature,
        args.argmax,
        args.seed,
        device=args.device,
        precision=args.precision,
    )


# --- the parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    # allow_abbrev off: a misspelt or outdated flag is an error, not silently another flag
    parser = argparse.ArgumentParser(prog="simagents", description=(__doc__ or "").split("\n")[0], allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"simagents {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help="debug logging, and the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Command, help: str, *, config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, allow_abbrev=False)
        p.set_defaults(func=func)
        if config:
            p.add_argument(
                "--config",
                required=True,
                type=Path,
                help="the stage's config (<run>/config/<stage>.yaml) or a run config",
            )
        return p

    def workers(p: argparse.ArgumentParser) -> None:
        p.add_argument("--workers", type=int, default=None, help="worker processes (default: the CPU cores available)")

    def progress(p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    def threads(p: argparse.ArgumentParser) -> None:
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")

    def path(p: argparse.ArgumentParser, flag: str, help: str, **kwargs: Any) -> None:
        p.add_argument(flag, required=True, help=help, **kwargs)

    p = add("validate-config", cmd_validate_config, "check a config against the schema and print a one-line summary")
    p = add(
        "find-engine", cmd_find_engine, "print the Stockfish binary that would be used, and its version", config=False
    )
    p.add_argument("--config", type=Path, help="a run config whose engine.path to use")
    p = add("snakemake", cmd_snakemake, "run the workflow (Snakemake's arguments), first removing a stale lock that a "
            "killed run left", config=False)  # fmt: skip
    p.add_argument(
        "snakemake_args", nargs=argparse.REMAINDER, help="arguments for Snakemake (--cores, --configfile, ...)"
    )

    p = add("synthetic", cmd_synthetic, "play the synthetic population's games (PGN)")
    workers(p)
    progress(p)
    path(p, "--pgn-out", "the PGN to write")
    p = add("download", cmd_download, "download one lichess monthly dump (resumable, sha256-checked)")
    path(p, "--month", "YYYY-MM")
    path(p, "--out", "<resources_dir>/lichess/<dump file name>")
    progress(p)
    p = add("games", cmd_games, "read PGN files into the games table and the drop ledger")
    workers(p)
    progress(p)
    path(p, "--inputs", "the PGN files (plain, .zst, .bz2 or .gz)", nargs="+")
    path(p, "--out", "the games table (parquet)")
    path(p, "--ledger-out", "read/kept/dropped counts (JSON)")
    p = add("positions", cmd_positions, "encode the games table into split position arrays")
    workers(p)
    progress(p)
    path(p, "--games", "the games table")
    path(p, "--out-dir", "the positions folder (meta.json and <split>/<array>.npy)")
    p = add("summary", cmd_summary, "write the data summary (JSON and Markdown)")
    path(p, "--games", "the games table")
    path(p, "--ledger", "the games stage's drop ledger")
    path(p, "--positions-meta", "the positions' meta.json")
    path(p, "--out-json", "the summary (JSON)")
    path(p, "--out-md", "the summary (Markdown)")
    p = add("data", cmd_data, "run every data stage in order into the run's folder (without Snakemake)")
    workers(p)
    progress(p)

    p = add("train", cmd_train, "train (or resume) the simulator for one seed")
    p.add_argument("--seed", type=int, required=True, help="training seed (one of simulator.seeds)")
    path(p, "--positions-meta", "the positions' meta.json (its folder holds the arrays)")
    path(p, "--out-dir", "the checkpoint folder")
    threads(p)
    progress(p)
    p = add("eval-positions", cmd_eval_positions, "sample evaluation positions from the test split, per prompt")
    path(p, "--games", "the games table")
    path(p, "--positions-meta", "the positions' meta.json (its folder holds the test arrays)")
    path(p, "--out", "the evaluation positions (parquet)")
    p = add("action-values", cmd_action_values, "Stockfish scores for every legal move of the evaluation positions")
    workers(p)
    progress(p)
    path(p, "--positions", "the evaluation positions")
    path(p, "--out", "the action values (parquet; finished chunks are kept beside it to resume)")
    p = add("metrics", cmd_metrics, "the metric battery for every simulator and prompt (tidy table with intervals)")
    path(p, "--simulator", "simulator_seedN=CHECKPOINT (repeatable)", action="append")
    path(p, "--positions", "the evaluation positions")
    path(p, "--action-values", "their action values")
    path(p, "--summary", "the data summary (JSON: each persona's strength, the training mixture)")
    path(p, "--out", "the metrics table (CSV)")
    p.add_argument("--truth", help="the persona truth (synthetic data): also measure against it")
    p.add_argument("--truth-out", help="the truth metrics table (CSV; with --truth)")
    p.add_argument("--reliability-out", help="the reliability table of mistakes (CSV; with --truth)")
    p.add_argument("--frontier-out", help="the exact KL-regularised frontier (CSV; with --truth)")
    p = add("truth", cmd_truth, "every persona's exact move distribution on every evaluation position (resumable)")
    workers(p)
    progress(p)
    path(p, "--positions", "the evaluation positions")
    path(p, "--out", "the truth table (parquet)")
    p = add("checks", cmd_checks, "pass/fail checks that the simulator learned the population, and calibration")
    path(p, "--metrics", "the metrics table")
    path(p, "--out", "the checks table (CSV)")
    path(p, "--calibration", "the calibration table (CSV)")

    p = add("rlft", cmd_rlft, "RL fine-tuning of the simulator for one KL weight beta and seed (resumable)")
    p.add_argument("--beta", type=float, required=True, help="KL weight (one of rlft.betas)")
    p.add_argument("--seed", type=int, required=True, help="RL seed (one of rlft.seeds)")
    path(p, "--simulator", "the checkpoint to start from")
    path(p, "--games", "the games table (held-out openings)")
    path(p, "--out-dir", "the run's folder")
    threads(p)
    progress(p)
    p = add("rlft-summary", cmd_rlft_summary, "one table of every RL run and the score's rank correlation with beta")
    path(p, "--runs", "the RL runs' folders", nargs="+")
    path(p, "--out", "the summary table (CSV)")
    path(p, "--frontier", "the frontier statistic (CSV)")
    p = add("az", cmd_az, "train the AlphaZero-style agent by self-play (resumable)")
    p.add_argument("--simulator", help="the checkpoint to start from (az.init: simulator)")
    p.add_argument("--positions-meta", help="the positions' meta.json, for the vocabulary (az.init: scratch)")
    path(p, "--games", "the games table (held-out openings)")
    path(p, "--out-dir", "the agent's folder")
    threads(p)
    progress(p)
    p = add("agent-metrics", cmd_agent_metrics, "the metric battery for every agent on one subset, and the frontier")
    path(p, "--checkpoint", "AGENT=CHECKPOINT for every agent with a checkpoint (repeatable)", action="append")
    path(p, "--positions", "the evaluation positions")
    path(p, "--action-values", "their action values")
    path(p, "--out", "the agent metrics table (CSV)")
    p = add("ladder", cmd_ladder, "play every agent against the anchors and fit Elo ratings")
    workers(p)
    progress(p)
    path(p, "--checkpoint", "AGENT=CHECKPOINT for every agent with a checkpoint (repeatable)", action="append")
    path(p, "--games", "the games table (held-out openings)")
    path(p, "--out-dir", "the ladder's folder")

    table_help = "ROLE=PATH or ROLE:LABEL=PATH, a run table (repeatable; roles: simagents.report.tables)"
    p = add("claims", cmd_claims, "decide every claim of the ledger on the run's tables")
    path(p, "--ledger", "the claims ledger (config/claims.yaml)")
    path(p, "--table", table_help, action="append")
    path(p, "--out", "the claims table (CSV)")
    p = add("figure", cmd_figure, "draw one of the paper's figures from the run's tables (PDF and PNG)")
    p.add_argument("name", help="the figure (simagents.report.figures.FIGURES)")
    # not required: on human data a truth-only figure (divergence) is given no table and says so
    p.add_argument("--table", help=table_help, action="append", default=[])
    path(p, "--out-dir", "the figures folder")
    p = add("paper", cmd_paper, "generate the paper's numbers and tables from the run and build the PDF")
    path(p, "--source", "the folder of paper.tex and references.bib")
    path(p, "--table", table_help, action="append")
    path(p, "--figure", "NAME=PDF, each figure of the paper (repeatable)", action="append")
    path(p, "--out-dir", "the paper's build folder")
    p.add_argument("--no-pdf", action="store_true", help="write the generated inputs only; do not run latexmk")
    p.add_argument("--publish", help="also copy the PDF here (the default run publishes paper/paper.pdf)")

    p = add(
        "uci", cmd_uci, "speak UCI as the simulator prompted as a persona (for GUIs and lichess-bot; docs/uci.md)",
        config=False,
    )  # fmt: skip
    p.add_argument("--checkpoint", required=True, help="a simulator checkpoint (best.pt)")
    p.add_argument(
        "--prompt", default="none", help="the persona or rating band to play as (default none; UCI option Prompt)"
    )
    p.add_argument(
        "--opponent-prompt", default="none", help="the opponent's prompt (default none; UCI option OpponentPrompt)"
    )
    choice = p.add_mutually_exclusive_group()
    choice.add_argument(
        "--temperature", type=float, default=1.0, help="sampling temperature (default 1; UCI option Temperature)"
    )
    choice.add_argument("--argmax", action="store_true", help="always play the most likely move (UCI option Argmax)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument(
        "--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps (default cpu: one board a move gains nothing)"
    )
    p.add_argument(
        "--precision", default="auto", choices=["auto", "fp32", "bf16"], help="auto: bf16 autocast on CUDA, else fp32"
    )
    return parser


#: Errors that are the input's or the environment's fault: one line, exit code 2 (``--debug``
#: shows the traceback too). Anything else is a bug and keeps its traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    EngineNotFoundError,
    FileNotFoundError,
    ValueError,  # CheckpointError, LedgerError, MissingTableError's siblings
    OutputError,
    DownloadError,
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["snakemake"]:
        # Everything after the command is Snakemake's (argparse cannot pass options through).
        from .workflow import run_snakemake

        return run_snakemake(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose or args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except EXPECTED_ERRORS as error:
        if args.debug:
            traceback.print_exc()
        print(f"simagents {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # A refusal from a writer that does not go through simagents.outputs (a library's own
        # file, a worker's): still one line naming the path, not a traceback.
        if error.errno not in DISK_ERRNOS:
            raise
        if args.debug:
            traceback.print_exc()
        refused = OutputError(error.errno, error.strerror or str(error), error.filename or "an output")
        print(f"simagents {args.command}: error: {refused}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
