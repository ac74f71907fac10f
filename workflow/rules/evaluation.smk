# Stage 4, measurement (SPEC section 5): evaluation positions from test games only, stratified by
# prompt, and Stockfish's value of every legal move in each, computed once and stored.


rule eval_positions:
    input:
        games=str(PATHS.games),
        meta=str(PATHS.positions_meta),
    output:
        str(PATHS.eval_positions),
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "positions", "evaluation.positions_per_prompt"),
        positions_dir=lambda wildcards, input: os.path.dirname(input.meta),
    log:
        f"{RUN}/logs/eval_positions.log",
    benchmark:
        f"{RUN}/benchmarks/eval_positions.tsv"
    shell:
        "simagents eval-positions --config {params.config} --games {input.games}"
        " --positions-dir {params.positions_dir} --out {output} > {log} 2>&1"


rule action_values:
    # Resumable: finished chunks are kept in <output>.parts/ (not a declared output, so Snakemake
    # does not delete it on failure) and a rerun scores only what is missing.
    input:
        positions=str(PATHS.eval_positions),
    output:
        str(PATHS.action_values),
    params:
        config=CONFIG_FILE,
        stage=stage_config("engine", "evaluation.action_value_nodes"),
    threads: workflow.cores
    log:
        f"{RUN}/logs/action_values.log",
    benchmark:
        f"{RUN}/benchmarks/action_values.tsv"
    shell:
        "simagents action-values --config {params.config} --workers {threads}"
        " --positions {input.positions} --out {output} --no-progress > {log} 2>&1"


rule metrics:
    # Every policy under every prompt: exact metrics from the move distributions, with bootstrap
    # intervals over positions; a small tidy table that is committed.
    input:
        positions=str(PATHS.eval_positions),
        action_values=str(PATHS.action_values),
        simulators=[str(PATHS.simulator_dir(seed) / "best.pt") for seed in CFG.simulator.seeds],
        summary=str(PATHS.summary_json),
    output:
        str(PATHS.metrics),
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed"),
    log:
        f"{RUN}/logs/metrics.log",
    benchmark:
        f"{RUN}/benchmarks/metrics.tsv"
    shell:
        "simagents metrics --config {params.config} --positions {input.positions}"
        " --action-values {input.action_values} --checkpoints {input.simulators} --summary {input.summary}"
        " --out {output} > {log} 2>&1"


rule simulator_checks:
    # Did the simulator learn the population? Interval-based verdicts and the calibration table.
    input:
        str(PATHS.metrics),
    output:
        checks=str(PATHS.checks),
        calibration=str(PATHS.calibration),
    params:
        config=CONFIG_FILE,
        stage=stage_config("data.source", "data.synthetic.personas"),
    log:
        f"{RUN}/logs/simulator_checks.log",
    benchmark:
        f"{RUN}/benchmarks/simulator_checks.tsv"
    shell:
        "simagents checks --config {params.config} --metrics {input} --out {output.checks}"
        " --calibration {output.calibration} > {log} 2>&1"

