"""Parallel ingestion and deterministic sampling: balancing by band, caps, duplicates, order."""

from __future__ import annotations

import zstandard

from simagents.data.ingest import Sampling, ingest_pgn
from simagents.data.pgn import ReadOptions

EDGES = (1200, 1600)


def _game(i: int, rating: int) -> str:
    # Distinct players: the same moves between the same players on the same day would be copies.
    return (
        f'[Event "Rated Blitz game"]\n[Site "https://lichess.org/g{i:05d}"]\n[White "w{i}"]\n[Result "1-0"]\n'
        f'[WhiteElo "{rating}"]\n[BlackElo "{rating}"]\n\n1. e4 e5 2. Qh5 Nc6 3. Bc4 Nf6 4. Qxf7# 1-0\n\n'
    )


def _files(tmp_path, n=90):
    texts = [_game(i, (1000, 1400, 1800)[i % 3]) for i in range(n)]
    a, b = tmp_path / "a.pgn", tmp_path / "b.pgn.zst"
    a.write_text("".join(texts[: n // 2]))
    b.write_bytes(zstandard.ZstdCompressor().compress("".join(texts[n // 2 :]).encode()))
    return [a, b]


def _ingest(paths, sampling, workers=1):
    options = [ReadOptions(source="lichess", prompt_mode="rating_band", band_edges=EDGES) for _ in paths]
    return ingest_pgn(paths, options, sampling, workers=workers, progress=False)


def test_balance_per_band_and_cap_are_deterministic_and_order_free(tmp_path):
    paths = _files(tmp_path)
    sampling = Sampling(seed=1, per_band=10, band_edges=EDGES)
    table, ledger = _ingest(paths, sampling)
    assert table.num_rows == 30 and ledger.kept == 30 and ledger.dropped["band_cap"] == 60
    assert ledger.read == ledger.kept + ledger.total_dropped
    bands = table.column("white_prompt").to_pylist()
    assert {b: bands.count(b) for b in set(bands)} == {"r<1200": 10, "r1200-1599": 10, "r>=1600": 10}
    again, _ = _ingest(paths[::-1], sampling, workers=2)
    assert again.column("game_id").to_pylist() == table.column("game_id").to_pylist()
    other, _ = _ingest(paths, Sampling(seed=2, per_band=10, band_edges=EDGES))
    assert other.column("game_id").to_pylist() != table.column("game_id").to_pylist()
    capped, capped_ledger = _ingest(paths, Sampling(seed=1, per_band=10, band_edges=EDGES, max_games=7))
    assert capped.num_rows == 7 and capped_ledger.dropped["max_games"] == 23
    assert set(capped.column("game_id").to_pylist()) <= set(table.column("game_id").to_pylist())


def test_duplicates_and_scan_limit(tmp_path):
    paths = _files(tmp_path, n=12)
    table, ledger = _ingest([paths[0], paths[0]], Sampling())
    assert table.num_rows == 6 and ledger.dropped["duplicate_id"] == 6
    limited, limited_ledger = _ingest(paths, Sampling(max_games_scanned=8))
    assert limited_ledger.read == 8 and limited.num_rows == 8


def test_workers_give_the_same_table(tmp_path):
    paths = _files(tmp_path, n=600)
    one, _ = _ingest(paths, Sampling(), workers=1)
    two, _ = _ingest(paths, Sampling(), workers=2)
    assert one.equals(two)
