"""The claims ledger: loading, each kind of test, verdicts, and the project's own ledger."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from simagents.agents.roster import roles as ledger_roles
from simagents.config import load_config
from simagents.report.claims import (
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
    path.write_text(f"""version: 1
claims:
  - id: X1
    name: a claim
    statement: something holds
    figure: none
    tests:
{tests}""")
    return path


TABLES = {
    "metrics": pd.DataFrame(
        [
            _metric("sim", "jsd", 0.10, 0.08, 0.12),
            _metric("sim", "slope", 0.9, 0.6, 1.2),
            _metric("sim", "decisive_win", 0.11, 0.08, 0.14, prompt="random"),
            _metric("random_mover", "decisive_win", 0.10, 0.07, 0.13, prompt="none"),
            _metric("sim", "undefined", math.nan, math.nan, math.nan),
        ]
    )
}


def _one(tmp_path: Path, test: str) -> pd.DataFrame:
    return evaluate_claims(load_ledger(_ledger(tmp_path, test)), TABLES, {"simulator": "sim"})


@pytest.mark.parametrize(
    "test, verdict",
    [
        ("above: 0.05", SUPPORTED),
        ("above: 0.09", NOT_SUPPORTED),  # the interval's low end decides, not the value
        ("below: 0.2", SUPPORTED),
        ("below: 0.11", NOT_SUPPORTED),
    ],
)
def test_above_and_below_compare_the_whole_interval(tmp_path, test, verdict):
    table = _one(
        tmp_path,
        f"""      - label: t
        source: metrics
        where: {{policy: "{{simulator}}", metric: jsd}}
        {test}
""",
    )
    assert table.verdict.tolist() == [verdict]
    assert table.value.item() == pytest.approx(0.10)


def test_within_and_near(tmp_path):
    table = _one(
        tmp_path,
        """      - label: slope near 1
        source: metrics
        where: {policy: sim, metric: slope}
        within: [0.5, 1.5]
      - label: like a random mover
        source: metrics
        where: {policy: sim, model_prompt: random, metric: decisive_win}
        near:
          of: {source: metrics, where: {policy: random_mover, metric: decisive_win}}
          tolerance: 0.05
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
""",
    )
    assert narrow.verdict.item() == NOT_SUPPORTED  # 0.08..0.14 is not within 0.10 +- 0.02


def test_one_failing_test_fails_the_claim_and_missing_rows_are_not_testable(tmp_path):
    table = _one(
        tmp_path,
        """      - label: passes
        source: metrics
        where: {policy: sim, metric: jsd}
        above: 0
      - label: fails
        source: metrics
        where: {policy: sim, metric: jsd}
        above: 0.5
""",
    )
    assert table.passed.tolist() == ["yes", "no"] and set(table.verdict) == {NOT_SUPPORTED}
    for where in ("{policy: sim, metric: no_such_metric}", "{policy: sim, metric: undefined}"):
        missing = _one(
            tmp_path,
            f"""      - label: missing
        source: metrics
        where: {where}
        above: 0
""",
        )
        assert missing.verdict.item() == NOT_TESTABLE and missing.passed.item() == "n/a"
    absent_table = evaluate_claims(
        load_ledger(
            _ledger(
                tmp_path,
                """      - label: no table
        source: agent_metrics
        where: {policy: sim, metric: jsd}
        above: 0
""",
            )
        ),
        TABLES,
        {},
    )
    assert absent_table.verdict.item() == NOT_TESTABLE


@pytest.mark.parametrize(
    "tests, message",
    [
        ("      - label: t\n        source: metrics\n        where: {policy: sim}\n", "exactly one of"),
        (
            "      - label: t\n        source: nowhere\n        where: {policy: sim}\n        above: 0\n",
            "unknown source",
        ),
        ("      - label: t\n        source: metrics\n        above: 0\n", "where mapping"),
    ],
)
def test_malformed_ledgers_name_the_problem(tmp_path, tests, message):
    with pytest.raises(LedgerError, match=message):
        load_ledger(_ledger(tmp_path, tests))


def test_an_ambiguous_selection_is_an_error(tmp_path):
    with pytest.raises(LedgerError, match="matches 4 rows"):
        _one(tmp_path, "      - label: t\n        source: metrics\n        where: {policy: sim}\n        above: 0\n")


def test_the_project_ledger_defines_c1_to_c6_with_known_figures():
    from simagents.report.figures import FIGURES

    claims = load_ledger(REPO / "config" / "claims.yaml")
    assert [c.id for c in claims] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert all(c.tests for c in claims)
    assert {c.figure for c in claims} <= set(FIGURES)
    values = ledger_roles(load_config(REPO / "config" / "default.yaml"))
    for claim in claims:
        for test in claim.tests:
            for value in test.where.values():
                value.format(**values)  # every {role} resolves


def test_committed_default_claims_match_the_ledger():
    """The committed claims table was made from the committed ledger: same claims and tests."""
    committed = pd.read_csv(REPO / "results" / "default" / "claims.csv")
    claims = load_ledger(REPO / "config" / "claims.yaml")
    assert list(committed.test) == [t.label for c in claims for t in c.tests]
    assert set(committed.verdict) <= {SUPPORTED, NOT_SUPPORTED, NOT_TESTABLE}
    for _, group in committed.groupby("claim"):
        passed = set(group.passed)
        expected = NOT_TESTABLE if "n/a" in passed else SUPPORTED if passed == {"yes"} else NOT_SUPPORTED
        assert set(group.verdict) == {expected}


def test_compare_claims_for_make_verify():
    from simagents.report.claims import compare_claims

    committed = pd.DataFrame(
        [
            {"claim": "C1", "test": "t", "value": 0.5, "low": 0.4, "high": 0.6, "verdict": SUPPORTED},
            {"claim": "C2", "test": "u", "value": math.nan, "low": math.nan, "high": math.nan, "verdict": NOT_TESTABLE},
        ]
    )
    lines, ok = compare_claims(committed, committed.copy())
    assert ok and len(lines) == 4
    moved = committed.copy()
    moved.loc[0, ["value", "low", "high"]] = [0.62, 0.52, 0.72]  # outside, but within the combined half-widths
    assert compare_claims(committed, moved)[1]
    moved.loc[0, ["value", "low", "high"]] = [0.8, 0.75, 0.85]  # 0.3 apart, half-widths 0.1 and 0.05
    assert not compare_claims(committed, moved)[1]
    flipped = committed.copy()
    flipped.loc[0, "verdict"] = NOT_SUPPORTED
    lines, ok = compare_claims(committed, flipped)
    assert not ok and "-> **not supported**" in lines[2]
    assert not compare_claims(committed, committed.iloc[:1])[1]  # a test went missing
