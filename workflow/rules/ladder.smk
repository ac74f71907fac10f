# Stage 7, playing strength (SPEC section 5): every agent under each prompt against anchors
# (random mover, greedy grabber, Stockfish levels), then one Bradley-Terry fit with bootstrap
# intervals over games. The PGN is kept beside the tables.


rule ladder:
    input:
        simulators=[str(PATHS.simulator_dir(seed) / "best.pt") for seed in CFG.simulator.seeds],
        rlft=[f"{RUN}/agents/rlft/beta{b}_seed{s}/final.pt" for b in BETAS for s in CFG.rlft.seeds],
        az=f"{RUN}/agents/az/seed{CFG.az.seed}/final.pt",
        games=str(PATHS.games),
    output:
        elo=str(PATHS.ladder / "elo.csv"),
        games=str(PATHS.ladder / "games.csv"),
        pgn=str(PATHS.ladder / "games.pgn"),
        resamples=str(PATHS.ladder / "elo_resamples.parquet"),
        statistics=str(PATHS.ladder / "statistics.csv"),
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "engine", "games", "ladder", "pikl", "az.eval_simulations",
                           "data.synthetic.personas", "positions.split"),
        out_dir=lambda wildcards, output: os.path.dirname(output.elo),
    threads: workflow.cores
    log:
        f"{RUN}/logs/ladder.log",
    benchmark:
        f"{RUN}/benchmarks/ladder.tsv"
    shell:
        "simagents ladder --config {params.config} --workers {threads} --out-dir {params.out_dir}"
        " --no-progress > {log} 2>&1"
