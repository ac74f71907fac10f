"""The run's tables as the report stages receive them: by role, each file named on the command line.

The claims, figure and paper stages read many of a run's tables. Each is passed explicitly, as
``--table ROLE=PATH`` or, for a role with one file per agent or job, ``--table ROLE:LABEL=PATH``
(``--table rlft_curves:rlft_beta0.1_seed0=...``). :data:`ROLES` lists every role and its format;
a stage that needs a role it was not given stops with an error naming the role, never with a
silently shorter figure or paper.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ..config import Config

Format = Literal["csv", "tsv", "json"]

#: Every role a report stage may read, and the file's format.
ROLES: dict[str, Format] = {
    "data_summary": "json",  # data/summary.json
    "simulator_training": "json",  # simulator/seed<N>/train.json, by agent
    "simulator_curves": "csv",  # simulator/seed<N>/curves.csv, by agent
    "metrics": "csv",  # evaluation/metrics.csv
    "truth_metrics": "csv",  # evaluation/truth_metrics.csv (synthetic data)
    "reliability": "csv",  # evaluation/reliability.csv (synthetic data)
    "exact_frontier": "csv",  # evaluation/frontier.csv (synthetic data)
    "checks": "csv",  # evaluation/checks.csv
    "calibration": "csv",  # evaluation/calibration.csv
    "agent_metrics": "csv",  # evaluation/agent_metrics.csv
    "rlft_summary": "csv",  # agents/rlft.csv
    "rlft_frontier": "csv",  # agents/rlft_frontier.csv
    "rlft_curves": "csv",  # agents/rlft/beta<B>_seed<S>/curves.csv, by agent
    "elo": "csv",  # ladder/elo.csv
    "ladder_statistics": "csv",  # ladder/statistics.csv
    "claims": "csv",  # claims.csv
    "benchmark": "tsv",  # benchmarks/<job>.tsv, by job
}


class MissingTableError(FileNotFoundError):
    """A report stage needs a table its command was not given."""


@dataclass(frozen=True)
class RunTables:
    """Files by role and label (``""`` for a role with one file)."""

    files: Mapping[str, Mapping[str, Path]] = field(default_factory=dict)

    @classmethod
    def parse(cls, specs: Iterable[str]) -> RunTables:
        """From ``ROLE=PATH`` / ``ROLE:LABEL=PATH`` arguments; every file must exist."""
        files: dict[str, dict[str, Path]] = {}
        for spec in specs:
            name, sep, path = spec.partition("=")
            role, _, label = name.partition(":")
            if not sep or not path or not role:
                raise ValueError(f"--table expects ROLE=PATH or ROLE:LABEL=PATH, got {spec!r}")
            if role not in ROLES:
                raise ValueError(f"--table {spec!r}: unknown role {role!r}; roles: {', '.join(ROLES)}")
            if label in files.get(role, {}):
                raise ValueError(f"--table gives {name} twice")
            if not Path(path).is_file():
                raise FileNotFoundError(f"--table {name}: no such file {path}")
            files.setdefault(role, {})[label] = Path(path)
        return cls(files)

    def has(self, role: str) -> bool:
        return bool(self.files.get(role))

    def _path(self, role: str) -> Path:
        by_label = self.files.get(role, {})
        if "" not in by_label:
            raise MissingTableError(f"this stage needs the {role} table: pass --table {role}=PATH")
        return by_label[""]

    def frame(self, role: str) -> pd.DataFrame:
        """The one table of ``role``."""
        return _read(self._path(role), ROLES[role])

    def json(self, role: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self._path(role).read_text())
        return data

    def labelled(self, role: str) -> dict[str, Path]:
        """Every file of a role with one file per label, label -> path, in the order given."""
        by_label = {label: path for label, path in self.files.get(role, {}).items() if label}
        if not by_label:
            raise MissingTableError(f"this stage needs the {role} tables: pass --table {role}:LABEL=PATH")
        return by_label

    def labelled_frames(self, role: str) -> dict[str, pd.DataFrame]:
        return {label: _read(path, ROLES[role]) for label, path in self.labelled(role).items()}

    def require(self, roles: Sequence[str]) -> None:
        """Fail at once, naming every missing role, before any work."""
        missing = [role for role in roles if not self.has(role)]
        if missing:
            raise MissingTableError(f"this stage needs the tables {', '.join(missing)}: pass --table ROLE=PATH")


def _read(path: Path, fmt: Format) -> pd.DataFrame:
    if fmt == "json":
        raise ValueError(f"{path} is JSON: read it with RunTables.json")
    return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")


#: The tables that exist for the synthetic population only (they need its truth).
TRUTH_ROLES = ("truth_metrics", "reliability", "exact_frontier")


def run_table_files(config: Config, roles: Sequence[str]) -> dict[str, Path]:
    """Where a run keeps the tables of ``roles``, as ``ROLE`` / ``ROLE:LABEL`` -> path: what the
    workflow's report rules pass with ``--table`` (the one definition of which file plays which
    role). The truth's roles are left out on human data; ``benchmark`` needs the workflow's job
    list and is the workflow's to add."""
    from ..agents import roster
    from ..paths import RunPaths

    paths = RunPaths.of(config)
    single = {
        "data_summary": paths.summary_json,
        "metrics": paths.metrics,
        "truth_metrics": paths.truth_metrics,
        "reliability": paths.reliability,
        "exact_frontier": paths.exact_frontier,
        "checks": paths.checks,
        "calibration": paths.calibration,
        "agent_metrics": paths.agent_metrics,
        "rlft_summary": paths.rlft_summary,
        "rlft_frontier": paths.rlft_frontier,
        "elo": paths.ladder_file("elo"),
        "ladder_statistics": paths.ladder_file("statistics"),
        "claims": paths.claims,
    }
    files: dict[str, Path] = {}
    for role in roles:
        if role == "simulator_training":
            files |= {f"{role}:{a}": paths.simulator_summary(a.seed) for a in roster.simulators(config)}
        elif role == "simulator_curves":
            files |= {f"{role}:{a}": paths.simulator_curves(a.seed) for a in roster.simulators(config)}
        elif role == "rlft_curves":
            files |= {
                f"{role}:{a}": paths.rlft_file(a.weight_value, a.seed, "curves") for a in roster.rl_learners(config)
            }
        elif role in TRUTH_ROLES and config.data.source != "synthetic":
            continue  # human data has no truth: the stages say what they leave out
        elif role in single:
            files[role] = single[role]
        else:
            raise ValueError(f"no run file for the role {role!r}")
    return files


def table_arguments(files: Mapping[str, Path | str]) -> list[str]:
    """The ``--table`` values of a mapping ``ROLE`` / ``ROLE:LABEL`` -> path (what the rules pass)."""
    return [f"{name}={path}" for name, path in files.items()]
