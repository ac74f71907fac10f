"""Elo ladder: Bradley-Terry ratings by maximum likelihood over all games, with bootstrap intervals.

The model is the logistic Elo curve: the expected score of player ``a`` against ``b`` is
``p = 1 / (1 + 10 ** (-(R_a - R_b) / 400))`` with ratings ``R`` in Elo points. There is no colour
term (white and black are treated alike) and a draw counts as half a point for each side, so the
log-likelihood of a game with score ``s`` for ``a`` is ``s log p + (1 - s) log(1 - p)``.
Ratings are fitted jointly over all games (not updated game by game, so the order of games does
not matter) and are only defined up to a common shift, which is fixed by holding one named
player, the anchor, at its nominal rating.

A finite maximum exists only when every group of players has scored at least some points against
the rest and conceded some (Ford's condition: the "scored against" graph is strongly connected). A
player who wins, or loses, every game has an infinite estimate. ``prior_games`` regularises this
weakly: each non-anchor player gets that many virtual draws against the anchor. Their pull is at
most half a point per virtual game, whatever the rating gap, so with tens of real games per player
the shift is small, and it makes every rating finite, including in bootstrap resamples where a
player's games happen to be all wins or the players fall apart into unconnected groups.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

ELO_SCALE = 400.0 / math.log(10.0)
"""Elo points per natural-log unit of odds: the fit runs in natural units ``theta = R / ELO_SCALE``."""

DEFAULT_PRIOR_GAMES = 1.0
"""Virtual draws against the anchor per player in :func:`elo_ladder` (see the module docstring)."""


@dataclass(frozen=True)
class GameResult:
    """One game: the players' names and the score for white (1 win, 0.5 draw, 0 loss).

    Any score in [0, 1] is accepted (the likelihood is defined for it); colours do not enter the
    model, so ``GameResult(a, b, s)`` and ``GameResult(b, a, 1 - s)`` are the same observation.
    """

    white: str
    black: str
    score: float


@dataclass(frozen=True)
class Rating:
    """One player's rating in Elo points with its interval.

    ``games`` and ``score`` describe the real games only (not the virtual draws of the prior):
    ``score`` is the mean points per game from this player's point of view, in [0, 1].
    """

    player: str
    elo: float
    low: float
    high: float
    games: int
    score: float
    method: str


@dataclass(frozen=True)
class _Games:
    """Games reduced to unordered pairs ``i < j`` of player indices (in order of first appearance)."""

    players: tuple[str, ...]
    pair_i: np.ndarray  # (M,) int, the lower player index of each pair
    pair_j: np.ndarray  # (M,) int, the higher one
    game_pair: np.ndarray  # (G,) int, the pair of each game
    game_score: np.ndarray  # (G,) float, each game's score from the point of view of pair_i
    player_games: np.ndarray  # (P,) int, real games per player
    player_points: np.ndarray  # (P,) float, real points per player

    def totals(self, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Games and points (for ``pair_i``) per pair, each game weighted by ``counts`` (default 1)."""
        m = self.pair_i.size
        if counts is None:
            counts = np.ones(self.game_pair.size)
        n = np.bincount(self.game_pair, weights=counts, minlength=m)
        w = np.bincount(self.game_pair, weights=counts * self.game_score, minlength=m)
        return n, w


def _index_games(games: Sequence[GameResult]) -> _Games:
    if len(games) == 0:
        raise ValueError("no games to fit")
    index: dict[str, int] = {}
    a = np.empty(len(games), dtype=np.int64)
    b = np.empty(len(games), dtype=np.int64)
    s = np.empty(len(games), dtype=np.float64)
    for k, game in enumerate(games):
        if game.white == game.black:
            raise ValueError(f"game {k}: {game.white!r} cannot play itself")
        score = float(game.score)
        if not 0.0 <= score <= 1.0:  # also rejects NaN
            raise ValueError(f"game {k}: score {game.score!r} for white is not in [0, 1]")
        a[k] = index.setdefault(game.white, len(index))
        b[k] = index.setdefault(game.black, len(index))
        s[k] = score
    p = len(index)
    low, high = np.minimum(a, b), np.maximum(a, b)
    oriented = np.where(a < b, s, 1.0 - s)  # score for the lower index
    keys, game_pair = np.unique(low * p + high, return_inverse=True)
    player_games = np.bincount(a, minlength=p) + np.bincount(b, minlength=p)
    player_points = np.bincount(a, weights=s, minlength=p) + np.bincount(b, weights=1.0 - s, minlength=p)
    return _Games(tuple(index), keys // p, keys % p, game_pair, oriented, player_games, player_points)


def _reach(start: int, edges: dict[int, set[int]]) -> set[int]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _check_identified(
    players: Sequence[str],
    pair_i: np.ndarray,
    pair_j: np.ndarray,
    n: np.ndarray,
    w: np.ndarray,
    anchor: int,
    *,
    check_bounded: bool,
) -> None:
    """Raise ValueError unless every player is connected to the anchor (and, if asked, bounded).

    Bounded means Ford's condition: in the graph with an edge ``x -> y`` when ``x`` scored some
    points against ``y``, every player reaches the anchor and is reached from it. A player who
    cannot reach it never takes a point off the anchor's side (rating -> -inf); one the anchor
    cannot reach never concedes one (rating -> +inf).
    """
    undirected: dict[int, set[int]] = {}
    scored: dict[int, set[int]] = {}
    conceded: dict[int, set[int]] = {}  # the reverse of ``scored``
    for i, j, games, points in zip(pair_i.tolist(), pair_j.tolist(), n.tolist(), w.tolist()):
        if games <= 0:
            continue
        undirected.setdefault(i, set()).add(j)
        undirected.setdefault(j, set()).add(i)
        if points > 0:  # i scored against j
            scored.setdefault(i, set()).add(j)
            conceded.setdefault(j, set()).add(i)
        if points < games:  # j scored against i
            scored.setdefault(j, set()).add(i)
            conceded.setdefault(i, set()).add(j)
    everyone = set(range(len(players)))
    unconnected = everyone - _reach(anchor, undirected)
    if unconnected:
        names = ", ".join(sorted(players[k] for k in unconnected))
        raise ValueError(
            f"no chain of games connects these players to the anchor {players[anchor]!r}, "
            f"so their ratings are undefined: {names}"
        )
    if not check_bounded:
        return
    reaches_anchor = _reach(anchor, conceded)  # players with a path of "scored against" to the anchor
    reached = _reach(anchor, scored)
    above = sorted(players[k] for k in everyone - reached if k in reaches_anchor)
    below = sorted(players[k] for k in everyone - reaches_anchor if k in reached)
    neither = sorted(players[k] for k in everyone - reached - reaches_anchor)
    if above or below or neither:
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("-> +inf (never lost a point to the rest)", above),
                ("-> -inf (never scored against the rest)", below),
                ("unbounded either way", neither),
            )
            if names
        ]
        raise ValueError(
            "maximum-likelihood ratings are unbounded with prior_games=0 (e.g. a perfect or "
            "zero score): "
            + "; ".join(parts)
            + ". Use prior_games > 0 (e.g. 1.0 virtual draw against the anchor per player)."
        )


def _log_likelihood(theta: np.ndarray, pi: np.ndarray, pj: np.ndarray, n: np.ndarray, w: np.ndarray) -> float:
    d = theta[pi] - theta[pj]
    # log sigma(d) = -log(1 + e^-d), computed without overflow
    return float(-(w * np.logaddexp(0.0, -d)).sum() - ((n - w) * np.logaddexp(0.0, d)).sum())


def _newton(
    theta: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    n: np.ndarray,
    w: np.ndarray,
    anchor: int,
    max_iter: int,
    tol: float,
) -> np.ndarray:
    """Maximise the log-likelihood over all players but the anchor (held at theta=0), from ``theta``.

    Damped Newton: the log-likelihood is concave, so the Newton direction is an ascent direction
    and halving the step until it does not decrease makes the iteration converge from any start;
    near the optimum the full step is taken and convergence is quadratic. ``tol`` is in Elo.
    """
    p = theta.size
    free = np.arange(p) != anchor
    flat = np.concatenate([pi * p + pi, pj * p + pj, pi * p + pj, pj * p + pi])
    theta = theta.copy()
    theta[anchor] = 0.0
    current = _log_likelihood(theta, pi, pj, n, w)
    for _ in range(max_iter):
        sigma = 1.0 / (1.0 + np.exp(-(theta[pi] - theta[pj])))
        residual = w - n * sigma  # d(loglik)/d(theta_i - theta_j) per pair
        grad = np.bincount(pi, weights=residual, minlength=p) - np.bincount(pj, weights=residual, minlength=p)
        h = n * sigma * (1.0 - sigma)
        # Minus the Hessian: a weighted graph Laplacian, positive definite once the anchor is removed
        # from a connected graph.
        info = np.bincount(flat, weights=np.concatenate([h, h, -h, -h]), minlength=p * p).reshape(p, p)
        try:
            step = np.linalg.solve(info[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError as error:
            raise ValueError("the Elo fit is degenerate (singular information matrix)") from error
        t = 1.0
        while True:
            trial = theta.copy()
            trial[free] += t * step
            value = _log_likelihood(trial, pi, pj, n, w)
            # the slack lets rounding noise through once the optimum is reached
            if value >= current - 1e-12 * (1.0 + abs(current)) or t < 1e-10:
                break
            t /= 2.0
        theta, current = trial, value
        if np.max(np.abs(t * step), initial=0.0) * ELO_SCALE < tol:
            return theta
    raise ValueError(
        f"the Elo fit did not converge in {max_iter} Newton iterations (ratings may be unbounded; try prior_games > 0)"
    )


def _prior_pairs(
    n_players: int, anchor: int, prior_games: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``prior_games`` virtual draws between every non-anchor player and the anchor, as pairs."""
    others = np.array([k for k in range(n_players) if k != anchor], dtype=np.int64)
    if prior_games == 0.0 or others.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0), np.empty(0)
    return (
        others,
        np.full(others.size, anchor),
        np.full(others.size, float(prior_games)),
        np.full(others.size, prior_games / 2.0),
    )


def _fit(data: _Games, anchor: str, prior_games: float, max_iter: int, tol: float) -> tuple[int, np.ndarray]:
    """Anchor index and point estimate (natural units, anchor at 0), with every check."""
    if anchor not in data.players:
        raise ValueError(f"anchor {anchor!r} played none of the games (players: {', '.join(sorted(data.players))})")
    if not (math.isfinite(prior_games) and prior_games >= 0.0):
        raise ValueError(f"prior_games must be a finite number >= 0, not {prior_games!r}")
    a = data.players.index(anchor)
    n, w = data.totals()
    # Connection to the anchor is checked on the real games: the prior would otherwise hide an
    # unconnected player behind its virtual draws and report the prior as a rating.
    _check_identified(data.players, data.pair_i, data.pair_j, n, w, a, check_bounded=prior_games == 0.0)
    qi, qj, qn, qw = _prior_pairs(len(data.players), a, prior_games)
    pi, pj = np.concatenate([data.pair_i, qi]), np.concatenate([data.pair_j, qj])
    theta = _newton(
        np.zeros(len(data.players)), pi, pj, np.concatenate([n, qn]), np.concatenate([w, qw]), a, max_iter, tol
    )
    return a, theta


def fit_elo(
    games: Sequence[GameResult],
    anchor: str,
    anchor_rating: float,
    *,
    prior_games: float = 0.0,
    max_iter: int = 200,
    tol: float = 1e-9,
) -> dict[str, float]:
    """Maximum-likelihood Bradley-Terry (Elo) ratings, in Elo points, with ``anchor`` at ``anchor_rating``.

    Joint fit over all games under the logistic Elo curve, draws as half a point each, no colour
    advantage. ``prior_games`` adds that many virtual draws between each other player and the
    anchor (0: the plain maximum likelihood). ``tol`` is the Newton step, in Elo, at which the fit
    stops. Returns every player's rating, in order of first appearance in ``games``.

    Raises ValueError when ``anchor`` played no game, when a player has no chain of games to the
    anchor, or, with ``prior_games=0``, when some rating is unbounded (e.g. a perfect score).
    """
    if not math.isfinite(anchor_rating):
        raise ValueError(f"anchor_rating must be finite, not {anchor_rating!r}")
    data = _index_games(list(games))
    _, theta = _fit(data, anchor, prior_games, max_iter, tol)
    return {player: float(anchor_rating + ELO_SCALE * t) for player, t in zip(data.players, theta)}


def elo_ladder(
    games: Sequence[GameResult],
    anchor: str,
    anchor_rating: float,
    *,
    seed: int,
    resamples: int = 1000,
    level: float = 0.95,
    prior_games: float = DEFAULT_PRIOR_GAMES,
    max_iter: int = 200,
    tol: float = 1e-9,
) -> list[Rating]:
    """Ratings in Elo points with percentile-bootstrap intervals over games, best first
    (:func:`elo_ladder_resamples` without the resamples)."""
    return elo_ladder_resamples(
        games,
        anchor,
        anchor_rating,
        seed=seed,
        resamples=resamples,
        level=level,
        prior_games=prior_games,
        max_iter=max_iter,
        tol=tol,
    )[0]


def elo_ladder_resamples(
    games: Sequence[GameResult],
    anchor: str,
    anchor_rating: float,
    *,
    seed: int,
    resamples: int = 1000,
    level: float = 0.95,
    prior_games: float = DEFAULT_PRIOR_GAMES,
    max_iter: int = 200,
    tol: float = 1e-9,
) -> tuple[list[Rating], pd.DataFrame]:
    """Ratings in Elo points with percentile-bootstrap intervals over games, best first, and every
    resample's ratings (``[resamples, players]``, Elo points, one column per player).

    The point estimates are :func:`fit_elo` on all games with ``prior_games`` virtual draws per
    player against the anchor (default 1). Each bootstrap resample draws the games with
    replacement (seeded: the same ``seed`` gives the same intervals) and refits, warm-started from
    the point estimate; the interval is the central ``level`` of those refits. The anchor's rating
    is fixed by definition, so its interval is its rating, and the other intervals measure
    uncertainty relative to the anchor.

    A resample can leave a player with only wins, or with no games, or cut the players into
    groups without games between them; the prior keeps every rating finite there (a player with
    no games in a resample sits at the anchor's rating on its virtual draws alone), which widens
    the intervals of thinly played players, as it should. With ``prior_games=0`` such a resample
    has no finite fit and raises ValueError rather than being dropped, since dropping it would
    narrow the intervals.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, not {resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), not {level}")
    if not math.isfinite(anchor_rating):
        raise ValueError(f"anchor_rating must be finite, not {anchor_rating!r}")
    data = _index_games(list(games))
    a, theta = _fit(data, anchor, prior_games, max_iter, tol)
    qi, qj, qn, qw = _prior_pairs(len(data.players), a, prior_games)
    pi, pj = np.concatenate([data.pair_i, qi]), np.concatenate([data.pair_j, qj])
    n_games = data.game_pair.size
    rng = np.random.default_rng(seed)
    draws = np.empty((resamples, len(data.players)))
    for r in range(resamples):
        counts = np.bincount(rng.integers(0, n_games, size=n_games), minlength=n_games).astype(np.float64)
        n, w = data.totals(counts)
        if prior_games == 0.0:
            try:
                _check_identified(data.players, data.pair_i, data.pair_j, n, w, a, check_bounded=True)
            except ValueError as error:
                raise ValueError(f"bootstrap resample {r} has no finite fit: {error}") from error
        draws[r] = _newton(theta, pi, pj, np.concatenate([n, qn]), np.concatenate([w, qw]), a, max_iter, tol)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
    method = (
        f"percentile bootstrap over games, {resamples} resamples, {level:.0%}; Bradley-Terry maximum "
        f"likelihood anchored at {anchor} = {anchor_rating:g}; prior {prior_games:g} virtual draw(s) "
        f"per player against {anchor}"
    )
    # Every resample's ratings in Elo points, [resamples, players]: statistics of several ratings
    # at once (a spread across prompts, a rank correlation) get their intervals from these rows.
    resampled = pd.DataFrame(anchor_rating + ELO_SCALE * draws, columns=list(data.players))
    resampled[data.players[a]] = anchor_rating
    ratings = []
    for k, player in enumerate(data.players):
        elo = float(anchor_rating + ELO_SCALE * theta[k])
        lo, hi = (
            (elo, elo)
            if k == a
            else (float(anchor_rating + ELO_SCALE * low[k]), float(anchor_rating + ELO_SCALE * high[k]))
        )
        played = int(data.player_games[k])
        ratings.append(
            Rating(
                player,
                elo,
                lo,
                hi,
                played,
                float(data.player_points[k] / played),
                method if k != a else f"{method}; anchor, fixed by definition",
            )
        )
    return sorted(ratings, key=lambda rating: (-rating.elo, rating.player)), resampled


def ratings_table(ratings: Sequence[Rating]) -> pd.DataFrame:
    """Ratings as a table (player, elo, low, high, games, score, method), highest elo first."""
    columns = ["player", "elo", "low", "high", "games", "score", "method"]
    frame = pd.DataFrame(
        [{column: getattr(rating, column) for column in columns} for rating in ratings], columns=columns
    )
    return frame.sort_values(["elo", "player"], ascending=[False, True], kind="stable").reset_index(drop=True)
