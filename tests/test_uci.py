"""The UCI engine: the protocol, its options, refused positions, and games through python-chess's client."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import chess
import chess.engine
import numpy as np
import pytest

from simagents.models import NetworkConfig, TrainConfig, load_simulator_and_vocabulary, train_simulator
from simagents.models.simulator_policy import SimulatorPolicy
from simagents.uci import UciEngine, _combo_safe


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


def _uci_command(checkpoint: Path, *flags: str) -> list[str]:
    """The real ``simagents uci`` subprocess, as a GUI would start it."""
    return [sys.executable, "-m", "simagents", "uci", "--checkpoint", str(checkpoint), *flags]


def _talk(engine: UciEngine, commands: str) -> list[str]:
    out = io.StringIO()
    engine.run(io.StringIO(commands), out)
    return out.getvalue().splitlines()


def _argmax_move(policy: SimulatorPolicy, board: chess.Board, prompt: str, opponent_prompt: str) -> chess.Move:
    dist = policy.distributions([board], [prompt], [opponent_prompt])[0]
    return dist.moves[int(np.argmax(dist.probs))]


def test_options_advertised_and_refused_in_process(tiny_simulator: Path) -> None:
    model, vocab = load_simulator_and_vocabulary(tiny_simulator)
    engine = UciEngine(SimulatorPolicy(model, vocab), seed=0)
    lines = _talk(engine, "uci\n")
    prompts = " ".join(f"var {token}" for token in vocab)  # none, unknown, random, greedy
    assert f"option name Prompt type combo default none {prompts}" in lines
    assert f"option name OpponentPrompt type combo default none {prompts}" in lines
    assert "option name Temperature type string default 1" in lines
    assert "option name Argmax type check default false" in lines
    assert lines[-1] == "uciok"

    # Applied: option names are case-insensitive (the protocol says so); nothing is printed.
    assert _talk(engine, "setoption name prompt value greedy\nsetoption name OpponentPrompt value random\n") == []
    assert _talk(engine, "setoption name Temperature value 0.25\nsetoption name Argmax value true\n") == []
    assert (engine.prompt, engine.opponent_prompt, engine.policy.temperature, engine.policy.argmax) == (
        "greedy",
        "random",
        0.25,
        True,
    )

    # Refused, each with one info string, and the old value kept.
    refusals = {
        "setoption name Prompt value sf9999": "setoption Prompt refused: unknown prompt 'sf9999'",
        "setoption name OpponentPrompt value Greedy": "setoption OpponentPrompt refused: unknown prompt 'Greedy'",
        "setoption name Temperature value 0": "setoption Temperature refused: expected a positive, finite number",
        "setoption name Temperature value nan": "setoption Temperature refused: expected a positive, finite number",
        "setoption name Temperature value warm": "setoption Temperature refused: expected a positive number",
        "setoption name Argmax value maybe": "setoption Argmax refused: expected true or false",
        "setoption name Prompt": "setoption ignored: Prompt needs a value",
        "setoption name History value 8": "setoption ignored: unknown option 'History'",
        "setoption Prompt greedy": "setoption ignored: expected 'setoption name <id> value <x>'",
    }
    for command, reason in refusals.items():
        (line,) = _talk(engine, command + "\n")
        assert line.startswith(f"info string {reason}"), line
    (line,) = _talk(engine, "setoption name Prompt value sf9999\n")
    assert line.endswith("it stays greedy")
    assert (engine.prompt, engine.opponent_prompt, engine.policy.temperature, engine.policy.argmax) == (
        "greedy",
        "random",
        0.25,
        True,
    )


BAD_POSITIONS = {
    "position": "expected 'startpos' or 'fen <FEN>'",
    "position startpos moves e2e5": "illegal uci: 'e2e5'",
    "position startpos moves e2e4 zz": "expected uci string to be of length 4 or 5",
    "position startpos e2e4": "expected 'moves' or nothing after 'startpos', got 'e2e4'",
    "position kiwipete": "expected 'startpos' or 'fen', got 'kiwipete'",
    "position fen": "empty fen",
    "position fen xx w - - 0 1": "expected 8 rows",
    "position fen 8/8/8/8/8/8/8/8 w - - 0 1": "impossible position in the FEN (no_white_king, no_black_king, empty)",
    # A null move while in check leaves the checked king capturable: refused at that move.
    "position startpos moves e2e4 f7f6 d1h5 0000": "impossible position after move 0000 (opposite_check)",
}


@pytest.mark.parametrize("command", list(BAD_POSITIONS))
def test_bad_position_keeps_no_stale_position(tiny_simulator: Path, command: str) -> None:
    model, vocab = load_simulator_and_vocabulary(tiny_simulator)
    engine = UciEngine(SimulatorPolicy(model, vocab, argmax=True), "greedy", "random", seed=0)
    lines = _talk(engine, f"position startpos moves e2e4\ngo\n{command}\ngo\nisready\ngo\n")
    assert lines[0].startswith("bestmove ") and lines[0] != "bestmove 0000"  # a move for 1. e4 first
    assert lines[1].startswith(f"info string bad position: {BAD_POSITIONS[command]}"), lines[1]
    # Every go until a valid position: an info string saying why, then the null move.
    no_position = f"info string no position: the last position command was refused ({BAD_POSITIONS[command]}"
    assert lines[2].startswith(no_position), lines[2]
    assert lines[3] == "bestmove 0000"
    assert lines[4] == "readyok"
    assert lines[5].startswith(no_position) and lines[6] == "bestmove 0000"
    assert len(lines) == 7
    # A valid position (or ucinewgame: the start position) brings legal moves back.
    fen = "7k/8/8/8/8/8/8/K6q w - - 0 1"
    for recovery, board in ((f"position fen {fen}", chess.Board(fen)), ("ucinewgame", chess.Board())):
        _talk(engine, command + "\n")
        (line,) = _talk(engine, recovery + "\ngo\n")
        assert chess.Move.from_uci(line.split()[1]) in board.legal_moves


def test_game_over_position_answers_null_move(tiny_simulator: Path) -> None:
    model, vocab = load_simulator_and_vocabulary(tiny_simulator)
    engine = UciEngine(SimulatorPolicy(model, vocab), seed=0)
    lines = _talk(engine, "position startpos moves f2f3 e7e5 g2g4 d8h4\ngo\n")
    assert lines == ["info string the game is over (checkmate): no move to play", "bestmove 0000"]


def test_raw_protocol_through_the_command(tiny_simulator: Path) -> None:
    """The subprocess itself (as lichess-bot starts it, no --prompt): a refused combo value and a
    refused position, written as raw lines (python-chess would refuse the value before sending)."""
    commands = (
        "uci\nsetoption name Prompt value greedy\nsetoption name Prompt value sf9999\n"
        "position startpos moves e2e4 e7e5 e1e3\ngo\nposition startpos\ngo\nquit\n"
    )
    result = subprocess.run(
        _uci_command(tiny_simulator), input=commands, capture_output=True, text=True, timeout=120, check=True
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("id name simagents") and "uciok" in lines
    after = lines[lines.index("uciok") + 1 :]
    assert after[0].startswith("info string setoption Prompt refused: unknown prompt 'sf9999'")
    assert after[0].endswith("it stays greedy")
    assert after[1].startswith("info string bad position: illegal uci: 'e1e3'")
    assert after[2].startswith("info string no position:") and after[3] == "bestmove 0000"
    assert chess.Move.from_uci(after[4].split()[1]) in chess.Board().legal_moves
    assert len(after) == 5


def test_persona_changed_mid_session_through_python_chess(tiny_simulator: Path) -> None:
    """Two games in one engine session through python-chess's client, the persona changed between
    them (new options, ucinewgame, new game): each engine move is the prompted argmax, the change is
    visible in the moves, and with Argmax off the Temperature shapes the sampling."""
    model, vocab = load_simulator_and_vocabulary(tiny_simulator)
    reference = SimulatorPolicy(model, vocab, argmax=True)
    engine = chess.engine.SimpleEngine.popen_uci(_uci_command(tiny_simulator, "--seed", "3"))
    try:
        assert engine.options["Prompt"].type == "combo" and engine.options["Prompt"].default == "none"
        assert (engine.options["Prompt"].var or []) == list(vocab)
        assert (engine.options["OpponentPrompt"].var or []) == list(vocab)
        assert engine.options["Argmax"].default is False
        with pytest.raises(chess.engine.EngineError, match="invalid value for combo option"):
            engine.configure({"Prompt": "sf9999"})  # python-chess checks combo values itself

        rng = np.random.default_rng(0)
        disagreements = 0
        for game, (prompt, opponent) in enumerate((("greedy", "random"), ("random", "greedy"))):
            engine.configure({"Prompt": prompt, "OpponentPrompt": opponent, "Argmax": True})
            board = chess.Board()
            while not board.is_game_over() and board.ply() < 40:
                if board.turn == chess.WHITE:  # the engine; Black is a seeded random mover
                    # game= changes: python-chess sends ucinewgame before the first move of each game
                    move = engine.play(board, chess.engine.Limit(nodes=1), game=game).move
                    assert move == _argmax_move(reference, board, prompt, opponent)
                    disagreements += move != _argmax_move(reference, board, opponent, prompt)
                else:
                    legal = list(board.legal_moves)
                    move = legal[int(rng.integers(len(legal)))]
                board.push(move)
            assert board.ply() == 40 or board.is_game_over()
        assert disagreements > 0  # the second game's moves are not what the first persona plays

        board = chess.Board()
        argmax_moves = {engine.play(board, chess.engine.Limit(nodes=1), game="g3").move for _ in range(10)}
        assert argmax_moves == {_argmax_move(reference, board, "random", "greedy")}
        engine.configure({"Argmax": False, "Temperature": "0.01"})  # all but one move ~0: the argmax
        assert {engine.play(board, chess.engine.Limit(nodes=1), game="g3").move for _ in range(10)} == argmax_moves
        engine.configure({"Temperature": "100"})  # close to uniform over the 20 opening moves
        sampled = {engine.play(board, chess.engine.Limit(nodes=1), game="g3").move for _ in range(30)}
        assert len(sampled) >= 8 and all(move is not None and move in board.legal_moves for move in sampled)
    finally:
        engine.quit()


def test_combo_values_that_a_gui_could_not_send_back_are_not_offered() -> None:
    assert _combo_safe("sf1350") and _combo_safe("r>=2500") and _combo_safe("Magnus Carlsen")
    for token in ("", " x", "x ", "a  b", "a\tb", "max", "the var"):
        assert not _combo_safe(token), token
