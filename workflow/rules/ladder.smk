# Stage 7, playing strength: every agent under each prompt against anchors (random mover, greedy
# grabber, Stockfish levels), then one Bradley-Terry fit with bootstrap intervals over games. The
# PGN is kept beside the tables.

from simagents.paths import LADDER_FILES


rule ladder:
    input:
        config=stage_config("ladder"),
        checkpoints=list(CHECKPOINTS.values()),
        games=str(PATHS.games),
    output:
        **{role: str(PATHS.ladder_file(role)) for role in LADDER_FILES},
    log:
        log("ladder"),
    benchmark:
        benchmark("ladder")
    shadow:
        SHADOW
    conda:
        ENV
    threads: workflow.cores
    params:
        checkpoints=CHECKPOINT_ARGUMENTS,
        out_dir=lambda wildcards, output: os.path.dirname(output.elo),
    shell:
        "simagents ladder --config {input.config} --workers {threads} {params.checkpoints}"
        " --games {input.games} --out-dir {params.out_dir} --no-progress > {log} 2>&1"
