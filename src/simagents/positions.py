"""Games -> training positions: encoded boards, prompts, moves and results, split by game.

Each split (``train``, ``val``, ``test``) is a folder of ``.npy`` arrays that load memory-mapped
(``np.load(path, mmap_mode="r")``: nothing is copied until used), one row per position:

==================  ========  =========  ==================================================
file                dtype     shape      meaning
==================  ========  =========  ==================================================
pieces.npy          uint64    [n, 12]    piece bitboards, mover's view (simagents.encoding)
castling.npy        uint8     [n]        castling bits, mover's view
en_passant.npy      int8      [n]        en-passant file or -1
halfmove_clock.npy  uint8     [n]        plies since capture or pawn move (capped 255)
move.npy            int16     [n]        the move played, an action index (0..1857)
own_prompt.npy      int16     [n]        prompt id of the mover (vocabulary in meta.json)
opponent_prompt.npy int16     [n]        prompt id of the opponent
result.npy          int8      [n]        the game's result for the mover: +1, 0, -1
game.npy            int32     [n]        row of the game in the games table
ply.npy             int16     [n]        ply index of the position in its game (0 = start)
legal.npy           uint8     [n, 233]   legal moves as a bit-packed action mask
                                         (:func:`simagents.encoding.unpack_legal_masks`)
==================  ========  =========  ==================================================

``meta.json`` holds the prompt vocabulary (token -> id; ``none`` = 0 is reserved for prompt
dropout and never appears in the data), counts per split and prompt, the shapes above and the
provenance (config, seed, code version). A game goes wholly to one split, chosen by a seeded
hash of its id, so the split does not depend on the order or number of games. Games with the same
players and moves go to one split: each hashes the id of the first of them (:func:`split_keys`),
so a repeated game cannot sit on both sides (ingestion already drops copies of human games).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from . import __version__
from .encoding import NUM_ACTIONS, encode_raw, packed_legal_masks, uci_moves_to_actions
from .encoding.action_space import PACKED_MASK_BYTES
from .encoding.board import NUM_PIECE_PLANES
from .encoding.replay import replay_uci
from .outputs import atomic_output, make_folder, output_error, reserve, write_text
from .paths import POSITIONS_META

SPLITS = ("train", "val", "test")
ARRAYS: dict[str, tuple[np.dtype, tuple[int, ...]]] = {
    "pieces": (np.dtype(np.uint64), (NUM_PIECE_PLANES,)),
    "castling": (np.dtype(np.uint8), ()),
    "en_passant": (np.dtype(np.int8), ()),
    "halfmove_clock": (np.dtype(np.uint8), ()),
    "move": (np.dtype(np.int16), ()),
    "own_prompt": (np.dtype(np.int16), ()),
    "opponent_prompt": (np.dtype(np.int16), ()),
    "result": (np.dtype(np.int8), ()),
    "game": (np.dtype(np.int32), ()),
    "ply": (np.dtype(np.int16), ()),
    "legal": (np.dtype(np.uint8), (PACKED_MASK_BYTES,)),
}
GAMES_PER_TASK = 200
#: Written to meta.json; v2 added the legal-move masks. Older folders must be rebuilt.
POSITIONS_FORMAT = "simagents-positions-v2"


def split_keys(games: pa.Table) -> list[str]:
    """The key of each row whose seeded hash picks its split (:func:`split_of`).

    A game's own id, except for a game with the same players and moves (compared as in
    :func:`~simagents.data.pgn.content_key`, without the date) as an earlier row: it takes that
    row's id, so repeated games share a split. Where no game repeats, the keys are the ids.
    """
    from .data.pgn import content_key

    columns = (games.column(c).to_pylist() for c in ("game_id", "white", "black", "moves"))
    first: dict[bytes, str] = {}
    return [first.setdefault(content_key(w, b, "", m), g) for g, w, b, m in zip(*columns)]


def split_of(game_id: str, seed: int, train: float, val: float) -> str:
    """The split of a game: a seeded hash of its id, uniform on [0, 1), cut at the fractions."""
    digest = hashlib.blake2b(f"split:{seed}:{game_id}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    return "train" if u < train else "val" if u < train + val else "test"


@dataclass(frozen=True)
class _GameRows:
    rows: np.ndarray  # int32 row in the games table
    moves: list[str]
    white_prompt: np.ndarray  # int16 ids
    black_prompt: np.ndarray
    white_score: np.ndarray  # int8: +1 white won, 0 draw, -1 black won


def _encode_games(
    task: _GameRows, skip_plies: int, replay: Callable[..., Any] = replay_uci
) -> tuple[dict[str, np.ndarray], list[int]]:
    """Replay and encode a batch of games; returns the arrays and the rows that failed to replay.

    Games replay on the lean board of :func:`~simagents.encoding.replay.replay_uci` (the same raw
    boards as python-chess, several times faster); the per-position columns are then built
    vectorised from the number of positions of each game.
    """
    raws: list[tuple[int, ...]] = []
    from_sq: list[int] = []
    to_sq: list[int] = []
    promo: list[int] = []
    counts: list[int] = []
    failed: list[int] = []
    for k, moves in enumerate(task.moves):
        start = len(raws)
        try:
            replay(moves.split(), skip_plies, raws, from_sq, to_sq, promo)
        except ValueError:
            # Roll back this game's rows: a game is encoded whole or not at all.
            del raws[start:], from_sq[start:], to_sq[start:], promo[start:]
            failed.append(int(task.rows[k]))
        counts.append(len(raws) - start)
    table = np.array(raws, dtype=np.uint64) if raws else np.zeros((0, 12), np.uint64)
    encoded = encode_raw(table)
    white_to_move = table[:, 11].astype(bool)
    actions = uci_moves_to_actions(
        np.array(from_sq, dtype=np.int64),
        np.array(to_sq, dtype=np.int64),
        np.array(promo, dtype=np.int64),
        white_to_move,
    )
    per_game = np.array(counts, dtype=np.int64)
    game_starts = np.repeat(np.cumsum(per_game) - per_game, per_game)
    white_prompt = np.repeat(np.asarray(task.white_prompt, np.int16), per_game)
    black_prompt = np.repeat(np.asarray(task.black_prompt, np.int16), per_game)
    white_score = np.repeat(np.asarray(task.white_score, np.int8), per_game)
    arrays = {
        "pieces": encoded.pieces,
        "castling": encoded.castling,
        "en_passant": encoded.en_passant,
        "halfmove_clock": encoded.halfmove_clock,
        "move": actions.astype(np.int16),
        "own_prompt": np.where(white_to_move, white_prompt, black_prompt).astype(np.int16),
        "opponent_prompt": np.where(white_to_move, black_prompt, white_prompt).astype(np.int16),
        "result": np.where(white_to_move, white_score, -white_score).astype(np.int8),
        "game": np.repeat(np.asarray(task.rows, np.int32), per_game),
        "ply": (np.arange(len(raws), dtype=np.int64) - game_starts + skip_plies).astype(np.int16),
        "legal": packed_legal_masks(encoded),
    }
    return arrays, failed


def load_split(positions_dir: Path, split: str) -> dict[str, np.ndarray]:
    """Memory-map one split's arrays (read-only; nothing is copied)."""
    folder = Path(positions_dir) / split
    if not folder.is_dir():
        raise FileNotFoundError(f"no {split!r} split at {folder}; run the positions stage first")
    meta_path = Path(positions_dir) / POSITIONS_META
    found = json.loads(meta_path.read_text()).get("format") if meta_path.exists() else None
    if found != POSITIONS_FORMAT:
        raise ValueError(
            f"{positions_dir} holds positions of format {found!r}, this code reads "
            f"{POSITIONS_FORMAT!r}; delete the folder and rerun the positions stage"
        )
    return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}


def build_positions(
    games: pa.Table,
    vocabulary: dict[str, int],
    out_dir: Path,
    *,
    seed: int,
    skip_plies: int,
    split: tuple[float, float, float],
    workers: int = 1,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Encode every game of ``games`` into split folders under ``out_dir``; returns meta.json's content."""
    train, val, _ = split
    ids = games.column("game_id").to_pylist()
    plies = np.asarray(games.column("plies").to_numpy(zero_copy_only=False), dtype=np.int64)
    moves = games.column("moves").to_pylist()
    missing = sorted(
        {p for col in ("white_prompt", "black_prompt") for p in games.column(col).to_pylist()} - set(vocabulary)
    )
    if missing:
        raise ValueError(f"prompts {missing} are not in the vocabulary {sorted(vocabulary)}")
    white_prompt = np.array([vocabulary[p] for p in games.column("white_prompt").to_pylist()], np.int16)
    black_prompt = np.array([vocabulary[p] for p in games.column("black_prompt").to_pylist()], np.int16)
    white_score = np.array([{"1-0": 1, "0-1": -1}.get(r, 0) for r in games.column("result").to_pylist()], np.int8)
    assignment = np.array([SPLITS.index(split_of(k, seed, train, val)) for k in split_keys(games)], dtype=np.int8)

    expected = {s: int(np.maximum(plies[assignment == k] - skip_plies, 0).sum()) for k, s in enumerate(SPLITS)}
    memmaps: dict[str, dict[str, np.memmap]] = {}
    for s in SPLITS:
        make_folder(out_dir / s)
        memmaps[s] = {}
        for name, (dtype, shape) in ARRAYS.items():
            part = out_dir / s / f"{name}.npy.mmap.part"
            try:
                memmaps[s][name] = np.lib.format.open_memmap(part, mode="w+", dtype=dtype, shape=(expected[s], *shape))
                reserve(part)  # a full disk fails here, not with SIGBUS halfway through the encoding
            except OSError as error:
                raise (output_error(error, out_dir / s / f"{name}.npy") or error) from error
    filled = {s: 0 for s in SPLITS}
    failed_rows: list[int] = []
    tasks = []
    for k, s in enumerate(SPLITS):
        rows = np.flatnonzero(assignment == k).astype(np.int32)
        for start in range(0, len(rows), GAMES_PER_TASK):
            r = rows[start : start + GAMES_PER_TASK]
            tasks.append((s, _GameRows(r, [moves[i] for i in r], white_prompt[r], black_prompt[r], white_score[r])))
    encode = partial(_encode_games, skip_plies=skip_plies)
    bar = tqdm(
        total=int(sum(expected.values())),
        unit="pos",
        unit_scale=True,
        desc="encoding positions",
        disable=not progress,
        mininterval=1.0,
    )
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        results = pool.imap(encode, [t for _, t in tasks]) if pool else map(encode, [t for _, t in tasks])
        for (s, _), (arrays, failed) in zip(tasks, results):
            n = len(arrays["move"])
            for name, values in arrays.items():
                memmaps[s][name][filled[s] : filled[s] + n] = values
            filled[s] += n
            failed_rows.extend(failed)
            bar.update(n)
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()

    counts: dict[str, Any] = {}
    inverse = {v: k for k, v in vocabulary.items()}
    for s in SPLITS:
        mapped = memmaps[s]
        n = filled[s]
        for array in mapped.values():
            array.flush()
        del mapped
        for name in ARRAYS:
            part = out_dir / s / f"{name}.npy.mmap.part"
            if n != expected[s]:  # games that failed to replay leave a tail: rewrite the exact size
                data = np.load(part, mmap_mode="r")[:n]
                with atomic_output(out_dir / s / f"{name}.npy") as tmp, open(tmp, "wb") as handle:
                    np.save(handle, np.ascontiguousarray(data), allow_pickle=False)  # a path would gain ".npy"
                part.unlink()
            else:
                part.replace(out_dir / s / f"{name}.npy")
        own = np.load(out_dir / s / "own_prompt.npy", mmap_mode="r")
        per_prompt = Counter({inverse[int(i)]: int(c) for i, c in zip(*np.unique(own, return_counts=True))})
        counts[s] = {
            "positions": n,
            "games": int((assignment == SPLITS.index(s)).sum()),
            "positions_by_prompt": dict(sorted(per_prompt.items())),
        }
    meta = {
        "format": POSITIONS_FORMAT,
        "num_actions": NUM_ACTIONS,
        "vocabulary": vocabulary,
        "skip_plies": skip_plies,
        "split_fractions": dict(zip(SPLITS, split)),
        "seed": seed,
        "splits": counts,
        "games_failed_replay": len(failed_rows),
        "failed_game_ids": [ids[i] for i in failed_rows[:20]],
        "arrays": {name: {"dtype": str(dtype), "shape": ["n", *shape]} for name, (dtype, shape) in ARRAYS.items()},
        "code_version": __version__,
        "provenance": provenance or {},
    }
    write_text(out_dir / POSITIONS_META, json.dumps(meta, indent=2) + "\n")
    return meta
