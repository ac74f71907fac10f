"""Win chances and move losses, lichess style: the only place these constants live.

A Stockfish score becomes a *win chance* in [-1, 1], always from the point of view of the side to
move in the scored position (the mover): +1 a sure win, 0 even, -1 a sure loss::

    WC(cp) = 2 / (1 + exp(-0.00368208 * cp)) - 1,   cp clipped to [-1000, +1000]
    WC(mate for the mover) = +1,  WC(mover gets mated) = -1

This is lichess's ``winningChances`` curve (the multiplier was fitted by lichess to game outcomes
by rating). One deliberate difference: lichess maps a mate in n to a large cp value (about 0.98 to
0.999), the design puts mates at exactly +-1. Either way a mate ranks above every cp score, since
WC(1000) is about 0.9509.

A move's *loss* is the drop in win chance it costs the mover compared with the best move in the
same position, ``WC(best) - WC(move) >= 0`` (0 for the best move). Lichess's judgements, thresholds
inclusive: a loss of at least 0.1 is an inaccuracy, at least 0.2 a mistake, at least 0.3 a blunder.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Slope of the lichess win-chance curve, per centipawn.
WC_MULTIPLIER: Final[float] = 0.00368208
#: Centipawn scores are clipped to +-this before the curve (beyond it the game is decided anyway).
CP_CLIP: Final[float] = 1000.0
#: Win chance of a forced mate: +1 when the mover mates, -1 when the mover is mated.
MATE_WIN_CHANCE: Final[float] = 1.0

#: Loss thresholds (inclusive), in win-chance units from the mover's point of view.
INACCURACY: Final[float] = 0.1
MISTAKE: Final[float] = 0.2
BLUNDER: Final[float] = 0.3

#: Names of the judgement codes returned by :func:`judgements` (index = code).
JUDGEMENTS: Final[tuple[str, ...]] = ("ok", "inaccuracy", "mistake", "blunder")


def win_chances(cp: np.ndarray, mate: np.ndarray) -> np.ndarray:
    """Win chances in [-1, 1] from the mover's point of view (float64, the broadcast shape).

    ``cp``: centipawns from the mover's point of view (float; NaN, or anything, where ``mate`` is
    non-zero: it is ignored there). ``mate``: integer moves to mate from the mover's point of view,
    0 = no mate, n > 0 = the mover mates in n, n < 0 = the mover gets mated in -n. Where ``mate``
    is 0, ``cp`` must be finite (a NaN there means a score was lost: a ValueError names it).
    """
    cp_array = np.asarray(cp, dtype=np.float64)
    mate_array = np.asarray(mate)
    if not np.issubdtype(mate_array.dtype, np.integer):
        raise ValueError(f"mate must be an integer array (0 = no mate), got dtype {mate_array.dtype}")
    cp_array, mate_array = np.broadcast_arrays(cp_array, mate_array)
    is_mate = mate_array != 0
    missing = ~is_mate & ~np.isfinite(cp_array)
    if missing.any():
        where = tuple(int(i) for i in np.argwhere(missing)[0])
        raise ValueError(
            f"cp is {float(cp_array[where])!r} at index {where} where mate is 0: "
            "a centipawn score is required where there is no mate"
        )
    # Substitute 0 under mates so NaNs there never reach exp (no warnings, no NaN leaks).
    clipped = np.clip(np.where(is_mate, 0.0, cp_array), -CP_CLIP, CP_CLIP)
    curve = 2.0 / (1.0 + np.exp(-WC_MULTIPLIER * clipped)) - 1.0
    return np.where(is_mate, MATE_WIN_CHANCE * np.sign(mate_array), curve).astype(np.float64)


def move_losses(win_chance: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Win-chance loss of each move against the best move of its position (float64, shape ``[n]``).

    ``win_chance``: float ``[n]``, one entry per scored move, each from the point of view of the
    mover in that move's position. ``position``: int ``[n]``, which position each move belongs to
    (any order; rows of one position need not be adjacent). Returns ``max WC in the position - WC``,
    which is >= 0 and exactly 0 for the best move(s).
    """
    wc = np.asarray(win_chance, dtype=np.float64)
    group = np.asarray(position)
    if wc.ndim != 1 or group.shape != wc.shape:
        raise ValueError(f"expected 1-d win_chance and position of one length, got shapes {wc.shape} and {group.shape}")
    if np.isnan(wc).any():
        raise ValueError(f"win_chance has NaN at index {int(np.flatnonzero(np.isnan(wc))[0])}")
    if wc.size == 0:
        return wc.copy()
    _, inverse = np.unique(group, return_inverse=True)
    best = np.full(int(inverse.max()) + 1, -np.inf)
    np.maximum.at(best, inverse, wc)
    return best[inverse] - wc


def judgements(loss: np.ndarray) -> np.ndarray:
    """Lichess judgement of each loss (int8, same shape): 0 ok, 1 inaccuracy, 2 mistake, 3 blunder.

    Thresholds are inclusive (a loss of exactly 0.2 is a mistake) and the categories exclusive; the
    probability of "an inaccuracy or worse" is ``(loss >= INACCURACY).mean()``. Names: :data:`JUDGEMENTS`.
    """
    values = np.asarray(loss, dtype=np.float64)
    if (values < 0).any() or np.isnan(values).any():
        bad = float(values[(values < 0) | np.isnan(values)].flat[0])
        raise ValueError(f"a loss is a drop in win chance, >= 0; got {bad!r}")
    return (
        (values >= INACCURACY).astype(np.int8)
        + (values >= MISTAKE).astype(np.int8)
        + (values >= BLUNDER).astype(np.int8)
    )
