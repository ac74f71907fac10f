"""The robust PGN reader: bad input never crashes and never passes silently.

Every test goes through :func:`read` (or :func:`check_ledger`), which asserts the ledger's
invariant: each game read is either kept or dropped with a counted reason.
"""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import chess
import pytest
import zstandard
from conftest import mutate_pgn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simagents.data.pgn as pgn_module
from simagents.data.pgn import (
    HumanFilters,
    ReadOptions,
    iter_chunks,
    open_binary,
    parse_chunks,
    read_pgn_text,
    time_control_class,
)
from simagents.data.table import DropLedger, GameRecord

DATA = Path(__file__).parent / "data"


# ---------------------------------------------------------------------------------------------
# helpers


def check_ledger(records: list[GameRecord], ledger: DropLedger) -> None:
    """The invariant of every read: read == kept + dropped, and kept == rows returned."""
    assert ledger.read == ledger.kept + ledger.total_dropped, ledger.to_dict()
    assert ledger.kept == len(records), ledger.to_dict()
    assert all(count > 0 for count in ledger.dropped.values()), ledger.to_dict()


def options(
    source: str = "pgn",
    prompt_mode: str = "rating_band",
    band_edges: tuple[int, ...] = (1200, 1600, 2000),
    **filters: object,
) -> ReadOptions:
    return ReadOptions(
        source=source,
        prompt_mode=prompt_mode,
        band_edges=band_edges,  # type: ignore[arg-type]
        filters=HumanFilters(**filters),
    )  # type: ignore[arg-type]


def read(text: str | bytes, opts: ReadOptions | None = None, **kwargs: object) -> tuple[list[GameRecord], DropLedger]:
    records, ledger = read_pgn_text(text, opts if opts is not None else options(**kwargs))  # type: ignore[arg-type]
    check_ledger(records, ledger)
    return records, ledger


def game(movetext: str, result: str | None = "1-0", **tags: str | None) -> str:
    """A PGN game; tags with value None are left out; ``result`` None leaves out the Result tag."""
    all_tags: dict[str, str | None] = {
        "Event": "Rated Blitz game",
        "Site": "https://lichess.org/abcd1234",
        "White": "Alice",
        "Black": "Bob",
        "Result": result,
        "WhiteElo": "1500",
        "BlackElo": "1650",
        "TimeControl": "180+2",
    }
    all_tags.update(tags)
    header = "".join(f'[{name} "{value}"]\n' for name, value in all_tags.items() if value is not None)
    return f"{header}\n{movetext}\n\n"


def only_drop(ledger: DropLedger, reason: str, count: int = 1) -> None:
    assert dict(ledger.dropped) == {reason: count}, ledger.to_dict()


def replays_legally(uci: str) -> bool:
    board = chess.Board()
    for token in uci.split():
        move = chess.Move.from_uci(token)
        if move not in board.legal_moves:
            return False
        board.push(move)
    return True


SCHOLARS = "1. e4 e5 2. Bc4 Nc6 3. Qh5 Nf6 4. Qxf7# 1-0"
SCHOLARS_UCI = "e2e4 e7e5 f1c4 b8c6 d1h5 g8f6 h5f7"
FOOLS = "1. f3 e5 2. g4 Qh4# 0-1"
FOOLS_UCI = "f2f3 e7e5 g2g4 d8h4"


# ---------------------------------------------------------------------------------------------
# a clean game


def test_clean_game_is_kept_with_all_columns() -> None:
    records, ledger = read(game(SCHOLARS, Termination="Normal"), source="lichess")
    assert ledger.read == ledger.kept == 1
    (record,) = records
    assert record.moves == SCHOLARS_UCI
    assert record.plies == 7
    assert (record.white, record.black) == ("Alice", "Bob")
    assert (record.white_rating, record.black_rating) == (1500, 1650)
    assert (record.white_prompt, record.black_prompt) == ("r1200-1599", "r1600-1999")
    assert record.result == "1-0"
    assert record.termination == "Normal"
    assert record.time_control == "180+2"
    assert record.source == "lichess"
    assert record.game_id == "abcd1234"


# ---------------------------------------------------------------------------------------------
# bad moves


def test_illegal_move_is_dropped() -> None:
    # 2. e5: the e4 pawn is blocked by the e5 pawn.
    records, ledger = read(game("1. e4 e5 2. e5 Nc6 1-0"))
    assert records == []
    only_drop(ledger, "illegal_move")
    assert "ply 3" in ledger.examples["illegal_move"][0]


def test_ambiguous_move_is_dropped() -> None:
    # After 1. d4 d5 2. Nf3 Nf6 both the b1 and the f3 knight can go to d2.
    board = chess.Board()
    for san in ("d4", "d5", "Nf3", "Nf6"):
        board.push_san(san)
    with pytest.raises(chess.AmbiguousMoveError):
        board.parse_san("Nd2")
    records, ledger = read(game("1. d4 d5 2. Nf3 Nf6 3. Nd2 e6 1-0"))
    assert records == []
    only_drop(ledger, "ambiguous_move")
    # ... while the disambiguated move is fine.
    records, ledger = read(game("1. d4 d5 2. Nf3 Nf6 3. Nbd2 e6 1-0"))
    assert records[0].moves.split()[4] == "b1d2"


def test_invalid_san_token_is_dropped() -> None:
    records, ledger = read(game("1. e4 e5 2. Xx9 Nc6 1-0"))
    assert records == []
    only_drop(ledger, "invalid_san")


def test_null_move_is_dropped() -> None:
    records, ledger = read(game("1. e4 -- 2. d4 d5 1-0"))
    assert records == []
    only_drop(ledger, "null_move")


# ---------------------------------------------------------------------------------------------
# truncation


def test_truncated_last_game_mid_movetext() -> None:
    text = game(SCHOLARS) + game(FOOLS, result="0-1")
    cut = text[: text.index("Qh4#")]  # the file ends in the middle of the second game
    records, ledger = read(cut)
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    only_drop(ledger, "truncated")


def test_truncated_last_game_inside_comment() -> None:
    text = game(SCHOLARS) + game("1. f3 { a comment that is cut off", result="0-1")
    records, ledger = read(text.rstrip("\n"))
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    only_drop(ledger, "truncated")


def test_truncated_inside_comment_spanning_lines() -> None:
    text = game(SCHOLARS) + '[Event "x"]\n[Result "0-1"]\n\n1. f3 { a comment\nover lines\n\nand a blank one'
    records, ledger = read(text)
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    only_drop(ledger, "truncated")


def test_unclosed_comment_does_not_swallow_the_next_games() -> None:
    # Game 2's comment is never closed; the first "}" in the file is in game 3. Without care,
    # game 2 would run on into game 3 and be "kept" with game 3's moves, and game 3 be lost.
    clocked = "1. e4 { [%clk 0:03:00] } 1... e5 { [%clk 0:02:59] } 2. Bc4 Nc6 3. Qh5 Nf6 4. Qxf7# 1-0"
    text = game(FOOLS, result="0-1") + game("1. d4 { oops, never closed 1... d5 1-0") + game(clocked) * 2
    records, ledger = read(text)
    assert ledger.read == 4
    assert [r.moves for r in records] == [FOOLS_UCI, SCHOLARS_UCI, SCHOLARS_UCI]
    only_drop(ledger, "truncated")


def test_multiline_comment_with_blank_line_is_still_a_comment() -> None:
    movetext = (
        "1. e4 { a long\n\nnote with a blank line\n\n[%clk 0:03:00] and more\n} e5 2. Bc4 Nc6 3. Qh5 Nf6 4. Qxf7# 1-0"
    )
    records, ledger = read(game(movetext))
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    assert ledger.dropped == {}


def test_garbage_with_open_brace_does_not_swallow_the_next_game() -> None:
    records, ledger = read(game(FOOLS, result="0-1") + "junk { unbalanced\n\n" + game(SCHOLARS))
    assert [r.moves for r in records] == [FOOLS_UCI, SCHOLARS_UCI]
    only_drop(ledger, "text_outside_game")


def test_truncated_inside_variation() -> None:
    records, ledger = read(game("1. e4 e5 2. Nf3 (2. Bc4 Nf6", result="1-0").rstrip())
    assert records == []
    only_drop(ledger, "truncated")


def test_tag_section_with_no_movetext_then_a_game() -> None:
    text = '[Event "lonely tags"]\n[Result "1-0"]\n\n' + game(SCHOLARS)
    records, ledger = read(text)
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    only_drop(ledger, "no_moves")


def test_tag_section_with_no_movetext_and_no_blank_line_before_the_next_game() -> None:
    text = '[Event "lonely tags"]\n[Result "1-0"]\n' + game(SCHOLARS)
    records, ledger = read(text)
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    only_drop(ledger, "no_moves")


def test_duplicate_tag_lines_are_one_game() -> None:
    """A tag given twice inside a game does not split it (the first value is read, and noted)."""
    text = game(SCHOLARS).replace('[WhiteElo "1500"]\n', '[WhiteElo "1500"]\n[Annotator "A"]\n[WhiteElo "2500"]\n')
    text += game(FOOLS, result="0-1").replace('[Black "Bob"]\n', '[Black "Bob"]\n[Black "Robert"]\n')
    records, ledger = read(text)
    assert [r.moves for r in records] == [SCHOLARS_UCI, FOOLS_UCI]
    assert records[0].white_rating == 1500 and records[1].black == "Bob"
    assert ledger.read == 2 and ledger.dropped == {} and dict(ledger.notes) == {"duplicate_tag": 2}


def test_tag_section_with_no_movetext_at_end_of_file() -> None:
    records, ledger = read(game(SCHOLARS) + '[Event "lonely tags"]\n[Result "1-0"]\n')
    assert len(records) == 1
    only_drop(ledger, "truncated")


# ---------------------------------------------------------------------------------------------
# ratings


@pytest.mark.parametrize("white_elo", [None, "?", "", "-", "1500?", "0", "99999"])
def test_unknown_ratings_are_kept_as_none(white_elo: str | None) -> None:
    records, ledger = read(game(SCHOLARS, WhiteElo=white_elo))
    (record,) = records
    assert record.white_rating is None
    assert record.white_prompt == "unknown"
    assert record.black_rating == 1650
    assert record.black_prompt == "r1600-1999"
    assert ledger.kept == 1


@pytest.mark.parametrize("black_elo", [None, "?", ""])
def test_unknown_ratings_dropped_when_both_required(black_elo: str | None) -> None:
    records, ledger = read(game(SCHOLARS, BlackElo=black_elo), require_both_ratings=True)
    assert records == []
    only_drop(ledger, "missing_rating")


def test_both_ratings_present_pass_the_rating_filter() -> None:
    records, _ = read(game(SCHOLARS), require_both_ratings=True)
    assert len(records) == 1


def test_rating_band_edges() -> None:
    records, _ = read(game(SCHOLARS, WhiteElo="1199", BlackElo="2000"))
    assert (records[0].white_prompt, records[0].black_prompt) == ("r<1200", "r>=2000")


# ---------------------------------------------------------------------------------------------
# encodings and line ends


def test_latin1_player_name_is_recoded() -> None:
    data = game(SCHOLARS, White="José Raúl", Black="Müller").encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    records, ledger = read(data)
    (record,) = records
    assert record.white == "José Raúl"
    assert record.black == "Müller"
    assert record.moves == SCHOLARS_UCI
    assert ledger.notes["recoded_latin1"] == 1


def test_utf8_player_name_is_not_recoded() -> None:
    records, ledger = read(game(SCHOLARS, White="José Raúl").encode("utf-8"))
    assert records[0].white == "José Raúl"
    assert ledger.notes["recoded_latin1"] == 0


def test_latin1_fixture_file() -> None:
    with open_binary(DATA / "latin1-player-name.pgn") as stream:
        records, ledger = parse_chunks(list(iter_chunks(stream)), options())
    check_ledger(records, ledger)
    (record,) = records
    assert record.white == "José Raúl Capablanca"
    assert record.black == "Müller"
    assert record.result == "1/2-1/2"
    assert record.moves == "d2d4 d7d5 c2c4 e7e6"
    assert ledger.notes["recoded_latin1"] == 1


def test_crlf_line_ends() -> None:
    text = (game(SCHOLARS) + game(FOOLS, result="0-1")).replace("\n", "\r\n")
    records, ledger = read(text.encode())
    assert [r.moves for r in records] == [SCHOLARS_UCI, FOOLS_UCI]
    assert records[0].white == "Alice"  # no stray "\r" in tag values
    assert ledger.notes == {}


def test_byte_order_mark() -> None:
    records, ledger = read(b"\xef\xbb\xbf" + game(SCHOLARS).encode())
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    assert ledger.dropped == {} and ledger.notes == {}


def test_crlf_with_bom_fixture_file() -> None:
    path = DATA / "crlf-with-bom.pgn"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw, "fixture lost its BOM or CRLF (git eol conversion?)"
    with open_binary(path) as stream:
        records, ledger = parse_chunks(list(iter_chunks(stream)), options(source="lichess"))
    check_ledger(records, ledger)
    assert [r.game_id for r in records] == ["crlfGam1", "crlfGam2"]
    assert [r.moves for r in records] == ["e2e4 e7e5 g1f3 b8c6 f1b5 a7a6", FOOLS_UCI]
    assert ledger.dropped == {} and ledger.notes == {}


def test_empty_file() -> None:
    for text in (b"", b"\n\n", b"\xef\xbb\xbf", "   \r\n\t\n"):
        records, ledger = read(text)
        assert records == [] and ledger.read == 0


def test_random_binary_garbage_file() -> None:
    records, ledger = read(bytes(range(256)) * 3)
    assert records == []
    assert ledger.read >= 1


# ---------------------------------------------------------------------------------------------
# non-standard starts and variants


def test_setup_from_fen_is_dropped() -> None:
    fen = "4k3/8/8/8/8/8/4P3/4K3 w - - 0 1"
    records, ledger = read(game("1. e4 Kd7 1-0", SetUp="1", FEN=fen) + game("1. e4 Kd7 1-0", FEN=fen))
    assert records == []
    only_drop(ledger, "setup_from_fen", 2)


@pytest.mark.parametrize("variant", ["Chess960", "Crazyhouse", "crazyhouse", "Atomic", "From Position"])
def test_variant_is_dropped(variant: str) -> None:
    records, ledger = read(game("1. e4 e5 2. N@f3 1-0", Variant=variant))
    assert records == []
    only_drop(ledger, "variant")


@pytest.mark.parametrize("variant", ["Standard", "standard", "Chess", ""])
def test_standard_variant_tag_is_kept(variant: str) -> None:
    records, _ = read(game(SCHOLARS, Variant=variant))
    assert len(records) == 1


def test_drop_move_in_standard_game_is_dropped() -> None:
    records, ledger = read(game("1. e4 e5 2. N@f3 Nc6 1-0"))
    assert records == []
    assert ledger.total_dropped == 1


# ---------------------------------------------------------------------------------------------
# movetext syntax


def test_comments_variations_nags_and_clocks() -> None:
    movetext = (
        "{ opening comment } 1. e4 { [%clk 0:03:00] } 1... e5 { [%clk 0:03:00] [%eval 0.2] }\n"
        "2. Bc4 $1 (2. Nf3 Nc6 (2... d6 3. d4 (3. Bc4 { nested } Be7) exd4) 3. Bb5) 2... Nc6 !? ; rest of line\n"
        "3. Qh5?! Nf6?? $4 { multi\nline\ncomment } 4. Qxf7# 1-0"
    )
    records, ledger = read(game(movetext))
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    assert ledger.dropped == {}


def test_annotation_suffixes_on_moves() -> None:
    records, _ = read(game("1. e4!! e5? 2. Bc4!? Nc6?! 3. Qh5 Nf6?? 4. Qxf7# 1-0"))
    assert records[0].moves == SCHOLARS_UCI


def test_comment_with_brackets_and_semicolons() -> None:
    movetext = '1. e4 { [White "not a tag"] ; not a line comment } e5 2. Bc4 Nc6 3. Qh5 Nf6 4. Qxf7# 1-0'
    records, _ = read(game(movetext))
    assert records[0].moves == SCHOLARS_UCI


def test_game_with_no_moves() -> None:
    records, ledger = read(game("1-0") + game("{ only a comment } 0-1", result="0-1"))
    assert records == []
    only_drop(ledger, "no_moves", 2)


def test_garbage_between_games() -> None:
    text = game(SCHOLARS) + "this is not PGN at all\nnor is this\n\n" + game(FOOLS, result="0-1")
    records, ledger = read(text)
    assert [r.moves for r in records] == [SCHOLARS_UCI, FOOLS_UCI]
    only_drop(ledger, "text_outside_game")
    assert ledger.examples["text_outside_game"] == ["this is not PGN at all"]


def test_garbage_before_first_game() -> None:
    records, ledger = read("Downloaded from somewhere\n\n" + game(SCHOLARS))
    assert len(records) == 1
    only_drop(ledger, "text_outside_game")


def test_unfinished_result_is_dropped() -> None:
    records, ledger = read(game("1. e4 e5 2. Nf3 *", result="*"))
    assert records == []
    only_drop(ledger, "unfinished")


@pytest.mark.parametrize("result", [None, "", "2-0", "1-0 ", "½-½"])
def test_bad_result_tag_is_dropped(result: str | None) -> None:
    records, ledger = read(game("1. e4 e5 1-0", result=result))
    assert records == []
    only_drop(ledger, "bad_result")


def test_result_tag_and_token_mismatch() -> None:
    records, ledger = read(game("1. e4 e5 2. Nf3 0-1", result="1-0") + game("1. e4 e5 1/2-1/2", result="1-0"))
    assert records == []
    only_drop(ledger, "result_mismatch", 2)
    assert "tag 1-0, token 0-1" in ledger.examples["result_mismatch"][0]


def test_unfinished_token_under_decisive_tag_is_a_mismatch() -> None:
    records, ledger = read(game("1. e4 e5 2. Nf3 *", result="1-0"))
    assert records == []
    only_drop(ledger, "result_mismatch")


def test_missing_blank_line_between_games() -> None:
    text = game(SCHOLARS).rstrip("\n") + "\n" + game(FOOLS, result="0-1")
    assert "1-0\n[Event" in text
    records, ledger = read(text)
    assert [r.moves for r in records] == [SCHOLARS_UCI, FOOLS_UCI]
    assert ledger.dropped == {}


def test_missing_blank_line_between_tags_and_movetext() -> None:
    text = game(SCHOLARS).replace('"]\n\n1.', '"]\n1.')
    records, _ = read(text)
    assert [r.moves for r in records] == [SCHOLARS_UCI]


def test_escape_lines_are_ignored() -> None:
    text = "% exported by some tool\n" + game(SCHOLARS).replace("\n\n", "\n% escape in the middle\n\n", 1)
    records, ledger = read(text)
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    assert ledger.dropped == {}


def test_castling_written_with_zeros_and_letters() -> None:
    movetext = "1. e4 e5 2. Nf3 Nc6 3. Bc4 Bc5 4. 0-0 d6 5. d3 Bg4 6. Nc3 Qd7 7. Be3 0-0-0 1/2-1/2"
    records, _ = read(game(movetext, result="1/2-1/2"))
    moves = records[0].moves.split()
    assert moves[6] == "e1g1" and moves[13] == "e8c8"
    records, _ = read(game(movetext.replace("0-0-0", "O-O-O").replace("0-0", "O-O"), result="1/2-1/2"))
    assert records[0].moves == " ".join(moves)


PROMOTION_PREFIX = "1. e4 d5 2. exd5 c6 3. dxc6 Nf6 4. cxb7 Nbd7 "


@pytest.mark.parametrize(
    ("san", "uci"),
    [
        ("b8=Q", "b7b8q"),
        ("bxa8=Q", "b7a8q"),
        ("bxc8=N", "b7c8n"),
        ("bxa8=R", "b7a8r"),
        ("b8=B", "b7b8b"),
        ("bxa8Q", "b7a8q"),
    ],
)
def test_promotions_and_underpromotions(san: str, uci: str) -> None:
    records, _ = read(game(PROMOTION_PREFIX + f"5. {san} 1-0"))
    assert records[0].moves.split()[-1] == uci


def test_black_underpromotion() -> None:
    movetext = "1. b3 a5 2. Bb2 a4 3. Nc3 axb3 4. Rb1 bxa2 5. e3 axb1=N 6. Nxb1 Ra2 0-1"
    records, _ = read(game(movetext, result="0-1"))
    assert records[0].moves.split()[9] == "a2b1n"
    records, _ = read(game(movetext.replace("axb1=N", "axb1=Q").replace("Nxb1", "Nxb1 Qxb1"), result="0-1"))
    assert records == []  # 6. Nxb1 Qxb1: the queen was captured, so "Qxb1" is illegal
    records, _ = read(game(movetext.replace("axb1=N", "axb1=Q"), result="0-1"))
    assert records[0].moves.split()[9] == "a2b1q"


def test_check_and_mate_suffixes() -> None:
    records, _ = read(game("1. e4 f6 2. Qh5+ g6 3. Qxg6+ hxg6 0-1", result="0-1") + game(FOOLS, result="0-1"))
    assert [r.moves for r in records] == ["e2e4 f7f6 d1h5 g7g6 h5g6 h7g6", FOOLS_UCI]


def test_move_numbers_in_all_forms() -> None:
    movetext = "1.e4 1...e5 2. Bc4 2... Nc6 3 . Qh5 3. .. Nf6 4.Qxf7# 1-0"
    # "3 ." is not a move number: the stray "3" is not SAN.
    records, ledger = read(game(movetext))
    only_drop(ledger, "invalid_san")
    records, ledger = read(game("1.e4 1...e5 2. Bc4 2... Nc6 3.Qh5 3...Nf6 4.Qxf7# 1-0"))
    assert [r.moves for r in records] == [SCHOLARS_UCI]
    records, _ = read(game("12. e4 12... e5 13. Bc4 Nc6 14.Qh5 14...Nf6 15. Qxf7# 1-0"))
    assert [r.moves for r in records] == [SCHOLARS_UCI]


def test_text_after_result_token_is_ignored() -> None:
    records, _ledger = read(game(SCHOLARS + " trailing words"))
    assert [r.moves for r in records] == [SCHOLARS_UCI]


def test_malformed_tag_is_noted_and_ignored() -> None:
    text = game(SCHOLARS).replace('[White "Alice"]', "[White Alice]")
    records, ledger = read(text)
    assert records[0].white == "?"
    assert ledger.notes["malformed_tag"] == 1


def test_escaped_quotes_in_tag_values() -> None:
    records, _ = read(game(SCHOLARS, White='Bobby \\"The Kid\\" F'))
    assert records[0].white == 'Bobby "The Kid" F'


# ---------------------------------------------------------------------------------------------
# compressed files


@pytest.mark.parametrize("suffix", [".zst", ".bz2", ".gz", ""])
def test_open_binary_compressed(tmp_path: Path, suffix: str) -> None:
    data = (game(SCHOLARS) + "garbage\n\n" + game(FOOLS, result="0-1")).encode() * 50
    compress = {
        ".zst": lambda d: zstandard.ZstdCompressor().compress(d),
        ".bz2": bz2.compress,
        ".gz": gzip.compress,
        "": lambda d: d,
    }[suffix]
    path = tmp_path / f"games.pgn{suffix}"
    path.write_bytes(compress(data))
    with open_binary(path) as stream:
        records, ledger = parse_chunks(list(iter_chunks(stream)), options())
    check_ledger(records, ledger)
    assert ledger.read == 150
    assert [r.moves for r in records] == [SCHOLARS_UCI, FOOLS_UCI] * 50
    only_drop(ledger, "text_outside_game", 50)


def test_open_binary_multi_frame_zst(tmp_path: Path) -> None:
    frames = b"".join(zstandard.ZstdCompressor().compress(game(g).encode()) for g in (SCHOLARS, SCHOLARS, SCHOLARS))
    path = tmp_path / "frames.pgn.zst"
    path.write_bytes(frames)
    with open_binary(path) as stream:
        records, ledger = parse_chunks(list(iter_chunks(stream)), options())
    check_ledger(records, ledger)
    assert len(records) == 3


@pytest.mark.parametrize("read_size", [1, 7, 1 << 17])
def test_zst_reader_across_frames_and_reads_and_a_cut(
    tmp_path: Path, read_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames that end inside a read, reads that end inside a frame; a cut frame is an error."""
    monkeypatch.setattr(pgn_module._ZstdReader, "READ_SIZE", read_size)
    texts = [game(g).encode() * k for k, g in enumerate((SCHOLARS, SCHOLARS, SCHOLARS), start=1)]
    frames = b"".join(zstandard.ZstdCompressor(write_checksum=k % 2 == 0).compress(t) for k, t in enumerate(texts))
    path = tmp_path / "frames.pgn.zst"
    path.write_bytes(frames)
    with open_binary(path) as stream:
        assert stream.read() == b"".join(texts)
    path.write_bytes(frames[:-3])
    with open_binary(path) as stream, pytest.raises(pgn_module.StreamEndedEarly, match="ends inside a frame"):
        stream.read()


def test_open_binary_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.pgn"):
        open_binary(tmp_path / "nope.pgn")


# ---------------------------------------------------------------------------------------------
# filters


def test_rated_only() -> None:
    text = game(SCHOLARS) + game(SCHOLARS, Event="Casual Blitz game") + game(SCHOLARS, Event="Unrated game")
    records, ledger = read(text, rated_only=True)
    assert len(records) == 1
    only_drop(ledger, "unrated", 2)
    records, ledger = read(text)
    assert len(records) == 3


@pytest.mark.parametrize(
    ("time_control", "expected"),
    [
        ("0+0", "ultrabullet"),
        ("15+0", "ultrabullet"),
        ("29+0", "ultrabullet"),
        ("29", "ultrabullet"),
        ("30+0", "bullet"),
        ("0+1", "bullet"),
        ("60+0", "bullet"),
        ("179+0", "bullet"),
        ("180+0", "blitz"),
        ("140+1", "blitz"),
        ("300+3", "blitz"),
        ("479+0", "blitz"),
        ("480+0", "rapid"),
        ("600+5", "rapid"),
        ("1499+0", "rapid"),
        ("1459+1", "rapid"),
        ("1500+0", "classical"),
        ("1460+1", "classical"),
        ("1800+30", "classical"),
        (" 1500+0 ", "classical"),
        ("-", "correspondence"),
        (" - ", "correspondence"),
        ("", "unknown"),
        ("?", "unknown"),
        ("garbage", "unknown"),
        ("180+", "blitz"),
        ("+2", "unknown"),
        ("180+x", "unknown"),
        ("1/259200", "unknown"),
        ("-1+0", "unknown"),
        ("²+0", "unknown"),
        ("180+²", "unknown"),
    ],
)
def test_time_control_class(time_control: str, expected: str) -> None:
    assert time_control_class(time_control) == expected


def test_time_controls_filter() -> None:
    tcs = ["15+0", "60+0", "180+0", "600+0", "1800+0", "-", "junk"]
    text = "".join(game(SCHOLARS, TimeControl=tc) for tc in tcs) + game(SCHOLARS, TimeControl=None)
    records, ledger = read(text, time_controls=("blitz", "rapid"))
    assert [r.time_control for r in records] == ["180+0", "600+0"]
    only_drop(ledger, "time_control", len(tcs) - 2 + 1)
    records, ledger = read(text, time_controls=("correspondence",))
    # A missing TimeControl tag reads as "-".
    assert [r.time_control for r in records] == ["-", "-"]


def test_min_base_seconds_filter() -> None:
    text = "".join(game(SCHOLARS, TimeControl=tc) for tc in ["59+5", "60+0", "-", "²0+0"])
    records, ledger = read(text, min_base_seconds=60)
    assert [r.time_control for r in records] == ["60+0"]
    only_drop(ledger, "time_control", 3)


def test_exclude_bots() -> None:
    text = game(SCHOLARS, WhiteTitle="BOT") + game(SCHOLARS, BlackTitle="BOT") + game(SCHOLARS, WhiteTitle="GM")
    records, ledger = read(text, exclude_bots=True)
    assert len(records) == 1
    only_drop(ledger, "bot", 2)
    records, _ = read(text)
    assert len(records) == 3


def test_min_plies() -> None:
    text = game(FOOLS, result="0-1") + game(SCHOLARS)  # 4 and 7 plies
    records, ledger = read(text, min_plies=5)
    assert [r.plies for r in records] == [7]
    only_drop(ledger, "too_few_plies")
    records, _ = read(text, min_plies=4)
    assert len(records) == 2


def test_persona_prompt_mode() -> None:
    text = (
        game(SCHOLARS, WhitePersona="aggressive-1200", BlackPersona="cautious-1800")
        + game(SCHOLARS, WhitePersona="aggressive-1200")
        + game(SCHOLARS, WhitePersona="", BlackPersona="x")
        + game(SCHOLARS)
    )
    records, ledger = read(text, options(prompt_mode="persona"))
    (record,) = records
    assert (record.white_prompt, record.black_prompt) == ("aggressive-1200", "cautious-1800")
    assert record.white_rating == 1500  # ratings are still read
    only_drop(ledger, "missing_persona", 3)


def test_persona_tags_ignored_in_rating_band_mode() -> None:
    records, _ = read(game(SCHOLARS, WhitePersona="aggressive-1200", BlackPersona="cautious-1800"))
    assert (records[0].white_prompt, records[0].black_prompt) == ("r1200-1599", "r1600-1999")


def test_filter_order_variant_before_result() -> None:
    # A game that fails several checks is dropped once, for the first reason.
    _records, ledger = read(game("1. e4 *", result="*", Variant="Chess960", WhiteTitle="BOT"), exclude_bots=True)
    only_drop(ledger, "variant")


# ---------------------------------------------------------------------------------------------
# game ids


@pytest.mark.parametrize(
    "site",
    [
        "https://lichess.org/abcd1234",
        "https://lichess.org/abcd1234/",
        "lichess.org/abcd1234",
    ],
)
def test_lichess_game_id_from_site(site: str) -> None:
    records, _ = read(game(SCHOLARS, Site=site), source="lichess")
    assert records[0].game_id == "abcd1234"


def test_game_id_without_lichess_site() -> None:
    text = game(SCHOLARS, Site="Somewhere") + game(SCHOLARS, Site=None, GameId="g42") + game(SCHOLARS)
    opts = ReadOptions(source="pgn", prompt_mode="rating_band", band_edges=(1500,), id_prefix="file.pgn#")
    records, _ = read(text, opts)
    # A non-lichess source ignores the lichess URL: chunk index (1-based) or GameId tag.
    assert [r.game_id for r in records] == ["file.pgn#1", "file.pgn#g42", "file.pgn#3"]


def test_drop_examples_name_the_game() -> None:
    _, ledger = read(game("1. e4 e5 2. e5 1-0", Site="https://lichess.org/zzzz9999"), source="lichess")
    assert ledger.examples["illegal_move"][0].startswith("zzzz9999")


# ---------------------------------------------------------------------------------------------
# property: any input, however mangled


VALID_PGN = (
    game(
        "1. e4 { [%clk 0:03:00] } 1... e5 2. Nf3 (2. Bc4 Nf6 (2... Bc5)) 2... Nc6 $1 3. Bb5!? a6 "
        "4. Ba4 Nf6 5. O-O Be7 6. Re1 b5 7. Bb3 d6 8. c3 O-O 1-0",
        WhitePersona="a",
        BlackPersona="b",
    )
    + game(FOOLS, result="0-1", WhiteElo="?", TimeControl="60+0", WhitePersona="a", BlackPersona="b")
    + game(
        PROMOTION_PREFIX + "5. bxc8=N Qxc8 1/2-1/2",
        result="1/2-1/2",
        Event="Casual Rapid game",
        TimeControl="600+0",
        WhitePersona="c",
        BlackPersona="d",
    )
    + game(SCHOLARS, WhiteTitle="BOT", Site="https://lichess.org/bot12345", WhitePersona="a", BlackPersona="b")
).encode()

PROPERTY_OPTIONS = [
    options(source="lichess"),
    options(
        prompt_mode="persona",
        rated_only=True,
        time_controls=("blitz", "bullet"),
        require_both_ratings=True,
        exclude_bots=True,
        min_plies=3,
        min_base_seconds=30,
    ),
]


@st.composite
def mutated_pgn(draw: st.DrawFn) -> bytes:
    return mutate_pgn(draw, VALID_PGN)


def _check_any_input(data: bytes) -> None:
    for opts in PROPERTY_OPTIONS:
        records, ledger = read_pgn_text(data, opts)
        check_ledger(records, ledger)
        for record in records:
            assert record.plies == len(record.moves.split())
            assert replays_legally(record.moves), record
            assert record.result in ("1-0", "0-1", "1/2-1/2")


def test_valid_pgn_for_property_tests_is_read_in_full() -> None:
    _records, ledger = read(VALID_PGN, PROPERTY_OPTIONS[0])
    assert ledger.kept == 4 and ledger.dropped == {}
    _records, ledger = read(VALID_PGN, PROPERTY_OPTIONS[1])
    assert ledger.kept == 1
    assert dict(ledger.dropped) == {"missing_rating": 1, "unrated": 1, "bot": 1}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_pgn())
def test_mutated_pgn_never_raises(data: bytes) -> None:
    _check_any_input(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check_any_input(data)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('[]{}()";%$*-=+#!?.0123456789 \n\r\tabcdefghKQRBNOx/\\')), max_size=300))
def test_random_pgn_like_text_never_raises(text: str) -> None:
    _check_any_input(text.encode())
