"""Writing result files: atomically, and with one clear error when the filesystem refuses.

Every result file is written to a temporary sibling (``<name>.part``) and renamed into place
(:func:`atomic_output`). A crash, a ``kill -9`` or a full disk therefore never leaves a half-written
file under its final name: a rerun sees the file as missing, not as complete. When the filesystem
is the cause of a failure (disk full, quota exceeded, read-only folder, no permission), the error
is an :class:`OutputError` naming the path, the cause and what to do; ``simagents`` prints it as
one line and exits 2 instead of a traceback.
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

#: Failures that mean "the filesystem refused the write", not "the code is wrong".
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})

#: Below this much free space a failed write is taken to be a full disk. Some writers hide the
#: errno (torch.save raises RuntimeError, np.save an OSError without one), so the folder's free
#: space, read before the partial file is deleted, is the evidence.
_NEARLY_FULL_BYTES = 1 << 20

_WHAT_TO_DO = {
    errno.ENOSPC: "the disk is full: free some space, or set results_dir to a disk with room, then rerun",
    errno.EDQUOT: "the disk quota is exceeded: free some space, or set results_dir to another disk, then rerun",
    errno.EROFS: "the folder is on a read-only filesystem: set results_dir to a writable folder, then rerun",
    errno.EACCES: "no permission to write there: make the folder writable, or set results_dir elsewhere, then rerun",
    errno.EPERM: "no permission to write there: make the folder writable, or set results_dir elsewhere, then rerun",
}


class OutputError(OSError):
    """An output the filesystem refused; ``filename`` is the path, ``strerror`` the cause.

    Built as ``OutputError(errno, strerror, path)``, the argument order of OSError, so it pickles
    (errors raised in worker processes travel back to the parent by pickling).
    """

    def __str__(self) -> str:
        hint = _WHAT_TO_DO.get(self.errno or 0)
        return f"cannot write {self.filename}: {self.strerror}" + (f" ({hint})" if hint else "")


def disk_problem(error: BaseException, folder: Path) -> int | None:
    """The errno of the filesystem's refusal behind ``error`` (a write under ``folder``), or None.

    None means the filesystem is not to blame (a bug, bad data): the error is not rewritten.
    """
    if isinstance(error, OSError) and error.errno in DISK_ERRNOS:
        return error.errno
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no such folder, or no statvfs on this platform
        return None
    if stats.f_flag & os.ST_RDONLY:
        return errno.EROFS
    if isinstance(error, (OSError, RuntimeError)) and stats.f_bavail * stats.f_frsize < _NEARLY_FULL_BYTES:
        return errno.ENOSPC
    return None


def output_error(error: BaseException, path: Path, folder: Path | None = None) -> OutputError | None:
    """``error`` as an :class:`OutputError` naming ``path`` when the filesystem caused it, else None."""
    code = disk_problem(error, folder if folder is not None else Path(path).parent)
    return None if code is None else OutputError(code, os.strerror(code), str(path))


def make_folder(folder: str | Path) -> Path:
    """``mkdir -p folder``; a refusal is an :class:`OutputError` naming it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        nearest = next((p for p in folder.parents if p.exists()), Path("/"))
        raise (output_error(error, folder, nearest) or error) from error
    return folder


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; on success it is renamed to ``path``.

    On any failure the temporary file is deleted and ``path`` is left as it was (absent, or the
    previous complete version). A failure the filesystem caused becomes an :class:`OutputError`.
    """
    path = Path(path)
    make_folder(path.parent)
    tmp = path.with_name(path.name + ".part")
    try:
        yield tmp
        tmp.replace(path)
    except Exception as error:
        # Diagnose before deleting the partial file: deleting it frees the space it took.
        refused = output_error(error, path)
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        if refused is not None:
            raise refused from error
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically (UTF-8); returns the path."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes | memoryview) -> Path:
    """Write a binary file atomically; returns the path."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_csv(table: Any, path: str | Path, **to_csv: Any) -> Path:
    """A pandas DataFrame as CSV, atomically (``to_csv`` options pass through, index off by default)."""
    with atomic_output(path) as tmp:
        table.to_csv(tmp, **{"index": False, **to_csv})
    return Path(path)


def write_parquet(table: Any, path: str | Path, **options: Any) -> Path:
    """A pandas DataFrame (``to_parquet``) or a pyarrow Table (``pq.write_table``) as parquet, atomically."""
    with atomic_output(path) as tmp:
        if hasattr(table, "to_parquet"):
            table.to_parquet(tmp, **{"index": False, **options})
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp, **options)
    return Path(path)


def torch_save(state: Any, path: str | Path) -> Path:
    """``torch.save`` atomically.

    Serialised in memory first: torch's own file writer reports a full disk as an unrelated
    RuntimeError, a plain file write reports ENOSPC.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return write_bytes(path, buffer.getbuffer())


def reserve(path: str | Path) -> None:
    """Allocate the disk blocks of an existing (sparse) file, such as a fresh memory map.

    Writing into a memory map whose blocks the disk cannot supply kills the process with SIGBUS;
    reserving them first turns a full disk into an :class:`OutputError` before any work is done.
    No-op where the platform has no ``posix_fallocate`` (macOS).
    """
    allocate = getattr(os, "posix_fallocate", None)
    path = Path(path)
    size = path.stat().st_size
    if allocate is None or size == 0:
        return
    try:
        with open(path, "r+b") as handle:
            allocate(handle.fileno(), 0, size)
    except OSError as error:
        raise (output_error(error, path) or error) from error
