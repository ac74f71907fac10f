"""Running the workflow: Snakemake, after removing a lock that a killed run left behind.

Snakemake locks its working directory with files that a ``kill -9`` (or a power loss, an OOM
kill) leaves in place; the next run then stops with "Directory cannot be locked" until someone
passes ``--unlock``, which is unsafe while another run is alive. :func:`run_snakemake` (``simagents
snakemake ...``, what ``make reproduce`` runs) makes the rerun after a crash just work: every run
started this way holds a shared ``flock`` on ``.snakemake/simagents.alive`` for its lifetime (the
kernel drops it when the processes die, however they die). A run that can take that lock
exclusively knows that no other such run is alive in the folder, so a lock present is stale and
is removed. The Snakefile itself does nothing of this at parse time: ``snakemake -n`` and
``snakemake --lint`` touch nothing.

Jobs find the ``simagents`` command on ``PATH``: the environment that runs Snakemake goes first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

STALE_LOCK_MESSAGE = "Removed a stale Snakemake lock left by a run that was killed (no other run of this workflow is alive in this folder)."


def _working_directory(args: Sequence[str]) -> Path:
    """The folder Snakemake will run in: ``--directory``/``-d`` if given, else the current one."""
    for i, arg in enumerate(args):
        if arg in ("--directory", "-d") and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--directory="):
            return Path(arg.split("=", 1)[1])
    return Path.cwd()


def run_snakemake(args: Sequence[str]) -> int:
    """Run ``python -m snakemake ARGS`` (this interpreter) and return its exit code."""
    import fcntl

    args = [a for a in args if a != "--"] if args and args[0] == "--" else list(args)
    state = _working_directory(args) / ".snakemake"
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "simagents.alive", "a") as alive:
        try:
            fcntl.flock(alive, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # another run of this workflow is alive here: its locks are real
        else:
            locks = state / "locks"
            if locks.is_dir() and any(locks.iterdir()):
                shutil.rmtree(locks)
                print(STALE_LOCK_MESSAGE, file=sys.stderr, flush=True)
        fcntl.flock(alive, fcntl.LOCK_SH)
        env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
        # Snakemake inherits the open lock file, so the lock lives as long as Snakemake does even
        # if this process is killed alone.
        process = subprocess.Popen([sys.executable, "-m", "snakemake", *args], env=env, pass_fds=(alive.fileno(),))
        try:
            return process.wait()
        except KeyboardInterrupt:
            # Snakemake got the same SIGINT (one process group): let it stop its jobs and exit.
            return process.wait()
