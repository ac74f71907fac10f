"""A lean replay of UCI games on plain integers: the raw boards of :func:`.board.raw_board`, fast.

The positions stage replays every game of the games table, whose moves were validated when the
table was built (:mod:`simagents.data.pgn`). Replaying them with python-chess (``board.push``)
costs several microseconds a ply, most of it bookkeeping that encoding never reads (move stack,
board states, legality). :func:`replay_uci` keeps only what :data:`~.board.RawBoard` holds:

* the 8 bitboards (white, black, pawns, knights, bishops, rooks, queens, kings), plus a 64-entry
  mailbox of piece types to find the moving and the captured piece in one look-up;
* castling rights as python-chess stores them: a mask of rook squares (a1, h1, a8, h8), cleared
  for every square a move touches and for the whole back rank when the king moves;
* the en-passant square as python-chess sets it: after *every* double pawn push, whether or not
  a capture is possible (64 = none, as in :func:`~.board.raw_board`);
* the halfmove clock (reset by captures and pawn moves) and the side to move.

It yields exactly the tuples that :func:`~.board.raw_board` gives for python-chess boards along
the same game (a property test checks every ply of many random games, with castling, en passant
and promotions). Moves are trusted to be legal, but a move that python-chess could not push
either raises :class:`ValueError`: an unreadable move, no piece of the side to move on its
from-square, a piece of the side to move on its to-square, or a promotion that is missing or
not a pawn's.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess

from .board import RawBoard

_PAWN, _KNIGHT, _BISHOP, _ROOK, _QUEEN, _KING = 1, 2, 3, 4, 5, 6
_PROMOTION_CODES = {0: 0, _QUEEN: 0, _KNIGHT: 1, _BISHOP: 2, _ROOK: 3}  # as positions.py / action_space
_RANK_1 = chess.BB_RANK_1
_RANK_8 = chess.BB_RANK_8
_CORNERS = chess.BB_A1 | chess.BB_H1 | chess.BB_A8 | chess.BB_H8

#: Castling king moves in python-chess's standard notation: king move -> (rook from, rook to).
_CASTLING_ROOK = {
    (chess.E1, chess.G1): (chess.H1, chess.F1),
    (chess.E1, chess.C1): (chess.A1, chess.D1),
    (chess.E8, chess.G8): (chess.H8, chess.F8),
    (chess.E8, chess.C8): (chess.A8, chess.D8),
}


def _move_table() -> dict[str, tuple[int, int, int, int, int, int]]:
    """Every UCI string of a from/to pair (and of pawn promotions) -> its decoded parts.

    Values: (from square, to square, from bitboard, to bitboard, promotion piece type or 0,
    promotion code of the action space).
    """
    table: dict[str, tuple[int, int, int, int, int, int]] = {}
    names = chess.SQUARE_NAMES
    for a in range(64):
        for b in range(64):
            if a != b:
                table[names[a] + names[b]] = (a, b, 1 << a, 1 << b, 0, 0)
    for from_rank, to_rank in ((6, 7), (1, 0)):
        for file in range(8):
            a = chess.square(file, from_rank)
            for df in (-1, 0, 1):
                if 0 <= file + df < 8:
                    b = chess.square(file + df, to_rank)
                    for piece in (_KNIGHT, _BISHOP, _ROOK, _QUEEN):
                        table[names[a] + names[b] + chess.piece_symbol(piece)] = (
                            a,
                            b,
                            1 << a,
                            1 << b,
                            piece,
                            _PROMOTION_CODES[piece],
                        )
    return table


_MOVES = _move_table()


def _start() -> tuple[list[int], list[int]]:
    board = chess.Board()
    mailbox = [board.piece_type_at(s) or 0 for s in chess.SQUARES]
    bitboards = [0, board.pawns, board.knights, board.bishops, board.rooks, board.queens, board.kings]
    return mailbox, bitboards


_START_MAILBOX, _START_BITBOARDS = _start()
_START_WHITE = chess.BB_RANK_1 | chess.BB_RANK_2
_START_BLACK = chess.BB_RANK_7 | chess.BB_RANK_8


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
    record_moves = from_squares is not None
    if record_moves and (to_squares is None or promotion_codes is None):
        raise ValueError("from_squares, to_squares and promotion_codes go together")
    table = _MOVES
    mailbox = _START_MAILBOX[:]
    bb = _START_BITBOARDS[:]
    white, black = _START_WHITE, _START_BLACK
    castling = _CORNERS
    ep = 64
    halfmove = 0
    turn = True
    append = out.append
    for ply, uci in enumerate(moves):
        info = table.get(uci)
        if info is None:
            raise ValueError(f"ply {ply + 1}: unreadable move {uci!r}")
        f, t, fb, tb, promotion, code = info
        if turn:
            us, them = white, black
        else:
            us, them = black, white
        if not us & fb:
            raise ValueError(f"ply {ply + 1}: {uci}: no piece of the side to move on its from-square")
        if us & tb:
            raise ValueError(f"ply {ply + 1}: {uci}: the side to move has a piece on its to-square")
        if ply >= skip_plies:
            append((white, black, bb[1], bb[2], bb[3], bb[4], bb[5], bb[6], castling, ep, halfmove, turn))
            if record_moves:
                from_squares.append(f)  # type: ignore[union-attr]
                to_squares.append(t)  # type: ignore[union-attr]
                promotion_codes.append(code)  # type: ignore[union-attr]
        piece = mailbox[f]
        captured = mailbox[t]
        move_mask = fb | tb
        us ^= move_mask
        if captured:
            bb[captured] ^= tb
            them ^= tb
        castling &= ~move_mask
        new_ep = 64
        if piece == _PAWN:
            halfmove = 0
            diff = t - f
            if promotion:
                if tb & (_RANK_1 | _RANK_8) == 0:
                    raise ValueError(f"ply {ply + 1}: {uci}: promotion off the last rank")
                bb[_PAWN] ^= fb
                bb[promotion] ^= tb
                mailbox[t] = promotion
            else:
                if tb & (_RANK_1 | _RANK_8):
                    raise ValueError(f"ply {ply + 1}: {uci}: a pawn reaches the last rank without promotion")
                bb[_PAWN] ^= move_mask
                mailbox[t] = _PAWN
                if diff == 16:
                    if f < 16:  # python-chess: a double push from the 2nd rank
                        new_ep = f + 8
                elif diff == -16:
                    if f >= 48:
                        new_ep = f - 8
                elif t == ep and not captured and diff in (7, 9, -7, -9):
                    victim = t - 8 if turn else t + 8
                    victim_bb = 1 << victim
                    bb[_PAWN] ^= victim_bb
                    them ^= victim_bb
                    mailbox[victim] = 0
        else:
            if promotion:
                raise ValueError(f"ply {ply + 1}: {uci}: only pawns promote")
            halfmove = 0 if captured else halfmove + 1
            bb[piece] ^= move_mask
            mailbox[t] = piece
            if piece == _KING:
                castling &= ~(_RANK_1 if turn else _RANK_8)
                rook = _CASTLING_ROOK.get((f, t))
                if rook is not None:
                    if mailbox[rook[0]] != _ROOK or not us & (1 << rook[0]):
                        raise ValueError(f"ply {ply + 1}: {uci}: castling without the rook")
                    rook_mask = (1 << rook[0]) | (1 << rook[1])
                    bb[_ROOK] ^= rook_mask
                    us ^= rook_mask
                    mailbox[rook[0]] = 0
                    mailbox[rook[1]] = _ROOK
        mailbox[f] = 0
        if turn:
            white, black = us, them
        else:
            black, white = us, them
        ep = new_ep
        turn = not turn
    return out


def replay_uci_python_chess(
    moves: Sequence[str],
    skip_plies: int = 0,
    raws: list[RawBoard] | None = None,
    from_squares: list[int] | None = None,
    to_squares: list[int] | None = None,
    promotion_codes: list[int] | None = None,
) -> list[RawBoard]:
    """:func:`replay_uci` on python-chess (``push`` + :func:`~.board.raw_board`): the slow reference.

    Used by tests and benchmarks as the oracle the lean replay must match. It also refuses any
    move that is not pseudo-legal, which the lean replay does not check.
    """
    from .board import raw_board

    raws = [] if raws is None else raws
    codes = {"": 0, "q": 0, "n": 1, "b": 2, "r": 3}
    board = chess.Board()
    for ply, uci in enumerate(moves):
        move = chess.Move.from_uci(uci)
        if not board.is_pseudo_legal(move):
            raise ValueError(f"move {uci!r} at ply {ply} cannot be played in {board.fen()}")
        if ply >= skip_plies:
            raws.append(raw_board(board))
            if from_squares is not None and to_squares is not None and promotion_codes is not None:
                from_squares.append(move.from_square)
                to_squares.append(move.to_square)
                promotion_codes.append(codes[uci[4:]])
        board.push(move)
    return raws
