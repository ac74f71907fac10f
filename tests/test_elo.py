"""Elo ladder: exact two-player fit, recovery of known ratings, invariances, errors, determinism."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from simagents.agents.elo import GameResult, Rating, elo_ladder, fit_elo, ratings_table

TRUTH = {"anchor": 1500.0, "weak": 1200.0, "fair": 1400.0, "good": 1650.0, "strong": 1900.0}


def _simulate(truth: dict[str, float], per_pair: int, seed: int) -> list[GameResult]:
    """``per_pair`` games between every pair, colours alternating, drawn from the Elo curve with draws."""
    rng = np.random.default_rng(seed)
    names = list(truth)
    games = []
    for x, a in enumerate(names):
        for b in names[x + 1 :]:
            p = 1.0 / (1.0 + 10.0 ** (-(truth[a] - truth[b]) / 400.0))
            draw = min(p, 1.0 - p)  # expected score stays p: win p - draw/2, draw, loss the rest
            scores = rng.choice([1.0, 0.5, 0.0], size=per_pair, p=[p - draw / 2, draw, 1.0 - p - draw / 2])
            for k, s in enumerate(scores.tolist()):
                games.append(GameResult(a, b, s) if k % 2 == 0 else GameResult(b, a, 1.0 - s))
    return games


def test_two_players_with_a_known_score_fit_exactly():
    # 70 wins, 40 draws, 10 losses: A scores 90/120 = 75%, so R_A - R_B = 400 log10(3)
    games = (
        [GameResult("A", "B", 1.0)] * 35
        + [GameResult("B", "A", 0.0)] * 35
        + [GameResult("A", "B", 0.5)] * 40
        + [GameResult("B", "A", 1.0)] * 10
    )
    fit = fit_elo(games, "B", 1500.0)
    assert fit["B"] == 1500.0
    assert fit["A"] - fit["B"] == pytest.approx(400.0 * math.log10(3.0), abs=1e-6)
    assert fit_elo(games, "A", 2000.0)["B"] == pytest.approx(2000.0 - 400.0 * math.log10(3.0), abs=1e-6)


def test_recovers_known_ratings_and_intervals_cover_them():
    games = _simulate(TRUTH, per_pair=400, seed=0)
    ladder = elo_ladder(games, "anchor", 1500.0, seed=1, resamples=300)
    by_player = {rating.player: rating for rating in ladder}
    assert [rating.player for rating in ladder] == ["strong", "good", "anchor", "fair", "weak"]
    anchor = by_player["anchor"]
    assert anchor.elo == anchor.low == anchor.high == 1500.0
    covered = 0
    for player, truth in TRUTH.items():
        rating = by_player[player]
        assert abs(rating.elo - truth) < 40.0, (player, rating.elo, truth)
        assert rating.low <= rating.elo <= rating.high
        assert rating.games == 1600 and 0.0 < rating.score < 1.0
        if player != "anchor":
            assert 5.0 < rating.high - rating.low < 120.0  # informative, not degenerate
            covered += rating.low <= truth <= rating.high
    assert covered >= 3  # of 4 at nominal 95%
    assert "percentile bootstrap over games, 300 resamples, 95%" in anchor.method
    assert "virtual draw" in anchor.method
    # the weak prior barely moves well-measured ratings
    plain = fit_elo(games, "anchor", 1500.0)
    assert all(abs(by_player[p].elo - plain[p]) < 5.0 for p in TRUTH)


def test_scores_are_per_player_point_of_view():
    games = [GameResult("A", "B", 1.0), GameResult("B", "A", 0.5), GameResult("A", "B", 0.0)]
    ladder = {r.player: r for r in elo_ladder(games, "A", 1000.0, seed=0, resamples=20)}
    assert ladder["A"].score == pytest.approx(1.5 / 3) and ladder["B"].score == pytest.approx(1.5 / 3)
    assert ladder["A"].games == ladder["B"].games == 3


def test_swapping_colours_and_reordering_games_does_not_change_the_fit():
    games = _simulate(TRUTH, per_pair=30, seed=2)
    swapped = [GameResult(g.black, g.white, 1.0 - g.score) for g in games]
    random.Random(3).shuffle(swapped)
    for prior in (0.0, 1.0):
        fit = fit_elo(games, "anchor", 1500.0, prior_games=prior)
        other = fit_elo(swapped, "anchor", 1500.0, prior_games=prior)
        assert set(fit) == set(other)
        assert all(fit[p] == pytest.approx(other[p], abs=1e-7) for p in fit)


def test_prior_is_virtual_draws_against_the_anchor():
    games = _simulate(TRUTH, per_pair=6, seed=4)
    virtual = [GameResult(p, "anchor", 0.5) for p in TRUTH if p != "anchor"] * 2
    assert fit_elo(games, "anchor", 1500.0, prior_games=2.0) == pytest.approx(
        fit_elo(games + virtual, "anchor", 1500.0), abs=1e-7
    )


def test_perfect_score_is_unbounded_without_the_prior_and_finite_with_it():
    games = [
        GameResult("A", "B", 1.0),
        GameResult("B", "A", 0.5),
        GameResult("C", "A", 1.0),
        GameResult("C", "B", 1.0),
        GameResult("B", "C", 0.0),
    ]  # C wins every game
    with pytest.raises(ValueError, match=r"unbounded.*C.*prior_games"):
        fit_elo(games, "A", 1500.0)
    with pytest.raises(ValueError, match=r"-> -inf.*B"):  # B never scores against the anchor's side
        fit_elo([GameResult("A", "B", 1.0)] * 3, "A", 1500.0)
    fit = fit_elo(games, "A", 1500.0, prior_games=1.0)
    assert all(math.isfinite(v) for v in fit.values())
    assert fit["C"] > fit["A"] > fit["B"]
    ladder = elo_ladder(games, "A", 1500.0, seed=0, resamples=200)
    assert all(math.isfinite(x) for r in ladder for x in (r.elo, r.low, r.high))
    assert ladder[0].player == "C" and ladder[0].score == 1.0


def test_degenerate_resamples_stay_finite_with_the_prior():
    # "X" and "Y" hang on a single game each: many resamples drop it, disconnecting them or
    # leaving them with no games at all; the prior keeps them at finite ratings near the anchor.
    games = _simulate({"anchor": 1500.0, "B": 1600.0, "C": 1400.0}, per_pair=20, seed=5)
    games += [GameResult("X", "B", 1.0), GameResult("C", "Y", 0.5)]
    ladder = {r.player: r for r in elo_ladder(games, "anchor", 1500.0, seed=6, resamples=300)}
    for rating in ladder.values():
        assert all(math.isfinite(x) for x in (rating.elo, rating.low, rating.high))
        assert rating.low <= rating.elo <= rating.high
    assert ladder["X"].high - ladder["X"].low > ladder["B"].high - ladder["B"].low  # thin data, wide interval
    # Without the prior the full data must be bounded, but resamples that drop Y's draw are not:
    # they raise rather than being dropped (dropping them would narrow the intervals).
    bounded = games[:-2] + [GameResult("X", "B", 1.0), GameResult("B", "X", 1.0), GameResult("C", "Y", 0.5)]
    assert math.isfinite(fit_elo(bounded, "anchor", 1500.0)["Y"])
    with pytest.raises(ValueError, match=r"resample \d+ has no finite fit"):
        elo_ladder(bounded, "anchor", 1500.0, seed=6, resamples=300, prior_games=0.0)


def test_unconnected_players_and_missing_anchor_are_named():
    games = [GameResult("A", "B", 1.0), GameResult("B", "A", 0.5), GameResult("C", "D", 0.5), GameResult("E", "D", 0.0)]
    for prior in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"connects.*anchor 'A'.*C, D, E"):
            fit_elo(games, "A", 1500.0, prior_games=prior)
    with pytest.raises(ValueError, match=r"anchor 'Z' played none"):
        fit_elo(games, "Z", 1500.0)
    with pytest.raises(ValueError, match="connects"):
        elo_ladder(games, "A", 1500.0, seed=0, resamples=10)
    with pytest.raises(ValueError, match="no games"):
        fit_elo([], "A", 1500.0)
    with pytest.raises(ValueError, match="itself"):
        fit_elo([GameResult("A", "A", 1.0)], "A", 1500.0)
    with pytest.raises(ValueError, match="not in"):
        fit_elo([GameResult("A", "B", 2.0)], "A", 1500.0)
    with pytest.raises(ValueError, match="prior_games"):
        fit_elo(games[:2], "A", 1500.0, prior_games=-1.0)


def test_same_seed_same_intervals():
    games = _simulate(TRUTH, per_pair=20, seed=7)
    first = elo_ladder(games, "anchor", 1500.0, seed=11, resamples=200)
    assert first == elo_ladder(games, "anchor", 1500.0, seed=11, resamples=200)
    other = elo_ladder(games, "anchor", 1500.0, seed=12, resamples=200)
    assert [r.elo for r in first] == [r.elo for r in other]  # point estimates do not depend on the seed
    assert [(r.low, r.high) for r in first] != [(r.low, r.high) for r in other]


def test_ladder_of_forty_players_is_fast_and_ordered():
    rng = np.random.default_rng(8)
    truth = {f"p{k}": float(x) for k, x in enumerate(np.linspace(800.0, 2400.0, 40))}
    names = list(truth)
    games = []
    for _ in range(3000):
        a, b = rng.choice(40, size=2, replace=False)
        p = 1.0 / (1.0 + 10.0 ** (-(truth[names[a]] - truth[names[b]]) / 400.0))
        games.append(GameResult(names[a], names[b], float(rng.random() < p)))
    ladder = elo_ladder(games, "p20", truth["p20"], seed=9, resamples=200)
    assert len(ladder) == 40
    elo = {r.player: r.elo for r in ladder}
    assert np.corrcoef([elo[p] for p in names], [truth[p] for p in names])[0, 1] > 0.98
    covered = sum(r.low <= truth[r.player] <= r.high for r in ladder if r.player != "p20")
    assert covered >= 33  # of 39 at nominal 95%


def test_ratings_table_is_sorted_with_all_columns():
    ratings = [
        Rating("b", 1400.0, 1350.0, 1450.0, 10, 0.4, "m"),
        Rating("a", 1600.0, 1550.0, 1650.0, 10, 0.6, "m"),
        Rating("c", 1500.0, 1500.0, 1500.0, 20, 0.5, "m"),
    ]
    table = ratings_table(ratings)
    assert list(table.columns) == ["player", "elo", "low", "high", "games", "score", "method"]
    assert table["player"].tolist() == ["a", "c", "b"]
    assert table.loc[0, "games"] == 10


def test_resamples_and_ladder_statistics():
    """A prompted agent that plays as strong as each persona its prompt names: its Elo across
    those prompts rank-correlates 1 with the personas', and its spread is the personas' spread."""
    import pandas as pd

    from simagents.agents.elo import elo_ladder_resamples
    from simagents.agents.ladder import ladder_statistics

    personas = {"anchor": 1500.0, "weak": 1100.0, "strong": 1900.0}
    truth = (
        dict(personas)
        | {f"sim@{p}": r for p, r in personas.items()}
        | {"flat@weak": 1500.0, "flat@strong": 1500.0, "flat@anchor": 1500.0}
    )
    games = _simulate(truth, per_pair=120, seed=2)
    ratings, resampled = elo_ladder_resamples(games, "anchor", 1500.0, seed=3, resamples=200)
    assert resampled.shape == (200, len(truth)) and (resampled["anchor"] == 1500.0).all()
    table = ratings_table(ratings)
    table["agent"] = [p.split("@")[0] for p in table.player]
    table["prompt"] = [p.split("@")[1] if "@" in p else "" for p in table.player]
    table["kind"] = ["simulator" if "@" in p else "stockfish" for p in table.player]
    stats = ladder_statistics(table, resampled).set_index(["agent", "statistic"])
    assert stats.loc[("sim", "spearman_persona_elo"), "value"] == pytest.approx(1.0)
    assert stats.loc[("sim", "spearman_persona_elo"), "low"] > 0
    assert stats.loc[("sim", "elo_spread"), "low"] > 500  # true spread 800
    assert stats.loc[("flat", "elo_spread"), "value"] < stats.loc[("sim", "elo_spread"), "low"]
    assert set(stats.n) == {3}
    assert isinstance(resampled, pd.DataFrame)
