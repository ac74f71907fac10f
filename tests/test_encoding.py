"""The action space (one-to-one with legal moves) and the board encoder (mover's point of view)."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simagents.encoding import (
    NUM_ACTIONS,
    NUM_INPUT_PLANES,
    ActionSpaceError,
    action_to_move,
    decode_board,
    encode_boards,
    legal_action_mask,
    legal_actions,
    move_to_action,
    packed_legal_masks,
    to_planes,
    uci_moves_to_actions,
    unpack_legal_masks,
)

PROMOTION_CODE = {None: 0, chess.QUEEN: 0, chess.KNIGHT: 1, chess.BISHOP: 2, chess.ROOK: 3}

#: Hand-picked positions: castling both sides, en passant, promotions and underpromotions, for both colours.
SPECIAL_FENS = [
    chess.STARTING_FEN,
    "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/R3K2R w KQkq - 0 1",  # both sides may castle both ways
    "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/R3K2R b KQkq - 0 1",
    "r3k2r/pppq1ppp/2n1bn2/2b1p3/2B1P3/2N1BN2/PPPQ1PPP/R3K2R w KQkq - 6 8",  # castling moves legal
    "r3k2r/pppq1ppp/2n1bn2/2b1p3/2B1P3/2N1BN2/PPPQ1PPP/R3K2R b KQkq - 6 8",
    "r3k2r/8/8/8/8/8/8/R3K2R w Kq - 0 1",  # partial rights
    "r3k2r/8/8/8/8/8/8/R3K2R b Qk - 0 1",
    "rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3",  # exf6 e.p. legal
    "rnbqkbnr/pppp1ppp/8/8/3Pp3/5N2/PPP1PPPP/RNBQKB1R b KQkq d3 0 2",  # exd3 e.p. legal
    "rnbqkbnr/pp1ppppp/8/8/1PpPP3/8/P1P2PPP/RNBQKBNR b KQkq b3 0 3",  # two pawns? one capturer on b3
    "1n2k3/P1P5/8/8/8/8/8/4K3 w - - 0 1",  # White promotes by push and capture, all pieces
    "4k3/8/8/8/8/8/p1p3K1/1N6 b - - 0 1",  # Black promotes by push and capture, all pieces
    "r1b1k2r/1P6/8/8/8/8/1p6/R1B1K2R w KQkq - 0 1",  # promotion captures into castling corners
    "r1b1k2r/1P6/8/8/8/8/1p6/R1B1K2R b KQkq - 0 1",
    "7k/P7/8/8/8/8/8/K7 w - - 99 120",  # halfmove clock near the fifty-move horizon
    "8/8/8/3k4/8/8/8/3K4 b - - 255 200",
]


def _random_game(seed: int, max_plies: int = 160) -> list[chess.Board]:
    """Positions of a random legal game from the start position (including the start)."""
    rng = random.Random(seed)
    board = chess.Board()
    boards = [board.copy(stack=False)]
    for _ in range(rng.randint(0, max_plies)):
        moves = list(board.legal_moves)
        if not moves:
            break
        # Prefer promotions and captures now and then, so the rarer moves show up.
        special = [m for m in moves if m.promotion or board.is_castling(m) or board.is_en_passant(m)]
        board.push(rng.choice(special) if special and rng.random() < 0.5 else rng.choice(moves))
        boards.append(board.copy(stack=False))
    return boards


def _check_action_space(board: chess.Board) -> None:
    indices, moves = legal_actions(board)
    assert indices.dtype == np.int16
    assert len(indices) == len(moves) == board.legal_moves.count()
    assert set(moves) == set(board.legal_moves)
    assert ((indices >= 0) & (indices < NUM_ACTIONS)).all(), (board.fen(), indices)
    assert len(set(indices.tolist())) == len(indices), board.fen()
    for index, move in zip(indices.tolist(), moves):
        assert action_to_move(index, board) == move, (board.fen(), index, move)
        assert move_to_action(move, board.turn) == index
    mask = legal_action_mask(board)
    assert mask.shape == (NUM_ACTIONS,) and mask.dtype == bool
    assert int(mask.sum()) == len(moves)
    assert set(np.flatnonzero(mask).tolist()) == set(indices.tolist())


def _check_round_trip(board: chess.Board) -> None:
    encoded = encode_boards([board])
    decoded = decode_board(encoded, 0)
    expected = board if board.turn == chess.WHITE else board.mirror()
    assert decoded.turn == chess.WHITE
    assert decoded.fullmove_number == 1
    assert decoded.board_fen() == expected.board_fen(), board.fen()
    assert decoded.castling_rights == expected.castling_rights, board.fen()
    assert decoded.halfmove_clock == min(expected.halfmove_clock, 255)
    assert decoded.ep_square == expected.ep_square, board.fen()
    if board.ep_square is not None:
        assert decoded.ep_square is not None and chess.square_rank(decoded.ep_square) == 5


def _check_mirror_symmetry(board: chess.Board) -> None:
    if board.turn == chess.WHITE:
        board = board.mirror()
    mine, mirrored = encode_boards([board]), encode_boards([board.mirror()])
    for field in ("pieces", "castling", "en_passant", "halfmove_clock"):
        np.testing.assert_array_equal(getattr(mine, field), getattr(mirrored, field), err_msg=f"{field} {board.fen()}")


def _check_vectorised(boards: list[chess.Board]) -> None:
    from_squares, to_squares, codes, white, expected = [], [], [], [], []
    for board in boards:
        for move in board.legal_moves:
            from_squares.append(move.from_square)
            to_squares.append(move.to_square)
            codes.append(PROMOTION_CODE[move.promotion])
            white.append(board.turn == chess.WHITE)
            expected.append(move_to_action(move, board.turn))
    actions = uci_moves_to_actions(
        np.array(from_squares, dtype=np.int64),
        np.array(to_squares, dtype=np.int64),
        np.array(codes, dtype=np.int64),
        np.array(white, dtype=bool),
    )
    np.testing.assert_array_equal(actions, np.array(expected))


# ---------------------------------------------------------------------------------------------
# the action space


def test_special_positions_are_valid() -> None:
    for fen in SPECIAL_FENS:
        assert chess.Board(fen).is_valid(), fen


def test_special_positions_contain_the_special_moves() -> None:
    boards = [chess.Board(fen) for fen in SPECIAL_FENS]
    moves = [(b, m) for b in boards for m in b.legal_moves]
    for color in (chess.WHITE, chess.BLACK):
        mine = [(b, m) for b, m in moves if b.turn == color]
        assert any(b.is_kingside_castling(m) for b, m in mine)
        assert any(b.is_queenside_castling(m) for b, m in mine)
        assert any(b.is_en_passant(m) for b, m in mine)
        for piece in (chess.QUEEN, chess.ROOK, chess.BISHOP, chess.KNIGHT):
            assert any(m.promotion == piece and b.is_capture(m) for b, m in mine)
            assert any(m.promotion == piece and not b.is_capture(m) for b, m in mine)


@pytest.mark.parametrize("fen", SPECIAL_FENS)
def test_special_positions(fen: str) -> None:
    board = chess.Board(fen)
    _check_action_space(board)
    _check_round_trip(board)
    _check_mirror_symmetry(board)
    _check_vectorised([board])


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_random_games(seed: int) -> None:
    boards = _random_game(seed)
    for board in boards:
        _check_action_space(board)
        _check_round_trip(board)
        _check_mirror_symmetry(board)
    _check_vectorised(boards)


def test_action_space_covers_every_promotion_square_for_both_colours() -> None:
    seen: set[int] = set()
    for file in range(8):
        for df in (-1, 0, 1):
            if not 0 <= file + df < 8:
                continue
            for color, from_rank, to_rank in ((chess.WHITE, 6, 7), (chess.BLACK, 1, 0)):
                for piece in (chess.QUEEN, chess.ROOK, chess.BISHOP, chess.KNIGHT):
                    move = chess.Move(chess.square(file, from_rank), chess.square(file + df, to_rank), piece)
                    index = move_to_action(move, color)
                    if color == chess.WHITE:
                        seen.add(index)
                    board = chess.Board.empty()
                    board.turn = color
                    board.set_piece_at(move.from_square, chess.Piece(chess.PAWN, color))
                    assert action_to_move(index, board) == move
    assert len(seen) == 22 * 4


def test_action_indices_cover_the_space() -> None:
    # Every index decodes to a distinct (from, to, promotion) triple that encodes back to it.
    board = chess.Board.empty()
    triples = set()
    for index in range(NUM_ACTIONS):
        move = action_to_move(index, board)
        assert move_to_action(move, chess.WHITE) == index
        triples.add((move.from_square, move.to_square, move.promotion))
    assert len(triples) == NUM_ACTIONS == 1858


def test_black_moves_are_mirrored() -> None:
    # 1... e5 by Black is e2e4 as the mover sees it.
    assert move_to_action(chess.Move.from_uci("e7e5"), chess.BLACK) == move_to_action(
        chess.Move.from_uci("e2e4"), chess.WHITE
    )
    board = chess.Board()
    board.push_uci("e2e4")
    assert action_to_move(move_to_action(chess.Move.from_uci("e2e4"), chess.WHITE), board) == chess.Move.from_uci(
        "e7e5"
    )


# ---------------------------------------------------------------------------------------------
# the encoder


def test_start_position_planes_by_hand() -> None:
    planes = to_planes(encode_boards([chess.Board()]))
    assert planes.shape == (1, NUM_INPUT_PLANES, 8, 8) == (1, 18, 8, 8)
    assert planes.dtype == np.float32
    p = planes[0]
    np.testing.assert_array_equal(p[0, 1], np.ones(8))  # mover's pawns on the 2nd rank
    assert p[0].sum() == 8
    np.testing.assert_array_equal(p[6, 6], np.ones(8))  # opponent's pawns on the 7th rank
    assert p[1, 0, 1] == p[1, 0, 6] == 1 and p[1].sum() == 2  # knights b1 g1
    assert p[2, 0, 2] == p[2, 0, 5] == 1 and p[2].sum() == 2  # bishops c1 f1
    assert p[3, 0, 0] == p[3, 0, 7] == 1 and p[3].sum() == 2  # rooks a1 h1
    assert p[4, 0, 3] == 1 and p[4].sum() == 1  # queen d1
    assert p[5, 0, 4] == 1 and p[5].sum() == 1  # king e1
    assert p[11, 7, 4] == 1 and p[11].sum() == 1  # opponent king e8
    assert p[10, 7, 3] == 1 and p[10].sum() == 1  # opponent queen d8
    np.testing.assert_array_equal(p[12:16], np.ones((4, 8, 8)))  # all castling rights
    assert p[16].sum() == 0 and p[17].sum() == 0  # no en passant, halfmove clock 0


def test_black_to_move_planes_by_hand() -> None:
    board = chess.Board()
    board.push_uci("e2e4")  # Black to move, ep square e3
    board.halfmove_clock = 50
    p = to_planes(encode_boards([board]))[0]
    np.testing.assert_array_equal(p[0, 1], np.ones(8))  # Black's own pawns, seen from Black's side
    assert p[5, 0, 4] == 1  # Black's king on e8 appears on the mover's first rank
    assert p[6, 4, 4] == 1 and p[6, 3, 4] == 0  # White's e4 pawn, mirrored to e5 (rank index 7 - 3)
    assert p[11, 7, 4] == 1  # White's king e1 mirrored to e8
    assert p[16].sum() == 1 and p[16, 5, 4] == 1  # en-passant target e3 is e6 from Black's side
    assert np.allclose(p[17], 0.5)


def test_castling_planes_follow_the_mover() -> None:
    board = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R b Kq - 0 1")
    p = to_planes(encode_boards([board]))[0]
    # Black to move: mover (Black) has queen side only, opponent (White) king side only.
    assert [p[12 + i, 0, 0] for i in range(4)] == [0, 1, 1, 0]


def test_piece_planes_sum_to_piece_count() -> None:
    boards = [b for seed in range(5) for b in _random_game(seed, 80)] + [chess.Board(f) for f in SPECIAL_FENS]
    planes = to_planes(encode_boards(boards))
    assert planes.shape == (len(boards), 18, 8, 8)
    np.testing.assert_array_equal(planes[:, :12].sum(axis=(1, 2, 3)), [len(b.piece_map()) for b in boards])
    # Each piece plane counts that piece kind of that side.
    for board, p in zip(boards, planes):
        own, opponent = board.turn, not board.turn
        for plane, piece_type in enumerate(chess.PIECE_TYPES):
            assert p[plane].sum() == len(board.pieces(piece_type, own))
            assert p[plane + 6].sum() == len(board.pieces(piece_type, opponent))


def test_mirror_symmetry_of_planes() -> None:
    for board in _random_game(7):
        if board.turn == chess.BLACK:
            np.testing.assert_array_equal(to_planes(encode_boards([board])), to_planes(encode_boards([board.mirror()])))


def test_empty_batch() -> None:
    encoded = encode_boards([])
    assert len(encoded) == 0
    assert to_planes(encoded).shape == (0, 18, 8, 8)


def test_halfmove_clock_is_capped() -> None:
    board = chess.Board("8/8/8/3k4/8/8/8/3K4 w - - 300 200")
    encoded = encode_boards([board])
    assert encoded.halfmove_clock[0] == 255


# ---------------------------------------------------------------------------------------------
# errors


def test_king_promotion_is_not_an_action() -> None:
    with pytest.raises(ActionSpaceError, match="e7e8k"):
        move_to_action(chess.Move(chess.E7, chess.E8, promotion=chess.KING), chess.WHITE)
    with pytest.raises(ActionSpaceError):
        move_to_action(chess.Move(chess.E2, chess.E1, promotion=chess.PAWN), chess.BLACK)


def test_drop_is_not_an_action() -> None:
    with pytest.raises(ActionSpaceError, match="N@e4"):
        move_to_action(chess.Move(chess.E4, chess.E4, drop=chess.KNIGHT), chess.WHITE)


def test_null_and_impossible_geometry_are_not_actions() -> None:
    with pytest.raises(ActionSpaceError):
        move_to_action(chess.Move.null(), chess.WHITE)
    with pytest.raises(ActionSpaceError, match="a1b4"):
        move_to_action(chess.Move.from_uci("a1b4"), chess.WHITE)
    with pytest.raises(ActionSpaceError):  # underpromotion from the wrong rank
        move_to_action(chess.Move.from_uci("a6a7n"), chess.WHITE)


@pytest.mark.parametrize("action", [-1, NUM_ACTIONS, 1858, 10**6])
def test_action_to_move_out_of_range(action: int) -> None:
    with pytest.raises(ActionSpaceError, match=str(action)):
        action_to_move(action, chess.Board())


def test_uci_moves_to_actions_rejects_non_moves() -> None:
    with pytest.raises(ActionSpaceError, match="a1b4"):
        uci_moves_to_actions(
            np.array([chess.E2, chess.A1]), np.array([chess.E4, chess.B4]), np.array([0, 0]), np.array([True, True])
        )


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_packed_legal_masks_equal_the_legal_moves(seed: int) -> None:
    # Positions of random games plus the special ones (castling, en passant, promotions), both colours.
    boards = _random_game(seed) + [chess.Board(fen) for fen in SPECIAL_FENS]
    packed = packed_legal_masks(encode_boards(boards))
    assert packed.dtype == np.uint8 and packed.shape == (len(boards), (NUM_ACTIONS + 7) // 8)
    expected = np.stack([legal_action_mask(b) for b in boards])
    np.testing.assert_array_equal(unpack_legal_masks(packed), expected)


def test_decode_rejects_overlapping_pieces() -> None:
    encoded = encode_boards([chess.Board()])
    encoded.pieces[0, 6] |= encoded.pieces[0, 0]  # an opponent pawn on each of the mover's pawns
    with pytest.raises(ValueError, match="two pieces on one square"):
        decode_board(encoded, 0)
