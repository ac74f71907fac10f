"""The exact KL-regularised frontier, played: the simulator tilted by Stockfish's action values.

At each move the agent plays pi*_beta(a) proportional to p_sim(a | prompts) exp(Q(a) / beta), the
closed-form optimum of E_pi[Q] - beta KL(pi || p_sim) over the legal moves, with Q(a) Stockfish's
win chance of move ``a`` (mover's point of view, in [-1, 1]; :mod:`simagents.evaluation.win_chances`)
from one MultiPV search over every legal move at ``nodes`` nodes (the search of the action-value
stage, :func:`simagents.evaluation.action_values.score_moves`). The evaluation stage computes the
same policy on the evaluation positions from the stored action values
(:mod:`simagents.evaluation.frontier`); played in the ladder, the frontier gets Elo ratings too.

Q is a "reward model" for winning, as a preference model is for an assistant: the agent is what
RL to win would make of the simulator if it reached its optimum, with no RL noise. Large beta
plays like the simulator under the prompt; small beta plays Stockfish's best move at ``nodes``.

Every search starts from a cleared hash (``ucinewgame``) with one thread, so a position's Q, and
the agent's distribution, do not depend on what the engine searched before. An engine that dies
is restarted once and the position searched again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import chess
import chess.engine
import numpy as np

from ..evaluation.action_values import score_moves
from ..evaluation.frontier import tilt
from ..evaluation.win_chances import win_chances
from ..models.simulator_policy import SimulatorPolicy
from ..policies import MoveDistribution
from ..stockfish import RestartingEngine
from .roster import frontier_name


class FrontierPolicy:
    """A :class:`~simagents.policies.Policy`: pi*_beta = p_sim exp(Q / beta), normalised, per board."""

    def __init__(
        self,
        simulator: SimulatorPolicy,
        beta: float,
        open_engine: Callable[[], chess.engine.SimpleEngine],
        nodes: int,
        name: str | None = None,
    ) -> None:
        if not beta > 0:
            raise ValueError(f"beta must be positive, got {beta!r}")
        if nodes < 1:
            raise ValueError(f"the node budget must be positive, got {nodes!r}")
        self.simulator = simulator
        self.beta = beta
        self.nodes = nodes
        self.name = name or frontier_name(beta)
        self._session = RestartingEngine(open_engine, self.name)

    @property
    def engine(self) -> chess.engine.SimpleEngine:
        return self._session.engine

    @property
    def restarts(self) -> int:
        return self._session.restarts

    def action_values(self, board: chess.Board, moves: Sequence[chess.Move]) -> np.ndarray:
        """Q of each of ``moves`` (all the legal moves of ``board``): Stockfish's win chance after
        the move, mover's point of view, in [-1, 1]."""
        scores, _ = self._session.search(
            lambda engine: score_moves(engine, board, self.nodes), f"scoring {board.fen()}"
        )
        centipawns = [scores[m].score() for m in moves]  # None under a mate
        cp = np.array([np.nan if c is None else float(c) for c in centipawns])
        mate = np.array([scores[m].mate() or 0 for m in moves], dtype=np.int64)
        return win_chances(cp, mate)

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        prior = self.simulator.distributions(boards, own_prompts, opponent_prompts)  # one batched network call
        out = []
        for board, dist in zip(boards, prior):
            q_values = self.action_values(board, dist.moves)
            out.append(MoveDistribution(dist.moves, tilt(np.asarray(dist.probs, np.float64), q_values, self.beta)))
        return out

    def close(self) -> None:
        self._session.close()
        self.simulator.close()
