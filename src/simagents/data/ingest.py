"""PGN files -> the games table, in parallel, with deterministic balancing and capping.

The parent process splits the byte stream into per-game chunks (cheap) and hands batches to
worker processes, which parse and replay the moves (expensive). Results come back in order, so
the output does not depend on the number of workers. Balancing by rating band and the overall
cap keep the games with the smallest seeded hash of their id: a deterministic sample that is
streamed with bounded memory and does not depend on the order of the input files.
"""

from __future__ import annotations

import hashlib
import heapq
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from ..prompts import rating_band
from .pgn import Chunk, ReadOptions, iter_chunks, open_binary, parse_chunks
from .table import DropLedger, GameRecord, records_to_table

BATCH_GAMES = 256  # chunks per worker task: large enough to amortise pickling, small for progress


@dataclass(frozen=True)
class Sampling:
    """Deterministic down-sampling (see ``data.balance_per_band`` and ``data.max_games``)."""

    seed: int = 0
    per_band: int | None = None
    band_edges: tuple[int, ...] = ()
    max_games: int | None = None
    max_games_scanned: int | None = None


def sampling_priority(seed: int, game_id: str) -> int:
    """A stable pseudo-random priority of a game (lower is kept first)."""
    digest = hashlib.blake2b(f"{seed}:{game_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _batches(chunks: Iterable[Chunk], size: int, limit: int | None) -> Iterator[list[Chunk]]:
    batch: list[Chunk] = []
    for seen, chunk in enumerate(chunks):
        if limit is not None and seen >= limit:
            break
        batch.append(chunk)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _mean_band(record: GameRecord, edges: Sequence[int]) -> str:
    ratings = [r for r in (record.white_rating, record.black_rating) if r is not None]
    return rating_band(round(sum(ratings) / len(ratings)) if ratings else None, edges)


class _Sampler:
    """Streams records through the per-band and overall caps, keeping the lowest priorities."""

    def __init__(self, sampling: Sampling, ledger: DropLedger) -> None:
        self.sampling = sampling
        self.ledger = ledger
        self.seen_ids: set[str] = set()
        self.bands: dict[str, list[tuple[int, str, GameRecord]]] = {}

    def add(self, record: GameRecord) -> None:
        if record.game_id in self.seen_ids:
            self.ledger.kept -= 1
            self.ledger.drop("duplicate_id", record.game_id)
            return
        self.seen_ids.add(record.game_id)
        band = _mean_band(record, self.sampling.band_edges) if self.sampling.per_band else "all"
        heap = self.bands.setdefault(band, [])
        # A max-heap on priority (negated) so the worst kept game is popped when over the cap.
        item = (-sampling_priority(self.sampling.seed, record.game_id), record.game_id, record)
        heapq.heappush(heap, item)
        if self.sampling.per_band is not None and len(heap) > self.sampling.per_band:
            _, dropped_id, _ = heapq.heappop(heap)
            self.ledger.kept -= 1
            self.ledger.drop("band_cap", dropped_id)

    def result(self) -> list[GameRecord]:
        kept = [item for heap in self.bands.values() for item in heap]
        kept.sort(key=lambda item: -item[0])
        if self.sampling.max_games is not None and len(kept) > self.sampling.max_games:
            for _, game_id, _ in kept[self.sampling.max_games :]:
                self.ledger.kept -= 1
                self.ledger.drop("max_games", game_id)
            kept = kept[: self.sampling.max_games]
        records = [item[2] for item in kept]
        records.sort(key=lambda r: r.game_id)
        return records


def ingest_pgn(
    paths: Sequence[Path],
    options_for: Sequence[ReadOptions],
    sampling: Sampling,
    workers: int = 1,
    progress: bool = True,
) -> tuple[pa.Table, DropLedger]:
    """Read PGN files into the games table.

    ``options_for[i]`` are the read options of ``paths[i]`` (each file has its own id prefix).
    Returns the table, sorted by game id, and the ledger of every game read, kept or dropped.
    """
    if len(paths) != len(options_for):
        raise ValueError("expected one ReadOptions per path")
    ledger = DropLedger()
    sampler = _Sampler(sampling, ledger)
    bar = tqdm(total=None, unit="games", desc="reading PGN", disable=not progress, mininterval=1.0)
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        scanned = 0
        for path, options in zip(paths, options_for):
            limit = None if sampling.max_games_scanned is None else sampling.max_games_scanned - scanned
            with open_binary(path) as stream:
                batches = _batches(iter_chunks(stream), BATCH_GAMES, limit)
                parse = partial(_parse_batch, options=options)
                results = pool.imap(parse, batches) if pool else map(parse, batches)
                for records, batch_ledger in results:
                    ledger.merge(batch_ledger)
                    scanned += batch_ledger.read
                    for record in records:
                        sampler.add(record)
                    bar.update(batch_ledger.read)
                    bar.set_postfix(kept=ledger.kept, dropped=ledger.total_dropped, refresh=False)
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    records = sampler.result()
    return records_to_table(records), ledger


def _parse_batch(chunks: list[Chunk], options: ReadOptions) -> tuple[list[GameRecord], DropLedger]:
    return parse_chunks(chunks, options)


def default_workers() -> int:
    """Processes to use when neither Snakemake nor the user says: the cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)))
