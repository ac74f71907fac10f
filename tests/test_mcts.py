"""PUCT search: finds forced mates from terminal values alone, batches leaves, noise and policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import chess
import numpy as np
import pytest

from simagents.agents.mcts import SearchConfig, SearchResult, UniformEvaluator, search, terminal_value

NO_NOISE = {"dirichlet_fraction": 0.0}


class CountingEvaluator:
    """UniformEvaluator that records the batch size of every call and rejects finished games."""

    def __init__(self) -> None:
        self.inner = UniformEvaluator()
        self.batch_sizes: list[int] = []

    def evaluate(self, boards: Sequence[chess.Board]):
        self.batch_sizes.append(len(boards))
        for board in boards:
            assert terminal_value(board) is None, f"finished game sent to the evaluator: {board.fen()}"
        return self.inner.evaluate(boards)


def most_visited(result: SearchResult) -> chess.Move:
    """The most visited root move, asserting it is strictly ahead of the rest."""
    order = np.argsort(result.visits)[::-1]
    assert result.visits[order[0]] > result.visits[order[1]], "tie for the most visits"
    return result.moves[int(order[0])]


def mates_in_one(board: chess.Board) -> list[chess.Move]:
    out = []
    for move in board.legal_moves:
        board.push(move)
        if board.is_checkmate():
            out.append(move)
        board.pop()
    return out


# Mate in one: (FEN, the mating move). The test checks the mate itself with python-chess.
MATE_IN_ONE = [
    ("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1", "a1a8"),  # back rank, White
    ("r5k1/8/8/8/8/8/5PPP/6K1 b - - 0 1", "a8a1"),  # back rank, Black
    ("r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4", "h5f7"),  # scholar's mate
    ("rnbqkbnr/pppp1ppp/8/4p3/6P1/5P2/PPPPP2P/RNBQKBNR b KQkq - 0 2", "d8h4"),  # fool's mate
]


@pytest.mark.parametrize("fraction", [0.0, 0.25])
@pytest.mark.parametrize(("fen", "uci"), MATE_IN_ONE)
def test_finds_mate_in_one(fen: str, uci: str, fraction: float) -> None:
    board = chess.Board(fen)
    mate = chess.Move.from_uci(uci)
    board.push(mate)
    assert board.is_checkmate()
    board.pop()

    config = SearchConfig(simulations=200, dirichlet_fraction=fraction)
    (result,) = search([board], CountingEvaluator(), config, np.random.default_rng(0))
    assert most_visited(result) == mate
    assert result.root_value > 0.5  # the mate's +1 dominates the mean


# Forced mate in two with a quiet first move and two defences each (K+Q vs K), one per colour.
MATE_IN_TWO = [
    ("3K4/k7/8/8/7Q/8/8/8 w - - 0 1", "d8c7"),
    ("8/8/8/8/8/8/q3k3/6K1 b - - 0 1", "e2f3"),
]


@pytest.mark.parametrize(("fen", "uci"), MATE_IN_TWO)
def test_finds_mate_in_two(fen: str, uci: str) -> None:
    board = chess.Board(fen)
    assert not mates_in_one(board)

    (result,) = search(
        [board], CountingEvaluator(), SearchConfig(simulations=3000, **NO_NOISE), np.random.default_rng(0)
    )
    chosen = most_visited(result)
    assert chosen == chess.Move.from_uci(uci)
    # The chosen move is a forced mate in two: no defence escapes a mate in one.
    board.push(chosen)
    defences = list(board.legal_moves)
    assert len(defences) >= 2
    for defence in defences:
        board.push(defence)
        assert mates_in_one(board), f"{defence.uci()} escapes"
        board.pop()
    assert result.root_value > 0.5


class MaterialEvaluator:
    """Uniform prior; value = tanh(material balance / 5) for the side to move."""

    VALUES: ClassVar[dict[int, int]] = {
        chess.PAWN: 1,
        chess.KNIGHT: 3,
        chess.BISHOP: 3,
        chess.ROOK: 5,
        chess.QUEEN: 9,
        chess.KING: 0,
    }

    def evaluate(self, boards: Sequence[chess.Board]):
        out = []
        for board, (moves, priors, _) in zip(boards, UniformEvaluator().evaluate(boards)):
            balance = sum(
                self.VALUES[p.piece_type] * (1 if p.color == board.turn else -1) for p in board.piece_map().values()
            )
            out.append((moves, priors, float(np.tanh(balance / 5))))
        return out


@pytest.mark.parametrize("mirror", [False, True])
def test_evaluator_values_are_backed_up_from_the_movers_view(mirror: bool) -> None:
    """A free queen: the capture wins only if leaf values are negated on the way up."""
    board = chess.Board("4k3/8/8/3q4/8/8/3R4/4K3 w - - 0 1")
    capture = chess.Move.from_uci("d2d5")
    if mirror:
        board, capture = board.mirror(), chess.Move.from_uci("d7d4")
    (result,) = search(
        [board], MaterialEvaluator(), SearchConfig(simulations=200, **NO_NOISE), np.random.default_rng(0)
    )
    assert most_visited(result) == capture
    # Down a queen for a rook (tanh(-4/5) < 0) before, up a rook after: the capture's visits dominate.
    assert result.root_value > 0.5


OPENINGS = [
    chess.Board(),
    chess.Board("rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2"),
    chess.Board("rnbqkb1r/pppp1ppp/5n2/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"),
    chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3").mirror(),
    chess.Board("8/8/8/8/8/8/q3k3/6K1 b - - 0 1"),
]


def test_batched_search_matches_searching_alone() -> None:
    config = SearchConfig(simulations=48)  # with root noise
    seeds = [11, 22, 33, 44, 55]
    evaluator = CountingEvaluator()
    batched = search(OPENINGS, evaluator, config, [np.random.default_rng(s) for s in seeds])

    # One call for the roots, then one per simulation step with every tree's leaf (with 48
    # simulations no tree reaches a finished game, so every step needs the evaluator).
    assert evaluator.batch_sizes == [len(OPENINGS)] * (config.simulations + 1)
    for board, seed, together in zip(OPENINGS, seeds, batched):
        (alone,) = search([board], UniformEvaluator(), config, [np.random.default_rng(seed)])
        assert together.moves == alone.moves
        np.testing.assert_array_equal(together.visits, alone.visits)
        np.testing.assert_array_equal(together.priors, alone.priors)
        assert together.root_value == alone.root_value
        assert together.visits.sum() == config.simulations


def test_single_generator_is_drawn_in_board_order() -> None:
    """One generator: trees draw their noise from it in turn, so board 0 matches a search of it alone."""
    config = SearchConfig(simulations=16)
    batched = search(OPENINGS[:3], UniformEvaluator(), config, np.random.default_rng(7))
    (alone,) = search(OPENINGS[:1], UniformEvaluator(), config, np.random.default_rng(7))
    np.testing.assert_array_equal(batched[0].priors, alone.priors)
    np.testing.assert_array_equal(batched[0].visits, alone.visits)
    # Same as a one-element sequence holding that generator.
    (listed,) = search(OPENINGS[:1], UniformEvaluator(), config, [np.random.default_rng(7)])
    np.testing.assert_array_equal(listed.priors, alone.priors)


def test_noise_only_with_positive_fraction() -> None:
    board = OPENINGS[1]
    uniform = np.full(board.legal_moves.count(), 1.0 / board.legal_moves.count())

    quiet = [
        search([board], UniformEvaluator(), SearchConfig(simulations=64, **NO_NOISE), np.random.default_rng(s))[0]
        for s in (1, 2)
    ]
    np.testing.assert_array_equal(quiet[0].priors, uniform)
    np.testing.assert_array_equal(quiet[0].visits, quiet[1].visits)
    assert quiet[0].root_value == quiet[1].root_value

    noisy = [
        search([board], UniformEvaluator(), SearchConfig(simulations=64), np.random.default_rng(s))[0] for s in (1, 2)
    ]
    for result in noisy:
        assert not np.allclose(result.priors, uniform)
        assert result.priors.sum() == pytest.approx(1.0)
        assert result.priors.min() >= 0.75 * uniform[0] - 1e-12  # (1 - fraction) of the prior stays
    assert not np.array_equal(noisy[0].priors, noisy[1].priors)
    # Same seed, same noise.
    again = search([board], UniformEvaluator(), SearchConfig(simulations=64), np.random.default_rng(1))[0]
    np.testing.assert_array_equal(again.visits, noisy[0].visits)


def test_boards_are_not_modified() -> None:
    board = chess.Board()
    for uci in ("g1f3", "g8f6", "f3g1", "f6g8"):
        board.push_uci(uci)
    before = (board.fen(), list(board.move_stack))
    search([board], UniformEvaluator(), SearchConfig(simulations=64), np.random.default_rng(0))
    assert (board.fen(), list(board.move_stack)) == before


def test_single_legal_move_and_finished_root() -> None:
    board = chess.Board("k7/2R5/8/8/8/8/8/7K b - - 0 1")  # Black's only move: Kb8
    assert board.legal_moves.count() == 1
    evaluator = CountingEvaluator()
    (result,) = search([board], evaluator, SearchConfig(simulations=32), np.random.default_rng(0))
    assert result.moves == list(board.legal_moves)
    np.testing.assert_array_equal(result.visits, [32.0])
    np.testing.assert_array_equal(result.policy(0.0), [1.0])
    assert -1.0 <= result.root_value <= 1.0
    assert evaluator.batch_sizes == [1]

    with pytest.raises(ValueError, match="finished"):
        search(
            [chess.Board("7k/6Q1/6K1/8/8/8/8/8 b - - 0 1")],
            UniformEvaluator(),
            SearchConfig(),
            np.random.default_rng(0),
        )


def test_policy_temperature() -> None:
    moves = [chess.Move.from_uci(u) for u in ("e2e4", "d2d4", "g1f3", "c2c4")]
    result = SearchResult(moves, np.array([10.0, 30.0, 0.0, 20.0]), 0.1)
    np.testing.assert_allclose(result.policy(1.0), [1 / 6, 3 / 6, 0.0, 2 / 6])
    np.testing.assert_array_equal(result.policy(0.0), [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(result.policy(0.5), np.array([100.0, 900.0, 0.0, 400.0]) / 1400.0)
    # A tiny temperature does not overflow and tends to the argmax.
    np.testing.assert_allclose(result.policy(1e-4), [0.0, 1.0, 0.0, 0.0])

    tied = SearchResult(moves, np.array([5.0, 7.0, 7.0, 1.0]), 0.0)
    np.testing.assert_array_equal(tied.policy(0.0), [0.0, 0.5, 0.5, 0.0])
    with pytest.raises(ValueError):
        tied.policy(-1.0)


def test_terminal_value() -> None:
    fools_mate = chess.Board("rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3")
    assert fools_mate.is_checkmate()
    assert terminal_value(fools_mate) == -1.0

    stalemate = chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")
    assert stalemate.is_stalemate()
    assert terminal_value(stalemate) == 0.0

    for fen in ("8/8/4k3/8/8/3K4/8/8 w - - 0 1", "8/8/4k3/8/8/3KB3/8/8 b - - 0 1"):
        board = chess.Board(fen)
        assert board.is_insufficient_material()
        assert terminal_value(board) == 0.0

    # Claimable draws count: threefold repetition of the current position, fifty moves.
    board = chess.Board()
    for uci in ("g1f3", "g8f6", "f3g1", "f6g8") * 2:
        assert terminal_value(board) is None
        board.push_uci(uci)
    assert board.can_claim_threefold_repetition()
    assert terminal_value(board) == 0.0
    assert terminal_value(chess.Board("8/8/4k3/8/8/3K4/8/6R1 w - - 100 80")) == 0.0
    # A mate on the move that reaches the fifty-move mark stands.
    late_mate = chess.Board("6k1/5ppp/8/8/8/8/8/R5K1 w - - 99 80")
    late_mate.push_uci("a1a8")
    assert terminal_value(late_mate) == -1.0

    assert terminal_value(chess.Board()) is None


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SearchConfig(simulations=0)
    with pytest.raises(ValueError):
        SearchConfig(dirichlet_fraction=1.5)
    with pytest.raises(ValueError):
        SearchConfig(c_puct=0.0)


class MateBlindEvaluator:
    """Puts almost no prior on any mating move and rates every position as lost for the mover:
    a search of two simulations that only followed the prior would never try the mate."""

    def evaluate(self, boards: Sequence[chess.Board]):
        out = []
        for board in boards:
            moves = list(board.legal_moves)
            mates = set(mates_in_one(board))
            priors = np.array([1e-6 if move in mates else 1.0 for move in moves])
            out.append((moves, priors / priors.sum(), -0.9))
        return out


@pytest.mark.parametrize(("fen", "uci"), MATE_IN_ONE)
def test_mate_in_one_is_never_missed_at_the_root(fen: str, uci: str) -> None:
    board = chess.Board(fen)
    config = SearchConfig(simulations=2, dirichlet_fraction=0.25)
    (result,) = search([board], MateBlindEvaluator(), config, np.random.default_rng(0))
    assert result.moves[int(np.argmax(result.visits))] == chess.Move.from_uci(uci)
    assert result.visits.sum() == pytest.approx(2.0)
    assert result.root_value == 1.0
    assert result.policy(1.0)[result.moves.index(chess.Move.from_uci(uci))] == pytest.approx(1.0)
