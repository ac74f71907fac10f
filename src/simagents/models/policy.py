"""The simulator as a :class:`~simagents.policies.Policy`: prompted, masked, with a temperature."""

from __future__ import annotations

from typing import Mapping, Sequence

import chess
import numpy as np
import torch

from ..encoding import encode_boards, legal_actions, to_planes
from ..policies import MoveDistribution
from ..prompts import NONE_TOKEN
from .network import Simulator


class SimulatorPolicy:
    """p(move | position, prompts) of a trained simulator, over each position's legal moves.

    ``temperature`` divides the logits (1 = the model's own distribution; ``argmax=True`` puts all
    mass on the most likely legal move). Prompts are tokens of the run's vocabulary; an unknown
    token is an error (it would silently mean nothing to the network).
    """

    def __init__(self, model: Simulator, vocabulary: Mapping[str, int], temperature: float = 1.0,
                 argmax: bool = False, name: str = "simulator", device: str | torch.device = "cpu") -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.model = model.to(device).eval()
        self.vocabulary = dict(vocabulary)
        self.temperature = temperature
        self.argmax = argmax
        self.name = name
        self.device = torch.device(device)

    def _ids(self, prompts: Sequence[str]) -> torch.Tensor:
        try:
            return torch.tensor([self.vocabulary[p] for p in prompts], dtype=torch.long, device=self.device)
        except KeyError as error:
            raise ValueError(f"unknown prompt {error.args[0]!r}; known prompts: {sorted(self.vocabulary)}") from None

    @torch.no_grad()
    def log_probs(self, boards: Sequence[chess.Board], own_prompts: Sequence[str],
                  opponent_prompts: Sequence[str]) -> list[tuple[list[chess.Move], np.ndarray]]:
        """Per board: its legal moves and their log-probabilities (float64, at this temperature)."""
        planes = torch.from_numpy(to_planes(encode_boards(boards))).to(self.device)
        logits, _ = self.model(planes, self._ids(own_prompts), self._ids(opponent_prompts))
        logits = (logits / self.temperature).double().cpu().numpy()
        out = []
        for board, row in zip(boards, logits):
            actions, moves = legal_actions(board)
            legal = row[actions]
            out.append((moves, legal - np.logaddexp.reduce(legal)))
        return out

    def distributions(self, boards: Sequence[chess.Board], own_prompts: Sequence[str],
                      opponent_prompts: Sequence[str]) -> list[MoveDistribution]:
        result = []
        for moves, log_p in self.log_probs(boards, own_prompts, opponent_prompts):
            if self.argmax:
                probs = np.zeros(len(moves))
                probs[int(np.argmax(log_p))] = 1.0
            else:
                probs = np.exp(log_p)
                probs /= probs.sum()
            result.append(MoveDistribution(tuple(moves), probs))
        return result

    def close(self) -> None:
        pass


__all__ = ["NONE_TOKEN", "SimulatorPolicy"]
