"""Action values: Stockfish's score for every legal move of every evaluation position.

Each position is searched once with MultiPV set to its number of legal moves at a fixed node
budget, so every legal move gets a score from the same search; computed once per run and stored.
One row per (position, legal move) (parquet, columns in :data:`ACTION_VALUES_SCHEMA`):

===========  =======  ===========================================================================
column       type     meaning
===========  =======  ===========================================================================
position_id  int32    the evaluation position (see :mod:`.eval_positions`)
move         string   the move, UCI (absolute squares)
action       int16    the move as an action index (mover's view, 0..1857)
cp           float64  score after the move in centipawns, mover's point of view; NaN under mate
mate         int16    moves to mate, mover's point of view: n > 0 the mover mates, n < 0 the
                      mover gets mated, 0 no mate found
win_chance   float64  lichess win chance in [-1, 1], mover's point of view (:mod:`.win_chances`)
loss         float64  best win chance in the position minus this one (>= 0; 0 for the best move)
rank         int16    1 = best; by score (mates first, the quicker the better), ties by UCI string
===========  =======  ===========================================================================

Rows are sorted by ``(position_id, rank)``; each position has exactly ``n_legal`` rows, one per
legal move. The parquet's schema metadata (key ``simagents``) records the engine, node budget,
threads, hash size and code version.

Reproducibility: python-chess is told that every position is a new game, so Stockfish receives
``ucinewgame`` and clears its hash and history tables before each position. With ``Threads=1`` a
fixed node budget then gives the same scores whatever the worker count, chunking or resumption
(tested). With more threads the search, and so the table, is not reproducible.

Lines MultiPV did not report: at small node budgets Stockfish stops before its first iteration
has visited every root move and reports fewer lines than legal moves (on 300 positions of the
default run: most moves at 200 nodes, 0.7% at 2,000, none at 5,000 or 20,000). Each missing move
is then searched alone (``root_moves=[move]``) at the same node budget; that score comes from a
separate, deeper search of one move, so use budgets where this is rare. The count is logged.
About 0.6% of lines at 20,000 nodes carry a bound (the search stopped while that line failed
high or low); their score is kept as reported.

The work is split into chunks of positions, each written as a parquet part file (atomically) under
``<out>.parts/`` by parallel worker processes, each with its own engine. A rerun skips the chunks
whose part exists, so an interrupted run resumes; the parts are concatenated into the output and
deleted at the end. An engine that dies is restarted and its chunk retried (up to
:data:`MAX_RETRIES` times).
"""

from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import multiprocessing.util
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chess
import chess.engine
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..encoding import move_to_action
from ..outputs import write_parquet
from ..stockfish import ENGINE_FAILURES, open_engine
from . import chunks
from .win_chances import move_losses, win_chances

log = logging.getLogger(__name__)

ACTION_VALUES_SCHEMA = pa.schema(
    [
        ("position_id", pa.int32()),
        ("move", pa.string()),
        ("action", pa.int16()),
        ("cp", pa.float64()),
        ("mate", pa.int16()),
        ("win_chance", pa.float64()),
        ("loss", pa.float64()),
        ("rank", pa.int16()),
    ]
)

#: Times a chunk is retried on a fresh engine after its engine died (so up to 1 + this many tries).
MAX_RETRIES = 3
#: python-chess's ordering value for a mate in n: 100000 - n (mated: -100000 + n); above any cp.
_MATE_SORT_SCORE = 100_000
_PARTS_FORMAT = "simagents-action-values-parts-v1"


@dataclass(frozen=True)
class EngineSpec:
    """How each worker starts its engine, and the search budget per position."""

    path: Path
    nodes: int
    threads: int = 1
    hash_mb: int = 16


class _EngineSession:
    """One worker's engine, started lazily and restarted after it dies."""

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self._engine: chess.engine.SimpleEngine | None = None

    @property
    def engine(self) -> chess.engine.SimpleEngine:
        if self._engine is None:
            self._engine = open_engine(self.spec.path, threads=self.spec.threads, hash_mb=self.spec.hash_mb)
        return self._engine

    def close(self, polite: bool = True) -> None:
        """Stop the engine: ``quit`` when it is healthy, else just close (which kills the process)."""
        engine, self._engine = self._engine, None
        if engine is None:
            return
        try:
            if polite:
                engine.quit()
        except (*ENGINE_FAILURES, TimeoutError):
            pass
        finally:
            engine.close()


def score_moves(
    engine: chess.engine.SimpleEngine, board: chess.Board, nodes: int
) -> tuple[dict[chess.Move, chess.engine.Score], int]:
    """Score every legal move of ``board``, mover's point of view; also the number searched alone."""
    legal = list(board.legal_moves)
    limit = chess.engine.Limit(nodes=nodes)
    # A fresh game object makes python-chess send ucinewgame: Stockfish clears its hash and history,
    # so the scores do not depend on what this engine searched before (workers, resumes, restarts).
    game = object()
    lines = engine.analyse(board, limit, multipv=len(legal), game=game)
    legal_set = set(legal)
    scores: dict[chess.Move, chess.engine.Score] = {}
    for line in lines:
        pv, score = line.get("pv"), line.get("score")
        if not pv or score is None:
            continue
        if pv[0] not in legal_set:
            raise chess.engine.EngineError(
                f"engine line starts with {pv[0].uci()}, not a legal move in {board.fen()!r}"
            )
        scores.setdefault(pv[0], score.pov(board.turn))
    missing = [move for move in legal if move not in scores]
    for move in missing:
        info = engine.analyse(board, limit, root_moves=[move], game=game)
        pv, score = info.get("pv"), info.get("score")
        if not pv or pv[0] != move or score is None:
            raise chess.engine.EngineError(
                f"searching only {move.uci()} in {board.fen()!r} gave no score for it "
                f"(pv {[m.uci() for m in pv or []]})"
            )
        scores[move] = score.pov(board.turn)
    return scores, len(missing)


def _position_rows(
    position_id: int, board: chess.Board, scores: dict[chess.Move, chess.engine.Score]
) -> dict[str, list[Any]]:
    """The rows of one position, best first (win chance and loss are filled in per chunk)."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1].score(mate_score=_MATE_SORT_SCORE), item[0].uci()))
    rows: dict[str, list[Any]] = {"position_id": [], "move": [], "action": [], "cp": [], "mate": [], "rank": []}
    for rank, (move, score) in enumerate(ranked, start=1):
        mate = score.mate()
        if mate == 0:
            # Stockfish says "mate 0" only when the side to move is already mated, never after a move.
            raise chess.engine.EngineError(f"engine scored {move.uci()} in {board.fen()!r} as mate 0")
        rows["position_id"].append(position_id)
        rows["move"].append(move.uci())
        rows["action"].append(move_to_action(move, board.turn))
        cp = score.score()
        rows["cp"].append(float("nan") if cp is None else float(cp))
        rows["mate"].append(mate or 0)
        rows["rank"].append(rank)
    return rows


def _evaluate_chunk(chunk: chunks.Chunk, session: _EngineSession, nodes: int) -> tuple[pa.Table, int]:
    """All rows of one chunk, and how many moves had to be searched alone."""
    columns: dict[str, list[Any]] = {"position_id": [], "move": [], "action": [], "cp": [], "mate": [], "rank": []}
    fallback = 0
    for position_id, fen in zip(chunk.position_ids, chunk.fens):
        board = chess.Board(fen)
        scores, searched_alone = score_moves(session.engine, board, nodes)
        fallback += searched_alone
        for name, values in _position_rows(position_id, board, scores).items():
            columns[name].extend(values)
    cp = np.asarray(columns["cp"], dtype=np.float64)
    mate = np.asarray(columns["mate"], dtype=np.int16)
    position = np.asarray(columns["position_id"], dtype=np.int32)
    wc = win_chances(cp, mate)
    table = pa.Table.from_pydict(
        {
            "position_id": position,
            "move": columns["move"],
            "action": np.asarray(columns["action"], dtype=np.int16),
            "cp": cp,
            "mate": mate,
            "win_chance": wc,
            "loss": move_losses(wc, position),
            "rank": np.asarray(columns["rank"], dtype=np.int16),
        },
        schema=ACTION_VALUES_SCHEMA,
    )
    return table, fallback


def _run_chunk(chunk: chunks.Chunk, session: _EngineSession, nodes: int) -> chunks.ChunkResult:
    """Evaluate one chunk, restarting a dead engine (up to :data:`MAX_RETRIES` times)."""
    restarts = 0
    while True:
        try:
            table, fallback = _evaluate_chunk(chunk, session, nodes)
            return table, {"fallback_moves": fallback, "restarts": restarts}
        except ENGINE_FAILURES as error:
            session.close(polite=False)
            if restarts == MAX_RETRIES:
                raise RuntimeError(
                    f"chunk {chunk.index} (positions {chunk.position_ids[0]}..{chunk.position_ids[-1]}) "
                    f"failed {MAX_RETRIES + 1} times; last engine error: {error!r}"
                ) from error
            restarts += 1
            log.warning(
                "engine failed on chunk %d (%r); restarting it and retrying (retry %d of %d)",
                chunk.index,
                error,
                restarts,
                MAX_RETRIES,
            )


# Per worker process: its engine session and the node budget (set by the pool initializer).
_WORKER: tuple[_EngineSession, int] | None = None


def _init_worker(spec: EngineSpec) -> None:
    global _WORKER
    session = _EngineSession(spec)
    _WORKER = (session, spec.nodes)
    # Quit the engine when the pool shuts the worker down normally (finalizers run at worker exit).
    multiprocessing.util.Finalize(session, session.close, exitpriority=10)


def _worker_run_chunk(chunk: chunks.Chunk) -> chunks.ChunkResult:
    assert _WORKER is not None, "worker not initialised"
    session, nodes = _WORKER
    return _run_chunk(chunk, session, nodes)


def _engine_name(path: Path) -> str:
    """The engine's ``id name`` (``Stockfish 15.1``), read by a plain subprocess.

    Not through python-chess: its engines run a background thread, and the parent forks workers.
    """
    done = subprocess.run([str(path)], input="uci\nquit\n", capture_output=True, text=True, timeout=60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("id name "):
            return line[len("id name ") :].strip()
    raise chess.engine.EngineError(f"{path} did not answer `uci` with an id name (output: {done.stdout[:200]!r})")


def compute_action_values(
    eval_positions: pa.Table,
    out_path: Path,
    *,
    engine_path: Path,
    nodes: int,
    workers: int,
    threads: int = 1,
    hash_mb: int = 16,
    progress: bool = True,
    chunk_size: int = 32,
) -> pa.Table:
    """Score every legal move of every evaluation position with Stockfish; write and return the table.

    ``eval_positions`` needs the columns ``position_id`` (unique), ``fen`` and ``n_legal`` (see
    :mod:`.eval_positions`). ``nodes`` is the node budget of each position's MultiPV search;
    ``workers`` engine processes run at once, each with ``threads`` search threads and ``hash_mb``
    MB of hash. Positions go to workers in chunks of ``chunk_size`` (in ``position_id`` order);
    changing ``chunk_size``, ``nodes``, ``threads``, ``hash_mb``, the engine or the positions
    between an interrupted run and its rerun discards the saved parts. The table (see the module
    docstring) is written atomically to ``out_path``.
    """
    for name, value in (
        ("nodes", nodes),
        ("workers", workers),
        ("threads", threads),
        ("hash_mb", hash_mb),
        ("chunk_size", chunk_size),
    ):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value!r}")
    missing = {"position_id", "fen", "n_legal"} - set(eval_positions.column_names)
    if missing:
        raise ValueError(f"eval_positions lacks columns {sorted(missing)}; expected an evaluation positions table")
    if threads > 1:
        log.warning(
            "threads=%d: Stockfish's multi-threaded search is not reproducible; use 1 thread and more "
            "workers for a table that reruns identically",
            threads,
        )
    out_path = Path(out_path)
    order = np.argsort(eval_positions.column("position_id").to_numpy(), kind="stable")
    position_ids = [int(i) for i in eval_positions.column("position_id").to_numpy()[order]]
    duplicates = sorted({i for i, j in itertools.pairwise(position_ids) if i == j})
    if duplicates:
        raise ValueError(f"eval_positions has duplicate position_id values, e.g. {duplicates[:5]}")
    all_fens = eval_positions.column("fen").to_pylist()
    fens = [str(all_fens[i]) for i in order]
    n_legal = [int(n) for n in eval_positions.column("n_legal").to_numpy()[order]]

    spec = EngineSpec(Path(engine_path), nodes=nodes, threads=threads, hash_mb=hash_mb)
    engine_name = _engine_name(spec.path)
    settings = {"engine": engine_name, "nodes": nodes, "threads": threads, "hash_mb": hash_mb}
    parts_dir = out_path.with_suffix(".parts")
    table, counts = chunks.run_chunked(
        position_ids,
        fens,
        parts_dir,
        manifest={"format": _PARTS_FORMAT, **settings},
        chunk_size=chunk_size,
        local=lambda: _EngineSession(spec),
        local_run=lambda chunk, session: _run_chunk(chunk, session, nodes),
        worker_init=_init_worker,
        worker_initargs=(spec,),
        worker_run=_worker_run_chunk,
        workers=workers,
        progress=progress,
        desc="action values",
        pause="action_values",
    )
    if counts:
        log.info(
            "scored positions at %d nodes: %d moves searched alone (MultiPV did not report them), %d engine restarts",
            nodes,
            counts.get("fallback_moves", 0),
            counts.get("restarts", 0),
        )
    table = table.cast(ACTION_VALUES_SCHEMA)
    _check_complete(table, position_ids, n_legal)
    metadata = {"simagents": json.dumps({**settings, "code_version": __version__, "positions": len(position_ids)})}
    table = table.replace_schema_metadata(metadata)
    write_parquet(table, out_path, compression="zstd")
    chunks.remove_parts(parts_dir)
    return table


def _check_complete(table: pa.Table, position_ids: list[int], n_legal: list[int]) -> None:
    """Every position has exactly ``n_legal`` rows, each move once, ranks 1..n_legal, in position order."""
    ids = table.column("position_id").to_numpy()
    expected = np.repeat(np.asarray(position_ids, dtype=np.int64), np.asarray(n_legal, dtype=np.int64))
    if not np.array_equal(ids, expected):
        raise RuntimeError(
            "the action-value parts do not cover the positions one row per legal move, in order; "
            "delete the .parts folder and rerun"
        )
    starts = np.concatenate([[0], np.cumsum(n_legal)[:-1]]).astype(np.int64) if n_legal else np.zeros(0, np.int64)
    ranks = table.column("rank").to_numpy().astype(np.int64)
    if not np.array_equal(ranks, np.arange(len(ranks)) - np.repeat(starts, n_legal) + 1):
        raise RuntimeError("action-value ranks are not 1..n_legal per position")
    keys = table.select(["position_id", "move"]).group_by(["position_id", "move"]).aggregate([])
    if keys.num_rows != table.num_rows:
        raise RuntimeError("a move is scored twice in one position")


def load_action_values(path: Path) -> pa.Table:
    """Read an action-value table, check its columns and value ranges, keep its metadata."""
    table = pq.read_table(path)
    missing = set(ACTION_VALUES_SCHEMA.names) - set(table.column_names)
    if missing:
        raise ValueError(f"{path}: not an action-value table, missing columns {sorted(missing)}")
    metadata = table.schema.metadata
    table = table.select(ACTION_VALUES_SCHEMA.names).cast(ACTION_VALUES_SCHEMA).replace_schema_metadata(metadata)
    wc = table.column("win_chance").to_numpy()
    loss = table.column("loss").to_numpy()
    if len(wc) and not ((wc >= -1) & (wc <= 1)).all():
        raise ValueError(f"{path}: win_chance outside [-1, 1], e.g. {float(wc[~((wc >= -1) & (wc <= 1))][0])!r}")
    if len(loss) and not (loss >= 0).all():
        raise ValueError(f"{path}: negative or NaN loss, e.g. {float(loss[~(loss >= 0)][0])!r}")
    return table
