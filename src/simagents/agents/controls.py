"""The controls: policies whose answer to every test is known in advance.

Every test of the claims ledger is run on a positive control, a policy that must pass it, and a
negative control, one that must fail it; a test its controls do not separate cannot decide a
claim (:mod:`simagents.report.claims`). The controls are ordinary policies, measured by the same
metric battery, agent metrics and ladder as every agent:

* ``oracle``: under a persona's prompt it plays that persona's exact distribution (the
  population's own player, :func:`~simagents.policies.persona_policy`); under ``none`` the data's
  mixture of personas, weighted by their share of the training positions (what a perfect
  imitation with prompt dropout would learn). The ideal simulator of the population.
* ``prompt_blind``: the simulator under ``none`` whatever the prompt: a simulator that ignores
  who it is told is playing.
* ``strong_engine``: Stockfish at full strength at the action values' node budget, playing its
  best move: an agent that tries to win, ignoring the prompt.
* the uniform random mover (``random_mover`` in the metric battery): plays without a goal.

On the evaluation positions the oracle reads its distributions from the truth table
(:mod:`simagents.evaluation.truth`) where it has them, which the same constructor computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import chess
import numpy as np

from ..config import EngineConfig, Persona
from ..policies import MoveDistribution, Policy, StockfishPolicy, persona_policy
from ..prompts import NONE_TOKEN

ORACLE, PROMPT_BLIND, STRONG_ENGINE, UNIFORM = "oracle", "prompt_blind", "strong_engine", "random_mover"


class OraclePolicy:
    """Each persona's exact distribution under its prompt; the training mixture under ``none``.

    ``weights``: persona -> its share of the training positions (normalised here).
    ``known``: optional precomputed distributions, FEN -> persona -> move -> probability (the
    truth table of the evaluation positions), used instead of a search where present.
    """

    def __init__(
        self,
        personas: Sequence[Persona],
        engine: EngineConfig,
        engine_path: Path | None,
        nodes_per_move: int,
        weights: Mapping[str, float],
        known: Mapping[str, Mapping[str, Mapping[chess.Move, float]]] | None = None,
        name: str = ORACLE,
    ) -> None:
        self.name = name
        self.personas = {p.name: p for p in personas}
        self._engine, self._engine_path, self._nodes = engine, engine_path, nodes_per_move
        self.players: dict[str, Policy] = {}  # built on first use: a known position needs no engine
        missing = [p for p in self.personas if p not in weights]
        if missing:
            raise ValueError(f"the oracle's mixture has no weight for the personas {missing}")
        total = sum(float(weights[p]) for p in self.personas)
        if total <= 0:
            raise ValueError("the oracle's mixture weights sum to zero")
        self.weights = {p: float(weights[p]) / total for p in self.personas}
        self.known = known or {}

    def _persona(self, board: chess.Board, persona: str) -> dict[chess.Move, float]:
        stored = self.known.get(board.fen(), {}).get(persona)
        if stored is not None:
            return dict(stored)
        if persona not in self.players:
            self.players[persona] = persona_policy(self.personas[persona], self._engine, self._engine_path, self._nodes)
        dist = self.players[persona].distributions([board], [persona], [NONE_TOKEN])[0]
        return dict(zip(dist.moves, (float(p) for p in dist.probs)))

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        out = []
        for board, prompt in zip(boards, own_prompts):
            moves = tuple(board.legal_moves)
            if prompt == NONE_TOKEN:
                mixed = dict.fromkeys(moves, 0.0)
                for persona, weight in self.weights.items():
                    for move, p in self._persona(board, persona).items():
                        mixed[move] += weight * p
                probs = np.array([mixed[m] for m in moves])
            elif prompt in self.personas:
                chosen = self._persona(board, prompt)
                probs = np.array([chosen.get(m, 0.0) for m in moves])
            else:
                raise ValueError(f"the oracle knows the prompts {sorted(self.personas)} and none, not {prompt!r}")
            out.append(MoveDistribution(moves, probs / probs.sum()))
        return out

    def close(self) -> None:
        for player in self.players.values():
            player.close()


class PromptBlind:
    """``policy`` under ``none`` whatever prompts it is given (its opponent's prompt too)."""

    def __init__(self, policy: Policy, name: str = PROMPT_BLIND) -> None:
        self.policy, self.name = policy, name

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        none = [NONE_TOKEN] * len(boards)
        return self.policy.distributions(boards, none, none)

    def close(self) -> None:
        self.policy.close()


class TablePolicy:
    """Distributions known in advance for some positions (FEN -> move -> probability); any other
    position is an error. The strong engine on the evaluation positions is its action values'
    best move (:func:`best_moves`): the same engine and node budget, no second search."""

    def __init__(self, name: str, table: Mapping[str, Mapping[chess.Move, float]]) -> None:
        self.name, self.table = name, table

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        out = []
        for board in boards:
            known = self.table.get(board.fen())
            if known is None:
                raise ValueError(f"{self.name} knows no distribution for {board.fen()}")
            moves = tuple(board.legal_moves)
            out.append(MoveDistribution(moves, np.array([known.get(m, 0.0) for m in moves])))
        return out

    def close(self) -> None:
        pass


def best_moves(fens: Sequence[str], action_values_moves: Mapping[int, str]) -> dict[str, dict[chess.Move, float]]:
    """FEN -> point mass on the best move, from the action values (position id -> best move, UCI)."""
    return {fens[i]: {chess.Move.from_uci(uci): 1.0} for i, uci in action_values_moves.items()}


def strong_engine(engine: EngineConfig, engine_path: Path, nodes: int, name: str = STRONG_ENGINE) -> StockfishPolicy:
    """Stockfish at full strength with ``nodes`` per move: a point mass on its best move."""
    import functools

    from ..stockfish import open_engine

    start = functools.partial(open_engine, engine_path, engine.threads, engine.hash_mb)
    return StockfishPolicy(start, name, None, nodes)


def training_mixture(summary: Mapping[str, object]) -> dict[str, float]:
    """Persona -> share of the training positions, from a data summary (``positions.train``)."""
    positions = summary.get("positions")
    if not isinstance(positions, Mapping) or "train" not in positions:
        raise ValueError("the data summary has no training positions by prompt")
    counts = positions["train"]["positions_by_prompt"]
    total = sum(counts.values())
    return {persona: count / total for persona, count in counts.items()}
