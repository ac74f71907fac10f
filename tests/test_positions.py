"""Games -> positions: shapes, dtypes, memory mapping, mover's view, splits by game."""

from __future__ import annotations

import json

import chess
import numpy as np
import pyarrow as pa
from conftest import random_greedy_games

from simagents.data.table import GAMES_SCHEMA
from simagents.encoding import EncodedBoards, action_to_move, decode_board, encode_boards
from simagents.positions import ARRAYS, SPLITS, build_positions, load_split, split_of
from simagents.prompts import vocabulary

VOCAB = vocabulary(["random", "greedy"])


def _games(n: int = 30, seed: int = 0) -> pa.Table:
    return random_greedy_games(n, seed)


def _build(tmp_path, games, skip=0, workers=1, name="positions"):
    return build_positions(
        games, VOCAB, tmp_path / name, seed=3, skip_plies=skip, split=(0.6, 0.2, 0.2), workers=workers, progress=False
    )


def test_shapes_dtypes_and_counts(tmp_path):
    games = _games()
    meta = _build(tmp_path, games, skip=2)
    total = sum(meta["splits"][s]["positions"] for s in SPLITS)
    assert total == sum(max(p - 2, 0) for p in games.column("plies").to_pylist())
    assert sum(meta["splits"][s]["games"] for s in SPLITS) == games.num_rows
    for split in SPLITS:
        arrays = load_split(tmp_path / "positions", split)
        for name, (dtype, shape) in ARRAYS.items():
            assert isinstance(arrays[name], np.memmap), name  # loaded without copying
            assert arrays[name].dtype == dtype and arrays[name].shape[1:] == shape
            assert len(arrays[name]) == meta["splits"][split]["positions"]
        assert (arrays["ply"] >= 2).all()
    assert json.loads((tmp_path / "positions" / "meta.json").read_text())["vocabulary"] == VOCAB


def test_positions_replay_the_games_from_the_movers_side(tmp_path):
    games = _games(8)
    _build(tmp_path, games)
    moves = games.column("moves").to_pylist()
    results = games.column("result").to_pylist()
    white_prompts = games.column("white_prompt").to_pylist()
    for split in SPLITS:
        a = load_split(tmp_path / "positions", split)
        for row in range(0, len(a["move"]), 7):
            game, ply = int(a["game"][row]), int(a["ply"][row])
            board = chess.Board()
            for uci in moves[game].split()[:ply]:
                board.push_uci(uci)
            expected = encode_boards([board])
            got = EncodedBoards(
                a["pieces"][row : row + 1],
                a["castling"][row : row + 1],
                a["en_passant"][row : row + 1],
                a["halfmove_clock"][row : row + 1],
            )
            assert decode_board(got, 0).board_fen() == decode_board(expected, 0).board_fen()
            played = chess.Move.from_uci(moves[game].split()[ply])
            assert action_to_move(int(a["move"][row]), board) == played
            white = board.turn == chess.WHITE
            assert (
                int(a["own_prompt"][row])
                == VOCAB[
                    white_prompts[game] if white else ({"random": "greedy", "greedy": "random"}[white_prompts[game]])
                ]
            )
            white_score = {"1-0": 1, "0-1": -1, "1/2-1/2": 0}[results[game]]
            assert int(a["result"][row]) == (white_score if white else -white_score)


def test_split_is_by_game_and_order_free(tmp_path):
    games = _games(40)
    _build(tmp_path, games, name="a")
    games_per_split = [set(load_split(tmp_path / "a", s)["game"].tolist()) for s in SPLITS]
    assert all(not (x & y) for i, x in enumerate(games_per_split) for y in games_per_split[i + 1 :])
    ids = games.column("game_id").to_pylist()
    assert split_of(ids[0], 3, 0.6, 0.2) == split_of(ids[0], 3, 0.6, 0.2)
    # Reversing the table changes row numbers but not which games land in which split.
    _build(tmp_path, games.take(list(range(games.num_rows))[::-1]), name="b")
    rev_ids = ids[::-1]
    for split, kept in zip(SPLITS, games_per_split):
        again = {rev_ids[g] for g in load_split(tmp_path / "b", split)["game"].tolist()}
        assert again == {ids[g] for g in kept}


def test_workers_do_not_change_the_arrays(tmp_path):
    games = _games(25)
    _build(tmp_path, games, name="one", workers=1)
    _build(tmp_path, games, name="two", workers=2)
    for split in SPLITS:
        one, two = load_split(tmp_path / "one", split), load_split(tmp_path / "two", split)
        for name in ARRAYS:
            assert np.array_equal(one[name], two[name])


def test_a_game_that_does_not_replay_is_counted_not_encoded(tmp_path):
    games = _games(6).to_pylist()
    games[2]["moves"] = "e2e4 e7e5 d4d5"  # no piece on d4: a corrupt table
    games[2]["plies"] = 3
    games[3]["moves"] = "e2e4 zz99"
    games[3]["plies"] = 2
    table = pa.Table.from_pylist(games, schema=GAMES_SCHEMA)
    meta = _build(tmp_path, table)
    assert meta["games_failed_replay"] == 2
    assert set(meta["failed_game_ids"]) == {games[2]["game_id"], games[3]["game_id"]}
    encoded_games = set().union(*(set(load_split(tmp_path / "positions", s)["game"].tolist()) for s in SPLITS))
    assert 2 not in encoded_games and 3 not in encoded_games
