"""The games table: what every data source produces, and the ledger of what it dropped.

One row per kept game (parquet, columns in :data:`GAMES_SCHEMA`):

==============  =========  ======================================================================
column          type       meaning
==============  =========  ======================================================================
game_id         string     unique within a run (lichess game id, ``<file>#<n>``, ``syn-000042``)
source          string     ``synthetic``, ``lichess`` or ``pgn``
white, black    string     player or persona names
white_rating    int32/null the rating in the PGN (nominal rating for personas); null if unknown
black_rating    int32/null
white_prompt    string     prompt token of each side (persona name or rating band, see prompts)
black_prompt    string
result          string     ``1-0``, ``0-1`` or ``1/2-1/2`` (unfinished games are dropped)
termination     string     the PGN Termination tag, or how the game runner ended the game
time_control    string     the PGN TimeControl tag (``-`` if none)
moves           string     the mainline in UCI, space separated, from the standard start position
plies           int32      number of moves in ``moves``
==============  =========  ======================================================================
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..outputs import write_parquet, write_text

GAMES_SCHEMA = pa.schema(
    [
        ("game_id", pa.string()),
        ("source", pa.string()),
        ("white", pa.string()),
        ("black", pa.string()),
        ("white_rating", pa.int32()),
        ("black_rating", pa.int32()),
        ("white_prompt", pa.string()),
        ("black_prompt", pa.string()),
        ("result", pa.string()),
        ("termination", pa.string()),
        ("time_control", pa.string()),
        ("moves", pa.string()),
        ("plies", pa.int32()),
    ]
)

RESULTS = ("1-0", "0-1", "1/2-1/2")


@dataclass(frozen=True)
class GameRecord:
    """One row of the games table (see the module docstring)."""

    game_id: str
    source: str
    white: str
    black: str
    white_rating: int | None
    black_rating: int | None
    white_prompt: str
    black_prompt: str
    result: str
    termination: str
    time_control: str
    moves: str
    plies: int
    #: :func:`simagents.data.pgn.content_key` of the game (players, date, moves), for finding
    #: copies of one game at ingestion; not a column of the table (empty where not computed).
    content: bytes = b""


@dataclass
class DropLedger:
    """Counts of games read, kept and dropped by reason, with a few examples per reason.

    Nothing is dropped silently: every reader calls :meth:`drop` with a reason for every game it
    does not keep, and :meth:`note` for kept games that needed a repair (re-decoded text, say).
    ``input_ended_early`` lists the files that could not be read to their end and were kept as
    far as they were read (``data.input_ended_early: keep``): for each, ``file``, ``problem``
    and ``games_read`` (the whole games read from it before the damage).
    """

    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    max_examples: int = 3
    input_ended_early: list[dict[str, Any]] = field(default_factory=list)

    def keep(self) -> None:
        self.kept += 1

    def drop(self, reason: str, example: str = "") -> None:
        self.dropped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if example and len(shown) < self.max_examples:
            shown.append(example[:200])

    def note(self, what: str) -> None:
        self.notes[what] += 1

    def merge(self, other: DropLedger) -> None:
        self.read += other.read
        self.kept += other.kept
        self.dropped.update(other.dropped)
        self.notes.update(other.notes)
        for reason, shown in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(shown[: self.max_examples - len(mine)])
        self.input_ended_early.extend(other.input_ended_early)

    @property
    def total_dropped(self) -> int:
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "games_read": self.read,
            "games_kept": self.kept,
            "games_dropped": self.total_dropped,
            "dropped_by_reason": dict(sorted(self.dropped.items())),
            "notes": dict(sorted(self.notes.items())),
            "examples": {k: v for k, v in sorted(self.examples.items())},
            "input_ended_early": list(self.input_ended_early),
        }


def records_to_table(records: Iterable[GameRecord]) -> pa.Table:
    rows = [asdict(r) for r in records]
    return pa.Table.from_pylist(rows, schema=GAMES_SCHEMA)


def write_table(table: pa.Table, path: Path, schema: pa.Schema, what: str) -> None:
    """Write a parquet table of a known schema atomically (a crash never leaves half a file)."""
    if table.schema != schema:
        raise ValueError(f"{what} has schema {table.schema}, expected {schema}")
    write_parquet(table, path, compression="zstd")


def read_table(path: Path, schema: pa.Schema, what: str) -> pa.Table:
    """Read a parquet table, check it has ``schema``'s columns, and cast it to ``schema``."""
    table = pq.read_table(path)
    missing = set(schema.names) - set(table.column_names)
    if missing:
        raise ValueError(f"{path}: not a {what}, missing columns {sorted(missing)}")
    return table.select(schema.names).cast(schema)


def write_games(table: pa.Table, path: Path) -> None:
    """Write the games table atomically."""
    write_table(table, path, GAMES_SCHEMA, "games table")


def read_games(path: Path) -> pa.Table:
    """Read a games table and check its columns."""
    return read_table(path, GAMES_SCHEMA, "games table")


def write_json(data: Any, path: Path) -> None:
    """Write ``data`` as indented JSON, atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
