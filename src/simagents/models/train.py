"""Imitation training of the simulator: cross-entropy on the moves played, per prompt.

Reads like a recipe, top to bottom: seed, data (memory-mapped position shards), model, AdamW
with linear warm-up then cosine decay, the loop (prompt dropout, policy loss, optional value
loss), validation every ``eval_every`` steps (the kept checkpoint ``best.pt`` has the lowest
validation loss), a resumable ``last.pt`` every ``checkpoint_every`` steps, and the curves.

The policy loss is a softmax over the legal moves of each position only (their masks are stored
with the positions), the same distribution every later stage uses: the network spends no
capacity on learning which moves are legal, and a persona that moves at random (the random
mover) has a reachable optimum, uniform over the legal moves. Determinism:
batches are drawn from a seeded torch generator whose state, with torch's global RNG and the
optimizer, is in every checkpoint, so a run killed and resumed ends with the same weights as
one that never stopped (tested).

Device and precision come from :func:`~simagents.models.device.resolve_compute` (``device`` and
``precision`` below): forward passes and losses run under its autocast (bf16 on a CUDA GPU by
default), backward passes and AdamW outside it. Batches and prompt dropout are drawn on the CPU
from the seeded generator whatever the device, so a GPU run sees the same batches as a CPU run
of the same seed (network dropout draws from the device's own generator: it differs).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..config import SimulatorConfig
from ..encoding import EncodedBoards, to_planes, unpack_legal_masks
from ..faults import pause_point
from ..outputs import write_csv, write_text
from ..paths import POSITIONS_META, SIMULATOR_FILES
from ..positions import load_split
from .checkpoint import load_checkpoint, resumable_state, save_checkpoint
from .device import Compute, as_compute, resolve_compute
from .network import NetworkConfig, Simulator, masked_log_probs

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Optimisation settings (``simulator`` in the config; see config/default.yaml for choices)."""

    seed: int
    steps: int
    batch_size: int = 1024
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    prompt_dropout: float = 0.1  # probability of replacing each prompt by `none` (the unconditional model)
    value_weight: float = 0.25  # weight of the value loss against the policy loss
    eval_every: int = 200
    checkpoint_every: int = 200
    val_positions: int = 20000  # validation positions scored at each evaluation (a fixed subset)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps (:func:`~simagents.models.device.resolve_device`)
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 elsewhere) | fp32 | bf16


def simulator_configs(simulator: SimulatorConfig, vocabulary_size: int, seed: int) -> tuple[NetworkConfig, TrainConfig]:
    """The network and the training settings of one simulator seed, from the run config's
    ``simulator`` section (``vocabulary_size``: prompt tokens, ``none`` and ``unknown`` included)."""
    s = simulator
    network = NetworkConfig(
        arch=s.arch,
        num_prompts=vocabulary_size,
        hidden=s.hidden,
        layers=s.layers,
        blocks=s.blocks,
        channels=s.channels,
        value_head=s.value_head,
        dropout=s.dropout,
        move_features=s.move_features,
        prompt_temperature=s.prompt_temperature,
        lever_gain=s.lever_gain,
        tactics_width=s.tactics_width,
    )
    train = TrainConfig(
        seed=seed,
        steps=s.steps,
        batch_size=s.batch_size,
        lr=s.lr,
        weight_decay=s.weight_decay,
        warmup_steps=s.warmup_steps,
        prompt_dropout=s.prompt_dropout,
        value_weight=s.value_weight,
        eval_every=s.eval_every,
        checkpoint_every=s.checkpoint_every,
        val_positions=s.val_positions,
        device=s.device,
        precision=s.precision,
    )
    return network, train


def batch_tensors(split: dict[str, np.ndarray], rows: np.ndarray, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Planes ``[B,18,8,8]``, own and opponent prompts ``[B]``, moves ``[B]``, results ``[B]``
    and legal-move masks ``[B,1858]`` (bool)."""
    rows = np.sort(rows)  # sorted reads are kinder to a memory map
    encoded = EncodedBoards(
        split["pieces"][rows], split["castling"][rows], split["en_passant"][rows], split["halfmove_clock"][rows]
    )
    planes = torch.from_numpy(to_planes(encoded))
    as_long = [
        torch.from_numpy(np.asarray(split[k][rows], dtype=np.int64)) for k in ("own_prompt", "opponent_prompt", "move")
    ]
    result = torch.from_numpy(np.asarray(split["result"][rows], dtype=np.float32))
    legal = torch.from_numpy(unpack_legal_masks(split["legal"][rows]))
    return tuple(t.to(device) for t in (planes, *as_long, result, legal))


def policy_loss(logits: torch.Tensor, legal: torch.Tensor, move: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy (nats) of the moves played under a softmax over each position's legal moves."""
    return torch.nn.functional.nll_loss(masked_log_probs(logits, legal), move, reduction=reduction)


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def evaluate(
    model: Simulator,
    split: dict[str, np.ndarray],
    rows: np.ndarray,
    compute: Compute | torch.device | str,
    batch_size: int = 4096,
) -> dict[str, float]:
    """Mean policy loss (nats), top-1 accuracy and value MSE on ``rows``, with the true prompts."""
    compute = as_compute(compute)
    model.eval()
    loss_sum = correct = value_sq = 0.0
    for start in range(0, len(rows), batch_size):
        planes, own, opp, move, result, legal = batch_tensors(split, rows[start : start + batch_size], compute.device)
        with compute.autocast():
            logits, value = model(planes, own, opp, legal)
            loss_sum += float(policy_loss(logits, legal, move, reduction="sum"))
        correct += float((logits.masked_fill(~legal, float("-inf")).argmax(-1) == move).sum())
        if value is not None:
            value_sq += float(((value.float() - result) ** 2).sum())
    model.train()
    n = max(1, len(rows))
    return {"val_loss": loss_sum / n, "val_accuracy": correct / n, "val_value_mse": value_sq / n}


ACTIVE_UNITS_POSITIONS = 4096  # validation positions behind active_units.csv


@torch.no_grad()
def active_units(
    model: Simulator,
    split: dict[str, np.ndarray],
    rows: np.ndarray,
    vocabulary: dict[str, int],
    compute: Compute | torch.device | str,
) -> pd.DataFrame:
    """Fraction of active hidden units (positive pre-activation) per layer under each own prompt.

    Every position of ``rows`` is scored under each prompt of ``vocabulary`` in turn (the
    opponent's prompt stays the real one). Columns: prompt, layer (0 = first), fraction, positions.
    """
    compute = as_compute(compute)
    model.eval()
    planes, _, opponent, *_ = batch_tensors(split, rows, compute.device)
    frame = []
    for prompt, prompt_id in vocabulary.items():
        own = torch.full((len(rows),), prompt_id, dtype=torch.long, device=compute.device)
        with compute.autocast():
            fractions = model.active_fraction(planes, own, opponent)
        for layer, fraction in enumerate(fractions):
            frame.append({"prompt": prompt, "layer": layer, "fraction": fraction, "positions": len(rows)})
    return pd.DataFrame(frame, columns=["prompt", "layer", "fraction", "positions"])


def train_simulator(
    positions_dir: Path,
    out_dir: Path,
    network: NetworkConfig,
    train: TrainConfig,
    progress: bool = True,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train (or resume) one simulator; returns its summary (also written to ``out_dir/train.json``).

    Writes ``best.pt`` (lowest validation loss), ``last.pt`` (resumable), ``curves.csv`` and
    ``active_units.csv`` (:func:`active_units` of the kept model).
    ``stop_after`` ends the run early after that many steps *of this call* (for tests that
    simulate an interruption); a later call resumes from ``last.pt``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    compute = resolve_compute(train.device, train.precision)
    device = compute.device
    log.info("training on %s", compute.describe())
    torch.manual_seed(train.seed)
    train_split, val_split = load_split(positions_dir, "train"), load_split(positions_dir, "val")
    n_train, n_val = len(train_split["move"]), len(val_split["move"])
    if n_train == 0:
        raise ValueError(f"no training positions in {positions_dir}/train")
    val_rows = np.random.default_rng(train.seed).permutation(n_val)[: train.val_positions]
    # The prompt vocabulary travels with the weights: a checkpoint is usable on its own (UCI engine).
    vocabulary = json.loads((Path(positions_dir) / POSITIONS_META).read_text())["vocabulary"]
    if len(vocabulary) != network.num_prompts:
        raise ValueError(
            f"the network has {network.num_prompts} prompt embeddings but the positions' "
            f"vocabulary has {len(vocabulary)} tokens: {sorted(vocabulary)}"
        )

    model = Simulator(network).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, train.warmup_steps, train.steps)
    )
    sampler = torch.Generator().manual_seed(train.seed)
    step, best, curves = 0, float("inf"), []

    last_path, best_path = out_dir / SIMULATOR_FILES["last"], out_dir / SIMULATOR_FILES["best"]
    # last.pt carries the best checkpoint too: Snakemake deletes a job's declared outputs (best.pt)
    # before rerunning it, and a resumed run must still end with the best weights, whether or not
    # it improves on them after the resume. Checkpoints from before this carried no copy: not resumed.
    state = resumable_state(
        last_path,
        lambda s: s["network"] == network.to_dict() and s["train"] == asdict(train) and "best_checkpoint" in s,
        device,
    )
    best_state: dict[str, Any] | None = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        sampler.set_state(state["sampler_state"])
        torch.set_rng_state(state["torch_rng_state"])
        if "cuda_rng_state" in state and device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng_state"].cpu(), device)
        step, best, curves = int(state["step"]), float(state["best_val_loss"]), list(state["curves"])
        best_state = state["best_checkpoint"]
        log.info("resumed from %s at step %d", last_path, step)

    def snapshot() -> dict[str, Any]:
        # Copies, not references: the best checkpoint must not follow the weights as they train on.
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "sampler_state": sampler.get_state(),
            "torch_rng_state": torch.get_rng_state(),
            "step": step,
            "best_val_loss": best,
            "curves": curves,
            "network": network.to_dict(),
            "train": asdict(train),
            "vocabulary": vocabulary,
        }
        if device.type == "cuda":  # dropout masks on a GPU come from its own generator
            state["cuda_rng_state"] = torch.cuda.get_rng_state(device)
        return copy.deepcopy(state)

    bar = tqdm(
        total=train.steps, initial=step, unit="step", desc="training simulator", disable=not progress, mininterval=1.0
    )
    started, loader_seconds, steps_this_call, positions_seen = time.perf_counter(), 0.0, 0, 0
    model.train()
    running = []
    while step < train.steps and (stop_after is None or steps_this_call < stop_after):
        t0 = time.perf_counter()
        rows = torch.randint(n_train, (train.batch_size,), generator=sampler).numpy()
        planes, own, opp, move, result, legal = batch_tensors(train_split, rows, device)
        dropout = torch.rand((2, len(rows)), generator=sampler) < train.prompt_dropout
        own = own.masked_fill(dropout[0].to(device), 0)  # id 0 is the `none` prompt
        opp = opp.masked_fill(dropout[1].to(device), 0)
        loader_seconds += time.perf_counter() - t0
        with compute.autocast():
            logits, value = model(planes, own, opp, legal)
            loss = policy_loss(logits, legal, move)
            total = loss if value is None else loss + train.value_weight * torch.nn.functional.mse_loss(value, result)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        scheduler.step()
        step += 1
        steps_this_call += 1
        positions_seen += len(rows)
        running.append(float(loss.detach()))
        bar.update(1)
        if step % train.eval_every == 0 or step == train.steps:
            metrics = evaluate(model, val_split, val_rows, compute)
            curves.append(
                {"step": step, "train_loss": float(np.mean(running)), **metrics, "lr": scheduler.get_last_lr()[0]}
            )
            running = []
            bar.set_postfix(val_loss=f"{metrics['val_loss']:.3f}", acc=f"{metrics['val_accuracy']:.3f}", refresh=False)
            if metrics["val_loss"] < best:
                best = metrics["val_loss"]
                best_state = snapshot()
                save_checkpoint(best_state, best_path)
        if step % train.checkpoint_every == 0 or step == train.steps:
            save_checkpoint({**snapshot(), "best_checkpoint": best_state}, last_path)
            if step < train.steps:
                pause_point("train_simulator")  # a resumable checkpoint is on disk
    bar.close()
    if best_state is not None and not best_path.exists():
        save_checkpoint(best_state, best_path)  # deleted since it was written (a rerun of a finished job)
    elapsed = time.perf_counter() - started
    write_csv(pd.DataFrame(curves), out_dir / SIMULATOR_FILES["curves"], float_format="%.6f")
    if best_path.exists():
        # The diagnostic of the kept model: a prompt under which a layer is almost all off has
        # lost its gradients (later RL could not move that persona).
        best_model = Simulator(network).to(device)
        best_model.load_state_dict(load_checkpoint(best_path, map_location=device)["model"])
        write_csv(
            active_units(best_model, val_split, val_rows[:ACTIVE_UNITS_POSITIONS], vocabulary, compute),
            out_dir / SIMULATOR_FILES["active_units"],
            float_format="%.6f",
        )
    summary = {
        "steps": step,
        "finished": step >= train.steps,
        "best_val_loss": best,
        "device": str(device),
        "precision": compute.precision,
        "train_positions": n_train,
        "val_positions_scored": len(val_rows),
        "positions_per_second": positions_seen / elapsed if elapsed > 0 else None,
        "data_loading_share": loader_seconds / elapsed if elapsed > 0 else None,
        "network": network.to_dict(),
        "train": asdict(train),
    }
    write_text(out_dir / SIMULATOR_FILES["summary"], json.dumps(summary, indent=2) + "\n")
    return summary


def load_simulator(path: Path, device: Compute | str | torch.device = "cpu") -> Simulator:
    """A trained simulator from a checkpoint, in eval mode, on ``device`` (or ``compute.device``)."""
    return load_simulator_and_vocabulary(path, device)[0]


def load_simulator_and_vocabulary(
    path: Path, device: Compute | str | torch.device = "cpu"
) -> tuple[Simulator, dict[str, int]]:
    """A trained simulator (eval mode, on ``device``) and the prompt vocabulary it was trained with."""
    device = as_compute(device).device
    state = load_checkpoint(path, map_location=device)
    model = Simulator(NetworkConfig(**state["network"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), dict(state["vocabulary"])
