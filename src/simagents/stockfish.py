"""Finding and starting Stockfish.

The engine is looked up in this order: the config key ``engine.path``, the environment variable
``SIMAGENTS_STOCKFISH``, ``stockfish`` on PATH, then ``/usr/games/stockfish`` (where Debian and
Ubuntu install it, often not on root's PATH). A missing engine is an :class:`EngineNotFoundError`
that says how to install one.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import chess.engine

ENV_VAR = "SIMAGENTS_STOCKFISH"
#: What a call into an engine raises when its process died or misbehaved. SimpleEngine shuts its
#: event loop down when the process exits, which cancels the pending call: the caller then sees
#: CancelledError instead of EngineTerminatedError.
ENGINE_FAILURES = (chess.engine.EngineTerminatedError, chess.engine.EngineError, concurrent.futures.CancelledError)
DEBIAN_PATH = "/usr/games/stockfish"

INSTALL_HINT = (
    "Install Stockfish with your package manager: `sudo apt-get install stockfish` (Debian/Ubuntu), "
    "`brew install stockfish` (macOS) or `conda install -c conda-forge stockfish`; `make reproduce` "
    f"and `make test` do this for you. Or point the config key engine.path or ${ENV_VAR} at a binary."
)


class EngineNotFoundError(FileNotFoundError):
    """No Stockfish binary was found; the message says where we looked and how to install one."""


def find_stockfish(configured: str | None = None) -> Path:
    """The Stockfish binary to use (see the module docstring for the search order)."""
    tried: list[str] = []
    for label, candidate in (("engine.path", configured), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if candidate:
            path = Path(candidate).expanduser()
            if path.is_file() and os.access(path, os.X_OK):
                return path
            found = shutil.which(candidate)
            if found:
                return Path(found)
            # An explicit choice that does not exist is an error, not a cue to look elsewhere.
            raise EngineNotFoundError(f"{label} is {candidate!r}, which is not an executable file. {INSTALL_HINT}")
    on_path = shutil.which("stockfish")
    if on_path:
        return Path(on_path)
    tried.append("PATH")
    if Path(DEBIAN_PATH).is_file() and os.access(DEBIAN_PATH, os.X_OK):
        return Path(DEBIAN_PATH)
    tried.append(DEBIAN_PATH)
    raise EngineNotFoundError(
        f"Stockfish not found (looked at engine.path, ${ENV_VAR}, {', '.join(tried)}; "
        f"system {platform.system()}). {INSTALL_HINT}"
    )


@dataclass(frozen=True)
class EloRange:
    """The ``UCI_Elo`` range the engine reports (Debian's Stockfish 15.1: 1350-2850)."""

    minimum: int
    maximum: int

    def check(self, rating: int, who: str) -> None:
        if not self.minimum <= rating <= self.maximum:
            raise ValueError(
                f"{who}: rating {rating} is outside this Stockfish's UCI_Elo range "
                f"[{self.minimum}, {self.maximum}]; choose a rating in that range"
            )


def open_engine(path: Path, threads: int = 1, hash_mb: int = 16) -> chess.engine.SimpleEngine:
    """Start a UCI engine process with the given search threads and hash size."""
    engine = chess.engine.SimpleEngine.popen_uci(str(path))
    engine.configure({"Threads": threads, "Hash": hash_mb})
    return engine


def elo_range(engine: chess.engine.SimpleEngine) -> EloRange:
    """Read the engine's ``UCI_Elo`` option range instead of assuming one."""
    option = engine.options.get("UCI_Elo")
    if option is None or option.min is None or option.max is None:
        raise RuntimeError(
            f"engine {engine.id.get('name', '?')} has no UCI_Elo option; strength-limited personas need Stockfish"
        )
    return EloRange(int(option.min), int(option.max))


def engine_version(path: Path) -> str:
    """The engine's self-reported name (``Stockfish 15.1``), for provenance."""
    with chess.engine.SimpleEngine.popen_uci(str(path)) as engine:
        return engine.id.get("name", "unknown")


_T = TypeVar("_T")
_log = logging.getLogger(__name__)


class RestartingEngine:
    """An engine process opened on first use, for a policy that searches with it: a search that
    finds it dead (:data:`ENGINE_FAILURES`) closes it, opens a fresh one and searches again, once
    (a second death in a row is an error). ``restarts`` counts the restarts."""

    def __init__(self, open_engine: Callable[[], chess.engine.SimpleEngine], name: str) -> None:
        self.name = name
        self._open_engine = open_engine
        self._engine: chess.engine.SimpleEngine | None = None
        self.restarts = 0

    @property
    def engine(self) -> chess.engine.SimpleEngine:
        if self._engine is None:
            self._engine = self._open_engine()
        return self._engine

    def search(self, run: Callable[[chess.engine.SimpleEngine], _T], what: str) -> _T:
        """``run(engine)``, restarting the engine once if it dies; ``what`` names the work in the log."""
        for attempt in (0, 1):
            try:
                return run(self.engine)
            except ENGINE_FAILURES:
                self._discard()
                if attempt == 1:
                    raise
                self.restarts += 1
                _log.warning("%s: Stockfish died %s; restarted, trying again", self.name, what)
        raise AssertionError("unreachable")  # the second attempt returns or raises

    def _discard(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            try:
                engine.close()
            except (*ENGINE_FAILURES, TimeoutError, OSError, RuntimeError) as error:  # gone already
                _log.debug("%s: closing a dead engine: %s", self.name, error)

    def close(self) -> None:
        """Quit the engine (close it if it cannot quit); a later search opens a new one."""
        engine, self._engine = self._engine, None
        if engine is not None:
            try:
                engine.quit()
            except (*ENGINE_FAILURES, TimeoutError):
                engine.close()
