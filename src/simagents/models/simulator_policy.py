"""The simulator as a :class:`~simagents.policies.Policy`: prompted, masked, with a temperature.

Every network call runs on the policy's :class:`~simagents.models.device.Compute` (device and
autocast precision); boards are encoded on the CPU and the results come back as float64 NumPy
arrays, so callers (the game runner, search, the metric battery) never see a device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import chess
import numpy as np
import torch

from ..encoding import encode_boards, encode_raw, legal_actions, padded_legal_actions, raw_board, to_planes
from ..encoding.board import RawBoard
from ..games import terminal_value
from ..policies import MoveDistribution
from ..prompts import NONE_TOKEN
from .device import Compute, as_compute
from .network import Simulator


class SimulatorPolicy:
    """p(move | position, prompts) of a trained simulator, over each position's legal moves.

    ``temperature`` divides the logits (1 = the model's own distribution; ``argmax=True`` puts all
    mass on the most likely legal move). Prompts are tokens of the run's vocabulary; an unknown
    token is an error (it would silently mean nothing to the network).

    ``compute``: where the network runs and in what precision (a
    :class:`~simagents.models.device.Compute`, or a device for float32 there; default the CPU).
    The model is moved there.
    """

    def __init__(
        self,
        model: Simulator,
        vocabulary: Mapping[str, int],
        temperature: float = 1.0,
        argmax: bool = False,
        name: str = "simulator",
        compute: Compute | str | torch.device | None = None,
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.compute = as_compute(compute)
        self.device = self.compute.device
        self.model = model.to(self.device).eval()
        self.vocabulary = dict(vocabulary)
        self.temperature = temperature
        self.argmax = argmax
        self.name = name

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        *,
        temperature: float = 1.0,
        argmax: bool = False,
        name: str | None = None,
        compute: Compute | str | torch.device | None = None,
    ) -> SimulatorPolicy:
        """The simulator of a checkpoint (``best.pt``, or an RL learner's ``final.pt``) as a policy;
        ``name`` defaults to the checkpoint's folder name (``seed0``)."""
        from .train import load_simulator_and_vocabulary

        compute = as_compute(compute)
        model, vocabulary = load_simulator_and_vocabulary(Path(path), compute)
        return cls(model, vocabulary, temperature, argmax, name or Path(path).parent.name, compute)

    def _ids(self, prompts: Sequence[str]) -> torch.Tensor:
        try:
            return torch.tensor([self.vocabulary[p] for p in prompts], dtype=torch.long, device=self.device)
        except KeyError as error:
            raise ValueError(f"unknown prompt {error.args[0]!r}; known prompts: {sorted(self.vocabulary)}") from None

    @torch.no_grad()
    def _log_prob_table(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> tuple[list[list[chess.Move]], np.ndarray, np.ndarray]:
        """One network call for all boards: the moves per board, their count ``[n]`` and the
        log-probabilities, float64 ``[n, width]`` (row ``i``: ``boards[i]``'s legal moves in
        :func:`~simagents.encoding.legal_actions` order, then ``-inf`` padding)."""
        actions, counts, moves = padded_legal_actions(boards)
        planes = torch.from_numpy(to_planes(encode_boards(boards))).to(self.device)
        with self.compute.autocast():
            logits = self.model.action_logits(
                planes, self._ids(own_prompts), self._ids(opponent_prompts), torch.from_numpy(actions).to(self.device)
            )
        logits = (logits.float() / self.temperature).double().cpu()
        padding = torch.from_numpy(np.arange(actions.shape[1]) >= counts[:, None])
        log_p = torch.log_softmax(logits.masked_fill(padding, float("-inf")), dim=1).numpy()
        return moves, counts, log_p

    def log_probs(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[tuple[list[chess.Move], np.ndarray]]:
        """Per board: its legal moves and their log-probabilities (float64, at this temperature)."""
        moves, counts, log_p = self._log_prob_table(boards, own_prompts, opponent_prompts)
        return [(board_moves, row[:count]) for board_moves, row, count in zip(moves, log_p, counts)]

    @torch.no_grad()
    def priors_and_values(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[tuple[list[chess.Move], np.ndarray, float]]:
        """Per board, one network call for all: legal moves, their probabilities (this
        temperature), and the value head's expected result for the side to move (the shape a
        search evaluator returns, :class:`simagents.agents.mcts.Evaluator`)."""
        actions, counts, moves = padded_legal_actions(boards)
        planes = torch.from_numpy(to_planes(encode_boards(boards))).to(self.device)
        with self.compute.autocast():
            logits, value = self.model.action_logits_and_value(
                planes, self._ids(own_prompts), self._ids(opponent_prompts), torch.from_numpy(actions).to(self.device)
            )
        if value is None:
            raise ValueError(f"{self.name}: the network has no value head (simulator.value_head: false)")
        scaled = (logits.float() / self.temperature).double().cpu().numpy()
        values = value.double().cpu().numpy()
        out = []
        for row, count, board_moves, v in zip(scaled, counts, moves, values):
            legal = row[:count]
            probs = np.exp(legal - legal.max())
            out.append((board_moves, probs / probs.sum(), float(v)))
        return out

    @torch.no_grad()
    def values(
        self,
        boards: Sequence[chess.Board],
        own_prompts: Sequence[str],
        opponent_prompts: Sequence[str],
        batch_size: int = 4096,
    ) -> np.ndarray:
        """The value head's expected result for the side to move, float64 ``[len(boards)]`` in [-1, 1]."""
        return self._values_of_raw([raw_board(b) for b in boards], own_prompts, opponent_prompts, batch_size)

    @torch.no_grad()
    def _values_of_raw(
        self, raws: Sequence[RawBoard], own_prompts: Sequence[str], opponent_prompts: Sequence[str], batch_size: int
    ) -> np.ndarray:
        if self.model.value is None:
            raise ValueError(
                f"{self.name}: the network has no value head (simulator.value_head: false); search and RL need one"
            )
        out = np.zeros(len(raws), dtype=np.float64)
        own_ids, opp_ids = self._ids(own_prompts), self._ids(opponent_prompts)
        for start in range(0, len(raws), batch_size):
            stop = start + batch_size
            planes = torch.from_numpy(to_planes(encode_raw(raws[start:stop]))).to(self.device)
            with self.compute.autocast():
                value = self.model.value_only(planes, own_ids[start:stop], opp_ids[start:stop])
            out[start:stop] = value.double().cpu().numpy()
        return out

    @torch.no_grad()
    def one_ply_values(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[np.ndarray]:
        """Q of every legal move (in :func:`legal_actions` order) for the side to move, in [-1, 1].

        Q(a) is minus the value head's value of the position after ``a`` for the opponent (who
        moves there, with the prompts swapped); a move that ends the game gets its exact value
        (+1 for a mate, 0 for a draw). One batched network call covers every child of every board.
        """
        raws, child_own, child_opp, exact, owners = [], [], [], [], []
        for index, (board, own, opp) in enumerate(zip(boards, own_prompts, opponent_prompts)):
            work = board.copy()  # keeps the move stack: repetitions are terminal
            _, moves = legal_actions(work)
            q = np.zeros(len(moves))
            for m, move in enumerate(moves):
                work.push(move)
                value = terminal_value(work)
                if value is None:
                    raws.append(raw_board(work))
                    child_own.append(opp)
                    child_opp.append(own)
                    owners.append((index, m))
                else:
                    q[m] = -value
                work.pop()
            exact.append(q)
        if raws:
            child_values = self._values_of_raw(raws, child_own, child_opp, batch_size=4096)
            for (index, m), value in zip(owners, child_values):
                exact[index][m] = -value
        return exact

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        moves, counts, log_p = self._log_prob_table(boards, own_prompts, opponent_prompts)
        if self.argmax:
            probs = np.zeros_like(log_p)
            probs[np.arange(len(counts)), np.argmax(log_p, axis=1)] = 1.0
        else:
            probs = np.exp(log_p)  # padding: exp(-inf) = 0
            probs /= probs.sum(axis=1, keepdims=True)
        return [
            MoveDistribution(tuple(board_moves), row[:count]) for board_moves, row, count in zip(moves, probs, counts)
        ]

    def close(self) -> None:
        pass


__all__ = ["NONE_TOKEN", "SimulatorPolicy"]
