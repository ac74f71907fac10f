"""The batched policy call gives the answers of one board at a time.

The game runner sends every board waiting on a policy in one call
(:meth:`simagents.models.simulator_policy.SimulatorPolicy.distributions`); the pieces that make that call
cheap must not change what a board gets:

* :func:`~simagents.encoding.padded_legal_actions` maps every legal move as
  :func:`~simagents.encoding.move_to_action` does, one move at a time (both colours, castling,
  en passant, under-promotions), and :func:`~simagents.encoding.legal_actions` is its one-board row;
* :meth:`~simagents.models.network.Simulator.action_logits` gives ``forward``'s logits at the
  legal actions, for one board (its own actions' weights) and for many (the batch's actions);
* a board's log-probabilities do not depend on the other boards of its batch;
* :meth:`~simagents.policies.MoveDistribution.sample` draws what ``Generator.choice`` draws.
"""

from __future__ import annotations

import chess
import numpy as np
import pytest
import torch
from conftest import random_game_boards

from simagents.encoding import encode_boards, legal_actions, move_to_action, padded_legal_actions, to_planes
from simagents.models import NetworkConfig, Simulator
from simagents.models.simulator_policy import SimulatorPolicy
from simagents.policies import MoveDistribution
from simagents.prompts import vocabulary

VOCAB = vocabulary(["random", "greedy"])


def test_padded_legal_actions_map_each_move_as_move_to_action_does() -> None:
    boards = random_game_boards(300, seed=3)
    actions, counts, moves = padded_legal_actions(boards)
    assert actions.shape == (len(boards), counts.max())
    assert any(m.promotion not in (None, chess.QUEEN) for row in moves for m in row)  # under-promotions seen
    assert any(board.turn == chess.BLACK for board in boards) and any(board.turn == chess.WHITE for board in boards)
    for board, row, count, board_moves in zip(boards, actions, counts, moves):
        assert board_moves == list(board.legal_moves)
        expected = [move_to_action(move, board.turn) for move in board_moves]
        np.testing.assert_array_equal(row[:count], expected)
        assert not row[count:].any()
        one_actions, one_moves = legal_actions(board)
        assert one_actions.dtype == np.int16 and one_moves == board_moves
        np.testing.assert_array_equal(one_actions, expected)
    empty, empty_counts, _ = padded_legal_actions([])
    assert empty.shape == (0, 1) and empty_counts.shape == (0,)


@pytest.fixture(scope="module")
def network() -> Simulator:
    torch.manual_seed(0)
    net = Simulator(
        NetworkConfig(
            num_prompts=len(VOCAB), hidden=64, layers=2, move_features=True, prompt_temperature=True, lever_gain=10.0
        )
    )
    with torch.no_grad():  # move the zero-initialised levers so that they take part
        net.move_kinds.preference.weight.normal_(0.0, 0.1)
        net.log_sharpness.weight.normal_(0.0, 0.05)
    return net.eval()


@torch.no_grad()
def test_action_logits_same_whichever_way_they_are_computed(network: Simulator) -> None:
    boards = random_game_boards(24, seed=5)
    actions, counts, _ = padded_legal_actions(boards)
    planes = torch.from_numpy(to_planes(encode_boards(boards)))
    own = torch.tensor([VOCAB["greedy"]] * len(boards))
    opponent = torch.tensor([VOCAB["random"]] * len(boards))
    table = torch.from_numpy(actions)
    full_forward, _ = network(planes, own, opponent)
    expected = full_forward.gather(1, table)
    batched = network.action_logits(planes, own, opponent, table)
    torch.testing.assert_close(batched, expected, rtol=0, atol=1e-5)
    for i in range(len(boards)):
        single = network.action_logits(planes[i : i + 1], own[i : i + 1], opponent[i : i + 1], table[i : i + 1])
        torch.testing.assert_close(single[0, : counts[i]], expected[i, : counts[i]], rtol=0, atol=1e-5)


def test_a_boards_probabilities_do_not_depend_on_its_batch(network: Simulator) -> None:
    policy = SimulatorPolicy(network, VOCAB, name="sim")
    boards = random_game_boards(40, seed=11)
    own = ["greedy" if i % 2 else "random" for i in range(len(boards))]
    opponent = ["random"] * len(boards)
    together = policy.log_probs(boards, own, opponent)
    dists = policy.distributions(boards, own, opponent)
    for i, board in enumerate(boards):
        ((moves, log_p),) = policy.log_probs([board], [own[i]], [opponent[i]])
        assert moves == together[i][0] == list(dists[i].moves)
        np.testing.assert_allclose(together[i][1], log_p, rtol=0, atol=1e-5)
        np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(dists[i].probs, np.exp(together[i][1]), rtol=0, atol=1e-12)
    greedy = SimulatorPolicy(network, VOCAB, name="argmax", argmax=True).distributions(boards, own, opponent)
    for dist, (_, log_p) in zip(greedy, together):
        assert dist.probs.sum() == 1.0 and dist.probs[int(np.argmax(log_p))] == 1.0


def test_sample_draws_what_generator_choice_draws() -> None:
    moves = tuple(chess.Move(0, to) for to in range(1, 64))
    shapes = np.random.default_rng(0)
    ours, numpys = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(5000):
        n = int(shapes.integers(2, len(moves) + 1))
        probs = shapes.dirichlet(np.full(n, 0.3))
        probs[shapes.random(n) < 0.2] = 0.0  # moves a policy never plays (argmax, pruned lines)
        if probs.sum() == 0:
            probs[0] = 1.0
        probs /= probs.sum()
        dist = MoveDistribution(moves[:n], probs)
        assert dist.sample(ours) == moves[int(numpys.choice(n, p=probs))]
