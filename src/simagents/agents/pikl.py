"""Search on the simulator, no training ("pikl", after piKL by Jacob et al. 2022).

pi(a) is proportional to p_sim(a | prompts) * exp(Q(a) / lambda), with Q(a) the simulator's own
one-ply value of the move (its value head after the move, exact at mates and draws). This is the
maximiser of ``E_pi[Q] - lambda * KL(pi || p_sim)`` at each position: the same trade-off as RL
fine-tuning with ``beta = lambda``, solved at decision time instead of by training. Small lambda
plays for the value head; large lambda plays like the simulator under the prompt.

With a separate ``critic`` the prior stays the simulator's and Q comes from the critic's value
head: the fixed point of RL fine-tuning (:mod:`simagents.agents.rlft`), which its final
evaluation plays to show how far the learner's network is from the policy it is fitted to.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess
import numpy as np

from ..models.simulator_policy import SimulatorPolicy
from ..policies import MoveDistribution


class PiKLPolicy:
    """A :class:`~simagents.policies.Policy`: the simulator tilted towards its own values."""

    def __init__(
        self,
        simulator: SimulatorPolicy,
        lam: float,
        name: str | None = None,
        critic: SimulatorPolicy | None = None,
        critic_prompt: str | None = None,
    ) -> None:
        """``critic_prompt``: if given, the critic reads this prompt for both sides whatever the
        game's (a prompt-blind critic, ``none``); the prior always reads the game's prompts."""
        if lam <= 0:
            raise ValueError(f"lambda must be positive, got {lam!r}")
        self.simulator = simulator
        self.critic = critic if critic is not None else simulator  # whose value head gives Q
        self.critic_prompt = critic_prompt
        self.lam = lam
        self.name = name or f"pikl_lambda{lam:g}"

    def log_probs(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[tuple[list[chess.Move], np.ndarray]]:
        """Per board: its legal moves and their log-probabilities under the tilted policy."""
        prior = self.simulator.log_probs(boards, own_prompts, opponent_prompts)
        if self.critic_prompt is None:
            q_values = self.critic.one_ply_values(boards, own_prompts, opponent_prompts)
        else:
            blind = [self.critic_prompt] * len(boards)
            q_values = self.critic.one_ply_values(boards, blind, blind)
        out = []
        for (moves, log_p), q in zip(prior, q_values):
            tilted = log_p + q / self.lam
            out.append((moves, tilted - np.logaddexp.reduce(tilted)))
        return out

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        result = []
        for moves, log_p in self.log_probs(boards, own_prompts, opponent_prompts):
            probs = np.exp(log_p)
            result.append(MoveDistribution(tuple(moves), probs / probs.sum()))
        return result

    def close(self) -> None:
        self.simulator.close()
