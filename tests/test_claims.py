"""The claims ledger: loading, each kind of test, its controls, verdicts, and the project's ledger."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from simagents.agents.roster import roles as ledger_roles
from simagents.config import load_config
from simagents.report.claims import (
    CANNOT_DECIDE,
    HUMAN_DATA,
    NOT_SUPPORTED,
    NOT_TESTABLE,
    SUPPORTED,
    LedgerError,
    evaluate_claims,
    load_ledger,
)

REPO = Path(__file__).resolve().parents[1]


def _metric(policy: str, metric: str, value: float, low: float, high: float, prompt: str = "(across prompts)") -> dict:
    return {
        "policy": policy,
        "model_prompt": prompt,
        "data_prompt": "all",
        "metric": metric,
        "value": value,
        "low": low,
        "high": high,
        "n": 100,
        "method": "test",
    }


def _ledger(tmp_path: Path, tests: str) -> Path:
    path = tmp_path / "claims.yaml"
    path.write_text(f"""version: 2
claims:
  - id: X1
    name: a claim
    statement: something holds
    figure: none
    tests:
{tests}""")
    return path


# "oracle" is the positive control (it has the property), "blind" the negative one (it lacks it);
# "flat" is a control that cannot be told from the negative one.
TABLES = {
    "metrics": pd.DataFrame(
        [
            _metric("sim", "jsd", 0.10, 0.08, 0.12),
            _metric("oracle", "jsd", 0.30, 0.28, 0.32),
            _metric("blind", "jsd", 0.00, 0.00, 0.01),
            _metric("flat", "jsd", 0.02, 0.01, 0.04),
            _metric("sim", "slope", 0.9, 0.6, 1.2),
            _metric("oracle", "slope", 1.0, 0.9, 1.1),
            _metric("blind", "slope", 0.0, -0.1, 0.1),
            _metric("sim", "decisive_win", 0.11, 0.08, 0.14, prompt="random"),
            _metric("oracle", "decisive_win", 0.10, 0.09, 0.11, prompt="random"),
            _metric("blind", "decisive_win", 0.60, 0.55, 0.65, prompt="random"),
            _metric("random_mover", "decisive_win", 0.10, 0.07, 0.13, prompt="none"),
            _metric("sim", "undefined", math.nan, math.nan, math.nan),
            _metric("oracle", "undefined", 1.0, 0.9, 1.1),
            _metric("blind", "undefined", 0.0, 0.0, 0.1),
        ]
    ),
    "truth_metrics": pd.DataFrame([_metric("sim", "kl", 0.2, 0.1, 0.3)]),
}


def _test(label: str, where: str, test: str, positive: str = "oracle", negative: str = "blind") -> str:
    return f"""      - label: {label}
        source: metrics
        where: {where}
        {test}
        controls: {{positive: {positive}, negative: {negative}}}
"""


def _one(tmp_path: Path, tests: str, **kwargs: object) -> pd.DataFrame:
    return evaluate_claims(load_ledger(_ledger(tmp_path, tests)), TABLES, {"simulator": "sim"}, **kwargs)


@pytest.mark.parametrize(
    "test, verdict",
    [
        ("above: 0.05", SUPPORTED),
        ("above: 0.09", NOT_SUPPORTED),  # the interval's low end decides, not the value
    ],
)
def test_above_compares_the_whole_interval(tmp_path, test, verdict):
    table = _one(tmp_path, _test("t", '{policy: "{simulator}", metric: jsd}', test))
    assert table.verdict.tolist() == [verdict]
    assert table.value.item() == pytest.approx(0.10)
    assert table.positive_passed.item() == "yes" and table.negative_passed.item() == "no"
    assert table.valid.item() == "yes"


def test_below_swaps_the_roles_of_the_controls(tmp_path):
    # Low divergence is the property here: the prompt-blind control has it, the oracle does not.
    table = _one(tmp_path, _test("t", "{policy: sim, metric: jsd}", "below: 0.2", "blind", "oracle"))
    assert table.verdict.item() == SUPPORTED
    failing = _one(tmp_path, _test("t", "{policy: sim, metric: jsd}", "below: 0.11", "blind", "oracle"))
    assert failing.verdict.item() == NOT_SUPPORTED


def test_within_and_near(tmp_path):
    table = _one(
        tmp_path,
        _test("slope near 1", "{policy: sim, metric: slope}", "within: [0.5, 1.5]")
        + """      - label: like a random mover
        source: metrics
        where: {policy: sim, model_prompt: random, metric: decisive_win}
        near:
          of: {source: metrics, where: {policy: random_mover, metric: decisive_win}}
          tolerance: 0.05
        controls: {positive: oracle, negative: blind}
""",
    )
    assert table.passed.tolist() == ["yes", "yes"] and set(table.verdict) == {SUPPORTED}
    narrow = _one(
        tmp_path,
        """      - label: too strict
        source: metrics
        where: {policy: sim, model_prompt: random, metric: decisive_win}
        near:
          of: {source: metrics, where: {policy: random_mover, metric: decisive_win}}
          tolerance: 0.02
        controls: {positive: oracle, negative: blind}
""",
    )
    assert narrow.verdict.item() == NOT_SUPPORTED  # 0.08..0.14 is not within 0.10 +- 0.02
    assert narrow.positive_passed.item() == "yes"  # 0.09..0.11 is


def test_above_fraction_scales_the_reference_value(tmp_path):
    tests = """      - label: most of the oracle's spread
        source: metrics
        where: {policy: sim, metric: jsd}
        above_fraction:
          of: {source: metrics, where: {policy: oracle, metric: jsd}}
          fraction: %s
        controls: {positive: oracle, negative: blind}
"""
    assert _one(tmp_path, tests % "0.25").verdict.item() == SUPPORTED  # 0.08 > 0.25 x 0.30
    failing = _one(tmp_path, tests % "0.5")  # 0.08 < 0.15
    assert failing.verdict.item() == NOT_SUPPORTED
    assert "0.150" in failing.expectation.item()


def test_controls_that_do_not_separate_leave_the_test_undecided(tmp_path):
    # A negative control that passes: the threshold is too lax to tell anything apart, so even
    # a passing measurement decides nothing.
    lax = _one(tmp_path, _test("t", "{policy: sim, metric: jsd}", "above: 0.001", negative="flat"))
    assert lax.passed.item() == "yes" and lax.negative_passed.item() == "yes"
    assert lax.valid.item() == "no" and lax.verdict.item() == CANNOT_DECIDE
    # A positive control that fails: the threshold is too strict for anything to pass, so a
    # failing measurement is no evidence against the claim either.
    strict = _one(tmp_path, _test("t", "{policy: sim, metric: jsd}", "above: 0.5"))
    assert strict.passed.item() == "no" and strict.positive_passed.item() == "no"
    assert strict.verdict.item() == CANNOT_DECIDE
    # A missing control is not a separation.
    absent = _one(tmp_path, _test("t", "{policy: sim, metric: jsd}", "above: 0.05", positive="nobody"))
    assert absent.positive_passed.item() == "n/a" and absent.verdict.item() == CANNOT_DECIDE


def test_a_valid_failure_outweighs_an_undecided_test(tmp_path):
    table = _one(
        tmp_path,
        _test("undecided", "{policy: sim, metric: jsd}", "above: 0.5")
        + _test("fails", "{policy: sim, metric: jsd}", "above: 0.09"),
    )
    assert table.valid.tolist() == ["no", "yes"] and set(table.verdict) == {NOT_SUPPORTED}


def test_one_failing_test_fails_the_claim_and_missing_rows_are_not_testable(tmp_path):
    table = _one(
        tmp_path,
        _test("passes", "{policy: sim, metric: jsd}", "above: 0.05")
        + _test("fails", "{policy: sim, metric: jsd}", "above: 0.09"),
    )
    assert table.passed.tolist() == ["yes", "no"] and set(table.verdict) == {NOT_SUPPORTED}
    for where in ("{policy: sim, metric: no_such_metric}", "{policy: sim, metric: undefined}"):
        missing = _one(tmp_path, _test("missing", where, "above: 0.5"))
        assert missing.verdict.item() == NOT_TESTABLE and missing.passed.item() == "n/a"
    no_table = _ledger(
        tmp_path,
        """      - label: no table
        source: agent_metrics
        where: {policy: sim, metric: jsd}
        above: 0
        controls: {positive: oracle, negative: blind}
""",
    )
    assert evaluate_claims(load_ledger(no_table), TABLES, {}).verdict.item() == NOT_TESTABLE


def test_tests_on_the_truth_are_not_testable_on_human_data(tmp_path):
    tests = """      - label: close to the truth
        source: truth_metrics
        where: {policy: sim, metric: kl}
        below: 0.5
        controls: {positive: oracle, negative: blind}
"""
    synthetic = _one(tmp_path, tests)
    assert synthetic.passed.item() == "yes"
    human = _one(tmp_path, tests, human_data=True)
    assert human.verdict.item() == HUMAN_DATA and human.passed.item() == "n/a"


BASE = "      - label: t\n        source: metrics\n        where: {policy: sim}\n"
CONTROLS = "        controls: {positive: a, negative: b}\n"


@pytest.mark.parametrize(
    "tests, message",
    [
        (BASE + CONTROLS, "exactly one of"),
        (BASE.replace("metrics", "nowhere") + "        above: 0\n" + CONTROLS, "unknown source"),
        ("      - label: t\n        source: metrics\n        above: 0\n", "where mapping"),
        (
            "      - label: t\n        source: metrics\n        where: {policy: sim}\n        above: 0\n",
            "needs controls",
        ),
        (BASE + "        above: 0\n" + CONTROLS.replace("b}", "b, subject: agent}"), "does not select"),
    ],
)
def test_malformed_ledgers_name_the_problem(tmp_path, tests, message):
    with pytest.raises(LedgerError, match=message):
        load_ledger(_ledger(tmp_path, tests))


def test_an_old_ledger_version_is_refused(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text("version: 1\nclaims: []\n")
    with pytest.raises(LedgerError, match="version: 2"):
        load_ledger(path)


def test_an_ambiguous_selection_is_an_error(tmp_path):
    with pytest.raises(LedgerError, match="matches 4 rows"):
        _one(tmp_path, _test("t", "{policy: sim}", "above: 0"))


def test_the_project_ledger_defines_c1_to_c6_with_controls_and_known_figures():
    from simagents.report.figures import FIGURES

    claims = load_ledger(REPO / "config" / "claims.yaml")
    assert [c.id for c in claims] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert all(c.tests for c in claims)
    assert {c.figure for c in claims} <= set(FIGURES)
    values = ledger_roles(load_config(REPO / "config" / "default.yaml"))
    for claim in claims:
        for test in claim.tests:
            assert test.positive != test.negative, f"{claim.id} {test.label}: the controls must differ"
            for value in [*test.where.values(), test.positive, test.negative]:
                value.format(**values)  # every {role} resolves


def test_committed_default_claims_match_the_ledger():
    """The committed claims table was made from the committed ledger: same tests, same digest."""
    committed = pd.read_csv(REPO / "results" / "default" / "claims.csv")
    claims = load_ledger(REPO / "config" / "claims.yaml")
    assert list(committed.test) == [t.label for c in claims for t in c.tests]
    from simagents.report.claims import ledger_sha256

    assert set(committed.ledger_sha256) == {ledger_sha256(REPO / "config" / "claims.yaml")}
