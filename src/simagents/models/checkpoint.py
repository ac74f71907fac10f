"""Checkpoints: weights, optimizer, scheduler, step, config and RNG states, loaded safely.

Every checkpoint is written atomically (temporary file, then rename) and loaded with
``torch.load(..., weights_only=True)``: it holds only tensors and plain containers, so loading a
file cannot run code. A missing, truncated or corrupt file is a :class:`CheckpointError` that
names the file and says what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..outputs import torch_save

log = logging.getLogger("simagents")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read; the message names the file."""


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write a checkpoint atomically; a full or read-only disk is an OutputError naming ``path``."""
    torch_save(state, path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for truncated or foreign files
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(error).__name__}: {str(error)[:200]}); "
            "delete it and rerun the training step to rebuild it"
        ) from error
    if not isinstance(state, dict) or "model" not in state or "network" not in state:
        raise CheckpointError(f"{path} is not a simagents checkpoint (no 'model'/'network' entries)")
    return state


def checkpoint_prompts(path: Path) -> tuple[str, ...]:
    """The prompt vocabulary of a checkpoint, in token-id order (``none`` first)."""
    vocabulary: dict[str, int] = load_checkpoint(path)["vocabulary"]
    return tuple(token for token, _ in sorted(vocabulary.items(), key=lambda item: item[1]))


def resumable_state(
    path: Path, matches: Callable[[dict[str, Any]], bool], map_location: str | torch.device = "cpu"
) -> dict[str, Any] | None:
    """The state to resume from ``path`` (a ``last.pt``), or None to start afresh.

    A checkpoint written with other settings (``matches`` says no: the config changed since) is
    not resumed, which would mix two runs: it is moved aside to ``last.stale.pt`` for inspection,
    with a warning. A corrupt or truncated one is a :class:`CheckpointError`, as in
    :func:`load_checkpoint`.
    """
    path = Path(path)
    if not path.exists():
        return None
    state = load_checkpoint(path, map_location=map_location)
    if matches(state):
        return state
    stale = path.with_name("last.stale.pt")
    path.replace(stale)
    log.warning("%s was written with other settings; moved it to %s and starting afresh", path, stale)
    return None
