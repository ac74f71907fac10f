"""Benchmark: PGN ingestion plus position encoding, in plies per second, against a plain loop.

    python benchmarks/ingest.py --out results/bench/ingest.md [--games N] [--pgn FILE]

In one run, on the same PGN file, it measures

* the plain loop: ``chess.pgn.read_game`` and ``board.push`` over every mainline move;
* simagents' ingestion (PGN -> games table, :func:`simagents.data.ingest.ingest_pgn`) plus
  encoding (games table -> position arrays on disk, :func:`simagents.positions.build_positions`),
  with 1 worker (CPU seconds, children included: the per-core cost) and with 2 workers (wall
  clock: the scaling);
* for reference, the same pipeline on python-chess (``parse_san``/``push`` ingestion and
  ``push``-based encoding, as before the fast paths) and ``pgn-extract -Wuci`` alone;

and prints a Markdown table of plies/s and ratios to the plain loop, with machine information,
which it also writes to ``--out``. Each timing is the median of ``--repeats`` runs.

With ``--pgn FILE`` (plain, ``.zst``, ``.bz2`` or ``.gz``) it benchmarks the games of the file that
ingestion keeps: the games it drops (unfinished, duplicates, illegal moves, ...) are counted by
reason in the report and left out of the file every pipeline reads, so that all of them see the
same games and plies. Without ``--pgn`` it plays the games: Stockfish at low node counts (1 to 128 nodes a move)
against itself or a random mover, after 2-6 random opening plies, with lichess-style tags and,
in every other game, lichess ``[%clk]`` comments. The games are cached (zstd) under
``<out dir>/cache/``. Without Stockfish a seeded random-ish mover (captures preferred) plays.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import chess
import chess.pgn
import numpy as np
import zstandard
from _machine import _cpu_model, _version  # sibling module: benchmarks/ is on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_replay import replay_uci_python_chess  # the tests' python-chess oracle

import simagents
from simagents import positions as positions_module
from simagents.config import load_config
from simagents.data import ingest as ingest_module
from simagents.data.ingest import Sampling, ingest_pgn
from simagents.data.pgn import HumanFilters, ReadOptions, iter_chunks, open_binary, parse_chunk, parse_chunks
from simagents.data.table import DropLedger
from simagents.positions import _encode_games as _encode_games_lean  # bound before any patching
from simagents.positions import build_positions
from simagents.prompts import rating_band_names, vocabulary

ROOT = Path(__file__).resolve().parents[1]
MAX_PLIES = 200
NODES = (1, 8, 32, 128)


# ---------------------------------------------------------------------------------------------
# games


def _game_rng(seed: int, index: int) -> random.Random:
    digest = hashlib.blake2b(f"bench:{seed}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


class _Stockfish:
    """A bare UCI pipe (python-chess's engine wrapper costs more than the low-node searches)."""

    def __init__(self, path: str) -> None:
        self.process = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.send("uci")
        self.wait("uciok")
        self.send("setoption name Threads value 1")
        self.send("setoption name Hash value 16")
        self.send("isready")
        self.wait("readyok")

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait(self, prefix: str) -> str:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("Stockfish exited")
            if line.startswith(prefix):
                return line

    def best(self, moves: list[str], nodes: int) -> str:
        self.send("position startpos moves " + " ".join(moves))
        self.send(f"go nodes {nodes}")
        return self.wait("bestmove").split()[1]

    def close(self) -> None:
        self.send("quit")
        self.process.wait(timeout=10)


_engine: _Stockfish | None = None


def _random_ish(board: chess.Board, rng: random.Random) -> chess.Move:
    moves = list(board.legal_moves)
    captures = [m for m in moves if board.is_capture(m)]
    return rng.choice(captures) if captures and rng.random() < 0.6 else rng.choice(moves)


def _clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def play_game(index: int, seed: int, engine_path: str | None) -> str:
    """One game as lichess-style PGN text (deterministic given the seed, up to Stockfish)."""
    global _engine
    rng = _game_rng(seed, index)
    if engine_path and _engine is None:
        _engine = _Stockfish(engine_path)
    players = []
    for _ in range(2):
        if engine_path and rng.random() < 0.85:
            players.append(rng.choice(NODES))
        else:
            players.append(0)  # the random-ish mover
    if _engine is not None:
        _engine.send("ucinewgame")
    board = chess.Board()
    uci: list[str] = []
    sans: list[str] = []
    opening = rng.randint(2, 6)
    while board.outcome() is None and board.ply() < MAX_PLIES:
        nodes = players[board.ply() % 2]
        if board.ply() < opening or not nodes or _engine is None:
            move = _random_ish(board, rng) if board.ply() >= opening else rng.choice(list(board.legal_moves))
        else:
            move = chess.Move.from_uci(_engine.best(uci, nodes))
        sans.append(board.san(move))
        uci.append(move.uci())
        board.push(move)
    outcome = board.outcome()
    result = outcome.result() if outcome is not None else "1/2-1/2"
    clocks = index % 2 == 1
    remaining = [180.0, 180.0]
    parts = []
    for ply, san in enumerate(sans):
        if ply % 2 == 0:
            parts.append(f"{ply // 2 + 1}.")
        elif clocks:
            parts.append(f"{ply // 2 + 1}...")
        parts.append(san)
        if clocks:
            side = ply % 2
            remaining[side] = max(1.0, remaining[side] - rng.expovariate(1 / 3.0) + 2)
            parts.append(f"{{ [%clk {_clock(remaining[side])}] }}")
    parts.append(result)
    white_elo, black_elo = rng.randint(800, 2600), rng.randint(800, 2600)
    tags = [
        ("Event", "Rated Blitz game"),
        ("Site", f"https://lichess.org/b{seed % 100:02d}{index:06d}"),
        ("Date", "2024.01.01"),
        ("Round", "-"),
        ("White", f"player{rng.randrange(10**6)}"),
        ("Black", f"player{rng.randrange(10**6)}"),
        ("Result", result),
        ("UTCDate", "2024.01.01"),
        ("UTCTime", f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"),
        ("WhiteElo", str(white_elo)),
        ("BlackElo", str(black_elo)),
        ("WhiteRatingDiff", f"{rng.randint(-9, 9):+d}"),
        ("BlackRatingDiff", f"{rng.randint(-9, 9):+d}"),
        ("ECO", "A00"),
        ("Opening", "?"),
        ("TimeControl", "180+2"),
        ("Termination", "Normal" if outcome is not None else "Time forfeit"),
    ]
    header = "".join(f'[{name} "{value}"]\n' for name, value in tags)
    return f"{header}\n{' '.join(parts)}\n\n"


def _play_range(args: tuple[int, int, int, str | None]) -> list[str]:
    start, stop, seed, engine_path = args
    return [play_game(i, seed, engine_path) for i in range(start, stop)]


def generate_pgn(games: int, seed: int, engine_path: str | None, workers: int) -> str:
    tasks = [(s, min(games, s + 50), seed, engine_path) for s in range(0, games, 50)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        texts = [t for batch in pool.imap(_play_range, tasks) for t in batch]
    return "".join(texts)


def find_engine() -> str | None:
    for candidate in (os.environ.get("SIMAGENTS_STOCKFISH"), shutil.which("stockfish"), "/usr/games/stockfish"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_pgn_extract() -> str | None:
    found = shutil.which("pgn-extract")
    if found:
        return found
    return "/usr/games/pgn-extract" if os.access("/usr/games/pgn-extract", os.X_OK) else None


# ---------------------------------------------------------------------------------------------
# the pipelines measured


def kept_games(data: bytes, options: ReadOptions) -> tuple[bytes, DropLedger]:
    """The games of ``data`` that ingestion keeps, as PGN (LF line ends), and the ledger of all.

    Each game is read as :func:`~simagents.data.ingest.ingest_pgn` reads it, copies (same id, or
    same players, date and moves) dropped after the first as it drops them.
    """
    ledger = DropLedger()
    ids: set[str] = set()
    contents: set[bytes] = set()
    parts = []
    for chunk in iter_chunks(io.BytesIO(data)):
        record = parse_chunk(chunk, options, ledger)
        if record is None:
            continue
        if record.game_id in ids or record.content in contents:
            ledger.kept -= 1
            ledger.drop("duplicate_id" if record.game_id in ids else "duplicate_game", record.game_id)
            continue
        ids.add(record.game_id)
        contents.add(record.content)
        parts.append(b"\n".join(chunk.tag_lines) + b"\n\n" + b"\n".join(chunk.move_lines) + b"\n\n")
    return b"".join(parts), ledger


def plain_loop(path: Path) -> int:
    plies = 0
    with open(path, encoding="utf-8") as handle:
        while (game := chess.pgn.read_game(handle)) is not None:
            board = game.board()
            for move in game.mainline_moves():
                board.push(move)
                plies += 1
    return plies


def _encode_games_python_chess(task, skip_plies):  # type: ignore[no-untyped-def]
    """The encoder on python-chess push + raw_board (as before the lean replay), for reference."""
    return _encode_games_lean(task, skip_plies, replay=replay_uci_python_chess)


class Pipeline:
    """simagents' ingestion and encoding of one file (fast paths, or python-chess for reference)."""

    def __init__(self, path: Path, work: Path, band_edges: tuple[int, ...]) -> None:
        self.path = path
        self.work = work
        self.options = self.read_options(band_edges)
        self.vocabulary = vocabulary(rating_band_names(band_edges))
        self.table = None
        self.runs = 0

    @staticmethod
    def read_options(band_edges: tuple[int, ...]) -> ReadOptions:
        return ReadOptions(
            source="lichess", prompt_mode="rating_band", band_edges=band_edges, filters=HumanFilters(min_plies=0)
        )

    def ingest(self, workers: int) -> int:
        table, ledger = ingest_pgn([self.path], [self.options], Sampling(), workers=workers, progress=False)
        if ledger.kept != ledger.read:
            # kept_games() has already left out every game that ingestion drops
            raise RuntimeError(f"the benchmark file should be read in full: {ledger.to_dict()}")
        self.table = table
        return int(sum(table.column("plies").to_pylist()))

    def encode(self, workers: int) -> int:
        assert self.table is not None
        self.runs += 1
        out = self.work / f"positions-{self.runs}"
        meta = build_positions(
            self.table,
            self.vocabulary,
            out,
            seed=0,
            skip_plies=0,
            split=(0.8, 0.1, 0.1),
            workers=workers,
            progress=False,
        )
        shutil.rmtree(out)
        return sum(split["positions"] for split in meta["splits"].values())

    def both(self, workers: int) -> int:
        plies = self.ingest(workers)
        positions = self.encode(workers)
        if positions != plies:
            raise RuntimeError(f"{plies} plies ingested but {positions} positions encoded")
        return plies


def _parse_batch_python_chess(chunks, options):
    return parse_chunks(chunks, options, fast_san=False)


class python_chess_paths:
    """Context: the pipeline as it was before the fast paths (python-chess SAN replay and push)."""

    def __enter__(self) -> None:
        self.saved = ingest_module._parse_batch, positions_module._encode_games
        ingest_module._parse_batch = _parse_batch_python_chess  # type: ignore[assignment]
        positions_module._encode_games = _encode_games_python_chess  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        ingest_module._parse_batch, positions_module._encode_games = self.saved  # type: ignore[assignment]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(run: Callable[[], int], repeats: int) -> tuple[int, float, float]:
    """(plies, median wall seconds, median CPU seconds of this process and its children)."""
    walls, cpus = [], []
    plies = run()  # warm-up, untimed: imports, caches, page cache
    for _ in range(repeats):
        wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        plies = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu + _children_cpu() - children)
    return plies, statistics.median(walls), statistics.median(cpus)


def measure_pgn_extract(binary: str, path: Path, repeats: int) -> float:
    """Median CPU seconds of ``pgn-extract -Wuci`` converting the file (SAN -> UCI only)."""
    cpus = []
    for _ in range(repeats):
        before = _children_cpu()
        subprocess.run(
            [
                binary,
                "-Wuci",
                "--nomovenumbers",
                "--nochecks",
                "-C",
                "-N",
                "-V",
                "-s",
                "-w100000",
                "-o",
                os.devnull,
                str(path),
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        cpus.append(_children_cpu() - before)
    return statistics.median(cpus)


# ---------------------------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "ingest.md")
    parser.add_argument("--games", type=int, default=3000, help="games to generate (without --pgn)")
    parser.add_argument("--pgn", type=Path, help="benchmark this PGN file instead of generated games")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the median is reported")
    parser.add_argument("--no-reference", action="store_true", help="skip the python-chess reference rows")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    engine = find_engine()
    pgn_extract = find_pgn_extract()
    work = Path(tempfile.mkdtemp(prefix="simagents-bench-"))
    try:
        band_edges = tuple(load_config(ROOT / "config" / "default.yaml").data.rating_band_edges)
        if args.pgn is not None:
            source = args.pgn
            with open_binary(source) as stream:
                data, ledger = kept_games(stream.read(), Pipeline.read_options(band_edges))
            dropped = ", ".join(f"{k} {v}" for k, v in ledger.dropped.most_common()) or "none"
            described = (
                f"`{source}` (given): {ledger.read} games read, {ledger.kept} kept and benchmarked, "
                f"{ledger.total_dropped} dropped and left out (dropped: {dropped})"
            )
            if ledger.kept == 0:
                raise SystemExit(f"{source}: no game kept of {ledger.read} read (dropped: {dropped})")
        else:
            generator = "stockfish" if engine else "random"
            cache = args.out.parent / "cache" / f"games-{generator}-{args.games}-seed{args.seed}.pgn.zst"
            if cache.exists():
                data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(cache.read_bytes())).read()
                note = "cached"
            else:
                t0 = time.perf_counter()
                workers = max(1, len(os.sched_getaffinity(0)))
                data = generate_pgn(args.games, args.seed, engine, workers).encode()
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_bytes(zstandard.ZstdCompressor(level=10).compress(data))
                note = f"generated in {time.perf_counter() - t0:.0f} s"
            shown = cache.resolve().relative_to(ROOT) if cache.resolve().is_relative_to(ROOT) else cache
            if engine:
                described = (
                    f"{args.games} games played by Stockfish at {'/'.join(map(str, NODES))} nodes a "
                    f"move against itself or a random-ish mover (15% of sides), after 2-6 random "
                    f"opening plies, ply cap {MAX_PLIES}; lichess-style tags, `[%clk]` comments in "
                    f"every other game ({note}; cache `{shown}`)"
                )
            else:
                described = (
                    f"{args.games} games of a seeded random-ish mover (captures preferred), ply cap "
                    f"{MAX_PLIES}; lichess-style tags, `[%clk]` comments in every other game ({note})"
                )
        path = work / "games.pgn"
        path.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()[:16]

        pipeline = Pipeline(path, work, band_edges)
        rows: list[tuple[str, int, float, float]] = []  # label, plies, wall, cpu

        print("plain loop ...", file=sys.stderr)
        plies, wall, cpu = measure(lambda: plain_loop(path), args.repeats)
        games = data.count(b'\n[Event "') + data.startswith(b'[Event "')
        rows.append(("plain loop: `chess.pgn.read_game` + `board.push` (1 process)", plies, wall, cpu))
        plain_rate = plies / cpu
        total_plies = plies

        print("simagents, 1 worker ...", file=sys.stderr)
        measured = {}
        for label, run in (
            ("simagents ingestion (PGN -> games table), 1 worker", lambda: pipeline.ingest(1)),
            ("simagents encoding (games table -> position arrays), 1 worker", lambda: pipeline.encode(1)),
            ("**simagents ingestion + encoding, 1 worker**", lambda: pipeline.both(1)),
        ):
            plies, wall, cpu = measure(run, args.repeats)
            if plies != total_plies:
                raise RuntimeError(f"{label}: {plies} plies, plain loop {total_plies}")
            rows.append((label, plies, wall, cpu))
            measured[label] = (wall, cpu)
        one_wall = measured["**simagents ingestion + encoding, 1 worker**"][0]
        one_cpu = measured["**simagents ingestion + encoding, 1 worker**"][1]

        print("simagents, 2 workers ...", file=sys.stderr)
        plies, two_wall, two_cpu = measure(lambda: pipeline.both(2), args.repeats)
        rows.append(("**simagents ingestion + encoding, 2 workers**", plies, two_wall, two_cpu))

        if not args.no_reference:
            print("python-chess reference ...", file=sys.stderr)
            with python_chess_paths():
                plies, wall, cpu = measure(lambda: pipeline.both(1), args.repeats)
            rows.append(
                ("reference: the same pipeline on python-chess `parse_san`/`push` (before), 1 worker", plies, wall, cpu)
            )
        extract_cpu = measure_pgn_extract(pgn_extract, path, args.repeats) if pgn_extract else None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cores = len(os.sched_getaffinity(0))
    lines = [
        "# Ingestion + encoding benchmark",
        "",
        (
            f"Command: `python benchmarks/ingest.py {' '.join(argv if argv is not None else sys.argv[1:])}` "
            f"({time.strftime('%Y-%m-%d %H:%M %Z')}, {time.perf_counter() - started:.0f} s in all)."
        ),
        "",
        (
            f"Input: {described}. {games} games, {total_plies} plies ({total_plies / max(games, 1):.0f} a game), "
            f"{len(data) / 1e6:.1f} MB, sha256 `{digest}`."
        ),
        "",
        "| pipeline | plies/s per CPU second | x plain loop (per core) | wall s | plies/s wall | x plain loop (wall) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, plies, wall, cpu in rows:
        lines.append(
            f"| {label} | {plies / cpu:,.0f} | {plies / cpu / plain_rate:.2f} | {wall:.2f} | "
            f"{plies / wall:,.0f} | {plies / wall / (total_plies / rows[0][2]):.2f} |"
        )
    if extract_cpu is not None:
        lines.append(
            f"| reference: `pgn-extract -Wuci` alone (SAN -> UCI only, no checks, no encoding) | "
            f"{total_plies / extract_cpu:,.0f} | {total_plies / extract_cpu / plain_rate:.2f} | | | |"
        )
    per_core = total_plies / one_cpu / plain_rate
    lines += [
        "",
        (
            f"Per core, ingestion + encoding runs at **{per_core:.2f}x** the plain loop "
            f"(target: at least 2x; {'met' if per_core >= 2 else 'NOT met'}). "
            f"From 1 to 2 worker processes the wall-clock throughput goes from {total_plies / one_wall:,.0f} to "
            f"{total_plies / two_wall:,.0f} plies/s (**{one_wall / two_wall:.2f}x**) on {cores} cores."
        ),
        "",
        (
            "How it is measured: each timing is the median of "
            f"{args.repeats} runs (after one untimed warm-up run) on the same file in the same process. "
            '"Per CPU second" divides the plies by the CPU time of this process plus its worker processes '
            "and subprocesses (`resource.getrusage(RUSAGE_CHILDREN)`); the plain loop is one process, so its CPU and wall "
            "times agree. Ingestion is `ingest_pgn` (chunking, tag filters, SAN replay, sampling, the Arrow "
            "table); encoding is `build_positions` (replay, encoding, writing the `.npy` arrays to a "
            "temporary folder). Every game is kept (no ply minimum; a given file is first reduced to the games "
            "ingestion keeps), so all pipelines see the same plies. "
            "The 2-worker run also counts its parent process, which splits chunks and writes arrays."
        ),
        "",
        (
            "Why no pgn-extract: it converts SAN to UCI faster than the lean Python board of "
            "`simagents.data.san` (last row), but SAN resolution is only part of ingestion's cost (the "
            "tokenizer, tags and table remain), so it would save a fraction of a microsecond a ply while adding a "
            "subprocess per batch and a second SAN interpreter whose verdicts differ from python-chess's "
            "(it reads `exd8` as a queen promotion, which python-chess rejects) and would all need reconciling."
        ),
        "",
        (
            "Machine: "
            f"{cores} cores available ({os.cpu_count()} online), {_cpu_model()}; {platform.platform()}; "
            f"Python {platform.python_version()}; python-chess {chess.__version__}; numpy {np.__version__}; "
            f"simagents {simagents.__version__}; "
            f"Stockfish: {_version([engine]) if engine else 'absent'}; "
            f"pgn-extract: {_version([pgn_extract, '--version']) if pgn_extract else 'absent'} "
            "(not used by simagents; timed for reference only)."
        ),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
