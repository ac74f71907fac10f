"""Where each stage's outputs live, for the CLI and the Snakefile alike (one definition)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Config


@dataclass(frozen=True)
class RunPaths:
    """Output paths of a run, all under ``<results_dir>/<run_name>/``."""

    root: Path

    @classmethod
    def of(cls, config: Config) -> RunPaths:
        return cls(config.run_dir)

    @property
    def synthetic_pgn(self) -> Path:
        return self.root / "data" / "raw" / "synthetic.pgn"

    @property
    def games(self) -> Path:
        return self.root / "data" / "games.parquet"

    @property
    def ingest_ledger(self) -> Path:
        return self.root / "data" / "ingest.json"

    @property
    def positions(self) -> Path:
        return self.root / "positions"

    @property
    def positions_meta(self) -> Path:
        return self.root / "positions" / "meta.json"

    @property
    def summary_json(self) -> Path:
        return self.root / "data" / "summary.json"

    @property
    def summary_md(self) -> Path:
        return self.root / "data" / "summary.md"

    def simulator_dir(self, seed: int) -> Path:
        """Checkpoints (``best.pt``, ``last.pt``), ``curves.csv`` and ``train.json`` of one seed."""
        return self.root / "simulator" / f"seed{seed}"

    @property
    def eval_positions(self) -> Path:
        return self.root / "evaluation" / "positions.parquet"

    @property
    def action_values(self) -> Path:
        return self.root / "evaluation" / "action_values.parquet"

    @property
    def metrics(self) -> Path:
        """The metric battery's tidy table (policy, model prompt, data prompt, metric, interval)."""
        return self.root / "evaluation" / "metrics.csv"

    @property
    def claims(self) -> Path:
        """The claims ledger evaluated on this run (:mod:`simagents.report.claims`)."""
        return self.root / "claims.csv"

    @property
    def figures(self) -> Path:
        """The paper's figures (PDF and PNG) and their captions."""
        return self.root / "figures"

    @property
    def paper(self) -> Path:
        """The paper built from this run: generated LaTeX inputs and the PDF."""
        return self.root / "paper"

    @property
    def agent_metrics(self) -> Path:
        """Every agent and the simulator on one subset of positions, and the beta frontier."""
        return self.root / "evaluation" / "agent_metrics.csv"

    @property
    def checks(self) -> Path:
        """Pass/fail checks that the simulator learned the population (:mod:`simagents.evaluation.checks`)."""
        return self.root / "evaluation" / "checks.csv"

    @property
    def calibration(self) -> Path:
        """Predicted against observed mistake rates per prompt."""
        return self.root / "evaluation" / "calibration.csv"

    def rlft_dir(self, beta: float, seed: int) -> Path:
        """One RL fine-tuning run: ``final.pt``, ``last.pt``, ``curves.csv``, ``evaluation.csv``."""
        return self.root / "agents" / "rlft" / f"beta{format_beta(beta)}_seed{seed}"

    def az_dir(self, seed: int) -> Path:
        """The AlphaZero-style agent: ``final.pt``, ``last.pt``, ``curves.csv``."""
        return self.root / "agents" / "az" / f"seed{seed}"

    @property
    def rlft_summary(self) -> Path:
        """One row per (beta, seed): score against the frozen simulator, KL and entropy."""
        return self.root / "agents" / "rlft.csv"

    @property
    def ladder(self) -> Path:
        """The Elo ladder's folder: ``games.pgn``, ``games.csv``, ``elo.csv``."""
        return self.root / "ladder"


def format_beta(value: float) -> str:
    """A KL weight or lambda as it appears in paths and player names: ``0``, ``0.1``, ``1``."""
    return f"{value:g}"
