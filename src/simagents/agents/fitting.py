"""Fitting a network to policy and value targets: the one update step of RL fine-tuning and AZ.

Both agents produce the same kind of data: at some positions a target distribution over the
legal moves (RL: the KL-regularised improved policy; AZ: the search's visit counts), and at some
positions a game result for the side to move. :func:`fit_targets` minimises

    cross-entropy(target || pi_theta over legal moves) + value_weight * (v_theta - result)^2

by minibatch AdamW, each policy minibatch paired with a value minibatch of the same size.
Targets are held on the CPU; each minibatch moves to the ``compute`` device, where forward pass
and loss run under its autocast (:mod:`simagents.models.device`), the backward pass outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import chess
import numpy as np
import torch

from ..encoding import NUM_ACTIONS, encode_raw, legal_actions, raw_board, to_planes
from ..encoding.board import RawBoard
from ..models.device import Compute, as_compute
from ..models.network import Simulator, masked_log_probs


@dataclass
class PolicyValueTargets:
    """Training examples. Policy rows: a position (raw board), prompts, the legal action indices
    and the target probability of each. Value rows: a position, prompts, and the result for the
    side to move (+1 win, 0 draw, -1 loss)."""

    policy_raw: list[RawBoard] = field(default_factory=list)
    policy_own: list[str] = field(default_factory=list)
    policy_opp: list[str] = field(default_factory=list)
    policy_actions: list[np.ndarray] = field(default_factory=list)
    policy_probs: list[np.ndarray] = field(default_factory=list)
    value_raw: list[RawBoard] = field(default_factory=list)
    value_own: list[str] = field(default_factory=list)
    value_opp: list[str] = field(default_factory=list)
    value_result: list[float] = field(default_factory=list)

    def add_policy(self, board: chess.Board, own: str, opp: str, probs: np.ndarray) -> None:
        """``probs`` over ``legal_actions(board)``'s order."""
        actions = legal_actions(board)[0].astype(np.int64)
        if len(actions) != len(probs):
            raise ValueError(f"{len(probs)} target probabilities for {len(actions)} legal moves")
        self.policy_raw.append(raw_board(board))
        self.policy_own.append(own)
        self.policy_opp.append(opp)
        self.policy_actions.append(actions)
        self.policy_probs.append(np.asarray(probs, dtype=np.float64))

    def add_value(self, board: chess.Board, own: str, opp: str, result: float) -> None:
        self.value_raw.append(raw_board(board))
        self.value_own.append(own)
        self.value_opp.append(opp)
        self.value_result.append(float(result))

    def extend(self, other: PolicyValueTargets) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))

    def keep_last(self, policy_rows: int) -> None:
        """A replay buffer's eviction: keep the newest ``policy_rows`` policy rows and as many value rows."""
        for name in self.__dataclass_fields__:
            values = getattr(self, name)
            del values[: max(0, len(values) - policy_rows)]

    def to_state(self) -> dict[str, Any]:
        """The rows as tensors and plain lists, for a checkpoint that loads with ``weights_only=True``."""

        def raws(rows: list[RawBoard]) -> torch.Tensor | None:
            return torch.tensor(np.array(rows, dtype=np.uint64).view(np.int64)) if rows else None

        return {
            "policy_raw": raws(self.policy_raw),
            "value_raw": raws(self.value_raw),
            "policy_own": list(self.policy_own),
            "policy_opp": list(self.policy_opp),
            "value_own": list(self.value_own),
            "value_opp": list(self.value_opp),
            "value_result": list(self.value_result),
            "policy_actions": [torch.from_numpy(a) for a in self.policy_actions],
            "policy_probs": [torch.from_numpy(p) for p in self.policy_probs],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PolicyValueTargets:
        """The inverse of :meth:`to_state`."""

        def raws(tensor: torch.Tensor | None) -> list[RawBoard]:
            if tensor is None:
                return []
            return [
                cast(RawBoard, (*(int(v) for v in row[:11]), bool(row[11]))) for row in tensor.numpy().view(np.uint64)
            ]

        return cls(
            policy_raw=raws(state["policy_raw"]),
            policy_own=list(state["policy_own"]),
            policy_opp=list(state["policy_opp"]),
            policy_actions=[a.numpy() for a in state["policy_actions"]],
            policy_probs=[p.numpy() for p in state["policy_probs"]],
            value_raw=raws(state["value_raw"]),
            value_own=list(state["value_own"]),
            value_opp=list(state["value_opp"]),
            value_result=list(state["value_result"]),
        )


def fit_targets(
    model: Simulator,
    optimizer: torch.optim.Optimizer,
    targets: PolicyValueTargets,
    vocabulary: dict[str, int],
    *,
    epochs: int,
    batch_size: int,
    value_weight: float,
    generator: torch.Generator,
    compute: Compute | torch.device | str = "cpu",
) -> dict[str, float]:
    """``epochs`` passes over the policy rows; returns the mean policy and value losses.

    Dropout stays off (eval mode, gradients still flow): the targets were computed from the
    network's eval-mode outputs, so the fit must see the same network.
    """
    compute = as_compute(compute)
    device = compute.device
    n_policy, n_value = len(targets.policy_raw), len(targets.value_raw)
    if n_policy == 0:
        return {"policy_loss": float("nan"), "value_loss": float("nan")}

    def ids(tokens: Sequence[str]) -> torch.Tensor:
        return torch.tensor([vocabulary[t] for t in tokens], dtype=torch.long)

    policy_planes = torch.from_numpy(to_planes(encode_raw(targets.policy_raw)))
    p_own, p_opp = ids(targets.policy_own), ids(targets.policy_opp)
    dense = torch.zeros(n_policy, NUM_ACTIONS)
    legal = torch.zeros(n_policy, NUM_ACTIONS, dtype=torch.bool)
    for row, (actions, probs) in enumerate(zip(targets.policy_actions, targets.policy_probs)):
        index = torch.from_numpy(actions)
        dense[row, index] = torch.from_numpy(probs.astype(np.float32))
        legal[row, index] = True
    if n_value:
        value_planes = torch.from_numpy(to_planes(encode_raw(targets.value_raw)))
        v_own, v_opp = ids(targets.value_own), ids(targets.value_opp)
        v_result = torch.tensor(targets.value_result, dtype=torch.float32)
    model.eval()
    policy_losses, value_losses = [], []
    for _ in range(epochs):
        order = torch.randperm(n_policy, generator=generator)
        for start in range(0, n_policy, batch_size):
            rows = order[start : start + batch_size]
            with compute.autocast():
                legal_rows = legal[rows].to(device)
                logits, _ = model(
                    policy_planes[rows].to(device), p_own[rows].to(device), p_opp[rows].to(device), legal_rows
                )
                log_probs = masked_log_probs(logits, legal_rows)
                target = dense[rows].to(device)
                policy_loss = -(target * log_probs.masked_fill(target == 0, 0.0)).sum(-1).mean()
                loss = policy_loss
                if n_value and value_weight > 0:
                    value_rows = torch.randint(n_value, (len(rows),), generator=generator)
                    value = model.value_only(
                        value_planes[value_rows].to(device), v_own[value_rows].to(device), v_opp[value_rows].to(device)
                    )
                    value_loss = torch.nn.functional.mse_loss(value, v_result[value_rows].to(device))
                    loss = loss + value_weight * value_loss
                    value_losses.append(float(value_loss.detach()))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            policy_losses.append(float(policy_loss.detach()))
    return {
        "policy_loss": float(np.mean(policy_losses)),
        "value_loss": float(np.mean(value_losses)) if value_losses else float("nan"),
    }


def fit_values(
    model: Simulator,
    optimizer: torch.optim.Optimizer,
    targets: PolicyValueTargets,
    vocabulary: dict[str, int],
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    compute: Compute | torch.device | str = "cpu",
    prompt: str | None = None,
) -> float:
    """``epochs`` passes of squared-error regression of the value head on the value rows alone
    (a critic); returns the mean loss (NaN without value rows). ``prompt``: if given, every row
    is read under this prompt for both sides instead of its own (a prompt-blind critic)."""
    compute = as_compute(compute)
    device = compute.device
    n_value = len(targets.value_raw)
    if n_value == 0:
        return float("nan")
    planes = torch.from_numpy(to_planes(encode_raw(targets.value_raw)))
    own_tokens = targets.value_own if prompt is None else [prompt] * n_value
    opp_tokens = targets.value_opp if prompt is None else [prompt] * n_value
    own = torch.tensor([vocabulary[t] for t in own_tokens], dtype=torch.long)
    opp = torch.tensor([vocabulary[t] for t in opp_tokens], dtype=torch.long)
    result = torch.tensor(targets.value_result, dtype=torch.float32)
    model.eval()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(n_value, generator=generator)
        for start in range(0, n_value, batch_size):
            rows = order[start : start + batch_size]
            with compute.autocast():
                value = model.value_only(planes[rows].to(device), own[rows].to(device), opp[rows].to(device))
                loss = torch.nn.functional.mse_loss(value, result[rows].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    return float(np.mean(losses))
