"""Fast SAN resolution: a mainline in SAN -> UCI, on a lean board of plain integers.

python-chess's ``parse_san`` generates every legal move of the position to resolve one SAN
move, then ``push`` keeps a move stack; together they are most of the cost of reading PGN. This
module resolves SAN on bitboards plus a mailbox (python-chess's own attack tables) and only
*vouches* for a mainline when it is certain python-chess would read it the same way:

* every token is one that python-chess parses with its own ``SAN_REGEX`` (or castling); tokens
  it treats specially (null moves, fully specified moves such as ``e2e4``, a pawn move with a
  from-rank, a piece with a promotion) are not vouched for;
* a move is taken only if exactly one piece of the named type, on the named file/rank, can make
  it legally (its king not attacked afterwards; castling: rights, empty path, king not passing
  through or into an attacked square), with the promotion that python-chess requires.

:func:`sans_to_uci` returns None for anything else, and :func:`simagents.data.pgn.parse_chunk`
then replays the game with python-chess, which gives the exact drop reason (illegal, ambiguous,
invalid, null move). Tests check that both routes give identical rows and ledgers on a messy
corpus, on random games and on fuzzed input (``tests/test_fast_paths.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import chess

from ..lean_board import (
    BISHOP,
    CORNERS,
    KING,
    KNIGHT,
    NO_EN_PASSANT,
    PAWN,
    ROOK,
    START_BITBOARDS,
    START_BLACK,
    START_MAILBOX,
    START_WHITE,
    attacked,
    make_move,
)

_KINGSIDE, _QUEENSIDE, _PAWN_MOVE, _PIECE_MOVE = 0, 1, 2, 3
_CASTLING_TOKENS = {
    **{token: _KINGSIDE for token in ("O-O", "O-O+", "O-O#", "0-0", "0-0+", "0-0#")},
    **{token: _QUEENSIDE for token in ("O-O-O", "O-O-O+", "O-O-O#", "0-0-0", "0-0-0+", "0-0-0#")},
}
_ALL = chess.BB_ALL
_BACK_RANKS = chess.BB_RANK_1 | chess.BB_RANK_8
_KNIGHT_ATTACKS = chess.BB_KNIGHT_ATTACKS
_KING_ATTACKS = chess.BB_KING_ATTACKS
_DIAG_MASKS, _DIAG_ATTACKS = chess.BB_DIAG_MASKS, chess.BB_DIAG_ATTACKS
_RANK_MASKS, _RANK_ATTACKS = chess.BB_RANK_MASKS, chess.BB_RANK_ATTACKS
_FILE_MASKS, _FILE_ATTACKS = chess.BB_FILE_MASKS, chess.BB_FILE_ATTACKS
_UCI = [[chess.SQUARE_NAMES[a] + chess.SQUARE_NAMES[b] for b in range(64)] for a in range(64)]
_PROMOTION_SUFFIX = ("", "", "n", "b", "r", "q")

# Castling: (rights bit, squares that must be empty, squares that must not be attacked, king
# from, king to, UCI), by side to move (True = White) and wing; the rook follows the king's move.
_CASTLING = {
    (True, _KINGSIDE): (chess.BB_H1, chess.BB_F1 | chess.BB_G1, (chess.E1, chess.F1, chess.G1), chess.E1, chess.G1, "e1g1"),
    (True, _QUEENSIDE): (chess.BB_A1, chess.BB_B1 | chess.BB_C1 | chess.BB_D1, (chess.E1, chess.D1, chess.C1), chess.E1, chess.C1, "e1c1"),
    (False, _KINGSIDE): (chess.BB_H8, chess.BB_F8 | chess.BB_G8, (chess.E8, chess.F8, chess.G8), chess.E8, chess.G8, "e8g8"),
    (False, _QUEENSIDE): (chess.BB_A8, chess.BB_B8 | chess.BB_C8 | chess.BB_D8, (chess.E8, chess.D8, chess.C8), chess.E8, chess.C8, "e8c8"),
}  # fmt: skip

_SanParse = tuple[int, int, int, int, int, int]  # kind, piece, from mask, to square, promotion, from file
_san_cache: dict[str, _SanParse | None] = {}
_SAN_CACHE_LIMIT = 200_000


def _parse_san_token(san: str) -> _SanParse | None:
    """The parts of a SAN token, or None where python-chess would treat it specially (or reject it)."""
    wing = _CASTLING_TOKENS.get(san)
    if wing is not None:
        return (wing, KING, 0, 0, 0, 0)
    match = chess.SAN_REGEX.match(san)
    if not match:
        return None  # invalid SAN or a null move: python-chess decides
    piece_letter, file_letter, rank_digit, target, promotion_text = match.groups()
    to_square = chess.SQUARE_NAMES.index(target)
    promotion = chess.PIECE_SYMBOLS.index(promotion_text[-1].lower()) if promotion_text else 0
    from_mask = _ALL
    from_file = -1
    if file_letter:
        from_file = chess.FILE_NAMES.index(file_letter)
        from_mask &= chess.BB_FILES[from_file]
    if rank_digit:
        from_mask &= chess.BB_RANKS[int(rank_digit) - 1]
    if piece_letter:
        if promotion:
            return None
        return (_PIECE_MOVE, chess.PIECE_SYMBOLS.index(piece_letter.lower()), from_mask, to_square, 0, from_file)
    if rank_digit or promotion == KING:
        return None  # fully specified moves go through find_move; pawns with a from-rank are odd
    return (
        _PAWN_MOVE,
        PAWN,
        from_mask,
        to_square,
        promotion,
        from_file if from_file >= 0 else chess.square_file(to_square),
    )


def sans_to_uci(sans: Sequence[str]) -> list[str] | None:
    """The UCI moves of a mainline given in SAN, from the start position, or None.

    None means: some move is one the fast path does not vouch for (illegal, ambiguous, invalid,
    or merely unusual); python-chess must decide. A list means python-chess's ``parse_san`` and
    ``push`` give exactly these moves.
    """
    cache = _san_cache
    if len(cache) > _SAN_CACHE_LIMIT:
        cache.clear()
    mailbox = START_MAILBOX[:]
    bb = START_BITBOARDS[:]
    white, black = START_WHITE, START_BLACK
    castling = CORNERS
    ep = NO_EN_PASSANT
    halfmove = 0
    turn = True
    out: list[str] = []
    append = out.append
    for san in sans:
        try:
            parsed = cache[san]
        except KeyError:
            parsed = cache[san] = _parse_san_token(san)
        if parsed is None:
            return None
        kind, piece, from_mask, t, promotion, from_file = parsed
        if turn:
            us, them = white, black
        else:
            us, them = black, white
        occupied = white | black
        if kind <= _QUEENSIDE:
            rights, empty, safe, f, t, uci = _CASTLING[(turn, kind)]
            if not castling & rights or occupied & empty:
                return None
            for square in safe:
                if attacked(square, not turn, occupied, them, bb):
                    return None
        else:
            tb = 1 << t
            if us & tb:
                return None
            king_square = (bb[KING] & us).bit_length() - 1
            if kind == _PAWN_MOVE:
                if (t < 8) if turn else (t >= 56):
                    return None  # no pawn moves to its own back rank
                if tb & _BACK_RANKS:
                    if not promotion:
                        return None
                elif promotion:
                    return None
                own_pawns = bb[PAWN] & us
                step = 8 if turn else -8
                victim = -1
                if from_file == t & 7:  # a push (python-chess: no file, or the target's file)
                    if occupied & tb:
                        return None
                    f = t - step
                    if not own_pawns & (1 << f):
                        if occupied & (1 << f) or (t >> 3) != (3 if turn else 4):
                            return None
                        f -= step
                        if not own_pawns & (1 << f):
                            return None
                elif from_file - (t & 7) in (1, -1):  # a capture
                    f = t - step + from_file - (t & 7)
                    if not own_pawns & (1 << f):
                        return None
                    if not them & tb:
                        if t != ep:
                            return None
                        victim = t - step
                else:
                    return None
                after_them = them & ~tb
                after_occupied = (occupied ^ (1 << f)) | tb
                if victim >= 0:
                    after_them &= ~(1 << victim)
                    after_occupied &= ~(1 << victim)
                if attacked(king_square, not turn, after_occupied, after_them, bb):
                    return None
            else:
                if piece == KNIGHT:
                    candidates = _KNIGHT_ATTACKS[t]
                elif piece == KING:
                    candidates = _KING_ATTACKS[t]
                else:
                    candidates = 0
                    if piece != ROOK:
                        candidates = _DIAG_ATTACKS[t][_DIAG_MASKS[t] & occupied]
                    if piece != BISHOP:
                        candidates |= (
                            _RANK_ATTACKS[t][_RANK_MASKS[t] & occupied] | _FILE_ATTACKS[t][_FILE_MASKS[t] & occupied]
                        )
                candidates &= bb[piece] & us & from_mask
                if not candidates:
                    return None
                after_them = them & ~tb
                f = -1
                while candidates:
                    candidate_bb = candidates & -candidates
                    candidates ^= candidate_bb
                    after_occupied = (occupied ^ candidate_bb) | tb
                    guarded = t if piece == KING else king_square
                    if not attacked(guarded, not turn, after_occupied, after_them, bb):
                        if f >= 0:
                            return None  # ambiguous: python-chess raises, with its own message
                        f = candidate_bb.bit_length() - 1
                if f < 0:
                    return None
            uci = _UCI[f][t] + _PROMOTION_SUFFIX[promotion]
        # The move is legal: make it (castling moves the king; the rook follows).
        us, them, castling, halfmove, ep = make_move(
            mailbox, bb, us, them, castling, halfmove, ep, turn, f, t, promotion
        )
        append(uci)
        if turn:
            white, black = us, them
        else:
            black, white = us, them
        turn = not turn
    return out
