# Stage 2, positions (SPEC section 3): encoded boards from the mover's side, prompts, moves and
# results, split by game into train/val/test, stored as memory-mappable .npy shards.


rule positions:
    input:
        games=str(PATHS.games),
    output:
        meta=str(PATHS.positions_meta),
        arrays=[f"{RUN}/positions/{split}/{name}.npy" for split in SPLITS for name in ARRAYS],
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "positions"),
        out_dir=lambda wildcards, output: os.path.dirname(output.meta),
    threads: workflow.cores
    log:
        f"{RUN}/logs/positions.log",
    benchmark:
        f"{RUN}/benchmarks/positions.tsv"
    shell:
        "simagents positions --config {params.config} --workers {threads} --games {input.games}"
        " --out-dir {params.out_dir} > {log} 2>&1"
