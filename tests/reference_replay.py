"""The python-chess reference of the lean replay: the slow oracle the fast paths must match.

Used by the tests (tests/test_fast_paths.py) and by the ingestion benchmark (benchmarks/ingest.py)
as "the same pipeline on python-chess". Not part of the package: nothing in the workflow runs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess

from simagents.encoding.board import RawBoard, raw_board

_PROMOTION_CODES = {"": 0, "q": 0, "n": 1, "b": 2, "r": 3}


def replay_uci_python_chess(
    moves: Sequence[str],
    skip_plies: int = 0,
    raws: list[RawBoard] | None = None,
    from_squares: list[int] | None = None,
    to_squares: list[int] | None = None,
    promotion_codes: list[int] | None = None,
) -> list[RawBoard]:
    """:func:`simagents.encoding.replay.replay_uci` on python-chess (``push`` + ``raw_board``).

    It also refuses any move that is not pseudo-legal, which the lean replay does not check.
    """
    raws = [] if raws is None else raws
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
                promotion_codes.append(_PROMOTION_CODES[uci[4:]])
        board.push(move)
    return raws
