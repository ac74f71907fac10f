"""Evaluation positions: a per-prompt sample of the test split, with the absolute board of each.

Every measurement of a policy (move matching, win-chance loss, judgements, entropy) is taken on
the same positions, drawn only from the test split so that no model has trained on their games.
The sample is stratified by the mover's prompt (``own_prompt``): up to ``per_prompt`` positions
for each prompt token, all of them where a prompt has fewer (the table's size then says so).

One row per position (parquet, columns in :data:`EVAL_POSITIONS_SCHEMA`):

===============  =======  =========================================================================
column           type     meaning
===============  =======  =========================================================================
position_id      int32    0..n-1, the row number; action values and metrics refer to it
game_id          string   the game's id in the games table
ply              int16    plies played before the position (0 = the start position)
fen              string   the absolute board (python-chess ``board.fen()``, White at the bottom)
own_prompt       string   prompt token of the side to move
opponent_prompt  string   prompt token of the other side
played_move      string   the move played in the game, UCI (absolute squares)
played_action    int16    the same move as an action index (mover's view, 0..1857)
result           int8     the game's result for the side to move: +1, 0, -1
n_legal          int16    number of legal moves (>= 1: a move was played)
===============  =======  =========================================================================

Rows are sorted by ``(game_id, ply)``. The sample depends only on the game ids, plies, prompts
and the seed, not on the order of the games table: candidates are sorted by ``(game_id, ply)``
before sampling, and each prompt draws from its own generator seeded by ``(seed, prompt id)``.

The FEN carries the position, not the game's history: an engine scoring it does not see earlier
repetitions (the halfmove clock, and so the fifty-move rule, is in the FEN).
"""

from __future__ import annotations

import logging
from pathlib import Path

import chess
import numpy as np
import pyarrow as pa

from ..data.table import read_table, write_table
from ..encoding import move_to_action
from ..positions import load_split

log = logging.getLogger(__name__)

EVAL_POSITIONS_SCHEMA = pa.schema(
    [
        ("position_id", pa.int32()),
        ("game_id", pa.string()),
        ("ply", pa.int16()),
        ("fen", pa.string()),
        ("own_prompt", pa.string()),
        ("opponent_prompt", pa.string()),
        ("played_move", pa.string()),
        ("played_action", pa.int16()),
        ("result", pa.int8()),
        ("n_legal", pa.int16()),
    ]
)


def _sample_indices(order: np.ndarray, own_prompt: np.ndarray, per_prompt: int, seed: int) -> np.ndarray:
    """Indices into the split arrays: up to ``per_prompt`` per prompt id, from ``order`` (sorted candidates)."""
    chosen: list[np.ndarray] = []
    prompts_in_order = own_prompt[order]
    for prompt_id in np.unique(prompts_in_order):
        candidates = order[prompts_in_order == prompt_id]
        if len(candidates) > per_prompt:
            # One generator per prompt: adding or removing a prompt leaves the others' samples alone.
            rng = np.random.default_rng([seed, int(prompt_id)])
            candidates = candidates[np.sort(rng.choice(len(candidates), size=per_prompt, replace=False))]
        chosen.append(candidates)
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def select_eval_positions(
    games: pa.Table, positions_dir: Path, vocabulary: dict[str, int], per_prompt: int, seed: int
) -> pa.Table:
    """Sample the evaluation positions from the test split (see the module docstring for the table).

    ``games`` must be the games table the positions were built from (the positions refer to its
    rows); ``vocabulary`` is the prompt vocabulary of the positions (``meta.json``). Each sampled
    position is replayed from its game's UCI moves with python-chess, and the move played there
    is checked against the positions' ``move`` array: a mismatch means the games table and the
    positions do not belong together, a ValueError that names the game and ply.
    """
    if per_prompt < 1:
        raise ValueError(f"per_prompt must be at least 1, got {per_prompt!r}")
    arrays = load_split(Path(positions_dir), "test")
    own = np.asarray(arrays["own_prompt"])
    game_rows = np.asarray(arrays["game"], dtype=np.int64)
    plies = np.asarray(arrays["ply"], dtype=np.int64)
    inverse = {int(i): token for token, i in vocabulary.items()}
    unknown = sorted(set(np.unique(own).tolist()) - set(inverse))
    if unknown:
        raise ValueError(f"prompt ids {unknown} in the test split are not in the vocabulary {vocabulary}")
    if len(game_rows) and game_rows.max() >= games.num_rows:
        raise ValueError(
            f"the test split refers to game row {int(game_rows.max())} but the games table has "
            f"{games.num_rows} rows: not the games table these positions were built from"
        )

    game_ids = np.asarray(games.column("game_id").to_pylist(), dtype=str)
    # Sort candidates by (game_id, ply) so the sample does not depend on the games table's order.
    order = np.lexsort((plies, game_ids[game_rows])) if len(game_rows) else np.zeros(0, dtype=np.int64)
    chosen = _sample_indices(order, own, per_prompt, seed)
    chosen = chosen[np.lexsort((plies[chosen], game_ids[game_rows[chosen]]))]

    counts = {inverse[int(p)]: int(c) for p, c in zip(*np.unique(own[chosen], return_counts=True))}
    short = {token: c for token, c in counts.items() if c < per_prompt}
    if short:
        log.warning("fewer than %d test positions for prompts %s: all of them are used", per_prompt, short)
    log.info("evaluation positions per prompt: %s", counts)

    moves_column = games.column("moves")
    fens: list[str] = []
    played: list[str] = []
    n_legal: list[int] = []
    # Replay each game once, up to its last sampled ply (rows are sorted by game, then ply).
    current_row, board, pushed, uci = -1, chess.Board(), 0, []
    for index in chosen:
        row, ply = int(game_rows[index]), int(plies[index])
        if row != current_row:
            current_row, board, pushed = row, chess.Board(), 0
            uci = moves_column[row].as_py().split()
        where = f"game {game_ids[row]!r} (row {row}) at ply {ply}"
        if ply >= len(uci):
            raise ValueError(
                f"{where}: the game has only {len(uci)} moves; the games table does not match the positions"
            )
        while pushed < ply:
            try:
                board.push_uci(uci[pushed])
            except ValueError as error:
                raise ValueError(
                    f"{where}: replaying move {pushed} ({uci[pushed]!r}) failed ({error}); the games "
                    "table does not match the positions"
                ) from error
            pushed += 1
        move = chess.Move.from_uci(uci[ply])
        legal = board.legal_moves.count()
        assert legal > 0, f"{where}: no legal moves, yet {uci[ply]} was played"
        if not board.is_legal(move):
            raise ValueError(
                f"{where}: move {uci[ply]!r} is not legal in {board.fen()!r}; the games table does "
                "not match the positions"
            )
        action = move_to_action(move, board.turn)
        if action != int(arrays["move"][index]):
            raise ValueError(
                f"{where}: the positions say action {int(arrays['move'][index])}, the game's move "
                f"{uci[ply]} is action {action}; the games table does not match the positions"
            )
        fens.append(board.fen())
        played.append(uci[ply])
        n_legal.append(legal)

    n = len(chosen)
    columns = {
        "position_id": np.arange(n, dtype=np.int32),
        "game_id": [str(game_ids[game_rows[i]]) for i in chosen],
        "ply": plies[chosen].astype(np.int16),
        "fen": fens,
        "own_prompt": [inverse[int(p)] for p in own[chosen]],
        "opponent_prompt": [inverse[int(p)] for p in np.asarray(arrays["opponent_prompt"])[chosen]],
        "played_move": played,
        "played_action": np.asarray(arrays["move"])[chosen].astype(np.int16),
        "result": np.asarray(arrays["result"])[chosen].astype(np.int8),
        "n_legal": np.asarray(n_legal, dtype=np.int16),
    }
    return pa.Table.from_pydict(columns, schema=EVAL_POSITIONS_SCHEMA)


def write_eval_positions(table: pa.Table, path: Path) -> None:
    """Write the evaluation positions atomically (a crash never leaves a half-written parquet)."""
    write_table(table, path, EVAL_POSITIONS_SCHEMA, "evaluation positions table")


def load_eval_positions(path: Path) -> pa.Table:
    """Read evaluation positions and check their columns (a ValueError names the missing ones)."""
    table = read_table(path, EVAL_POSITIONS_SCHEMA, "evaluation positions table")
    ids = table.column("position_id").to_numpy()
    if not np.array_equal(ids, np.arange(len(ids))):
        raise ValueError(f"{path}: position_id must be 0..n-1 in order")
    return table
