"""The UCI engine: a full game against Stockfish through python-chess's engine client."""

from __future__ import annotations

import io
import sys

import chess
import chess.engine
import pytest

from simagents.models import NetworkConfig, TrainConfig, load_simulator_and_vocabulary, train_simulator
from simagents.models.policy import SimulatorPolicy
from simagents.uci import UciEngine


@pytest.fixture(scope="module")
def checkpoint(tiny_positions, tmp_path_factory):
    out = tmp_path_factory.mktemp("uci_sim")
    train_simulator(
        tiny_positions,
        out,
        NetworkConfig(num_prompts=4, hidden=32),
        TrainConfig(
            seed=0, steps=10, batch_size=64, warmup_steps=2, eval_every=5, checkpoint_every=5, val_positions=100
        ),
        progress=False,
    )
    return out / "best.pt"


def test_protocol_in_process(checkpoint):
    model, vocab = load_simulator_and_vocabulary(checkpoint)
    engine = UciEngine(SimulatorPolicy(model, vocab, argmax=True), "greedy", "none", seed=0)
    out = io.StringIO()
    engine.run(
        io.StringIO(
            "uci\nisready\nposition startpos moves e2e4\ngo nodes 1\n"
            "position fen 7k/8/8/8/8/8/8/K6q w - - 0 1\ngo\nquit\n"
        ),
        out,
    )
    lines = out.getvalue().splitlines()
    assert "uciok" in lines and "readyok" in lines
    moves = [line.split()[1] for line in lines if line.startswith("bestmove")]
    board = chess.Board()
    board.push_uci("e2e4")
    assert chess.Move.from_uci(moves[0]) in board.legal_moves
    assert chess.Move.from_uci(moves[1]) in chess.Board("7k/8/8/8/8/8/8/K6q w - - 0 1").legal_moves
    with pytest.raises(ValueError, match="unknown prompt"):
        UciEngine(SimulatorPolicy(model, vocab), "sf9999", "none", seed=0)


@pytest.mark.stockfish
def test_full_game_against_stockfish(checkpoint, stockfish):
    command = [sys.executable, "-m", "simagents", "uci", "--checkpoint", str(checkpoint), "--prompt", "random"]
    simulator = chess.engine.SimpleEngine.popen_uci(command)
    opponent = chess.engine.SimpleEngine.popen_uci(str(stockfish))
    try:
        assert "simagents" in simulator.id["name"]
        board = chess.Board()
        while not board.is_game_over() and board.ply() < 300:
            engine = simulator if board.turn == chess.WHITE else opponent
            move = engine.play(board, chess.engine.Limit(nodes=50)).move
            assert move in board.legal_moves
            board.push(move)
        assert board.is_game_over() or board.ply() == 300
    finally:
        simulator.quit()
        opponent.quit()
