"""The synthetic population: named agents playing games among themselves.

The population is the config's personas: Stockfish at several ``UCI_Elo`` strengths (a node
limit per move, weakened by a seeded re-implementation of the engine's own skill rule), a uniform random mover (a non-agent) and a greedy material-grabber (an agent
with a different goal). Every ordered pair of personas (self-pairs included if asked) gets the
same number of games, give or take one, so colours are balanced. Games run in worker processes,
each with its own engines; game ``i`` is seeded by ``(seed, i)``, so the schedule, colours,
random openings and every player's choices are reproducible, Stockfish's included (see
:class:`~simagents.policies.SkillLevel`).

Output: a PGN file with lichess-style headers plus persona tags, read back by the PGN reader
(so the default path exercises it); the data summary scores each persona against each other.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import multiprocessing.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import chess
import chess.pgn

from ..config import EngineConfig, Persona, SyntheticConfig
from ..games import GameSpec, PlayedGame, play_games, play_tasks
from ..policies import Policy, persona_policy
from ..stockfish import elo_range, find_stockfish, open_engine
from .pgn import BLACK_PERSONA_TAG, WHITE_PERSONA_TAG

GAMES_PER_TASK = 4  # games a worker plays per task: small, so the progress bar moves smoothly


def game_seed(seed: int, index: int) -> int:
    """The seed of game ``index``: a hash, so neighbouring games get unrelated streams."""
    digest = hashlib.blake2b(f"synthetic:{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def schedule(config: SyntheticConfig, seed: int) -> list[GameSpec]:
    """The games to play: ordered persona pairs in turn, ``config.games`` in all."""
    names = [p.name for p in config.personas]
    pairs = [(w, b) for w in names for b in names if config.include_self_play or w != b]
    return [
        GameSpec(
            white=w,
            black=b,
            white_prompt=w,
            black_prompt=b,
            seed=game_seed(seed, i),
            random_opening_plies=config.opening_random_plies,
        )
        for i, (w, b) in ((i, pairs[i % len(pairs)]) for i in range(config.games))
    ]


@dataclass(frozen=True)
class _WorkerSetup:
    personas: tuple[Persona, ...]
    engine: EngineConfig
    engine_path: str | None
    nodes_per_move: int
    max_plies: int


_policies: dict[str, Policy] = {}
_setup: _WorkerSetup | None = None


def _close_policies() -> None:
    for policy in _policies.values():
        policy.close()
    _policies.clear()


def _make_policy(persona: Persona, setup: _WorkerSetup) -> Policy:
    engine_path = Path(setup.engine_path) if setup.engine_path is not None else None
    return persona_policy(persona, setup.engine, engine_path, setup.nodes_per_move)


def _init_worker(setup: _WorkerSetup) -> None:
    global _setup
    _setup = setup
    # Engines are opened lazily and closed when the worker exits normally.
    multiprocessing.util.Finalize(None, _close_policies, exitpriority=10)


def _play_task(specs: list[GameSpec]) -> list[PlayedGame]:
    assert _setup is not None
    for persona in _setup.personas:
        if persona.name not in _policies and any(persona.name in (s.white, s.black) for s in specs):
            _policies[persona.name] = _make_policy(persona, _setup)
    return play_games(specs, _policies, _setup.max_plies)


def generate(
    config: SyntheticConfig,
    engine: EngineConfig,
    seed: int,
    workers: int = 1,
    progress: bool = True,
) -> list[PlayedGame]:
    """Play the population's games; returns them in schedule order."""
    needs_engine = any(p.kind == "stockfish" for p in config.personas)
    engine_path = None
    if needs_engine:
        engine_path = find_stockfish(engine.path)
        with open_engine(engine_path, 1, 16) as probe:
            allowed = elo_range(probe)
        for persona in config.personas:
            if persona.kind == "stockfish":
                allowed.check(persona.rating, f"persona {persona.name!r}")
    setup = _WorkerSetup(
        config.personas,
        engine,
        None if engine_path is None else str(engine_path),
        config.nodes_per_move,
        config.max_plies,
    )
    specs = schedule(config, seed)
    tasks = [specs[i : i + GAMES_PER_TASK] for i in range(0, len(specs), GAMES_PER_TASK)]
    return play_tasks(
        tasks,
        _play_task,
        _init_worker,
        setup,
        _close_policies,
        workers=workers,
        desc="synthetic games",
        pause="synthetic_games",
        progress=progress,
    )


def to_pgn(games: Sequence[PlayedGame], personas: Sequence[Persona], seed: int) -> str:
    """Standard PGN with lichess-style headers and persona tags, one game per schedule index."""
    ratings = {p.name: p.rating for p in personas}
    out: list[str] = []
    for index, game in enumerate(games):
        pgn = chess.pgn.Game()
        spec = game.spec
        pgn.headers["Event"] = "simagents synthetic population"
        pgn.headers["Site"] = "simagents"
        pgn.headers["Date"] = _dt.date(2000, 1, 1).strftime("%Y.%m.%d")  # fixed: output must not depend on the day
        pgn.headers["Round"] = str(index + 1)
        pgn.headers["White"] = spec.white_prompt
        pgn.headers["Black"] = spec.black_prompt
        pgn.headers["Result"] = game.result
        pgn.headers["GameId"] = f"syn-{index:06d}"
        pgn.headers["WhiteElo"] = str(ratings[spec.white_prompt])
        pgn.headers["BlackElo"] = str(ratings[spec.black_prompt])
        pgn.headers[WHITE_PERSONA_TAG] = spec.white_prompt
        pgn.headers[BLACK_PERSONA_TAG] = spec.black_prompt
        pgn.headers["TimeControl"] = "-"
        pgn.headers["Termination"] = game.termination
        pgn.headers["PlyCount"] = str(game.plies)
        pgn.headers["Seed"] = str(seed)
        node: chess.pgn.GameNode = pgn
        for uci in game.moves:
            node = node.add_variation(chess.Move.from_uci(uci))
        out.append(str(pgn))
    return "\n\n".join(out) + "\n"
