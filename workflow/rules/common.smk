# Shared set-up: validate the config once, before any rule runs, and name the run's paths.
import hashlib
import os
import shutil
import sys

import yaml

from simagents.config import ConfigError, from_mapping
from simagents.paths import RunPaths
from simagents.positions import ARRAYS, SPLITS

from snakemake.logging import logger
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


def clear_stale_lock():
    """Remove a Snakemake lock that a killed run left behind, and mark this run as alive.

    Snakemake locks the working directory with files that a `kill -9` (or a power loss) leaves in
    place; the next run then stops with "Directory cannot be locked" until someone passes
    --unlock, which is unsafe while another run is alive. Here every run of this workflow holds a
    shared flock on .snakemake/simagents.alive for its lifetime (the kernel drops it when the
    process dies, however it dies). A run that can take it exclusively knows no other run is
    alive in this folder, so any lock present is stale and is removed. Returns the open file,
    which must stay referenced for the flock to last.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: leave Snakemake's own behaviour (--unlock)
        return None
    os.makedirs(".snakemake", exist_ok=True)
    handle = open(os.path.join(".snakemake", "simagents.alive"), "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # another run of this workflow is alive here: its locks are real
    else:
        locks = os.path.join(".snakemake", "locks")
        if os.path.isdir(locks) and os.listdir(locks):
            shutil.rmtree(locks)
            logger.warning("Removed a stale Snakemake lock left by a run that was killed (no other run of this "
                           "workflow is alive in this folder).")
    fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


# Only the main process: job subprocesses parse this file too, while the main run holds its flock.
ALIVE = clear_stale_lock() if workflow.is_main_process else None
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
