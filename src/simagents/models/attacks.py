"""Exact attack maps from the encoder's planes, computed as 64-bit bitboards in torch.

The tactics head (:class:`simagents.models.network._TacticsHead`) needs, for every position of a
batch, which squares each side's pieces attack and where a piece would give check. Playing and
search call the network on one to a few dozen positions at a time, where the cost is the number
of tensor operations, not their size: a square-grid version (shifting ``[B, 8, 8]`` masks one
step at a time, 2 x 8 directions x 7 steps) took 2.6-3.5 ms per call on a CPU core at every
batch size up to 32. Here each side's pieces of a type are one int64 (bit ``s`` = square ``s``,
a1 = 0), every direction is a lane of one tensor, and sliders use Kogge-Stone occluded fills
(three doubling steps instead of seven single ones): 0.35-0.42 ms per call for up to 32
positions and 1.0 ms for 256, against 7.3 ms (measured side by side, one thread).

Bit 63 (h8) is the sign bit of an int64: left shifts drop high bits as an unsigned shift would,
right shifts are arithmetic, so each right shift by ``r`` is masked to its low ``64 - r`` bits.
Equality with python-chess's attacks is tested on positions of random games (tests/test_tactics.py).
"""

from __future__ import annotations

import functools
from typing import Final

import torch


def _signed(value: int) -> int:
    """An unsigned 64-bit pattern as the int64 with the same bits."""
    return value - (1 << 64) if value >= (1 << 63) else value


# Squares a one-step shift may land on: a step east cannot land on the a-file (it wrapped from h).
_NOT_A: Final = _signed(0xFEFEFEFEFEFEFEFE)
_NOT_H: Final = _signed(0x7F7F7F7F7F7F7F7F)
_NOT_AB: Final = _signed(0xFCFCFCFCFCFCFCFC)
_NOT_GH: Final = _signed(0x3F3F3F3F3F3F3F3F)
_ANYWHERE: Final = -1

# (bit shift, landing mask) per direction: diagonals first, then lines (the slider lanes below).
_SLIDES: Final = (
    (9, _NOT_A),
    (7, _NOT_H),
    (-7, _NOT_A),
    (-9, _NOT_H),
    (8, _ANYWHERE),
    (-8, _ANYWHERE),
    (1, _NOT_A),
    (-1, _NOT_H),
)
_KNIGHT_JUMPS: Final = (
    (17, _NOT_A),
    (15, _NOT_H),
    (10, _NOT_AB),
    (6, _NOT_GH),
    (-6, _NOT_AB),
    (-10, _NOT_GH),
    (-15, _NOT_A),
    (-17, _NOT_H),
)
_UP_CAPTURES: Final = ((9, _NOT_A), (7, _NOT_H))  # the mover's pawns capture up the board
_DOWN_CAPTURES: Final = ((-7, _NOT_A), (-9, _NOT_H))  # the opponent's down


class _Shifts:
    """Every lane of a ``[..., D]`` int64 tensor shifted by its direction's step, in three ops."""

    def __init__(self, steps: tuple[tuple[int, int], ...], scale: int, device: torch.device) -> None:
        amounts = [step * scale for step, _ in steps]
        self.left = torch.tensor([max(a, 0) for a in amounts], device=device)
        self.right = torch.tensor([max(-a, 0) for a in amounts], device=device)
        self.keep = torch.tensor([_signed((1 << (64 - max(-a, 0))) - 1) for a in amounts], device=device)
        self.landing = torch.tensor([mask for _, mask in steps], device=device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return ((x << self.left) >> self.right) & self.keep


class _Tables:
    """The shift tables of one device (built once per device: a tensor per call costs time)."""

    def __init__(self, device: torch.device) -> None:
        self.slides = [_Shifts(_SLIDES, scale, device) for scale in (1, 2, 4)]
        self.knight = _Shifts(_KNIGHT_JUMPS, 1, device)
        self.up = _Shifts(_UP_CAPTURES, 1, device)
        self.down = _Shifts(_DOWN_CAPTURES, 1, device)
        self.bits = torch.arange(64, device=device)


@functools.cache
def _tables(device: torch.device) -> _Tables:
    return _Tables(device)


def _union(x: torch.Tensor) -> torch.Tensor:
    """Bitwise OR over the last dimension (a power of two), by halving."""
    while x.shape[-1] > 1:
        half = x.shape[-1] // 2
        x = x[..., :half] | x[..., half:]
    return x[..., 0]


def _leaps(pieces: torch.Tensor, shifts: _Shifts) -> torch.Tensor:
    """Squares that leapers ``pieces`` ``[B, k]`` attack with ``shifts``' steps, ``[B, k]``."""
    return _union(shifts(pieces[:, :, None]) & shifts.landing)


def piece_bitboards(planes: torch.Tensor) -> torch.Tensor:
    """The twelve piece planes ``[B, 18, 8, 8]`` (mover's view) as bitboards, int64 ``[B, 12]``."""
    batch = planes.shape[0]
    squares = (planes[:, :12].reshape(batch, 12, 64) > 0.5).long()
    # Sums of distinct powers of two are their ORs (the 1 << 63 term wraps to the sign bit).
    return (squares << _tables(planes.device).bits).sum(-1)


def tactical_maps(planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Attack maps of both sides and check squares, from the planes ``[B, 18, 8, 8]`` (mover's view).

    Returns three bool tensors ``[B, 6, 64]`` (piece types pawn .. king, squares a1 = 0):
    ``own[b, t, s]``: whether a mover's piece of type ``t`` attacks square ``s``;
    ``opponent[b, t, s]``: the same for the opponent's pieces (its pawns attack down the board);
    ``checks[b, t, s]``: whether a mover's piece of type ``t`` standing on ``s`` would attack
    the opponent's king, today's other pieces blocking (a king never checks).
    Sliders stop at the first piece in their way, which they attack (x-rays are not followed).
    """
    tables = _tables(planes.device)
    boards = piece_bitboards(planes)
    batch = boards.shape[0]
    empty = ~boards.sum(1)
    # Slider lanes [B, 5, 8]: the mover's bishops / rooks, the mover's queens, the opponent's
    # bishops / rooks, the opponent's queens, and the opponent's king (a queen on a square its
    # rays reach would check it); diagonal sliders in the diagonal lanes 0-3, line sliders in 4-7.
    diagonal = boards[:, [2, 4, 8, 10, 11]]
    line = boards[:, [3, 4, 9, 10, 11]]
    reach = torch.cat([diagonal[:, :, None].expand(batch, 5, 4), line[:, :, None].expand(batch, 5, 4)], 2)
    step, double, quadruple = tables.slides
    free = (empty[:, None] & step.landing)[:, None, :]
    reach = reach | (free & step(reach))
    free = free & step(free)
    reach = reach | (free & double(reach))
    free = free & double(free)
    reach = reach | (free & quadruple(reach))
    rays = step(reach) & step.landing
    diagonal_rays, line_rays = _union(rays[:, :, :4]), _union(rays[:, :, 4:])
    knights = _leaps(boards[:, [1, 7, 11]], tables.knight)  # own, opponent, opponent king's knight squares
    kings = _leaps(boards[:, [5, 11]], tables.slides[0])
    own_pawns = _leaps(boards[:, [0]], tables.up)[:, 0]
    # The opponent's pawns' captures, and the squares from which a mover's pawn checks the king.
    down = _leaps(boards[:, [6, 11]], tables.down)
    maps = torch.stack(
        [
            own_pawns,
            knights[:, 0],
            diagonal_rays[:, 0],
            line_rays[:, 0],
            diagonal_rays[:, 1] | line_rays[:, 1],
            kings[:, 0],
            down[:, 0],
            knights[:, 1],
            diagonal_rays[:, 2],
            line_rays[:, 2],
            diagonal_rays[:, 3] | line_rays[:, 3],
            kings[:, 1],
            down[:, 1],
            knights[:, 2],
            diagonal_rays[:, 4],
            line_rays[:, 4],
            diagonal_rays[:, 4] | line_rays[:, 4],
            torch.zeros_like(empty),
        ],
        1,
    ).view(batch, 3, 6)
    squares = ((maps[..., None] >> tables.bits) & 1).bool()
    return squares[:, 0], squares[:, 1], squares[:, 2]


def attack_maps(planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``own`` and ``opponent`` maps of :func:`tactical_maps`."""
    own, opponent, _ = tactical_maps(planes)
    return own, opponent


def checking_squares(planes: torch.Tensor) -> torch.Tensor:
    """The ``checks`` map of :func:`tactical_maps`."""
    return tactical_maps(planes)[2]
