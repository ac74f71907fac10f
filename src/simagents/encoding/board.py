"""The one board encoder: a position as 12 bitboards seen from the side to move.

Layout of an encoded position (every array's first axis is the position):

* ``pieces``: uint64 ``[n, 12]``. Planes 0-5 are the mover's pawns, knights, bishops, rooks,
  queens and king; planes 6-11 the opponent's. Bit ``s`` of a plane is square ``s`` (a1 = 0,
  h8 = 63) of the board *as the mover sees it*: for Black the board is mirrored vertically, so
  the mover's pieces always start on ranks 1-2 and its pawns always move up. A vertical mirror
  of a bitboard is a byte swap, which is what makes encoding vectorise.
* ``castling``: uint8 ``[n]``, bits 1 = mover king side, 2 = mover queen side, 4 = opponent
  king side, 8 = opponent queen side.
* ``en_passant``: int8 ``[n]``, the file (0-7) of an en-passant target square, or -1.
* ``halfmove_clock``: uint8 ``[n]``, plies since the last capture or pawn move (capped at 255).

:func:`to_planes` expands these into float32 input planes ``[n, 18, 8, 8]`` for a network.
Colour is not encoded: chess is symmetric under the mirror, so the mover's point of view is all
a policy needs (the game runner knows the colour).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import chess
import numpy as np

NUM_PIECE_PLANES: Final = 12
#: Input planes of :func:`to_planes`: 12 piece planes, 4 castling planes, 1 en-passant plane,
#: 1 plane holding the halfmove clock / 100 (the fifty-move rule's horizon).
NUM_INPUT_PLANES: Final = 18

_PIECE_ORDER: Final = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)


@dataclass(frozen=True)
class EncodedBoards:
    """A batch of encoded positions (see the module docstring for shapes and dtypes)."""

    pieces: np.ndarray
    castling: np.ndarray
    en_passant: np.ndarray
    halfmove_clock: np.ndarray

    def __len__(self) -> int:
        return int(self.pieces.shape[0])


#: Raw per-position record gathered while replaying a game; finalised in bulk by :func:`encode_raw`.
#: (white, black, pawns, knights, bishops, rooks, queens, kings, castling rights mask,
#: ep square or 64 (none), halfmove clock, white to move)
RawBoard = tuple[int, int, int, int, int, int, int, int, int, int, int, bool]


def raw_board(board: chess.Board) -> RawBoard:
    """The cheap per-position part of encoding: read the board's bitboards, no arithmetic."""
    ep = board.ep_square
    return (
        board.occupied_co[chess.WHITE],
        board.occupied_co[chess.BLACK],
        board.pawns,
        board.knights,
        board.bishops,
        board.rooks,
        board.queens,
        board.kings,
        board.castling_rights,
        64 if ep is None else ep,
        board.halfmove_clock,
        board.turn,
    )


def encode_raw(raw: Sequence[RawBoard] | np.ndarray) -> EncodedBoards:
    """Vectorised finalisation of :func:`raw_board` records into :class:`EncodedBoards`."""
    if len(raw) == 0:
        return EncodedBoards(
            np.zeros((0, NUM_PIECE_PLANES), np.uint64),
            np.zeros(0, np.uint8),
            np.zeros(0, np.int8),
            np.zeros(0, np.uint8),
        )
    table = np.array(raw, dtype=np.uint64) if not isinstance(raw, np.ndarray) else raw.astype(np.uint64)
    white, black = table[:, 0], table[:, 1]
    white_to_move = table[:, 11].astype(bool)
    own = np.where(white_to_move, white, black)
    opponent = np.where(white_to_move, black, white)
    kinds = table[:, 2:8]
    pieces = np.concatenate([kinds & own[:, None], kinds & opponent[:, None]], axis=1)
    black_rows = ~white_to_move
    pieces[black_rows] = pieces[black_rows].byteswap()

    rights = table[:, 8]

    def has(square: int) -> np.ndarray:
        flags: np.ndarray = (rights & np.uint64(1 << square)) != 0
        return flags

    white_k, white_q, black_k, black_q = has(chess.H1), has(chess.A1), has(chess.H8), has(chess.A8)
    own_k = np.where(white_to_move, white_k, black_k)
    own_q = np.where(white_to_move, white_q, black_q)
    opp_k = np.where(white_to_move, black_k, white_k)
    opp_q = np.where(white_to_move, black_q, white_q)
    castling = (own_k * 1 + own_q * 2 + opp_k * 4 + opp_q * 8).astype(np.uint8)

    ep_square = table[:, 9].astype(np.int64)
    en_passant = np.where(ep_square < 64, ep_square % 8, -1).astype(np.int8)
    halfmove = np.minimum(table[:, 10], 255).astype(np.uint8)
    return EncodedBoards(pieces, castling, en_passant, halfmove)


def encode_boards(boards: Sequence[chess.Board]) -> EncodedBoards:
    """Encode python-chess boards (any side to move) from each mover's point of view."""
    return encode_raw([raw_board(b) for b in boards])


def to_planes(encoded: EncodedBoards) -> np.ndarray:
    """Network input planes, float32 ``[n, NUM_INPUT_PLANES, 8, 8]`` (rank-major: ``[.., rank, file]``)."""
    n = len(encoded)
    # Little-endian bytes of a uint64 are ranks 1..8; little bit order within a byte is files a..h.
    bits = np.unpackbits(
        encoded.pieces.astype("<u8").view(np.uint8).reshape(n, NUM_PIECE_PLANES, 8), axis=-1, bitorder="little"
    )
    planes = np.zeros((n, NUM_INPUT_PLANES, 8, 8), dtype=np.float32)
    planes[:, :NUM_PIECE_PLANES] = bits.reshape(n, NUM_PIECE_PLANES, 8, 8)
    for bit in range(4):
        planes[:, NUM_PIECE_PLANES + bit] = ((encoded.castling >> bit) & 1)[:, None, None]
    rows = np.flatnonzero(encoded.en_passant >= 0)
    # The en-passant target is on the 6th rank from the mover's point of view.
    planes[rows, 16, 5, encoded.en_passant[rows]] = 1.0
    planes[:, 17] = (encoded.halfmove_clock.astype(np.float32) / 100.0)[:, None, None]
    return planes


def decode_board(encoded: EncodedBoards, index: int) -> chess.Board:
    """The position ``index`` as a python-chess board with the mover as White.

    Move counters other than the halfmove clock are not encoded; the fullmove number is 1. The
    board's bitboards are set directly (python-chess's own representation), which makes this
    cheap enough to run on every training position (legal-move masks, :mod:`.action_space`).
    """
    pieces = [int(bb) for bb in encoded.pieces[index]]
    board = chess.Board.empty()
    board.pawns, board.knights, board.bishops, board.rooks, board.queens, board.kings = (
        pieces[plane] | pieces[plane + 6] for plane in range(6)
    )
    own = pieces[0] | pieces[1] | pieces[2] | pieces[3] | pieces[4] | pieces[5]
    opponent = pieces[6] | pieces[7] | pieces[8] | pieces[9] | pieces[10] | pieces[11]
    if own & opponent:
        raise ValueError(f"encoded position {index} puts two pieces on one square")
    board.occupied_co[chess.WHITE], board.occupied_co[chess.BLACK] = own, opponent
    board.occupied = own | opponent
    rights = int(encoded.castling[index])
    mask = 0
    for bit, square in ((1, chess.H1), (2, chess.A1), (4, chess.H8), (8, chess.A8)):
        if rights & bit:
            mask |= chess.BB_SQUARES[square]
    board.castling_rights = mask
    ep_file = int(encoded.en_passant[index])
    board.ep_square = None if ep_file < 0 else chess.square(ep_file, 5)
    board.halfmove_clock = int(encoded.halfmove_clock[index])
    board.turn = chess.WHITE
    return board
