"""The game runner and the reference players: rules, termination, seeding, batching."""

from __future__ import annotations

import functools

import chess
import numpy as np
import pytest

from simagents.games import GameSpec, play_games, score
from simagents.policies import GreedyMaterial, MoveDistribution, RandomMover, StockfishPolicy, material_gain
from simagents.stockfish import open_engine


def _spec(seed: int, **kw) -> GameSpec:
    return GameSpec(white="a", black="b", white_prompt="a", black_prompt="b", seed=seed, **kw)


def test_random_games_are_legal_and_end_by_a_rule():
    policies = {"a": RandomMover(), "b": RandomMover()}
    games = play_games([_spec(s) for s in range(20)], policies, max_plies=200)
    for game in games:
        board = chess.Board()
        for uci in game.moves:
            move = chess.Move.from_uci(uci)
            assert move in board.legal_moves
            board.push(move)
        assert game.result in ("1-0", "0-1", "1/2-1/2")
        if game.termination == "checkmate":
            assert board.is_checkmate()
            assert game.result == ("0-1" if board.turn == chess.WHITE else "1-0")
        elif game.termination == "ply_cap":
            assert len(game.moves) == 200 and game.result == "1/2-1/2"
        else:
            assert game.result == "1/2-1/2"


def test_a_game_does_not_depend_on_its_batch():
    policies = {"a": RandomMover(), "b": GreedyMaterial()}
    alone = play_games([_spec(7)], policies, max_plies=150)[0]
    batched = play_games([_spec(s) for s in (1, 2, 7, 9)], policies, max_plies=150)[2]
    assert alone.moves == batched.moves and alone.result == batched.result


def test_openings_and_random_opening_plies():
    policies = {"a": GreedyMaterial(), "b": GreedyMaterial()}
    game = play_games([_spec(3, opening=("e2e4", "e7e5"), random_opening_plies=2)], policies, max_plies=10)[0]
    assert game.moves[:2] == ["e2e4", "e7e5"] and len(game.moves) == 10
    with pytest.raises(ValueError, match="illegal"):
        play_games([_spec(3, opening=("e2e5",))], policies, max_plies=10)


def test_greedy_takes_the_most_material():
    board = chess.Board("r3k3/8/8/3q4/2P5/8/8/4K3 w - - 0 1")  # c4 pawn can take the queen on d5
    dist = GreedyMaterial().distributions([board], ["greedy"], ["x"])[0]
    best = dist.moves[int(np.argmax(dist.probs))]
    assert best == chess.Move.from_uci("c4d5") and dist.probs.max() == 1.0
    assert material_gain(chess.Board("4k3/1P6/8/8/8/8/8/4K3 w - - 0 1"), chess.Move.from_uci("b7b8q")) == 8


def test_uniform_and_point_mass():
    board = chess.Board()
    dist = RandomMover().distributions([board], ["random"], ["x"])[0]
    assert len(dist.moves) == 20 and np.allclose(dist.probs, 1 / 20)
    with pytest.raises(ValueError):
        MoveDistribution.point_mass(list(board.legal_moves), chess.Move.from_uci("e2e5"))


def test_threefold_repetition_is_claimed():
    class Shuffle:
        name = "shuffle"

        def distributions(self, boards, own, opp):
            out = []
            for b in boards:
                moves = list(b.legal_moves)
                knight = [
                    m
                    for m in moves
                    if b.piece_type_at(m.from_square) == chess.KNIGHT
                    and chess.square_name(m.to_square) in ("f3", "g1", "f6", "g8")
                ]
                out.append(MoveDistribution.point_mass(moves, knight[0]))
            return out

        def close(self):
            pass

    game = play_games([_spec(0)], {"a": Shuffle(), "b": Shuffle()}, max_plies=100)[0]
    assert game.termination == "threefold_repetition" and game.result == "1/2-1/2" and len(game.moves) == 8


def test_score():
    assert score("1-0", white=True) == 1.0 and score("1-0", white=False) == 0.0
    assert score("1/2-1/2", white=True) == 0.5 and score("0-1", white=False) == 1.0


@pytest.mark.stockfish
def test_stockfish_persona_spreads_over_at_most_four_legal_moves(stockfish):
    policy = StockfishPolicy(functools.partial(open_engine, stockfish), "sf", 1350, nodes_per_move=100)
    boards = [chess.Board(), chess.Board("6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1")]
    dists = policy.distributions(boards, ["sf", "sf"], ["x", "x"])
    policy.close()
    for board, dist in zip(boards, dists):
        assert dist.probs.sum() == pytest.approx(1.0) and 1 <= np.count_nonzero(dist.probs) <= 4
        assert set(dist.moves) == set(board.legal_moves)
    # Even the weakest level's random push (at most one pawn) never outweighs a mate in one.
    assert dists[1].probs[dists[1].moves.index(chess.Move.from_uci("a1a8"))] == 1.0
