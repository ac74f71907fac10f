"""Agents that try to win: the game runner's outputs, one-ply values, piKL, RL fine-tuning, AZ, the ladder."""

from __future__ import annotations

import io
from pathlib import Path

import chess
import chess.pgn
import numpy as np
import pandas as pd
import pytest
import torch

from simagents.agents.az import AzPolicy, AzRun, self_play_targets, train_az
from simagents.agents.fitting import PolicyValueTargets, fit_targets
from simagents.agents.ladder import PlayerSpec, anchor_specs, fit_ladder, play_ladder, schedule
from simagents.agents.pikl import PiKLPolicy
from simagents.agents.rlft import RlftRun, _build_targets, evaluation_specs, train_rlft
from simagents.config import AzConfig, EngineConfig, Persona, RlftConfig
from simagents.encoding import legal_actions
from simagents.games import (
    GAMES_FRAME_COLUMNS,
    GameSpec,
    games_frame,
    held_out_openings,
    match_seed,
    play_games,
    to_pgn,
)
from simagents.models import load_checkpoint, load_simulator_and_vocabulary
from simagents.models.simulator_policy import SimulatorPolicy
from simagents.policies import GreedyMaterial, RandomMover
from simagents.positions import split_of

MATE_IN_ONE = "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1"  # Ra8#


def _policy(checkpoint: Path) -> SimulatorPolicy:
    model, vocabulary = load_simulator_and_vocabulary(checkpoint)
    return SimulatorPolicy(model, vocabulary)


# --- the game runner's outputs -------------------------------------------------------------------


def test_held_out_openings_come_from_test_games_only():
    games = [(f"g{i}", "e2e4 e7e5 g1f3 b8c6 f1b5") for i in range(200)]
    games += [(f"h{i}", "d2d4 d7d5 c2c4") for i in range(200)]
    openings = held_out_openings(games, plies=2, count=10, seed=1, split_seed=0, train=0.8, val=0.1)
    assert len(openings) == 10 and all(len(o) == 2 for o in openings)
    assert openings == held_out_openings(games, plies=2, count=10, seed=1, split_seed=0, train=0.8, val=0.1)
    test_ids = {g for g, _ in games if split_of(g, 0, 0.8, 0.1) == "test"}
    assert test_ids, "the fixture needs test-split games"
    # Every opening is the prefix of some test game (two distinct prefixes exist, so they cycle).
    assert set(openings) <= {("e2e4", "e7e5"), ("d2d4", "d7d5")}
    assert held_out_openings(games, 0, 3, 1, 0, 0.8, 0.1) == [(), (), ()]
    with pytest.raises(ValueError, match="no test-split game"):
        held_out_openings(games, plies=50, count=1, seed=1, split_seed=0, train=0.8, val=0.1)


def test_pgn_and_table_of_played_games():
    specs = [GameSpec("a", "b", "random", "greedy", seed=i, opening=("e2e4",), round=f"r{i}") for i in range(4)]
    games = play_games(specs, {"a": RandomMover(), "b": GreedyMaterial()}, max_plies=30)
    text = to_pgn(games, event="test")
    handle = io.StringIO(text)
    parsed = [chess.pgn.read_game(handle) for _ in games]
    for game, pgn in zip(games, parsed):
        assert pgn.headers["Result"] == game.result and pgn.headers["WhitePrompt"] == "random"
        assert [m.uci() for m in pgn.mainline_moves()] == game.moves
        assert pgn.headers["Termination"] == game.termination and pgn.headers["Round"] == game.spec.round
    frame = games_frame(games)
    assert tuple(frame.columns) == GAMES_FRAME_COLUMNS and len(frame) == 4
    assert (frame.plies <= 30).all() and set(frame.white_score) <= {0.0, 0.5, 1.0}


# --- one-ply values and piKL ---------------------------------------------------------------------


def test_one_ply_values_are_exact_at_mates_and_in_range(tiny_simulator):
    policy = _policy(tiny_simulator)
    board = chess.Board(MATE_IN_ONE)
    q = policy.one_ply_values([board], ["greedy"], ["random"])[0]
    moves = legal_actions(board)[1]
    assert len(q) == len(moves) and np.all(np.abs(q) <= 1.0)
    assert q[moves.index(chess.Move.from_uci("a1a8"))] == 1.0
    # Stalemating move: Qg6 with the king on h8 and the queen giving no check -> exact 0.
    stalemate = chess.Board("7k/8/5K2/8/8/8/8/6Q1 w - - 0 1")
    q2 = policy.one_ply_values([stalemate], ["none"], ["none"])[0]
    stalemate_moves = legal_actions(stalemate)[1]
    assert q2[stalemate_moves.index(chess.Move.from_uci("g1g6"))] == 0.0


def test_pikl_interpolates_between_the_simulator_and_its_values(tiny_simulator):
    policy = _policy(tiny_simulator)
    board = chess.Board(MATE_IN_ONE)
    prior = policy.distributions([board], ["random"], ["random"])[0]
    loose = PiKLPolicy(policy, 1e6).distributions([board], ["random"], ["random"])[0]
    sharp = PiKLPolicy(policy, 1e-3).distributions([board], ["random"], ["random"])[0]
    assert np.allclose(loose.probs, prior.probs, atol=1e-5)
    assert sharp.moves[int(np.argmax(sharp.probs))] == chess.Move.from_uci("a1a8")
    assert sharp.probs.max() > 0.99 and abs(sharp.probs.sum() - 1) < 1e-9
    with pytest.raises(ValueError, match="positive"):
        PiKLPolicy(policy, 0.0)


def _engine_opener(stockfish):
    import functools

    from simagents.stockfish import open_engine

    return functools.partial(open_engine, stockfish, 1, 16)


@pytest.mark.stockfish
def test_frontier_agent_spans_the_simulator_to_stockfish_best_move(tiny_simulator, stockfish):
    """pi*_beta = p_sim exp(Q / beta): the simulator at large beta, Stockfish's best move at
    small beta (the mate in one), the closed form in between, the same answer on every call."""
    from simagents.agents.frontier_agent import FrontierPolicy
    from simagents.evaluation.frontier import tilt

    policy = _policy(tiny_simulator)
    board = chess.Board(MATE_IN_ONE)
    prior = policy.distributions([board], ["random"], ["random"])[0]
    loose = FrontierPolicy(policy, 1e6, _engine_opener(stockfish), nodes=2000)
    sharp = FrontierPolicy(policy, 1e-3, _engine_opener(stockfish), nodes=2000)
    middle = FrontierPolicy(policy, 0.1, _engine_opener(stockfish), nodes=2000)
    try:
        assert np.allclose(loose.distributions([board], ["random"], ["random"])[0].probs, prior.probs, atol=1e-5)
        best = sharp.distributions([board], ["random"], ["random"])[0]
        assert best.moves[int(np.argmax(best.probs))] == chess.Move.from_uci("a1a8") and best.probs.max() > 0.99
        q_values = middle.action_values(board, prior.moves)
        assert q_values.shape == (len(prior.moves),) and np.all(np.abs(q_values) <= 1.0)
        assert q_values[prior.moves.index(chess.Move.from_uci("a1a8"))] == q_values.max()
        tilted = middle.distributions([board, board], ["random", "random"], ["random", "random"])
        assert np.allclose(tilted[0].probs, tilt(prior.probs, q_values, 0.1)) and np.allclose(
            tilted[0].probs, tilted[1].probs
        )  # a cleared hash per search: the same distribution whatever was searched before
    finally:
        for agent in (loose, sharp, middle):
            agent.close()
    with pytest.raises(ValueError, match="positive"):
        FrontierPolicy(policy, 0.0, _engine_opener(stockfish), nodes=2000)


@pytest.mark.stockfish
def test_frontier_agent_restarts_a_dead_engine(tiny_simulator, stockfish):
    import os
    import signal

    from simagents.agents.frontier_agent import FrontierPolicy

    agent = FrontierPolicy(_policy(tiny_simulator), 0.1, _engine_opener(stockfish), nodes=500)
    board = chess.Board()
    try:
        first = agent.distributions([board], ["none"], ["none"])[0]
        assert agent.restarts == 0
        os.kill(agent.engine.transport.get_pid(), signal.SIGKILL)  # type: ignore[attr-defined]
        again = agent.distributions([board], ["none"], ["none"])[0]
        assert agent.restarts == 1 and np.allclose(first.probs, again.probs)
    finally:
        agent.close()


def test_pikl_takes_its_values_from_the_critic(tiny_simulator):
    """With a critic, Q comes from the critic's value head and the prior stays the simulator's
    (the fixed point that rlft's final evaluation plays)."""
    policy = _policy(tiny_simulator)
    model, vocabulary = load_simulator_and_vocabulary(tiny_simulator)
    with torch.no_grad():  # a critic that values every position at 0: Q is 0 but for game ends
        model.value[-1].weight.zero_()
        model.value[-1].bias.zero_()
    flat = SimulatorPolicy(model, vocabulary, name="critic")
    board = chess.Board()
    prior = policy.distributions([board], ["greedy"], ["random"])[0]
    tilted = PiKLPolicy(policy, 0.01).distributions([board], ["greedy"], ["random"])[0]
    with_flat_critic = PiKLPolicy(policy, 0.01, critic=flat).distributions([board], ["greedy"], ["random"])[0]
    assert np.allclose(with_flat_critic.probs, prior.probs, atol=1e-9)
    assert not np.allclose(tilted.probs, prior.probs, atol=1e-3)
    mate = chess.Board(MATE_IN_ONE)  # exact values still count: the flat critic finds the mate
    sharp = PiKLPolicy(policy, 1e-3, critic=flat).distributions([mate], ["random"], ["random"])[0]
    assert sharp.moves[int(np.argmax(sharp.probs))] == chess.Move.from_uci("a1a8")


# --- RL fine-tuning ------------------------------------------------------------------------------

RLFT = RlftConfig(
    betas=(0.0, 1.0),
    seeds=(0,),
    iterations=2,
    games_per_iteration=4,
    target_positions=48,
    replay_positions=64,
    step_size=0.05,
    epochs=1,
    batch_size=32,
    lr=1e-3,
    value_weight=0.25,
    critic_lr=1e-4,
    critic_epochs=1,
    critic_prompts="game",
    snapshot_every=1,
    snapshot_fraction=0.5,
    eval_games_per_prompt=2,
)


def _run(beta: float) -> RlftRun:
    return RlftRun(
        beta=beta, seed=0, prompts=("none", "random", "greedy"), openings=(("e2e4",), ("d2d4",)), max_plies=24
    )


def test_improved_policy_is_the_closed_form(tiny_simulator):
    """log pi* = (beta log p_sim + tau log pi_old + Q) / (beta + tau), normalised over legal moves."""
    policy = _policy(tiny_simulator)
    specs = [GameSpec("learner", "frozen", "greedy", "random", seed=3, opening=("e2e4",))]
    games = play_games(specs, {"learner": policy, "frozen": policy}, max_plies=12)
    rng = np.random.default_rng(0)
    for beta, tau in ((0.0, 0.05), (0.5, 0.05)):
        targets, stats = _build_targets(games, policy, policy, policy, beta, tau, 100, rng, skip=1)
        assert stats["kl"] == pytest.approx(0.0, abs=1e-9)  # learner == frozen
        board = chess.Board()
        for uci in games[0].moves[:2]:  # the learner (White) first moves at ply 2
            board.push_uci(uci)
        log_p = policy.log_probs([board], ["greedy"], ["random"])[0][1]
        q = policy.one_ply_values([board], ["greedy"], ["random"])[0]
        expected = (beta * log_p + tau * log_p + q) / (beta + tau)
        expected = np.exp(expected - np.logaddexp.reduce(expected))
        assert np.allclose(targets.policy_probs[0], expected, atol=1e-6)
        assert len(targets.value_result) == 11  # every position after the opening, both sides


def test_a_prompt_blind_critic_gives_the_same_q_whoever_plays(tiny_simulator):
    """With ``critic_prompt`` the targets' Q (and piKL's) is the critic's under that prompt for
    both sides, whatever the game's prompts; the prior still reads the game's."""
    policy = _policy(tiny_simulator)
    rng = np.random.default_rng(0)

    def centred(x: np.ndarray) -> np.ndarray:
        return x - x.mean()

    for own, opp in (("greedy", "random"), ("random", "greedy")):
        spec = GameSpec("learner", "frozen", own, opp, seed=3, opening=("e2e4",))
        games = play_games([spec], {"learner": policy, "frozen": policy}, max_plies=4)
        board = chess.Board()
        for uci in games[0].moves[:2]:  # the learner (White) first moves at ply 2
            board.push_uci(uci)
        log_old = policy.log_probs([board], [own], [opp])[0][1]
        for critic_prompt, reads in ((None, (own, opp)), ("none", ("none", "none"))):
            # beta 0, tau 1: log pi* = log pi_old + Q + const, so Q is read off the targets
            targets, _ = _build_targets(games, policy, policy, policy, 0.0, 1.0, 100, rng, 1, critic_prompt)
            q_read = np.log(targets.policy_probs[0]) - log_old
            q_critic = policy.one_ply_values([board], [reads[0]], [reads[1]])[0]
            assert np.allclose(centred(q_read), centred(q_critic), atol=1e-6)
    board = chess.Board()
    board.push_uci("e2e4")
    blind = PiKLPolicy(policy, 0.1, critic=policy, critic_prompt="none")
    sighted = PiKLPolicy(policy, 0.1, critic=policy)
    for own in ("greedy", "random"):
        prior = policy.log_probs([board], [own], ["none"])[0][1]
        tilted = blind.log_probs([board], [own], ["none"])[0][1]
        q_none = policy.one_ply_values([board], ["none"], ["none"])[0]
        expected = prior + q_none / 0.1
        assert np.allclose(tilted, expected - np.logaddexp.reduce(expected))
    assert not np.allclose(
        blind.log_probs([board], ["greedy"], ["random"])[0][1], sighted.log_probs([board], ["greedy"], ["random"])[0][1]
    )


def test_rlft_with_a_prompt_blind_critic_trains(tiny_simulator, tmp_path):
    from dataclasses import replace

    summary = train_rlft(tiny_simulator, tmp_path, replace(RLFT, critic_prompts="none"), _run(0.1), progress=False)
    assert summary["finished"] and (tmp_path / "final.pt").exists()


def test_rlft_runs_resumes_exactly_and_writes_its_outputs(tiny_simulator, tmp_path):
    straight = train_rlft(tiny_simulator, tmp_path / "a", RLFT, _run(0.0), progress=False)
    assert straight["finished"]
    for name in (
        "final.pt",
        "last.pt",
        "curves.csv",
        "evaluation.csv",
        "evaluation_games.parquet",
        "rlft.json",
        "target_evaluation.csv",
    ):
        assert (tmp_path / "a" / name).exists(), name
    partial = train_rlft(tiny_simulator, tmp_path / "b", RLFT, _run(0.0), progress=False, stop_after=1)
    assert not partial["finished"] and not (tmp_path / "b" / "final.pt").exists()
    train_rlft(tiny_simulator, tmp_path / "b", RLFT, _run(0.0), progress=False)
    a = load_checkpoint(tmp_path / "a" / "final.pt")["model"]
    b = load_checkpoint(tmp_path / "b" / "final.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # the replay buffer was restored too
    fitted = pd.read_csv(tmp_path / "a" / "curves.csv").fitted_positions.tolist()
    assert fitted[0] <= RLFT.target_positions < fitted[1] <= RLFT.replay_positions  # earlier targets refitted
    # final.pt is a drop-in simulator; it moved away from the starting weights.
    start = load_checkpoint(tiny_simulator)["model"]
    assert any(not torch.equal(a[k], start[k]) for k in a)
    load_simulator_and_vocabulary(tmp_path / "a" / "final.pt")


def test_rlft_refuses_unknown_prompts(tiny_simulator, tmp_path):
    run = RlftRun(beta=0.0, seed=0, prompts=("sf9999",), openings=((),), max_plies=10)
    with pytest.raises(ValueError, match="sf9999"):
        train_rlft(tiny_simulator, tmp_path, RLFT, run, progress=False)


def test_evaluation_games_pair_each_prompt_with_itself_and_alternate_colours():
    specs = evaluation_specs(_run(0.0), games_per_prompt=4)
    assert len(specs) == 12
    assert all(s.white_prompt == s.black_prompt for s in specs)
    assert sum(s.white == "learner" for s in specs) == 6


# --- the AlphaZero-style agent -------------------------------------------------------------------

AZ = AzConfig(
    init="simulator",
    seed=0,
    iterations=2,
    games_per_iteration=2,
    simulations=4,
    eval_simulations=4,
    c_puct=1.5,
    dirichlet_alpha=0.3,
    dirichlet_fraction=0.25,
    temperature_plies=4,
    replay_positions=500,
    epochs=1,
    batch_size=32,
    lr=1e-3,
    value_weight=1.0,
)


def test_az_self_play_trains_and_resumes_exactly(tiny_simulator, tmp_path):
    run = AzRun(openings=(("e2e4",),), max_plies=16)
    train_az(tmp_path / "a", AZ, run, tiny_simulator, progress=False)
    train_az(tmp_path / "b", AZ, run, tiny_simulator, progress=False, stop_after=1)
    assert not (tmp_path / "b" / "final.pt").exists()
    train_az(tmp_path / "b", AZ, run, tiny_simulator, progress=False)
    a = load_checkpoint(tmp_path / "a" / "final.pt")["model"]
    b = load_checkpoint(tmp_path / "b" / "final.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_self_play_targets_are_visit_distributions_with_results(tiny_simulator):
    record: dict = {}
    player = AzPolicy(
        _policy(tiny_simulator),
        simulations=4,
        dirichlet_fraction=0.25,
        temperature_plies=2,
        noise_seed=1,
        record=record,
    )
    games = play_games([GameSpec("az", "az", "none", "none", seed=0)], {"az": player}, max_plies=10)
    targets = self_play_targets(games, record)
    assert len(targets.policy_probs) == games[0].plies
    assert all(abs(p.sum() - 1) < 1e-9 for p in targets.policy_probs)
    assert set(targets.value_result) <= {-1.0, 0.0, 1.0}


def test_the_value_head_learns_known_results(tiny_simulator):
    """After fitting positions with known results, the value head tells winning from losing."""
    model, vocabulary = load_simulator_and_vocabulary(tiny_simulator)
    winning = ["4k3/8/8/8/8/8/8/QQQQK3 w - - 0 1", "4k3/8/8/8/8/8/8/RRRRK3 w - - 0 1"]
    losing = ["qqqqk3/8/8/8/8/8/8/4K3 w - - 0 1", "rrrrk3/8/8/8/8/8/8/4K3 w - - 0 1"]
    targets = PolicyValueTargets()
    for fen, result in [(f, 1.0) for f in winning] + [(f, -1.0) for f in losing]:
        board = chess.Board(fen)
        n = len(legal_actions(board)[1])
        targets.add_policy(board, "none", "none", np.full(n, 1.0 / n))
        targets.add_value(board, "none", "none", result)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    fit_targets(
        model,
        optimizer,
        targets,
        vocabulary,
        epochs=60,
        batch_size=4,
        value_weight=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    values = SimulatorPolicy(model, vocabulary).values(
        [chess.Board(f) for f in winning + losing], ["none"] * 4, ["none"] * 4
    )
    assert values[:2].min() > 0.5 and values[2:].max() < -0.5


def test_fitting_without_a_value_loss(tiny_simulator):
    """value_weight 0 (or no value rows) fits the policy alone; the value loss is reported as NaN."""
    model, vocabulary = load_simulator_and_vocabulary(tiny_simulator)
    board = chess.Board()
    n = len(legal_actions(board)[1])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for value_weight, with_values in ((0.0, True), (1.0, False)):
        targets = PolicyValueTargets()
        targets.add_policy(board, "none", "none", np.full(n, 1.0 / n))
        if with_values:
            targets.add_value(board, "none", "none", 1.0)
        losses = fit_targets(
            model,
            optimizer,
            targets,
            vocabulary,
            epochs=2,
            batch_size=4,
            value_weight=value_weight,
            generator=torch.Generator().manual_seed(0),
        )
        assert np.isfinite(losses["policy_loss"]) and np.isnan(losses["value_loss"])


# --- the ladder ----------------------------------------------------------------------------------

PERSONAS = (
    Persona(name="random", kind="random", rating=400),
    Persona(name="greedy", kind="greedy", rating=800),
    Persona(name="sf1350", kind="stockfish", rating=1350),
)


def test_ladder_schedule_pairs_every_player_with_every_anchor():
    anchors = anchor_specs(PERSONAS[:2], ["random", "greedy"])
    players = anchors + [PlayerSpec(name="sim@none", agent="sim", kind="simulator", prompt="none", checkpoint="x")]
    tasks = schedule(players, 4, [("e2e4",), ("d2d4",)], seed=0)
    assert [len(t) for t in tasks] == [4, 8]  # anchor pair, then sim against both anchors
    sim_games = tasks[1]
    assert sum(g.white == "sim@none" for g in sim_games) == 4
    assert [g.opening for g in sim_games[:4]] == [("e2e4",), ("d2d4",)] * 2
    with pytest.raises(ValueError, match="sf9999"):
        anchor_specs(PERSONAS, ["sf9999"])


@pytest.mark.stockfish
def test_a_small_ladder_plays_and_fits(tiny_simulator, stockfish):
    anchors = anchor_specs(PERSONAS[:2], ["random", "greedy"])
    players = anchors + [
        PlayerSpec(name=f"sim@{p}", agent="sim", kind="simulator", prompt=p, checkpoint=str(tiny_simulator))
        for p in ("none", "greedy")
    ]
    players.append(
        PlayerSpec(name="pikl@none", agent="pikl", kind="pikl", prompt="none", checkpoint=str(tiny_simulator), lam=0.1)
    )
    players.append(  # the exact frontier, played: Stockfish's action values at 500 nodes every move
        PlayerSpec(
            name="frontier@none",
            agent="frontier",
            kind="frontier",
            prompt="none",
            checkpoint=str(tiny_simulator),
            lam=0.01,
        )
    )
    tasks = schedule(players, 2, [("e2e4",)], seed=0)
    games = play_ladder(
        players,
        tasks,
        EngineConfig(path=None, threads=1, hash_mb=16),
        nodes_per_move=100,
        max_plies=20,
        workers=1,
        progress=False,
        frontier_nodes=500,
    )
    assert len(games) == sum(len(t) for t in tasks)
    table, resampled = fit_ladder(games, players, "random", 400.0, seed=0, resamples=20)
    assert set(table.player) == {p.name for p in players} == set(resampled.columns) and len(resampled) == 20
    assert table.loc[table.player == "random", "elo"].item() == 400.0
    assert (table.low <= table.elo + 1e-6).all() and (table.elo <= table.high + 1e-6).all()


def test_match_seed_is_stable_and_distinct():
    assert match_seed("a", 1, 2) == match_seed("a", 1, 2)
    assert match_seed("a", 1, 2) != match_seed("a", 2, 1)


def test_score_frontier_ranks_betas_with_a_stratified_interval():
    from simagents.agents.rlft import score_frontier

    rng = np.random.default_rng(0)
    scores = {
        beta: rng.choice([0.0, 0.5, 1.0], size=200, p=[0.5 - p / 2, 0.5, p / 2])
        for beta, p in ((0.0, 0.8), (0.1, 0.5), (1.0, 0.2))
    }
    row = score_frontier(scores, seed=1, resamples=300)
    assert row["value"] == pytest.approx(-1.0) and row["high"] < 0 and row["n"] == 600
    assert "stratified" in row["method"]
    with pytest.raises(ValueError, match="at least 3 betas"):
        score_frontier({0.0: scores[0.0], 1.0: scores[1.0]}, seed=1)


def test_simulator_scores_only_the_legal_moves_it_is_asked_for(tiny_simulator):
    """action_logits equals the full forward pass gathered at the given actions."""
    import torch

    from simagents.encoding import encode_boards, legal_actions, to_planes

    model, _ = load_simulator_and_vocabulary(tiny_simulator)
    boards = [chess.Board(), chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3")]
    planes = torch.from_numpy(to_planes(encode_boards(boards)))
    own, opponent = torch.tensor([0, 1]), torch.tensor([1, 0])
    full, _ = model(planes, own, opponent)
    actions = [legal_actions(b)[0] for b in boards]
    padded = torch.zeros(2, max(map(len, actions)), dtype=torch.long)
    for row, a in zip(padded, actions):
        row[: len(a)] = torch.from_numpy(a.astype(np.int64))
    partial = model.action_logits(planes, own, opponent, padded)
    for i, a in enumerate(actions):
        torch.testing.assert_close(partial[i, : len(a)], full[i, torch.from_numpy(a.astype(np.int64))])
