# Stage 3, the simulator: prompt-conditioned imitation of the population, one training run per
# seed. Checkpoints stay out of git; curves and the training summary are kept.


rule train_simulator:
    input:
        config=stage_config("train_simulator"),
        meta=str(PATHS.positions_meta),
        arrays=position_arrays("train", "val"),
    output:
        best=str(PATHS.simulator("{seed}")),
        curves=str(PATHS.simulator_curves("{seed}")),
        summary=str(PATHS.simulator_summary("{seed}")),
        active_units=str(PATHS.simulator_active_units("{seed}")),
    log:
        log("train_simulator_seed{seed}"),
    benchmark:
        benchmark("train_simulator_seed{seed}")
    wildcard_constraints:
        seed=r"\d+",
    shadow:
        SHADOW
    conda:
        ENV
    threads: workflow.cores
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.best),
    shell:
        "simagents train --config {input.config} --seed {wildcards.seed} --threads {threads}"
        " --positions-meta {input.meta} --out-dir {params.out_dir} > {log} 2>&1"
