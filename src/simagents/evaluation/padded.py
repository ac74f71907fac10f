"""Per-position distributions as padded matrices, for vectorised measurements.

Positions have different numbers of legal moves; a list of per-position arrays becomes one
``[positions, most moves]`` matrix with the missing entries filled (0 for probabilities and losses,
False for flags), so a measurement over all positions is one NumPy expression instead of a
Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pad(rows: Sequence[np.ndarray], fill: float = 0.0, width: int | None = None) -> np.ndarray:
    """``rows`` (1-D arrays) as a ``[len(rows), width]`` matrix, padded with ``fill``."""
    width = max((len(r) for r in rows), default=0) if width is None else width
    out = np.full((len(rows), width), fill, dtype=np.result_type(*(r.dtype for r in rows), np.asarray(fill).dtype)
                  if rows else np.float64)  # fmt: skip
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def row_entropy(p: np.ndarray) -> np.ndarray:
    """The entropy (nats) of each row of a padded probability matrix."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    result: np.ndarray = -terms.sum(axis=1)
    return result


def row_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p || q) (nats) of each row; q must be positive wherever p is."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(np.where(p > 0, q, 1.0))), 0.0)
    result: np.ndarray = terms.sum(axis=1)
    return result


def tied_top1(q: np.ndarray, legal: np.ndarray, played: np.ndarray) -> np.ndarray:
    """1/k per row when the played column is among the row's k most likely legal moves, else 0."""
    masked = np.where(legal, q, -np.inf)
    best = masked >= masked.max(axis=1, keepdims=True) * (1 - 1e-12)
    best &= legal
    hit = best[np.arange(len(q)), played]
    result: np.ndarray = hit / best.sum(axis=1)
    return result
