"""Provenance stamped on every output: config, seed, code version, commit, platform."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config


def git_commit() -> str:
    """The checkout's commit (with ``-dirty`` if it has uncommitted changes), or ``unknown``."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(config: Config, **extra: Any) -> dict[str, Any]:
    """What an output was made from: the run, its seed, the sha256 of the configuration the stage
    read (its slice of the run config: :mod:`simagents.stages`), the code version and commit, Python."""
    config_json = json.dumps(config.raw, sort_keys=True, default=str)
    return {
        "run_name": config.run_name,
        "seed": config.seed,
        "config_sha256": hashlib.sha256(config_json.encode()).hexdigest(),
        "code_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        **extra,
    }
