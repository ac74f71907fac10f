"""An AlphaZero-style agent ("az"): PUCT search over a policy and value network, trained by self-play.

The network is the simulator's (:class:`~simagents.models.network.Simulator`), initialised from
a trained simulator (config ``az.init: simulator``, the CPU default: a few minutes of self-play
cannot teach chess from nothing) or from scratch. It plays unprompted: both prompts are ``none``.

Each iteration plays ``games_per_iteration`` self-play games through the one game runner, with
:class:`AzPolicy` choosing every move by search (Dirichlet noise at the root; visit counts
sampled at temperature 1 for the first ``temperature_plies`` plies of a game, then the most
visited move). Every searched position goes into a replay buffer with its visit distribution
and, once the game ends, its result for the side to move; the network is then fitted to the
newest ``replay_positions`` positions (:func:`~simagents.agents.fitting.fit_targets`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import chess
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..config import AzConfig
from ..games import GameSpec, PlayedGame, match_seed, play_games, score
from ..models.checkpoint import load_checkpoint, resumable_state, save_checkpoint
from ..models.device import Compute, as_compute
from ..models.network import NetworkConfig, Simulator
from ..models.simulator_policy import SimulatorPolicy
from ..outputs import write_csv, write_text
from ..paths import AZ_FILES
from ..policies import MoveDistribution
from ..prompts import NONE_TOKEN
from .fitting import PolicyValueTargets, fit_targets
from .mcts import SearchConfig, search

log = logging.getLogger("simagents")


class _NetworkEvaluator:
    """The network as a search evaluator: priors and value, prompts fixed (default ``none``)."""

    def __init__(self, policy: SimulatorPolicy, own: str = NONE_TOKEN, opponent: str = NONE_TOKEN) -> None:
        self.policy, self.own, self.opponent = policy, own, opponent

    def evaluate(self, boards: Sequence[chess.Board]) -> list[tuple[list[chess.Move], np.ndarray, float]]:
        return self.policy.priors_and_values(boards, [self.own] * len(boards), [self.opponent] * len(boards))


def _history_key(board: chess.Board) -> str:
    return " ".join(m.uci() for m in board.move_stack)


class AzPolicy:
    """A :class:`~simagents.policies.Policy` that searches: ``simulations`` per move, all boards
    of a call searched together (one network call per simulation step).

    For evaluation (the default) there is no root noise and the most visited move is played.
    For self-play, pass ``noise_seed`` (root Dirichlet noise, seeded per position from the game's
    history so a game does not depend on its batch), ``temperature_plies`` and a ``record``
    buffer: each searched position's visit distribution is stored under its move history.
    Prompts passed by the game runner are ignored: the agent is unprompted.
    """

    def __init__(
        self,
        network: SimulatorPolicy,
        simulations: int,
        name: str = "az",
        *,
        c_puct: float = 1.5,
        dirichlet_alpha: float = 0.3,
        dirichlet_fraction: float = 0.0,
        temperature_plies: int = 0,
        noise_seed: int = 0,
        record: dict[str, list[np.ndarray]] | None = None,
    ) -> None:
        self.name = name
        self.network = network
        self.evaluator = _NetworkEvaluator(network)
        self.config = SearchConfig(
            simulations=simulations,
            c_puct=c_puct,
            dirichlet_alpha=dirichlet_alpha,
            dirichlet_fraction=dirichlet_fraction,
        )
        self.temperature_plies = temperature_plies
        self.noise_seed = noise_seed
        self.record = record

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        keys = [_history_key(b) for b in boards]
        rngs = [np.random.default_rng(match_seed("az-noise", self.noise_seed, key)) for key in keys]
        results = search(boards, self.evaluator, self.config, rngs)
        out = []
        for board, key, result in zip(boards, keys, results):
            visits = result.policy(1.0)
            if self.record is not None:
                self.record.setdefault(key, []).append(visits)
            temperature = 1.0 if len(board.move_stack) < self.temperature_plies else 0.0
            out.append(MoveDistribution(tuple(result.moves), result.policy(temperature)))
        return out

    def close(self) -> None:
        self.network.close()


def self_play_targets(games: Sequence[PlayedGame], record: dict[str, list[np.ndarray]]) -> PolicyValueTargets:
    """Replay each game: visit distributions (policy rows) and results (value rows) per position.

    Two games with the same history up to a position both searched it: their records are handed
    out in turn, so each position gets one record and every record is used once.
    """
    targets = PolicyValueTargets()
    for game in games:
        board = chess.Board()
        white_points = score(game.result, True)
        for uci in game.moves:
            key = _history_key(board)
            stored = record.get(key)
            if stored:
                points = white_points if board.turn == chess.WHITE else 1.0 - white_points
                targets.add_policy(board, NONE_TOKEN, NONE_TOKEN, stored.pop(0))
                targets.add_value(board, NONE_TOKEN, NONE_TOKEN, 2.0 * points - 1.0)
            board.push_uci(uci)
    return targets


@dataclass(frozen=True)
class AzRun:
    openings: tuple[tuple[str, ...], ...]
    max_plies: int


def train_az(
    out_dir: Path,
    config: AzConfig,
    run: AzRun,
    simulator_checkpoint: Path | None = None,
    network: NetworkConfig | None = None,
    vocabulary: dict[str, int] | None = None,
    compute: Compute | torch.device | str = "cpu",
    progress: bool = True,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Self-play training (or resume); writes ``final.pt`` (simulator format), ``last.pt``,
    ``curves.csv`` and ``az.json`` under ``out_dir``.

    With ``config.init == "simulator"`` the weights, network and vocabulary come from
    ``simulator_checkpoint``; with ``"scratch"``, ``network`` and ``vocabulary`` are required.
    ``compute``: device and precision of self-play and fitting (:mod:`simagents.models.device`).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    compute = as_compute(compute)
    device = compute.device
    torch.manual_seed(config.seed)
    if config.init == "simulator":
        if simulator_checkpoint is None:
            raise ValueError("az.init is 'simulator' but no simulator checkpoint was given")
        state = load_checkpoint(simulator_checkpoint, map_location=device)
        network, vocabulary = NetworkConfig(**state["network"]), dict(state["vocabulary"])
        model = Simulator(network).to(device)
        model.load_state_dict(state["model"])
    else:
        if network is None or vocabulary is None:
            raise ValueError("az.init is 'scratch': give the network configuration and the prompt vocabulary")
        model = Simulator(network).to(device)
    if not network.value_head:
        raise ValueError("the az agent needs a network with a value head (simulator.value_head: true)")
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    settings = {
        "config": asdict(config),
        "max_plies": run.max_plies,
        "openings": [list(o) for o in run.openings],
        "network": network.to_dict(),
    }
    iteration, curves, buffer = 0, [], PolicyValueTargets()
    last_path = out_dir / AZ_FILES["last"]
    saved = resumable_state(last_path, lambda state: state.get("settings") == settings, device)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        iteration, curves = int(saved["iteration"]), list(saved["curves"])
        buffer = PolicyValueTargets.from_state(saved["buffer"])
        log.info("resumed from %s at iteration %d", last_path, iteration)

    policy = SimulatorPolicy(model, vocabulary, name="az", compute=compute)
    bar = tqdm(total=config.iterations, initial=iteration, unit="iter", desc="az self-play", disable=not progress)
    started, done_this_call = time.perf_counter(), 0
    while iteration < config.iterations and (stop_after is None or done_this_call < stop_after):
        record: dict[str, list[np.ndarray]] = {}
        player = AzPolicy(
            policy,
            config.simulations,
            c_puct=config.c_puct,
            dirichlet_alpha=config.dirichlet_alpha,
            dirichlet_fraction=config.dirichlet_fraction,
            temperature_plies=config.temperature_plies,
            noise_seed=match_seed("az", config.seed, iteration),
            record=record,
        )
        specs = [
            GameSpec(
                "az",
                "az",
                NONE_TOKEN,
                NONE_TOKEN,
                match_seed("az-game", config.seed, iteration, g),
                run.openings[(iteration * config.games_per_iteration + g) % len(run.openings)],
                round=f"{iteration}.{g}",
            )
            for g in range(config.games_per_iteration)
        ]
        model.eval()
        games = play_games(specs, {"az": player}, run.max_plies)
        fresh = self_play_targets(games, record)
        buffer.extend(fresh)
        buffer.keep_last(config.replay_positions)
        generator = torch.Generator().manual_seed(match_seed("az-fit", config.seed, iteration) % 2**63)
        losses = fit_targets(
            model,
            optimizer,
            buffer,
            vocabulary,
            epochs=config.epochs,
            batch_size=config.batch_size,
            value_weight=config.value_weight,
            generator=generator,
            compute=compute,
        )
        iteration += 1
        done_this_call += 1
        white = np.array([score(g.result, True) for g in games])
        curves.append(
            {
                "iteration": iteration,
                "games": len(games),
                "positions": len(fresh.policy_raw),
                "buffer": len(buffer.policy_raw),
                "decisive": float(np.mean(white != 0.5)),
                "white_score": float(white.mean()),
                "plies": float(np.mean([g.plies for g in games])),
                **losses,
            }
        )
        bar.update(1)
        save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "iteration": iteration,
                "curves": curves,
                "buffer": buffer.to_state(),
                "settings": settings,
                "network": network.to_dict(),
                "vocabulary": vocabulary,
            },
            last_path,
        )
    bar.close()
    finished = iteration >= config.iterations
    write_csv(pd.DataFrame(curves), out_dir / AZ_FILES["curves"], float_format="%.6f")
    summary = {
        "iterations": iteration,
        "finished": finished,
        "seconds_this_call": time.perf_counter() - started,
        "init": config.init,
        **compute.to_dict(),
    }
    if finished:
        save_checkpoint(
            {"model": model.state_dict(), "network": network.to_dict(), "vocabulary": vocabulary, "az": settings},
            out_dir / AZ_FILES["final"],
        )
        write_text(out_dir / AZ_FILES["summary"], json.dumps(summary, indent=2) + "\n")
    return summary
