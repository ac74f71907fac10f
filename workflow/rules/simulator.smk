# Stage 3, the simulator (SPEC section 4): prompt-conditioned imitation of the population, one
# training run per seed. Checkpoints stay out of git; curves and the training summary are kept.


rule train_simulator:
    input:
        positions=str(PATHS.positions_meta),
    output:
        best=f"{RUN}/simulator/seed{{seed}}/best.pt",
        curves=f"{RUN}/simulator/seed{{seed}}/curves.csv",
        summary=f"{RUN}/simulator/seed{{seed}}/train.json",
        active_units=f"{RUN}/simulator/seed{{seed}}/active_units.csv",
    params:
        config=CONFIG_FILE,
        stage=stage_config("simulator"),
        out_dir=lambda wildcards, output: os.path.dirname(output.best),
    wildcard_constraints:
        seed=r"\d+",
    threads: workflow.cores
    log:
        f"{RUN}/logs/train_simulator_seed{{seed}}.log",
    benchmark:
        f"{RUN}/benchmarks/train_simulator_seed{{seed}}.tsv"
    shell:
        "simagents train --config {params.config} --seed {wildcards.seed} --threads {threads}"
        " --positions $(dirname {input.positions}) --out-dir {params.out_dir} > {log} 2>&1"
