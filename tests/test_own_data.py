"""A researcher's own PGN: whole-file checks (cut, damaged, empty), copies of games, and the
master-database shape, on fixtures of our own making (:mod:`pgn_fixtures`)."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import chess.pgn
import numpy as np
import pyarrow as pa
import pytest
import yaml
import zstandard
from pgn_fixtures import (
    COLLECTION,
    COLLECTION_COPIES,
    COLLECTION_CUT,
    COLLECTION_GAMES,
    MASTERS,
    collection_pgn,
    master_game,
    master_like_pgn,
    masters_gz,
)

import simagents.data.pgn as pgn_module
from simagents.cli import main
from simagents.config import Config, from_mapping
from simagents.data.ingest import InputError, Sampling, ingest_pgn
from simagents.data.pgn import ReadOptions
from simagents.data.sources import build_games_table
from simagents.data.summary import build_summary, to_markdown
from simagents.data.table import DropLedger
from simagents.positions import build_positions, split_keys
from simagents.prompts import rating_band_names, vocabulary

OPTIONS = ReadOptions(source="pgn", prompt_mode="rating_band", band_edges=(2000, 2400))

COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.compress,
    ".bz2": lambda data: bz2.compress(data, compresslevel=1),  # 100 kB blocks: a cut keeps some games
    ".zst": lambda data: zstandard.ZstdCompressor(write_checksum=True).compress(data),  # as the zstd CLI writes
    "": lambda data: data,
}


def _available(suffix: str, data: bytes) -> bytes:
    """What a lenient decompressor recovers from a cut compressed file (the text before the cut)."""
    if suffix == ".gz":
        return zlib.decompressobj(wbits=31).decompress(data)
    if suffix == ".bz2":
        return bz2.BZ2Decompressor().decompress(data)
    if suffix == ".zst":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def _whole_games(texts: list[str], available: bytes) -> int:
    """Games whose text up to the result token lies within ``available``."""
    end, whole = 0, 0
    for text in texts:
        end += len(text.encode())
        whole += end - 2 <= len(available)  # each game ends "<result>\n\n"
    return whole


def _ingest(
    paths: list[Path], keep: bool = False, sampling: Sampling | None = None, workers: int = 1
) -> tuple[pa.Table, DropLedger]:
    options = [ReadOptions(**{**OPTIONS.__dict__, "id_prefix": f"{p.name.split('.')[0]}#"}) for p in paths]
    return ingest_pgn(paths, options, sampling or Sampling(), workers=workers, progress=False, keep_ended_early=keep)


def _pgn_config(tmp_path: Path, paths: list[Path], **data: object) -> Config:
    raw = {
        "config_version": 1,
        "run_name": "own",
        "seed": 0,
        "results_dir": str(tmp_path / "results"),
        "data": {"source": "pgn", "pgn": {"paths": [str(p) for p in paths]}, **data},
    }
    return from_mapping(raw)


# ---------------------------------------------------------------------------------------------
# the committed fixtures


def test_committed_fixtures_are_what_the_generator_writes() -> None:
    assert COLLECTION.read_bytes() == collection_pgn(), "rerun: python tests/pgn_fixtures.py"
    assert MASTERS.read_bytes() == masters_gz(), "rerun: python tests/pgn_fixtures.py"
    full = COLLECTION.read_bytes()
    assert full.count(b"\r\n") == full.count(b"\n")  # CRLF line ends throughout
    recovered = _available(".zst", COLLECTION_CUT.read_bytes())
    assert 0 < len(recovered) < len(full) and full.startswith(recovered)


def test_collection_is_read_like_python_chess() -> None:
    table, ledger = _ingest([COLLECTION])
    kept = COLLECTION_GAMES - 1
    assert ledger.read == COLLECTION_GAMES + COLLECTION_COPIES
    assert ledger.kept == kept == table.num_rows
    assert dict(ledger.dropped) == {"duplicate_game": COLLECTION_COPIES, "unfinished": 1}
    assert dict(ledger.notes) == {"duplicate_tag": 1}
    # Every finished game python-chess reads is kept once, with the same mainline.
    handle = io.StringIO(COLLECTION.read_text())
    expected = {}
    while (game := chess.pgn.read_game(handle)) is not None:
        assert not game.errors
        if game.headers["Result"] != "*":
            expected[" ".join(m.uci() for m in game.mainline_moves())] = game.headers
    assert sorted(table.column("moves").to_pylist()) == sorted(expected)
    rows = table.to_pylist()
    by_id = {r["game_id"]: r for r in rows}
    # game 1: no WhiteElo tag; game 4: BlackElo "?"; game 6: WhiteElo "" (ids count from 1)
    assert by_id["collection#2"]["white_rating"] is None and by_id["collection#2"]["white_prompt"] == "unknown"
    assert by_id["collection#5"]["black_rating"] is None
    assert by_id["collection#7"]["white_rating"] is None and by_id["collection#7"]["black_rating"] is None
    # game 9's first Annotator is the one read; its tags are one game, not two
    assert "collection#10" in by_id
    # game 0 is annotated: comments, variations and NAGs around a mainline read in full
    assert len(by_id["collection#1"]["moves"].split()) == by_id["collection#1"]["plies"] > 20


def test_committed_cut_zst_stops_the_stage_or_is_kept_and_recorded(tmp_path: Path) -> None:
    config = _pgn_config(tmp_path, [COLLECTION_CUT])
    with pytest.raises(InputError, match=r"collection-cut\.pgn\.zst: input ended early after \d+ whole games"):
        build_games_table(config, [COLLECTION_CUT], progress=False)
    kept_config = _pgn_config(tmp_path, [COLLECTION_CUT], input_ended_early="keep")
    table, ledger = build_games_table(kept_config, [COLLECTION_CUT], progress=False)
    (entry,) = ledger.input_ended_early
    assert entry["file"] == str(COLLECTION_CUT) and "zstd stream is cut off" in entry["problem"]
    assert 0 < entry["games_read"] < COLLECTION_GAMES and table.num_rows <= entry["games_read"]
    assert ledger.read == ledger.kept + ledger.total_dropped


# ---------------------------------------------------------------------------------------------
# cut, damaged and empty files, one test per format


@pytest.fixture(scope="module")
def master_texts() -> list[str]:
    return [master_game(i, seed=5) for i in range(250)]  # about 250 kB: several bz2 blocks


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".zst", ""], ids=["gz", "bz2", "zst", "plain"])
def test_a_cut_file_stops_with_one_line_or_keeps_what_was_read(
    tmp_path: Path, master_texts: list[str], suffix: str
) -> None:
    data = "".join(master_texts).encode()
    compressed = COMPRESS[suffix](data)
    cut = compressed[: int(len(compressed) * 0.55)]
    path = tmp_path / f"games.pgn{suffix}"
    path.write_bytes(cut)
    whole = _whole_games(master_texts, _available(suffix, cut))
    assert 0 < whole < len(master_texts)
    with pytest.raises(InputError) as refused:
        _ingest([path])
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{path}: input ended early after {whole} whole games")
    assert "Re-download" in message and "data.input_ended_early: keep" in message
    with pytest.raises(InputError) as in_parallel:  # the pool's task thread reads the file
        _ingest([path], workers=2)
    assert str(in_parallel.value) == message
    table, ledger = _ingest([path], keep=True)
    assert ledger.input_ended_early == [
        {"file": str(path), "problem": ledger.input_ended_early[0]["problem"], "games_read": whole}
    ]
    assert ledger.read in (whole, whole + 1)  # the game at the cut is read and dropped as truncated
    assert ledger.read == ledger.kept + ledger.total_dropped and table.num_rows == ledger.kept > 0


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".zst"])
def test_a_damaged_compressed_file_stops_with_one_line(tmp_path: Path, master_texts: list[str], suffix: str) -> None:
    compressed = bytearray(COMPRESS[suffix]("".join(master_texts).encode()))
    for k in range(len(compressed) // 2, len(compressed) // 2 + 64):
        compressed[k] ^= 0x5A
    path = tmp_path / f"games.pgn{suffix}"
    path.write_bytes(bytes(compressed))
    with pytest.raises(InputError) as refused:
        _ingest([path])
    message = str(refused.value)
    assert (
        "\n" not in message and message.startswith(f"{path}: input ended early: the ") and "data is damaged" in message
    )
    # Keeping what was read is offered where a whole game was read before the damage was found
    # (zstd discards the output of the whole 128 KiB read in which it finds damage: here, all).
    assert ("data.input_ended_early: keep" in message) != message.endswith("no whole game could be read from it")


def test_a_tiny_cut_zst_is_not_zero_games_and_success(tmp_path: Path, master_texts: list[str]) -> None:
    path = tmp_path / "tiny.pgn.zst"
    path.write_bytes(COMPRESS[".zst"]("".join(master_texts[:3]).encode())[:40])
    with pytest.raises(
        InputError,
        match=r"input ended early after 0 whole games: the zstd stream is cut off \(the input ends inside a frame\)\. ",
    ):
        _ingest([path])


def test_a_file_not_in_its_format_is_damaged(tmp_path: Path, master_texts: list[str]) -> None:
    path = tmp_path / "plain-text.pgn.gz"
    path.write_text(master_texts[0])
    with pytest.raises(InputError, match=r"the gzip data is damaged \(BadGzipFile: Not a gzipped file"):
        _ingest([path])


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".zst", ""], ids=["gz", "bz2", "zst", "plain"])
def test_an_empty_file_is_an_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty.pgn{suffix}"
    path.write_bytes(COMPRESS[suffix](b""))
    with pytest.raises(InputError, match=r"empty\.pgn.*: no PGN game in it \(the file is empty\)"):
        _ingest([path])


def test_a_file_of_text_without_games_is_an_error(tmp_path: Path, master_texts: list[str]) -> None:
    good, text = tmp_path / "good.pgn", tmp_path / "notes.pgn"
    good.write_text(master_texts[0])
    text.write_text("some notes\nabout games\n\nand more\n")
    with pytest.raises(InputError, match=r"notes\.pgn: no PGN game in it \(2 blocks of text, none with a PGN tag"):
        _ingest([good, text])


def test_a_run_that_keeps_no_game_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "unfinished.pgn"
    path.write_text(master_game(0, seed=1, unfinished=True) + master_game(1, seed=1, unfinished=True))
    with pytest.raises(InputError, match=r"no game kept of the 2 read \(dropped: unfinished: 2\)"):
        _ingest([path])


def test_the_cli_says_one_line_and_the_summary_records_the_cut(
    tmp_path: Path, master_texts: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "download.pgn.gz"
    path.write_bytes(gzip.compress("".join(master_texts[:40]).encode())[:-100])
    config = tmp_path / "own.yaml"
    raw = {"config_version": 1, "run_name": "own", "seed": 0, "results_dir": str(tmp_path / "results")}
    raw["data"] = {"source": "pgn", "pgn": {"paths": [str(path)]}}
    config.write_text(yaml.safe_dump(raw))
    ledger_path = tmp_path / "ledger.json"
    command = ["games", "--config", str(config), "--workers", "1", "--no-progress", "--inputs", str(path)]
    command += ["--out", str(tmp_path / "games.parquet"), "--ledger-out", str(ledger_path)]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"simagents games: error: {path}: input ended early after")
    assert main(["data", "--config", str(config), "--workers", "1", "--no-progress"]) == 2
    data_err = capsys.readouterr().err  # `simagents data` stops at the failing stage, with its line
    assert data_err.startswith(err) and "positions" not in data_err
    raw["data"]["input_ended_early"] = "keep"
    config.write_text(yaml.safe_dump(raw))
    assert main(command) == 0
    ledger = json.loads(ledger_path.read_text())
    assert ledger["input_ended_early"][0]["file"] == str(path)
    meta = {"splits": {"train": {"positions": 0, "positions_by_prompt": {}}}, "skip_plies": 0, "games_failed_replay": 0}
    from simagents.data.table import read_games

    summary = build_summary("pgn", ledger, read_games(tmp_path / "games.parquet"), meta, None, {})
    assert summary["input_ended_early"] == ledger["input_ended_early"]
    assert "## Input ended early" in to_markdown(summary) and str(path) in to_markdown(summary)


# ---------------------------------------------------------------------------------------------
# copies of games


def test_copies_across_files_are_dropped_and_counted(tmp_path: Path) -> None:
    texts = [master_game(i, seed=3) for i in range(12)]
    a, b = tmp_path / "a.pgn", tmp_path / "b.pgn"
    a.write_text("".join(texts[:8]))
    b.write_text("".join(texts[5:]) + texts[0])  # games 5-7 and 0 again
    table, ledger = _ingest([a, b])
    assert table.num_rows == 12 and ledger.dropped == {"duplicate_game": 4}
    assert ledger.examples["duplicate_game"][:3] == ["b#1 = a#6", "b#2 = a#7", "b#3 = a#8"]
    ids = table.column("game_id").to_pylist()
    assert not {"b#1", "b#2", "b#3", "b#8"} & set(ids)  # the first copy is the one kept
    # One row per game, so the positions stage (which splits by the kept row's id) puts each on one side.
    assert len({(r["white"], r["black"], r["moves"]) for r in table.to_pylist()}) == table.num_rows
    kept_all, ledger_all = _ingest([a, b], sampling=Sampling(dedupe_games=False))
    assert kept_all.num_rows == 16 and ledger_all.dropped == {}


def test_synthetic_games_that_coincide_are_both_kept(tmp_path: Path) -> None:
    """Synthetic games are independent plays: two that coincide are two samples, not a copy."""
    movetext = "1. e4 e5 2. Qh5 Nc6 3. Bc4 Nf6 4. Qxf7# 1-0"
    tags = '[White "a"]\n[Black "b"]\n[Date "2000.01.01"]\n[Result "1-0"]\n[WhitePersona "a"]\n[BlackPersona "b"]\n'
    path = tmp_path / "synthetic.pgn"
    path.write_text("".join(f'[Event "x"]\n[GameId "syn-{i:06d}"]\n{tags}\n{movetext}\n\n' for i in range(2)))
    raw = {"config_version": 1, "run_name": "s", "seed": 0, "results_dir": str(tmp_path)}
    synthetic = from_mapping({**raw, "data": {"source": "synthetic"}})
    table, ledger = build_games_table(synthetic, [path], progress=False)
    assert table.num_rows == 2 and ledger.dropped == {}
    own = from_mapping({**raw, "data": {"source": "pgn", "pgn": {"paths": [str(path)], "prompt_mode": "persona"}}})
    table, ledger = build_games_table(own, [path], progress=False)
    assert table.num_rows == 1 and ledger.dropped == {"duplicate_game": 1}


def test_repeated_games_share_a_split_and_unique_games_keep_theirs(tmp_path: Path) -> None:
    """Same players and moves on other dates are kept (not copies) but split as one game; where
    nothing repeats the split key is the game id, so existing splits (synthetic runs) stay."""
    texts = [master_game(i, seed=4) for i in range(40)]
    again = [_set_date(texts[i], f"19{i + 10}.01.01") for i in range(0, 40, 4)]  # same game, other date
    path = tmp_path / "games.pgn"
    path.write_text("".join(texts + again))
    table, ledger = _ingest([path])
    assert table.num_rows == 50 and ledger.dropped == {}
    keys = split_keys(table)
    ids = table.column("game_id").to_pylist()
    first = {moves: key for key, moves in zip(keys, table.column("moves").to_pylist())}
    assert len(set(keys)) == 40 and all(first[m] == k for k, m in zip(keys, table.column("moves").to_pylist()))
    unique_path = tmp_path / "unique.pgn"
    unique_path.write_text("".join(texts))
    unique, _ = _ingest([unique_path])
    assert split_keys(unique) == unique.column("game_id").to_pylist()
    meta = build_positions(
        table,
        vocabulary(rating_band_names(OPTIONS.band_edges)),
        tmp_path / "positions",
        seed=0,
        skip_plies=0,
        split=(0.5, 0.25, 0.25),
        progress=False,
    )
    sides: dict[str, set[str]] = {}
    for split in ("train", "val", "test"):
        rows = set(np.load(tmp_path / "positions" / split / "game.npy").tolist())
        for row in rows:
            sides.setdefault(table.column("moves")[row].as_py(), set()).add(split)
    assert all(len(s) == 1 for s in sides.values()) and sum(v["games"] for v in meta["splits"].values()) == 50
    assert any(ids[k] != key for k, key in enumerate(keys))


def _set_date(text: str, date: str) -> str:
    head, _, rest = text.partition('[Date "')
    return head + f'[Date "{date}' + rest.split('"', 1)[1]


@pytest.mark.parametrize(
    ("white", "date"),
    [("Carlsen, Magnus", "2023.01.05"), ("carlsen,magnus", "2023.01.05"), ("CARLSEN MAGNUS", "2023-01-05")],
)
def test_the_content_key_ignores_spelling_of_names_and_dates(white: str, date: str) -> None:
    assert pgn_module.content_key(white, "X", date, "e2e4") == pgn_module.content_key(
        "Carlsen, Magnus", "X", "2023.01.05", "e2e4"
    )
    assert pgn_module.content_key("?", "?", "????.??.??", "e2e4") == pgn_module.content_key("", "", "", "e2e4")
    assert pgn_module.content_key(white, "X", date, "e2e4") != pgn_module.content_key(white, "X", date, "d2d4")
    assert pgn_module.content_key(white, "X", date, "e2e4") != pgn_module.content_key(white, "Y", date, "e2e4")


# ---------------------------------------------------------------------------------------------
# the master-database shape


def _plain_loop(text: str) -> list[str]:
    handle, games = io.StringIO(text), []
    while (game := chess.pgn.read_game(handle)) is not None:
        board = game.board()
        for move in game.mainline_moves():
            board.push(move)
        if game.headers["Result"] != "*":
            games.append(" ".join(m.uci() for m in game.mainline_moves()))
    return games


def test_master_like_games_ingest_cleanly_on_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All but the one unfinished game kept, with python-chess's mainlines, none replayed by it,
    several times faster than the plain python-chess loop (about 8x in CPU time; 3x asked)."""
    games = 400
    text = master_like_pgn(games, seed=7)
    assert text.count("(") > 300 and text.count("{") > 500 and text.count("$") > 200
    path = tmp_path / "master.pgn"
    path.write_text(text)
    calls: list[int] = []
    original = pgn_module._replay_with_python_chess
    monkeypatch.setattr(pgn_module, "_replay_with_python_chess", lambda *a: calls.append(1) or original(*a))
    table, ledger = _ingest([path])
    assert ledger.read == games and ledger.kept == games - 1 and ledger.dropped == {"unfinished": 1}
    rows = sorted(table.to_pylist(), key=lambda r: int(r["game_id"].split("#")[1]))  # file order
    assert [r["moves"] for r in rows] == _plain_loop(text)
    assert calls == []  # every game took the fast route

    def cpu(run: Callable[[], object]) -> float:
        times = []
        for _ in range(3):
            start = time.process_time()
            run()
            times.append(time.process_time() - start)
        return min(times)

    ratio = cpu(lambda: _plain_loop(text)) / cpu(lambda: _ingest([path]))
    assert ratio > 3, f"ingestion only {ratio:.1f}x the plain loop"
