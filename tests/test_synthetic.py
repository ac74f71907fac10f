"""The synthetic population: schedule, seeding, PGN round trip through the reader, scores."""

from __future__ import annotations

import io
from collections import Counter

import chess.pgn
import pytest

from simagents.config import Persona, SyntheticConfig
from simagents.data.pgn import ReadOptions, read_pgn_text
from simagents.data.summary import score_table
from simagents.data.synthetic import generate, schedule, to_pgn
from simagents.data.table import records_to_table

NO_ENGINE = SyntheticConfig(
    games=24,
    nodes_per_move=100,
    max_plies=80,
    opening_random_plies=2,
    include_self_play=True,
    personas=(Persona(name="random", kind="random", rating=400), Persona(name="greedy", kind="greedy", rating=800)),
)


def test_schedule_balances_pairs_and_colours(smoke_config):
    config = smoke_config().data.synthetic
    specs = schedule(config, seed=0)
    pairs = Counter((s.white, s.black) for s in specs)
    assert len(pairs) == len(config.personas) ** 2
    assert max(pairs.values()) - min(pairs.values()) <= 1
    assert len({s.seed for s in specs}) == len(specs)


def test_same_seed_same_games_whatever_the_workers(smoke_config):
    engine = smoke_config().engine
    one = generate(NO_ENGINE, engine, seed=5, workers=1, progress=False)
    two = generate(NO_ENGINE, engine, seed=5, workers=2, progress=False)
    other = generate(NO_ENGINE, engine, seed=6, workers=1, progress=False)
    assert [g.moves for g in one] == [g.moves for g in two]
    assert [g.moves for g in one] != [g.moves for g in other]
    assert to_pgn(one, NO_ENGINE.personas, 5) == to_pgn(two, NO_ENGINE.personas, 5)


def test_pgn_has_lichess_style_headers_and_reads_back():
    games = generate(NO_ENGINE, None, seed=1, workers=1, progress=False)  # type: ignore[arg-type]
    text = to_pgn(games, NO_ENGINE.personas, 1)
    first = chess.pgn.read_game(io.StringIO(text))
    for tag in ("White", "Black", "WhiteElo", "BlackElo", "Result", "Termination", "WhitePersona", "BlackPersona"):
        assert tag in first.headers
    records, ledger = read_pgn_text(text, ReadOptions(source="synthetic", prompt_mode="persona"))
    assert ledger.kept == len(games) and ledger.total_dropped == 0
    assert [r.moves.split() for r in records] == [g.moves for g in games]
    assert {r.white_prompt for r in records} == {"random", "greedy"}


def _table(games, seed):
    records, _ = read_pgn_text(
        to_pgn(games, NO_ENGINE.personas, seed), ReadOptions(source="synthetic", prompt_mode="persona")
    )
    return records_to_table(records)


def test_score_table_is_consistent():
    games = generate(NO_ENGINE, None, seed=2, workers=1, progress=False)  # type: ignore[arg-type]
    table = score_table(_table(games, 2))
    others = table[table.agent != table.opponent]
    assert (others.wins + others.draws + others.losses == others.games).all()
    cross = table.set_index(["agent", "opponent"])
    assert cross.loc[("random", "(all others)")].games == cross.loc[("random", "greedy")].games
    a, b = cross.loc[("random", "greedy")], cross.loc[("greedy", "random")]
    assert a.games == b.games and a.wins == b.losses and a.score + b.score == pytest.approx(1.0)


@pytest.mark.stockfish
def test_population_with_stockfish(stockfish, smoke_config):
    config = smoke_config()
    games = generate(config.data.synthetic, config.engine, config.seed, workers=2, progress=False)
    records, _ = read_pgn_text(
        to_pgn(games, config.data.synthetic.personas, 0), ReadOptions(source="synthetic", prompt_mode="persona")
    )
    table = score_table(records_to_table(records)).set_index(["agent", "opponent"])
    assert len(games) == config.data.synthetic.games
    # The strongest engine beats the random mover in every game of the smoke run.
    assert table.loc[("sf2850", "random")].score == 1.0


@pytest.mark.stockfish
def test_rating_outside_the_engine_range_is_refused(stockfish, smoke_config):
    config = smoke_config()
    bad = SyntheticConfig(
        **{
            **config.data.synthetic.__dict__,
            "personas": (
                Persona(name="sf9000", kind="stockfish", rating=3990),
                Persona(name="random", kind="random", rating=400),
            ),
        }
    )
    with pytest.raises(ValueError, match="outside this Stockfish's UCI_Elo range"):
        generate(bad, config.engine, 0, workers=1, progress=False)


def test_score_intervals_cover_the_score():
    games = generate(NO_ENGINE, None, seed=3, workers=1, progress=False)  # type: ignore[arg-type]
    table = score_table(_table(games, 3), seed=3)
    assert table[table.agent == table.opponent].score_low.isna().all()
    table = table[table.agent != table.opponent]
    assert ((table.score_low <= table.score) & (table.score <= table.score_high)).all()
    assert (table.score_low < table.score_high).any()
    assert table.equals(score_table(_table(games, 3), seed=3).dropna())
