"""Resumable, parallel work over evaluation positions: the chunked runner of the engine stages.

The action values and the persona truth search every evaluation position with Stockfish. Both
split the positions into chunks (in ``position_id`` order), have worker processes (each with its
own engines) turn each chunk into a table, and write each table atomically as a part file under
``<out>.parts/``. A rerun after an interruption computes only the chunks whose part is missing;
a ``manifest.json`` records the settings and the positions, and parts made with other settings
are discarded. At the end the parts are read back in chunk order and concatenated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from ..faults import pause_point
from ..outputs import make_folder, write_parquet, write_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chunk:
    """Consecutive evaluation positions, worked on as one unit."""

    index: int
    position_ids: tuple[int, ...]
    fens: tuple[str, ...]


class Closable(Protocol):
    def close(self) -> None: ...


State = TypeVar("State", bound=Closable)
#: What a chunk's work gives: its rows, and counts to report (summed over chunks).
ChunkResult = tuple[pa.Table, dict[str, int]]


def chunk_name(index: int) -> str:
    return f"chunk-{index:05d}.parquet"


def fingerprint(position_ids: Iterable[int], fens: Iterable[str]) -> str:
    """A digest of the positions, so parts of other positions are never reused."""
    digest = hashlib.sha256()
    for position_id, fen in zip(position_ids, fens):
        digest.update(f"{position_id}\t{fen}\n".encode())
    return digest.hexdigest()


def prepare_parts_dir(parts_dir: Path, manifest: dict[str, Any]) -> None:
    """Create the parts folder, or reuse it when its manifest matches; stale parts are discarded."""
    manifest_path = parts_dir / "manifest.json"
    if parts_dir.is_dir():
        try:
            previous = json.loads(manifest_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            previous = None
        if previous != manifest:
            changed = sorted(k for k in manifest if previous is None or previous.get(k) != manifest[k])
            log.warning(
                "discarding the parts in %s: they were computed with different settings (%s)",
                parts_dir,
                ", ".join(changed),
            )
            shutil.rmtree(parts_dir)
    make_folder(parts_dir)
    if not manifest_path.exists():
        write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")


def remove_parts(parts_dir: Path) -> None:
    """Delete the parts folder once its output is written."""
    shutil.rmtree(parts_dir, ignore_errors=True)


def make_chunks(position_ids: Sequence[int], fens: Sequence[str], chunk_size: int) -> list[Chunk]:
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size!r}")
    return [
        Chunk(k // chunk_size, tuple(position_ids[k : k + chunk_size]), tuple(fens[k : k + chunk_size]))
        for k in range(0, len(position_ids), chunk_size)
    ]


def run_chunked(
    position_ids: Sequence[int],
    fens: Sequence[str],
    parts_dir: Path,
    *,
    manifest: dict[str, Any],
    chunk_size: int,
    local: Callable[[], State],
    local_run: Callable[[Chunk, State], ChunkResult],
    worker_init: Callable[..., None],
    worker_initargs: tuple[Any, ...],
    worker_run: Callable[[Chunk], ChunkResult],
    workers: int,
    progress: bool,
    desc: str,
    pause: str,
) -> tuple[pa.Table, dict[str, int]]:
    """Turn every chunk of the positions into a table, resumably; returns their concatenation and
    the counts the chunks computed this time reported, summed (engine restarts, say).

    With ``workers`` > 1, a pool of forked processes each runs ``worker_init(*worker_initargs)``
    once, then ``worker_run`` on chunks; with one, ``local()`` builds the state (closed at the
    end) that ``local_run`` uses. ``pause``: the :func:`~simagents.faults.pause_point` reached
    after each chunk but the last. The manifest gets the positions' fingerprint and the chunk size.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers!r}")
    all_chunks = make_chunks(position_ids, fens, chunk_size)
    prepare_parts_dir(
        parts_dir,
        {
            **manifest,
            "chunk_size": chunk_size,
            "positions": len(position_ids),
            "fingerprint": fingerprint(position_ids, fens),
        },
    )
    todo = [c for c in all_chunks if not (parts_dir / chunk_name(c.index)).exists()]
    done = sum(len(c.position_ids) for c in all_chunks) - sum(len(c.position_ids) for c in todo)
    if len(todo) < len(all_chunks):
        log.info("resuming: %d of %d chunks (%d positions) already done in %s", len(all_chunks) - len(todo),
                 len(all_chunks), done, parts_dir)  # fmt: skip
    bar = tqdm(total=len(position_ids), initial=done, unit="pos", desc=desc, disable=not progress, mininterval=1.0)
    pool = None
    state: State | None = None
    totals: dict[str, int] = {}
    try:
        if workers > 1 and len(todo) > 1:
            # fork: workers inherit the code as it is (no re-import); each starts its own engines.
            pool = multiprocessing.get_context("fork").Pool(min(workers, len(todo)), worker_init, worker_initargs)
            results: Iterable[tuple[Chunk, ChunkResult]] = zip(todo, pool.imap(worker_run, todo))
        else:
            state = local()
            results = ((chunk, local_run(chunk, state)) for chunk in todo)
        for finished, (chunk, (table, counts)) in enumerate(results, start=1):
            write_parquet(table, parts_dir / chunk_name(chunk.index), compression="zstd")
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            bar.update(len(chunk.position_ids))
            if finished < len(todo):
                pause_point(pause)  # a chunk is on disk, others are not
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
        if state is not None:
            state.close()
    parts = [pq.read_table(parts_dir / chunk_name(c.index)) for c in all_chunks]
    if not parts:
        raise ValueError("no positions to work on")
    return pa.concat_tables(parts), totals
