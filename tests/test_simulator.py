"""The simulator: shapes, masking, determinism, exact resume, safe checkpoints, the Policy wrapper."""

from __future__ import annotations

import json

import chess
import numpy as np
import pytest
import torch

from simagents.encoding import NUM_ACTIONS, encode_boards, legal_action_mask, move_to_action, to_planes
from simagents.models import (
    CheckpointError,
    NetworkConfig,
    Simulator,
    TrainConfig,
    load_simulator,
    masked_log_probs,
    train_simulator,
)
from simagents.models.simulator_policy import SimulatorPolicy
from simagents.prompts import vocabulary

VOCAB = vocabulary(["random", "greedy"])
NET = NetworkConfig(num_prompts=len(VOCAB), hidden=32, layers=2)


def _train_config(**kw) -> TrainConfig:
    base = {
        "seed": 0,
        "steps": 24,
        "batch_size": 64,
        "warmup_steps": 4,
        "eval_every": 8,
        "checkpoint_every": 8,
        "val_positions": 200,
        "lr": 3e-3,
    }
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def positions(tiny_positions):
    return tiny_positions


@pytest.mark.parametrize("arch", ["mlp", "resnet"])
def test_shapes_and_masking(arch):
    torch.manual_seed(0)
    net = Simulator(NetworkConfig(arch=arch, num_prompts=4, hidden=16, blocks=2, channels=8))
    boards = [chess.Board(), chess.Board("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1")]
    planes = torch.from_numpy(to_planes(encode_boards(boards)))
    logits, value = net(planes, torch.tensor([1, 2]), torch.tensor([3, 0]))
    assert logits.shape == (2, NUM_ACTIONS) and value.shape == (2,)
    assert (value.abs() <= 1).all()
    legal = torch.from_numpy(np.stack([legal_action_mask(b) for b in boards]))
    log_p = masked_log_probs(logits, legal)
    assert torch.allclose(log_p.exp().sum(-1), torch.ones(2, dtype=log_p.dtype))
    assert torch.isinf(log_p[~legal]).all()
    assert len(net.active_fraction(planes, torch.tensor([1, 2]), torch.tensor([3, 0]))) == 2


def test_same_seed_same_weights_and_exact_resume(positions, tmp_path):
    straight = train_simulator(positions, tmp_path / "a", NET, _train_config(), progress=False)
    train_simulator(positions, tmp_path / "b", NET, _train_config(), progress=False)
    first = train_simulator(positions, tmp_path / "c", NET, _train_config(), progress=False, stop_after=13)
    assert not first["finished"] and first["steps"] == 13
    resumed = train_simulator(positions, tmp_path / "c", NET, _train_config(), progress=False)
    assert straight["finished"] and resumed["finished"]
    weights = [torch.load(tmp_path / d / "last.pt", weights_only=True)["model"] for d in "abc"]
    for name in weights[0]:
        assert torch.equal(weights[0][name], weights[1][name]), name
        assert torch.equal(weights[0][name], weights[2][name]), name
    assert (tmp_path / "a" / "curves.csv").read_text() == (tmp_path / "c" / "curves.csv").read_text()


def test_resume_rewrites_the_best_checkpoint_that_snakemake_deleted(positions, tmp_path):
    """Snakemake deletes a job's outputs (best.pt) before rerunning it; last.pt remains. Whether the
    run was interrupted or finished, the rerun must end with the same best.pt as a straight run."""
    train_simulator(positions, tmp_path / "straight", NET, _train_config(), progress=False)
    expected = torch.load(tmp_path / "straight" / "best.pt", weights_only=True)
    for stop_after in (13, None):  # interrupted after the best was written, and finished
        folder = tmp_path / f"stop{stop_after}"
        train_simulator(positions, folder, NET, _train_config(), progress=False, stop_after=stop_after)
        (folder / "best.pt").unlink()
        summary = train_simulator(positions, folder, NET, _train_config(), progress=False)
        assert summary["finished"]
        best = torch.load(folder / "best.pt", weights_only=True)
        assert best["step"] == expected["step"] and best["best_val_loss"] == expected["best_val_loss"]
        assert all(torch.equal(best["model"][k], expected["model"][k]) for k in expected["model"])


def test_best_checkpoint_has_the_lowest_validation_loss(positions, tmp_path):
    summary = train_simulator(positions, tmp_path, NET, _train_config(), progress=False)
    curves = np.genfromtxt(tmp_path / "curves.csv", delimiter=",", names=True)
    assert summary["best_val_loss"] == pytest.approx(curves["val_loss"].min())
    assert curves["val_loss"][-1] < curves["val_loss"][0]  # it learns something
    assert json.loads((tmp_path / "train.json").read_text())["steps"] == 24


def test_corrupt_and_truncated_checkpoints_name_the_file(positions, tmp_path):
    train_simulator(positions, tmp_path, NET, _train_config(steps=8), progress=False)
    good = (tmp_path / "best.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match=r"truncated\.pt"):
        load_simulator(truncated)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"garbage\.pt"):
        load_simulator(garbage)
    with pytest.raises(CheckpointError, match="not found"):
        load_simulator(tmp_path / "absent.pt")
    # A resumable run refuses a corrupt last.pt instead of silently starting over.
    (tmp_path / "last.pt").write_bytes(good[:100])
    with pytest.raises(CheckpointError, match=r"last\.pt"):
        train_simulator(positions, tmp_path, NET, _train_config(steps=16), progress=False)


def test_simulator_policy(positions, tmp_path):
    train_simulator(positions, tmp_path, NET, _train_config(), progress=False)
    model = load_simulator(tmp_path / "best.pt")
    boards = [chess.Board(), chess.Board("6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1")]
    policy = SimulatorPolicy(model, VOCAB)
    for board, dist in zip(boards, policy.distributions(boards, ["random", "greedy"], ["greedy", "random"])):
        assert set(dist.moves) == set(board.legal_moves)
        assert dist.probs.sum() == pytest.approx(1.0) and (dist.probs >= 0).all()

    def entropy(p: SimulatorPolicy) -> float:
        probs = p.distributions(boards[:1], ["greedy"], ["random"])[0].probs
        return float(-(probs * np.log(probs + 1e-300)).sum())

    assert entropy(SimulatorPolicy(model, VOCAB, temperature=0.3)) < entropy(policy)
    point = SimulatorPolicy(model, VOCAB, argmax=True).distributions(boards[:1], ["none"], ["none"])[0]
    assert point.probs.max() == 1.0
    with pytest.raises(ValueError, match="unknown prompt 'sf9999'"):
        policy.distributions(boards[:1], ["sf9999"], ["none"])


def test_a_checkpoint_of_other_settings_is_not_resumed(positions, tmp_path):
    train_simulator(positions, tmp_path, NET, _train_config(steps=8), progress=False)
    summary = train_simulator(positions, tmp_path, NET, _train_config(steps=16, lr=1e-3), progress=False)
    assert summary["steps"] == 16 and summary["positions_per_second"] > 0
    assert (tmp_path / "last.stale.pt").exists()
    fresh = tmp_path / "fresh"
    train_simulator(positions, fresh, NET, _train_config(steps=16, lr=1e-3), progress=False)
    a = torch.load(tmp_path / "last.pt", weights_only=True)["model"]
    b = torch.load(fresh / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_move_kinds_read_the_board():
    net = Simulator(NetworkConfig(num_prompts=4, hidden=16, move_features=True))
    # White queen e4 can take the d5 pawn, which the f6 knight defends; the pawn attacks c4, the
    # knight g4; b4 and the king's e2 are safe.
    board = chess.Board("4k3/8/5n2/3p4/4Q3/8/8/4K3 w - - 0 1")
    planes = torch.from_numpy(to_planes(encode_boards([board])))
    kinds = net.move_kinds.kinds(planes)[0]

    def kind(uci: str) -> tuple[int, int, int]:
        k = int(kinds[move_to_action(chess.Move.from_uci(uci), chess.WHITE)])
        return k // 12, (k % 12) // 2, k % 2  # mover piece, captured piece (5 = none), attacked

    queen, king, pawn, none = 4, 5, 0, 5
    assert kind("e4d5") == (queen, pawn, 1)
    assert kind("e4c4") == (queen, none, 1)  # the d5 pawn attacks c4
    assert kind("e4b4") == (queen, none, 0)
    assert kind("e4g4") == (queen, none, 1)  # the f6 knight attacks g4
    assert kind("e1e2") == (king, none, 0)
    # Black to move is seen from Black's side: the same geometry mirrored gives the same kinds.
    mirrored = board.mirror()
    planes = torch.from_numpy(to_planes(encode_boards([mirrored])))
    np.testing.assert_array_equal(net.move_kinds.kinds(planes)[0].numpy(), kinds.numpy())
    # Preferences start at zero: the head changes nothing until trained, under any prompt.
    _logits, _ = net(planes, torch.tensor([2]), torch.tensor([0]))
    assert net.move_kinds(planes, torch.tensor([2])).abs().sum() == 0


def test_training_loss_is_over_legal_moves_only(positions, tmp_path):
    # A policy loss over legal moves is at most log(n legal) for the uniform policy: the untrained
    # network's first validation loss is close to the mean log legal-move count, far below log(1858).
    summary = train_simulator(positions, tmp_path / "m", NET, _train_config(steps=1, eval_every=1), progress=False)
    curves = (tmp_path / "m" / "curves.csv").read_text().splitlines()
    first_val_loss = float(curves[1].split(",")[2])
    assert summary["finished"] and first_val_loss < 4.0 < np.log(NUM_ACTIONS)
    active = __import__("pandas").read_csv(tmp_path / "m" / "active_units.csv")
    assert set(active.prompt) == set(VOCAB) and set(active.layer) == {0, 1}
    assert active.fraction.between(0, 1).all()
