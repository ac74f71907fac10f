# Shared set-up: validate the config once, before any rule runs, and name the run's paths.
import hashlib
import os
import sys

import yaml

from simagents.config import ConfigError, from_mapping
from simagents.paths import RunPaths
from simagents.positions import ARRAYS, SPLITS

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


def write_resolved_config():
    """The validated config with every default filled in, written once per change.

    It is the file each stage's CLI reads and a record of exactly what the run used. Written here,
    not by a rule, so that a config edit reruns only the stages whose slice changed (their
    `stage` params) instead of every stage downstream of a rewritten file.
    """
    path = PATHS.root / "config.resolved.yaml"
    text = yaml.safe_dump(dict(CFG.raw), sort_keys=False)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".yaml.part")
        tmp.write_text(text)
        tmp.replace(path)
    return str(path)


CONFIG_FILE = write_resolved_config()
# Jobs use the environment that runs Snakemake (make reproduce / make test set it up in .venv):
# its bin folder goes first on PATH, so `simagents` in a rule is the one installed beside it.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


def stage_config(*keys):
    """The config slices a stage depends on (dotted keys allowed), as a parameter of its rules;
    editing them reruns the stage, editing other keys does not.

    The sha256 of the slice as YAML: a plain string (Snakemake compares plain params between runs
    to decide reruns, not callables) with no braces (which it would read as wildcards).
    """

    def pick(dotted):
        value = CFG.raw
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    text = yaml.safe_dump({k: pick(k) for k in keys}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def all_targets():
    simulators = [str(PATHS.simulator_dir(seed) / "best.pt") for seed in CFG.simulator.seeds]
    return [str(PATHS.summary_json), str(PATHS.summary_md), str(PATHS.positions_meta), *simulators,
            str(PATHS.action_values), str(PATHS.metrics), str(PATHS.checks), str(PATHS.calibration),
            str(PATHS.rlft_summary), str(PATHS.ladder / "elo.csv"), str(PATHS.agent_metrics),
            str(PATHS.claims), str(PATHS.paper / "paper.pdf")]
