"""The simulator as a UCI engine: any chess GUI or lichess-bot can play against a persona.

``simagents uci --checkpoint best.pt --prompt sf1350 [--temperature T | --argmax]`` reads UCI
commands on standard input and answers on standard output. It plays the move distribution of
the prompted persona (sampled, seeded by ``--seed``, or the most likely move with ``--argmax``);
the opponent's prompt is ``--opponent-prompt`` (default ``none``, the population mixture).
Search limits in ``go`` are accepted and ignored: the simulator does not search. The network
runs on ``--device`` (default the CPU: one board a move gains nothing from a GPU) in
``--precision``, through :mod:`simagents.models.device`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import chess
import numpy as np

from . import __version__
from .models import load_simulator_and_vocabulary, resolve_compute
from .models.policy import SimulatorPolicy


class UciEngine:
    """A minimal UCI protocol loop around a :class:`~simagents.models.policy.SimulatorPolicy`."""

    def __init__(self, policy: SimulatorPolicy, prompt: str, opponent_prompt: str, seed: int) -> None:
        for token in (prompt, opponent_prompt):
            if token not in policy.vocabulary:
                raise ValueError(f"unknown prompt {token!r}; this checkpoint knows {sorted(policy.vocabulary)}")
        self.policy, self.prompt, self.opponent_prompt = policy, prompt, opponent_prompt
        self.rng = np.random.default_rng(seed)
        self.board = chess.Board()

    def _position(self, args: list[str]) -> None:
        if not args:
            return
        if args[0] == "startpos":
            board, rest = chess.Board(), args[1:]
        elif args[0] == "fen":
            fen_end = args.index("moves") if "moves" in args else len(args)
            board, rest = chess.Board(" ".join(args[1:fen_end])), args[fen_end:]
        else:
            return
        if rest and rest[0] == "moves":
            for uci in rest[1:]:
                board.push_uci(uci)
        self.board = board

    def best_move(self) -> chess.Move | None:
        if self.board.is_game_over():
            return None
        dist = self.policy.distributions([self.board], [self.prompt], [self.opponent_prompt])[0]
        return dist.sample(self.rng)

    def run(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        def say(line: str) -> None:
            stdout.write(line + "\n")
            stdout.flush()

        for raw in stdin:
            words = raw.split()
            if not words:
                continue
            command, args = words[0], words[1:]
            if command == "uci":
                say(f"id name simagents {__version__} ({self.prompt})")
                say("id author the simagents authors")
                say("uciok")
            elif command == "isready":
                say("readyok")
            elif command == "ucinewgame":
                self.board = chess.Board()
            elif command == "position":
                try:
                    self._position(args)
                except ValueError as error:
                    say(f"info string bad position: {error}")
            elif command == "go":
                move = self.best_move()
                say(f"bestmove {move.uci() if move else '0000'}")
            elif command == "quit":
                return
            # Other commands (setoption, stop, ponderhit, debug) need no answer from a non-searching engine.


def main(
    checkpoint: Path,
    prompt: str,
    opponent_prompt: str = "none",
    temperature: float = 1.0,
    argmax: bool = False,
    seed: int = 0,
    device: str = "cpu",
    precision: str = "auto",
) -> int:
    compute = resolve_compute(device, precision)
    model, vocabulary = load_simulator_and_vocabulary(checkpoint, compute)
    policy = SimulatorPolicy(model, vocabulary, temperature=temperature, argmax=argmax, compute=compute)
    UciEngine(policy, prompt, opponent_prompt, seed).run()
    return 0
