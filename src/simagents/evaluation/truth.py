"""The truth: every persona's exact move distribution on every evaluation position.

The synthetic population's players are known programs, so what each would play anywhere is
computable, not only what it happened to play: the uniform random mover's distribution is
uniform, the greedy grabber's is uniform over the moves that win the most material now, and a
Stockfish persona's is the exact distribution of Stockfish 15.1's skill rule over its four lines
(:class:`~simagents.policies.SkillLevel`), searched at the population's node budget from a
cleared hash, exactly as in the synthetic games (:func:`~simagents.policies.persona_policy`, the
one constructor both use). Every persona is evaluated on every position, not only on the
positions it played, so a policy under any prompt can be compared with any persona.

One row per (position, persona, legal move) (parquet, :data:`TRUTH_SCHEMA`: the move in UCI and
as an action index, its probability), rows in ``(position_id, persona order, action)`` order; a position's probabilities of each persona sum to 1.
The FEN carries no history, so a search here cannot see an earlier repetition of the game: on
the rare position where that changes Stockfish's lines, the truth differs from what the persona
played in the game (the tests check that the played move lies in the truth's support).

Human data (lichess, pgn) has no truth: the workflow has no truth stage for it, and the metrics
that need one are not computed (the claims ledger then reports their tests as not testable).

The work is split in chunks written as part files, resumable like the action values
(:mod:`.chunks`).
"""

from __future__ import annotations

import json
import logging
import multiprocessing.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chess
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..config import EngineConfig, Persona
from ..encoding import move_to_action
from ..outputs import write_parquet
from ..policies import Policy, persona_policy
from . import chunks

log = logging.getLogger(__name__)

TRUTH_SCHEMA = pa.schema(
    [
        ("position_id", pa.int32()),
        ("persona", pa.string()),
        ("move", pa.string()),
        ("action", pa.int16()),
        ("probability", pa.float64()),
    ]
)
_PARTS_FORMAT = "simagents-truth-parts-v1"


@dataclass(frozen=True)
class TruthSpec:
    """What each worker needs to build the personas: the population and its engine settings."""

    personas: tuple[Persona, ...]
    engine: EngineConfig
    engine_path: str | None
    nodes_per_move: int


class _Personas:
    """One worker's persona policies (Stockfish personas open their engines lazily)."""

    def __init__(self, spec: TruthSpec) -> None:
        self.policies: list[Policy] = [
            persona_policy(p, spec.engine, Path(spec.engine_path) if spec.engine_path else None, spec.nodes_per_move)
            for p in spec.personas
        ]

    def close(self) -> None:
        for policy in self.policies:
            policy.close()


def _chunk_table(chunk: chunks.Chunk, personas: _Personas) -> chunks.ChunkResult:
    columns: dict[str, list[Any]] = {name: [] for name in TRUTH_SCHEMA.names}
    for position_id, fen in zip(chunk.position_ids, chunk.fens):
        board = chess.Board(fen)
        for policy in personas.policies:
            dist = policy.distributions([board], [policy.name], ["none"])[0]
            actions = np.array([move_to_action(m, board.turn) for m in dist.moves], dtype=np.int16)
            order = np.argsort(actions, kind="stable")
            columns["position_id"] += [position_id] * len(order)
            columns["persona"] += [policy.name] * len(order)
            columns["move"] += [dist.moves[i].uci() for i in order]
            columns["action"] += actions[order].tolist()
            columns["probability"] += np.asarray(dist.probs, dtype=np.float64)[order].tolist()
    # An engine that dies is restarted by its persona's policy, which logs it: nothing to count here.
    return pa.Table.from_pydict(columns, schema=TRUTH_SCHEMA), {}


_WORKER: _Personas | None = None


def _init_worker(spec: TruthSpec) -> None:
    global _WORKER
    _WORKER = _Personas(spec)
    multiprocessing.util.Finalize(_WORKER, _WORKER.close, exitpriority=10)


def _worker_table(chunk: chunks.Chunk) -> chunks.ChunkResult:
    assert _WORKER is not None, "worker not initialised"
    return _chunk_table(chunk, _WORKER)


def compute_truth(
    eval_positions: pa.Table,
    out_path: Path,
    spec: TruthSpec,
    *,
    workers: int = 1,
    progress: bool = True,
    chunk_size: int = 32,
) -> pa.Table:
    """Every persona's exact distribution on every evaluation position; written to ``out_path``."""
    if any(p.kind == "stockfish" for p in spec.personas) and spec.engine_path is None:
        raise ValueError("the population has Stockfish personas: an engine path is needed")
    position_ids = [int(i) for i in eval_positions.column("position_id").to_numpy()]
    fens = [str(f) for f in eval_positions.column("fen").to_pylist()]
    settings = {
        "personas": [[p.name, p.kind, p.rating] for p in spec.personas],
        "nodes_per_move": spec.nodes_per_move,
        "engine_threads": spec.engine.threads,
        "engine_hash_mb": spec.engine.hash_mb,
    }
    table, _ = chunks.run_chunked(
        position_ids,
        fens,
        Path(out_path).with_suffix(".parts"),
        manifest={"format": _PARTS_FORMAT, **settings},
        chunk_size=chunk_size,
        local=lambda: _Personas(spec),
        local_run=_chunk_table,
        worker_init=_init_worker,
        worker_initargs=(spec,),
        worker_run=_worker_table,
        workers=workers,
        progress=progress,
        desc="persona truth",
        pause="truth",
    )
    table = table.cast(TRUTH_SCHEMA)
    metadata = {"simagents": json.dumps({**settings, "code_version": __version__, "positions": len(position_ids)})}
    write_parquet(table.replace_schema_metadata(metadata), out_path, compression="zstd")
    chunks.remove_parts(Path(out_path).with_suffix(".parts"))
    return table


def load_truth(path: Path) -> pa.Table:
    """The truth table, its columns checked."""
    table = pq.read_table(path)
    missing = set(TRUTH_SCHEMA.names) - set(table.column_names)
    if missing:
        raise ValueError(f"{path} is not a truth table: it lacks the columns {sorted(missing)}")
    return table.cast(TRUTH_SCHEMA)


def truth_by_persona(
    truth: pa.Table, actions: Sequence[np.ndarray], personas: Sequence[str]
) -> dict[str, list[np.ndarray]]:
    """Persona -> its probability of each legal move of each position, aligned with ``actions``
    (``actions[i]``: position i's legal actions in the order the metric battery uses)."""
    frame = truth.to_pandas()
    out: dict[str, list[np.ndarray]] = {p: [] for p in personas}
    grouped = {key: rows for key, rows in frame.groupby(["position_id", "persona"], sort=False)}
    for position_id, legal in enumerate(actions):
        for persona in personas:
            rows = grouped.get((position_id, persona))
            if rows is None:
                raise ValueError(f"the truth has no distribution of {persona!r} at position {position_id}")
            by_action = dict(zip(rows["action"].to_numpy().tolist(), rows["probability"].to_numpy().tolist()))
            if set(by_action) != set(legal.tolist()):
                raise ValueError(
                    f"position {position_id}: the truth of {persona!r} covers other moves than its legal ones"
                )
            out[persona].append(np.array([by_action[int(a)] for a in legal], dtype=np.float64))
    return out


def truth_by_fen(truth: pa.Table, fens: Sequence[str]) -> dict[str, dict[str, dict[chess.Move, float]]]:
    """FEN -> persona -> move -> probability (what the oracle plays on the evaluation positions)."""
    frame = truth.select(["position_id", "persona", "move", "probability"]).to_pandas()
    out: dict[str, dict[str, dict[chess.Move, float]]] = {}
    for (position_id, persona), rows in frame.groupby(["position_id", "persona"], sort=False):
        moves = [chess.Move.from_uci(m) for m in rows["move"]]
        out.setdefault(fens[int(position_id)], {})[str(persona)] = dict(zip(moves, rows["probability"].tolist()))
    return out
