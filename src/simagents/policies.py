"""The Policy protocol and the simple players: uniform random, greedy material, Stockfish.

Every player in the project implements one interface: given a batch of positions and the prompts
of both sides, return a probability distribution over each position's legal moves. The game
runner (:mod:`simagents.games`) samples from those distributions with each game's own seeded
generator, so a game's moves do not depend on how games are batched.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import chess
import chess.engine
import numpy as np

from .config import EngineConfig, Persona
from .stockfish import RestartingEngine, open_engine

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
        # What rng.choice(n, p=probs) does (one uniform draw, the first cumulative probability
        # above it), without its argument checks: the same move for the same generator state, at
        # a third of the cost (this runs every ply of every game).
        cumulative = np.cumsum(self.probs)
        cumulative /= cumulative[-1]
        return self.moves[int(cumulative.searchsorted(rng.random(), side="right"))]

    @staticmethod
    def uniform(moves: Sequence[chess.Move]) -> MoveDistribution:
        n = len(moves)
        return MoveDistribution(tuple(moves), np.full(n, 1.0 / n))

    @staticmethod
    def point_mass(moves: Sequence[chess.Move], chosen: chess.Move) -> MoveDistribution:
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

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
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

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        result = []
        for board in boards:
            moves = list(board.legal_moves)
            gains = np.array([material_gain(board, m) for m in moves])
            best = gains == gains.max()
            result.append(MoveDistribution(tuple(moves), best / best.sum()))
        return result

    def close(self) -> None:
        pass


#: Stockfish 15.1 weakens its play by searching four lines (MultiPV) and adding a random push to
#: each line's score before taking the best; these are that mechanism's constants.
SKILL_MULTIPV = 4
#: The most the random term can add, in centipawns (Stockfish: one pawn).
SKILL_MAX_DELTA_CP = 100
#: Mate scores as centipawns when ranking lines (Stockfish's VALUE_MATE order of magnitude).
MATE_SCORE_CP = 32000


@dataclass(frozen=True)
class SkillLevel:
    """Stockfish's strength limit (``UCI_Elo``), re-implemented with an explicit random source.

    Stockfish 15.1 maps a rating to a skill level ``level = clamp(((elo - 1346.6) / 143.4) **
    (1 / 0.806), 0, 20)``, searches to depth ``1 + int(level)`` with four principal variations and
    picks the line maximising ``score_i + int((weakness * (top - score_i) + delta * u_i) / 128)``
    with ``weakness = 120 - 2 * level``, ``delta = min(top - score_4, one pawn)`` and ``u_i``
    uniform on ``{0, ..., int(weakness) - 1}`` (later lines win ties). Inside the engine ``u_i``
    comes from a generator seeded by the clock, which no UCI option controls, so its moves cannot
    be reproduced. Here the same rule is turned into the exact distribution over the (at most four)
    lines' first moves (:meth:`move_probabilities`); the game runner samples it with each game's
    seeded generator, so persona games are reproducible and the persona's move distribution is
    known, not only sampled. Scores are centipawns from the mover's point of view.
    """

    level: float

    @staticmethod
    def from_elo(elo: int) -> SkillLevel:
        return SkillLevel(min(max((elo - 1346.6) / 143.4, 0.0) ** (1 / 0.806), 20.0))

    @property
    def limited(self) -> bool:
        """Level 20 is full strength: the engine's best move, no weakening."""
        return self.level < 20.0

    @property
    def depth(self) -> int:
        """The search depth at which the weakened move is picked (plies)."""
        return 1 + int(self.level)

    @property
    def weakness(self) -> float:
        return 120.0 - 2.0 * self.level

    def move_probabilities(self, scores_cp: Sequence[int]) -> np.ndarray:
        """P(line i is played) for lines sorted best first: ``scores_cp`` int [k], 1 <= k <= 4.

        Exact: for each value the pushed score of line i can take, the chance that every earlier
        line stays at or below it and every later line stays strictly below it (later lines win
        ties, as in Stockfish's loop), summed over the ``int(weakness)`` equally likely draws.
        """
        scores = np.asarray(scores_cp, dtype=np.int64)
        k = len(scores)
        if k == 0:
            raise ValueError("no lines to choose from")
        if np.any(np.diff(scores) > 0):
            raise ValueError(f"lines must be sorted best first, got scores {scores.tolist()}")
        draws = np.arange(int(self.weakness), dtype=np.float64)  # u in {0, ..., int(weakness) - 1}
        top = int(scores[0])
        delta = min(top - int(scores[-1]), SKILL_MAX_DELTA_CP)
        # pushed[i, u]: line i's score plus its push for draw u (Stockfish truncates toward zero;
        # every push is non-negative).
        pushed = scores[:, None] + np.floor(
            (self.weakness * (top - scores)[:, None] + delta * draws[None, :]) / 128.0
        ).astype(np.int64)
        sorted_pushed = np.sort(pushed, axis=1)
        n = pushed.shape[1]
        probs = np.empty(k)
        for i in range(k):
            win = np.ones(n)
            for j in range(k):
                if j == i:
                    continue
                side: Literal["left", "right"] = "right" if j < i else "left"  # earlier: <=; later: <
                win *= np.searchsorted(sorted_pushed[j], pushed[i], side=side) / n
            probs[i] = win.mean()
        normalised: np.ndarray = probs / probs.sum()
        return normalised


class StockfishPolicy:
    """Stockfish at a given strength (``elo``; None for full strength) with a node budget per move.

    A limited strength is the distribution of :class:`SkillLevel` over the engine's four best
    lines; full strength is a point mass on the engine's move. Every search starts from a cleared
    hash and history (python-chess sends ``ucinewgame`` for a new game object) with one search
    thread, so the distribution is a function of the position alone: not of batching, worker,
    earlier searches or restarts. An engine that dies is restarted once and the position searched
    again (a second death in a row is an error).
    """

    def __init__(
        self, open_engine: Callable[[], chess.engine.SimpleEngine], name: str, elo: int | None, nodes_per_move: int
    ) -> None:
        self.name = name
        self._session = RestartingEngine(open_engine, name)
        self.skill = SkillLevel.from_elo(elo) if elo is not None else SkillLevel(20.0)
        self.nodes_per_move = nodes_per_move

    @property
    def engine(self) -> chess.engine.SimpleEngine:
        return self._session.engine

    @property
    def restarts(self) -> int:
        return self._session.restarts

    def _lines(self, board: chess.Board) -> list[tuple[chess.Move, int]]:
        """The engine's lines as ``(first move, centipawns for the mover)``, best first."""
        if self.skill.limited:
            limit = chess.engine.Limit(depth=self.skill.depth, nodes=self.nodes_per_move)
            multipv = SKILL_MULTIPV
        else:
            limit, multipv = chess.engine.Limit(nodes=self.nodes_per_move), 1
        infos = self._session.search(
            lambda engine: engine.analyse(board, limit, multipv=multipv, game=object()), f"searching {board.fen()}"
        )
        lines = [
            (info["pv"][0], info["score"].pov(board.turn).score(mate_score=MATE_SCORE_CP))
            for info in infos
            if info.get("pv") and info.get("score") is not None
        ]
        if not lines:
            raise RuntimeError(f"{self.name}: engine returned no move for {board.fen()}")
        # Lines of an unfinished last iteration can be out of order; sort as Stockfish does (stable).
        return sorted(lines, key=lambda line: -line[1])

    def distribution(self, board: chess.Board) -> MoveDistribution:
        moves = list(board.legal_moves)
        lines = self._lines(board)
        chance = dict.fromkeys(moves, 0.0)
        line_probs = self.skill.move_probabilities([cp for _, cp in lines]) if self.skill.limited else [1.0]
        for (move, _), p in zip(lines, line_probs):
            if move not in chance:
                raise RuntimeError(f"{self.name}: engine line starts with {move.uci()}, not legal in {board.fen()}")
            chance[move] += float(p)
        return MoveDistribution(tuple(moves), np.array([chance[m] for m in moves]))

    def distributions(
        self, boards: Sequence[chess.Board], own_prompts: Sequence[str], opponent_prompts: Sequence[str]
    ) -> list[MoveDistribution]:
        return [self.distribution(board) for board in boards]

    def close(self) -> None:
        self._session.close()


def persona_policy(persona: Persona, engine: EngineConfig, engine_path: Path | None, nodes_per_move: int) -> Policy:
    """The player of a synthetic persona: the one constructor of the population's games, of the
    persona truth and of the oracle, so all three play exactly the same distribution.

    ``engine_path`` and ``nodes_per_move`` matter for Stockfish personas only (``engine.threads``
    and ``engine.hash_mb`` set each engine process; the engine opens on first use).
    """
    if persona.kind == "random":
        return RandomMover(persona.name)
    if persona.kind == "greedy":
        return GreedyMaterial(persona.name)
    if engine_path is None:
        raise ValueError(f"persona {persona.name!r} is a Stockfish persona: an engine path is needed")
    start = functools.partial(open_engine, engine_path, engine.threads, engine.hash_mb)
    return StockfishPolicy(start, persona.name, persona.rating, nodes_per_move)
