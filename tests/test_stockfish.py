"""Finding Stockfish: config key, environment variable, PATH, /usr/games; a clear error otherwise."""

from __future__ import annotations

import stat

import pytest

from simagents import stockfish as engine
from simagents.stockfish import EngineNotFoundError, elo_range, find_stockfish, open_engine


def _fake_binary(path):
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_search_order(tmp_path, monkeypatch):
    configured = _fake_binary(tmp_path / "configured")
    from_env = _fake_binary(tmp_path / "from_env")
    on_path_dir = tmp_path / "bin"
    on_path_dir.mkdir()
    on_path = _fake_binary(on_path_dir / "stockfish")
    monkeypatch.setenv("PATH", str(on_path_dir))
    monkeypatch.setenv(engine.ENV_VAR, str(from_env))
    assert find_stockfish(str(configured)) == configured
    assert find_stockfish(None) == from_env
    monkeypatch.delenv(engine.ENV_VAR)
    assert find_stockfish(None) == on_path
    debian = _fake_binary(tmp_path / "debian-stockfish")
    monkeypatch.setattr(engine, "DEBIAN_PATH", str(debian))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_stockfish(None) == debian


def test_missing_engine_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv(engine.ENV_VAR, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(engine, "DEBIAN_PATH", str(tmp_path / "absent"))
    with pytest.raises(EngineNotFoundError) as error:
        find_stockfish(None)
    message = str(error.value)
    assert "apt-get install stockfish" in message and "conda-forge" in message and "brew" in message


def test_explicit_path_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(EngineNotFoundError, match=r"engine\.path is"):
        find_stockfish(str(tmp_path / "no-such-stockfish"))


def test_missing_engine_fails_the_synthetic_stage_clearly(tmp_path, monkeypatch, repo):
    from simagents.cli import main

    monkeypatch.setenv(engine.ENV_VAR, str(tmp_path / "gone"))
    code = main(
        [
            "synthetic",
            "--config",
            str(repo / "config" / "smoke.yaml"),
            "--workers",
            "1",
            "--pgn-out",
            str(tmp_path / "g.pgn"),
        ]
    )
    assert code == 2
    assert not (tmp_path / "g.pgn").exists()


@pytest.mark.stockfish
def test_elo_range_is_read_from_the_engine(stockfish):
    with open_engine(stockfish) as sf:
        allowed = elo_range(sf)
    assert 0 < allowed.minimum < allowed.maximum
    allowed.check(allowed.minimum, "ok")
    with pytest.raises(ValueError, match="outside this Stockfish's UCI_Elo range"):
        allowed.check(allowed.maximum + 1, "persona 'too_strong'")
