"""The one game runner: many games at once between any Policy implementations.

Games advance in lockstep; at each step the boards waiting on the same policy are sent to it in
one batch (one network call for neural policies). Each game samples its moves from its own
generator seeded by :attr:`GameSpec.seed`, so a game's moves are the same whatever the batch.

Game end (from the side of chess rules, then the runner's cap):

* checkmate, stalemate and insufficient material end the game as the rules say;
* a threefold repetition or 50 moves without capture or pawn move is claimed as a draw at once
  (so the 75-move rule and fivefold repetition never come into play): :func:`game_end`;
* a game reaching ``max_plies`` is a draw with termination ``ply_cap`` (the only adjudication:
  no resignation or material rule, so every decisive result is a real checkmate).

Openings (:func:`held_out_openings`) are the first plies of test-split games: games the
simulator was not trained on, though short openings are shared with training games. Output of a match: PGN
(:func:`to_pgn`) and a table (:func:`games_frame`, one row per game).
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chess
import chess.pgn
import numpy as np
import pandas as pd
from tqdm import tqdm

from .faults import pause_point
from .policies import MoveDistribution, Policy
from .positions import split_keys, split_of


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
    round: str = ""  # free label carried to the PGN and the table (e.g. the pairing)


@dataclass
class PlayedGame:
    spec: GameSpec
    moves: list[str] = field(default_factory=list)  # UCI, from the start position
    result: str = "*"
    termination: str = ""

    @property
    def plies(self) -> int:
        return len(self.moves)


def game_end(board: chess.Board) -> tuple[str, str] | None:
    """``(result, termination)`` if the game is over as the runner applies the rules, else None.

    Checkmate, stalemate and insufficient material end the game; a threefold repetition or 50
    moves without capture or pawn move are claimed at once (so the 75-move rule and fivefold
    repetition never come into play). The ply cap is not a property of the position: see
    :func:`play_games`. Termination names are python-chess's ``Termination`` names, lower case,
    plus ``fifty_moves`` and ``threefold_repetition`` for the claims.
    """
    # One lazy legal-move probe (stops at the first legal move) instead of board.outcome(),
    # which generates moves for checkmate and stalemate separately: this runs after every ply.
    can_move = any(board.generate_legal_moves())
    if not can_move and board.is_check():
        return ("0-1" if board.turn == chess.WHITE else "1-0"), "checkmate"
    if board.is_insufficient_material():
        return "1/2-1/2", "insufficient_material"
    if not can_move:
        return "1/2-1/2", "stalemate"
    if board.halfmove_clock >= 100:  # a mate on the hundredth half-move was caught above: it stands
        return "1/2-1/2", "fifty_moves"
    # A position can occur three times only after 8 reversible plies: skip the stack scan before.
    if board.halfmove_clock >= 8 and board.is_repetition(3):
        return "1/2-1/2", "threefold_repetition"
    return None


def terminal_value(board: chess.Board) -> float | None:
    """The exact value of a finished game for the side to move (:func:`game_end`), else None:
    -1 if checkmated, 0 for any draw. Draws that could only be claimed by *making* a move are
    seen one ply later, as the runner sees them."""
    ended = game_end(board)
    if ended is None:
        return None
    return -1.0 if ended[1] == "checkmate" else 0.0


def _termination(board: chess.Board, plies: int, max_plies: int) -> tuple[str, str] | None:
    ended = game_end(board)
    if ended is None and plies >= max_plies:
        return "1/2-1/2", "ply_cap"
    return ended


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


def match_seed(*parts: object) -> int:
    """A 64-bit game seed from any labels (run seed, stage, pairing, game number): a hash, so
    neighbouring games get unrelated streams and adding a pairing leaves the others alone."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def held_out_openings(
    games: Iterable[tuple[str, str]], plies: int, count: int, seed: int, split_seed: int, train: float, val: float
) -> list[tuple[str, ...]]:
    """``count`` openings: the first ``plies`` moves (UCI) of distinct test-split games.

    ``games`` yields ``(split_key, uci_moves)`` pairs (:func:`simagents.positions.split_keys` and
    the games table's moves; the key is the game id unless the game repeats an earlier one). A
    game belongs to the test split by the positions stage's seeded hash of its key
    (``split_seed``, fractions ``train`` and ``val``): games the simulator was not trained on.
    Openings repeat (cycling) when there are fewer distinct ones than ``count``; with
    ``plies == 0`` every opening is the start position. Deterministic for a given ``seed``.
    """
    if plies == 0:
        return [()] * count
    candidates = sorted(
        {
            tuple(moves.split()[:plies])
            for game_id, moves in games
            if split_of(game_id, split_seed, train, val) == "test" and len(moves.split()) > plies
        }
    )
    if not candidates:
        raise ValueError(f"no test-split game is longer than {plies} plies: lower the opening plies or use more games")
    order = np.random.default_rng(seed).permutation(len(candidates))
    return [candidates[order[i % len(candidates)]] for i in range(count)]


def openings_of_games_table(
    games: Path, plies: int, count: int, salt: str, seed: int, train: float, val: float
) -> list[tuple[str, ...]]:
    """:func:`held_out_openings` of a games table file (parquet), drawn with a seed made from the
    run's ``seed`` and a ``salt`` naming the stage (so each stage draws its own openings)."""
    import pyarrow.parquet as pq

    table = pq.read_table(games, columns=["game_id", "white", "black", "moves"])
    pairs = zip(split_keys(table), table.column("moves").to_pylist())  # the positions stage's split
    return held_out_openings(pairs, plies, count, match_seed(salt, seed) % 2**32, seed, train, val)


def to_pgn(games: Sequence[PlayedGame], event: str, names: Mapping[str, str] | None = None) -> str:
    """Standard PGN of played games; players are the policy keys (or ``names[key]``), with the
    prompts, seed, termination and ply count in tags of their own."""
    out: list[str] = []
    names = names or {}
    for index, game in enumerate(games):
        spec = game.spec
        pgn = chess.pgn.Game()
        pgn.headers["Event"] = event
        pgn.headers["Site"] = "simagents"
        pgn.headers["Date"] = "2000.01.01"  # fixed: outputs must not depend on the day
        pgn.headers["Round"] = spec.round or str(index + 1)
        pgn.headers["White"] = names.get(spec.white, spec.white)
        pgn.headers["Black"] = names.get(spec.black, spec.black)
        pgn.headers["Result"] = game.result
        pgn.headers["WhitePrompt"] = spec.white_prompt
        pgn.headers["BlackPrompt"] = spec.black_prompt
        pgn.headers["Termination"] = game.termination
        pgn.headers["PlyCount"] = str(game.plies)
        pgn.headers["Seed"] = str(spec.seed)
        node: chess.pgn.GameNode = pgn
        for uci in game.moves:
            node = node.add_variation(chess.Move.from_uci(uci))
        out.append(str(pgn))
    return "\n\n".join(out) + "\n"


GAMES_FRAME_COLUMNS = (
    "round",
    "white",
    "black",
    "white_prompt",
    "black_prompt",
    "result",
    "white_score",
    "termination",
    "plies",
    "seed",
)


def games_frame(games: Sequence[PlayedGame], names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per game: players, prompts, colours (by column), result, White's score,
    termination and plies (opening plies included)."""
    names = names or {}
    rows = [
        {
            "round": g.spec.round,
            "white": names.get(g.spec.white, g.spec.white),
            "black": names.get(g.spec.black, g.spec.black),
            "white_prompt": g.spec.white_prompt,
            "black_prompt": g.spec.black_prompt,
            "result": g.result,
            "white_score": score(g.result, True),
            "termination": g.termination,
            "plies": g.plies,
            "seed": str(g.spec.seed),
        }
        for g in games
    ]
    return pd.DataFrame(rows, columns=list(GAMES_FRAME_COLUMNS))


def play_tasks(
    tasks: Sequence[list[GameSpec]],
    play_task: Callable[[list[GameSpec]], list[PlayedGame]],
    init_worker: Callable[[Any], None],
    setup: Any,
    close: Callable[[], None],
    workers: int = 1,
    desc: str = "games",
    progress: bool = True,
    start_method: str = "fork",
    pause: str = "",
) -> list[PlayedGame]:
    """Play lists of games in ``workers`` forked processes (or in this one), with a progress bar.

    ``pause``: the :func:`~simagents.faults.pause_point` reached after each task but the last.

    Each worker runs ``init_worker(setup)`` once, then ``play_task`` on whole tasks (a task's
    games are batched together by :func:`play_games`; its policies are built once per worker);
    ``close`` releases what a worker built (engines) when it exits, or here after the last task.
    Games come back in task order, so the result does not depend on ``workers``.
    ``start_method``: ``fork`` (workers inherit the loaded code, the default) or ``spawn`` (fresh
    interpreters; needed for CUDA, and then ``play_task``, ``init_worker`` and ``setup`` must be
    importable or picklable).
    """
    total = sum(len(t) for t in tasks)
    bar = tqdm(total=total, unit="games", desc=desc, disable=not progress, mininterval=1.0)
    played: list[PlayedGame] = []
    try:
        if workers > 1:
            with multiprocessing.get_context(start_method).Pool(workers, init_worker, (setup,)) as pool:
                for games in pool.imap(play_task, tasks):
                    played.extend(games)
                    bar.update(len(games))
                    if len(played) < total:
                        pause_point(pause)
                pool.close()
                pool.join()
        else:
            init_worker(setup)
            try:
                for task in tasks:
                    games = play_task(task)
                    played.extend(games)
                    bar.update(len(games))
                    if len(played) < total:
                        pause_point(pause)
            finally:
                close()
    finally:
        bar.close()
    return played
