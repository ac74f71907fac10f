"""Deterministic PGN fixtures shaped like real game collections (no real game is copied).

    python tests/pgn_fixtures.py                          # rewrite the committed tests/data files
    python tests/pgn_fixtures.py --master 3000 --out F    # a master-database-like file (benchmarks)

Two shapes, both from seeded random play on python-chess boards (the moves are legal but not
good; what matters to a reader is the text around them):

* :func:`master_like_pgn`: a database of over-the-board games as real collections have them:
  Seven Tag Roster plus Elo, ECO, EventDate, PlyCount and Annotator tags, missing and ``?``
  ratings, move text wrapped at 79 columns, and in about a third of the games annotations:
  comments (some over several lines, some with ``[%eval]``/``[%clk]``), nested variations, NAGs
  (``$14``) and move suffixes (``!?``), ``;`` rest-of-line comments; one unfinished game (``*``).
* :func:`collection_pgn`: a small collection with what merged public collections add: copies of
  games (exact, and with other tags and name spellings), a duplicated tag line, ratings missing,
  ``?`` or empty, CRLF line ends. Written to ``tests/data/collection.pgn``, with a cut-off
  ``.zst`` copy (``collection-cut.pgn.zst``: the first :data:`CUT_FRACTION` of the compressed
  bytes), the truncated compressed download of the issue.

``tests/data/masters.pgn.gz`` holds :data:`MASTERS_GAMES` master-like games (gzip, no name or
time in its header, so the bytes are reproducible): with the collection and its cut copy, the
inputs of ``config/pgn-smoke.yaml``, the human-data run of the workflow tests.
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
import textwrap
from pathlib import Path

import chess
import zstandard

DATA = Path(__file__).parent / "data"
COLLECTION = DATA / "collection.pgn"
COLLECTION_CUT = DATA / "collection-cut.pgn.zst"
MASTERS = DATA / "masters.pgn.gz"  # the bulk of config/pgn-smoke.yaml's games
MASTERS_GAMES = 240
CUT_FRACTION = 0.6

_SYLLABLES = ["ka", "ra", "pov", "an", "ev", "ski", "mi", "lo", "ber", "gu", "ten", "sha", "no", "vi", "ch", "dor"]
_EVENTS = ["Ch URS", "Hoogovens", "Olympiad", "Open", "Memorial", "Zonal", "Candidates", "Bundesliga"]
_SITES = ["Moscow", "Wijk aan Zee", "Linares", "Reykjavik", "Hastings", "Biel", "Tilburg", "Dortmund"]
_NAGS = ["$1", "$2", "$3", "$4", "$5", "$6", "$10", "$13", "$14", "$15", "$16", "$17", "$18", "$19", "$36", "$132"]
_SUFFIXES = ["!", "?", "!?", "?!", "!!", "??"]
_WORDS = [
    "the",
    "idea",
    "is",
    "to",
    "play",
    "on",
    "the",
    "queenside",
    "with",
    "a",
    "small",
    "edge",
    "white",
    "keeps",
    "the",
    "pressure",
    "black",
    "equalises",
]


def _name(rng: random.Random) -> str:
    surname = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
    return f"{surname}, {rng.choice('ABCDEGIJKLMNPRSTVY')}."


def _comment(rng: random.Random) -> str:
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 18)))
    kind = rng.random()
    if kind < 0.15:
        return f"{{[%eval {rng.uniform(-3, 3):.2f}]}}"
    if kind < 0.25:
        return f"{{[%clk {rng.randint(0, 1)}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}]}}"
    if kind < 0.32:
        return f"{{{words} (see the note [a]; {rng.randint(1, 99)})}}"  # brackets and ; inside a comment
    return f"{{{words}}}"


def _pick(board: chess.Board, rng: random.Random) -> chess.Move:
    moves = list(board.legal_moves)
    captures = [m for m in moves if board.is_capture(m)]
    return rng.choice(captures) if captures and rng.random() < 0.4 else rng.choice(moves)


def _line_tokens(board: chess.Board, rng: random.Random, length: int, depth: int) -> list[str]:
    """A variation from ``board`` (not changed): move tokens, sometimes with a NAG, a comment or
    a nested variation."""
    board = board.copy(stack=False)
    tokens: list[str] = []
    for k in range(length):
        if board.is_game_over():
            break
        move = _pick(board, rng)
        number = board.fullmove_number
        if board.turn == chess.WHITE:
            tokens.append(f"{number}.")
        elif k == 0:
            tokens.append(f"{number}...")
        tokens.append(board.san(move))
        if rng.random() < 0.15:
            tokens.append(rng.choice(_NAGS))
        if depth < 2 and rng.random() < 0.1:
            tokens += ["(", *_line_tokens(board, rng, rng.randint(1, 3), depth + 1), ")"]
        board.push(move)
    return tokens


def _movetext(rng: random.Random, annotated: bool, unfinished: bool) -> tuple[list[str], str, int]:
    """(tokens of the move text, result, plies of the mainline)."""
    board = chess.Board()
    target = rng.randint(24, 150)
    tokens: list[str] = []
    if annotated and rng.random() < 0.5:
        tokens.append(_comment(rng))
    after_break = False  # a comment or variation was written: Black's next move needs "n..."
    while board.ply() < target and not board.is_game_over():
        move = _pick(board, rng)
        number = board.fullmove_number
        if board.turn == chess.WHITE:
            tokens.append(f"{number}.")
        elif after_break:
            tokens.append(f"{number}...")
        after_break = False
        san = board.san(move)
        if annotated and rng.random() < 0.05:
            san += rng.choice(_SUFFIXES)
        tokens.append(san)
        if annotated and rng.random() < 0.08:
            tokens.append(rng.choice(_NAGS))
        if annotated and rng.random() < 0.12:
            tokens.append(_comment(rng))
            after_break = True
        if annotated and rng.random() < 0.1:
            tokens += ["(", *_line_tokens(board, rng, rng.randint(1, 6), 0), ")"]
            after_break = True
        board.push(move)
    if unfinished:
        result = "*"
    elif board.is_game_over():
        result = board.result()
    else:
        result = rng.choices(["1-0", "0-1", "1/2-1/2"], weights=[4, 3, 4])[0]
    return tokens, result, board.ply()


def _wrap(tokens: list[str], rng: random.Random) -> str:
    """Export-format lines of at most 79 columns; a ``;`` comment ends its line, as it must."""
    text = " ".join(tokens)
    lines = textwrap.wrap(text, 79, break_long_words=False, break_on_hyphens=False)
    out = []
    for line in lines:
        out.append(line)
        if rng.random() < 0.03:
            out.append("; " + " ".join(rng.choice(_WORDS) for _ in range(4)))
    return "\n".join(out)


def _rating(rng: random.Random) -> str | None:
    """A rating tag value as collections have them: mostly a number; missing, ``?`` or empty."""
    kind = rng.random()
    if kind < 0.6:
        return str(rng.randint(2200, 2800))
    if kind < 0.8:
        return None
    return rng.choice(["?", "", "-"])


def master_game(index: int, seed: int, unfinished: bool = False) -> str:
    """One game of :func:`master_like_pgn` (PGN text, LF line ends, a blank line after it)."""
    rng = random.Random(f"master:{seed}:{index}")
    annotated = rng.random() < 0.33
    tokens, result, plies = _movetext(rng, annotated, unfinished)
    year = rng.randint(1950, 2023)
    month = f"{rng.randint(1, 12):02d}"
    day = f"{rng.randint(1, 28):02d}"
    date = f"{year}.{month}.{day}" if rng.random() < 0.85 else f"{year}.??.??"
    tags: list[tuple[str, str | None]] = [
        ("Event", f"{rng.choice(_EVENTS)} {year}"),
        ("Site", rng.choice(_SITES)),
        ("Date", date),
        ("Round", rng.choice(["?", str(rng.randint(1, 13)), f"{rng.randint(1, 9)}.{rng.randint(1, 4)}"])),
        ("White", _name(rng)),
        ("Black", _name(rng)),
        ("Result", result),
        ("WhiteElo", _rating(rng)),
        ("BlackElo", _rating(rng)),
        ("ECO", f"{rng.choice('ABCDE')}{rng.randint(0, 99):02d}"),
        ("EventDate", f"{year}.??.??"),
        ("PlyCount", str(plies)),
        ("Annotator", _name(rng) if annotated else None),
    ]
    header = "".join(f'[{name} "{value}"]\n' for name, value in tags if value is not None)
    return f"{header}\n{_wrap([*tokens, result], rng)}\n\n"


def master_like_pgn(games: int, seed: int = 0) -> str:
    """``games`` games shaped like a master database; game ``games // 2`` is unfinished (``*``)."""
    return "".join(master_game(i, seed, unfinished=i == games // 2) for i in range(games))


#: What :func:`collection_pgn` holds, for the tests: kept games, and drops by reason.
COLLECTION_GAMES = 20  # distinct games, game 7 unfinished
COLLECTION_COPIES = 4  # copies of games already in the file (duplicate_game)


def collection_pgn() -> bytes:
    """The small collection of ``tests/data/collection.pgn`` (CRLF line ends), see the module doc.

    Games 0-19 (game 7 unfinished, the rest kept), then copies: game 2 exactly, game 5 exactly,
    game 11 with other Event/Round tags and its players spelt "SURNAME,I", and game 3 with one
    more tag. Game 0 is annotated (comments, variations, NAGs); game 1 has no WhiteElo tag, game 4
    a BlackElo of "?", game 6 an empty WhiteElo; game 9 has its Annotator tag twice.
    """
    texts = [master_game(i, seed=21, unfinished=i == 7) for i in range(COLLECTION_GAMES)]
    # Force the features the tests need into a few games, whatever the seeded draw gave them.
    texts[1] = "\n".join(line for line in texts[1].split("\n") if not line.startswith("[WhiteElo "))
    texts[4] = _set_tag(texts[4], "BlackElo", "?")
    texts[6] = _set_tag(_set_tag(texts[6], "WhiteElo", ""), "BlackElo", "?")
    texts[9] = texts[9].replace("[ECO ", '[Annotator "First, A."]\n[Annotator "Second, B."]\n[ECO ', 1)
    index = 100
    annotated = master_game(index, seed=21).split("\n\n", 1)[1]
    while "(" not in annotated or "{" not in annotated or "$" not in annotated:
        index += 1
        annotated = master_game(index, seed=21).split("\n\n", 1)[1]
    texts[0] = texts[0].split("\n\n", 1)[0] + "\n\n" + annotated  # comments, variations and NAGs for sure
    texts[0] = _set_tag(texts[0], "Result", annotated.split()[-1])
    copies = [texts[2], texts[5], _respell(texts[11]), texts[3].replace("[Result ", '[Source "merged"]\n[Result ', 1)]
    return "".join(texts + copies).replace("\n", "\r\n").encode()


def _set_tag(text: str, name: str, value: str) -> str:
    lines = text.split("\n")
    for k, line in enumerate(lines):
        if line.startswith(f"[{name} "):
            lines[k] = f'[{name} "{value}"]'
            return "\n".join(lines)
    return text.replace("\n\n", f'\n[{name} "{value}"]\n\n', 1)


def _respell(text: str) -> str:
    """A copy as another collection has it: other Event and Round, players "SURNAME,I"."""
    lines = text.split("\n")
    for k, line in enumerate(lines):
        for tag in ("White", "Black"):
            if line.startswith(f'[{tag} "'):
                name = line[len(tag) + 3 : -2]
                lines[k] = f'[{tag} "{name.replace(", ", ",").rstrip(".").upper()}"]'
        if line.startswith("[Event "):
            lines[k] = '[Event "Another database"]'
        if line.startswith("[Round "):
            lines[k] = '[Round "-"]'
    return "\n".join(lines)


def write_fixtures() -> None:
    data = collection_pgn()
    COLLECTION.write_bytes(data)
    # One frame with a checksum (as the zstd CLI writes), its blocks flushed every 3 games as a
    # streaming writer does, so that the cut copy still holds whole games before the cut.
    compressor = zstandard.ZstdCompressor(level=19, write_checksum=True).compressobj()
    games = data.split(b"\r\n\r\n[")
    parts = []
    for k, game in enumerate(games):
        parts.append(compressor.compress(game if k == 0 else b"\r\n\r\n[" + game))
        if k % 3 == 2:
            parts.append(compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
    compressed = b"".join(parts) + compressor.flush()
    assert zstandard.ZstdDecompressor().decompressobj().decompress(compressed) == data
    COLLECTION_CUT.write_bytes(compressed[: int(len(compressed) * CUT_FRACTION)])
    MASTERS.write_bytes(masters_gz())


def masters_gz() -> bytes:
    """The bytes of ``tests/data/masters.pgn.gz`` (gzip with mtime 0 and no file name)."""
    return gzip.compress(master_like_pgn(MASTERS_GAMES, seed=1).encode(), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--master", type=int, help="write this many master-like games to --out instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.master:
        if args.out is None:
            parser.error("--master needs --out")
        args.out.write_text(master_like_pgn(args.master, args.seed))
        return 0
    write_fixtures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
