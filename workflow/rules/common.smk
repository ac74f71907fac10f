# Shared set-up: validate the config once, before any rule runs, and name the run's paths.
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
# The interpreter running Snakemake has simagents installed (make reproduce / make test set it up).
PY = sys.executable


def stage_config(*keys):
    """The config slices a stage depends on, as a rule parameter: editing them reruns the stage.

    A function, so that braces in config values (URL templates) are not read as wildcards.
    """
    text = yaml.safe_dump({k: CFG.raw.get(k) for k in keys}, sort_keys=True)
    return lambda wildcards: text


def all_targets():
    return [str(PATHS.summary_json), str(PATHS.summary_md), str(PATHS.positions_meta)]


localrules:
    resolved_config,


rule resolved_config:
    # The validated config with every default filled in: the file each stage's CLI reads, and a
    # record of exactly what the run used. Downstream rules take it as ancient() input and rerun
    # on changes to their own config slice only (their params).
    output:
        f"{RUN}/config.resolved.yaml",
    params:
        text=stage_config(*CFG.raw),
    log:
        f"{RUN}/logs/resolved_config.log",
    run:
        with open(output[0], "w") as handle:
            handle.write(params.text)
