# Stage 0, configuration: the validated config, every default filled in, written once per run.


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
