"""Download lichess monthly game dumps: resumable, retried and checked against sha256.

The lichess open database publishes one zstd-compressed PGN file per month
(``lichess_db_standard_rated_YYYY-MM.pgn.zst``, from kilobytes in 2013 to ~30 GB today) and a
``sha256sums.txt`` listing every file's hash in ``sha256sum`` format. :func:`download_month` puts
one month at ``<resources_dir>/lichess/<file name>``, the path :mod:`.sources` reads from.

Guarantees, because a broken dump would silently change every number downstream:

* the destination only ever appears complete: bytes go to ``<dest>.part`` and are renamed onto
  ``<dest>`` (atomic, same folder) only after the sha256 matched;
* an interrupted download resumes (HTTP ``Range``) from what is already on disk, both across
  transient network errors within one call and across calls (a rerun finds the ``.part`` file);
* a file whose hash does not match is deleted, so a rerun fetches it afresh instead of trusting it.

Only the standard library talks to the network (``urllib.request``), so no HTTP client is pinned.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TypeVar

from tqdm import tqdm

from .. import __version__

log = logging.getLogger("simagents.data.lichess")

DEFAULT_URL_TEMPLATE = "https://database.lichess.org/standard/lichess_db_standard_rated_{month}.pgn.zst"
DEFAULT_CHECKSUMS_URL = "https://database.lichess.org/standard/sha256sums.txt"

_MONTH_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
# "<hex>  name" (text mode) or "<hex> *name" (binary mode), as written by sha256sum.
_SUMS_LINE_RE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
_CONTENT_RANGE_RE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")
_TOTAL_ONLY_RE = re.compile(r"^bytes\s+\*/(\d+)$")
_T = TypeVar("_T")
_USER_AGENT = f"simagents/{__version__} (+python-urllib)"
# Exponential backoff is capped so a long retry list never sleeps for minutes between tries.
_MAX_BACKOFF_S = 60.0
# How many times one call may throw its .part away and start from byte 0 (server disagreed with
# the part's size); bounded so a misbehaving server cannot loop us forever.
_MAX_RESTARTS = 2


class DownloadError(RuntimeError):
    """A download that could not be completed; the message names the URL and the local path."""


class DestinationError(DownloadError, OSError):
    """The destination could not be written (read-only, full, a file where a folder should be).

    Both a :class:`DownloadError` (callers catch one type) and an :class:`OSError` (it is one);
    the message names the path and the original error is chained as ``__cause__``.
    """


class ChecksumMismatchError(ValueError):
    """The downloaded bytes do not hash to the expected sha256; the partial file was deleted."""


class _Truncated(ConnectionError):
    """Internal: the body ended before its Content-Length (a transient error, so retried)."""


class _Restart(Exception):
    """Internal: the .part file cannot be resumed (server disagreed about its size); start over."""


def month_url(template: str, month: str) -> str:
    """The dump URL for ``month`` (``YYYY-MM``), from a template containing ``{month}``.

    Raises ValueError naming the bad value when ``month`` is not ``YYYY-MM`` with a month in
    01..12, or when the template has no ``{month}`` field (every month would map to one file).
    """
    if not isinstance(month, str) or not _MONTH_RE.match(month):
        raise ValueError(f"month must be YYYY-MM (e.g. 2013-01), got {month!r}")
    if "{month}" not in template:
        raise ValueError(f"the lichess URL template must contain '{{month}}', got {template!r}")
    # str.replace, not str.format: a URL may legitimately contain other braces.
    return template.replace("{month}", month)


def url_filename(url: str) -> str:
    """The file name a URL is saved under: its last path segment.

    Same rule as :func:`lichess_dump_path` uses to find the file again.
    """
    name = url.rsplit("/", 1)[-1]
    if not name or any(c in name for c in "?#"):
        raise ValueError(f"cannot derive a file name from URL {url!r} (no final path segment, or a query)")
    return name


def parse_checksums(text: str, source: str = "<checksums>") -> dict[str, str]:
    """Parse ``sha256sum`` output: file name -> lowercase hex digest.

    Accepts the text (``<hex>  name``) and binary (``<hex> *name``) markers, blank lines and
    ``#`` comments; a directory prefix on a name is dropped (lookups are by file name).
    Raises ValueError naming ``source`` and the line number for any other line.
    """
    sums: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SUMS_LINE_RE.match(line)
        if not m:
            raise ValueError(f"{source}, line {lineno}: not a sha256sum line: {raw!r}")
        sums[m.group(2).strip().rsplit("/", 1)[-1]] = m.group(1).lower()
    return sums


def fetch_checksums(url: str, timeout: float = 60, *, retries: int = 3, backoff: float = 1.0) -> dict[str, str]:
    """Fetch and parse a ``sha256sums.txt``: file name -> lowercase hex digest.

    ``timeout`` is seconds per socket operation; transient errors are retried ``retries`` times,
    sleeping ``backoff * 2**attempt`` seconds between tries. Raises DownloadError naming the URL.
    """
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(_request(url), timeout=timeout) as resp:
                return parse_checksums(resp.read().decode("utf-8", errors="replace"), source=url)
        except urllib.error.HTTPError as e:
            e.close()  # an HTTPError holds the response's socket open
            if not _retryable_status(e.code) or attempt == retries:
                raise DownloadError(f"could not fetch checksums {url}: HTTP {e.code} {e.reason}") from e
            _log_retry(url, e, attempt, retries, backoff)
        except (OSError, http.client.HTTPException) as e:
            if attempt == retries:
                raise DownloadError(f"could not fetch checksums {url} after {retries + 1} tries: {e}") from e
            _log_retry(url, e, attempt, retries, backoff)
    raise AssertionError("unreachable: the last try returns or raises")


def sha256_file(path: Path, *, progress: bool = False, chunk_bytes: int = 1 << 20) -> str:
    """Lowercase hex sha256 of a file, read in ``chunk_bytes`` pieces (never whole in memory)."""
    digest = hashlib.sha256()
    with (
        open(path, "rb") as f,
        tqdm(
            total=os.fstat(f.fileno()).st_size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"sha256 {path.name}",
            disable=not progress,
            leave=False,
        ) as bar,
    ):
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None,
    progress: bool = True,
    chunk_bytes: int = 1 << 20,
    timeout: float = 60,
    retries: int = 3,
    backoff: float = 1.0,
) -> Path:
    """Download ``url`` to ``dest`` (resumable, retried, sha256-checked); returns ``dest``.

    * ``dest`` exists: returned at once, without network, when ``sha256`` is None or matches; if
      it does not match it is deleted (with a warning) and downloaded again.
    * bytes go to ``<dest>.part``; an existing part is resumed with ``Range: bytes=<size>-``
      (206). A server that answers 200 does not do ranges: the part is rewritten from byte 0.
      416 means the part already holds the whole file.
    * transient network errors (connection refused/reset, timeouts, truncated bodies, HTTP 5xx)
      are retried ``retries`` times, resuming from what is on disk, sleeping
      ``backoff * 2**attempt`` seconds (capped at 60) between tries; then DownloadError.
    * the finished part is hashed (streamed); a mismatch deletes it and raises
      ChecksumMismatchError; a match renames it onto ``dest`` atomically.

    ``chunk_bytes`` is the read/write size in bytes; ``timeout`` is seconds per socket operation
    (a stall longer than that counts as a transient error), not for the whole transfer.
    Raises DestinationError (an OSError and a DownloadError) when the destination folder cannot be
    written, naming the path.
    """
    dest = Path(dest)
    expected = _normalise_sha256(sha256, what=f"expected sha256 for {dest.name}")
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be >= 1, got {chunk_bytes}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")

    if _exists(dest):
        if expected is None:
            log.info("%s already exists; not downloading again (no sha256 to check it against)", dest)
            return dest
        actual = _disk(dest, lambda: sha256_file(dest, progress=progress, chunk_bytes=chunk_bytes))
        if actual == expected:
            log.info("%s already exists and its sha256 matches; not downloading again", dest)
            return dest
        # Deleted, not kept aside: a dump can be tens of GB, and a file with the wrong hash is of no use.
        log.warning(
            "%s exists but its sha256 is %s, expected %s; deleting it and downloading %s again",
            dest,
            actual,
            expected,
            url,
        )
        _disk(dest, dest.unlink)

    part = dest.with_name(dest.name + ".part")
    _disk(dest.parent, lambda: dest.parent.mkdir(parents=True, exist_ok=True))

    attempt = restarts = 0
    while True:
        try:
            _fetch_once(url, part, progress=progress, chunk_bytes=chunk_bytes, timeout=timeout)
            break
        except _Restart as e:
            restarts += 1
            if restarts > _MAX_RESTARTS:
                raise DownloadError(
                    f"could not download {url} to {part}: the server keeps disagreeing with "
                    f"the partial file's size ({e}); delete {part} and retry"
                ) from None
            log.warning("%s; discarding %s and downloading from the start", e, part)
            _disk(part, lambda: part.unlink(missing_ok=True))
        except urllib.error.HTTPError as e:
            # HTTPError before OSError: it is a URLError (an OSError), but a 404 is not worth retrying.
            e.close()  # an HTTPError holds the response's socket open
            if not _retryable_status(e.code) or attempt >= retries:
                raise DownloadError(f"could not download {url} to {part}: HTTP {e.code} {e.reason}") from e
            _log_retry(url, e, attempt, retries, backoff)
            attempt += 1
        except (OSError, http.client.HTTPException) as e:
            # DestinationError is an OSError too, but disk problems do not go away by retrying.
            if isinstance(e, DestinationError):
                raise
            if attempt >= retries:
                have = _size(part)
                raise DownloadError(
                    f"could not download {url} to {dest} after {retries + 1} tries "
                    f"(last error: {e!r}); {have} bytes kept in {part}, a rerun resumes "
                    f"from there"
                ) from e
            _log_retry(url, e, attempt, retries, backoff)
            attempt += 1

    actual = _disk(part, lambda: sha256_file(part, progress=progress, chunk_bytes=chunk_bytes))
    if expected is not None and actual != expected:
        _disk(part, lambda: part.unlink(missing_ok=True))
        raise ChecksumMismatchError(
            f"sha256 mismatch for {dest.name} downloaded from {url}: expected {expected}, got {actual}; "
            f"deleted {part} so a rerun downloads it again"
        )
    if expected is None:
        log.warning("downloaded %s without a sha256 to check it against; its sha256 is %s", dest, actual)
    _disk(dest, lambda: os.replace(part, dest))
    log.info("downloaded %s (%d bytes, sha256 %s)", dest, _size(dest), actual)
    return dest


def lichess_dump_name(template: str, month: str) -> str:
    """The file name a month's dump is saved under (the URL's last segment). ``month`` may be the
    Snakemake wildcard ``{month}``: the name is then the workflow's pattern for every month."""
    if month == "{month}":
        if "{month}" not in template:
            raise ValueError(f"data.lichess.url_template has no {{month}} field: {template!r}")
        return url_filename(template)
    return url_filename(month_url(template, month))


def lichess_dump_path(resources_dir: Path, template: str, month: str) -> Path:
    """Where :func:`download_month` saves a month's dump: ``<resources_dir>/lichess/<name>``."""
    return Path(resources_dir) / "lichess" / lichess_dump_name(template, month)


def download_month(
    month: str,
    resources_dir: Path,
    *,
    url_template: str = DEFAULT_URL_TEMPLATE,
    checksums_url: str | None = DEFAULT_CHECKSUMS_URL,
    sha256: Mapping[str, str] | None = None,
    progress: bool = True,
    timeout: float = 60,
    retries: int = 3,
    backoff: float = 1.0,
) -> Path:
    """Download one month's dump to ``resources_dir / "lichess" / <file name>``; returns that path.

    The expected sha256 comes from ``sha256[month]`` when given (a pin in the config wins), else
    from the ``checksums_url`` file (fetched once per process and URL; ValueError when it does not
    list the file), else there is none and a warning says the download cannot be verified.
    ``timeout`` (seconds), ``retries`` and ``backoff`` (seconds) are passed to :func:`download`.
    """
    url = month_url(url_template, month)
    name = url_filename(url)
    dest = lichess_dump_path(Path(resources_dir), url_template, month)
    expected: str | None = None
    if sha256 and month in sha256:
        expected = _normalise_sha256(sha256[month], what=f"sha256[{month!r}]")
    elif checksums_url:
        try:
            sums = _cached_checksums(checksums_url, timeout, retries, backoff)
        except DownloadError:
            # Offline rerun with the file already in place: only ever renamed there after a
            # successful check, so using it beats failing the whole workflow.
            if _exists(dest):
                log.warning("could not fetch %s to re-check %s; using the existing file", checksums_url, dest)
                return dest
            raise
        if name not in sums:
            raise ValueError(
                f"{name} is not listed in the checksums file {checksums_url} "
                f"(month {month} not published yet, or a different URL template?); "
                f"pin its sha256 under data.lichess.sha256 or set checksums_url to null"
            )
        expected = sums[name]
    else:
        log.warning(
            "no sha256 for %s (no data.lichess.sha256[%r] and no checksums_url): the download cannot be verified",
            name,
            month,
        )
    return download(url, dest, sha256=expected, progress=progress, timeout=timeout, retries=retries, backoff=backoff)


# --- helpers ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _cached_checksums_frozen(url: str, timeout: float, retries: int, backoff: float) -> tuple[tuple[str, str], ...]:
    # Cached so a multi-month download asks for the (same) checksums file once; frozen so no
    # caller can mutate the shared copy. lru_cache does not cache exceptions: a failure is retried.
    return tuple(fetch_checksums(url, timeout, retries=retries, backoff=backoff).items())


def _cached_checksums(url: str, timeout: float, retries: int, backoff: float) -> dict[str, str]:
    return dict(_cached_checksums_frozen(url, timeout, retries, backoff))


def _fetch_once(url: str, part: Path, *, progress: bool, chunk_bytes: int, timeout: float) -> None:
    """One HTTP request appending to (or rewriting) ``part``; returns when the body is complete.

    Network failures propagate as OSError/HTTPException (the caller retries), disk failures as
    DestinationError, a part the server cannot continue as _Restart.
    """
    offset = _size(part)
    req = _request(url)
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            # "Range not satisfiable": nothing after byte `offset`, i.e. the part is complete, unless
            # the server says the file has another size (part longer than the file: it is garbage).
            total = _total_from_416(e.headers.get("Content-Range"))
            e.close()
            if total is not None and total != offset:
                raise _Restart(f"server says {url} has {total} bytes but {part} has {offset}") from None
            log.info("%s already holds all of %s (server answered 416 to a resume)", part, url)
            return
        raise

    with resp:
        # file:// and other non-HTTP responses have no status; they ignore Range like a 200 does.
        status = getattr(resp, "status", None) or 200
        length = _int_header(resp.headers.get("Content-Length"))
        if offset and status == 206:
            start, total = _parse_content_range(resp.headers.get("Content-Range"))
            if start != offset:
                raise _Restart(f"asked {url} for bytes from {offset}, got a range starting at {start}")
            if total is None and length is not None:
                total = offset + length
            mode = "ab"
        elif status == 200:
            if offset:
                log.info("%s ignored the range request; downloading %s from the start", url, part.name)
            offset, total, mode = 0, length, "wb"
        else:
            raise DownloadError(f"unexpected HTTP status {status} downloading {url} to {part}")

        received = 0
        f: IO[bytes] = _disk(part, lambda: open(part, mode))  # noqa: SIM115 (closed by the with below)
        with (
            f,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
            ) as bar,
        ):
            while True:
                chunk = resp.read(chunk_bytes)
                if not chunk:
                    break
                _disk(part, functools.partial(f.write, chunk))
                received += len(chunk)
                bar.update(len(chunk))
            _disk(part, f.flush)
            _disk(part, functools.partial(os.fsync, f.fileno()))
        # http.client's read(n) returns b"" when the peer closes early instead of raising, so a
        # truncated body must be caught here; the bytes received so far stay on disk for resuming.
        if length is not None and received < length:
            raise _Truncated(f"connection closed after {received} of {length} body bytes")


def _request(url: str) -> urllib.request.Request:
    # identity encoding: a transparently gzip'd body would make Range offsets meaningless.
    return urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"})


def _retryable_status(code: int) -> bool:
    return code >= 500 or code in (408, 429)


def _log_retry(url: str, err: BaseException, attempt: int, retries: int, backoff: float) -> None:
    delay = min(_MAX_BACKOFF_S, backoff * (2**attempt))
    log.warning("transient error fetching %s (%s); retry %d of %d in %.1f s", url, err, attempt + 1, retries, delay)
    time.sleep(delay)


def _normalise_sha256(value: str | None, *, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not _SHA256_RE.match(value):
        raise ValueError(f"{what} must be 64 hex digits, got {value!r}")
    return value.lower()


def _parse_content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) of ``bytes a-b/n``; None for what is absent or ``*``."""
    m = _CONTENT_RANGE_RE.match((header or "").strip())
    if not m:
        return None, None
    return int(m.group(1)), (None if m.group(3) == "*" else int(m.group(3)))


def _total_from_416(header: str | None) -> int | None:
    m = _TOTAL_ONLY_RE.match((header or "").strip())
    return int(m.group(1)) if m else None


def _int_header(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _disk(path: Path, op: Callable[[], _T]) -> _T:
    """Run a filesystem operation; an OSError becomes DestinationError naming ``path``.

    Kept apart from network calls because both raise OSError, and only network ones are retried.
    """
    try:
        return op()
    except OSError as e:
        raise DestinationError(f"cannot write the download destination {path}: {e}") from e


def _exists(path: Path) -> bool:
    return _disk(path, path.exists)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
    except OSError as e:
        raise DestinationError(f"cannot read the download destination {path}: {e}") from e
