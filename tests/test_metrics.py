"""The metric battery on hand-built policies whose answers are known (no engine needed)."""

from __future__ import annotations

import math

import chess
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from simagents.encoding import move_to_action
from simagents.evaluation.metrics import ALL, evaluate_policy, jensen_shannon, observed_rates, position_values
from simagents.policies import MoveDistribution, RandomMover
from simagents.stats import spearman

FENS = [
    "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1",  # e2e4 best, others mistakes
    "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1",  # Ra8# mate in one
    "4k3/8/8/3q4/2P5/8/8/4K3 w - - 0 1",
]  # cxd5 wins the queen
BEST = ["e2e4", "a1a8", "c4d5"]
PLAYED = ["e2e4", "h2h3", "c4d5"]


def _tables() -> tuple[pa.Table, pa.Table]:
    rows = []
    for pid, (fen, best) in enumerate(zip(FENS, BEST)):
        board = chess.Board(fen)
        for move in board.legal_moves:
            uci = move.uci()
            is_best = uci == best
            rows.append(
                {
                    "position_id": pid,
                    "move": uci,
                    "action": move_to_action(move, board.turn),
                    "mate": 1 if (pid == 1 and is_best) else 0,
                    "win_chance": 1.0 if is_best else 0.5,
                    "loss": 0.0 if is_best else (0.25 if pid == 0 else 0.5),
                }
            )
    eval_positions = pa.table(
        {
            "position_id": list(range(3)),
            "fen": FENS,
            "own_prompt": ["a", "b", "b"],
            "opponent_prompt": ["b", "a", "a"],
            "played_action": [move_to_action(chess.Move.from_uci(m), chess.WHITE) for m in PLAYED],
        }
    )
    return eval_positions, pa.Table.from_pylist(rows)


class AlwaysBest:
    name = "best"

    def distributions(self, boards, own, opp):
        out = []
        for board in boards:
            moves = list(board.legal_moves)
            best = next(m for m in moves if m.uci() in BEST)
            out.append(MoveDistribution.point_mass(moves, best))
        return out

    def close(self):
        pass


def _metric(frame, metric, prompt="a", data_prompt=ALL):
    row = frame[(frame.metric == metric) & (frame.model_prompt == prompt) & (frame.data_prompt == data_prompt)]
    assert len(row) == 1, (metric, prompt, data_prompt)
    return row.iloc[0]


def test_always_best_has_zero_loss_and_takes_every_decisive_win():
    eval_positions, action_values = _tables()
    values = position_values(eval_positions, action_values)
    assert [pv.decisive.sum() for pv in values] == [0, 1, 1]  # mate in one, winning capture
    frame = evaluate_policy(AlwaysBest(), ["a", "b"], eval_positions, values, seed=0)
    assert _metric(frame, "expected_loss").value == 0.0
    assert _metric(frame, "p_mistake").value == 0.0
    assert _metric(frame, "decisive_win").value == 1.0 and _metric(frame, "decisive_win").n == 2
    assert _metric(frame, "top1").value == pytest.approx(2 / 3)
    assert _metric(frame, "entropy").value == 0.0
    assert _metric(frame, "jsd", prompt="(across prompts)").value == 0.0  # prompts change nothing
    row = _metric(frame, "expected_loss")
    assert row.low <= row.value <= row.high and "bootstrap over positions" in row.method


def test_uniform_has_entropy_log_n_and_chance_level_decisive_wins():
    eval_positions, action_values = _tables()
    values = position_values(eval_positions, action_values)
    frame = evaluate_policy(RandomMover(), ["a"], eval_positions, values, seed=0)
    n_legal = [chess.Board(f).legal_moves.count() for f in FENS]
    assert _metric(frame, "entropy").value == pytest.approx(np.mean(np.log(n_legal)))
    assert _metric(frame, "decisive_win").value == pytest.approx(np.mean([1 / n_legal[1], 1 / n_legal[2]]))
    assert _metric(frame, "cross_entropy").value == pytest.approx(np.mean(np.log(n_legal)))
    # every move ties for first: each scores 1/n, whatever the order of the action values
    assert _metric(frame, "top1").value == pytest.approx(np.mean([1 / n for n in n_legal]))
    assert _metric(frame, "expected_loss", data_prompt="a").value == pytest.approx(0.25 * (1 - 1 / n_legal[0]))


def test_observed_rates_of_the_data():
    eval_positions, action_values = _tables()
    frame = observed_rates(eval_positions, position_values(eval_positions, action_values))
    assert _metric(frame, "p_mistake", prompt="b", data_prompt="b").value == 0.5  # h2h3 missed the mate
    assert _metric(frame, "p_mistake", prompt="a", data_prompt="a").value == 0.0


def test_jensen_shannon():
    p, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert jensen_shannon(p, p) == 0.0
    assert jensen_shannon(p, q) == pytest.approx(math.log(2))


class PromptedOracle:
    """Plays the best move under prompt ``a`` and uniformly under prompt ``b`` (and under none:
    half of each), so the true prompt beats none, which beats a wrong prompt, on known data."""

    name = "simulator_oracle"

    def distributions(self, boards, own, opp):
        out = []
        for board, prompt in zip(boards, own):
            moves = list(board.legal_moves)
            uniform = np.full(len(moves), 1.0 / len(moves))
            best = np.array([1.0 if m.uci() in BEST else 0.0 for m in moves])
            probs = {"a": best, "b": uniform, "none": 0.5 * best + 0.5 * uniform}[prompt]
            out.append(MoveDistribution(moves, probs))
        return out


def test_true_none_shuffled_strength_rows_and_checks():
    eval_positions, action_values = _tables()
    # Four copies of the three positions, so the shuffle and the bootstrap have room.
    eval_positions = pa.concat_tables([eval_positions] * 4)
    eval_positions = eval_positions.set_column(0, "position_id", pa.array(range(12)))
    eval_positions = eval_positions.set_column(
        eval_positions.column_names.index("own_prompt"), "own_prompt", pa.array(["a", "b", "b"] * 4)
    )
    action_values = pa.concat_tables(
        [
            action_values.set_column(
                0, "position_id", pa.array([pid + 3 * k for pid in action_values.column("position_id").to_pylist()])
            )
            for k in range(4)
        ]
    )
    values = position_values(eval_positions, action_values)
    frame = evaluate_policy(
        PromptedOracle(),
        ["none", "a", "b"],
        eval_positions,
        values,
        seed=0,
        strengths={"a": 2000.0, "b": 400.0, "none": 1000.0},
    )
    # Under the true prompt: best move where `a` moved, uniform where `b` moved.
    n_legal = [chess.Board(f).legal_moves.count() for f in FENS]
    expected_ce = np.mean([0.0, np.log(n_legal[1]), np.log(n_legal[2])])
    assert _metric(frame, "cross_entropy", prompt="(true)").value == pytest.approx(expected_ce)
    assert _metric(frame, "top1", prompt="(true) - none", data_prompt=ALL).n == 12
    assert _metric(frame, "spearman_strength", prompt="(across prompts)").value == pytest.approx(1.0)
    assert _metric(frame, "entropy_ratio", prompt="b").value == pytest.approx(1.0)
    assert _metric(frame, "entropy_ratio", prompt="a").value == 0.0

    from simagents.evaluation.checks import calibration_table, simulator_checks

    frame = pd.concat([frame, observed_rates(eval_positions, values)], ignore_index=True)
    checks = simulator_checks(frame, random_prompt="b").set_index("check")
    assert checks.loc["random_prompt_entropy", "verdict"] == "holds"  # `b` is exactly uniform
    assert checks.loc["strength_rank", "value"] == pytest.approx(1.0)
    assert set(checks.verdict) <= {"holds", "fails"}
    none_checks = simulator_checks(frame, random_prompt=None)
    assert "random_prompt_entropy" not in set(none_checks.check)
    wrong = simulator_checks(frame, random_prompt="a").set_index("check")  # `a` is certain, not uniform
    assert wrong.loc["random_prompt_entropy", "verdict"] == "fails"
    calibration = calibration_table(frame)
    assert list(calibration.prompt) == ["a", "b"]
    row = calibration.set_index("prompt").loc["a"]
    assert row.predicted == 0.0 and row.observed == 0.0  # `a` plays the best move, and so did the data


def test_unknown_rating_is_measured_as_a_prompt_so_the_checks_decide():
    """Human data with unrated players (prompt ``unknown``, issue 21): the battery measures
    ``unknown`` like any band, so the true-prompt rows and the checks cover every position."""
    from simagents.evaluation.checks import simulator_checks
    from simagents.prompts import measured_prompts

    eval_positions, action_values = _tables()
    eval_positions = pa.concat_tables([eval_positions] * 4)
    eval_positions = eval_positions.set_column(0, "position_id", pa.array(range(12)))
    data_prompts = ["a", "unknown", "unknown"] * 4  # `unknown` players play like `b`: uniformly
    eval_positions = eval_positions.set_column(
        eval_positions.column_names.index("own_prompt"), "own_prompt", pa.array(data_prompts)
    )
    action_values = pa.concat_tables(
        [
            action_values.set_column(
                0, "position_id", pa.array([pid + 3 * k for pid in action_values.column("position_id").to_pylist()])
            )
            for k in range(4)
        ]
    )
    values = position_values(eval_positions, action_values)
    vocabulary = ["none", "unknown", "a", "b"]
    assert measured_prompts(vocabulary, ["a", "b"]) == ["none", "a", "b"]  # no unrated player: not measured
    prompts = measured_prompts(vocabulary, data_prompts)
    assert prompts == vocabulary

    class UnknownLikeB(PromptedOracle):
        def distributions(self, boards, own, opp):
            return super().distributions(boards, ["b" if p == "unknown" else p for p in own], opp)

    without = evaluate_policy(UnknownLikeB(), ["none", "a", "b"], eval_positions, values, seed=0)
    assert "(true)" not in set(without.model_prompt)  # the old behaviour: every check not applicable
    frame = evaluate_policy(UnknownLikeB(), prompts, eval_positions, values, seed=0)
    assert _metric(frame, "top1", prompt="(true)").n == 12
    frame = pd.concat([frame, observed_rates(eval_positions, values)], ignore_index=True)
    checks = simulator_checks(frame, random_prompt=None).set_index("check")
    assert checks.loc["top1_true_over_none", "verdict"] in {"holds", "fails"}
    assert checks.loc["ce_none_under_shuffled", "verdict"] in {"holds", "fails"}


def test_spearman():
    assert spearman(np.array([1, 2, 3]), np.array([10, 20, 30])) == pytest.approx(1.0)
    assert spearman(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(-1.0)
    assert np.isnan(spearman(np.array([1, 2, 3]), np.array([1, 1, 1])))


def _four_copies() -> tuple[pa.Table, pa.Table]:
    eval_positions, action_values = _tables()
    eval_positions = pa.concat_tables([eval_positions] * 4)
    eval_positions = eval_positions.set_column(0, "position_id", pa.array(range(12)))
    action_values = pa.concat_tables(
        [
            action_values.set_column(
                0, "position_id", pa.array([pid + 3 * k for pid in action_values.column("position_id").to_pylist()])
            )
            for k in range(4)
        ]
    )
    return eval_positions, action_values


def test_across_prompt_statistics_have_known_values():
    eval_positions, action_values = _four_copies()
    values = position_values(eval_positions, action_values)
    frame = evaluate_policy(PromptedOracle(), ["none", "a", "b"], eval_positions, values, seed=0)
    n = [chess.Board(f).legal_moves.count() for f in FENS]
    # Prompt `a` (the data's a-player: position 0, best move played) predicts no mistakes, as observed;
    # prompt `b` is uniform: mistake mass (n-1)/n on positions 1 and 2, where b erred once in two.
    predicted_b = np.mean([(n[1] - 1) / n[1], (n[2] - 1) / n[2]])
    assert _metric(frame, "calibration_max_error", prompt="(across prompts)").value == pytest.approx(
        abs(predicted_b - 0.5)
    )
    assert _metric(frame, "calibration_slope", prompt="(across prompts)").value == pytest.approx(0.5 / predicted_b)
    # Decisive positions are 1 (mate) and 2 (winning capture): `a` takes them, `b` with 1/n.
    assert _metric(frame, "decisive_win_min", prompt="(across prompts)").value == pytest.approx(
        np.mean([1 / n[1], 1 / n[2]])
    )
    uniform_loss = np.mean([(n[0] - 1) / n[0] * 0.25, (n[1] - 1) / n[1] * 0.5, (n[2] - 1) / n[2] * 0.5])
    assert _metric(frame, "expected_loss_spread", prompt="(across prompts)").value == pytest.approx(uniform_loss)
    observed = observed_rates(eval_positions, values)
    # b's played moves: h2h3 (missed the mate), c4d5 (took the queen)
    assert _metric(observed, "decisive_win", prompt="b", data_prompt="b").value == pytest.approx(0.5)


class Tempered:
    """Best move with probability ``p``, the rest spread uniformly: entropy falls as p rises."""

    def __init__(self, name, p):
        self.name, self.p = name, p

    def distributions(self, boards, own, opp):
        out = []
        for board in boards:
            moves = list(board.legal_moves)
            best = np.array([m.uci() in BEST for m in moves], float)
            out.append(MoveDistribution(moves, self.p * best + (1 - self.p) * (1 - best) / (len(moves) - 1)))
        return out


def test_frontier_statistics_rank_the_family():
    from simagents.evaluation.metrics import agent_battery

    eval_positions, action_values = _four_copies()
    policies = {f"rl{b}": (Tempered(f"rl{b}", p), ["a", "b"]) for b, p in ((0.0, 0.99), (0.1, 0.7), (1.0, 0.4))}
    frame = agent_battery(eval_positions, action_values, policies, {"rl0.0": 0.0, "rl0.1": 0.1, "rl1.0": 1.0})
    family = frame[frame.policy == "beta family"].set_index("metric")
    assert family.loc["spearman_beta_entropy", "value"] == pytest.approx(1.0)  # more beta, more entropy
    assert family.loc["spearman_beta_expected_loss", "value"] == pytest.approx(1.0)
    assert family.loc["spearman_beta_decisive_win", "value"] == pytest.approx(-1.0)
    # Every learner ranks the best move first and ignores the prompt: no rank to correlate.
    assert np.isnan(family.loc["spearman_beta_top1", "value"]) and np.isnan(family.loc["spearman_beta_jsd", "value"])
    ranked = family.dropna(subset=["value"])
    assert (ranked.low <= ranked.value + 1e-12).all() and (ranked.value <= ranked.high + 1e-12).all()
    assert {"played", "rl0.0"} <= set(frame.policy)


def test_agent_subset_takes_per_prompt_and_renumbers():
    from simagents.evaluation.metrics import agent_subset

    eval_positions, action_values = _four_copies()
    positions, values = agent_subset(eval_positions, action_values, per_prompt=2, seed=3)
    assert positions.column("position_id").to_pylist() == [0, 1, 2, 3]
    assert sorted(positions.column("own_prompt").to_pylist()) == ["a", "a", "b", "b"]
    assert sorted(set(values.column("position_id").to_pylist())) == [0, 1, 2, 3]
    rebuilt = position_values(positions, values)  # aligned again: every position finds its moves
    assert len(rebuilt) == 4
