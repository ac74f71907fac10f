"""Benchmark: simulator training throughput, and Stockfish action values against the raw engine.

    python benchmarks/simulator.py --out results/bench/simulator.md [--games N] [--steps N]
                                   [--positions N] [--nodes N] [--repeats N]

In one run, on the same data (so that ratios are not spoiled by a noisy, shared machine), it measures

* **training**: :func:`simagents.models.train.train_simulator` on position shards built by
  :func:`simagents.positions.build_positions` from ``--games`` random-vs-greedy games (played
  here, no Stockfish), with the default CPU network (``mlp``, 2 x 512) and batches of 1,024: the
  positions per second and the share of the time spent loading data (target: under 10%), as
  ``train_simulator`` reports them. A second, shorter run (a quarter of the steps) is subtracted
  from the first to give the same two numbers per step, without the fixed costs of a call (first
  step, final validation, checkpoints). For reference, the same network's forward, backward and
  AdamW step on one batch held in memory (no data loading at all) gives the compute-only rate,
  timed in three bursts of ``--reference-steps`` steps (before, between and after the training
  runs; the median is used). Rates are given per wall second and per CPU second of the process;
* **the tactics head**: the default network (``config/default.yaml``'s simulator: 2 x 512 with
  both prompt levers) with and without its tactics head (``tactics_width`` 64), on the same
  validation positions: one training step (forward with the legal masks, backward, AdamW; batch
  1,024) and one policy call as play and search make it (``action_logits`` on each position's
  legal actions, no gradient) on 1, 8, 32 and 256 positions; the two networks take turns in
  ``--repeats`` bursts and the medians are compared, so the ratio is the head's cost;
* **action values**: :func:`simagents.evaluation.action_values.compute_action_values` (1 worker,
  1 search thread) on ``--positions`` evaluation positions sampled by
  :func:`simagents.evaluation.eval_positions.select_eval_positions` from the test games, at
  ``--nodes`` nodes a position, against raw Stockfish driven by python-chess on the same FENs
  with the same budget and settings (1 thread, 16 MB hash): ``analyse(multipv=<legal moves>)``
  with ``ucinewgame`` before each position (what ``compute_action_values`` asks of the engine),
  the same without ``ucinewgame``, and a plain single-PV search.

Stockfish's nodes inside ``compute_action_values`` are counted by wrapping python-chess's
``SimpleEngine.analyse`` for the duration of that call (the wrapper reads the ``nodes`` and
``time`` of the returned info; it sends nothing to the engine). Every Stockfish wall time runs
from starting the engine to its exit, so all rows pay for one engine start; each is the median
of ``--repeats`` runs, the methods taking turns. The scores of ``compute_action_values`` are
checked against the raw MultiPV search with ``ucinewgame`` (with one thread and a cleared hash
they should be identical).

It prints a Markdown table with machine information, which it also writes to ``--out``.
Intermediate files go to a temporary folder, deleted at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chess
import chess.engine
import numpy as np
import pyarrow as pa
import torch
from _machine import _cpu_model, _version  # sibling module: benchmarks/ is on sys.path

import simagents
from simagents.config import load_config
from simagents.data.table import GameRecord, records_to_table
from simagents.encoding import NUM_ACTIONS, NUM_INPUT_PLANES
from simagents.evaluation.action_values import compute_action_values
from simagents.evaluation.eval_positions import select_eval_positions
from simagents.games import GameSpec, play_games
from simagents.models.network import NetworkConfig, Simulator
from simagents.models.train import TrainConfig, batch_tensors, simulator_configs, train_simulator
from simagents.policies import GreedyMaterial, RandomMover
from simagents.positions import build_positions, load_split
from simagents.prompts import vocabulary
from simagents.stockfish import find_stockfish

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ("random", "greedy")
BATCH = 1024
HIDDEN, LAYERS = 512, 2
VAL_POSITIONS = 1024
HASH_MB = 16
NEVER = 10**9  # eval_every / checkpoint_every: only the final evaluation and checkpoint


# ---------------------------------------------------------------------------------------------
# data


def play_table(games: int, seed: int, max_plies: int) -> pa.Table:
    """A games table of random-vs-greedy games, colours alternating (as tests/conftest.py builds it)."""
    specs = [
        GameSpec("random", "greedy", "random", "greedy", seed=seed * 100_000 + i)
        if i % 2
        else GameSpec("greedy", "random", "greedy", "random", seed=seed * 100_000 + i)
        for i in range(games)
    ]
    played = play_games(specs, {"random": RandomMover(), "greedy": GreedyMaterial()}, max_plies=max_plies)
    return records_to_table(
        [
            GameRecord(
                game_id=f"g{i:06d}",
                source="synthetic",
                white=g.spec.white,
                black=g.spec.black,
                white_rating=None,
                black_rating=None,
                white_prompt=g.spec.white_prompt,
                black_prompt=g.spec.black_prompt,
                result=g.result,
                termination=g.termination,
                time_control="-",
                moves=" ".join(g.moves),
                plies=g.plies,
            )
            for i, g in enumerate(played)
        ]
    )


# ---------------------------------------------------------------------------------------------
# the tactics head's cost

CALL_BATCHES = (1, 8, 32, 256)
TACTICS_WIDTH = 64  # the width trialled in config/default.yaml (simulator.tactics_width)


def default_network(num_prompts: int, tactics_width: int) -> NetworkConfig:
    """config/default.yaml's simulator network (read from it), with the given tactics head (0 = none)."""
    network, _ = simulator_configs(load_config(ROOT / "config" / "default.yaml").simulator, num_prompts, seed=0)
    return dataclasses.replace(network, tactics_width=tactics_width)


def tactics_costs(positions_dir: Path, num_prompts: int, repeats: int, seed: int) -> dict[str, dict[str, float]]:
    """Median seconds of a training step (key ``"train"``) and of a policy call on ``B``
    positions (``"call B"``) of the default network without (``"off"``) and with (``"on"``) the
    tactics head, the two taking turns in ``repeats`` bursts, on one batch of validation positions."""
    split = load_split(positions_dir, "val")
    count = len(split["move"])
    rows = np.random.default_rng(seed).choice(count, size=min(BATCH, count), replace=False)
    planes, own, opponent, move, _, legal = batch_tensors(split, rows, torch.device("cpu"))
    # Each position's legal actions, padded with its first one (what play and search pass).
    lists = [torch.nonzero(row).squeeze(1) for row in legal[: max(CALL_BATCHES)]]
    width = max(len(a) for a in lists)
    actions = torch.stack([torch.cat([a, a[:1].expand(width - len(a))]) for a in lists])
    models = {}
    for name, tactics in (("off", 0), ("on", TACTICS_WIDTH)):
        torch.manual_seed(seed)
        model = Simulator(default_network(num_prompts, tactics))
        models[name] = (model, torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1))

    def train_step(name: str) -> None:
        model, optimizer = models[name]
        model.train()
        logits, _ = model(planes, own, opponent, legal)
        loss = torch.nn.functional.cross_entropy(logits.masked_fill(~legal, float("-inf")), move)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def call(name: str, batch: int) -> None:
        model, _ = models[name]
        model.eval()
        with torch.no_grad():
            model.action_logits(planes[:batch], own[:batch], opponent[:batch], actions[:batch])

    def timed(function: Callable[[], None], calls: int) -> float:
        function()  # warm-up, untimed
        started = time.perf_counter()
        for _ in range(calls):
            function()
        return (time.perf_counter() - started) / calls

    samples: dict[str, dict[str, list[float]]] = {"off": {}, "on": {}}
    for _ in range(repeats):
        for name in ("off", "on"):
            samples[name].setdefault("train", []).append(timed(functools.partial(train_step, name), 3))
            for batch in CALL_BATCHES:
                calls = max(5, 1000 // batch)
                samples[name].setdefault(f"call {batch}", []).append(timed(functools.partial(call, name, batch), calls))
    return {name: {key: statistics.median(v) for key, v in by.items()} for name, by in samples.items()}


# ---------------------------------------------------------------------------------------------
# training


@dataclass
class TrainRun:
    steps: int
    wall: float  # the whole call, loading the shards and building the model included
    cpu: float  # CPU seconds of this process (all threads) over the whole call
    summary: dict[str, Any]

    @property
    def elapsed(self) -> float:
        """train_simulator's own elapsed time (its loop, final evaluation and checkpoints)."""
        return self.steps * BATCH / self.summary["positions_per_second"]

    @property
    def loading(self) -> float:
        return self.summary["data_loading_share"] * self.elapsed


def train_run(positions_dir: Path, out_dir: Path, network: NetworkConfig, steps: int, seed: int) -> TrainRun:
    train = TrainConfig(
        seed=seed, steps=steps, batch_size=BATCH, eval_every=NEVER, checkpoint_every=NEVER, val_positions=VAL_POSITIONS
    )
    if out_dir.exists():
        raise RuntimeError(f"{out_dir} exists: train_simulator would resume from it")
    started, cpu = time.perf_counter(), time.process_time()
    summary = train_simulator(positions_dir, out_dir, network, train, progress=False)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if summary["steps"] != steps or not summary["finished"]:
        raise RuntimeError(f"train_simulator ran {summary['steps']} steps, expected {steps}: {summary}")
    return TrainRun(steps, wall, cpu, summary)


def compute_only(network: NetworkConfig, steps: int, seed: int) -> tuple[float, float]:
    """Positions per wall second and per CPU second of forward + backward + AdamW of the same
    network on one in-memory batch."""
    torch.manual_seed(seed)
    model = Simulator(network)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    planes = torch.randint(0, 2, (BATCH, NUM_INPUT_PLANES, 8, 8)).float()
    own = torch.randint(0, network.num_prompts, (BATCH,))
    opponent = torch.randint(0, network.num_prompts, (BATCH,))
    move = torch.randint(0, NUM_ACTIONS, (BATCH,))
    result = torch.randint(-1, 2, (BATCH,)).float()

    def step() -> None:
        logits, value = model(planes, own, opponent)
        loss = torch.nn.functional.cross_entropy(logits, move)
        if value is not None:
            loss = loss + 0.25 * torch.nn.functional.mse_loss(value, result)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        float(loss.detach())

    for _ in range(2):  # warm-up, untimed
        step()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return steps * BATCH / wall, steps * BATCH / cpu


# ---------------------------------------------------------------------------------------------
# action values


@dataclass
class SearchRun:
    wall: float = 0.0
    nodes: int = 0
    engine_seconds: float = 0.0  # Stockfish's own reported search time, summed
    searches: int = 0
    searched_alone: int = 0  # compute_action_values: moves MultiPV missed, searched with root_moves
    moves_scored: int = 0
    scores: dict[int, dict[str, tuple[float, int]]] = field(default_factory=dict)  # position -> move -> (cp, mate)


def _record(run: SearchRun, result: Any, root_moves: bool) -> None:
    infos = result if isinstance(result, list) else [result]
    run.nodes += max((int(info.get("nodes", 0)) for info in infos), default=0)
    run.engine_seconds += max((float(info.get("time", 0.0)) for info in infos), default=0.0)
    run.searches += 1
    run.searched_alone += int(root_moves)


@contextmanager
def counting_analyse(run: SearchRun) -> Iterator[None]:
    """Count nodes and search time of every ``SimpleEngine.analyse`` call made in this process."""
    original = chess.engine.SimpleEngine.analyse

    def analyse(self, board, limit=None, **kwargs):  # type: ignore[no-untyped-def]
        result = original(self, board, limit, **kwargs)
        _record(run, result, bool(kwargs.get("root_moves")))
        return result

    chess.engine.SimpleEngine.analyse = analyse  # type: ignore[method-assign]
    try:
        yield
    finally:
        chess.engine.SimpleEngine.analyse = original  # type: ignore[method-assign]


def run_action_values(eval_positions: pa.Table, out_path: Path, engine: Path, nodes: int) -> SearchRun:
    run = SearchRun()
    started = time.perf_counter()
    with counting_analyse(run):
        table = compute_action_values(
            eval_positions,
            out_path,
            engine_path=engine,
            nodes=nodes,
            workers=1,
            threads=1,
            hash_mb=HASH_MB,
            progress=False,
        )
    run.wall = time.perf_counter() - started
    run.moves_scored = table.num_rows
    for position, move, cp, mate in zip(*(table.column(c).to_pylist() for c in ("position_id", "move", "cp", "mate"))):
        run.scores.setdefault(position, {})[move] = (cp, mate)
    out_path.unlink()
    return run


def run_raw(fens: list[str], engine_path: Path, nodes: int, mode: str) -> SearchRun:
    """Raw python-chess + Stockfish on ``fens``: ``multipv-new`` (ucinewgame each), ``multipv``, ``single``."""
    run = SearchRun()
    limit = chess.engine.Limit(nodes=nodes)
    started = time.perf_counter()
    engine = chess.engine.SimpleEngine.popen_uci(str(engine_path))
    try:
        engine.configure({"Threads": 1, "Hash": HASH_MB})
        for position, fen in enumerate(fens):
            board = chess.Board(fen)
            if mode == "single":
                info = engine.analyse(board, limit)
                _record(run, info, False)
                run.moves_scored += 1
                continue
            game = object() if mode == "multipv-new" else None
            lines = engine.analyse(board, limit, multipv=board.legal_moves.count(), game=game)
            _record(run, lines, False)
            scores = run.scores.setdefault(position, {})
            for line in lines:
                pv, score = line.get("pv"), line.get("score")
                if pv and score is not None and pv[0].uci() not in scores:
                    pov = score.pov(board.turn)
                    cp = pov.score()
                    scores[pv[0].uci()] = (float("nan") if cp is None else float(cp), pov.mate() or 0)
            run.moves_scored += len(scores)
    finally:
        engine.quit()
    run.wall = time.perf_counter() - started
    return run


def same_scores(a: dict[str, tuple[float, int]], b: dict[str, tuple[float, int]]) -> bool:
    """Every move of ``b`` has the same (cp, mate) in ``a`` (NaN equal to NaN)."""
    for move, (cp, mate) in b.items():
        if move not in a:
            return False
        other_cp, other_mate = a[move]
        if other_mate != mate or not (other_cp == cp or (math.isnan(other_cp) and math.isnan(cp))):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# machine


def _load() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


# ---------------------------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "simulator.md")
    parser.add_argument("--games", type=int, default=400, help="random-vs-greedy games to play for the positions")
    parser.add_argument("--max-plies", type=int, default=200, help="ply cap of those games")
    parser.add_argument("--steps", type=int, default=40, help="training steps of the main run (batch 1024)")
    parser.add_argument("--reference-steps", type=int, default=10, help="timed steps of the compute-only reference")
    parser.add_argument("--positions", type=int, default=60, help="evaluation positions (half per prompt)")
    parser.add_argument("--nodes", type=int, default=20000, help="Stockfish node budget a position")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each Stockfish method; medians reported")
    parser.add_argument("--engine", help="Stockfish binary (default: simagents.stockfish.find_stockfish)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 8:
        parser.error("--steps must be at least 8 (a quarter of them make the short run)")
    if args.positions < 2 or args.repeats < 1 or args.nodes < 1 or args.games < 10:
        parser.error("need --positions >= 2, --repeats >= 1, --nodes >= 1, --games >= 10")
    started = time.perf_counter()
    load_before = _load()
    engine = find_stockfish(args.engine)
    workers = max(1, min(2, len(os.sched_getaffinity(0))))
    vocab = vocabulary(list(PROMPTS))
    network = NetworkConfig(arch="mlp", num_prompts=len(vocab), hidden=HIDDEN, layers=LAYERS)
    short_steps = max(1, args.steps // 4)

    work = Path(tempfile.mkdtemp(prefix="simagents-bench-simulator-"))
    try:
        print(f"playing {args.games} games ...", file=sys.stderr)
        t0 = time.perf_counter()
        games = play_table(args.games, args.seed, args.max_plies)
        play_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        positions_dir = work / "positions"
        meta = build_positions(
            games,
            vocab,
            positions_dir,
            seed=args.seed,
            skip_plies=2,
            split=(0.8, 0.1, 0.1),
            workers=workers,
            progress=False,
        )
        encode_seconds = time.perf_counter() - t0
        split_sizes = {name: split["positions"] for name, split in meta["splits"].items()}

        print(
            f"training: {args.steps} + {short_steps} steps, with the compute-only reference before, between "
            "and after ...",
            file=sys.stderr,
        )
        # The reference runs in three bursts around the two training runs, so that a change of load
        # on the shared machine hits both sides of the ratio.
        bursts = [compute_only(network, args.reference_steps, args.seed)]
        main_run = train_run(positions_dir, work / "train-main", network, args.steps, args.seed)
        bursts.append(compute_only(network, args.reference_steps, args.seed))
        short_run = train_run(positions_dir, work / "train-short", network, short_steps, args.seed)
        bursts.append(compute_only(network, args.reference_steps, args.seed))
        reference_rate = statistics.median(b[0] for b in bursts)
        reference_cpu_rate = statistics.median(b[1] for b in bursts)
        d_elapsed = main_run.elapsed - short_run.elapsed
        d_cpu = main_run.cpu - short_run.cpu
        step_positions = (args.steps - short_steps) * BATCH
        step_rate = step_positions / d_elapsed if d_elapsed > 0 else None  # None: the noise beat the difference
        step_share = max(0.0, main_run.loading - short_run.loading) / d_elapsed if d_elapsed > 0 else None
        step_cpu_rate = step_positions / d_cpu if d_cpu > 0 else None

        print(f"tactics head: {args.repeats} bursts per network ...", file=sys.stderr)
        tactics = tactics_costs(positions_dir, len(vocab), args.repeats, args.seed)

        print(
            f"action values: {args.positions} positions at {args.nodes} nodes, {args.repeats} repeats ...",
            file=sys.stderr,
        )
        eval_positions = select_eval_positions(
            games, positions_dir, vocab, per_prompt=max(1, args.positions // 2), seed=args.seed
        )
        fens = eval_positions.column("fen").to_pylist()
        legal_moves = int(sum(eval_positions.column("n_legal").to_pylist()))
        methods = ("simagents", "multipv-new", "multipv", "single")
        runs: dict[str, list[SearchRun]] = {m: [] for m in methods}
        for repeat in range(args.repeats):
            for method in methods:
                if method == "simagents":
                    run = run_action_values(eval_positions, work / f"av-{repeat}.parquet", engine, args.nodes)
                else:
                    run = run_raw(fens, engine, args.nodes, method)
                runs[method].append(run)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median_run(method: str) -> SearchRun:
        ordered = sorted(runs[method], key=lambda r: r.wall)
        return ordered[(len(ordered) - 1) // 2]

    chosen = {m: median_run(m) for m in methods}
    simagents_runs = runs["simagents"]
    raw_new = runs["multipv-new"][0]
    identical = sum(
        same_scores(simagents_runs[0].scores.get(p, {}), raw_new.scores.get(p, {})) for p in range(len(fens))
    )
    deterministic = all(
        r.scores.keys() == simagents_runs[0].scores.keys()
        and all(
            same_scores(r.scores[p], simagents_runs[0].scores[p])
            and same_scores(simagents_runs[0].scores[p], r.scores[p])
            for p in r.scores
        )
        for r in simagents_runs[1:]
    )

    cores = len(os.sched_getaffinity(0))
    total_plies = int(sum(games.column("plies").to_pylist()))
    share = main_run.summary["data_loading_share"]
    lines = [
        "# Simulator training and action-value benchmark",
        "",
        (
            f"Command: `python benchmarks/simulator.py {' '.join(argv if argv is not None else sys.argv[1:])}` "
            f"({time.strftime('%Y-%m-%d %H:%M %Z')}, {time.perf_counter() - started:.0f} s in all; "
            f"load average {load_before} before, {_load()} after)."
        ),
        "",
        (
            f"Data: {args.games} random-vs-greedy games (ply cap {args.max_plies}, {total_plies} plies, played in "
            f"{play_seconds:.1f} s), encoded by `build_positions` (skip_plies 2, {workers} workers, "
            f"{encode_seconds:.1f} s) into {split_sizes['train']:,} train / {split_sizes['val']:,} val / "
            f"{split_sizes['test']:,} test positions (memory-mapped shards in a temporary folder)."
        ),
        "",
        "## Training (`train_simulator`)",
        "",
        (
            f"Network `mlp` {LAYERS} x {HIDDEN}, {len(vocab)} prompts, batch {BATCH}, device "
            f"`{main_run.summary['device']}`, {torch.get_num_threads()} torch threads; "
            f"`eval_every`/`checkpoint_every` {NEVER:.0e} (one final evaluation on {VAL_POSITIONS} validation "
            "positions and one checkpoint)."
        ),
        "",
        (
            "| run | steps | wall s (whole call) | positions/s | data loading share | x compute-only | "
            "positions per CPU s | x compute-only (CPU) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def rate_cells(rate: float | None, cpu_rate: float | None) -> tuple[str, str, str, str]:
        return (
            "n/a" if rate is None else f"{rate:,.0f}",
            "n/a" if rate is None else f"{rate / reference_rate:.2f}",
            "n/a" if cpu_rate is None else f"{cpu_rate:,.0f}",
            "n/a" if cpu_rate is None else f"{cpu_rate / reference_cpu_rate:.2f}",
        )

    for label, run in (
        (f"`train_simulator`, {args.steps} steps (as reported)", main_run),
        (f"`train_simulator`, {short_steps} steps (as reported)", short_run),
    ):
        rate, ratio, cpu_rate, cpu_ratio = rate_cells(run.summary["positions_per_second"], run.steps * BATCH / run.cpu)
        lines.append(
            f"| {label} | {run.steps} | {run.wall:.1f} | {rate} | {_pct(run.summary['data_loading_share'])} "
            f"| {ratio} | {cpu_rate} | {cpu_ratio} |"
        )
    rate, ratio, cpu_rate, cpu_ratio = rate_cells(step_rate, step_cpu_rate)
    lines.append(
        f"| **per step** (the {args.steps}-step run minus the {short_steps}-step run) | "
        f"{args.steps - short_steps} | | {rate} | {_pct(step_share)} | {ratio} | {cpu_rate} | {cpu_ratio} |"
    )
    spread = f"{min(b[0] for b in bursts):,.0f}-{max(b[0] for b in bursts):,.0f}"
    lines.append(
        f"| reference: forward + backward + AdamW on one in-memory batch (no loading); median of 3 bursts "
        f"({spread} positions/s) | 3 x {args.reference_steps} | | {reference_rate:,.0f} | none | 1.00 | "
        f"{reference_cpu_rate:,.0f} | 1.00 |"
    )
    lines += [
        "",
        (
            f"Data loading takes **{_pct(share)}** of `train_simulator`'s time "
            f"({_pct(step_share)} per step, fixed costs removed); target: under 10% "
            f"(**{'met' if share is not None and share < 0.10 and (step_share is None or step_share < 0.10) else 'NOT met'}**). "
            f"Per step the loop reaches {'n/a' if step_rate is None else f'{step_rate / reference_rate:.2f}x'} "
            f"the compute-only rate of the same network by wall time, "
            f"{'n/a' if step_cpu_rate is None else f'{step_cpu_rate / reference_cpu_rate:.2f}x'} by CPU time "
            "(the CPU columns count all of this process's threads; they are less sensitive to other jobs on the "
            "machine but count the threads' spin-waiting)."
        ),
        "",
        "## The tactics head (`simulator.tactics_width`)",
        "",
        (
            f"The default network (`mlp` {LAYERS} x {HIDDEN}, both prompt levers) without and with its tactics "
            f"head (width {TACTICS_WIDTH}), on {min(BATCH, split_sizes['val'])} "
            f"validation positions; medians of {args.repeats} bursts, the two networks taking turns; "
            f"{torch.get_num_threads()} torch threads."
        ),
        "",
        "| step | without the head (ms) | with it (ms) | x (with / without) |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {1e3 * tactics['off'][key]:.2f} | {1e3 * tactics['on'][key]:.2f} | "
            f"{tactics['on'][key] / tactics['off'][key]:.2f} |"
            for key, label in [
                ("train", f"training step (batch {BATCH}: forward with legal masks, backward, AdamW)"),
                *(
                    (f"call {b}", f"policy call on {b} position{'s' if b > 1 else ''} (`action_logits`)")
                    for b in CALL_BATCHES
                ),
            ]
        ),
        "",
        "## Action values (`compute_action_values`) against raw Stockfish",
        "",
        (
            f"{len(fens)} evaluation positions from the test games (`select_eval_positions`, "
            f"{max(1, args.positions // 2)} per prompt; {legal_moves} legal moves, "
            f"{legal_moves / max(1, len(fens)):.1f} a position), {args.nodes:,} nodes a position, 1 thread, "
            f"{HASH_MB} MB hash, 1 worker; median of {args.repeats} runs, engine start to exit."
        ),
        "",
        (
            "| method | wall s | positions/s | moves scored/s | Stockfish nodes | nodes/s (wall) | "
            "engine search time / wall | x raw MultiPV (nodes/s) | x raw MultiPV (positions/s) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "simagents": "**`compute_action_values`** (MultiPV = legal moves, `ucinewgame` each, parquet out)",
        "multipv-new": "raw `analyse(multipv=legal moves)`, `ucinewgame` each position",
        "multipv": "raw `analyse(multipv=legal moves)`",
        "single": "raw `analyse()` single PV (scores the best move only)",
    }
    base = chosen["multipv"]
    for method in methods:
        run = chosen[method]
        lines.append(
            f"| {labels[method]} | {run.wall:.2f} | {len(fens) / run.wall:,.1f} | {run.moves_scored / run.wall:,.0f} | "
            f"{run.nodes:,} | {run.nodes / run.wall:,.0f} | {_pct(run.engine_seconds / run.wall)} | "
            f"{(run.nodes / run.wall) / (base.nodes / base.wall):.2f} | {base.wall / run.wall:.2f} |"
        )
    av = chosen["simagents"]
    lines += [
        "",
        (
            f"`compute_action_values` reaches **{av.nodes / av.wall:,.0f} nodes/s**, "
            f"**{(av.nodes / av.wall) / (base.nodes / base.wall):.2f}x** the raw MultiPV search "
            f"({(av.nodes / av.wall) / (chosen['multipv-new'].nodes / chosen['multipv-new'].wall):.2f}x the raw one "
            f"with `ucinewgame`, {(av.nodes / av.wall) / (chosen['single'].nodes / chosen['single'].wall):.2f}x "
            f"a single-PV search) and {len(fens) / av.wall:,.1f} positions/s "
            f"({av.moves_scored / av.wall:,.0f} moves scored/s). It made {av.searches} searches, "
            f"{av.searched_alone} of them for a move MultiPV did not report. Scores identical to the raw MultiPV "
            f"search with `ucinewgame`: {identical} of {len(fens)} positions; identical across its "
            f"{args.repeats} runs: {'yes' if deterministic else 'NO'}."
        ),
        "",
        (
            "How it is measured: training rates are `train_simulator`'s own `positions_per_second` and "
            "`data_loading_share` (its loader time over its elapsed time, which includes the first step, the "
            "final evaluation and the checkpoints); the per-step row takes the difference of two runs, recovering "
            "each run's elapsed and loading seconds from those two numbers. CPU seconds are `time.process_time()` around each whole `train_simulator` call (all threads). Stockfish nodes are the `nodes` of "
            "the last info of each search (the most over the MultiPV lines), summed; inside `compute_action_values` "
            'they are read by a wrapper around python-chess\'s `SimpleEngine.analyse`. "Engine search time" '
            "sums Stockfish's reported search `time`; the rest of the wall time is engine start, `ucinewgame`, "
            "python-chess parsing the info lines and simagents' bookkeeping (parquet parts, checks)."
        ),
        "",
        (
            "Machine: "
            f"{cores} cores available ({os.cpu_count()} online), {_cpu_model()}; {platform.platform()}; "
            f"Python {platform.python_version()}; torch {torch.__version__}; python-chess {chess.__version__}; "
            f"numpy {np.__version__}; simagents {simagents.__version__}; Stockfish: {_version([str(engine)])} "
            f"(`{engine}`). The machine is shared: compare ratios within this run, not absolute rates across runs."
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
