"""Shared fixtures: the repository root, configs, and Stockfish (tests needing it skip with a reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simagents.config import Config, load_config
from simagents.engine import EngineNotFoundError, find_stockfish

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def stockfish() -> Path:
    try:
        return find_stockfish()
    except EngineNotFoundError as error:
        pytest.skip(f"Stockfish not installed: {error}")


@pytest.fixture
def smoke_config(tmp_path: Path):
    """Factory: the smoke config with results under ``tmp_path``, plus optional dotted overrides."""

    def make(**overrides) -> Config:
        return load_config(REPO / "config" / "smoke.yaml", {"results_dir": str(tmp_path / "results"), **overrides})

    return make


@pytest.fixture(scope="session")
def tiny_positions(tmp_path_factory) -> Path:
    """Position shards of 40 short random-vs-greedy games (prompts `random`, `greedy`)."""
    from simagents.data.table import GameRecord, records_to_table
    from simagents.games import GameSpec, play_games
    from simagents.policies import GreedyMaterial, RandomMover
    from simagents.positions import build_positions
    from simagents.prompts import vocabulary

    specs = [GameSpec("random", "greedy", "random", "greedy", seed=i) if i % 2 else
             GameSpec("greedy", "random", "greedy", "random", seed=i) for i in range(40)]
    played = play_games(specs, {"random": RandomMover(), "greedy": GreedyMaterial()}, max_plies=60)
    table = records_to_table([
        GameRecord(game_id=f"g{i:03d}", source="synthetic", white=g.spec.white, black=g.spec.black,
                   white_rating=None, black_rating=None, white_prompt=g.spec.white_prompt,
                   black_prompt=g.spec.black_prompt, result=g.result, termination=g.termination,
                   time_control="-", moves=" ".join(g.moves), plies=g.plies) for i, g in enumerate(played)])
    out = tmp_path_factory.mktemp("tiny_positions")
    build_positions(table, vocabulary(["random", "greedy"]), out, seed=0, skip_plies=0, split=(0.7, 0.15, 0.15),
                    progress=False)
    return out
