"""The claims ledger: every claim of the paper decided by tests on a run's tables, each test
first shown able to decide.

The ledger (``config/claims.yaml``, format in its header) lists the claims of the paper, each with
one or more tests. A test selects one row of one of the run's tables and compares the row's 95%
interval with a threshold fixed in the ledger. Each test names two controls (policies of known
behaviour, :mod:`simagents.agents.controls`): the same selection with the test's subject replaced
by the positive control must pass, and by the negative control must fail. Only then is the test
*valid*: it can tell a pass from a fail. :func:`evaluate_claims` returns one row per test (the
measurement with its interval, the expectation, pass or fail, and the controls' results), with
the claim's verdict on each of its rows:

* ``supported``: every test is valid and passes;
* ``not supported``: a valid test fails;
* ``test cannot decide``: no valid test fails, but a test's controls did not separate;
* ``not testable``: a measurement is missing or undefined (``not testable on human data`` where
  the test needs the synthetic population's truth and the run reads human games).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..agents.roster import roles
from ..config import Config
from .tables import RunTables

SUPPORTED, NOT_SUPPORTED, NOT_TESTABLE = "supported", "not supported", "not testable"
CANNOT_DECIDE, HUMAN_DATA = "test cannot decide", "not testable on human data"
CLAIM_COLUMNS = [
    "claim",
    "name",
    "test",
    "source",
    "selection",
    "value",
    "low",
    "high",
    "n",
    "expectation",
    "passed",
    "positive_control",
    "positive_value",
    "positive_passed",
    "negative_control",
    "negative_value",
    "negative_passed",
    "valid",
    "verdict",
    "method",
    "ledger_sha256",
]
LEDGER_VERSION = 2
_TESTS = ("above", "below", "within", "near", "above_fraction")
#: The run tables a ledger test may read (roles of :mod:`.tables`).
SOURCES = ("metrics", "truth_metrics", "exact_frontier", "agent_metrics", "ladder_statistics", "rlft_frontier")
#: Sources that exist for the synthetic population only (they need its truth).
TRUTH_SOURCES = ("truth_metrics", "exact_frontier")


class LedgerError(ValueError):
    """The ledger file is malformed (the message names the claim and the key)."""


@dataclass(frozen=True)
class Test:
    label: str
    source: str
    where: dict[str, str]
    kind: str  # one of _TESTS
    threshold: Any  # a number, a [low, high] pair, {"of": {...}, "tolerance": t} or {"of": ..., "fraction": f}
    subject: str  # the key of ``where`` the controls replace (policy, agent, family)
    positive: str  # the positive control's value of that key (a name or a {role})
    negative: str


@dataclass(frozen=True)
class Claim:
    id: str
    name: str
    statement: str
    figure: str
    tests: tuple[Test, ...]


def ledger_sha256(path: Path) -> str:
    """The sha256 of the ledger file, stamped into claims.csv and the paper."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_ledger(path: Path) -> list[Claim]:
    """Read and check the ledger; a :class:`LedgerError` says what is wrong and where."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise LedgerError(f"{path}: cannot read the claims ledger: {error}") from None
    if not isinstance(raw, dict) or raw.get("version") != LEDGER_VERSION:
        raise LedgerError(f"{path}: expected a mapping with version: {LEDGER_VERSION} and a claims list")
    claims = []
    for k, entry in enumerate(raw.get("claims") or []):
        where = f"{path}: claims[{k}]"
        for key in ("id", "name", "statement", "figure", "tests"):
            if key not in entry:
                raise LedgerError(f"{where}: missing key {key!r}")
        tests = []
        for j, test in enumerate(entry["tests"]):
            at = f"{where} ({entry['id']}), tests[{j}]"
            kinds = [t for t in _TESTS if t in test]
            if len(kinds) != 1:
                raise LedgerError(f"{at}: give exactly one of {', '.join(_TESTS)}")
            if test.get("source") not in SOURCES:
                raise LedgerError(f"{at}: unknown source {test.get('source')!r}")
            if not isinstance(test.get("where"), dict) or "label" not in test:
                raise LedgerError(f"{at}: needs a label and a where mapping")
            controls = test.get("controls")
            if not isinstance(controls, dict) or not {"positive", "negative"} <= set(controls):
                raise LedgerError(f"{at}: needs controls: {{positive: ..., negative: ...}} (and optionally subject)")
            subject = str(controls.get("subject", "policy"))
            if subject not in test["where"]:
                raise LedgerError(f"{at}: the controls replace {subject!r}, which `where` does not select")
            tests.append(
                Test(
                    test["label"],
                    test["source"],
                    {str(a): str(b) for a, b in test["where"].items()},
                    kinds[0],
                    test[kinds[0]],
                    subject,
                    str(controls["positive"]),
                    str(controls["negative"]),
                )
            )
        claims.append(
            Claim(
                str(entry["id"]),
                entry["name"],
                " ".join(str(entry["statement"]).split()),
                entry["figure"],
                tuple(tests),
            )
        )
    if not claims:
        raise LedgerError(f"{path}: no claims")
    return claims


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    # Every source as rows with a ``metric`` column and value/low/high/n/method.
    return frame.rename(columns={"statistic": "metric"})


def _select(
    tables: Mapping[str, pd.DataFrame], source: str, where: Mapping[str, str], values: Mapping[str, str]
) -> tuple[pd.Series | None, str]:
    resolved = {key: value.format(**values) for key, value in where.items()}
    selection = ", ".join(f"{k}={v}" for k, v in resolved.items())
    frame = tables.get(source)
    if frame is None:
        return None, selection
    mask = pd.Series(True, index=frame.index)
    for key, value in resolved.items():
        if key not in frame.columns:
            return None, selection
        mask &= frame[key].astype(str) == value
    rows = frame[mask]
    if len(rows) > 1:
        raise LedgerError(f"{source}: {selection} matches {len(rows)} rows; add keys to `where`")
    return (rows.iloc[0] if len(rows) else None), selection


def _judge(
    test: Test, row: pd.Series, tables: Mapping[str, pd.DataFrame], values: Mapping[str, str]
) -> tuple[bool | None, str]:
    low, high = float(row["low"]), float(row["high"])
    if test.kind == "above":
        return (None if math.isnan(low) else low > float(test.threshold)), f"95% interval above {test.threshold:g}"
    if test.kind == "below":
        return (None if math.isnan(high) else high < float(test.threshold)), f"95% interval below {test.threshold:g}"
    if test.kind == "within":
        a, b = (float(x) for x in test.threshold)
        return (
            None if math.isnan(low) or math.isnan(high) else a <= low and high <= b
        ), f"95% interval within [{a:g}, {b:g}]"
    reference, selection = _select(tables, test.threshold["of"]["source"], test.threshold["of"]["where"], values)
    name = test.threshold["of"]["where"].get("policy") or selection
    if test.kind == "above_fraction":
        fraction = float(test.threshold["fraction"])
        if reference is None or math.isnan(float(reference["value"])):
            return None, f"95% interval above {fraction:g} x ({selection}): missing"
        bound = fraction * float(reference["value"])
        ok = None if math.isnan(low) else low > bound
        return ok, f"95% interval above {fraction:g} x {float(reference['value']):.3f} ({name}'s value) = {bound:.3f}"
    tolerance = float(test.threshold["tolerance"])
    if reference is None or math.isnan(float(reference["value"])):
        return None, f"95% interval within {tolerance:g} of ({selection}): missing"
    centre = float(reference["value"])
    ok = None if math.isnan(low) or math.isnan(high) else centre - tolerance <= low and high <= centre + tolerance
    return ok, f"95% interval within {tolerance:g} of {centre:.3f} ({name}'s value)"


def _measure(
    test: Test, where: Mapping[str, str], tables: Mapping[str, pd.DataFrame], values: Mapping[str, str]
) -> tuple[bool | None, str, dict[str, Any], str]:
    """The test on one selection: pass or fail (None: missing), the expectation, the measurement."""
    row, selection = _select(tables, test.source, where, values)
    if row is None:
        missing = {"value": math.nan, "low": math.nan, "high": math.nan, "n": 0, "method": "missing"}
        return None, f"{test.kind} {test.threshold}: no such row", missing, selection
    passed, expectation = _judge(test, row, tables, values)
    return passed, expectation, {key: row[key] for key in ("value", "low", "high", "n", "method")}, selection


def evaluate_claims(
    claims: list[Claim],
    tables: Mapping[str, pd.DataFrame],
    values: Mapping[str, str],
    *,
    human_data: bool = False,
    ledger_digest: str = "",
) -> pd.DataFrame:
    """One row per test (see the module docstring). ``tables``: source name -> table; a missing
    source or row makes the test, and its claim, not testable. ``human_data``: the run reads
    human games, so tests on the truth's sources are not testable on it."""
    tables = {name: _normalise(frame) for name, frame in tables.items()}
    marks = {True: "yes", False: "no", None: "n/a"}
    rows = []
    for claim in claims:
        outcomes: list[tuple[bool | None, bool]] = []  # (passed, valid)
        for test in claim.tests:
            passed, expectation, measured, selection = _measure(test, test.where, tables, values)
            if human_data and test.source in TRUTH_SOURCES:
                passed, expectation = None, HUMAN_DATA
            controls: dict[str, Any] = {}
            for sign, control in (("positive", test.positive), ("negative", test.negative)):
                swapped = {**test.where, test.subject: control}
                got, _, control_measured, _ = _measure(test, swapped, tables, values)
                controls |= {f"{sign}_control": control.format(**values), f"{sign}_value": control_measured["value"],
                             f"{sign}_passed": marks[got]}  # fmt: skip
            valid = controls["positive_passed"] == "yes" and controls["negative_passed"] == "no"
            outcomes.append((passed, valid))
            rows.append(
                {
                    "claim": claim.id,
                    "name": claim.name,
                    "test": test.label,
                    "source": test.source,
                    "selection": selection,
                    **measured,
                    "expectation": expectation,
                    "passed": marks[passed],
                    **controls,
                    "valid": "yes" if valid else "no",
                    "ledger_sha256": ledger_digest,
                }
            )
        if any(passed is False and valid for passed, valid in outcomes):
            verdict = NOT_SUPPORTED
        elif any(passed is None for passed, _ in outcomes):
            own = rows[len(rows) - len(outcomes) :]
            verdict = HUMAN_DATA if any(r["expectation"] == HUMAN_DATA for r in own) else NOT_TESTABLE
        elif not all(valid for _, valid in outcomes):
            verdict = CANNOT_DECIDE
        else:
            verdict = SUPPORTED
        for entry in rows[len(rows) - len(outcomes) :]:
            entry["verdict"] = verdict
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def run_claims(config: Config, ledger: Path, tables: RunTables) -> pd.DataFrame:
    """Evaluate the ledger on a run's tables: every source its tests name must be given, but the
    truth's sources on human data (the tests that need them are not testable there)."""
    claims = load_ledger(ledger)
    tests = [test for claim in claims for test in claim.tests]
    references = {t.threshold["of"]["source"] for t in tests if t.kind in ("near", "above_fraction")}
    needed = sorted({t.source for t in tests} | references)
    human = config.data.source != "synthetic"
    tables.require([s for s in needed if not (human and s in TRUTH_SOURCES)])
    given = {name: tables.frame(name) for name in needed if tables.has(name)}
    return evaluate_claims(claims, given, roles(config), human_data=human, ledger_digest=ledger_sha256(ledger))


def compare_claims(committed: pd.DataFrame, regenerated: pd.DataFrame) -> tuple[list[str], bool]:
    """Compare a regenerated claims table with a committed one (``make verify``).

    Every claim must keep its verdict, and every measurement must agree with the committed one
    within their intervals: the regenerated value inside the committed 95% interval, or, since
    both are estimates with their own sampling error, the difference no larger than the two
    intervals' half-widths combined in quadrature (a 95% test that the two estimates measure the
    same quantity). A measurement undefined in both agrees. On the same machine and software a
    rerun is identical (every random choice is seeded, the Stockfish personas' included); across
    machines, floating-point differences in training can move the numbers by about their
    intervals, which is what this tolerance admits. Returns the lines of a Markdown comparison
    table and whether everything agrees.
    """
    ok = list(committed.test) == list(regenerated.test)
    lines = [
        "| claim | test | committed [95% interval] | regenerated [95% interval] | agree | verdict |",
        "|---|---|---|---|---|---|",
    ]
    if not ok:
        lines.append("The two tables list different tests: the ledger changed since the committed run.")
        return lines, False
    for (_, old), (_, new) in zip(committed.iterrows(), regenerated.iterrows()):
        agree = _agree(old, new)
        same = old["verdict"] == new["verdict"]
        ok &= agree and same
        lines.append(
            f"| {old['claim']} | {old['test']} | {old['value']:.4g} [{old['low']:.4g}, {old['high']:.4g}] "
            f"| {new['value']:.4g} [{new['low']:.4g}, {new['high']:.4g}] | {'yes' if agree else '**no**'} "
            f"| {old['verdict']}{'' if same else ' -> **' + new['verdict'] + '**'} |"
        )
    return lines, ok


def _agree(old: pd.Series, new: pd.Series) -> bool:
    values = [float(old["value"]), float(new["value"])]
    if all(math.isnan(v) for v in values):
        return True
    if any(math.isnan(v) for v in values):
        return False
    if old["low"] - 1e-9 <= values[1] <= old["high"] + 1e-9:
        return True
    half = [(float(row["high"]) - float(row["low"])) / 2 for row in (old, new)]
    if any(math.isnan(h) for h in half):
        return False
    return abs(values[1] - values[0]) <= math.hypot(*half) + 1e-9
