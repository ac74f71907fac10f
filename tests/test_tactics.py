"""The tactics head's features are exact, and its two scoring paths agree.

* :func:`~simagents.models.attacks.attack_maps` and :func:`~simagents.models.attacks.checking_squares`
  equal python-chess's attacks on positions of random games, for both colours (the mover's view);
* :meth:`~simagents.models.network._TacticsHead.features` reads a hand-made position as a
  player would (what the move takes, what attacks and defends its squares, whether it checks);
* a network with the head gives the same logits for the legal moves whether ``forward`` gets
  the legal mask or ``action_logits`` the legal actions, refuses a call with neither, starts
  as the same network without the head, and round-trips through a checkpoint.
"""

from __future__ import annotations

import chess
import pytest
import torch
from conftest import random_game_boards

from simagents.encoding import encode_boards, legal_actions, move_to_action, padded_legal_actions, to_planes
from simagents.models import NetworkConfig, Simulator
from simagents.models.attacks import attack_maps, checking_squares
from simagents.models.network import _TacticsHead
from simagents.prompts import vocabulary

VOCAB = vocabulary(["random", "greedy"])
FIELDS = [name for name, _ in _TacticsHead.FIELDS]


def _mover_view(board: chess.Board) -> chess.Board:
    return board if board.turn == chess.WHITE else board.mirror()


def test_attack_maps_are_python_chess_attacks() -> None:
    boards = random_game_boards(40, seed=1)
    assert {b.turn for b in boards} == {chess.WHITE, chess.BLACK}
    own, opponent = attack_maps(torch.from_numpy(to_planes(encode_boards(boards))))
    for i, board in enumerate(boards):
        view = _mover_view(board)
        for colour, maps in ((chess.WHITE, own), (chess.BLACK, opponent)):
            for square in chess.SQUARES:
                types = {view.piece_type_at(a) for a in view.attackers(colour, square)}
                got = {t + 1 for t in range(6) if maps[i, t, square]}
                assert got == types, (board.fen(), colour, chess.square_name(square))


def test_checking_squares_are_where_a_piece_would_give_check() -> None:
    boards = random_game_boards(25, seed=2)
    checks = checking_squares(torch.from_numpy(to_planes(encode_boards(boards))))
    for i, board in enumerate(boards):
        view = _mover_view(board)
        king = view.king(chess.BLACK)
        for square in chess.SQUARES:
            if view.piece_at(square) is not None and view.color_at(square) == chess.WHITE:
                continue
            for piece_type in range(1, 6):
                probe = view.copy(stack=False)
                probe.set_piece_at(square, chess.Piece(piece_type, chess.WHITE))
                assert bool(checks[i, piece_type - 1, square]) == (king in probe.attacks(square))
            assert not checks[i, 5, square]  # a king never checks


def _features_of(board: chess.Board, uci: str) -> dict[str, int]:
    actions, _ = legal_actions(board)
    action = move_to_action(chess.Move.from_uci(uci), board.turn)
    planes = torch.from_numpy(to_planes(encode_boards([board])))
    fields = _TacticsHead(len(VOCAB), 8, 4).features(planes, torch.tensor([[action]]))[0, 0].tolist()
    assert action in actions.tolist()
    return dict(zip(FIELDS, fields))


def test_features_read_a_position_as_a_player_would() -> None:
    # White: Qd1, Nc3, Pe4; Black: pawns d5 (defended by e6), a Kh8 and a rook on d8.
    board = chess.Board("3r3k/8/4p3/3p4/4P3/2N5/8/3QK3 w - - 0 1")
    take = _features_of(board, "e4d5")  # the pawn takes a pawn that a pawn defends
    assert take["mover"] == 0 and take["captured"] == 0 and take["becomes"] == 0
    assert take["to_cheapest_attacker"] == 0  # the e6 pawn
    assert take["to_attackers"] == 2  # the e6 pawn and the d8 rook
    assert take["to_defenders"] == 2  # Nc3 and, along the file, Qd1 (the pawn itself does not count)
    queen = _features_of(board, "d1d4")  # the queen steps in front of the pawn
    assert queen["captured"] == 5 and queen["to_cheapest_attacker"] == 6  # nothing takes it on d4 ...
    assert queen["from_attackers"] == 0 and queen["from_cheapest_attacker"] == 6
    assert queen["gives_check"] == 1  # ... and from d4 it sees h8 along the diagonal
    push = _features_of(board, "e4e5")  # a pawn push defends nothing but is defended by nothing
    assert push["to_defenders"] == 0 and push["gives_check"] == 0
    # Black to move, seen mirrored: the same features as White's mirror image.
    mirrored = _features_of(board.mirror(), "e5d4")
    assert mirrored == take
    promotion = _features_of(chess.Board("7k/1P6/8/8/8/8/8/K7 w - - 0 1"), "b7b8q")
    assert promotion["mover"] == 0 and promotion["becomes"] == 4 and promotion["gives_check"] == 1
    under = _features_of(chess.Board("7k/1P6/8/8/8/8/8/K7 w - - 0 1"), "b7b8n")
    assert under["becomes"] == 1 and under["gives_check"] == 0


@pytest.fixture(scope="module", params=["mlp", "resnet"])
def network(request: pytest.FixtureRequest) -> Simulator:
    """A small network with the head, of each architecture (config/lichess.yaml: resnet with it)."""
    torch.manual_seed(0)
    net = Simulator(
        NetworkConfig(
            arch=request.param,
            num_prompts=len(VOCAB),
            hidden=32,
            layers=2,
            blocks=1,
            channels=8,
            move_features=True,
            tactics_width=16,
        )
    )
    assert net.tactics is not None
    with torch.no_grad():  # the last layer starts at zero: move it so that the head takes part
        net.tactics.out.weight.normal_(0.0, 0.5)
    return net.eval()


@torch.no_grad()
def test_the_legal_mask_and_the_legal_actions_give_the_same_logits(network: Simulator) -> None:
    boards = random_game_boards(20, seed=3)
    actions, counts, _ = padded_legal_actions(boards)
    planes = torch.from_numpy(to_planes(encode_boards(boards)))
    own = torch.tensor([VOCAB["greedy"]] * len(boards))
    opponent = torch.tensor([VOCAB["random"]] * len(boards))
    table = torch.from_numpy(actions)
    legal = torch.zeros(len(boards), 1858, dtype=torch.bool)
    for i, count in enumerate(counts):
        legal[i, table[i, :count]] = True
    full, value = network(planes, own, opponent, legal)
    sparse, sparse_value = network.action_logits_and_value(planes, own, opponent, table)
    for i, count in enumerate(counts):
        torch.testing.assert_close(sparse[i, :count], full[i, table[i, :count]], rtol=0, atol=1e-5)
        torch.testing.assert_close(network.action_logits(planes, own, opponent, table)[i, :count], sparse[i, :count])
    assert value is not None and sparse_value is not None
    torch.testing.assert_close(value, sparse_value)
    with pytest.raises(ValueError, match="legal moves only"):
        network(planes, own, opponent)


@torch.no_grad()
def test_a_fresh_head_leaves_the_logits_as_they_were() -> None:
    config = {"num_prompts": len(VOCAB), "hidden": 32, "layers": 2}
    torch.manual_seed(0)
    plain = Simulator(NetworkConfig(**config)).eval()
    torch.manual_seed(0)
    with_head = Simulator(NetworkConfig(**config, tactics_width=16)).eval()
    with_head.load_state_dict({**with_head.state_dict(), **plain.state_dict()})
    boards = random_game_boards(6, seed=4)
    actions, _, _ = padded_legal_actions(boards)
    planes = torch.from_numpy(to_planes(encode_boards(boards)))
    prompts = torch.tensor([VOCAB["random"]] * len(boards))
    table = torch.from_numpy(actions)
    torch.testing.assert_close(
        with_head.action_logits(planes, prompts, prompts, table), plain.action_logits(planes, prompts, prompts, table)
    )


def test_a_checkpoint_with_the_head_loads(network: Simulator, tmp_path) -> None:
    from simagents.models.checkpoint import save_checkpoint
    from simagents.models.train import load_simulator

    path = tmp_path / "best.pt"
    save_checkpoint({"model": network.state_dict(), "network": network.config.to_dict(), "vocabulary": VOCAB}, path)
    loaded = load_simulator(path)
    boards = random_game_boards(4, seed=5)
    actions, _, _ = padded_legal_actions(boards)
    planes = torch.from_numpy(to_planes(encode_boards(boards)))
    prompts = torch.tensor([VOCAB["greedy"]] * len(boards))
    table = torch.from_numpy(actions)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.action_logits(planes, prompts, prompts, table),
            network.action_logits(planes, prompts, prompts, table),
        )
