"""The one game runner: many games at once between any Policy implementations.

Games advance in lockstep; at each step the boards waiting on the same policy are sent to it in
one batch (one network call for neural policies). Each game samples its moves from its own
generator seeded by :attr:`GameSpec.seed`, so a game's moves are the same whatever the batch.

Game end (from the side of chess rules, then the runner's cap):

* checkmate, stalemate, insufficient material, the 75-move rule and fivefold repetition end the
  game as the rules say;
* a threefold repetition or 50 moves without capture or pawn move is claimed as a draw at once;
* a game reaching ``max_plies`` is a draw with termination ``ply_cap``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import chess
import numpy as np

from .policies import MoveDistribution, Policy


@dataclass(frozen=True)
class GameSpec:
    """One game to play: which policies, which prompts, which seed, which opening."""

    white: str  # key into the policies mapping
    black: str
    white_prompt: str
    black_prompt: str
    seed: int
    opening: tuple[str, ...] = ()  # UCI moves played before the policies take over
    random_opening_plies: int = 0  # then this many uniformly random plies


@dataclass
class PlayedGame:
    spec: GameSpec
    moves: list[str] = field(default_factory=list)  # UCI, from the start position
    result: str = "*"
    termination: str = ""

    @property
    def plies(self) -> int:
        return len(self.moves)


def _termination(board: chess.Board, plies: int, max_plies: int) -> tuple[str, str] | None:
    outcome = board.outcome(claim_draw=False)
    if outcome is not None:
        return outcome.result(), outcome.termination.name.lower()
    if board.halfmove_clock >= 100:
        return "1/2-1/2", "fifty_moves"
    if board.is_repetition(3):
        return "1/2-1/2", "threefold_repetition"
    if plies >= max_plies:
        return "1/2-1/2", "ply_cap"
    return None


def play_games(
    specs: Sequence[GameSpec],
    policies: Mapping[str, Policy],
    max_plies: int,
    on_game_end: Callable[[PlayedGame], None] | None = None,
) -> list[PlayedGame]:
    """Play every game in ``specs`` to the end; results in the order of ``specs``."""
    games = [PlayedGame(spec) for spec in specs]
    boards = [chess.Board() for _ in specs]
    rngs = [np.random.default_rng(spec.seed) for spec in specs]
    active: list[int] = []
    for i, spec in enumerate(specs):
        for uci in spec.opening:
            move = chess.Move.from_uci(uci)
            if move not in boards[i].legal_moves:
                raise ValueError(f"opening move {uci} is illegal in {boards[i].fen()}")
            boards[i].push(move)
            games[i].moves.append(uci)
        for _ in range(spec.random_opening_plies):
            if boards[i].is_game_over():
                break
            move = MoveDistribution.uniform(list(boards[i].legal_moves)).sample(rngs[i])
            boards[i].push(move)
            games[i].moves.append(move.uci())
        active.append(i)

    def finish_or_keep(i: int) -> bool:
        ended = _termination(boards[i], len(games[i].moves), max_plies)
        if ended is None:
            return True
        games[i].result, games[i].termination = ended
        if on_game_end is not None:
            on_game_end(games[i])
        return False

    active = [i for i in active if finish_or_keep(i)]
    while active:
        waiting: dict[str, list[int]] = defaultdict(list)
        for i in active:
            spec = specs[i]
            waiting[spec.white if boards[i].turn == chess.WHITE else spec.black].append(i)
        for key, indices in waiting.items():
            white_to_move = [boards[i].turn == chess.WHITE for i in indices]
            own = [specs[i].white_prompt if w else specs[i].black_prompt for i, w in zip(indices, white_to_move)]
            other = [specs[i].black_prompt if w else specs[i].white_prompt for i, w in zip(indices, white_to_move)]
            dists = policies[key].distributions([boards[i] for i in indices], own, other)
            for i, dist in zip(indices, dists):
                move = dist.sample(rngs[i])
                boards[i].push(move)
                games[i].moves.append(move.uci())
        active = [i for i in active if finish_or_keep(i)]
    return games


def score(result: str, white: bool) -> float:
    """Points for one side of a finished game: 1 for a win, 0.5 for a draw, 0 for a loss."""
    if result == "1/2-1/2":
        return 0.5
    return 1.0 if (result == "1-0") == white else 0.0
