"""Measurements against the truth, the controls and the exact frontier, on hand-built distributions."""

from __future__ import annotations

import chess
import numpy as np
import pandas as pd
import pytest

from simagents.evaluation.frontier import exact_frontier, learner_frontier_gaps, tilt, tilt_rows
from simagents.evaluation.metrics import PositionValues, _per_position
from simagents.evaluation.padded import pad
from simagents.evaluation.truth_metrics import truth_metrics
from simagents.report.claims import CANNOT_DECIDE, NOT_SUPPORTED, SUPPORTED, Claim, evaluate_claims
from simagents.report.claims import Test as LedgerTest
from simagents.stats import JointBootstrap, bootstrap_mean

RNG = np.random.default_rng(0)
N = 60


def _values(n: int = N) -> list[PositionValues]:
    out = []
    for i in range(n):
        k = 4 + i % 3
        loss = np.linspace(0.0, 0.6, k)
        mate = np.zeros(k, bool)
        mate[0] = i % 5 == 0
        out.append(PositionValues(np.arange(k, dtype=np.int16), loss, mate.copy(), mate, np.zeros(k, bool), -loss))
    return out


def _dists(values: list[PositionValues], sharp: float) -> list[np.ndarray]:
    """Distributions that favour the better moves more, the larger ``sharp``."""
    out = []
    for pv in values:
        w = np.exp(-sharp * pv.loss * 10)
        out.append(w / w.sum())
    return out


@pytest.fixture(scope="module")
def toy():
    """Three personas of different sharpness, the oracle (their truth), a prompt-blind policy."""
    values = _values()
    truth = {"weak": _dists(values, 0.0), "mid": _dists(values, 0.5), "strong": _dists(values, 3.0)}
    prompts = [*truth, "none"]
    oracle = [{**truth, "none": _dists(values, 0.5)}]
    blind = [dict.fromkeys(prompts, _dists(values, 0.5))]
    played = np.zeros(N, dtype=np.int64)
    data_prompts = np.array([list(truth)[i % 3] for i in range(N)])
    table = truth_metrics({"oracle": oracle, "blind": blind}, truth, values, played, data_prompts,
                          engines=["mid", "strong"], random_persona="weak")  # fmt: skip
    return values, truth, table


def _get(table: pd.DataFrame, policy: str, persona: str, prompt: str, metric: str) -> pd.Series:
    rows = table[(table.policy == policy) & (table.persona == persona) & (table.model_prompt == prompt)
                 & (table.metric == metric)]  # fmt: skip
    assert len(rows) == 1, (policy, persona, prompt, metric)
    return rows.iloc[0]


def test_a_policy_equal_to_the_truth_has_no_divergence(toy):
    _, truth, table = toy
    for persona in truth:
        row = _get(table, "oracle", persona, persona, "kl")
        assert abs(row.value) < 1e-3 and abs(row.low) < 1e-3 and abs(row.high) < 1e-3
        assert _get(table, "oracle", persona, persona, "tv").value == pytest.approx(0.0, abs=1e-12)
    assert _get(table, "oracle", "weak", "strong", "kl").value > 0.5


def test_the_oracle_passes_the_diagonal_test_and_the_prompt_blind_policy_fails_it(toy):
    _, _, table = toy
    oracle = _get(table, "oracle", "(across prompts)", "(across prompts)", "diagonal_margin")
    blind = _get(table, "blind", "(across prompts)", "(across prompts)", "diagonal_margin")
    assert oracle.low > 0.05
    assert blind.value == pytest.approx(0.0) and blind.high <= 0.0  # equal columns: no margin
    assert _get(table, "oracle", "(across prompts)", "(across prompts)", "mistake_gap_max").value < 1e-12
    assert _get(table, "blind", "(across prompts)", "(across prompts)", "mistake_gap_max").value > 0.05


def test_ceilings_are_the_personas_own(toy):
    _, truth, table = toy
    weak = _get(table, "truth", "weak", "(own)", "top1_ceiling")
    assert weak.value == pytest.approx(np.mean([p.max() for p in truth["weak"][::3]]))
    entropy = _get(table, "truth", "weak", "(own)", "entropy")
    assert entropy.value == pytest.approx(np.mean([np.log(len(p)) for p in truth["weak"]]))


def test_top1_splits_ties_among_the_most_likely_moves():
    values = _values(3)
    uniform = [np.full(len(pv.actions), 1.0 / len(pv.actions)) for pv in values]
    top1 = _per_position(uniform, values, np.zeros(3, dtype=np.int64))["top1"]
    assert top1 == pytest.approx([1 / len(pv.actions) for pv in values])


def test_the_joint_bootstrap_is_the_plain_bootstrap_for_one_seed():
    data = RNG.normal(size=300)
    boot = JointBootstrap(1, 300, seed=4)
    iv = boot.interval(*boot.mean(data))
    plain = bootstrap_mean(data, seed=4)
    assert (iv.value, iv.low, iv.high) == pytest.approx((plain.value, plain.low, plain.high))
    seeds = JointBootstrap(3, 300, seed=4)
    spread = np.stack([data, data + 1.0, data - 1.0])
    wide = seeds.interval(*seeds.mean(spread))
    assert wide.high - wide.low > iv.high - iv.low  # the seeds' differences widen the interval
    assert "3 trained seeds" in wide.method


def test_the_tilt_is_the_closed_form_optimum():
    p = np.array([0.5, 0.3, 0.2])
    q = np.array([0.0, 0.1, -0.2])
    assert tilt(p, q, float("inf")) is p
    beta = 0.1
    expected = p * np.exp(q / beta)
    assert tilt(p, q, beta) == pytest.approx(expected / expected.sum())
    assert tilt(p, q, 1e-6) == pytest.approx([0, 1, 0], abs=1e-9)  # greedy in Q
    rows = tilt_rows(pad([p, np.array([1.0, 0.0])]), pad([q, np.array([0.0, 1.0])]), pad(
        [np.ones(3, bool), np.ones(2, bool)], False), beta)  # fmt: skip
    assert rows[0] == pytest.approx(expected / expected.sum())
    assert rows[1] == pytest.approx([1.0, 0.0, 0.0])  # the tilt cannot reach a move the policy rules out


def test_the_frontier_collapses_prompt_sensitivity_for_a_full_support_policy(toy):
    values, truth, _ = toy
    smoothed = {k: [0.999 * p + 0.001 / len(p) for p in v] for k, v in truth.items()}
    frontier = exact_frontier({"smooth": [smoothed]}, values, [pv.win_chance for pv in values],
                              np.zeros(N, dtype=np.int64), np.array(["weak"] * N), list(truth), truth=truth)  # fmt: skip
    drop = frontier[(frontier.family == "smooth") & (frontier.metric == "drop_loss_spread")].iloc[0]
    assert drop.low > 0  # from the personas' spread at beta = infinity to none near argmax Q
    grew = frontier[(frontier.family == "smooth") & (frontier.metric == "drop_truth_kl")].iloc[0]
    assert grew.high < 0


def _claims(rows: list[dict[str, object]]) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    test = LedgerTest("t", "metrics", {"policy": "{simulator}", "metric": "m"}, "above", 0.5, "policy", "good", "bad")
    return evaluate_claims([Claim("C9", "x", "s", "f", (test,))], {"metrics": table}, {"simulator": "sim"})


def _row(policy: str, low: float) -> dict[str, object]:
    return {"policy": policy, "metric": "m", "value": low + 0.1, "low": low, "high": low + 0.2, "n": 10, "method": "b"}


def test_a_claim_is_decided_only_by_a_test_its_controls_separate():
    assert _claims([_row("sim", 0.6), _row("good", 0.9), _row("bad", 0.0)]).verdict.iloc[0] == SUPPORTED
    assert _claims([_row("sim", 0.1), _row("good", 0.9), _row("bad", 0.0)]).verdict.iloc[0] == NOT_SUPPORTED
    # the negative control passes too: the test cannot tell
    both = _claims([_row("sim", 0.6), _row("good", 0.9), _row("bad", 0.7)])
    assert both.verdict.iloc[0] == CANNOT_DECIDE and both.valid.iloc[0] == "no"
    # the positive control fails: a failing subject decides nothing either
    weak = _claims([_row("sim", 0.1), _row("good", 0.1), _row("bad", 0.0)])
    assert weak.verdict.iloc[0] == CANNOT_DECIDE


def test_the_oracle_plays_each_persona_and_their_mixture():
    from simagents.agents.controls import OraclePolicy
    from simagents.config import EngineConfig, Persona

    personas = [Persona(name="random", kind="random", rating=400), Persona(name="greedy", kind="greedy", rating=800)]
    oracle = OraclePolicy(personas, EngineConfig(path=None, threads=1, hash_mb=16), None, 100,
                          {"random": 3.0, "greedy": 1.0})  # fmt: skip
    board = chess.Board("4k3/8/8/3q4/8/8/3R4/4K3 w - - 0 1")  # the rook can take the queen
    (greedy,) = oracle.distributions([board], ["greedy"], ["none"])
    assert greedy.probs[list(greedy.moves).index(chess.Move.from_uci("d2d5"))] == pytest.approx(1.0)
    (mixed,) = oracle.distributions([board], ["none"], ["none"])
    n = len(mixed.moves)
    assert mixed.probs[list(mixed.moves).index(chess.Move.from_uci("d2d5"))] == pytest.approx(0.75 / n + 0.25)
    with pytest.raises(ValueError, match="knows the prompts"):
        oracle.distributions([board], ["sf2850"], ["none"])


def test_a_learner_at_its_exact_optimum_has_no_gap_and_one_that_stayed_put_has_one():
    values = _values()
    simulator = _dists(values, 0.5)
    beta = 0.1
    optimum = [tilt(p, pv.win_chance, beta) for p, pv in zip(simulator, values)]
    probabilities = {
        "simulator_seed0": {"none": simulator, "sf1350": simulator},
        "rlft_beta0.1_seed0": {"none": optimum, "sf1350": simulator},  # RL moved under none only
    }
    family = {"simulator_seed0": float("inf"), "rlft_beta0.1_seed0": beta}
    gaps = learner_frontier_gaps(family, probabilities, values, seed=0).set_index(["model_prompt", "metric"])
    assert set(gaps["policy"]) == {"rlft_beta0.1_seed0"} and (gaps["data_prompt"] == "all").all()
    reached = gaps.loc[("none", "kl_to_exact_optimum")]
    assert abs(reached["value"]) < 1e-9 and reached["low"] <= reached["value"] <= reached["high"]
    moved = gaps.loc[("none", "kl_to_simulator")]["value"]
    expected = np.mean([q @ np.log(q / p) for q, p in zip(optimum, simulator)])
    assert moved == pytest.approx(expected) and moved > 0.05
    stayed = gaps.loc[("sf1350", "kl_to_exact_optimum")]["value"]
    assert stayed == pytest.approx(np.mean([o @ np.log(o / p) for o, p in zip(optimum, simulator)]))
    assert abs(gaps.loc[("sf1350", "kl_to_simulator")]["value"]) < 1e-12
    # without the simulator the gaps cannot be computed: no rows, not an error
    assert learner_frontier_gaps({"rlft_beta0.1_seed0": beta}, probabilities, values).empty


def test_the_tilt_at_beta_zero_is_its_limit():
    p = np.array([0.5, 0.2, 0.2, 0.1, 0.0])
    q = np.array([0.1, 0.9, 0.9, 0.3, 1.0])  # the best move has no mass under p: out of reach
    np.testing.assert_allclose(tilt(p, q, 0.0), [0.0, 0.5, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(tilt(p, q, 0.0), tilt(p, q, 1e-6), atol=1e-12)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        tilt(p, q, -0.1)
