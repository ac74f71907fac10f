"""The ``simagents`` command: one subcommand per workflow stage.

Every Snakemake rule calls one of these, so each stage also runs (and can be debugged) outside
Snakemake. Output paths default to the run's layout (:mod:`simagents.paths`); the rules pass
them explicitly. Run ``simagents <command> --help`` for each command's options.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import ConfigError, load_config
from .data.lichess import DownloadError
from .engine import EngineNotFoundError, engine_version, find_stockfish
from .outputs import DISK_ERRNOS, OutputError, make_folder, write_csv, write_parquet, write_text
from .paths import RunPaths

log = logging.getLogger("simagents")


def _write_csv(table, path: str | Path) -> Path:
    """A result table as CSV (6 significant digits), atomically, its folder created; returns the path."""
    return write_csv(table, path, float_format="%.6g")


def _workers(value: int | None) -> int:
    from .data.ingest import default_workers

    return value if value else default_workers()


def cmd_validate_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(f"{args.config}: valid (run {config.run_name!r}, source {config.data.source!r}, seed {config.seed})")
    return 0


def cmd_find_engine(args: argparse.Namespace) -> int:
    configured = load_config(args.config).engine.path if args.config else None
    path = find_stockfish(configured)
    print(f"{path} ({engine_version(path)})")
    return 0


def cmd_synthetic(args: argparse.Namespace) -> int:
    from .data.synthetic import generate, to_pgn

    config = load_config(args.config)
    paths = RunPaths.of(config)
    pgn_out = Path(args.pgn_out or paths.synthetic_pgn)
    games = generate(
        config.data.synthetic, config.engine, config.seed, workers=_workers(args.workers), progress=not args.no_progress
    )
    write_text(pgn_out, to_pgn(games, config.data.synthetic.personas, config.seed))
    log.info("wrote %d games to %s", len(games), pgn_out)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .data.lichess import download_month

    config = load_config(args.config)
    months = args.month or list(config.data.lichess.months)
    for month in months:
        path = download_month(
            month,
            Path(config.resources_dir),
            url_template=config.data.lichess.url_template,
            checksums_url=config.data.lichess.checksums_url,
            sha256=dict(config.data.lichess.sha256),
            progress=not args.no_progress,
        )
        print(path)
    return 0


def cmd_games(args: argparse.Namespace) -> int:
    from .data.sources import build_games_table
    from .data.table import write_games, write_json

    config = load_config(args.config)
    paths = RunPaths.of(config)
    inputs = [Path(p) for p in args.inputs] if args.inputs else None
    table, ledger = build_games_table(config, inputs, workers=_workers(args.workers), progress=not args.no_progress)
    write_games(table, Path(args.out or paths.games))
    write_json(ledger.to_dict(), Path(args.ledger_out or paths.ingest_ledger))
    dropped = ", ".join(f"{k}: {v}" for k, v in sorted(ledger.dropped.items())) or "none"
    log.info("games read %d, kept %d, dropped %d (%s)", ledger.read, ledger.kept, ledger.total_dropped, dropped)
    return 0


def cmd_positions(args: argparse.Namespace) -> int:
    from .data.sources import prompt_tokens
    from .data.table import read_games
    from .positions import build_positions
    from .prompts import vocabulary
    from .provenance import provenance

    config = load_config(args.config)
    paths = RunPaths.of(config)
    games = read_games(Path(args.games or paths.games))
    split = config.positions.split
    meta = build_positions(
        games,
        vocabulary(prompt_tokens(config, games)),
        Path(args.out_dir or paths.positions),
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

    config = load_config(args.config)
    paths = RunPaths.of(config)
    ledger = json.loads(Path(args.ledger or paths.ingest_ledger).read_text())
    meta = json.loads(Path(args.positions_meta or paths.positions_meta).read_text())
    games = read_games(Path(args.games or paths.games))
    # Who beat whom is meaningful where prompts name agents (personas), not rating bands.
    scores = score_table(games, config.seed) if prompt_mode(config) == "persona" else None
    extra = {}
    if config.data.source == "synthetic" and any(p.kind == "stockfish" for p in config.data.synthetic.personas):
        try:
            extra["engine"] = engine_version(find_stockfish(config.engine.path))
        except EngineNotFoundError:
            extra["engine"] = "not found"
    summary = build_summary(config.data.source, ledger, games, meta, scores, provenance(config, **extra))
    write_json(summary, Path(args.out_json or paths.summary_json))
    out_md = Path(args.out_md or paths.summary_md)
    write_text(out_md, to_markdown(summary))
    print(out_md.read_text())
    return 0


def compute_of(config):  # type: ignore[no-untyped-def]
    """Where this run's networks run and in what precision (``simulator.device``,
    ``simulator.precision``): the one resolution every network stage goes through."""
    from .models import resolve_compute

    return resolve_compute(config.simulator.device, config.simulator.precision)


def simulator_configs(config, vocabulary_size: int, seed: int):  # type: ignore[no-untyped-def]
    """The network and training settings of one simulator seed, from the run config."""
    from .models import NetworkConfig, TrainConfig

    sim = config.simulator
    network = NetworkConfig(
        arch=sim.arch,
        num_prompts=vocabulary_size,
        hidden=sim.hidden,
        layers=sim.layers,
        blocks=sim.blocks,
        channels=sim.channels,
        value_head=sim.value_head,
        dropout=sim.dropout,
        move_features=sim.move_features,
        prompt_temperature=sim.prompt_temperature,
        lever_gain=sim.lever_gain,
    )
    train = TrainConfig(
        seed=seed,
        steps=sim.steps,
        batch_size=sim.batch_size,
        lr=sim.lr,
        weight_decay=sim.weight_decay,
        warmup_steps=sim.warmup_steps,
        prompt_dropout=sim.prompt_dropout,
        value_weight=sim.value_weight,
        eval_every=sim.eval_every,
        checkpoint_every=sim.checkpoint_every,
        val_positions=sim.val_positions,
        device=sim.device,
        precision=sim.precision,
    )
    return network, train


def cmd_train(args: argparse.Namespace) -> int:
    from .models import train_simulator

    config = load_config(args.config)
    paths = RunPaths.of(config)
    positions = Path(args.positions or paths.positions)
    meta = json.loads((positions / "meta.json").read_text())
    network, train = simulator_configs(config, len(meta["vocabulary"]), args.seed)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out_dir = Path(args.out_dir or paths.simulator_dir(args.seed))
    summary = train_simulator(positions, out_dir, network, train, progress=not args.no_progress)
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

    config = load_config(args.config)
    paths = RunPaths.of(config)
    positions_dir = Path(args.positions_dir or paths.positions)
    vocab = json.loads((positions_dir / "meta.json").read_text())["vocabulary"]
    table = select_eval_positions(
        read_games(Path(args.games or paths.games)),
        positions_dir,
        vocab,
        per_prompt=config.evaluation.positions_per_prompt,
        seed=config.seed,
    )
    write_eval_positions(table, Path(args.out or paths.eval_positions))
    log.info("%d evaluation positions", table.num_rows)
    return 0


def cmd_action_values(args: argparse.Namespace) -> int:
    from .evaluation.action_values import compute_action_values
    from .evaluation.eval_positions import load_eval_positions

    config = load_config(args.config)
    paths = RunPaths.of(config)
    table = compute_action_values(
        load_eval_positions(Path(args.positions or paths.eval_positions)),
        Path(args.out or paths.action_values),
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


def cmd_metrics(args: argparse.Namespace) -> int:
    from .evaluation.action_values import load_action_values
    from .evaluation.eval_positions import load_eval_positions
    from .evaluation.metrics import metric_battery
    from .models import load_simulator_and_vocabulary
    from .models.policy import SimulatorPolicy

    config = load_config(args.config)
    paths = RunPaths.of(config)
    checkpoints = (
        [Path(c) for c in args.checkpoints]
        if args.checkpoints
        else [paths.simulator_dir(seed) / "best.pt" for seed in config.simulator.seeds]
    )
    simulators, prompts = {}, None
    compute = compute_of(config)
    for checkpoint in checkpoints:
        model, vocabulary = load_simulator_and_vocabulary(checkpoint, compute)
        name = f"simulator_{checkpoint.parent.name}"
        simulators[name] = SimulatorPolicy(model, vocabulary, name=name, compute=compute)
        prompts = [p for p in vocabulary if p != "unknown"] if prompts is None else prompts
    summary_path = Path(args.summary or paths.summary_json)
    strengths = persona_strengths(summary_path) if summary_path.exists() else None
    if strengths is None:
        log.warning("no data summary at %s: the strength-rank metric is left out", summary_path)
    table = metric_battery(
        load_eval_positions(Path(args.positions or paths.eval_positions)),
        load_action_values(Path(args.action_values or paths.action_values)),
        simulators,
        prompts or ["none"],
        seed=config.seed,
        strengths=strengths,
    )
    out = _write_csv(table, args.out or paths.metrics)
    log.info("%d metric rows written to %s", len(table), out)
    return 0


def cmd_agent_metrics(args: argparse.Namespace) -> int:
    from .agents.ladder import build_policy
    from .evaluation.action_values import load_action_values
    from .evaluation.eval_positions import load_eval_positions
    from .evaluation.metrics import agent_battery, agent_subset
    from .paths import format_beta

    config = load_config(args.config)
    paths = RunPaths.of(config)
    positions, values = agent_subset(
        load_eval_positions(Path(args.positions or paths.eval_positions)),
        load_action_values(Path(args.action_values or paths.action_values)),
        config.evaluation.agent_positions_per_prompt,
        config.seed,
    )
    policies: dict[str, tuple] = {}
    compute = compute_of(config)
    for spec in ladder_players(config):
        if spec.is_anchor:
            continue
        if spec.agent not in policies:
            policies[spec.agent] = (build_policy(spec, compute=compute), [])
        policies[spec.agent][1].append(spec.prompt or "none")
    # The frontier of the first RL seed; the simulator it started from is its beta = infinity end
    # (no RL at all), ranked above every beta.
    family = {f"rlft_beta{format_beta(beta)}_seed{config.rlft.seeds[0]}": beta for beta in config.rlft.betas}
    family[f"simulator_seed{config.simulator.seeds[0]}"] = float("inf")
    log.info("agent metrics: %d policies on %d positions", len(policies), positions.num_rows)
    table = agent_battery(positions, values, policies, family, seed=config.seed)
    out = _write_csv(table, args.out or paths.agent_metrics)
    log.info("%d metric rows written to %s", len(table), out)
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from .report.claims import run_claims

    config = load_config(args.config)
    paths = RunPaths.of(config)
    table = run_claims(config, Path(args.ledger))
    _write_csv(table, args.out or paths.claims)
    for claim, group in table.groupby("claim", sort=True):
        log.info("%s %s: %s", claim, group["name"].iloc[0], group["verdict"].iloc[0])
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    from .report.figures import FIGURES, make_figure

    config = load_config(args.config)
    out_dir = Path(args.out_dir or RunPaths.of(config).figures)
    for name in args.names or list(FIGURES):
        for path in make_figure(name, config, out_dir):
            log.info("wrote %s", path)
    return 0


def cmd_paper(args: argparse.Namespace) -> int:
    from .report.latex import build_paper

    config = load_config(args.config)
    out_dir = Path(args.out_dir or RunPaths.of(config).paper)
    result = build_paper(config, Path(args.source), out_dir, compile_pdf=not args.no_pdf)
    log.info("wrote %s", result)
    if args.publish:
        import shutil

        Path(args.publish).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(result, args.publish)
        log.info("copied to %s", args.publish)
    return 0


def persona_strengths(summary_path: Path) -> dict[str, float]:
    """Each prompt's strength in the data: its mean score against every other prompt (0-1)."""
    from .data.summary import OVERALL

    scores = json.loads(summary_path.read_text()).get("scores", [])
    return {row["agent"]: float(row["score"]) for row in scores if row["opponent"] == OVERALL}


def cmd_checks(args: argparse.Namespace) -> int:
    import pandas as pd

    from .evaluation.checks import calibration_table, simulator_checks

    config = load_config(args.config)
    paths = RunPaths.of(config)
    metrics = pd.read_csv(args.metrics or paths.metrics)
    random_prompt = None
    if config.data.source == "synthetic":
        random_prompt = next((p.name for p in config.data.synthetic.personas if p.kind == "random"), None)
    checks = simulator_checks(metrics, random_prompt)
    calibration = calibration_table(metrics)
    _write_csv(checks, args.out or paths.checks)
    _write_csv(calibration, args.calibration or paths.calibration)
    for row in checks.itertuples():
        print(f"{row.policy:>16}  {row.check:<24} {row.value:8.4f} [{row.low:.4f}, {row.high:.4f}]  {row.verdict}")
    return 0


def _openings(config, count: int, salt: str) -> list[tuple[str, ...]]:
    """``count`` held-out openings (first ``games.opening_plies`` plies of test-split games)."""
    import pyarrow.parquet as pq

    from .games import held_out_openings, match_seed

    paths = RunPaths.of(config)
    table = pq.read_table(paths.games, columns=["game_id", "moves"])
    split = config.positions.split
    return held_out_openings(
        zip(table.column("game_id").to_pylist(), table.column("moves").to_pylist()),
        config.games.opening_plies,
        count,
        match_seed(salt, config.seed) % 2**32,
        config.seed,
        split.train,
        split.val,
    )


def _prompts_of(checkpoint: Path) -> tuple[str, ...]:
    """The prompts an agent is played under: the checkpoint's vocabulary, less the unknown token."""
    from .models import load_checkpoint
    from .prompts import UNKNOWN_TOKEN

    vocabulary = load_checkpoint(checkpoint)["vocabulary"]
    return tuple(p for p, _ in sorted(vocabulary.items(), key=lambda kv: kv[1]) if p != UNKNOWN_TOKEN)


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def cmd_rlft(args: argparse.Namespace) -> int:
    from .agents.rlft import RlftRun, train_rlft

    config = load_config(args.config)
    paths = RunPaths.of(config)
    if args.beta not in config.rlft.betas:
        raise ValueError(f"beta {args.beta:g} is not one of rlft.betas {list(config.rlft.betas)}")
    _set_threads(args.threads)
    simulator = Path(args.simulator or paths.simulator_dir(config.simulator.seeds[0]) / "best.pt")
    out_dir = Path(args.out_dir or paths.rlft_dir(args.beta, args.seed))
    run = RlftRun(
        beta=args.beta,
        seed=args.seed,
        prompts=_prompts_of(simulator),
        openings=tuple(_openings(config, 256, "rlft")),
        max_plies=config.games.max_plies,
    )
    summary = train_rlft(
        simulator, out_dir, config.rlft, run, compute=compute_of(config), progress=not args.no_progress
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
    import numpy as np
    import pandas as pd

    from .games import match_seed

    config = load_config(args.config)
    paths = RunPaths.of(config)
    from .agents.rlft import score_frontier

    rows = []
    points: dict[float, list[np.ndarray]] = {}
    for beta in config.rlft.betas:
        for seed in config.rlft.seeds:
            folder = paths.rlft_dir(beta, seed)
            evaluation = pd.read_csv(folder / "evaluation.csv")
            target = pd.read_csv(folder / "target_evaluation.csv")
            target = target[target.prompt == "all"].iloc[0]
            curves = pd.read_csv(folder / "curves.csv")
            games = pd.read_parquet(folder / "evaluation_games.parquet")
            learner = games.white_score.where(games.white == "learner", 1.0 - games.white_score)
            points.setdefault(beta, []).append(learner.to_numpy(np.float64))
            overall = evaluation[evaluation.prompt == "all"].iloc[0]
            last = curves.iloc[-1]
            rows.append(
                {
                    "beta": beta,
                    "seed": seed,
                    "score_vs_frozen": overall.value,
                    "low": overall.low,
                    "high": overall.high,
                    "games": int(overall.n),
                    "wins": float((learner == 1).mean()),
                    "losses": float((learner == 0).mean()),
                    # a draw the learner reached by stalemate or by trading down to bare
                    # kings and minors: material won but not converted
                    "unconverted_draws": float(games.termination.isin(["stalemate", "insufficient_material"]).mean()),
                    "kl_last_iteration": last.kl,
                    "entropy_last_iteration": last.entropy,
                    "entropy_first_iteration": curves.entropy.iloc[0],
                    "iterations": int(last.iteration),
                    # the policy the learner is fitted to, in the same games (agents/rlft.py)
                    "target_score_vs_frozen": target.value,
                    "target_low": target.low,
                    "target_high": target.high,
                    "method": overall["method"],
                }
            )
    out = _write_csv(pd.DataFrame(rows), args.out or paths.rlft_summary)
    log.info("wrote %s", out)
    if len(points) >= 3:
        frontier = score_frontier(
            {b: np.concatenate(p) for b, p in points.items()}, seed=match_seed("rlft-frontier", config.seed) % 2**32
        )
    else:  # written anyway (a declared output): the claims ledger reports the test as not testable
        frontier = {
            "statistic": "spearman_beta_score",
            "value": np.nan,
            "low": np.nan,
            "high": np.nan,
            "n": 0,
            "method": f"not computed: needs at least 3 betas, the config has {len(points)}",
        }
    frontier_path = Path(args.frontier or out.with_name("rlft_frontier.csv"))
    _write_csv(pd.DataFrame([frontier]), frontier_path)
    log.info("wrote %s", frontier_path)
    return 0


def cmd_az(args: argparse.Namespace) -> int:
    from .agents.az import AzRun, train_az

    config = load_config(args.config)
    paths = RunPaths.of(config)
    _set_threads(args.threads)
    simulator = Path(args.simulator or paths.simulator_dir(config.simulator.seeds[0]) / "best.pt")
    out_dir = Path(args.out_dir or paths.az_dir(config.az.seed))
    run = AzRun(openings=tuple(_openings(config, 256, "az")), max_plies=config.games.max_plies)
    network = vocabulary = None
    if config.az.init == "scratch":
        meta = json.loads((paths.positions_meta).read_text())
        vocabulary = meta["vocabulary"]
        network, _ = simulator_configs(config, len(vocabulary), config.az.seed)
    summary = train_az(
        out_dir,
        config.az,
        run,
        simulator_checkpoint=simulator if config.az.init == "simulator" else None,
        network=network,
        vocabulary=vocabulary,
        compute=compute_of(config),
        progress=not args.no_progress,
    )
    log.info("az: %d iterations in %.0f s", summary["iterations"], summary["seconds_this_call"])
    return 0


def ladder_players(config) -> list:
    """Every ladder player of a run: anchors, then each agent under each prompt."""
    from .agents.ladder import PlayerSpec, anchor_specs
    from .paths import format_beta

    paths = RunPaths.of(config)
    players = anchor_specs(config.data.synthetic.personas, config.ladder.anchors)
    for seed in config.simulator.seeds:
        checkpoint = paths.simulator_dir(seed) / "best.pt"
        known = _prompts_of(checkpoint)
        prompts = config.ladder.prompts or known
        unknown = sorted(set(prompts) - set(known))
        if unknown:
            raise ValueError(f"ladder.prompts {unknown} are not prompts of the simulator ({list(known)})")
        agents = [(f"simulator_seed{seed}", "simulator", str(checkpoint), None)]
        agents += [
            (f"pikl_lambda{format_beta(lam)}_seed{seed}", "pikl", str(checkpoint), lam) for lam in config.pikl.lambdas
        ]
        for agent, kind, path, lam in agents:
            players += [
                PlayerSpec(name=f"{agent}@{p}", agent=agent, kind=kind, prompt=p, checkpoint=path, lam=lam)
                for p in prompts
            ]
    for beta in config.rlft.betas:
        for seed in config.rlft.seeds:
            checkpoint = paths.rlft_dir(beta, seed) / "final.pt"
            agent = f"rlft_beta{format_beta(beta)}_seed{seed}"
            prompts = config.ladder.prompts or _prompts_of(paths.simulator_dir(config.simulator.seeds[0]) / "best.pt")
            players += [
                PlayerSpec(name=f"{agent}@{p}", agent=agent, kind="rlft", prompt=p, checkpoint=str(checkpoint))
                for p in prompts
            ]
    players.append(
        PlayerSpec(
            name=f"az_seed{config.az.seed}",
            agent=f"az_seed{config.az.seed}",
            kind="az",
            checkpoint=str(paths.az_dir(config.az.seed) / "final.pt"),
            simulations=config.az.eval_simulations,
        )
    )
    return players


def cmd_ladder(args: argparse.Namespace) -> int:
    from .agents.ladder import fit_ladder, ladder_statistics, play_ladder, schedule
    from .games import games_frame, match_seed, to_pgn

    config = load_config(args.config)
    paths = RunPaths.of(config)
    players = ladder_players(config)
    if config.ladder.anchor not in config.ladder.anchors:
        raise ValueError(
            f"ladder.anchor {config.ladder.anchor!r} is not one of ladder.anchors {list(config.ladder.anchors)}"
        )
    anchor = next(p for p in players if p.name == config.ladder.anchor)
    openings = _openings(config, config.ladder.games_per_pairing, "ladder")
    tasks = schedule(players, config.ladder.games_per_pairing, openings, config.seed)
    games = play_ladder(
        players,
        tasks,
        config.engine,
        config.ladder.nodes_per_move,
        config.games.max_plies,
        workers=_workers(args.workers),
        progress=not args.no_progress,
        compute=compute_of(config),
    )
    out_dir = Path(args.out_dir or paths.ladder)
    make_folder(out_dir)
    write_text(out_dir / "games.pgn", to_pgn(games, event="simagents Elo ladder"))
    write_csv(games_frame(games), out_dir / "games.csv")
    table, resampled = fit_ladder(
        games,
        players,
        anchor.name,
        float(anchor.rating),
        seed=match_seed("ladder-fit", config.seed) % 2**32,
        resamples=config.ladder.resamples,
    )
    _write_csv(table, out_dir / "elo.csv")
    write_parquet(resampled, out_dir / "elo_resamples.parquet")
    _write_csv(ladder_statistics(table, resampled), out_dir / "statistics.csv")
    log.info("ladder: %d games, %d players; Elo table in %s", len(games), len(players), out_dir / "elo.csv")
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


def cmd_data(args: argparse.Namespace) -> int:
    """All data stages in order, outside Snakemake."""
    config = load_config(args.config)
    common = (
        ["--config", str(args.config)]
        + (["--workers", str(args.workers)] if args.workers else [])
        + (["--no-progress"] if args.no_progress else [])
    )
    if config.data.source == "synthetic":
        main(["synthetic", *common])
    elif config.data.source == "lichess":
        main(["download", "--config", str(args.config)] + (["--no-progress"] if args.no_progress else []))
    for stage in ("games", "positions"):
        main([stage, *common])
    return main(["summary", "--config", str(args.config)])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simagents", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"simagents {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help: str, workers: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if name != "uci":
            p.add_argument("--config", required=name != "find-engine", type=Path, help="run configuration (YAML)")
        if workers:
            p.add_argument(
                "--workers",
                type=int,
                default=None,
                help="worker processes (default: the CPU cores this process may use)",
            )
            p.add_argument("--no-progress", action="store_true", help="no progress bar")
        return p

    add("validate-config", cmd_validate_config, "check a config against the schema and print a one-line summary")
    add("find-engine", cmd_find_engine, "print the Stockfish binary that would be used, and its version")
    p = add("synthetic", cmd_synthetic, "play the synthetic population's games (PGN)", workers=True)
    p.add_argument("--pgn-out", help="PGN output (default: <run>/data/raw/synthetic.pgn)")
    p = add("download", cmd_download, "download lichess monthly dumps into resources/ (resumable, sha256-checked)")
    p.add_argument("--month", action="append", help="YYYY-MM (repeatable; default: data.lichess.months)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = add("games", cmd_games, "read the source's PGN into the games table and the drop ledger", workers=True)
    p.add_argument("--inputs", nargs="*", help="PGN files (default: the source's files from the config)")
    p.add_argument("--out", help="games table (default: <run>/data/games.parquet)")
    p.add_argument("--ledger-out", help="read/kept/dropped counts (default: <run>/data/ingest.json)")
    p = add("positions", cmd_positions, "encode the games table into split position shards", workers=True)
    p.add_argument("--games", help="games table (default: <run>/data/games.parquet)")
    p.add_argument("--out-dir", help="positions folder (default: <run>/positions)")
    p = add("summary", cmd_summary, "write the data summary (JSON and Markdown)")
    for flag in ("--ledger", "--positions-meta", "--games", "--out-json", "--out-md"):
        p.add_argument(flag, help="override the run layout's path")
    add("data", cmd_data, "run every data stage in order (without Snakemake)", workers=True)
    p = add("train", cmd_train, "train (or resume) the simulator for one seed")
    p.add_argument("--seed", type=int, required=True, help="training seed (one of simulator.seeds)")
    p.add_argument("--positions", help="positions folder (default: <run>/positions)")
    p.add_argument("--out-dir", help="checkpoint folder (default: <run>/simulator/seed<SEED>)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = add("eval-positions", cmd_eval_positions, "sample evaluation positions from the test split, per prompt")
    for flag in ("--games", "--positions-dir", "--out"):
        p.add_argument(flag, help="override the run layout's path")
    p = add(
        "action-values",
        cmd_action_values,
        "Stockfish scores for every legal move of the evaluation positions (resumable)",
        workers=True,
    )
    for flag in ("--positions", "--out"):
        p.add_argument(flag, help="override the run layout's path")
    p = add("metrics", cmd_metrics, "the metric battery for every policy and prompt (tidy table with intervals)")
    p.add_argument("--checkpoints", nargs="*", help="simulator checkpoints (default: best.pt of each seed)")
    for flag in ("--positions", "--action-values", "--summary", "--out"):
        p.add_argument(flag, help="override the run layout's path")
    p = add(
        "agent-metrics",
        cmd_agent_metrics,
        "the metric battery for every agent (simulator, rlft, pikl, az) on one subset, and the beta frontier",
    )
    for flag in ("--positions", "--action-values", "--out"):
        p.add_argument(flag, help="override the run layout's path")
    p = add("claims", cmd_claims, "decide every claim of the ledger on the run's tables (claims.csv)")
    p.add_argument("--ledger", default="config/claims.yaml", help="the claims ledger (default: %(default)s)")
    p.add_argument("--out", help="override the run layout's path")
    p = add("figure", cmd_figure, "draw the paper's figures from the run's tables (PDF and PNG)")
    p.add_argument("names", nargs="*", help="figures to draw (default: all)")
    p.add_argument("--out-dir", help="override the run layout's path")
    p = add("paper", cmd_paper, "generate the paper's numbers and tables from the run and build the PDF")
    p.add_argument("--source", default="paper", help="folder of paper.tex and references.bib (default: %(default)s)")
    p.add_argument("--out-dir", help="override the run layout's path (default: <run>/paper)")
    p.add_argument("--no-pdf", action="store_true", help="write the generated inputs only; do not run latexmk")
    p.add_argument("--publish", help="also copy the PDF here (the default run publishes paper/paper.pdf)")
    p = add("checks", cmd_checks, "pass/fail checks that the simulator learned the population, and calibration")
    for flag in ("--metrics", "--out", "--calibration"):
        p.add_argument(flag, help="override the run layout's path")
    p = add("rlft", cmd_rlft, "RL fine-tuning of the simulator for one KL weight beta and seed (resumable)")
    p.add_argument("--beta", type=float, required=True, help="KL weight (one of rlft.betas)")
    p.add_argument("--seed", type=int, required=True, help="RL seed (one of rlft.seeds)")
    p.add_argument("--simulator", help="starting checkpoint (default: best.pt of the first simulator seed)")
    p.add_argument("--out-dir", help="output folder (default: <run>/agents/rlft/beta<BETA>_seed<SEED>)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = add(
        "rlft-summary",
        cmd_rlft_summary,
        "one table of every rlft run's score, KL and entropy, and the score's rank correlation with beta",
    )
    p.add_argument("--out", help="override the run layout's path")
    p.add_argument("--frontier", help="override the run layout's path (default: rlft_frontier.csv beside --out)")
    p = add("az", cmd_az, "train the AlphaZero-style agent by self-play (resumable)")
    p.add_argument("--simulator", help="checkpoint to start from when az.init is simulator")
    p.add_argument("--out-dir", help="output folder (default: <run>/agents/az/seed<SEED>)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = add("ladder", cmd_ladder, "play every agent against the anchors and fit Elo ratings", workers=True)
    p.add_argument("--out-dir", help="output folder (default: <run>/ladder)")
    p = add("uci", cmd_uci, "speak UCI as the simulator prompted as a persona (for GUIs and lichess-bot; docs/uci.md)")
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
        "--device",
        default="cpu",
        help="auto, cpu, cuda, cuda:N or mps (default cpu: one board a move gains nothing from a GPU)",
    )
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16"],
        help="auto: bf16 autocast on CUDA, fp32 elsewhere",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except (
        ConfigError,
        EngineNotFoundError,
        FileNotFoundError,
        ValueError,  # CheckpointError too
        OutputError,
        DownloadError,
    ) as error:
        print(f"simagents {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # A refusal from a writer that does not go through simagents.outputs (a library's own
        # file, a worker's): still one line naming the path, not a traceback.
        if error.errno not in DISK_ERRNOS:
            raise
        refused = OutputError(error.errno, error.strerror or str(error), error.filename or "an output")
        print(f"simagents {args.command}: error: {refused}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
