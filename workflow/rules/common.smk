# Shared set-up: the validated config, the run's paths, and each stage's slice of the config.
#
# Parsing this file reads the config and nothing else: no file is written, no lock taken, no
# environment changed (`snakemake -n` and `--lint` touch nothing). Each stage reads its slice of
# the config (simagents.stages.STAGE_KEYS) from <run>/config/<stage>.yaml, written by the rule
# stage_config below and declared as an input of the stage's rules: editing a key reruns the
# stages that read it, and no other. Paths come from simagents.paths, the one definition.

import os

import yaml

from simagents.agents import roster
from simagents.config import ConfigError, from_mapping
from simagents.paths import RunPaths
from simagents.positions import ARRAYS, SPLITS
from simagents.paths import format_beta
from simagents.report.figures import FIGURES
from simagents.report.tables import run_table_files

from snakemake.utils import update_config

if not workflow.overwrite_configfiles:
    # No --configfile: the default run, with any --config key=value overrides on top.
    with open(os.path.join(workflow.basedir, "config", "default.yaml")) as _handle:
        _merged = yaml.safe_load(_handle)
    update_config(_merged, config)
    config.clear()
    config.update(_merged)

try:
    CFG = from_mapping(config, source="the Snakemake config (--configfile / --config)")
except ConfigError as error:
    raise WorkflowError(str(error)) from None

PATHS = RunPaths.of(CFG)
RUN = str(PATHS.root)
# SIMAGENTS_SHADOW=minimal runs every job in a folder of its own holding only its declared
# inputs, so a command that reads a file its rule does not declare fails (the tests run the
# smoke workflow so); unset, jobs run in the working directory.
SHADOW = os.environ.get("SIMAGENTS_SHADOW") or None
ENV = "../envs/simagents.yaml"
# The run's agents (simagents.agents.roster): simulators, RL learners, and the checkpoints of all.
SIMULATORS = roster.simulators(CFG)
LEARNERS = roster.rl_learners(CFG)
FIRST_SIMULATOR = str(PATHS.simulator(CFG.simulator.seeds[0]))
# Only the synthetic population has a truth (every persona's exact move distribution).
SYNTHETIC = CFG.data.source == "synthetic"


def stage_config(stage):
    """The stage config a stage's rule declares as its `config` input."""
    return str(PATHS.stage_config(stage))


def log(job):
    return str(PATHS.log(job))


def benchmark(job):
    return str(PATHS.benchmark(job))


def position_arrays(*splits):
    """The position arrays of some splits (what a rule that reads them declares)."""
    return [str(PATHS.position_array(split, name)) for split in splits for name in ARRAYS]


def checkpoint_arguments(agents):
    """`--checkpoint AGENT=PATH` values and the files, for the agents with a checkpoint."""
    files = {str(agent): str(roster.checkpoint_path(PATHS, agent)) for agent in agents}
    return files, " ".join(f"--checkpoint {name}={path}" for name, path in files.items())


CHECKPOINTS, CHECKPOINT_ARGUMENTS = checkpoint_arguments(roster.checkpoint_owners(CFG))


def table_arguments(files):
    """`--table ROLE[:LABEL]=PATH` values of a mapping, for the report rules."""
    return " ".join(f"--table {name}={path}" for name, path in files.items())


def all_targets():
    return [
        str(PATHS.resolved_config),
        str(PATHS.summary_json),
        str(PATHS.summary_md),
        str(PATHS.positions_meta),
        *[str(PATHS.simulator(seed)) for seed in CFG.simulator.seeds],
        str(PATHS.action_values),
        str(PATHS.metrics),
        *([str(PATHS.truth_metrics)] if SYNTHETIC else []),
        str(PATHS.checks),
        str(PATHS.calibration),
        str(PATHS.rlft_summary),
        str(PATHS.ladder_file("elo")),
        str(PATHS.agent_metrics),
        str(PATHS.claims),
        str(PATHS.paper_pdf),
    ]


# The ledger and the LaTeX sources live in the repository, beside the Snakefile (the working
# directory may be elsewhere: --directory).
LEDGER = os.path.join(workflow.basedir, "config", "claims.yaml")
PAPER_SOURCE = os.path.join(workflow.basedir, "paper")


def run_tables(roles):
    """The run's files of some roles, as `ROLE` / `ROLE:LABEL` -> path (simagents.report.tables)."""
    files = {name: str(path) for name, path in run_table_files(CFG, [r for r in roles if r != "benchmark"]).items()}
    if "benchmark" in roles:
        files |= {f"benchmark:{job}": benchmark(job) for job in benchmarked_jobs()}
    return files


def benchmarked_jobs():
    """Every job before the paper that writes a benchmark file (the paper's runtime table)."""
    data = {"synthetic": ["synthetic_games"], "lichess": [f"download_lichess_{m}" for m in CFG.data.lichess.months]}
    return [
        *data.get(CFG.data.source, []),
        "games_table",
        "positions",
        "data_summary",
        *[f"train_simulator_seed{seed}" for seed in CFG.simulator.seeds],
        "eval_positions",
        "action_values",
        *(["persona_truth"] if SYNTHETIC else []),
        "metrics",
        "simulator_checks",
        *[f"rlft_beta{format_beta(a.weight_value)}_seed{a.seed}" for a in LEARNERS],
        "rlft_summary",
        "az",
        "agent_metrics",
        "ladder",
        "claims",
        *[f"figure_{name}" for name in FIGURES],
    ]
