# Stage 2, positions: encoded boards from the mover's side, prompts, moves and results, split by
# game into train/val/test, stored as memory-mappable .npy arrays.


rule positions:
    input:
        config=stage_config("positions"),
        games=str(PATHS.games),
    output:
        meta=str(PATHS.positions_meta),
        arrays=position_arrays(*SPLITS),
    log:
        log("positions"),
    benchmark:
        benchmark("positions")
    shadow:
        SHADOW
    conda:
        ENV
    threads: workflow.cores
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.meta),
    shell:
        "simagents positions --config {input.config} --workers {threads} --games {input.games}"
        " --out-dir {params.out_dir} > {log} 2>&1"
