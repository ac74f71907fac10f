"""Tests for simagents.data.lichess against a local HTTP server (loopback only, no internet).

The server serves small zstd-compressed PGN files, honours ``Range`` (unless told not to), can cut
the first response short, can fail the first request with a 503, and serves a sha256sums.txt.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard

from simagents.data import lichess
from simagents.data.lichess import (
    ChecksumMismatchError,
    DestinationError,
    DownloadError,
    download,
    download_month,
    fetch_checksums,
    month_url,
    parse_checksums,
)

PGN_TEXT = """\
[Event "Rated Classical game"]
[Site "https://lichess.org/j1dkb5dw"]
[White "BFG9k"]
[Black "mamalak"]
[Result "1-0"]
[UTCDate "2012.12.31"]
[UTCTime "23:01:03"]
[WhiteElo "1639"]
[BlackElo "1403"]
[WhiteRatingDiff "+5"]
[BlackRatingDiff "-8"]
[ECO "C00"]
[Opening "French Defense: Normal Variation"]
[TimeControl "600+8"]
[Termination "Normal"]

1. e4 e6 2. d4 b6 3. a3 Bb7 4. Nc3 Nh6 5. Bxh6 gxh6 6. Be2 Qg5 7. Bg4 h5 8. Nf3 Qg6 9. Nh4 Qg5 \
10. Bxh5 Qxh4 11. Qf3 Kd8 12. Qxf7 Nc6 13. Qe8# 1-0

[Event "Rated Classical game"]
[Site "https://lichess.org/a9tcp02g"]
[White "Desmond_Wilson"]
[Black "savinka59"]
[Result "1-0"]
[UTCDate "2012.12.31"]
[UTCTime "23:04:12"]
[WhiteElo "1654"]
[BlackElo "1919"]
[WhiteRatingDiff "+19"]
[BlackRatingDiff "-22"]
[ECO "D04"]
[Opening "Queen's Pawn Game: Colle System, Anti-Colle"]
[TimeControl "480+2"]
[Termination "Normal"]

1. d4 d5 2. Nf3 Nf6 3. e3 Bf5 4. Nh4 Bg6 5. Nxg6 hxg6 6. Nd2 e6 7. Bd3 Bd6 8. e4 dxe4 9. Nxe4 Rxh2 \
10. Ke2 Rxh1 11. Qxh1 Nc6 12. Bg5 Ke7 13. Qh7 Nxd4+ 14. Kd2 Qe8 15. Qxg7 Qh8 16. Bxf6+ Kd7 \
17. Qxh8 Rxh8 18. Bxh8 1-0

[Event "Rated Bullet game"]
[Site "https://lichess.org/9mwmbgqu"]
[White "Spirit_of_Chess"]
[Black "artem555"]
[Result "0-1"]
[UTCDate "2012.12.31"]
[UTCTime "23:10:14"]
[WhiteElo "1452"]
[BlackElo "1503"]
[WhiteRatingDiff "-10"]
[BlackRatingDiff "+9"]
[ECO "B00"]
[Opening "Owen Defense"]
[TimeControl "60+0"]
[Termination "Time forfeit"]

1. e4 b6 2. d4 Bb7 3. Bd3 e6 4. Nf3 c5 5. c3 cxd4 6. cxd4 Bb4+ 7. Nc3 Nf6 8. O-O O-O 0-1

"""

# A distinct body per month so a mix-up between files would show as a hash mismatch.
MONTHS = {"2013-01": PGN_TEXT, "2013-02": PGN_TEXT.replace("2012.12.31", "2013.01.31")}
SUMS_PATH = "/standard/sha256sums.txt"
CHUNK = 64  # bytes per read in the tests, so every download spans many chunks
FAST = {"progress": False, "chunk_bytes": CHUNK, "timeout": 5.0, "retries": 3, "backoff": 0.001}


def _name(month: str) -> str:
    return f"lichess_db_standard_rated_{month}.pgn.zst"


def _compress(text: str) -> bytes:
    # Level 1 and no content size in the frame: like a streamed dump, decompression must not rely on it.
    return zstandard.ZstdCompressor(level=1, write_content_size=False).compress(text.encode())


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decompress_text(path: Path) -> str:
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as reader:
        return io.TextIOWrapper(reader, encoding="utf-8").read()


@dataclass
class Server:
    """What the handler serves and how it misbehaves; records every request."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    cut_first_after: int | None = None  # first response for a file sends only this many body bytes
    fail_first_with: int | None = None  # first request for a file gets this HTTP status
    stall_first_s: float | None = None  # first response sends half its body, then goes quiet this long
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path

    def ranges(self, path: str) -> list[str | None]:
        with self.lock:
            return [r for p, r in self.requests if p == path]


def _make_handler(state: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 5  # seconds; a stuck client cannot hold a server thread for long

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest output clean

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            with state.lock:
                first = all(p != self.path for p, _ in state.requests)
                state.requests.append((self.path, rng))
            data = state.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            if first and state.fail_first_with is not None:
                self.send_error(state.fail_first_with)
                return
            start = 0
            m = re.fullmatch(r"bytes=(\d+)-", rng or "")
            if m and not state.ignore_range:
                start = int(m.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if first and state.cut_first_after is not None:
                # Promise the whole body, send part of it, hang up: a dropped connection mid-file.
                self.wfile.write(body[: state.cut_first_after])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if first and state.stall_first_s is not None:
                # A stalled connection: the client's socket timeout must fire and it must resume.
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                time.sleep(state.stall_first_s)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture(autouse=True)
def _fresh_checksum_cache() -> Iterator[None]:
    # The checksums cache is keyed by URL and ephemeral ports get reused across tests.
    lichess._cached_checksums_frozen.cache_clear()
    yield
    lichess._cached_checksums_frozen.cache_clear()


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    for month, text in MONTHS.items():
        state.files[f"/standard/{_name(month)}"] = _compress(text)
    # Binary-mode marker (*) on one line, text mode on the other: both must parse.
    sums = [f"{_sha(state.files[f'/standard/{_name(m)}'])} {'*' if i else ' '}{_name(m)}" for i, m in enumerate(MONTHS)]
    state.files[SUMS_PATH] = ("\n".join(sums) + "\n").encode()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _month_path(month: str = "2013-01") -> str:
    return f"/standard/{_name(month)}"


def _template(server: Server) -> str:
    return server.url("/standard/lichess_db_standard_rated_{month}.pgn.zst")


# --- 1. plain download -----------------------------------------------------------------------


def test_full_download_checksum_ok(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    dest = tmp_path / "sub" / _name("2013-01")
    out = download(server.url(path), dest, sha256=_sha(data).upper(), **FAST)  # upper case accepted
    assert out == dest
    assert dest.read_bytes() == data
    assert not dest.with_name(dest.name + ".part").exists()
    assert server.ranges(path) == [None]
    assert _decompress_text(dest) == PGN_TEXT


def test_progress_bar_does_not_break_download(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    dest = tmp_path / _name("2013-01")
    download(server.url(path), dest, sha256=_sha(server.files[path]), **{**FAST, "progress": True})
    assert dest.read_bytes() == server.files[path]


# --- 2-4. resuming ---------------------------------------------------------------------------


def test_interrupted_download_resumes_with_range(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    cut = len(data) // 3
    server.cut_first_after = cut
    dest = tmp_path / _name("2013-01")
    download(server.url(path), dest, sha256=_sha(data), **FAST)
    assert server.ranges(path) == [None, f"bytes={cut}-"]
    assert dest.read_bytes() == data
    assert _decompress_text(dest) == PGN_TEXT


def test_resume_from_existing_part_file(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    dest = tmp_path / _name("2013-01")
    half = len(data) // 2
    dest.with_name(dest.name + ".part").write_bytes(data[:half])
    download(server.url(path), dest, sha256=_sha(data), **FAST)
    assert server.ranges(path) == [f"bytes={half}-"]
    assert dest.read_bytes() == data
    assert not dest.with_name(dest.name + ".part").exists()


def test_complete_part_file_gets_416_and_is_kept(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    dest = tmp_path / _name("2013-01")
    dest.with_name(dest.name + ".part").write_bytes(data)
    download(server.url(path), dest, sha256=_sha(data), **FAST)
    assert server.ranges(path) == [f"bytes={len(data)}-"]
    assert dest.read_bytes() == data


def test_part_longer_than_file_is_discarded(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    dest = tmp_path / _name("2013-01")
    dest.with_name(dest.name + ".part").write_bytes(data + b"garbage")
    download(server.url(path), dest, sha256=_sha(data), **FAST)
    assert server.ranges(path) == [f"bytes={len(data) + 7}-", None]
    assert dest.read_bytes() == data


def test_server_ignoring_range_restarts_from_zero(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    server.ignore_range = True
    dest = tmp_path / _name("2013-01")
    # Wrong bytes in the part: appending the 200 body to it would corrupt the file.
    dest.with_name(dest.name + ".part").write_bytes(b"x" * (len(data) // 2))
    download(server.url(path), dest, sha256=_sha(data), **FAST)
    assert server.ranges(path) == [f"bytes={len(data) // 2}-"]
    assert dest.read_bytes() == data


def test_server_ignoring_range_after_interruption(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    server.ignore_range = True
    server.cut_first_after = len(data) // 2
    dest = tmp_path / _name("2013-01")
    download(server.url(path), dest, sha256=_sha(data), **FAST)
    assert server.ranges(path) == [None, f"bytes={len(data) // 2}-"]
    assert dest.read_bytes() == data


def test_stalled_connection_times_out_and_resumes(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    server.stall_first_s = 1.0
    dest = tmp_path / _name("2013-01")
    download(server.url(path), dest, sha256=_sha(data), **{**FAST, "timeout": 0.2})
    # Resumes from what reached the disk: whole chunks of the half sent, not necessarily all of it.
    first, second = server.ranges(path)
    m = re.fullmatch(r"bytes=(\d+)-", second or "")
    assert first is None and m and 0 < int(m.group(1)) <= len(data) // 2
    assert dest.read_bytes() == data


def test_http_503_is_retried(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    server.fail_first_with = 503
    dest = tmp_path / _name("2013-01")
    download(server.url(path), dest, sha256=_sha(server.files[path]), **FAST)
    assert len(server.ranges(path)) == 2
    assert dest.read_bytes() == server.files[path]


def test_http_404_is_not_retried(server: Server, tmp_path: Path) -> None:
    url = server.url("/standard/missing.pgn.zst")
    with pytest.raises(DownloadError, match="404") as exc:
        download(url, tmp_path / "missing.pgn.zst", sha256=None, **FAST)
    assert url in str(exc.value)
    assert len(server.ranges("/standard/missing.pgn.zst")) == 1


# --- 5. checksum mismatch --------------------------------------------------------------------


def test_checksum_mismatch_deletes_part(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    actual = _sha(server.files[path])
    wrong = "0" * 64
    dest = tmp_path / _name("2013-01")
    with pytest.raises(ChecksumMismatchError) as exc:
        download(server.url(path), dest, sha256=wrong, **FAST)
    msg = str(exc.value)
    assert dest.name in msg and wrong in msg and actual in msg and "deleted" in msg
    assert isinstance(exc.value, ValueError)
    assert not dest.exists()
    assert not dest.with_name(dest.name + ".part").exists()


def test_malformed_sha256_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 hex"):
        download("http://127.0.0.1:9/x", tmp_path / "x", sha256="abc", **FAST)


# --- 6. existing destination -----------------------------------------------------------------


def test_existing_matching_dest_makes_no_request(server: Server, tmp_path: Path) -> None:
    path = _month_path()
    data = server.files[path]
    dest = tmp_path / _name("2013-01")
    dest.write_bytes(data)
    assert download(server.url(path), dest, sha256=_sha(data), **FAST) == dest
    assert server.requests == []


def test_existing_corrupt_dest_is_refetched(server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _month_path()
    data = server.files[path]
    dest = tmp_path / _name("2013-01")
    dest.write_bytes(data[:-1] + b"\x00")
    with caplog.at_level(logging.WARNING, logger="simagents.data.lichess"):
        download(server.url(path), dest, sha256=_sha(data), **FAST)
    assert dest.read_bytes() == data
    assert server.ranges(path) == [None]
    assert any("exists but its sha256" in r.getMessage() for r in caplog.records)


# --- 7. download_month and checksums ---------------------------------------------------------


def test_download_month_uses_checksums_file(server: Server, tmp_path: Path) -> None:
    out = {
        m: download_month(
            m,
            tmp_path,
            url_template=_template(server),
            checksums_url=server.url(SUMS_PATH),
            progress=False,
            timeout=5.0,
            retries=1,
            backoff=0.001,
        )
        for m in MONTHS
    }
    for month, path in out.items():
        assert path == tmp_path / "lichess" / _name(month)
        assert path.read_bytes() == server.files[_month_path(month)]
        assert _decompress_text(path) == MONTHS[month]
    assert len(server.ranges(SUMS_PATH)) == 1  # fetched once for both months


def test_download_month_explicit_sha_wins(server: Server, tmp_path: Path) -> None:
    data = server.files[_month_path()]
    path = download_month(
        "2013-01",
        tmp_path,
        url_template=_template(server),
        checksums_url=server.url(SUMS_PATH),
        sha256={"2013-01": _sha(data)},
        progress=False,
    )
    assert path.read_bytes() == data
    assert server.ranges(SUMS_PATH) == []


def test_download_month_wrong_pin_raises_mismatch(server: Server, tmp_path: Path) -> None:
    with pytest.raises(ChecksumMismatchError):
        download_month(
            "2013-01",
            tmp_path,
            url_template=_template(server),
            checksums_url=None,
            sha256={"2013-01": "f" * 64},
            progress=False,
        )
    assert list((tmp_path / "lichess").iterdir()) == []


def test_download_month_not_in_checksums(server: Server, tmp_path: Path) -> None:
    server.files[_month_path("2013-03")] = _compress(PGN_TEXT)
    with pytest.raises(ValueError, match=re.escape(_name("2013-03"))):
        download_month(
            "2013-03", tmp_path, url_template=_template(server), checksums_url=server.url(SUMS_PATH), progress=False
        )
    assert server.ranges(_month_path("2013-03")) == []  # refused before downloading anything


def test_download_month_without_any_checksum_warns(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="simagents.data.lichess"):
        path = download_month("2013-02", tmp_path, url_template=_template(server), checksums_url=None, progress=False)
    assert path.read_bytes() == server.files[_month_path("2013-02")]
    assert any("cannot be verified" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("bad", ["2013-13", "2013-1", "13-01", "2013/01", "", "2013-00"])
def test_bad_month_string(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        month_url(lichess.DEFAULT_URL_TEMPLATE, bad)
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        download_month(bad, tmp_path, url_template=lichess.DEFAULT_URL_TEMPLATE, checksums_url=None, progress=False)


def test_month_url_default_template() -> None:
    assert month_url(lichess.DEFAULT_URL_TEMPLATE, "2013-01") == (
        "https://database.lichess.org/standard/lichess_db_standard_rated_2013-01.pgn.zst"
    )
    with pytest.raises(ValueError, match="month"):
        month_url("https://example.org/static.pgn.zst", "2013-01")


def test_fetch_and_parse_checksums(server: Server) -> None:
    sums = fetch_checksums(server.url(SUMS_PATH), timeout=5.0)
    assert sums == {_name(m): _sha(server.files[_month_path(m)]) for m in MONTHS}
    parsed = parse_checksums(f"{'AB' * 32} *./dir/file.pgn.zst\n\n# comment\n{'cd' * 32}  other name.zst\n")
    assert parsed == {"file.pgn.zst": "ab" * 32, "other name.zst": "cd" * 32}
    with pytest.raises(ValueError, match="line 1"):
        parse_checksums("not a checksum line\n", source="sums.txt")


# --- 8-9. failures ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_raises_after_retries(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/standard/{_name('2013-01')}"
    dest = tmp_path / _name("2013-01")
    with caplog.at_level(logging.WARNING, logger="simagents.data.lichess"), pytest.raises(DownloadError) as exc:
        download(url, dest, sha256=None, **{**FAST, "retries": 2})
    assert url in str(exc.value) and str(dest) in str(exc.value)
    assert "3 tries" in str(exc.value)
    assert sum("retry" in r.getMessage() for r in caplog.records) == 2
    assert not dest.exists()


def test_unreachable_checksums_raise_download_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/sha256sums.txt"
    with pytest.raises(DownloadError, match=re.escape(url)):
        fetch_checksums(url, timeout=5.0, retries=1, backoff=0.001)


def test_unwritable_destination_names_path(server: Server, tmp_path: Path) -> None:
    # A file where the destination folder should be: mkdir fails even as root (chmod would not).
    blocker = tmp_path / "resources"
    blocker.write_text("not a folder")
    dest = blocker / "lichess" / _name("2013-01")
    with pytest.raises(DestinationError) as exc:
        download(server.url(_month_path()), dest, sha256=None, **FAST)
    assert isinstance(exc.value, OSError) and isinstance(exc.value, DownloadError)
    assert str(blocker / "lichess") in str(exc.value)
    assert isinstance(exc.value.__cause__, OSError)
    assert server.requests == []
