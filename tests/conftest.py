"""Shared fixtures: the repository root, configs, and Stockfish (tests needing it skip with a reason)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import chess
import pytest

from simagents.config import Config, load_config
from simagents.stockfish import EngineNotFoundError, find_stockfish

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


def snakemake(
    repo: Path, workdir: Path, *args: str, check: bool = True, shadow: bool = False
) -> subprocess.CompletedProcess:
    """Run the workflow in ``workdir`` on 2 cores (``args``: --configfile and the rest), as `make
    reproduce` does (``simagents snakemake``). ``shadow``: every job in a folder of its own with
    only its declared inputs (SIMAGENTS_SHADOW=minimal), so a command that reads a file its rule
    does not declare fails the run."""
    command = [
        sys.executable,
        "-m",
        "simagents",
        "snakemake",
        "--snakefile",
        str(repo / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *args,
    ]
    env = {key: value for key, value in os.environ.items() if key not in ("SIMAGENTS_SHADOW", "SIMAGENTS_PAUSE_AT")}
    if shadow:
        env["SIMAGENTS_SHADOW"] = "minimal"
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


@pytest.fixture(scope="session")
def smoke_run(repo, tmp_path_factory, stockfish) -> Path:
    """The working directory of one uninterrupted workflow run on config/smoke.yaml (shared by the
    workflow tests and the fault tests, which compare their interrupted runs with it).

    Every job runs in a shadow folder holding only its rule's declared inputs: the run fails if
    any command reads a file its rule does not declare (the one dependency graph)."""
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake(repo, workdir, "--configfile", str(repo / "config" / "smoke.yaml"), shadow=True)
    return workdir


@pytest.fixture
def smoke_config(tmp_path: Path):
    """Factory: the smoke config with results under ``tmp_path``, plus optional dotted overrides."""

    def make(**overrides) -> Config:
        return load_config(REPO / "config" / "smoke.yaml", {"results_dir": str(tmp_path / "results"), **overrides})

    return make


def random_greedy_games(n: int, seed: int = 0, max_plies: int = 60):
    """A games table of ``n`` short games between the random mover and the greedy grabber.

    Colours alternate; game ``i`` has id ``g{i:03d}`` and seed ``seed * 1000 + i``. Tests import
    it with ``from conftest import random_greedy_games``.
    """
    from simagents.data.table import GameRecord, records_to_table
    from simagents.games import GameSpec, play_games
    from simagents.policies import GreedyMaterial, RandomMover

    specs = [
        GameSpec("random", "greedy", "random", "greedy", seed=seed * 1000 + i)
        if i % 2
        else GameSpec("greedy", "random", "greedy", "random", seed=seed * 1000 + i)
        for i in range(n)
    ]
    played = play_games(specs, {"random": RandomMover(), "greedy": GreedyMaterial()}, max_plies=max_plies)
    return records_to_table(
        [
            GameRecord(
                game_id=f"g{i:03d}",
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


@pytest.fixture(scope="session")
def tiny_positions(tmp_path_factory) -> Path:
    """Position shards of 40 short random-vs-greedy games (prompts `random`, `greedy`)."""
    from simagents.positions import build_positions
    from simagents.prompts import vocabulary

    table = random_greedy_games(40)
    out = tmp_path_factory.mktemp("tiny_positions")
    build_positions(
        table, vocabulary(["random", "greedy"]), out, seed=0, skip_plies=0, split=(0.7, 0.15, 0.15), progress=False
    )
    return out


# Byte-level damage that real PGN suffers, used by the fuzz tests of the reader and the fast path.
PGN_SNIPPETS = [
    b"{",
    b"}",
    b"(",
    b")",
    b"[",
    b"]",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"%",
    b";",
    b"$",
    b"*",
    b"--",
    b"N@f3",
    b"1-0",
    b"0-1",
    b"\xef\xbb\xbf",
    b"\xb2",
    b"\xff\xfe",
    b'[Event "x"]\n',
    b"e8=K",
    b"O-O",
    b"Kg1",
    b"exd6",
    b"\x00",
]


def mutate_pgn(draw, data: bytes) -> bytes:
    """Up to 6 random mutations of ``data`` (truncate, insert bytes, flip a bit, insert a snippet,
    delete a run), drawn with hypothesis's ``draw``; use inside an ``@st.composite`` strategy."""
    from hypothesis import strategies as st

    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["truncate", "insert", "flip", "snippet", "delete"]))
        position = draw(st.integers(0, len(out)))
        if kind == "truncate":
            del out[position:]
        elif kind == "insert":
            out[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "flip" and position < len(out):
            out[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "snippet":
            out[position:position] = draw(st.sampled_from(PGN_SNIPPETS))
        elif kind == "delete":
            del out[position : position + draw(st.integers(1, 20))]
    return bytes(out)


@pytest.fixture(scope="session")
def tiny_simulator(tiny_positions, tmp_path_factory) -> Path:
    """``best.pt`` of a small simulator (value head, move kinds) trained briefly on ``tiny_positions``."""
    from simagents.models import NetworkConfig, TrainConfig, train_simulator
    from simagents.prompts import vocabulary

    out = tmp_path_factory.mktemp("tiny_simulator")
    network = NetworkConfig(
        num_prompts=len(vocabulary(["random", "greedy"])),
        hidden=32,
        layers=2,
        move_features=True,
        prompt_temperature=True,
        lever_gain=10.0,
    )
    train = TrainConfig(
        seed=0, steps=24, batch_size=64, warmup_steps=4, eval_every=8, checkpoint_every=8, val_positions=200, lr=3e-3
    )
    train_simulator(tiny_positions, out, network, train, progress=False)
    return out / "best.pt"


def random_game_boards(count: int, seed: int) -> list[chess.Board]:
    """Positions of random games (prefer promotions, castling, en passant), plus promotion races."""
    rng = random.Random(seed)
    boards = [
        chess.Board("8/P6k/8/8/8/8/6Kp/8 w - - 0 1"),
        chess.Board("8/P6k/8/8/8/8/6Kp/8 b - - 0 1"),
        chess.Board("r3k2r/8/8/3pP3/8/8/8/R3K2R w KQkq d6 0 1"),
    ]
    while len(boards) < count:
        board = chess.Board()
        for _ in range(rng.randint(0, 160)):
            legal = list(board.legal_moves)
            if not legal:
                break
            rare = [m for m in legal if m.promotion or board.is_castling(m) or board.is_en_passant(m)]
            board.push(rng.choice(rare) if rare and rng.random() < 0.7 else rng.choice(legal))
        if any(board.legal_moves):
            boards.append(board)
    return boards
