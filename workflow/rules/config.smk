# Stage 0, the run's configuration: the slice of it that each stage reads (simagents.stages),
# and the whole resolved config as the run's record.

from simagents.outputs import write_text
from simagents.stages import STAGE_KEYS, stage_config_text

import yaml


rule stage_config:
    # The slice of the run config that one stage reads. Rerun (and the file rewritten) only when
    # the slice changes: Snakemake compares the `text` param with the one it recorded.
    output:
        str(PATHS.stage_config("{stage}")),
    log:
        log("stage_config_{stage}"),
    wildcard_constraints:
        stage="|".join(STAGE_KEYS),
    localrule: True
    params:
        text=lambda wildcards: stage_config_text(CFG.raw, wildcards.stage),
    run:
        write_text(output[0], params.text)
        write_text(log[0], f"wrote {output[0]}\n")


rule resolved_config:
    # The whole run config with every default filled in: the run's record of what it used (the
    # committed one). Made after every stage's slice, so that a fresh clone, whose slices are
    # written anew, rewrites it too.
    input:
        [stage_config(stage) for stage in STAGE_KEYS],
    output:
        str(PATHS.resolved_config),
    log:
        log("resolved_config"),
    localrule: True
    params:
        # a function: Snakemake would read the braces of a plain string (url_template) as wildcards
        text=lambda wildcards: yaml.safe_dump(dict(CFG.raw), sort_keys=False),
    run:
        write_text(output[0], params.text)
        write_text(log[0], f"wrote {output[0]}\n")
