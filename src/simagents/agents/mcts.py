"""AlphaZero-style PUCT Monte-Carlo tree search over python-chess boards, batched across games.

One tree per root board; all trees advance together. A *simulation step* walks every tree from
its root to a leaf, sends all the leaves that are not finished games to the evaluator in **one**
:meth:`Evaluator.evaluate` call, expands them and backs their values up. A neural evaluator
therefore sees batches of up to ``len(boards)`` positions, one network call per step.

Conventions
-----------
* **Point of view.** Every value is in [-1, 1] and belongs to the *side to move* in the position
  it describes (+1: the side to move wins). Backing up negates at every ply (negamax): the edge
  statistics of a node are kept from the point of view of the player choosing the move there.
* **Selection (PUCT).** At a node with ``N`` visits (its own expansion counts as one visit, so
  ``N = 1 + sum(n)``) the child maximising ``Q(a) + c_puct * P(a) * sqrt(N) / (1 + n(a))`` is
  taken, ties to the lowest index (the evaluator's move order). Using ``sqrt(N)`` rather than
  ``sqrt(sum(n))`` makes the very first choice at a fresh node follow the prior instead of the
  first listed move.
* **First-play urgency.** An unvisited child's ``Q`` is the parent's current mean value (from the
  chooser's point of view), i.e. "no better and no worse than this position so far". With a
  value-0 evaluator this is 0, so every move of a node is tried once before any is tried twice.
* **Terminal leaves** get the exact :func:`terminal_value` and are never sent to the evaluator;
  a proven mate (Q = +1 for the chooser) is therefore found without any evaluator knowledge.
* **Root.** The roots are expanded in one extra evaluator call before the simulation steps, so
  the root moves' visit counts sum to exactly ``config.simulations`` (``simulations + 1``
  evaluator calls in all, fewer when at some step every leaf is a finished game). A root with a
  single legal move is not searched: its visits are ``[simulations]`` and its value is the
  evaluator's. A root must have a legal move; it is otherwise searched even if it is a claimable
  draw (the game runner decides claims, the search only chooses a move). Every root move is
  probed for the end of the game first: a root with a mate in one is not searched either, its
  visits go to the mating moves (shared evenly) and its value is +1, so a search of few
  simulations from a flat prior never misses a mate in one.
* **Randomness.** Only root Dirichlet noise is random, one draw per root. Pass a sequence of
  generators (one per board, e.g. each game's own) and tree ``i`` draws from ``rng[i]`` only, so
  a board's search is identical whichever other boards share the batch. Pass one generator and
  the trees draw from it in board order (tree 0 first), so only tree 0 is batch-independent; a
  single board with ``rng`` is the same as with ``[rng]``. With ``dirichlet_fraction == 0`` no
  generator is touched.
* **Boards.** The input boards are not modified. Each tree works on one copy of its root board
  (with its move stack, so repetitions with the game's history count) and pushes/pops moves along
  the selected path; no board is copied per node. The boards handed to the evaluator *are* these
  working boards: they are valid only during the call and must be returned unchanged.

Cost
----
Per simulation step and tree: ``O(depth)`` pushes/pops and PUCT selections (each ``O(b)``
vectorised over the ``b`` legal moves of a node), one :func:`terminal_value` on the new leaf
(``O(b)`` plus a scan of the move stack for repetitions), plus the evaluator's share. Memory:
one node per evaluated position, ``O(simulations * b)`` per tree. The tree is not reused
between moves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import chess
import numpy as np

from ..games import terminal_value

__all__ = [
    "Evaluator",
    "SearchConfig",
    "SearchResult",
    "UniformEvaluator",
    "search",
    "terminal_value",
]


class Evaluator(Protocol):
    """Prior and value for a batch of positions (a network, or a stand-in)."""

    def evaluate(self, boards: Sequence[chess.Board]) -> list[tuple[list[chess.Move], np.ndarray, float]]:
        """Per board (never a finished game): its legal moves, prior probabilities over them
        (float64 ``[len(moves)]``, summing to 1, in the same order) and the value in [-1, 1] for
        the side to move.

        The boards are the search's working boards: read them (pushing and popping is fine if
        they are left as found), do not keep references past the call.
        """
        ...


@dataclass(frozen=True)
class SearchConfig:
    """Search parameters (see the module docstring for the formulas)."""

    #: Simulations per root (per move played); the root moves' visits sum to this.
    simulations: int = 64
    #: Exploration constant of PUCT; larger trusts the prior longer.
    c_puct: float = 1.5
    #: Concentration of the root Dirichlet noise (0.3 is AlphaZero's chess value).
    dirichlet_alpha: float = 0.3
    #: Share of noise in the root priors, ``P = (1 - f) P + f Dir(alpha)``; 0 disables noise
    #: (evaluation play). First-play urgency is the parent's mean value, not a parameter.
    dirichlet_fraction: float = 0.25

    def __post_init__(self) -> None:
        if self.simulations < 1:
            raise ValueError(f"simulations must be >= 1, got {self.simulations}")
        if not self.c_puct > 0:
            raise ValueError(f"c_puct must be > 0, got {self.c_puct}")
        if not 0.0 <= self.dirichlet_fraction <= 1.0:
            raise ValueError(f"dirichlet_fraction must be in [0, 1], got {self.dirichlet_fraction}")
        if self.dirichlet_fraction > 0 and not self.dirichlet_alpha > 0:
            raise ValueError(f"dirichlet_alpha must be > 0, got {self.dirichlet_alpha}")


@dataclass
class SearchResult:
    """What one tree's search found at its root."""

    moves: list[chess.Move]  # the root's legal moves, in the evaluator's order
    visits: np.ndarray  # float64 [len(moves)]: visit counts, summing to config.simulations
    root_value: float  # mean value over all root visits, in [-1, 1], for the side to move at the root
    #: float64 [len(moves)]: the root priors the search used (the evaluator's, mixed with noise).
    priors: np.ndarray | None = field(default=None, repr=False)

    def policy(self, temperature: float) -> np.ndarray:
        """Move probabilities ``visits ** (1 / T)``, normalised (float64 ``[len(moves)]``).

        ``T = 1`` gives the visit shares (the AlphaZero training target); ``T = 0`` puts all mass
        on the most visited moves, split evenly among ties.
        """
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        visits = np.asarray(self.visits, dtype=np.float64)
        top = visits.max()
        if top <= 0:  # nothing visited (not produced by search); fall back to uniform
            uniform: np.ndarray = np.full(len(visits), 1.0 / len(visits))
            return uniform
        if temperature == 0:
            best = (visits == top).astype(np.float64)
            share: np.ndarray = best / best.sum()
            return share
        # Dividing by the maximum first keeps visits ** (1/T) from overflowing at small T.
        scaled = (visits / top) ** (1.0 / temperature)
        sharpened: np.ndarray = scaled / scaled.sum()
        return sharpened


class UniformEvaluator:
    """Uniform prior over the legal moves, value 0: a knowledge-free baseline and test stand-in."""

    def evaluate(self, boards: Sequence[chess.Board]) -> list[tuple[list[chess.Move], np.ndarray, float]]:
        out = []
        for board in boards:
            moves = list(board.legal_moves)
            out.append((moves, np.full(len(moves), 1.0 / len(moves)), 0.0))
        return out


class _Node:
    """One position in a tree. Edge statistics are from the point of view of the mover here."""

    __slots__ = ("child_value_sums", "child_visits", "children", "moves", "priors", "terminal", "value_sum", "visits")

    def __init__(self, moves: list[chess.Move], priors: np.ndarray, value: float, terminal: float | None = None):
        self.moves = moves
        self.priors = priors  # float64 [b]
        self.child_visits = np.zeros(len(moves))  # float64 [b]
        self.child_value_sums = np.zeros(len(moves))  # float64 [b], chooser's (this mover's) view
        self.children: list[_Node | None] = [None] * len(moves)
        self.visits = 1  # this node's own evaluation counts as a visit
        self.value_sum = value  # this mover's view
        self.terminal = terminal  # exact value if the game is over here, else None

    @staticmethod
    def finished(value: float) -> _Node:
        return _Node([], np.zeros(0), value, terminal=value)

    def select(self, c_puct: float) -> int:
        """Index of the PUCT-maximising move (ties: lowest index)."""
        n = self.child_visits
        q = np.full(len(n), self.value_sum / self.visits)  # first-play urgency: parent's mean
        np.divide(self.child_value_sums, n, out=q, where=n > 0)
        score = q + (c_puct * math.sqrt(self.visits)) * self.priors / (1.0 + n)
        return int(score.argmax())


def _backup(path: list[tuple[_Node, int]], value: float) -> None:
    """Add a leaf's ``value`` (leaf mover's view) to every edge on ``path``, negating per ply."""
    for node, a in reversed(path):
        value = -value
        node.child_visits[a] += 1.0
        node.child_value_sums[a] += value
        node.visits += 1
        node.value_sum += value


def _checked(evaluator: Evaluator, boards: list[chess.Board]) -> list[tuple[list[chess.Move], np.ndarray, float]]:
    out = evaluator.evaluate(boards)
    if len(out) != len(boards):
        raise ValueError(f"evaluator returned {len(out)} results for {len(boards)} boards")
    checked = []
    for (moves, priors, value), board in zip(out, boards):
        priors = np.asarray(priors, dtype=np.float64)
        if priors.shape != (len(moves),) or not moves:
            raise ValueError(f"evaluator gave {len(moves)} moves and priors of shape {priors.shape} for {board.fen()}")
        checked.append((list(moves), priors, float(value)))
    return checked


def _tree_rngs(rng: np.random.Generator | Sequence[np.random.Generator], n: int) -> list[np.random.Generator]:
    if isinstance(rng, np.random.Generator):
        return [rng] * n  # drawn from in board order
    rngs = list(rng)
    if len(rngs) != n:
        raise ValueError(f"got {len(rngs)} generators for {n} boards")
    return rngs


def search(
    boards: Sequence[chess.Board],
    evaluator: Evaluator,
    config: SearchConfig,
    rng: np.random.Generator | Sequence[np.random.Generator],
) -> list[SearchResult]:
    """Search every board's tree together; one result per board, in order.

    ``rng`` feeds the root Dirichlet noise only: one generator per board (tree ``i`` uses
    ``rng[i]``, making each board's result independent of the batch), or one generator drawn
    from in board order. Evaluator calls: one for all roots, then at most one per
    simulation step, each with at most ``len(boards)`` positions. The boards are not modified.
    """
    if not boards:
        return []
    work = [board.copy() for board in boards]  # one working board per tree, history included
    for board in work:
        if not any(board.generate_legal_moves()):
            raise ValueError(f"cannot search a finished game: {board.fen()}")

    roots = [_Node(moves, priors, value) for moves, priors, value in _checked(evaluator, work)]
    if config.dirichlet_fraction > 0:
        f = config.dirichlet_fraction
        for root, tree_rng in zip(roots, _tree_rngs(rng, len(roots))):
            if len(root.moves) > 1:
                noise = tree_rng.dirichlet(np.full(len(root.moves), config.dirichlet_alpha))
                root.priors = (1.0 - f) * root.priors + f * noise

    # Every root child is probed for the end of the game before any simulation: a mate in one is
    # then played whatever the prior (a search of few simulations from a flat prior could leave it
    # unvisited), and a move that draws at once carries its exact value from the first visit.
    mating: dict[int, np.ndarray] = {}
    for i, (root, board) in enumerate(zip(roots, work)):
        for a, move in enumerate(root.moves):
            board.push(move)
            value = terminal_value(board)
            board.pop()
            if value is not None:
                root.children[a] = _Node.finished(value)
        wins = np.array([child is not None and child.terminal == -1.0 for child in root.children])
        if wins.any():
            mating[i] = wins

    c_puct = config.c_puct
    active = [i for i, root in enumerate(roots) if len(root.moves) > 1 and i not in mating]
    for _ in range(config.simulations if active else 0):
        pending: list[tuple[int, list[tuple[_Node, int]]]] = []
        for i in active:
            board, node, path = work[i], roots[i], []
            while True:
                a = node.select(c_puct)
                path.append((node, a))
                board.push(node.moves[a])
                child = node.children[a]
                if child is None:
                    value = terminal_value(board)
                    if value is None:  # a new position for the evaluator; board stays pushed
                        pending.append((i, path))
                        break
                    child = node.children[a] = _Node.finished(value)
                elif child.terminal is not None:
                    child.visits += 1
                    child.value_sum += child.terminal
                if child.terminal is not None:
                    _backup(path, child.terminal)
                    for _ in path:
                        board.pop()
                    break
                node = child
        if not pending:
            continue
        evaluated = _checked(evaluator, [work[i] for i, _ in pending])
        for (i, path), (moves, priors, value) in zip(pending, evaluated):
            parent, a = path[-1]
            parent.children[a] = _Node(moves, priors, value)
            _backup(path, value)
            board = work[i]
            for _ in path:
                board.pop()

    results = []
    for i, root in enumerate(roots):
        if i in mating:  # a proven win: every visit goes to the mating moves, shared evenly
            wins = mating[i]
            visits = np.where(wins, float(config.simulations) / wins.sum(), 0.0)
            results.append(SearchResult(root.moves, visits, 1.0, root.priors.copy()))
            continue
        visits = np.array([float(config.simulations)]) if len(root.moves) == 1 else root.child_visits.copy()
        results.append(SearchResult(root.moves, visits, root.value_sum / root.visits, root.priors.copy()))
    return results
