"""Stockfish personas: Stockfish's skill rule with a seeded random source, a function of the position."""

from __future__ import annotations

import functools
import os
import signal

import chess
import numpy as np
import pytest

from simagents.games import GameSpec, play_games
from simagents.policies import SkillLevel, StockfishPolicy
from simagents.stockfish import open_engine

MIDDLEGAME = "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"


def _stockfish_rule(level: SkillLevel, scores: list[int], rng: np.random.Generator) -> int:
    """Stockfish 15.1's Skill::pick_best loop, written out literally, with an explicit generator."""
    top = scores[0]
    delta = min(top - scores[-1], 100)
    best, best_value = -1, -(10**9)
    for i, score in enumerate(scores):
        push = int((level.weakness * (top - score) + delta * int(rng.integers(int(level.weakness)))) / 128)
        if score + push >= best_value:
            best, best_value = i, score + push
    return best


@pytest.mark.parametrize("elo", [1350, 2000, 2850])
@pytest.mark.parametrize("scores", [[50, 30, 10, -200], [0, 0, 0, 0], [32000, 20, 10, 5], [12, -40], [7]])
def test_exact_line_probabilities_match_the_rule_sampled(elo, scores):
    level = SkillLevel.from_elo(elo)
    exact = level.move_probabilities(scores)
    rng = np.random.default_rng(0)
    draws = 20_000
    counts = np.bincount([_stockfish_rule(level, scores, rng) for _ in range(draws)], minlength=len(scores))
    assert exact.sum() == pytest.approx(1.0)
    # Binomial standard error is at most 0.0036 at 20,000 draws: 5 of them.
    np.testing.assert_allclose(counts / draws, exact, atol=0.018)


def test_skill_levels_follow_stockfish_15_mapping():
    assert SkillLevel.from_elo(1350).depth == 1
    assert SkillLevel.from_elo(2000).depth == 7
    assert SkillLevel.from_elo(2850).level == pytest.approx(18.46, abs=0.01)
    assert not SkillLevel(20.0).limited
    # Weaker levels spread their choice wider among the same lines.
    scores = [40, 10, -20, -60]
    assert (
        SkillLevel.from_elo(1350).move_probabilities(scores)[0]
        < SkillLevel.from_elo(2850).move_probabilities(scores)[0]
    )


def test_unsorted_lines_are_refused():
    with pytest.raises(ValueError, match="sorted best first"):
        SkillLevel.from_elo(2000).move_probabilities([10, 30])


def _persona(stockfish, elo=2000, hash_mb=16) -> StockfishPolicy:
    return StockfishPolicy(functools.partial(open_engine, stockfish, 1, hash_mb), "sf", elo, 2000)


@pytest.mark.stockfish
def test_distribution_is_a_function_of_the_position(stockfish):
    board = chess.Board(MIDDLEGAME)
    first = _persona(stockfish)
    reference = first.distribution(board)
    # Searches in between fill the hash and history tables; a second process starts empty.
    first.distribution(chess.Board())
    first.distribution(chess.Board("8/8/8/4k3/8/8/4P3/4K3 w - - 0 1"))
    again = first.distribution(board)
    second = _persona(stockfish)
    other = second.distribution(board)
    first.close(), second.close()
    for candidate in (again, other):
        assert candidate.moves == reference.moves
        np.testing.assert_array_equal(candidate.probs, reference.probs)
    assert 1 < np.count_nonzero(reference.probs) <= 4
    assert reference.probs.sum() == pytest.approx(1.0)


@pytest.mark.stockfish
def test_full_strength_is_a_point_mass_and_finds_mate(stockfish):
    policy = _persona(stockfish, elo=None)
    board = chess.Board("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1")  # Ra8#
    dist = policy.distribution(board)
    policy.close()
    assert dist.probs.max() == 1.0 and dist.moves[int(dist.probs.argmax())] == chess.Move.from_uci("a1a8")


@pytest.mark.stockfish
def test_games_between_personas_replay_exactly(stockfish):
    specs = [GameSpec("a", "b", "sf1350", "sf2000", seed=s, random_opening_plies=2) for s in range(3)]
    runs = []
    for _ in range(2):
        policies = {"a": _persona(stockfish, 1350), "b": _persona(stockfish, 2000)}
        runs.append([(g.moves, g.result) for g in play_games(specs, policies, max_plies=60)])
        for policy in policies.values():
            policy.close()
    assert runs[0] == runs[1]
    assert len({tuple(moves) for moves, _ in runs[0]}) == 3


@pytest.mark.stockfish
def test_an_engine_killed_mid_game_is_restarted_and_the_position_searched_again(stockfish):
    board = chess.Board(MIDDLEGAME)
    policy = _persona(stockfish)
    reference = policy.distribution(board)
    os.kill(policy.engine.transport.get_pid(), signal.SIGKILL)  # type: ignore[attr-defined]
    again = policy.distribution(board)
    assert policy.restarts == 1
    np.testing.assert_array_equal(again.probs, reference.probs)
    policy.close()
