# Stage 6, the agents measured like the simulator: every agent under each prompt on one subset of
# the evaluation positions, with the same metric battery, and the beta frontier.


rule agent_metrics:
    input:
        config=stage_config("agent_metrics"),
        positions=str(PATHS.eval_positions),
        action_values=str(PATHS.action_values),
        checkpoints=list(CHECKPOINTS.values()),
    output:
        str(PATHS.agent_metrics),
    log:
        log("agent_metrics"),
    benchmark:
        benchmark("agent_metrics")
    shadow:
        SHADOW
    conda:
        ENV
    params:
        checkpoints=CHECKPOINT_ARGUMENTS,
    shell:
        "simagents agent-metrics --config {input.config} --positions {input.positions}"
        " --action-values {input.action_values} {params.checkpoints} --out {output} > {log} 2>&1"
