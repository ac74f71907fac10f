"""Reading PGN, robustly: every game is kept or dropped with a counted reason.

Real-world PGN is messy, so reading happens in two steps that never raise on bad input:

1. :func:`iter_chunks` splits a byte stream (plain, ``.zst``, ``.bz2`` or ``.gz``; CRLF or LF;
   with or without a byte-order mark) into one chunk per game: its tag lines and its movetext.
   Text outside any game becomes a chunk without tags, which is dropped as ``text_outside_game``.
2. :func:`parse_chunk` turns a chunk into a :class:`~simagents.data.table.GameRecord` or a drop
   reason. The movetext tokenizer skips comments (``{...}`` and ``;``), variations, NAGs, move
   numbers and clock annotations; the mainline's SAN moves are resolved on a lean board
   (:mod:`.san`) and, wherever that route cannot vouch for a move, replayed with python-chess, so
   an illegal or ambiguous move drops the game with its exact reason instead of being misread.

Drop reasons (the keys of the data summary's ``dropped_by_reason``):

==========================  ===============================================================
reason                      the game...
==========================  ===============================================================
``text_outside_game``       is text with no tag section (garbage between games)
``setup_from_fen``          starts from a FEN set-up, not the standard position
``variant``                 is not standard chess (Variant tag: chess960, crazyhouse, ...)
``unfinished``              has Result ``*``
``bad_result``              has no Result tag or an unreadable one
``result_mismatch``         has a result token that contradicts its Result tag
``truncated``               ends without its result token (cut-off file, unclosed comment)
``no_moves``                has no moves
``illegal_move``            contains an illegal move (detail in the examples)
``ambiguous_move``          contains an ambiguous SAN move
``invalid_san``             contains a token that is not SAN
``null_move``               contains a null move (``--``)
``missing_persona``         lacks the persona tags that a persona-prompted source needs
``unrated``                 is casual, where only rated games are wanted (filter)
``time_control``            has a time-control class not asked for (filter)
``missing_rating``          lacks a player's rating, where both are required (filter)
``bot``                     has a BOT account as a player (filter)
``too_few_plies``           is shorter than the minimum number of plies (filter)
``duplicate_id``            repeats a game id already kept
``band_cap``                was not sampled when balancing by rating band
``max_games``               was not sampled under the cap on the number of games
==========================  ===============================================================

Kept games that needed a repair are counted as notes: ``recoded_latin1`` (text that was not
UTF-8, read as Latin-1), ``malformed_tag`` (a tag line that could not be read and was ignored).
"""

from __future__ import annotations

import bz2
import gzip
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import chess
import zstandard

from ..prompts import rating_band
from .san import sans_to_uci
from .table import RESULTS, DropLedger, GameRecord

PromptMode = Literal["rating_band", "persona"]

#: PGN tags written for personas (synthetic data and any PGN of named agents).
WHITE_PERSONA_TAG = "WhitePersona"
BLACK_PERSONA_TAG = "BlackPersona"

_TAG = re.compile(r'^\[\s*([A-Za-z0-9_+#=:-]+)\s+"((?:[^"\\]|\\.)*)"\s*\]\s*$')
# A line that opens a tag pair (``[Event "``): after a blank line it starts a game even inside a
# comment, which then was never closed (a corrupt game must not swallow the games after it).
_TAG_START = re.compile(rb'^\s*\[\s*[A-Za-z0-9_+#=:-]+\s+"')
_TAG_NAME = re.compile(rb"^\s*\[\s*([A-Za-z0-9_+#=:-]+)")
# Order matters: comments first (they may contain anything), then results before move numbers.
_MOVETEXT_TOKEN = re.compile(r"\{[^}]*\}?|;[^\n]*|\(|\)|\$\d+|1-0|0-1|1/2-1/2|\*|\d+\.+|[^\s{}();$]+")
_ANNOTATION_SUFFIX = "!?"
_STANDARD_VARIANTS = {"", "standard", "chess", "normal"}


@dataclass(frozen=True)
class Chunk:
    """One game's raw text: tag lines and movetext lines (bytes, line ends removed)."""

    index: int
    tag_lines: list[bytes]
    move_lines: list[bytes]
    at_end_of_file: bool
    open_comment: bool


@dataclass(frozen=True)
class HumanFilters:
    """Maia-like game filters for human data (see ``data.filters`` in the config)."""

    rated_only: bool = False
    time_controls: tuple[str, ...] | None = None
    require_both_ratings: bool = False
    exclude_bots: bool = False
    min_plies: int = 0
    min_base_seconds: int | None = None


@dataclass(frozen=True)
class ReadOptions:
    """How chunks become games-table rows."""

    source: str
    prompt_mode: PromptMode
    band_edges: tuple[int, ...] = ()
    filters: HumanFilters = field(default_factory=HumanFilters)
    id_prefix: str = ""


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for streaming, decompressing ``.zst``, ``.bz2`` and ``.gz`` on the fly.

    Decompression streams: a 30 GB lichess dump is never held in memory.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"PGN file not found: {path}")
    suffix = path.suffix.lower()
    # Given a path (not a file object), BZ2File and GzipFile close the file they open.
    if suffix == ".bz2":
        return bz2.BZ2File(path)  # type: ignore[return-value]
    if suffix == ".gz":
        return gzip.GzipFile(path)  # type: ignore[return-value]
    raw = open(path, "rb")  # noqa: SIM115 (returned: the caller closes it)
    if suffix == ".zst":
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return raw


def _comment_state(line: bytes, in_comment: bool) -> bool:
    """Whether a brace comment is still open after ``line``."""
    if b"{" not in line and b"}" not in line:
        return in_comment
    position = 0
    while True:
        if in_comment:
            close = line.find(b"}", position)
            if close < 0:
                return True
            in_comment, position = False, close + 1
        else:
            opening = line.find(b"{", position)
            semicolon = line.find(b";", position)
            if opening < 0 or (0 <= semicolon < opening):
                return False
            in_comment, position = True, opening + 1


def _tag_name(line: bytes) -> bytes:
    match = _TAG_NAME.match(line)
    return match.group(1) if match else b""


def iter_chunks(stream: BinaryIO) -> Iterator[Chunk]:
    """Split a PGN byte stream into per-game chunks (never raises on malformed text)."""
    BETWEEN, TAGS, MOVES, GARBAGE = 0, 1, 2, 3
    state = BETWEEN
    tags: list[bytes] = []
    moves: list[bytes] = []
    in_comment = False
    blank_after_tags = False
    tag_names: set[bytes] = set()
    previous_blank = False
    index = 0
    first = True

    def emit(at_end: bool) -> Chunk:
        nonlocal index
        index += 1
        return Chunk(index, tags, moves, at_end, in_comment)

    for raw_line in stream:
        line = raw_line.rstrip(b"\r\n")
        if first:
            line = line.removeprefix(b"\xef\xbb\xbf")
            first = False
        if line.startswith(b"%") and not in_comment:
            continue  # PGN escape line
        blank = not line.strip()
        is_tag = line.lstrip().startswith(b"[") and not in_comment
        after_blank, previous_blank = previous_blank, blank
        if state == BETWEEN:
            if blank:
                continue
            if is_tag:
                state, tags, moves, blank_after_tags = TAGS, [line], [], False
                tag_names = {_tag_name(line)}
            else:
                state, tags, moves = GARBAGE, [], [line]
                in_comment = _comment_state(line, False)
        elif state == TAGS:
            if is_tag:
                name = _tag_name(line)
                # A blank line or a repeated tag name ends a tag section that had no movetext.
                if blank_after_tags or name in tag_names:
                    yield emit(False)
                    tags, moves, tag_names = [], [], set()
                tags.append(line)
                tag_names.add(name)
                blank_after_tags = False
            elif blank:
                blank_after_tags = True
            else:
                state, moves = MOVES, [line]
                in_comment = _comment_state(line, False)
        else:  # MOVES or GARBAGE
            unclosed_comment = in_comment and after_blank and _TAG_START.match(line) is not None
            if unclosed_comment or (not in_comment and (blank or is_tag)):
                yield emit(False)  # with open_comment set where the comment was never closed
                in_comment = False
                if is_tag or unclosed_comment:
                    state, tags, moves, blank_after_tags = TAGS, [line], [], False
                    tag_names = {_tag_name(line)}
                else:
                    state = BETWEEN
            else:
                moves.append(line)
                in_comment = _comment_state(line, in_comment)
    if state != BETWEEN:
        yield emit(True)


def _decode(lines: Sequence[bytes], repairs: set[str]) -> str:
    """UTF-8 text, or Latin-1 where the bytes are not UTF-8 (recorded in ``repairs``)."""
    data = b"\n".join(lines)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        repairs.add("recoded_latin1")
        return data.decode("latin-1")


def _parse_rating(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    # isascii: str.isdigit() accepts digits such as "²" that int() rejects
    if not (value.isascii() and value.isdigit()):  # "?", "-", "", "1500?" all mean: unknown
        return None
    rating = int(value)
    return rating if 0 < rating < 5000 else None


def time_control_class(time_control: str) -> str:
    """Lichess's class of a ``TimeControl`` tag: estimated duration = base + 40 x increment.

    ``ultrabullet`` < 30 s <= ``bullet`` < 180 s <= ``blitz`` < 480 s <= ``rapid`` < 1500 s <=
    ``classical``; ``-`` is ``correspondence``; anything unreadable is ``unknown``.
    """
    time_control = time_control.strip()
    if time_control == "-":
        return "correspondence"
    base, _, increment = time_control.partition("+")
    # isascii: str.isdigit() accepts digits such as "²" that int() rejects
    if not (base + increment).isascii() or not base.isdigit() or (increment and not increment.isdigit()):
        return "unknown"
    seconds = int(base) + 40 * int(increment or 0)
    if seconds < 30:
        return "ultrabullet"
    if seconds < 180:
        return "bullet"
    if seconds < 480:
        return "blitz"
    if seconds < 1500:
        return "rapid"
    return "classical"


def _headers(chunk: Chunk, repairs: set[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in chunk.tag_lines:
        match = _TAG.match(_decode([raw], repairs) if not raw.isascii() else raw.decode("ascii"))
        if match:
            headers[match.group(1)] = match.group(2).replace('\\"', '"').replace("\\\\", "\\")
        else:
            repairs.add("malformed_tag")
    return headers


def _game_id(headers: dict[str, str], chunk: Chunk, options: ReadOptions) -> str:
    site = headers.get("Site", "")
    if options.source == "lichess" and "lichess.org/" in site:
        return site.rstrip("/").rsplit("/", 1)[-1]
    if headers.get("GameId"):
        return f"{options.id_prefix}{headers['GameId']}"
    return f"{options.id_prefix}{chunk.index}"


def _filter_headers(headers: dict[str, str], options: ReadOptions) -> str | None:
    """The drop reason that the tags alone decide, or None (cheap: runs before move parsing)."""
    if headers.get("FEN") or headers.get("SetUp", "0") == "1":
        return "setup_from_fen"
    if headers.get("Variant", "").strip().lower() not in _STANDARD_VARIANTS:
        return "variant"
    result = headers.get("Result")
    if result == "*":
        return "unfinished"
    if result not in RESULTS:
        return "bad_result"
    if options.prompt_mode == "persona" and not (headers.get(WHITE_PERSONA_TAG) and headers.get(BLACK_PERSONA_TAG)):
        return "missing_persona"
    f = options.filters
    if f.rated_only and not (
        "rated" in headers.get("Event", "").lower() and "unrated" not in headers.get("Event", "").lower()
    ):
        return "unrated"
    if f.time_controls is not None or f.min_base_seconds is not None:
        time_control = headers.get("TimeControl", "-")
        if f.time_controls is not None and time_control_class(time_control) not in f.time_controls:
            return "time_control"
        if f.min_base_seconds is not None:
            base = time_control.partition("+")[0]
            if not (base.isascii() and base.isdigit()) or int(base) < f.min_base_seconds:
                return "time_control"
    if f.require_both_ratings and (
        _parse_rating(headers.get("WhiteElo")) is None or _parse_rating(headers.get("BlackElo")) is None
    ):
        return "missing_rating"
    if f.exclude_bots and "BOT" in (headers.get("WhiteTitle", ""), headers.get("BlackTitle", "")):
        return "bot"
    return None


def _mainline_sans(movetext: str) -> tuple[list[str], str | None, bool]:
    """Mainline SAN tokens, the result token (or None), and whether the text was cut off."""
    sans: list[str] = []
    depth = 0
    result_token = None
    cut_off = False
    for match in _MOVETEXT_TOKEN.finditer(movetext):
        token = match.group()
        head = token[0]
        if head == "{":
            if token[-1] != "}":
                cut_off = True
            continue
        if head == ";" or head == "$":
            continue
        if token == "(":
            depth += 1
            continue
        if token == ")":
            depth = max(0, depth - 1)
            continue
        if depth:
            continue
        if token in RESULTS or token == "*":
            result_token = token
            break
        if head.isdigit() and token[-1] == ".":
            continue  # move number
        san = token.rstrip(_ANNOTATION_SUFFIX)
        if san:
            sans.append(san)
    if depth:
        cut_off = True
    return sans, result_token, cut_off


def _replay_with_python_chess(sans: Sequence[str], game_id: str, ledger: DropLedger) -> list[str] | None:
    """UCI moves of the mainline, or None after recording why a move could not be read."""
    board = chess.Board()
    uci: list[str] = []
    for ply, san in enumerate(sans):
        try:
            move = board.parse_san(san)
        except chess.IllegalMoveError:
            ledger.drop("illegal_move", f"{game_id}: ply {ply + 1} {san!r}")
            return None
        except chess.AmbiguousMoveError:
            ledger.drop("ambiguous_move", f"{game_id}: ply {ply + 1} {san!r}")
            return None
        except ValueError:  # chess.InvalidMoveError and anything else unparseable
            ledger.drop("invalid_san", f"{game_id}: ply {ply + 1} {san!r}")
            return None
        if not move:
            ledger.drop("null_move", f"{game_id}: ply {ply + 1}")
            return None
        uci.append(move.uci())
        board.push(move)
    return uci


def _fast_sans_to_uci(sans: Sequence[str]) -> list[str] | None:
    try:
        return sans_to_uci(sans)
    except Exception:  # noqa: BLE001 - a bug in the fast route must not break reading: python-chess decides
        return None


def parse_chunk(chunk: Chunk, options: ReadOptions, ledger: DropLedger, fast_san: bool = True) -> GameRecord | None:
    """The games-table row of ``chunk``, or None after recording why it was dropped.

    With ``fast_san`` the moves are first resolved by :func:`simagents.data.san.sans_to_uci`
    (several times faster); whatever it does not vouch for is replayed with python-chess, so
    rows and drop reasons are the same either way.
    """
    ledger.read += 1
    repairs: set[str] = set()  # counted as notes once per kept game
    if not chunk.tag_lines:
        ledger.drop("text_outside_game", _decode(chunk.move_lines[:1], repairs))
        return None
    headers = _headers(chunk, repairs)
    game_id = _game_id(headers, chunk, options)
    reason = _filter_headers(headers, options)
    if reason is not None:
        ledger.drop(reason, game_id)
        return None

    if not chunk.move_lines and not chunk.at_end_of_file:
        ledger.drop("no_moves", game_id)  # a tag section followed by the next game
        return None
    sans, result_token, cut_off = _mainline_sans(_decode(chunk.move_lines, repairs))
    if result_token is None or cut_off or chunk.open_comment:
        ledger.drop("truncated", game_id)
        return None
    if result_token != headers["Result"]:  # a "*" token contradicts a decisive tag too
        ledger.drop("result_mismatch", f"{game_id}: tag {headers['Result']}, token {result_token}")
        return None
    if not sans:
        ledger.drop("no_moves", game_id)
        return None

    uci = _fast_sans_to_uci(sans) if fast_san else None
    if uci is None:
        uci = _replay_with_python_chess(sans, game_id, ledger)
        if uci is None:
            return None
    if len(uci) < options.filters.min_plies:
        ledger.drop("too_few_plies", f"{game_id}: {len(uci)} plies")
        return None

    white_rating = _parse_rating(headers.get("WhiteElo"))
    black_rating = _parse_rating(headers.get("BlackElo"))
    if options.prompt_mode == "persona":
        white_prompt, black_prompt = headers[WHITE_PERSONA_TAG], headers[BLACK_PERSONA_TAG]
    else:
        white_prompt = rating_band(white_rating, options.band_edges)
        black_prompt = rating_band(black_rating, options.band_edges)
    ledger.keep()
    for repair in sorted(repairs):
        ledger.note(repair)
    return GameRecord(
        game_id=game_id,
        source=options.source,
        white=headers.get("White", "?"),
        black=headers.get("Black", "?"),
        white_rating=white_rating,
        black_rating=black_rating,
        white_prompt=white_prompt,
        black_prompt=black_prompt,
        result=headers["Result"],
        termination=headers.get("Termination", "unknown"),
        time_control=headers.get("TimeControl", "-"),
        moves=" ".join(uci),
        plies=len(uci),
    )


def parse_chunks(
    chunks: Sequence[Chunk], options: ReadOptions, fast_san: bool = True
) -> tuple[list[GameRecord], DropLedger]:
    """Parse a batch of chunks (the unit of work of a worker process)."""
    ledger = DropLedger()
    records = [r for chunk in chunks if (r := parse_chunk(chunk, options, ledger, fast_san)) is not None]
    return records, ledger


def read_pgn_text(text: str | bytes, options: ReadOptions) -> tuple[list[GameRecord], DropLedger]:
    """Convenience for tests and small inputs: parse PGN given as a string or bytes."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_chunks(list(iter_chunks(io.BytesIO(data))), options)
