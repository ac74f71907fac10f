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
``duplicate_game``          repeats a game already kept: same players, date and moves
                            (human sources; see :func:`content_key`)
``band_cap``                was not sampled when balancing by rating band
``max_games``               was not sampled under the cap on the number of games
==========================  ===============================================================

Kept games that needed a repair are counted as notes: ``recoded_latin1`` (text that was not
UTF-8, read as Latin-1), ``malformed_tag`` (a tag line that could not be read and was ignored),
``duplicate_tag`` (a tag given twice in one game: the first value is used).

Whole files are checked too (by :mod:`.ingest`): a file that cannot be read to its end (a cut or
damaged compressed stream, a read error, a last game cut off mid-movetext) has *ended early*;
:func:`open_binary` makes every format report it, ``.zst`` included (see :class:`StreamEndedEarly`).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
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


class StreamEndedEarly(EOFError):
    """A compressed stream that stops inside a frame: the file was cut short.

    An :class:`EOFError`, like the one :mod:`gzip` and :mod:`bz2` raise for the same fault, so
    every format's truncation is caught as one kind of error.
    """


#: What reading a (possibly compressed) input file raises when the file is cut off or damaged:
#: EOFError (gzip, bz2, :class:`StreamEndedEarly`), OSError (``BadGzipFile``, bz2's "Invalid data
#: stream", a disk read error), zlib.error (a corrupt deflate block), zstandard.ZstdError.
READ_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, zlib.error, zstandard.ZstdError)


class _ZstdReader(io.RawIOBase):
    """A zstd file (one frame or several) decompressed on the fly, refusing a cut-off stream.

    ``zstandard``'s own ``stream_reader`` returns what it has when the input ends inside a frame,
    so a download cut short would read as a shorter file without a word; here the end of the
    input inside a frame raises :class:`StreamEndedEarly`.
    """

    # Compressed bytes per read (128 KiB): few Python calls per MB of PGN, and a damaged block
    # loses at most this much of the text before it (an error discards the whole read's output).
    READ_SIZE = 1 << 17

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False  # a frame has started and not yet ended
        self._pending = memoryview(b"")  # decompressed bytes not yet returned

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if not self._fill():
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _fill(self) -> bool:
        """Decompress the next block of input; False at the (clean) end of the input."""
        data = self._raw.read(self.READ_SIZE)
        if not data:
            if self._in_frame:
                raise StreamEndedEarly("the input ends inside a frame")
            return False
        out = []
        while data:
            out.append(self._frame.decompress(data))
            if self._frame.eof:  # a frame ended: the rest of the block starts the next frame
                data = self._frame.unused_data
                self._frame = self._decompressor.decompressobj()
                self._in_frame = False
            else:
                data = b""
                self._in_frame = True
        self._pending = memoryview(b"".join(out))
        return True

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for streaming, decompressing ``.zst``, ``.bz2`` and ``.gz`` on the fly.

    Decompression streams: a 30 GB lichess dump is never held in memory. Reading a cut-off or
    damaged file raises one of :data:`READ_ERRORS` when the damage is reached (for ``.zst`` too,
    through :class:`_ZstdReader`); a plain file cut between games cannot be told from a whole one.
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
        return io.BufferedReader(_ZstdReader(raw), buffer_size=1 << 20)
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


def iter_chunks(stream: Iterable[bytes]) -> Iterator[Chunk]:
    """Split a PGN byte stream (or any iterable of its lines) into per-game chunks.

    Never raises on malformed text (what the stream itself raises, a read error, passes through).
    """
    BETWEEN, TAGS, MOVES, GARBAGE = 0, 1, 2, 3
    state = BETWEEN
    tags: list[bytes] = []
    moves: list[bytes] = []
    in_comment = False
    blank_after_tags = False
    first_tag = b""  # the name of the current tag section's first tag
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
                first_tag = _tag_name(line)
            else:
                state, tags, moves = GARBAGE, [], [line]
                in_comment = _comment_state(line, False)
        elif state == TAGS:
            if is_tag:
                name = _tag_name(line)
                # A blank line, or the section's first tag again (every game of an export starts
                # with the same tag, usually Event), ends a tag section that had no movetext. Any
                # other repeated tag is a duplicate inside one game (see _headers), not a new game.
                if blank_after_tags or name == first_tag:
                    yield emit(False)
                    tags, moves, first_tag = [], [], name
                tags.append(line)
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
                    first_tag = _tag_name(line)
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
            name = match.group(1)
            if name in headers:  # a tag given twice: keep the first (the seven-tag roster comes first)
                repairs.add("duplicate_tag")
                continue
            headers[name] = match.group(2).replace('\\"', '"').replace("\\\\", "\\")
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


def _normal_name(name: str) -> str:
    """A player name for comparing copies: case-folded letters and digits only ("Carlsen, M." ->
    "carlsenm"), so that copies that differ in spacing, case or punctuation still match."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def content_key(white: str, black: str, date: str, moves: str) -> bytes:
    """What makes two games copies of one: the same players, date and moves (16-byte digest).

    Players are compared by :func:`_normal_name`; the date by its digits, with unknown trailing
    parts ignored (``2023.??.??`` is ``2023``; ``????.??.??`` and no Date tag are the same);
    ``moves`` is the UCI mainline. Two genuinely distinct games with the same players, date and
    moves (a repeated short draw in a match) are one game here: counting that move sequence once
    keeps it on one side of the train/test split, which is what the key is for.
    """
    day = re.sub(r"[^0-9?]", "", date).rstrip("?")
    text = "\x1f".join((_normal_name(white), _normal_name(black), day, moves))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def chunk_is_cut(chunk: Chunk) -> bool:
    """Whether a file's last chunk stops mid-game (the file was cut short, not merely messy).

    True for a game whose movetext has no result token, or stops inside a comment or a variation
    (a cut in the tag section leaves no movetext, so it counts too); text after the last game
    that has no tags is not a game and is not a cut.
    """
    if not chunk.tag_lines:
        return False
    if chunk.open_comment:
        return True
    _, result_token, cut_off = _mainline_sans(_decode(chunk.move_lines, set()))
    return result_token is None or cut_off


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
    white, black, moves = headers.get("White", "?"), headers.get("Black", "?"), " ".join(uci)
    return GameRecord(
        game_id=game_id,
        source=options.source,
        white=white,
        black=black,
        white_rating=white_rating,
        black_rating=black_rating,
        white_prompt=white_prompt,
        black_prompt=black_prompt,
        result=headers["Result"],
        termination=headers.get("Termination", "unknown"),
        time_control=headers.get("TimeControl", "-"),
        moves=moves,
        plies=len(uci),
        content=content_key(white, black, headers.get("Date", ""), moves),
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
