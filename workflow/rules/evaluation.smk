# Stage 4, measurement: evaluation positions from test games only, stratified by prompt, and
# Stockfish's value of every legal move in each, computed once and stored; then the simulators
# measured on them, and the checks that they learned the population.


rule eval_positions:
    input:
        config=stage_config("eval_positions"),
        games=str(PATHS.games),
        meta=str(PATHS.positions_meta),
        arrays=position_arrays("test"),
    output:
        str(PATHS.eval_positions),
    log:
        log("eval_positions"),
    benchmark:
        benchmark("eval_positions")
    shadow:
        SHADOW
    conda:
        ENV
    shell:
        "simagents eval-positions --config {input.config} --games {input.games}"
        " --positions-meta {input.meta} --out {output} > {log} 2>&1"


rule action_values:
    # Resumable: finished chunks are kept in <output>.parts/ (not a declared output, so Snakemake
    # does not delete it on failure) and a rerun scores only what is missing.
    input:
        config=stage_config("action_values"),
        positions=str(PATHS.eval_positions),
    output:
        str(PATHS.action_values),
    log:
        log("action_values"),
    benchmark:
        benchmark("action_values")
    shadow:
        SHADOW
    conda:
        ENV
    threads: workflow.cores
    shell:
        "simagents action-values --config {input.config} --workers {threads}"
        " --positions {input.positions} --out {output} --no-progress > {log} 2>&1"


rule persona_truth:
    # Synthetic data only: every persona's exact move distribution on every evaluation position,
    # by the rules the population's games use. Resumable like the action values.
    input:
        config=stage_config("persona_truth"),
        positions=str(PATHS.eval_positions),
    output:
        str(PATHS.truth),
    log:
        log("persona_truth"),
    benchmark:
        benchmark("persona_truth")
    shadow:
        SHADOW
    conda:
        ENV
    threads: workflow.cores
    shell:
        "simagents truth --config {input.config} --workers {threads} --positions {input.positions}"
        " --out {output} --no-progress > {log} 2>&1"


rule metrics:
    # Every simulator and control under every prompt: exact metrics from the move distributions,
    # with bootstrap intervals; on synthetic data also against the personas' truth.
    input:
        config=stage_config("metrics"),
        positions=str(PATHS.eval_positions),
        action_values=str(PATHS.action_values),
        simulators=[str(PATHS.simulator(agent.seed)) for agent in SIMULATORS],
        summary=str(PATHS.summary_json),
        truth=[str(PATHS.truth)] if SYNTHETIC else [],
    output:
        metrics=str(PATHS.metrics),
        truth=[str(PATHS.truth_metrics), str(PATHS.reliability), str(PATHS.exact_frontier)] if SYNTHETIC else [],
    log:
        log("metrics"),
    benchmark:
        benchmark("metrics")
    shadow:
        SHADOW
    conda:
        ENV
    params:
        simulators=" ".join(f"--simulator {agent}={PATHS.simulator(agent.seed)}" for agent in SIMULATORS),
        truth=(
            f"--truth {PATHS.truth} --truth-out {PATHS.truth_metrics} --reliability-out {PATHS.reliability}"
            f" --frontier-out {PATHS.exact_frontier}"
            if SYNTHETIC
            else ""
        ),
    shell:
        "simagents metrics --config {input.config} --positions {input.positions}"
        " --action-values {input.action_values} {params.simulators} --summary {input.summary}"
        " --out {output.metrics} {params.truth} > {log} 2>&1"


rule simulator_checks:
    # Did the simulator learn the population? Interval-based verdicts and the calibration table.
    input:
        config=stage_config("simulator_checks"),
        metrics=str(PATHS.metrics),
    output:
        checks=str(PATHS.checks),
        calibration=str(PATHS.calibration),
    log:
        log("simulator_checks"),
    benchmark:
        benchmark("simulator_checks")
    shadow:
        SHADOW
    conda:
        ENV
    shell:
        "simagents checks --config {input.config} --metrics {input.metrics} --out {output.checks}"
        " --calibration {output.calibration} > {log} 2>&1"
