"""The one action space: every legal chess move, from the mover's point of view.

Moves are seen from the side to move, exactly as the board is (see :mod:`.board`): for Black
every square is mirrored vertically (``square ^ 56``), so a move always goes "up the board" the
way a White move would. An action is a (from square, to square, underpromotion) triple:

* every queen-like move (up to 7 squares along the 8 rays) from every square that stays on the
  board: 1,456 actions. King moves, castling (``e1g1``/``e1c1`` in python-chess's standard
  notation) and pawn pushes and captures, including promotion to a queen, are among them;
* every knight move: 336 actions;
* underpromotions to knight, bishop or rook, by a pawn on the 7th rank pushing or capturing
  onto the 8th: 3 x 22 = 66 actions.

That is 1,858 actions (the same count as Leela Chess Zero's policy head). A legal move of
standard chess maps to exactly one action and back (tested over random positions); a queen
promotion is the plain pawn move to the 8th rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import chess
import numpy as np

if TYPE_CHECKING:
    from .board import EncodedBoards

_QUEEN_DIRECTIONS: Final = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))
_KNIGHT_JUMPS: Final = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))
# Promotion codes in the lookup table: 0 = none or queen, 1 = knight, 2 = bishop, 3 = rook.
_UNDERPROMOTIONS: Final = (chess.KNIGHT, chess.BISHOP, chess.ROOK)
_PROMOTION_CODE: Final = {None: 0, chess.QUEEN: 0, chess.KNIGHT: 1, chess.BISHOP: 2, chess.ROOK: 3}
#: The same, indexed by python-chess piece type (0 = no promotion; pawn and king never occur).
_PROMOTION_CODE_OF_PIECE: Final = np.array([0, 0, 1, 2, 3, 0, 0], dtype=np.int64)


def _build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from_squares: list[int] = []
    to_squares: list[int] = []
    promotions: list[int] = []
    for square in chess.SQUARES:
        file, rank = chess.square_file(square), chess.square_rank(square)
        for df, dr in _QUEEN_DIRECTIONS:
            for distance in range(1, 8):
                f, r = file + df * distance, rank + dr * distance
                if not (0 <= f < 8 and 0 <= r < 8):
                    break
                from_squares.append(square)
                to_squares.append(chess.square(f, r))
                promotions.append(0)
        for df, dr in _KNIGHT_JUMPS:
            f, r = file + df, rank + dr
            if 0 <= f < 8 and 0 <= r < 8:
                from_squares.append(square)
                to_squares.append(chess.square(f, r))
                promotions.append(0)
    for file in range(8):
        square = chess.square(file, 6)
        for df in (-1, 0, 1):
            if 0 <= file + df < 8:
                for piece in _UNDERPROMOTIONS:
                    from_squares.append(square)
                    to_squares.append(chess.square(file + df, 7))
                    promotions.append(_PROMOTION_CODE[piece])
    return (
        np.asarray(from_squares, dtype=np.int8),
        np.asarray(to_squares, dtype=np.int8),
        np.asarray(promotions, dtype=np.int8),
    )


#: Per action: from square, to square (0 = a1 .. 63 = h8, mover's view) and promotion code.
ACTION_FROM, ACTION_TO, ACTION_PROMOTION = _build()
NUM_ACTIONS: Final[int] = len(ACTION_FROM)
assert NUM_ACTIONS == 1858, NUM_ACTIONS

#: ``ACTION_LOOKUP[from, to, promotion_code]`` is the action index, or -1 where no action exists.
ACTION_LOOKUP = np.full((64, 64, 4), -1, dtype=np.int16)
ACTION_LOOKUP[ACTION_FROM, ACTION_TO, ACTION_PROMOTION] = np.arange(NUM_ACTIONS, dtype=np.int16)
_CODE_TO_PIECE: Final = (None, chess.KNIGHT, chess.BISHOP, chess.ROOK)


class ActionSpaceError(ValueError):
    """A move or an action index that the action space cannot represent."""


def _mover_view(square: int, turn: chess.Color) -> int:
    return square if turn == chess.WHITE else square ^ 56


def move_to_action(move: chess.Move, turn: chess.Color) -> int:
    """Action index of ``move`` played by the side ``turn`` (mirrored for Black)."""
    code = _PROMOTION_CODE.get(move.promotion)
    if code is None or move.drop is not None:
        raise ActionSpaceError(f"expected a standard chess move, got {move.uci()!r}")
    index = int(ACTION_LOOKUP[_mover_view(move.from_square, turn), _mover_view(move.to_square, turn), code])
    if index < 0:
        raise ActionSpaceError(
            f"move {move.uci()!r} is not in the action space (side to move: {'white' if turn else 'black'})"
        )
    return index


def action_to_move(action: int, board: chess.Board) -> chess.Move:
    """The move that ``action`` denotes on ``board`` (a queen promotion where a pawn reaches the last rank).

    The move is not checked for legality; use :func:`legal_actions` for that.
    """
    if not 0 <= action < NUM_ACTIONS:
        raise ActionSpaceError(f"expected an action index in [0, {NUM_ACTIONS}), got {action!r}")
    turn = board.turn
    from_square = _mover_view(int(ACTION_FROM[action]), turn)
    to_square = _mover_view(int(ACTION_TO[action]), turn)
    promotion = _CODE_TO_PIECE[int(ACTION_PROMOTION[action])]
    if promotion is None and board.piece_type_at(from_square) == chess.PAWN and chess.square_rank(to_square) in (0, 7):
        promotion = chess.QUEEN
    return chess.Move(from_square, to_square, promotion)


def legal_actions(board: chess.Board) -> tuple[np.ndarray, list[chess.Move]]:
    """Action indices (int16, shape ``[n_legal]``) of the legal moves of ``board``, and the moves
    (python-chess's order): :func:`padded_legal_actions` of one board."""
    actions, counts, moves = padded_legal_actions([board])
    return actions[0, : counts[0]].astype(np.int16), moves[0]


def padded_legal_actions(boards: Sequence[chess.Board]) -> tuple[np.ndarray, np.ndarray, list[list[chess.Move]]]:
    """The legal moves of many boards as one padded table, for a batched network call.

    Returns ``actions`` int64 ``[n, width]`` (row ``i``: the action of each legal move of
    ``boards[i]``, as :func:`move_to_action` maps it, then zeros; ``width`` = the most legal
    moves, at least 1), ``counts`` int64 ``[n]`` (legal moves per board) and the moves per board, in the same order as the action indices. Each move
    is packed into one integer in Python and the table is looked up in one vectorised step, so per
    board little more than python-chess's move generation is left.
    """
    moves = [list(board.legal_moves) for board in boards]
    counts = np.array([len(m) for m in moves], dtype=np.int64)
    width = max(int(counts.max(initial=0)), 1)
    packed = np.fromiter(
        (m.from_square << 9 | m.to_square << 3 | (m.promotion or 0) for board_moves in moves for m in board_moves),
        dtype=np.int64,
        count=int(counts.sum()),
    )
    # Black's moves are seen mirrored: flip the rank of both squares (xor 56), as move_to_action does.
    flip = np.repeat(np.array([0 if board.turn == chess.WHITE else 56 for board in boards], dtype=np.int64), counts)
    actions = np.zeros((len(boards), width), dtype=np.int64)
    filled = np.arange(width) < counts[:, None]
    actions[filled] = ACTION_LOOKUP[
        (packed >> 9) ^ flip, ((packed >> 3) & 63) ^ flip, _PROMOTION_CODE_OF_PIECE[packed & 7]
    ]
    return actions, counts, moves


def legal_action_mask(board: chess.Board) -> np.ndarray:
    """Boolean mask of shape ``[NUM_ACTIONS]``: True where the action is a legal move."""
    mask = np.zeros(NUM_ACTIONS, dtype=bool)
    mask[legal_actions(board)[0]] = True
    return mask


#: Bytes per position of a packed legal-move mask (:func:`packed_legal_masks`).
PACKED_MASK_BYTES: Final[int] = (NUM_ACTIONS + 7) // 8


def packed_legal_masks(encoded: EncodedBoards) -> np.ndarray:
    """Legal-move masks of encoded positions, bit-packed: uint8 ``[n, 233]`` (little bit order).

    Bit ``a`` of row ``i`` is set when action ``a`` is a legal move in position ``i``. Stored
    beside the training positions so that the loss can be a softmax over the legal moves only;
    :func:`unpack_legal_masks` restores bool ``[n, 1858]``. About 30 microseconds a position.
    """
    from .board import decode_board

    n = len(encoded)
    out = np.zeros((n, PACKED_MASK_BYTES), dtype=np.uint8)
    row = np.zeros(NUM_ACTIONS, dtype=bool)
    for i in range(n):
        board = decode_board(encoded, i)  # mover as White: no mirroring of squares
        row[:] = False
        row[
            [
                ACTION_LOOKUP[m.from_square, m.to_square, _PROMOTION_CODE[m.promotion]]
                for m in board.generate_legal_moves()
            ]
        ] = True
        out[i] = np.packbits(row, bitorder="little")
    return out


def unpack_legal_masks(packed: np.ndarray) -> np.ndarray:
    """Bool ``[n, 1858]`` from :func:`packed_legal_masks`'s uint8 ``[n, 233]``."""
    return np.unpackbits(np.asarray(packed), axis=1, count=NUM_ACTIONS, bitorder="little").astype(bool)


def uci_moves_to_actions(
    from_squares: np.ndarray, to_squares: np.ndarray, promotion_codes: np.ndarray, white_to_move: np.ndarray
) -> np.ndarray:
    """Vectorised :func:`move_to_action` over arrays of absolute squares (int, shape ``[n]``).

    Raises :class:`ActionSpaceError` if any move has no action (not a chess move).
    """
    flip = np.where(white_to_move, 0, 56)
    actions = ACTION_LOOKUP[from_squares ^ flip, to_squares ^ flip, promotion_codes]
    if (actions < 0).any():
        bad = int(np.flatnonzero(actions < 0)[0])
        raise ActionSpaceError(
            f"move {chess.square_name(int(from_squares[bad]))}{chess.square_name(int(to_squares[bad]))} "
            f"(promotion code {int(promotion_codes[bad])}) is not in the action space"
        )
    found: np.ndarray = actions
    return found
