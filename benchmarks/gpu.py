"""Benchmark: one simulator training epoch and batched self-play, on the device the run would use.

    python benchmarks/gpu.py [--device auto] [--precision auto ...] [--archs mlp resnet]
                             [--games 400] [--boards 64 256] [--max-plies 120] [--threads N] [--out FILE]

Written for a GPU (``make bench-gpu``), and it runs the same measurements on the CPU, so that it
is testable anywhere and its CPU numbers are the baseline a GPU's are compared with. For each
network (the default config's ``mlp`` and the lichess config's ``resnet``, built from those
config files) and each precision (on CUDA ``bf16`` autocast, the default there, and ``fp32``;
elsewhere ``fp32``) it measures

* **one training epoch**: :func:`simagents.models.train.train_simulator` over every training
  position once (``ceil(positions / 1024)`` steps of batch 1,024) of shards built from
  ``--games`` random-vs-greedy games played here (no Stockfish needed), with one validation and
  one checkpoint at the end, after a 5-step warm-up call (CUDA context, cuDNN's kernel choice,
  first allocations) that is not counted. Reported: the epoch call's wall seconds, and the
  training rate per step: the epoch call minus a second 5-step call, which pays the same fixed
  costs (loading the shards, the final validation, checkpoint and active-unit diagnostic), so
  the difference is the time of the other steps alone. That is the rate a long run trains at;
* **self-play**: :func:`simagents.games.play_games` with the (randomly initialised) simulator on
  both sides, ``--boards`` games at once (each network call carries every board waiting on a
  move), prompts ``none`` against ``greedy``, ply cap ``--max-plies``, after a warm-up of a few
  games. Reported: games per second and plies per second. Speed does not depend on the weights,
  only game lengths do, and the games are the same for every device and precision up to
  sampling differences in the last bits (their ply counts are reported);
* **the agents' phases**, for the default config's network (and on CUDA the lichess one too):
  one RL fine-tuning iteration at the default config's budgets (32 games against the frozen
  simulator, improved-policy targets at up to 4,096 visited positions, 16 epochs of fitting,
  one of the critic), each phase timed, and the AlphaZero-style search's rate (32 boards, 32
  simulations a move, ply cap 60) with the time of its network calls alone (the search's
  evaluator on the same 32 boards), from which the rate without them follows.

Every network call goes through :mod:`simagents.models.device`, as in the workflow. The file
(Markdown, and the same numbers as JSON beside it) names the device: the GPU's name from
``torch.cuda.get_device_name()``, or the CPU's model and core count. Default output:
``results/bench/device-<cuda|mps|cpu>.md``. Intermediate files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chess
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import _cpu_model

from simagents import __version__
from simagents.agents.az import AzPolicy
from simagents.agents.fitting import fit_targets, fit_values
from simagents.agents.rlft import RlftRun, _build_targets, _schedule
from simagents.config import load_config
from simagents.data.table import GameRecord, records_to_table
from simagents.games import GameSpec, match_seed, play_games
from simagents.models import (
    Compute,
    NetworkConfig,
    Simulator,
    TrainConfig,
    resolve_compute,
    simulator_configs,
    train_simulator,
)
from simagents.models.simulator_policy import SimulatorPolicy
from simagents.policies import GreedyMaterial, RandomMover
from simagents.positions import build_positions
from simagents.prompts import vocabulary as make_vocabulary

REPO = Path(__file__).resolve().parents[1]
BATCH = 1024  # the simulator's batch in every shipped config
NEVER = 10**9  # eval_every / checkpoint_every: only the final validation and checkpoint
WARMUP_STEPS = 5
ARCH_CONFIG = {"mlp": REPO / "config" / "default.yaml", "resnet": REPO / "config" / "lichess.yaml"}
PROMPTS = ("random", "greedy")


def device_name(compute: Compute) -> str:
    """The GPU's name (``torch.cuda.get_device_name``), or the CPU's model and core count."""
    if compute.device.type == "cuda":
        index = compute.device.index if compute.device.index is not None else torch.cuda.current_device()
        return torch.cuda.get_device_name(index)
    if compute.device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    threads = torch.get_num_threads()
    return f"{_cpu_model()}, {os.cpu_count()} cores, {threads} torch thread{'s' if threads != 1 else ''}"


def _sync(compute: Compute) -> None:
    if compute.device.type == "cuda":
        torch.cuda.synchronize(compute.device)


def positions_for(games: int, max_plies: int, out: Path) -> int:
    """Shards of ``games`` random-vs-greedy games under ``out``; returns the training positions."""
    specs = [
        GameSpec("random", "greedy", "random", "greedy", seed=i)
        if i % 2
        else GameSpec("greedy", "random", "greedy", "random", seed=i)
        for i in range(games)
    ]
    played = play_games(specs, {"random": RandomMover(), "greedy": GreedyMaterial()}, max_plies=max_plies)
    table = records_to_table(
        [
            GameRecord(
                game_id=f"g{i:06d}",
                source="synthetic",
                white=g.spec.white,
                black=g.spec.black,
                white_rating=None,
                black_rating=None,
                white_prompt=g.spec.white_prompt,
                black_prompt=g.spec.black_prompt,
                result=g.result,
                termination=g.termination,
                time_control="-",
                moves=" ".join(g.moves),
                plies=g.plies,
            )
            for i, g in enumerate(played)
        ]
    )
    meta = build_positions(
        table, make_vocabulary(PROMPTS), out, seed=0, skip_plies=2, split=(0.9, 0.05, 0.05), progress=False
    )
    return int(meta["splits"]["train"]["positions"])


def network_of(arch: str) -> NetworkConfig:
    """The network of the config that ships this architecture, for this benchmark's prompts."""
    config = load_config(ARCH_CONFIG[arch])
    return simulator_configs(config.simulator, len(make_vocabulary(PROMPTS)), 0)[0]


def train_epoch(
    positions: Path, work: Path, network: NetworkConfig, train_positions: int, compute: Compute, device: str
) -> dict[str, Any]:
    """One epoch of ``train_simulator`` after an uncounted warm-up call, and the per-step rate
    (the epoch call minus a short call with the same fixed costs)."""
    # At least twice the short call's steps, so that the difference is not lost in timing noise.
    steps = max(math.ceil(train_positions / BATCH), 2 * WARMUP_STEPS)

    def run(folder: str, count: int) -> tuple[dict[str, Any], float]:
        config = TrainConfig(
            seed=0,
            steps=count,
            batch_size=BATCH,
            warmup_steps=1,
            eval_every=NEVER,
            checkpoint_every=NEVER,
            val_positions=2048,
            device=device,
            precision=compute.precision,
        )
        _sync(compute)
        started = time.perf_counter()
        summary = train_simulator(positions, work / folder, network, config, progress=False)
        _sync(compute)
        return summary, time.perf_counter() - started

    run(f"warmup-{network.arch}-{compute.precision}", WARMUP_STEPS)
    _, short = run(f"short-{network.arch}-{compute.precision}", WARMUP_STEPS)
    summary, wall = run(f"epoch-{network.arch}-{compute.precision}", steps)
    per_step = (wall - short) / (steps - WARMUP_STEPS)
    # train_simulator's loop time (its positions over its rate) and the loader's share of it: the
    # batch assembly on the host, a floor under a GPU's step time.
    loop = steps * BATCH / summary["positions_per_second"]
    return {
        "steps": steps,
        "positions": steps * BATCH,
        "wall_s": wall,
        "fixed_s": short - WARMUP_STEPS * per_step,
        "positions_per_s": BATCH / per_step if per_step > 0 else float("nan"),
        "call_positions_per_s": summary["positions_per_second"],
        "loading_share": summary["data_loading_share"],
        "loading_ms_per_step": 1e3 * summary["data_loading_share"] * loop / steps,
    }


def self_play(network: NetworkConfig, compute: Compute, boards: int, max_plies: int) -> dict[str, Any]:
    """``boards`` games at once, the simulator on both sides."""
    torch.manual_seed(0)
    policy = SimulatorPolicy(Simulator(network), make_vocabulary(PROMPTS), name="sim", compute=compute)
    specs = [
        GameSpec(
            "sim",
            "sim",
            "none" if g % 2 else "greedy",
            "greedy" if g % 2 else "none",
            seed=match_seed("bench-device", g),
        )
        for g in range(boards)
    ]
    play_games(specs[:4], {"sim": policy}, min(max_plies, 20))  # warm-up, uncounted
    _sync(compute)
    started = time.perf_counter()
    games = play_games(specs, {"sim": policy}, max_plies)
    _sync(compute)
    wall = time.perf_counter() - started
    plies = sum(g.plies for g in games)
    return {"boards": boards, "wall_s": wall, "games_per_s": boards / wall, "plies": plies, "plies_per_s": plies / wall}


def agent_phases(network: NetworkConfig, compute: Compute, toy: bool = False) -> dict[str, Any]:
    """Phase times of one RL fine-tuning iteration and the AZ search rate, at the default config's
    budgets (``toy``: a few games and positions, to test that it runs)."""
    rlft = load_config(ARCH_CONFIG["mlp"]).rlft
    if toy:
        rlft = replace(rlft, games_per_iteration=2, target_positions=32, epochs=1)
    vocab = make_vocabulary(PROMPTS)
    torch.manual_seed(0)
    models = [Simulator(network) for _ in range(3)]
    for model in models[1:]:
        model.load_state_dict(models[0].state_dict())
    learner, frozen, critic = (
        SimulatorPolicy(m, vocab, name=n, compute=compute) for m, n in zip(models, ("learner", "frozen", "critic"))
    )
    run = RlftRun(
        beta=0.0, seed=0, prompts=("none", *PROMPTS), openings=(("e2e4", "e7e5", "g1f3", "b8c6"),), max_plies=200
    )
    out: dict[str, Any] = {}

    def timed(name: str, call):  # type: ignore[no-untyped-def]
        _sync(compute)
        started = time.perf_counter()
        value = call()
        _sync(compute)
        out[f"{name}_s"] = time.perf_counter() - started
        return value

    specs = _schedule(run, 0, rlft.games_per_iteration, [], 0.0)
    games = timed("rl_games", lambda: play_games(specs, {"learner": learner, "frozen": frozen}, run.max_plies))
    targets, _ = timed(
        "rl_targets",
        lambda: _build_targets(
            games, learner, frozen, critic, 0.0, rlft.step_size, rlft.target_positions, np.random.default_rng(0), 4
        ),
    )
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(models[0].parameters(), lr=rlft.lr)
    timed(
        "rl_fit",
        lambda: fit_targets(
            models[0],
            optimizer,
            targets,
            vocab,
            epochs=rlft.epochs,
            batch_size=rlft.batch_size,
            value_weight=rlft.value_weight,
            generator=generator,
            compute=compute,
        ),
    )
    critic_optimizer = torch.optim.AdamW(models[2].parameters(), lr=rlft.critic_lr)
    timed(
        "rl_critic",
        lambda: fit_values(
            models[2],
            critic_optimizer,
            targets,
            vocab,
            epochs=rlft.critic_epochs,
            batch_size=rlft.batch_size,
            generator=generator,
            compute=compute,
        ),
    )
    out.update(
        rl_games=len(games),
        rl_plies=sum(g.plies for g in games),
        rl_target_positions=len(targets.policy_raw),
        rl_epochs=rlft.epochs,
    )
    boards, simulations = (4, 4) if toy else (32, 32)
    player = AzPolicy(learner, simulations, dirichlet_fraction=0.25, temperature_plies=16, noise_seed=1, record={})
    az_specs = [GameSpec("az", "az", "none", "none", match_seed("bench-az", g), ("e2e4",)) for g in range(boards)]
    az_games = timed("az", lambda: play_games(az_specs, {"az": player}, 8 if toy else 60))
    plies = sum(g.plies for g in az_games)
    start = [chess.Board() for _ in range(boards)]
    calls = 5 if toy else 50
    timed(
        "az_network",
        lambda: [learner.priors_and_values(start, ["none"] * boards, ["none"] * boards) for _ in range(calls)],
    )
    out["az_simulations"] = plies * simulations
    out["az_simulations_per_s"] = plies * simulations / out["az_s"]
    # Each simulation step evaluates one leaf per board: (plies x simulations / boards) calls.
    network_s = out["az_network_s"] / calls * plies * simulations / boards
    out["az_network_share"] = min(1.0, network_s / out["az_s"])
    out["az_search_only_per_s"] = plies * simulations / max(out["az_s"] - network_s, 1e-9)
    return out


def _markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lichess = report["lichess_simulator_positions"]
    lines = [
        f"# Device benchmark: {machine['device_name']}",
        "",
        (
            f"Command: `{report['command']}` ({report['date']}, {report['seconds']:.0f} s in all; load average "
            f"{machine['load_before']} before)."
        ),
        "",
        (
            f"Device: **{machine['device_name']}** (`{machine['device']}`); host CPU {machine['cpu']}; torch "
            f"{machine['torch']} (CUDA {machine['cuda'] or 'none'}); Python {machine['python']}; simagents "
            f"{machine['simagents']}; {machine['platform']}."
        ),
        "",
        f"## One training epoch (`train_simulator`, batch {BATCH})",
        "",
        (
            f"{report['train_positions']:,} training positions from {report['games']} random-vs-greedy games; one "
            f"epoch = {report['training'][0]['steps'] if report['training'] else '?'} steps, then one validation "
            f"(2,048 positions), one checkpoint and the active-unit diagnostic; after an uncounted {WARMUP_STEPS}-step "
            "warm-up call. Networks as configured in `config/default.yaml` (mlp) and `config/lichess.yaml` (resnet). "
            f"Positions/s per step: the epoch call minus a {WARMUP_STEPS}-step call with the same fixed costs "
            "(their estimate in its own column)."
        ),
        "",
        (
            "| network | precision | epoch call wall s | of it fixed costs s | positions/s per step | "
            "data loading share | loading ms per step | lichess simulator, one seed (h) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["training"]:
        hours = lichess / row["positions_per_s"] / 3600 if row["positions_per_s"] > 0 else float("nan")
        lines.append(
            f"| {row['arch']} | {row['precision']} | {row['wall_s']:.1f} | {row['fixed_s']:.1f} | "
            f"{row['positions_per_s']:,.0f} | {100 * row['loading_share']:.1f}% | "
            f"{row['loading_ms_per_step']:.1f} | {hours:,.1f} |"
        )
    lines += [
        "",
        (
            "Loading: `train_simulator`'s time assembling batches on the host (reading the shards, planes, legal-move "
            "masks) per step of 1,024 positions, which no device makes faster. "
            f"Last column: the lichess config's {lichess:,} positions (`simulator.steps` x `batch_size`) at this "
            "rate, an extrapolation (the lichess data set is far larger than this one: loading from its memory-mapped "
            "shards may be slower than from these, which fit in the page cache)."
        ),
        "",
        f"## Self-play (`play_games`, the simulator on both sides, ply cap {report['max_plies']})",
        "",
        "| network | precision | games at once | wall s | games/s | plies | plies/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["self_play"]:
        lines.append(
            f"| {row['arch']} | {row['precision']} | {row['boards']} | {row['wall_s']:.2f} | "
            f"{row['games_per_s']:.2f} | {row['plies']} | {row['plies_per_s']:,.0f} |"
        )
    lines += [
        "",
        (
            "Self-play also pays python-chess's move generation and the encoding of every board on the host CPU, "
            "once per ply whatever the device: on a GPU that CPU work, not the network, bounds plies/s."
        ),
        "",
    ]
    if report["agents"]:
        lines += [
            "## The agents' phases (default config's budgets)",
            "",
            (
                "One RL fine-tuning iteration (games against the frozen simulator, targets, policy fit, critic fit) and "
                'the AlphaZero-style search (32 boards, 32 simulations a move, ply cap 60); "network share": the '
                "time of the search's network calls alone (its evaluator on 32 boards, times the calls the games made)."
            ),
            "",
            (
                "| network | precision | RL games s (games, plies) | RL targets s (positions) | RL fit s (epochs) | "
                "RL critic s | AZ simulations/s | AZ network share | AZ simulations/s without it |"
            ),
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in report["agents"]:
            lines.append(
                f"| {r['arch']} | {r['precision']} | {r['rl_games_s']:.1f} ({r['rl_games']}, {r['rl_plies']}) | "
                f"{r['rl_targets_s']:.1f} ({r['rl_target_positions']}) | {r['rl_fit_s']:.1f} ({r['rl_epochs']}) | "
                f"{r['rl_critic_s']:.1f} | {r['az_simulations_per_s']:,.0f} | {100 * r['az_network_share']:.0f}% | "
                f"{r['az_search_only_per_s']:,.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (as simulator.device)")
    parser.add_argument(
        "--precision",
        nargs="+",
        default=None,
        choices=["auto", "fp32", "bf16"],
        help="default: bf16 and fp32 on CUDA, fp32 elsewhere",
    )
    parser.add_argument("--archs", nargs="+", default=["mlp", "resnet"], choices=sorted(ARCH_CONFIG))
    parser.add_argument("--games", type=int, default=400, help="random-vs-greedy games behind the training positions")
    parser.add_argument("--boards", type=int, nargs="+", default=[64, 256], help="self-play games at once")
    parser.add_argument("--max-plies", type=int, default=120, help="ply cap of the self-play games")
    parser.add_argument(
        "--agent-archs",
        nargs="*",
        default=None,
        choices=sorted(ARCH_CONFIG),
        help="networks of the agents' phases (default: mlp, and resnet too on CUDA; none: skip)",
    )
    parser.add_argument(
        "--toy-agents",
        action="store_true",
        help="the agents' phases at toy budgets (tests: proves it runs, measures nothing)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice; 1 is steadier on a shared machine)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: results/bench/device-<kind>.md")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    probe = resolve_compute(args.device, "fp32")
    precisions = args.precision or (["bf16", "fp32"] if probe.device.type == "cuda" else ["fp32"])
    computes = [resolve_compute(args.device, p) for p in precisions]
    out = args.out or REPO / "results" / "bench" / f"device-{probe.device.type}.md"
    lichess = load_config(ARCH_CONFIG["resnet"]).simulator
    report: dict[str, Any] = {
        "command": "python benchmarks/gpu.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "device": str(probe.device),
            "device_name": device_name(probe),
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "python": platform.python_version(),
            "simagents": __version__,
            "platform": platform.platform(),
            "load_before": load_before,
        },
        "games": args.games,
        "max_plies": args.max_plies,
        "lichess_simulator_positions": lichess.steps * lichess.batch_size,
        "training": [],
        "self_play": [],
        "agents": [],
    }
    agent_archs = (
        args.agent_archs
        if args.agent_archs is not None
        else (["mlp", "resnet"] if probe.device.type == "cuda" else ["mlp"])
    )
    with tempfile.TemporaryDirectory(prefix="simagents-bench-") as tmp:
        work = Path(tmp)
        report["train_positions"] = positions_for(args.games, 200, work / "positions")
        for arch in args.archs:
            network = network_of(arch)
            for compute in computes:
                # A precision that resolves to the same thing as another (auto) is measured once.
                if any(r["arch"] == arch and r["precision"] == compute.precision for r in report["training"]):
                    continue
                row = train_epoch(work / "positions", work, network, report["train_positions"], compute, args.device)
                report["training"].append({"arch": arch, "precision": compute.precision, **row})
                print(f"train {arch} {compute.describe()}: {row['positions_per_s']:,.0f} positions/s", flush=True)
                for boards in args.boards:
                    row = self_play(network, compute, boards, args.max_plies)
                    report["self_play"].append({"arch": arch, "precision": compute.precision, **row})
                    print(
                        f"self-play {arch} {compute.precision} x{boards}: {row['games_per_s']:.2f} games/s", flush=True
                    )
                if arch in agent_archs:
                    row = agent_phases(network, compute, toy=args.toy_agents)
                    report["agents"].append({"arch": arch, "precision": compute.precision, **row})
                    print(
                        f"agents {arch} {compute.precision}: {row['az_simulations_per_s']:,.0f} simulations/s",
                        flush=True,
                    )
    report["seconds"] = time.perf_counter() - started
    text = _markdown(report)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
