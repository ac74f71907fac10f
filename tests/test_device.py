"""Where the networks run: the device helper, mixed precision, and CUDA against the CPU.

The CUDA tests run only where torch sees a CUDA device and skip with the reason elsewhere. They
train the same small simulator with the same seed on the CPU (float32) and on the GPU, and score
the same positions with both, and compare within the tolerances below. The same comparison runs
here on the CPU with bf16 autocast against float32, so the comparison itself, the bf16 code paths
and the bf16 tolerance are exercised on every machine.

Tolerances. On the CPU, bf16 autocast against float32 on this test's data (24 training steps of a
32-wide MLP and of a 2-block residual net) moved the curves' losses by at most 6e-4 nats and a
move's probability by at most 7e-4; a GPU's bf16 tensor cores round the same inputs to the same 8
bits and accumulate in float32 as the CPU does, so the bf16 tolerances are about ten times those.
CUDA in float32 differs from the CPU only by the order of floating-point sums (matrix products on
the GPU run in IEEE float32: torch leaves TF32 off for them; this compares the MLP, which has no
convolutions, whose cuDNN kernels may use TF32).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import chess
import numpy as np
import pandas as pd
import pytest
import torch

from simagents.config import ConfigError, RlftConfig
from simagents.models import (
    CPU,
    Compute,
    DeviceError,
    NetworkConfig,
    TrainConfig,
    load_simulator_and_vocabulary,
    resolve_compute,
    resolve_device,
    train_simulator,
)
from simagents.models.device import resolve_precision
from simagents.models.simulator_policy import SimulatorPolicy
from simagents.prompts import vocabulary

CUDA = torch.cuda.is_available()
MPS = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
NO_CUDA_REASON = (
    f"no CUDA device (torch {torch.__version__}, CUDA build {torch.version.cuda}): "
    "the CUDA-against-CPU comparison runs on a machine with a GPU"
)
needs_cuda = pytest.mark.skipif(not CUDA, reason=NO_CUDA_REASON)
without_gpu = pytest.mark.skipif(CUDA or MPS, reason="this machine has a GPU: auto does not mean the CPU here")


@dataclass(frozen=True)
class Tolerance:
    """Largest absolute differences allowed between two runs of the same seed."""

    loss: float  # train and validation loss of each curves.csv row, nats
    accuracy: float  # validation top-1 (a fraction of 200 positions: a flipped argmax moves it by 0.005)
    prob: float  # any legal move's probability at any position
    value: float  # the value head's output, in [-1, 1]


FP32 = Tolerance(loss=1e-3, accuracy=0.0101, prob=1e-4, value=1e-4)
BF16 = Tolerance(loss=5e-3, accuracy=0.0201, prob=5e-3, value=1e-2)
TOLERANCE = {"fp32": FP32, "bf16": BF16}

VOCAB = vocabulary(["random", "greedy"])
PROMPTS = list(VOCAB)


def _network(arch: str) -> NetworkConfig:
    # No dropout: its masks come from each device's own generator, which differ (README
    # "Determinism"); batches and prompt dropout are drawn on the CPU for every device.
    return NetworkConfig(
        arch=arch,
        num_prompts=len(VOCAB),
        hidden=32,
        layers=2,
        blocks=2,
        channels=16,
        move_features=True,
        prompt_temperature=True,
        lever_gain=10.0,
        dropout=0.0,
    )


def _train(positions: Path, out: Path, arch: str, device: str, precision: str) -> pd.DataFrame:
    config = TrainConfig(
        seed=0,
        steps=24,
        batch_size=64,
        warmup_steps=4,
        eval_every=8,
        checkpoint_every=8,
        val_positions=200,
        lr=3e-3,
        device=device,
        precision=precision,
    )
    summary = train_simulator(positions, out, _network(arch), config, progress=False)
    assert summary["device"].startswith(device) and summary["precision"] == resolve_compute(device, precision).precision
    return pd.read_csv(out / "curves.csv")


def _boards(count: int = 120) -> list[chess.Board]:
    """Positions of seeded random games, openings to endgames (with move stacks)."""
    rng = np.random.default_rng(0)
    boards, board = [], chess.Board()
    while len(boards) < count:
        moves = list(board.legal_moves)
        if board.is_game_over() or board.ply() > 80:
            board = chess.Board()
            continue
        boards.append(board.copy())
        board.push(moves[int(rng.integers(len(moves)))])
    return boards


def _assert_curves_close(a: pd.DataFrame, b: pd.DataFrame, tol: Tolerance) -> None:
    assert list(a.step) == list(b.step)
    for column, limit in (
        ("train_loss", tol.loss),
        ("val_loss", tol.loss),
        ("val_accuracy", tol.accuracy),
        ("val_value_mse", tol.loss),
    ):
        worst = float((a[column] - b[column]).abs().max())
        assert worst <= limit, f"{column}: differs by {worst:.2e} > {limit:.0e}\n{a}\n{b}"


def _assert_policies_close(checkpoint: Path, reference: Compute, other: Compute, tol: Tolerance) -> None:
    """The same weights scored on both: every legal move's probability (log_probs and the search
    evaluator's priors_and_values), the value head and the one-ply values."""
    boards = _boards()
    own = [PROMPTS[i % len(PROMPTS)] for i in range(len(boards))]
    opp = own[::-1]
    outputs = []
    for compute in (reference, other):
        model, vocab = load_simulator_and_vocabulary(checkpoint, compute)
        policy = SimulatorPolicy(model, vocab, compute=compute)
        outputs.append(
            (
                policy.log_probs(boards, own, opp),
                policy.priors_and_values(boards, own, opp),
                policy.values(boards, own, opp),
                policy.one_ply_values(boards[:20], own[:20], opp[:20]),
            )
        )
    (log_a, pv_a, v_a, q_a), (log_b, pv_b, v_b, q_b) = outputs
    prob = max(float(np.abs(np.exp(x) - np.exp(y)).max()) for (_, x), (_, y) in zip(log_a, log_b))
    prior = max(float(np.abs(x - y).max()) for (_, x, _), (_, y, _) in zip(pv_a, pv_b))
    value = max(
        float(np.abs(v_a - v_b).max()),
        max(abs(x - y) for (_, _, x), (_, _, y) in zip(pv_a, pv_b)),
        max(float(np.abs(x - y).max()) for x, y in zip(q_a, q_b)),
    )
    assert prob <= tol.prob and prior <= tol.prob, f"move probabilities differ by {max(prob, prior):.2e}"
    assert value <= tol.value, f"values differ by {value:.2e}"


# --- the helper, on any machine ----------------------------------------------------------------


@without_gpu
def test_auto_is_the_cpu_in_float32_without_a_gpu():
    compute = resolve_compute("auto", "auto")
    assert compute == CPU and compute.precision == "fp32" and compute.describe() == "cpu, fp32"
    with compute.autocast() as context:
        assert context is None and not torch.is_autocast_enabled("cpu")
    assert isinstance(compute.autocast(), contextlib.nullcontext)  # nothing wrapped: plain float32 code


def test_auto_prefers_cuda_and_bf16_where_the_gpu_has_it(monkeypatch):
    # Only what torch reports is faked: no tensor goes near a GPU.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_precision("auto", torch.device("cuda")) is torch.bfloat16
    assert resolve_precision("fp32", torch.device("cuda")) is None
    with pytest.raises(DeviceError, match=r"sees 2 CUDA device\(s\), cuda:0 to cuda:1"):
        resolve_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)  # e.g. a V100
    assert resolve_precision("auto", torch.device("cuda")) is None
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Tesla V100")
    with pytest.raises(
        DeviceError, match=r"Tesla V100 has no bfloat16 support.*set simulator\.precision: auto or fp32"
    ):
        resolve_precision("bf16", torch.device("cuda"))


@pytest.mark.skipif(CUDA, reason="this machine has CUDA: an explicit cuda is valid here")
def test_an_absent_cuda_is_an_error_that_says_what_to_do():
    for requested in ("cuda", "cuda:0"):
        with pytest.raises(DeviceError) as error:
            resolve_compute(requested)
        message = str(error.value)
        assert f"simulator.device is {requested!r}" in message
        assert "Set simulator.device: auto" in message and "or cpu" in message
        assert "install a CUDA build of torch" in message
        if torch.version.cuda is None:
            assert "CPU-only build" in message


@pytest.mark.skipif(MPS, reason="this machine has Apple's MPS")
def test_an_absent_mps_is_an_error():
    with pytest.raises(
        DeviceError, match=r"no usable Apple MPS device \(torch .*\); set simulator.device: auto or cpu"
    ):
        resolve_device("mps")


def test_unknown_device_and_precision_names_are_errors(smoke_config):
    with pytest.raises(DeviceError, match="must be auto, cpu, cuda, cuda:N or mps, got 'gpu'"):
        resolve_device("gpu")
    with pytest.raises(DeviceError, match="must be one of auto, fp32, bf16, got 'fp16'"):
        resolve_precision("fp16", torch.device("cpu"))
    with pytest.raises(DeviceError, match="runs on cuda or cpu, not mps"):
        resolve_precision("bf16", torch.device("mps"))
    # The schema stops them before anything runs.
    with pytest.raises(ConfigError) as error:
        smoke_config(**{"simulator.device": "gpu", "simulator.precision": "half"})
    message = str(error.value)
    assert "'simulator.device' must match" in message and "(auto, cpu, cuda, cuda:N or mps), got 'gpu'" in message
    assert "'simulator.precision' must be one of ['auto', 'fp32', 'bf16'], got 'half'" in message
    assert smoke_config().simulator.precision == "auto"


@pytest.mark.skipif(CUDA, reason="this machine has CUDA: --device cuda is valid here")
def test_the_cli_reports_an_absent_device_and_exits(tiny_simulator, capsys):
    from simagents.cli import main

    assert main(["uci", "--checkpoint", str(tiny_simulator), "--prompt", "none", "--device", "cuda"]) == 2
    assert "simagents uci: error: simulator.device is 'cuda'" in capsys.readouterr().err


def test_the_cpu_in_float32_is_plain_float32_code(tiny_simulator, tiny_positions, tmp_path):
    """On the CPU, going through the helper changes nothing: the same bits as calling the
    network directly, and fp32 and auto train the same weights."""
    model, vocab = load_simulator_and_vocabulary(tiny_simulator)
    boards = _boards(16)
    own = [PROMPTS[i % len(PROMPTS)] for i in range(len(boards))]
    policy = SimulatorPolicy(model, vocab, compute=resolve_compute("cpu", "auto"))
    from simagents.encoding import encode_boards, to_planes

    planes = torch.from_numpy(to_planes(encode_boards(boards)))
    ids = torch.tensor([vocab[p] for p in own])
    with torch.no_grad():
        direct = model.value_only(planes, ids, ids).double().numpy()
    assert np.array_equal(policy.values(boards, own, own), direct)
    curves = {
        precision: _train(tiny_positions, tmp_path / precision, "mlp", "cpu", precision)
        for precision in ("fp32", "auto")
    }
    assert curves["fp32"].equals(curves["auto"])
    a, b = (torch.load(tmp_path / p / "last.pt", weights_only=True)["model"] for p in ("fp32", "auto"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_ladder_workers_spawned_as_on_a_gpu_play_the_same_games(tiny_simulator):
    """On a GPU the ladder spawns its workers instead of forking them; spawned workers (here on
    the CPU) must rebuild every player from the pickled set-up and play the same games."""
    from simagents.agents.ladder import PlayerSpec, anchor_specs, play_ladder, schedule
    from simagents.config import EngineConfig, Persona

    personas = (Persona(name="random", kind="random", rating=400), Persona(name="greedy", kind="greedy", rating=800))
    players = anchor_specs(personas, ["random", "greedy"]) + [
        PlayerSpec(name=f"sim@{p}", agent="sim", kind="simulator", prompt=p, checkpoint=str(tiny_simulator))
        for p in ("none", "greedy")
    ]
    tasks = schedule(players, 2, [("e2e4",), ("d2d4",)], seed=0)
    engine = EngineConfig(path=None, threads=1, hash_mb=16)
    here = play_ladder(players, tasks, engine, nodes_per_move=100, max_plies=16, workers=1, progress=False)
    spawned = play_ladder(
        players, tasks, engine, nodes_per_move=100, max_plies=16, workers=2, progress=False, start_method="spawn"
    )
    assert [(g.spec, g.moves, g.result) for g in here] == [(g.spec, g.moves, g.result) for g in spawned]


def test_the_device_benchmark_runs_and_names_the_device(repo, tmp_path):
    """benchmarks/gpu.py at toy scale on this machine's default device: both tables, the device
    named (here the CPU's model, on a GPU machine the GPU's name)."""
    import json
    import subprocess
    import sys

    out = tmp_path / "device.md"
    done = subprocess.run(
        [
            sys.executable,
            str(repo / "benchmarks" / "gpu.py"),
            "--games",
            "12",
            "--boards",
            "4",
            "--max-plies",
            "12",
            "--archs",
            "mlp",
            "--toy-agents",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.with_suffix(".json").read_text())
    compute = resolve_compute("auto", "auto")
    expected = torch.cuda.get_device_name(0) if CUDA else "cores"
    assert expected in report["machine"]["device_name"] and report["machine"]["device_name"] in out.read_text()
    assert [r["arch"] for r in report["training"]] == ["mlp"] * len(report["training"])
    assert compute.precision in {r["precision"] for r in report["training"]}
    # (the per-step rate is a difference of two short calls at this scale: only its call's own rate is checked)
    assert all(r["call_positions_per_s"] > 0 and r["steps"] >= 10 for r in report["training"])
    assert all(r["games_per_s"] > 0 and r["plies"] > 0 for r in report["self_play"])
    assert "## Self-play" in out.read_text() and "## The agents' phases" in out.read_text()
    assert [r["arch"] for r in report["agents"]] == ["mlp"] * len(report["agents"]) and report["agents"]
    assert all(r["az_simulations_per_s"] > 0 and r["rl_target_positions"] > 0 for r in report["agents"])


# --- the same seed, two precisions or two devices ----------------------------------------------


@pytest.mark.parametrize("arch", ["mlp", "resnet"])
def test_bf16_autocast_on_the_cpu_stays_within_the_bf16_tolerance(arch, tiny_positions, tmp_path):
    """Here bf16 stands in for the GPU: the same comparison as the CUDA test, every autocast code
    path (training, validation, active units, the policy's calls) run in bf16."""
    reference = _train(tiny_positions, tmp_path / "fp32", arch, "cpu", "fp32")
    mixed = _train(tiny_positions, tmp_path / "bf16", arch, "cpu", "bf16")
    _assert_curves_close(reference, mixed, BF16)
    assert not reference.equals(mixed)  # bf16 did round something: the comparison is not vacuous
    _assert_policies_close(tmp_path / "fp32" / "best.pt", CPU, resolve_compute("cpu", "bf16"), BF16)


def test_rl_fits_run_under_bf16_autocast(tiny_simulator, tmp_path):
    """RL fine-tuning's games, targets, policy fit and critic fit under bf16 (the GPU's default
    precision), here on the CPU: finite losses, the precision recorded in its summary."""
    from simagents.agents.rlft import RlftRun, train_rlft

    config = RlftConfig(
        betas=(0.1,),
        seeds=(0,),
        iterations=1,
        games_per_iteration=2,
        target_positions=32,
        replay_positions=0,
        step_size=0.05,
        epochs=1,
        batch_size=16,
        lr=1e-3,
        value_weight=0.25,
        critic_lr=1e-4,
        critic_epochs=1,
        critic_prompts="game",
        snapshot_every=1,
        snapshot_fraction=0.0,
        eval_games_per_prompt=2,
    )
    run = RlftRun(beta=0.1, seed=0, prompts=("none", "greedy"), openings=(("e2e4",),), max_plies=12)
    summary = train_rlft(tiny_simulator, tmp_path, config, run, compute=resolve_compute("cpu", "bf16"), progress=False)
    assert summary["finished"] and summary["precision"] == "bf16" and summary["device"] == "cpu"
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert np.isfinite(curves[["policy_loss", "value_loss", "critic_loss"]].to_numpy()).all()


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_training_and_inference_match_the_cpu_for_the_same_seed(precision, tiny_positions, tmp_path):
    """24 steps of the same seed on the CPU (float32) and on CUDA: the curves (train and validation
    loss, accuracy, value error) and the trained model's move probabilities and values."""
    tol = TOLERANCE[precision]
    cpu = _train(tiny_positions, tmp_path / "cpu", "mlp", "cpu", "fp32")
    gpu = _train(tiny_positions, tmp_path / "cuda", "mlp", "cuda", precision)
    _assert_curves_close(cpu, gpu, tol)
    # Inference alone, the same weights on both devices (the CPU-trained ones).
    _assert_policies_close(tmp_path / "cpu" / "best.pt", CPU, resolve_compute("cuda", precision), tol)


@needs_cuda
def test_cuda_auto_is_bf16_where_supported_and_the_resnet_trains_there(tiny_positions, tmp_path):
    compute = resolve_compute("auto", "auto")
    assert compute.device.type == "cuda"
    assert compute.precision == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    assert torch.cuda.get_device_name(0) in compute.describe()
    cpu = _train(tiny_positions, tmp_path / "cpu", "resnet", "cpu", "fp32")
    gpu = _train(tiny_positions, tmp_path / "cuda", "resnet", "cuda", compute.precision)
    # The resnet's convolutions may use TF32 in cuDNN even at fp32: the bf16 tolerance for both.
    _assert_curves_close(cpu, gpu, BF16)


@needs_cuda
def test_agents_train_on_cuda(tiny_simulator, tmp_path):
    """RL fine-tuning and AZ self-play on the GPU end with finite losses and say where they ran.
    (Their games are sampled from probabilities that differ in the last bits, so a game can take
    another move than on the CPU: trajectories are not compared.)"""
    from simagents.agents.az import AzRun, train_az
    from simagents.agents.rlft import RlftRun, train_rlft
    from simagents.config import AzConfig

    compute = resolve_compute("cuda", "auto")
    config = RlftConfig(
        betas=(0.1,),
        seeds=(0,),
        iterations=2,
        games_per_iteration=4,
        target_positions=64,
        replay_positions=0,
        step_size=0.05,
        epochs=1,
        batch_size=16,
        lr=1e-3,
        value_weight=0.25,
        critic_lr=1e-4,
        critic_epochs=1,
        critic_prompts="game",
        snapshot_every=1,
        snapshot_fraction=0.5,
        eval_games_per_prompt=2,
    )
    run = RlftRun(beta=0.1, seed=0, prompts=("none", "greedy"), openings=(("e2e4",),), max_plies=16)
    summary = train_rlft(tiny_simulator, tmp_path / "rlft", config, run, compute=compute, progress=False)
    assert summary["finished"] and summary["device"].startswith("cuda")
    az = AzConfig(
        init="simulator",
        seed=0,
        iterations=1,
        games_per_iteration=2,
        simulations=4,
        eval_simulations=4,
        c_puct=1.5,
        dirichlet_alpha=0.3,
        dirichlet_fraction=0.25,
        temperature_plies=4,
        replay_positions=500,
        epochs=1,
        batch_size=32,
        lr=1e-3,
        value_weight=1.0,
    )
    summary = train_az(
        tmp_path / "az", az, AzRun(openings=(("e2e4",),), max_plies=16), tiny_simulator, compute=compute, progress=False
    )
    assert summary["finished"] and summary["device"].startswith("cuda")
    for folder in ("rlft", "az"):
        assert np.isfinite(pd.read_csv(tmp_path / folder / "curves.csv")["policy_loss"]).all()
