"""Where every file of a run lives: the one definition, for the Snakefile and the CLI alike.

Everything a run writes is under ``<results_dir>/<run_name>/`` (:class:`RunPaths`). The workflow's
rules take their inputs and outputs from here and pass each one to the command they run; a
command never builds a run path itself. The methods that take a seed or a KL weight also accept
a Snakemake wildcard (``"{seed}"``), so a rule's patterns come from the same definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Config

#: A seed or a KL weight, or the Snakemake wildcard standing for one (``"{seed}"``, ``"{beta}"``).
Seed = int | str
Weight = float | str

# The files of each kind of folder, by role: the writers (training, RL, self-play, positions,
# the ladder) and the readers take the names from here.

#: One simulator seed (:func:`simagents.models.train.train_simulator`).
SIMULATOR_FILES = {
    "best": "best.pt",
    "last": "last.pt",
    "curves": "curves.csv",
    "summary": "train.json",
    "active_units": "active_units.csv",
}
#: One RL fine-tuning run (:func:`simagents.agents.rlft.train_rlft`); ``last`` is resume state only.
RLFT_FILES = {
    "final": "final.pt",
    "curves": "curves.csv",
    "evaluation": "evaluation.csv",
    "target_evaluation": "target_evaluation.csv",
    "evaluation_games": "evaluation_games.parquet",
    "summary": "rlft.json",
}
RLFT_LAST = "last.pt"
#: The AlphaZero-style agent (:func:`simagents.agents.az.train_az`).
AZ_FILES = {"final": "final.pt", "last": "last.pt", "curves": "curves.csv", "summary": "az.json"}
#: The positions folder's metadata (vocabulary, counts, format), beside ``<split>/<array>.npy``.
POSITIONS_META = "meta.json"


def format_beta(value: Weight) -> str:
    """A KL weight or lambda as it appears in paths and player names: ``0``, ``0.1``, ``1``
    (a wildcard string is kept as it is)."""
    return value if isinstance(value, str) else f"{value:g}"


@dataclass(frozen=True)
class RunPaths:
    """Output paths of a run, all under ``<results_dir>/<run_name>/``."""

    root: Path

    @classmethod
    def of(cls, config: Config) -> RunPaths:
        return cls(Path(config.results_dir) / config.run_name)

    # --- configuration, logs, benchmarks ----------------------------------------------------

    def stage_config(self, stage: str) -> Path:
        """The slice of the run config that ``stage`` reads (:mod:`simagents.stages`)."""
        return self.root / "config" / f"{stage}.yaml"

    @property
    def resolved_config(self) -> Path:
        """The whole run config with every default filled in: the run's record of its settings."""
        return self.root / "config" / "resolved.yaml"

    def log(self, job: str) -> Path:
        return self.root / "logs" / f"{job}.log"

    def benchmark(self, job: str) -> Path:
        """Snakemake's measured wall time and memory of one job (``benchmark:``)."""
        return self.root / "benchmarks" / f"{job}.tsv"

    # --- data -------------------------------------------------------------------------------

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
    def summary_json(self) -> Path:
        return self.root / "data" / "summary.json"

    @property
    def summary_md(self) -> Path:
        return self.root / "data" / "summary.md"

    # --- positions --------------------------------------------------------------------------

    @property
    def positions(self) -> Path:
        return self.root / "positions"

    @property
    def positions_meta(self) -> Path:
        return self.positions / POSITIONS_META

    def position_array(self, split: str, name: str) -> Path:
        """One array of one split (``positions/<split>/<name>.npy``, :data:`simagents.positions.ARRAYS`)."""
        return self.positions / split / f"{name}.npy"

    # --- the simulator ----------------------------------------------------------------------

    def simulator_dir(self, seed: Seed) -> Path:
        """Checkpoints (``best.pt``, ``last.pt``), ``curves.csv`` and ``train.json`` of one seed."""
        return self.root / "simulator" / f"seed{seed}"

    def simulator(self, seed: Seed) -> Path:
        """The simulator of one seed: its checkpoint of lowest validation loss."""
        return self.simulator_dir(seed) / SIMULATOR_FILES["best"]

    def simulator_curves(self, seed: Seed) -> Path:
        return self.simulator_dir(seed) / SIMULATOR_FILES["curves"]

    def simulator_summary(self, seed: Seed) -> Path:
        return self.simulator_dir(seed) / SIMULATOR_FILES["summary"]

    def simulator_active_units(self, seed: Seed) -> Path:
        return self.simulator_dir(seed) / SIMULATOR_FILES["active_units"]

    # --- evaluation -------------------------------------------------------------------------

    @property
    def eval_positions(self) -> Path:
        return self.root / "evaluation" / "positions.parquet"

    @property
    def action_values(self) -> Path:
        return self.root / "evaluation" / "action_values.parquet"

    @property
    def truth(self) -> Path:
        """Every persona's exact move distribution on every evaluation position (synthetic data)."""
        return self.root / "evaluation" / "truth.parquet"

    @property
    def truth_metrics(self) -> Path:
        """The simulators and controls against the truth: divergences, ceilings, mistake rates."""
        return self.root / "evaluation" / "truth_metrics.csv"

    @property
    def reliability(self) -> Path:
        """The reliability diagram of mistakes: predicted against true, by bin of the truth."""
        return self.root / "evaluation" / "reliability.csv"

    @property
    def exact_frontier(self) -> Path:
        """The KL-regularised frontier computed exactly from the action values (:mod:`simagents.evaluation.frontier`)."""
        return self.root / "evaluation" / "frontier.csv"

    @property
    def metrics(self) -> Path:
        """The metric battery's tidy table (policy, model prompt, data prompt, metric, interval)."""
        return self.root / "evaluation" / "metrics.csv"

    @property
    def checks(self) -> Path:
        """Pass/fail checks that the simulator learned the population (:mod:`simagents.evaluation.checks`)."""
        return self.root / "evaluation" / "checks.csv"

    @property
    def calibration(self) -> Path:
        """Predicted against observed mistake rates per prompt."""
        return self.root / "evaluation" / "calibration.csv"

    @property
    def agent_metrics(self) -> Path:
        """Every agent and the simulator on one subset of positions, and the beta frontier."""
        return self.root / "evaluation" / "agent_metrics.csv"

    # --- agents -----------------------------------------------------------------------------

    def rlft_dir(self, beta: Weight, seed: Seed) -> Path:
        """One RL fine-tuning run's folder (its files: :data:`RLFT_FILES`)."""
        return self.root / "agents" / "rlft" / f"beta{format_beta(beta)}_seed{seed}"

    def rlft_file(self, beta: Weight, seed: Seed, role: str) -> Path:
        """One file of an RL run by role (``final``, ``curves``, ...: :data:`RLFT_FILES`)."""
        return self.rlft_dir(beta, seed) / RLFT_FILES[role]

    @property
    def rlft_summary(self) -> Path:
        """One row per (beta, seed): score against the frozen simulator, KL and entropy."""
        return self.root / "agents" / "rlft.csv"

    @property
    def rlft_frontier(self) -> Path:
        """The RL learners' score against beta: its rank correlation with an interval."""
        return self.root / "agents" / "rlft_frontier.csv"

    def az_dir(self, seed: Seed) -> Path:
        """The AlphaZero-style agent: ``final.pt``, ``last.pt``, ``curves.csv``, ``az.json``."""
        return self.root / "agents" / "az" / f"seed{seed}"

    def az(self, seed: Seed) -> Path:
        """The AlphaZero-style agent's network (simulator checkpoint format)."""
        return self.az_dir(seed) / AZ_FILES["final"]

    def az_file(self, seed: Seed, role: str) -> Path:
        """One file of the az agent's folder by role (:data:`AZ_FILES`)."""
        return self.az_dir(seed) / AZ_FILES[role]

    # --- strength ---------------------------------------------------------------------------

    @property
    def ladder(self) -> Path:
        """The Elo ladder's folder (:data:`LADDER_FILES`)."""
        return self.root / "ladder"

    def ladder_file(self, role: str) -> Path:
        return self.ladder / LADDER_FILES[role]

    # --- the paper --------------------------------------------------------------------------

    @property
    def claims(self) -> Path:
        """The claims ledger evaluated on this run (:mod:`simagents.report.claims`)."""
        return self.root / "claims.csv"

    @property
    def figures(self) -> Path:
        """The paper's figures (PDF and PNG)."""
        return self.root / "figures"

    def figure(self, name: str, suffix: str) -> Path:
        return self.figures / f"{name}.{suffix}"

    @property
    def paper(self) -> Path:
        """The paper built from this run: generated LaTeX inputs and the PDF."""
        return self.root / "paper"

    @property
    def paper_pdf(self) -> Path:
        return self.paper / "paper.pdf"

    @property
    def paper_numbers(self) -> Path:
        """Every number of the paper's text, as LaTeX macros."""
        return self.paper / "generated" / "numbers.tex"


#: The Elo ladder's files by role (:func:`simagents.agents.ladder.play_ladder` and the fit).
LADDER_FILES = {
    "elo": "elo.csv",
    "games": "games.csv",
    "pgn": "games.pgn",
    "resamples": "elo_resamples.parquet",
    "statistics": "statistics.csv",
}
