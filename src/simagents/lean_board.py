"""One lean chess board on plain integers, and the one function that makes a move on it.

python-chess's ``Board.push`` keeps a move stack and board states that reading PGN and encoding
positions never look at; at several microseconds a ply it is most of their cost. The two hot
loops that replay games (SAN resolution in :mod:`simagents.data.san`, the positions stage's
replay in :mod:`simagents.encoding.replay`) keep the board in local variables instead:

* ``mailbox``: 64 piece types (0 empty, :data:`PAWN` .. :data:`KING`), to find the moving and the
  captured piece in one look-up; ``bb``: 7 bitboards by piece type (index 0 unused);
* ``us``, ``them``: the occupancy of the side to move and of the other side;
* ``castling``: castling rights as python-chess stores them, a mask of rook squares (a1, h1, a8,
  h8), cleared for every square a move touches and for the whole back rank when the king moves;
* ``ep``: the en-passant square as python-chess sets it, after *every* double pawn push whether
  or not a capture is possible (:data:`NO_EN_PASSANT` = none); ``halfmove``: the halfmove clock.

:func:`make_move` is the only code that changes that state, for both loops; :func:`attacked` is
the one attack test. Tests check both loops against python-chess move by move
(``tests/test_fast_paths.py``, with the python-chess reference in ``tests/reference_replay.py``).
"""

from __future__ import annotations

import chess

PAWN, KNIGHT, BISHOP, ROOK, QUEEN, KING = 1, 2, 3, 4, 5, 6
#: ``ep`` when no en-passant square is set (as :func:`simagents.encoding.board.raw_board`).
NO_EN_PASSANT = 64
RANK_1, RANK_8 = chess.BB_RANK_1, chess.BB_RANK_8
CORNERS = chess.BB_A1 | chess.BB_H1 | chess.BB_A8 | chess.BB_H8

#: Castling king moves in python-chess's standard notation: king move -> (rook from, rook to).
CASTLING_ROOK = {
    (chess.E1, chess.G1): (chess.H1, chess.F1),
    (chess.E1, chess.C1): (chess.A1, chess.D1),
    (chess.E8, chess.G8): (chess.H8, chess.F8),
    (chess.E8, chess.C8): (chess.A8, chess.D8),
}


def _start() -> tuple[list[int], list[int]]:
    board = chess.Board()
    mailbox = [board.piece_type_at(s) or 0 for s in chess.SQUARES]
    bitboards = [0, board.pawns, board.knights, board.bishops, board.rooks, board.queens, board.kings]
    return mailbox, bitboards


#: The start position (copy the lists before making moves on them).
START_MAILBOX, START_BITBOARDS = _start()
START_WHITE = chess.BB_RANK_1 | chess.BB_RANK_2
START_BLACK = chess.BB_RANK_7 | chess.BB_RANK_8

_KNIGHT_ATTACKS = chess.BB_KNIGHT_ATTACKS
_KING_ATTACKS = chess.BB_KING_ATTACKS
_WHITE_PAWN_ATTACKERS = chess.BB_PAWN_ATTACKS[chess.BLACK]  # squares from which a white pawn attacks s
_BLACK_PAWN_ATTACKERS = chess.BB_PAWN_ATTACKS[chess.WHITE]
_DIAG_MASKS, _DIAG_ATTACKS = chess.BB_DIAG_MASKS, chess.BB_DIAG_ATTACKS
_RANK_MASKS, _RANK_ATTACKS = chess.BB_RANK_MASKS, chess.BB_RANK_ATTACKS
_FILE_MASKS, _FILE_ATTACKS = chess.BB_FILE_MASKS, chess.BB_FILE_ATTACKS


class IllegalMoveError(ValueError):
    """A move that cannot be made on the board (the message says why)."""


def attacked(square: int, by_white: bool, occupied: int, them: int, bb: list[int]) -> bool:
    """Whether the pieces ``them`` (of colour ``by_white``; types from ``bb``) attack ``square``."""
    if _KNIGHT_ATTACKS[square] & bb[KNIGHT] & them:
        return True
    if _KING_ATTACKS[square] & bb[KING] & them:
        return True
    if (_WHITE_PAWN_ATTACKERS if by_white else _BLACK_PAWN_ATTACKERS)[square] & bb[PAWN] & them:
        return True
    diagonal = (bb[BISHOP] | bb[QUEEN]) & them
    if diagonal and _DIAG_ATTACKS[square][_DIAG_MASKS[square] & occupied] & diagonal:
        return True
    straight = (bb[ROOK] | bb[QUEEN]) & them
    return bool(
        straight
        and (
            _RANK_ATTACKS[square][_RANK_MASKS[square] & occupied]
            | _FILE_ATTACKS[square][_FILE_MASKS[square] & occupied]
        )
        & straight
    )


def make_move(
    mailbox: list[int],
    bb: list[int],
    us: int,
    them: int,
    castling: int,
    halfmove: int,
    ep: int,
    white_to_move: bool,
    f: int,
    t: int,
    promotion: int,
) -> tuple[int, int, int, int, int]:
    """Move the piece on square ``f`` to ``t`` (``promotion``: the piece type a pawn becomes, or 0),
    as python-chess's ``push`` does: captures, en passant, promotions, castling (the king's move;
    the rook follows), castling rights, the en-passant square and the halfmove clock.

    ``mailbox`` and ``bb`` are changed in place; returns ``(us, them, castling, halfmove, ep)``
    after the move, ``us`` still the side that moved. The move is trusted to be legal, but one
    that python-chess could not push either raises :class:`IllegalMoveError`: no piece of the
    mover on ``f``, one of its own on ``t``, a promotion missing, misplaced or not a pawn's, or
    castling without the rook.
    """
    fb, tb = 1 << f, 1 << t
    if not us & fb:
        raise IllegalMoveError("no piece of the side to move on its from-square")
    if us & tb:
        raise IllegalMoveError("the side to move has a piece on its to-square")
    piece = mailbox[f]
    captured = mailbox[t]
    move_mask = fb | tb
    us ^= move_mask
    if captured:
        bb[captured] ^= tb
        them ^= tb
    castling &= ~move_mask
    new_ep = NO_EN_PASSANT
    if piece == PAWN:
        halfmove = 0
        if promotion:
            if not tb & (RANK_1 | RANK_8):
                raise IllegalMoveError("promotion off the last rank")
            bb[PAWN] ^= fb
            bb[promotion] ^= tb
            mailbox[t] = promotion
        else:
            if tb & (RANK_1 | RANK_8):
                raise IllegalMoveError("a pawn reaches the last rank without promotion")
            bb[PAWN] ^= move_mask
            mailbox[t] = PAWN
            diff = t - f
            if diff == 16:
                if f < 16:  # python-chess: a double push from the 2nd rank
                    new_ep = f + 8
            elif diff == -16:
                if f >= 48:
                    new_ep = f - 8
            elif t == ep and not captured and diff in (7, 9, -7, -9):
                victim_bb = 1 << (t - 8 if white_to_move else t + 8)
                bb[PAWN] ^= victim_bb
                them ^= victim_bb
                mailbox[t - 8 if white_to_move else t + 8] = 0
    else:
        if promotion:
            raise IllegalMoveError("only pawns promote")
        halfmove = 0 if captured else halfmove + 1
        bb[piece] ^= move_mask
        mailbox[t] = piece
        if piece == KING:
            castling &= ~(RANK_1 if white_to_move else RANK_8)
            rook = CASTLING_ROOK.get((f, t))
            if rook is not None:
                rook_from, rook_to = rook
                if mailbox[rook_from] != ROOK or not us & (1 << rook_from):
                    raise IllegalMoveError("castling without the rook")
                rook_mask = (1 << rook_from) | (1 << rook_to)
                bb[ROOK] ^= rook_mask
                us ^= rook_mask
                mailbox[rook_from] = 0
                mailbox[rook_to] = ROOK
    mailbox[f] = 0
    return us, them, castling, halfmove, new_ep
