"""A lean replay of UCI games: the raw boards of :func:`.board.raw_board`, fast.

The positions stage replays every game of the games table, whose moves were validated when the
table was built (:mod:`simagents.data.pgn`). Replaying them with python-chess (``board.push``)
costs several microseconds a ply, most of it bookkeeping that encoding never reads (move stack,
board states, legality). :func:`replay_uci` replays on the lean board of
:mod:`simagents.lean_board` (its one move function, shared with SAN resolution) and yields
exactly the tuples that :func:`~.board.raw_board` gives for python-chess boards along the same
game (a property test checks every ply of many random games, with castling, en passant and
promotions). Moves are trusted to be legal, but a move that python-chess could not push either
raises :class:`ValueError`: an unreadable move, no piece of the side to move on its from-square,
a piece of the side to move on its to-square, or a promotion that is missing or not a pawn's.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess

from ..lean_board import (
    BISHOP,
    CORNERS,
    KNIGHT,
    NO_EN_PASSANT,
    QUEEN,
    ROOK,
    START_BITBOARDS,
    START_BLACK,
    START_MAILBOX,
    START_WHITE,
    IllegalMoveError,
    make_move,
)
from .board import RawBoard

_PROMOTION_CODES = {0: 0, QUEEN: 0, KNIGHT: 1, BISHOP: 2, ROOK: 3}  # as positions.py / action_space


def _move_table() -> dict[str, tuple[int, int, int, int]]:
    """Every UCI string of a from/to pair (and of pawn promotions) -> its decoded parts:
    (from square, to square, promotion piece type or 0, promotion code of the action space)."""
    table: dict[str, tuple[int, int, int, int]] = {}
    names = chess.SQUARE_NAMES
    for a in range(64):
        for b in range(64):
            if a != b:
                table[names[a] + names[b]] = (a, b, 0, 0)
    for from_rank, to_rank in ((6, 7), (1, 0)):
        for file in range(8):
            a = chess.square(file, from_rank)
            for df in (-1, 0, 1):
                if 0 <= file + df < 8:
                    b = chess.square(file + df, to_rank)
                    for piece in (KNIGHT, BISHOP, ROOK, QUEEN):
                        table[names[a] + names[b] + chess.piece_symbol(piece)] = (a, b, piece, _PROMOTION_CODES[piece])
    return table


_MOVES = _move_table()


def replay_uci(
    moves: Sequence[str],
    skip_plies: int = 0,
    raws: list[RawBoard] | None = None,
    from_squares: list[int] | None = None,
    to_squares: list[int] | None = None,
    promotion_codes: list[int] | None = None,
) -> list[RawBoard]:
    """Replay UCI ``moves`` from the start position; the raw board before each move from ``skip_plies`` on.

    The raw boards are appended to ``raws`` (a new list if None), which is returned; when given,
    ``from_squares``, ``to_squares`` and ``promotion_codes`` (0 = none or queen, 1 = knight,
    2 = bishop, 3 = rook) get each recorded move's parts. On :class:`ValueError` the lists may
    hold part of the game: the caller rolls them back.
    """
    out: list[RawBoard] = [] if raws is None else raws
    if from_squares is not None and (to_squares is None or promotion_codes is None):
        raise ValueError("from_squares, to_squares and promotion_codes go together")
    table = _MOVES
    mailbox = START_MAILBOX[:]
    bb = START_BITBOARDS[:]
    white, black = START_WHITE, START_BLACK
    castling = CORNERS
    ep = NO_EN_PASSANT
    halfmove = 0
    turn = True
    append = out.append
    for ply, uci in enumerate(moves):
        info = table.get(uci)
        if info is None:
            raise ValueError(f"ply {ply + 1}: unreadable move {uci!r}")
        f, t, promotion, code = info
        if ply >= skip_plies:
            append((white, black, bb[1], bb[2], bb[3], bb[4], bb[5], bb[6], castling, ep, halfmove, turn))
            if from_squares is not None:
                from_squares.append(f)
                to_squares.append(t)  # type: ignore[union-attr]
                promotion_codes.append(code)  # type: ignore[union-attr]
        try:
            if turn:
                white, black, castling, halfmove, ep = make_move(
                    mailbox, bb, white, black, castling, halfmove, ep, True, f, t, promotion
                )
            else:
                black, white, castling, halfmove, ep = make_move(
                    mailbox, bb, black, white, castling, halfmove, ep, False, f, t, promotion
                )
        except IllegalMoveError as error:
            raise ValueError(f"ply {ply + 1}: {uci}: {error}") from None
        turn = not turn
    return out
