"""PGN files -> the games table, in parallel, with deterministic balancing and capping.

The parent process splits the byte stream into per-game chunks (cheap) and hands batches to
worker processes, which parse and replay the moves (expensive). Results come back in order, so
the output does not depend on the number of workers. Balancing by rating band and the overall
cap keep the games with the smallest seeded hash of their id: a deterministic sample that is
streamed with bounded memory and does not depend on the order of the input files (copies of one
game aside: the first copy in file order is the one kept, see below).

Checks on whole files, each a one-line :class:`InputError` naming the file:

* a file that *ended early* (a cut or damaged compressed stream, a read error, or a last game
  that stops mid-movetext) stops the stage, saying how many whole games were read before the
  damage; with ``keep_ended_early`` (``data.input_ended_early: keep``) the games read are kept
  and the file is listed in the ledger's ``input_ended_early`` (and so in the data summary);
* a file with no game in it (empty, or text without a tag section) stops the stage;
* so does a run in which every game read was dropped.

Copies of one game (same players, date and moves: :func:`~.pgn.content_key`) are dropped as
``duplicate_game`` after the first, with ``dedupe_games`` (on for human sources, off for the
synthetic population, whose games are independent plays that may coincide, not copies). The
first copy is kept, so no game can sit on both sides of the train/test split.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
from tqdm import tqdm

from ..prompts import rating_band
from .pgn import READ_ERRORS, Chunk, ReadOptions, chunk_is_cut, iter_chunks, open_binary, parse_chunks
from .table import DropLedger, GameRecord, records_to_table

log = logging.getLogger(__name__)

BATCH_GAMES = 256  # chunks per worker task: large enough to amortise pickling, small for progress


@dataclass(frozen=True)
class Sampling:
    """Deterministic down-sampling (see ``data.balance_per_band`` and ``data.max_games``)."""

    seed: int = 0
    per_band: int | None = None
    band_edges: tuple[int, ...] = ()
    max_games: int | None = None
    max_games_scanned: int | None = None
    #: Drop copies of a game already kept (same players, date and moves) as ``duplicate_game``.
    dedupe_games: bool = True


class InputError(ValueError):
    """An input file that cannot be used as it is (cut off, damaged, empty); one line naming it."""


_FORMATS = {".zst": "zstd", ".bz2": "bzip2", ".gz": "gzip"}


@dataclass
class _FileScan:
    """The chunks of one input file, and how the reading ended: at the end, or at a read error.

    The pool's task thread consumes :meth:`chunks`; once the last result is in, ``finished``,
    ``error`` and ``last`` say whether the file was read to its end and what its last chunk was.
    """

    stream: BinaryIO
    finished: bool = False
    error: BaseException | None = None
    last: Chunk | None = None

    def _lines(self) -> Iterator[bytes]:
        try:
            yield from self.stream
        except READ_ERRORS as error:  # cut or damaged: the chunks read so far stand; ingest_pgn decides
            self.error = error
        self.finished = True

    def chunks(self) -> Iterator[Chunk]:
        for chunk in iter_chunks(self._lines()):
            if chunk.at_end_of_file:
                self.last = chunk
            yield chunk


def _ended_early(scan: _FileScan, path: Path) -> tuple[str, bool] | None:
    """What is wrong with a file read to its end and whether it is a cut (not other damage), or
    None if it ended cleanly."""
    kind = _FORMATS.get(path.suffix.lower())
    if scan.error is not None:
        if isinstance(scan.error, EOFError):
            return f"the {kind or 'file'} stream is cut off ({scan.error})", True
        what = f"the {kind} data is damaged" if kind else "reading the file failed"
        return f"{what} ({type(scan.error).__name__}: {scan.error})", False
    if scan.last is not None and chunk_is_cut(scan.last):
        return "its last game stops mid-game, without its result token (a file cut short?)", True
    return None


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
        self.first_copy: dict[bytes, str] = {}  # content key -> id of the copy kept
        self.bands: dict[str, list[tuple[int, str, GameRecord]]] = {}

    def add(self, record: GameRecord) -> None:
        if record.game_id in self.seen_ids:
            self.ledger.kept -= 1
            self.ledger.drop("duplicate_id", record.game_id)
            return
        if self.sampling.dedupe_games:
            # Before the caps, so that every copy is counted whichever copy a cap would keep.
            first = self.first_copy.setdefault(record.content, record.game_id)
            if first != record.game_id:
                self.ledger.kept -= 1
                self.ledger.drop("duplicate_game", f"{record.game_id} = {first}")
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
    keep_ended_early: bool = False,
) -> tuple[pa.Table, DropLedger]:
    """Read PGN files into the games table.

    ``options_for[i]`` are the read options of ``paths[i]`` (each file has its own id prefix).
    Returns the table, sorted by game id, and the ledger of every game read, kept or dropped.
    Raises :class:`InputError` for a file that ended early (unless ``keep_ended_early``), a file
    with no game, and a run that kept no game (see the module docstring).
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
            read_before, outside_before = ledger.read, ledger.dropped["text_outside_game"]
            with open_binary(path) as stream:
                scan = _FileScan(stream)
                batches = _batches(scan.chunks(), BATCH_GAMES, limit)
                parse = partial(_parse_batch, options=options)
                results = pool.imap(parse, batches) if pool else map(parse, batches)
                for records, batch_ledger in results:
                    ledger.merge(batch_ledger)
                    scanned += batch_ledger.read
                    for record in records:
                        sampler.add(record)
                    bar.update(batch_ledger.read)
                    bar.set_postfix(kept=ledger.kept, dropped=ledger.total_dropped, refresh=False)
            if scan.finished:  # read to its end (not stopped by max_games_scanned)
                _check_file(path, options, scan, ledger, read_before, outside_before, keep_ended_early)
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    records = sampler.result()
    if paths and not records and (sampling.max_games_scanned is None or ledger.read):
        dropped = ", ".join(f"{k}: {v}" for k, v in ledger.dropped.most_common()) or "none"
        raise InputError(
            f"{', '.join(map(str, paths))}: no game kept of the {ledger.read} read (dropped: {dropped}); "
            "loosen data.filters or give other files"
        )
    return records_to_table(records), ledger


def _check_file(
    path: Path,
    options: ReadOptions,
    scan: _FileScan,
    ledger: DropLedger,
    read_before: int,
    outside_before: int,
    keep_ended_early: bool,
) -> None:
    """Raise :class:`InputError` for a file that ended early (or record it) or holds no game."""
    read = ledger.read - read_before
    ended = _ended_early(scan, path)
    if ended is not None:
        problem, cut = ended
        # The partial game at the cut was read (and dropped as truncated): it is not a whole game.
        whole = read - (1 if scan.last is not None and chunk_is_cut(scan.last) else 0)
        if cut:
            what = f"{path}: input ended early after {whole} whole games: {problem}"
        else:  # found where the decompressor noticed it, after what it had already passed on
            what = (
                f"{path}: input ended early: {problem}, found after {whole} games were read (games read just "
                "before it may be garbled)"
            )
        if not keep_ended_early:
            if not whole:
                raise InputError(f"{what}. Re-download or re-copy the file: no whole game could be read from it")
            raise InputError(
                f"{what}. Re-download or re-copy the file, or set data.input_ended_early: keep to keep the "
                f"{whole} games read so far (the data summary then records it)"
            )
        log.warning("%s; keeping the %d games read, as data.input_ended_early: keep asks", what, whole)
        ledger.input_ended_early.append({"file": str(path), "problem": problem, "games_read": whole})
        return
    outside = ledger.dropped["text_outside_game"] - outside_before
    if read - outside == 0:
        what = "the file is empty" if read == 0 else f"{outside} blocks of text, none with a PGN tag section"
        where = " in data.pgn.paths" if options.source == "pgn" else ""
        raise InputError(f"{path}: no PGN game in it ({what}); check the file{where} or leave it out")


def _parse_batch(chunks: list[Chunk], options: ReadOptions) -> tuple[list[GameRecord], DropLedger]:
    return parse_chunks(chunks, options)


def default_workers() -> int:
    """Processes to use when neither Snakemake nor the user says: the cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)))
