"""The Policy protocol and the simple players: uniform random, greedy material, Stockfish.

Every player in the project implements one interface: given a batch of positions and the prompts
of both sides, return a probability distribution over each position's legal moves. The game
runner (:mod:`simagents.games`) samples from those distributions with each game's own seeded
generator, so a game's moves do not depend on how games are batched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import chess
import chess.engine
import numpy as np

#: Material values in pawns, the usual 1/3/3/5/9 (king not capturable).
PIECE_VALUES = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9, chess.KING: 0}


@dataclass(frozen=True)
class MoveDistribution:
    """A distribution over the legal moves of one position: ``probs[i]`` is P(``moves[i]``)."""

    moves: tuple[chess.Move, ...]
    probs: np.ndarray  # float64 [len(moves)], sums to 1

    def sample(self, rng: np.random.Generator) -> chess.Move:
        if len(self.moves) == 1:
            return self.moves[0]
        return self.moves[int(rng.choice(len(self.moves), p=self.probs))]

    @staticmethod
    def uniform(moves: Sequence[chess.Move]) -> "MoveDistribution":
        n = len(moves)
        return MoveDistribution(tuple(moves), np.full(n, 1.0 / n))

    @staticmethod
    def point_mass(moves: Sequence[chess.Move], chosen: chess.Move) -> "MoveDistribution":
        probs = np.array([1.0 if m == chosen else 0.0 for m in moves])
        if probs.sum() != 1.0:
            raise ValueError(f"move {chosen.uci()} is not among the legal moves")
        return MoveDistribution(tuple(moves), probs)


class Policy(Protocol):
    """A player: distributions over legal moves for a batch of positions.

    ``own_prompts[i]`` is the prompt of the side to move in ``boards[i]``, ``opponent_prompts[i]``
    the other side's. Policies that ignore prompts (the reference agents) accept and ignore them.
    Boards are never modified.
    """

    name: str

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]: ...

    def close(self) -> None: ...


class RandomMover:
    """A non-agent: every legal move with equal probability."""

    def __init__(self, name: str = "random") -> None:
        self.name = name

    def distributions(self, boards: Sequence[chess.Board], own_prompts: Sequence[str],
                      opponent_prompts: Sequence[str]) -> list[MoveDistribution]:
        return [MoveDistribution.uniform(list(b.legal_moves)) for b in boards]

    def close(self) -> None:
        pass


def material_gain(board: chess.Board, move: chess.Move) -> int:
    """Material the mover wins at once with ``move``, in pawns (captures plus promotion gain)."""
    gain = 0
    if board.is_en_passant(move):
        gain += PIECE_VALUES[chess.PAWN]
    else:
        captured = board.piece_type_at(move.to_square)
        if captured is not None:
            gain += PIECE_VALUES[captured]
    if move.promotion is not None:
        gain += PIECE_VALUES[move.promotion] - PIECE_VALUES[chess.PAWN]
    return gain


class GreedyMaterial:
    """An agent with a different, simple goal: grab the most material now, uniform among ties.

    It looks one ply ahead only and ignores checkmate and recaptures: it wants material, not wins.
    """

    def __init__(self, name: str = "greedy") -> None:
        self.name = name

    def distributions(self, boards: Sequence[chess.Board], own_prompts: Sequence[str],
                      opponent_prompts: Sequence[str]) -> list[MoveDistribution]:
        result = []
        for board in boards:
            moves = list(board.legal_moves)
            gains = np.array([material_gain(board, m) for m in moves])
            best = gains == gains.max()
            result.append(MoveDistribution(tuple(moves), best / best.sum()))
        return result

    def close(self) -> None:
        pass


class StockfishPolicy:
    """Stockfish at a given strength: its chosen move as a point mass.

    Strength is limited with ``UCI_LimitStrength``/``UCI_Elo`` and a node budget per move.
    Stockfish's strength limiting draws its random choice from a generator seeded by the clock,
    so its moves are not reproducible run to run; the rest of a game (pairings, openings, the
    other players) is.
    """

    def __init__(self, engine: chess.engine.SimpleEngine, name: str, elo: int | None, nodes_per_move: int) -> None:
        self.name = name
        self.engine = engine
        self.limit = chess.engine.Limit(nodes=nodes_per_move)
        if elo is not None:
            engine.configure({"UCI_LimitStrength": True, "UCI_Elo": elo})

    def distributions(self, boards: Sequence[chess.Board], own_prompts: Sequence[str],
                      opponent_prompts: Sequence[str]) -> list[MoveDistribution]:
        result = []
        for board in boards:
            moves = list(board.legal_moves)
            chosen = self.engine.play(board, self.limit).move
            if chosen is None:
                raise RuntimeError(f"{self.name}: engine returned no move for {board.fen()}")
            result.append(MoveDistribution.point_mass(moves, chosen))
        return result

    def close(self) -> None:
        self.engine.quit()
