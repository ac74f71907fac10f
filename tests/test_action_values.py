"""Evaluation positions (test split, per prompt, replayed boards) and Stockfish action values."""

from __future__ import annotations

import logging
import os
import re
import signal
from pathlib import Path

import chess
import numpy as np
import pyarrow as pa
import pytest
from conftest import random_greedy_games

from simagents.encoding import move_to_action
from simagents.evaluation import action_values
from simagents.evaluation.action_values import (
    ACTION_VALUES_SCHEMA,
    MAX_RETRIES,
    compute_action_values,
    load_action_values,
)
from simagents.evaluation.eval_positions import (
    EVAL_POSITIONS_SCHEMA,
    load_eval_positions,
    select_eval_positions,
    write_eval_positions,
)
from simagents.evaluation.win_chances import BLUNDER
from simagents.positions import build_positions, split_of
from simagents.prompts import vocabulary

VOCAB = vocabulary(["random", "greedy"])
SPLIT = (0.4, 0.1, 0.5)  # a large test split, so that a handful of games gives enough positions
POSITIONS_SEED = 3
NODES = 200  # small: the tests check bookkeeping, not chess strength

# Hand-picked positions (FEN, what they test).
WHITE_MATES_IN_ONE = "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1"  # a1a8#
BLACK_MATES_IN_ONE = "r5k1/5ppp/8/8/8/8/5PPP/6K1 b - - 0 1"  # a8a1#: the mover's view for Black
PAWN_TAKES_QUEEN = "rnb1kbnr/pppp1ppp/8/4p3/3P1q2/4P3/PPP2PPP/RNBQKBNR w KQkq - 0 3"  # e3f4 wins the queen
ONLY_MOVE_GETS_MATED = "k7/8/1K6/8/8/8/8/7R b - - 0 1"  # a8b8, then Rh8#
PROMOTIONS = "8/1P4k1/8/8/8/8/6K1/8 w - - 0 1"  # b7b8 to Q, R, B, N: four actions
EN_PASSANT = "8/8/8/3pP3/8/8/k6K/8 w - d6 0 2"  # e5d6 en passant
HAND_PICKED = [
    WHITE_MATES_IN_ONE,
    BLACK_MATES_IN_ONE,
    PAWN_TAKES_QUEEN,
    ONLY_MOVE_GETS_MATED,
    PROMOTIONS,
    EN_PASSANT,
    chess.STARTING_FEN,
]
# Eight positions for the chunking tests (2 per chunk: 4 chunks).
EIGHT = HAND_PICKED + ["r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"]


# --- evaluation positions -------------------------------------------------------------------------


def _games(n: int = 16, seed: int = 0) -> pa.Table:
    return random_greedy_games(n, seed)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[pa.Table, Path]:
    games = _games()
    out = tmp_path_factory.mktemp("eval") / "positions"
    build_positions(games, VOCAB, out, seed=POSITIONS_SEED, skip_plies=0, split=SPLIT, progress=False)
    return games, out


def _test_positions_by_prompt(games: pa.Table) -> dict[str, int]:
    counts = {"random": 0, "greedy": 0}
    for row in games.to_pylist():
        if split_of(row["game_id"], POSITIONS_SEED, SPLIT[0], SPLIT[1]) == "test":
            counts[row["white_prompt"]] += (row["plies"] + 1) // 2  # White moves at even plies
            counts[row["black_prompt"]] += row["plies"] // 2
    return counts


def test_eval_positions_are_stratified_by_prompt_and_only_from_test_games(built):
    games, positions = built
    available = _test_positions_by_prompt(games)
    assert min(available.values()) > 7, available  # the fixture must have enough to sample from
    table = select_eval_positions(games, positions, VOCAB, per_prompt=7, seed=0)
    assert table.schema == EVAL_POSITIONS_SCHEMA
    prompts = table.column("own_prompt").to_pylist()
    assert {p: prompts.count(p) for p in set(prompts)} == {"random": 7, "greedy": 7}
    assert table.column("position_id").to_pylist() == list(range(14))
    for game_id in set(table.column("game_id").to_pylist()):
        assert split_of(game_id, POSITIONS_SEED, SPLIT[0], SPLIT[1]) == "test"
    keys = list(zip(table.column("game_id").to_pylist(), table.column("ply").to_pylist()))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)

    # Asking for more than there are gives all of them; the table's size says how many.
    everything = select_eval_positions(games, positions, VOCAB, per_prompt=10**6, seed=0)
    prompts = everything.column("own_prompt").to_pylist()
    assert {p: prompts.count(p) for p in set(prompts)} == available


def test_eval_positions_are_deterministic_and_order_free(built, tmp_path):
    games, positions = built
    first = select_eval_positions(games, positions, VOCAB, per_prompt=5, seed=11)
    assert first.equals(select_eval_positions(games, positions, VOCAB, per_prompt=5, seed=11))
    assert not first.equals(select_eval_positions(games, positions, VOCAB, per_prompt=5, seed=12))
    # The same games in reverse order: other row numbers, the same sample.
    reversed_games = games.take(list(range(games.num_rows))[::-1])
    build_positions(
        reversed_games, VOCAB, tmp_path / "rev", seed=POSITIONS_SEED, skip_plies=0, split=SPLIT, progress=False
    )
    assert first.equals(select_eval_positions(reversed_games, tmp_path / "rev", VOCAB, per_prompt=5, seed=11))


def test_eval_positions_replay_the_games(built, tmp_path):
    games, positions = built
    table = select_eval_positions(games, positions, VOCAB, per_prompt=10**6, seed=0)
    by_id = {row["game_id"]: row for row in games.to_pylist()}
    for row in table.to_pylist():
        game = by_id[row["game_id"]]
        board = chess.Board()
        for uci in game["moves"].split()[: row["ply"]]:
            board.push_uci(uci)
        assert row["fen"] == board.fen()
        assert row["played_move"] == game["moves"].split()[row["ply"]]
        assert row["played_action"] == move_to_action(chess.Move.from_uci(row["played_move"]), board.turn)
        assert row["n_legal"] == board.legal_moves.count() > 0
        white = board.turn == chess.WHITE
        assert (row["own_prompt"], row["opponent_prompt"]) == (
            (game["white_prompt"], game["black_prompt"]) if white else (game["black_prompt"], game["white_prompt"])
        )
        white_score = {"1-0": 1, "0-1": -1, "1/2-1/2": 0}[game["result"]]
        assert row["result"] == (white_score if white else -white_score)
    write_eval_positions(table, tmp_path / "eval.parquet")
    assert load_eval_positions(tmp_path / "eval.parquet").equals(table)


def test_eval_positions_refuse_a_games_table_that_does_not_match(built):
    games, positions = built
    other = _games(seed=5)  # same ids, different moves
    with pytest.raises(ValueError, match="the games table does not match the positions"):
        select_eval_positions(other, positions, VOCAB, per_prompt=10**6, seed=0)
    with pytest.raises(ValueError, match="per_prompt must be at least 1, got 0"):
        select_eval_positions(games, positions, VOCAB, per_prompt=0, seed=0)


# --- action values --------------------------------------------------------------------------------


def _positions(fens: list[str]) -> pa.Table:
    """A minimal evaluation-positions table: the columns compute_action_values reads."""
    return pa.table(
        {
            "position_id": pa.array(range(len(fens)), pa.int32()),
            "fen": fens,
            "n_legal": pa.array([chess.Board(f).legal_moves.count() for f in fens], pa.int16()),
        }
    )


def _run(tmp_path: Path, stockfish: Path, fens: list[str], name: str = "av", **kwargs) -> pa.Table:
    options = {"nodes": NODES, "workers": 1, "progress": False, "chunk_size": 2, **kwargs}
    return compute_action_values(_positions(fens), tmp_path / f"{name}.parquet", engine_path=stockfish, **options)


def _assert_same(a: pa.Table, b: pa.Table) -> None:
    assert a.schema.remove_metadata() == b.schema.remove_metadata() == ACTION_VALUES_SCHEMA
    for name in ACTION_VALUES_SCHEMA.names:
        x, y = a.column(name).to_numpy(), b.column(name).to_numpy()
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert np.array_equal(x, y), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory, stockfish) -> pa.Table:
    """The eight positions scored in one uninterrupted single-worker run."""
    return _run(tmp_path_factory.mktemp("reference"), stockfish, EIGHT)


def _rows(table: pa.Table, position_id: int) -> list[dict]:
    return [r for r in table.to_pylist() if r["position_id"] == position_id]


@pytest.mark.stockfish
def test_every_legal_move_is_scored_once_from_the_movers_side(reference, tmp_path):
    assert not (tmp_path / "av.parts").exists()
    for position_id, fen in enumerate(EIGHT):
        board = chess.Board(fen)
        rows = _rows(reference, position_id)
        assert sorted(r["move"] for r in rows) == sorted(m.uci() for m in board.legal_moves)
        assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
        for r in rows:
            assert r["action"] == move_to_action(chess.Move.from_uci(r["move"]), board.turn)
            assert (r["mate"] != 0) == np.isnan(r["cp"])
        wc = np.array([r["win_chance"] for r in rows])
        assert np.array_equal(np.array([r["loss"] for r in rows]), wc.max() - wc)
        assert rows[0]["loss"] == 0.0 and (np.diff(wc) <= 0).all()
    assert sorted(r["move"] for r in _rows(reference, EIGHT.index(PROMOTIONS)) if r["move"].startswith("b7b8")) == [
        "b7b8b",
        "b7b8n",
        "b7b8q",
        "b7b8r",
    ]
    assert "e5d6" in {r["move"] for r in _rows(reference, EIGHT.index(EN_PASSANT))}


@pytest.mark.stockfish
def test_mates_and_a_winning_capture(reference):
    for fen, mating in ((WHITE_MATES_IN_ONE, "a1a8"), (BLACK_MATES_IN_ONE, "a8a1")):
        best = _rows(reference, EIGHT.index(fen))[0]
        assert (best["move"], best["mate"], best["win_chance"], best["rank"], best["loss"]) == (mating, 1, 1.0, 1, 0.0)
        assert np.isnan(best["cp"])
    (only,) = _rows(reference, EIGHT.index(ONLY_MOVE_GETS_MATED))
    assert (only["move"], only["mate"], only["win_chance"], only["loss"], only["rank"]) == ("a8b8", -1, -1.0, 0.0, 1)
    capture, *others = _rows(reference, EIGHT.index(PAWN_TAKES_QUEEN))
    assert capture["move"] == "e3f4" and capture["loss"] == 0.0 and capture["mate"] == 0
    assert all(r["loss"] >= BLUNDER for r in others)  # not taking the queen is a blunder


@pytest.mark.stockfish
def test_two_workers_give_the_same_table(reference, tmp_path, stockfish):
    _assert_same(_run(tmp_path, stockfish, EIGHT, workers=2), reference)
    written = load_action_values(tmp_path / "av.parquet")
    _assert_same(written, reference)
    assert b"simagents" in written.schema.metadata


class _Interrupted(Exception):
    pass


@pytest.mark.stockfish
def test_an_interrupted_run_resumes_with_only_the_missing_chunk(reference, tmp_path, stockfish, monkeypatch, caplog):
    evaluate = action_values._evaluate_chunk

    def interrupted_at_chunk_3(chunk, session, nodes):
        if chunk.index == 3:
            raise _Interrupted
        return evaluate(chunk, session, nodes)

    monkeypatch.setattr(action_values, "_evaluate_chunk", interrupted_at_chunk_3)
    with pytest.raises(_Interrupted):
        _run(tmp_path, stockfish, EIGHT)
    parts = tmp_path / "av.parts"
    assert sorted(p.name for p in parts.glob("*.parquet")) == [f"chunk-0000{k}.parquet" for k in range(3)]
    assert not (tmp_path / "av.parquet").exists()
    mtimes = {p.name: p.stat().st_mtime_ns for p in parts.glob("*.parquet")}

    scored: list[str] = []
    original = action_values.score_moves

    def counting(engine, board, nodes):
        scored.append(board.fen())
        return original(engine, board, nodes)

    monkeypatch.setattr(action_values, "_evaluate_chunk", evaluate)
    monkeypatch.setattr(action_values, "score_moves", counting)
    written: dict[str, int] = {}
    original_replace = Path.replace

    def recording_replace(self, target):
        written[Path(target).name] = 1
        return original_replace(self, target)

    monkeypatch.setattr(Path, "replace", recording_replace)
    with caplog.at_level(logging.INFO, logger="simagents.evaluation"):
        table = _run(tmp_path, stockfish, EIGHT)
    assert scored == EIGHT[6:]  # chunk 3 only
    assert "chunk-00003.parquet" in written and not set(mtimes) & set(written)  # done parts were not rewritten
    assert "3 of 4 chunks" in caplog.text
    _assert_same(table, reference)
    assert not parts.exists()


@pytest.mark.stockfish
def test_parts_from_other_settings_are_discarded(tmp_path, stockfish, monkeypatch, caplog):
    evaluate = action_values._evaluate_chunk

    def interrupted_at_chunk_1(chunk, session, nodes):
        if chunk.index == 1:
            raise _Interrupted
        return evaluate(chunk, session, nodes)

    monkeypatch.setattr(action_values, "_evaluate_chunk", interrupted_at_chunk_1)
    with pytest.raises(_Interrupted):
        _run(tmp_path, stockfish, EIGHT[:4])
    monkeypatch.setattr(action_values, "_evaluate_chunk", evaluate)
    with caplog.at_level(logging.WARNING, logger="simagents.evaluation"):
        table = _run(tmp_path, stockfish, EIGHT[:4], nodes=NODES + 100)
    assert "discarding" in caplog.text and "nodes" in caplog.text
    _assert_same(table, _run(tmp_path, stockfish, EIGHT[:4], name="fresh", nodes=NODES + 100))


def _killing(monkeypatch, should_kill) -> list[int]:
    """Make ``score_moves`` SIGKILL its engine process when ``should_kill(call number)``; returns the pids seen."""
    original = action_values.score_moves
    pids: list[int] = []

    def killing(engine, board, nodes):
        pids.append(engine.transport.get_pid())
        if should_kill(len(pids)):
            os.kill(pids[-1], signal.SIGKILL)
        return original(engine, board, nodes)

    monkeypatch.setattr(action_values, "score_moves", killing)
    return pids


@pytest.mark.stockfish
@pytest.mark.parametrize("workers", [1, 2])
def test_an_engine_killed_mid_run_is_restarted(reference, tmp_path, stockfish, monkeypatch, caplog, workers):
    # Each process kills its engine on its 4th position (with 2 workers, both do: the counter forks).
    pids = _killing(monkeypatch, lambda call: call == 4)
    with caplog.at_level(logging.INFO, logger="simagents.evaluation"):
        table = _run(tmp_path, stockfish, EIGHT, workers=workers)
    restarts = int(re.search(r"(\d+) engine restarts", caplog.text).group(1))  # summed over workers
    assert restarts == 1 if workers == 1 else restarts >= 1
    if workers == 1:  # the pids and the warnings of pool workers stay in their processes
        assert "restarting" in caplog.text
        assert len(set(pids)) == 2 and pids[4] != pids[3]  # chunk 1 was retried on a new engine
    _assert_same(table, reference)


@pytest.mark.stockfish
def test_an_engine_that_keeps_dying_fails_the_chunk(tmp_path, stockfish, monkeypatch):
    pids = _killing(monkeypatch, lambda call: True)
    with pytest.raises(RuntimeError, match=rf"chunk 0 .* failed {MAX_RETRIES + 1} times"):
        _run(tmp_path, stockfish, EIGHT[:2])
    assert len(set(pids)) == MAX_RETRIES + 1


def test_action_values_refuse_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="nodes must be at least 1, got 0"):
        compute_action_values(
            _positions([chess.STARTING_FEN]), tmp_path / "x.parquet", engine_path=Path("sf"), nodes=0, workers=1
        )
    with pytest.raises(ValueError, match=r"lacks columns \['n_legal'\]"):
        compute_action_values(
            pa.table({"position_id": [0], "fen": [chess.STARTING_FEN]}),
            tmp_path / "x.parquet",
            engine_path=Path("sf"),
            nodes=10,
            workers=1,
        )
    pa.parquet.write_table(pa.table({"position_id": [0]}), tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="not an action-value table"):
        load_action_values(tmp_path / "bad.parquet")
