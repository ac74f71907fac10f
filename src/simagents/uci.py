"""The simulator as a UCI engine: any chess GUI or lichess-bot can play against a persona.

``simagents uci --checkpoint best.pt [--prompt sf1350] [--temperature T | --argmax]`` reads UCI
commands on standard input and answers on standard output. It plays the move distribution of
the prompted persona (sampled, seeded by ``--seed``, or the most likely move with ``--argmax``).
The command line only sets the starting values of the engine's UCI options, which a GUI can
change between moves with ``setoption`` (python-chess: ``engine.configure({...})``):

``Prompt`` (combo over the checkpoint's prompt vocabulary)
    the persona the engine plays as, whichever colour it has (``--prompt``, default ``none``:
    the unconditional simulator, the population's mixture);
``OpponentPrompt`` (combo, the same values)
    the persona the engine assumes its opponent is (``--opponent-prompt``, default ``none``);
``Temperature`` (string holding a positive, finite decimal number)
    divides the logits before sampling; 1 is the model's own distribution (``--temperature``);
``Argmax`` (check)
    play the most likely move instead of sampling; ``Temperature`` is then ignored (``--argmax``).

The names follow Maia-3's convention of one option per side (its ``SelfElo``/``OppoElo`` are
ratings; here the prompts are persona tokens, so they are named for what they are). A value the
engine cannot use is refused with an ``info string`` and the old value is kept. Options are
declared in one table (:meth:`UciEngine._declare_options`), so a history-length ``spin`` can be
one more entry there once the simulator reads history (it does not yet).

A ``position`` command that cannot be parsed, names an illegal move or reaches an impossible
position leaves the engine with no position: every ``go`` is answered ``bestmove 0000`` with an
``info string`` saying why, until a valid ``position`` command (or ``ucinewgame``, which sets
the start position) arrives. The engine never plays from a stale position and never emits an
illegal move.

Search limits in ``go`` are accepted and ignored: the simulator does not search. The network
runs on ``--device`` (default the CPU: one board a move gains nothing from a GPU) in
``--precision``, through :mod:`simagents.models.device`. User documentation: ``docs/uci.md``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import chess
import numpy as np

from . import __version__
from .models import load_simulator_and_vocabulary, resolve_compute
from .models.simulator_policy import SimulatorPolicy
from .prompts import NONE_TOKEN

#: Words a GUI splits ``option`` and ``setoption`` lines on: a combo value with one of them as a
#: word, or with whitespace other than single spaces between words, would be read back wrong, so
#: it is not offered.
_UCI_KEYWORDS = frozenset({"name", "type", "default", "min", "max", "var", "value"})


def _combo_safe(token: str) -> bool:
    """Whether ``token`` survives a round trip through an ``option ... var`` and a ``setoption`` line."""
    words = token.split()
    return bool(words) and token == " ".join(words) and not _UCI_KEYWORDS & {word.lower() for word in words}


@dataclass(frozen=True)
class UciOption:
    """One UCI option: how ``uci`` advertises it and how ``setoption`` applies a value.

    ``get`` returns the current value as ``setoption`` would write it. ``apply`` gets a value as
    the GUI wrote it (words joined by single spaces) and either sets it or raises
    :class:`ValueError` with a one-line reason, leaving the old value in place. ``default`` is the
    value the engine started with (from the command line). ``choices`` are a ``combo``'s values;
    ``minimum``/``maximum`` bound a ``spin``.
    """

    name: str
    kind: Literal["check", "combo", "spin", "string"]
    default: str
    get: Callable[[], str]
    apply: Callable[[str], None]
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def declaration(self) -> str:
        """The ``option`` line of the UCI handshake."""
        parts = [f"option name {self.name} type {self.kind} default {self.default}"]
        if self.kind == "spin":
            parts.append(f"min {self.minimum} max {self.maximum}")
        parts += [f"var {choice}" for choice in self.choices]
        return " ".join(parts)


def parse_temperature(value: str) -> float:
    """A ``Temperature`` value: a positive, finite decimal number (``ValueError`` otherwise)."""
    try:
        temperature = float(value)
    except ValueError:
        raise ValueError(f"expected a positive number, got {value!r}") from None
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"expected a positive, finite number, got {value!r}")
    return temperature


def parse_check(value: str) -> bool:
    """A ``check`` value: ``true`` or ``false``, in any case (``ValueError`` otherwise)."""
    if value.lower() not in ("true", "false"):
        raise ValueError(f"expected true or false, got {value!r}")
    return value.lower() == "true"


def parse_position(args: Sequence[str]) -> chess.Board:
    """The board of ``position startpos|fen <FEN> [moves <m1> ...]`` (the words after ``position``).

    Raises :class:`ValueError` with a one-line reason for anything else: a missing or unknown
    keyword, a malformed FEN, a malformed or illegal move, or a position that no legal game
    reaches (python-chess's :meth:`chess.Board.status`: no king, a side not to move in check, ...),
    checked after every move so that no move is played from an impossible position.
    """
    if not args:
        raise ValueError("expected 'startpos' or 'fen <FEN>' after 'position'")
    moves_at = args.index("moves") if "moves" in args else len(args)
    if args[0] == "startpos":
        if moves_at != 1:
            raise ValueError(f"expected 'moves' or nothing after 'startpos', got {args[1]!r}")
        board = chess.Board()
    elif args[0] == "fen":
        board = chess.Board(" ".join(args[1:moves_at]))  # ValueError names what is wrong with the FEN
    else:
        raise ValueError(f"expected 'startpos' or 'fen', got {args[0]!r}")
    _check_valid(board, "in the FEN")
    for uci in args[moves_at + 1 :]:
        board.push_uci(uci)  # IllegalMoveError, InvalidMoveError: both ValueErrors naming the move
        _check_valid(board, f"after move {uci}")
    return board


def _check_valid(board: chess.Board, where: str) -> None:
    """Raise :class:`ValueError` naming python-chess's status flags if ``board`` is impossible."""
    status = board.status()
    if status != chess.STATUS_VALID:
        problems = ", ".join(str(flag.name).lower() for flag in chess.Status if flag and flag & status)
        raise ValueError(f"impossible position {where} ({problems}): {board.fen()}")


class UciEngine:
    """A minimal UCI protocol loop around a :class:`~simagents.models.simulator_policy.SimulatorPolicy`.

    ``prompt`` and ``opponent_prompt`` are the starting values of the ``Prompt`` and
    ``OpponentPrompt`` options (tokens of the policy's vocabulary); the policy's own
    ``temperature`` and ``argmax`` are those of ``Temperature`` and ``Argmax``, and ``setoption``
    changes them on the policy. ``seed`` seeds the one generator every sampled move draws from.
    """

    def __init__(
        self, policy: SimulatorPolicy, prompt: str = NONE_TOKEN, opponent_prompt: str = NONE_TOKEN, seed: int = 0
    ) -> None:
        # Combo values in vocabulary order (``none`` and ``unknown`` first), without the tokens a
        # GUI could not send back intact.
        self.prompts = tuple(token for token in policy.vocabulary if _combo_safe(token))
        for token in (prompt, opponent_prompt):
            if token not in policy.vocabulary:
                raise ValueError(f"unknown prompt {token!r}; this checkpoint knows {sorted(policy.vocabulary)}")
            if token not in self.prompts:
                raise ValueError(f"prompt {token!r} cannot be a UCI combo value (a space run or a UCI keyword in it)")
        self.policy, self.prompt, self.opponent_prompt = policy, prompt, opponent_prompt
        self.rng = np.random.default_rng(seed)
        #: The position ``go`` plays from; None after a ``position`` command that was refused.
        self.board: chess.Board | None = chess.Board()
        #: Why there is no position (the refused command's reason), for ``go``'s ``info string``.
        self.no_position_reason = ""
        self.options = {option.name.lower(): option for option in self._declare_options()}

    def _declare_options(self) -> list[UciOption]:
        """Every UCI option, in the order ``uci`` advertises them. A new option is one more entry
        (a history length would be ``UciOption("History", "spin", ..., minimum=0, maximum=...)``)."""

        def prompt() -> str:
            return self.prompt

        def opponent_prompt() -> str:
            return self.opponent_prompt

        def temperature() -> str:
            return f"{self.policy.temperature:g}"

        def argmax() -> str:
            return str(self.policy.argmax).lower()

        return [
            UciOption("Prompt", "combo", prompt(), prompt, self._set_prompt, choices=self.prompts),
            UciOption(
                "OpponentPrompt", "combo", opponent_prompt(), opponent_prompt, self._set_opponent_prompt, self.prompts
            ),
            UciOption("Temperature", "string", temperature(), temperature, self._set_temperature),
            UciOption("Argmax", "check", argmax(), argmax, self._set_argmax),
        ]

    def _known_prompt(self, value: str) -> str:
        if value not in self.prompts:
            raise ValueError(f"unknown prompt {value!r}; this checkpoint knows {', '.join(self.prompts)}")
        return value

    def _set_prompt(self, value: str) -> None:
        self.prompt = self._known_prompt(value)

    def _set_opponent_prompt(self, value: str) -> None:
        self.opponent_prompt = self._known_prompt(value)

    def _set_temperature(self, value: str) -> None:
        self.policy.temperature = parse_temperature(value)

    def _set_argmax(self, value: str) -> None:
        self.policy.argmax = parse_check(value)

    def setoption(self, args: Sequence[str]) -> str | None:
        """Apply ``setoption name <id> [value <x>]`` (the words after ``setoption``).

        Returns None when applied, else the ``info string`` text saying why not (an unknown
        option, a missing or unusable value); the option then keeps its old value. Option names
        are case-insensitive, as the protocol asks; values are case-sensitive (prompt tokens are).
        """
        if not args or args[0] != "name":
            return "setoption ignored: expected 'setoption name <id> value <x>'"
        value_at = args.index("value") if "value" in args else len(args)
        name, value = " ".join(args[1:value_at]), " ".join(args[value_at + 1 :])
        option = self.options.get(name.lower())
        if option is None:
            known = ", ".join(o.name for o in self.options.values())
            return f"setoption ignored: unknown option {name!r}; this engine has {known}"
        if value_at == len(args):
            return f"setoption ignored: {option.name} needs a value"
        try:
            option.apply(value)
        except ValueError as error:
            return f"setoption {option.name} refused: {error}; it stays {option.get()}"
        return None

    def position(self, args: Sequence[str]) -> str | None:
        """Apply ``position ...`` (the words after ``position``). Returns None when the position is
        set, else the ``info string`` text; the engine then has no position until a valid one."""
        try:
            self.board = parse_position(args)
        except ValueError as error:
            self.board = None
            self.no_position_reason = f"the last position command was refused ({error})"
            return f"bad position: {error}; go answers bestmove 0000 until a valid position command"
        return None

    def best_move(self) -> chess.Move | None:
        """The move for the current position: sampled (or the most likely, with ``Argmax``) from
        the simulator's distribution; None when there is no position or the game is over."""
        if self.board is None or self.board.is_game_over():
            return None
        dist = self.policy.distributions([self.board], [self.prompt], [self.opponent_prompt])[0]
        return dist.sample(self.rng)

    def go(self) -> list[str]:
        """The lines that answer ``go``: ``bestmove`` last, after an ``info string`` when it is 0000."""
        if self.board is None:
            return [
                f"info string no position: {self.no_position_reason}; send a valid position command",
                "bestmove 0000",
            ]
        move = self.best_move()
        if move is None:
            outcome = self.board.outcome()
            why = outcome.termination.name.lower() if outcome else "over"
            return [f"info string the game is over ({why}): no move to play", "bestmove 0000"]
        if move not in self.board.legal_moves:  # the distribution covers legal moves only: a bug
            return [f"info string internal error: {move.uci()} is illegal in {self.board.fen()}", "bestmove 0000"]
        return [f"bestmove {move.uci()}"]

    def run(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        """Answer UCI commands from ``stdin`` on ``stdout`` until ``quit`` or the end of input."""

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
                for option in self.options.values():
                    say(option.declaration())
                say("uciok")
            elif command == "isready":
                say("readyok")
            elif command == "setoption":
                problem = self.setoption(args)
                if problem:
                    say(f"info string {problem}")
            elif command == "ucinewgame":
                self.board = chess.Board()
            elif command == "position":
                problem = self.position(args)
                if problem:
                    say(f"info string {problem}")
            elif command == "go":
                for line in self.go():
                    say(line)
            elif command == "quit":
                return
            # Other commands (stop, ponderhit, debug, register) need no answer from an engine that
            # answers every go at once.


def main(
    checkpoint: Path,
    prompt: str = NONE_TOKEN,
    opponent_prompt: str = NONE_TOKEN,
    temperature: float = 1.0,
    argmax: bool = False,
    seed: int = 0,
    device: str = "cpu",
    precision: str = "auto",
) -> int:
    """Load ``checkpoint`` and speak UCI on standard input and output (the ``uci`` subcommand).

    The arguments are the starting values of the UCI options (see the module docstring);
    ``seed`` seeds move sampling; ``device`` and ``precision`` say where the network runs.
    """
    try:  # the same rule as the Temperature option, so the advertised default is a usable value
        parse_temperature(repr(temperature))
    except ValueError as error:
        raise ValueError(f"--temperature: {error}") from None
    compute = resolve_compute(device, precision)
    model, vocabulary = load_simulator_and_vocabulary(checkpoint, compute)
    policy = SimulatorPolicy(model, vocabulary, temperature=temperature, argmax=argmax, compute=compute)
    UciEngine(policy, prompt, opponent_prompt, seed).run()
    return 0
