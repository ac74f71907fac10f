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
