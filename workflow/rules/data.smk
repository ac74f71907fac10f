# Stage 1, data (SPEC section 3): every source ends in the same games table and drop ledger.

from simagents.data.sources import input_files


rule synthetic_games:
    # The synthetic population plays itself: Stockfish personas, a random mover, a greedy grabber.
    output:
        pgn=str(PATHS.synthetic_pgn),
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "engine", "data.synthetic"),
    threads: workflow.cores
    log:
        f"{RUN}/logs/synthetic_games.log",
    benchmark:
        f"{RUN}/benchmarks/synthetic_games.tsv"
    shell:
        "simagents synthetic --config {params.config} --workers {threads}"
        " --pgn-out {output.pgn} > {log} 2>&1"


rule download_lichess:
    # One monthly dump of the lichess open database (CC0), resumable, sha256-verified.
    output:
        f"{CFG.resources_dir}/lichess/lichess_db_standard_rated_{{month}}.pgn.zst",
    params:
        config=CONFIG_FILE,
    wildcard_constraints:
        month=r"\d{4}-\d{2}",
    retries: 2
    log:
        f"{RUN}/logs/download_lichess_{{month}}.log",
    benchmark:
        f"{RUN}/benchmarks/download_lichess_{{month}}.tsv"
    shell:
        "simagents download --config {params.config} --month {wildcards.month} --no-progress > {log} 2>&1"


rule games_table:
    # PGN (any source) -> the games table: every game kept or dropped with a counted reason.
    input:
        pgn=[str(p) for p in input_files(CFG)],
    output:
        games=str(PATHS.games),
        ledger=str(PATHS.ingest_ledger),
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "data"),
    threads: workflow.cores
    log:
        f"{RUN}/logs/games_table.log",
    benchmark:
        f"{RUN}/benchmarks/games_table.tsv"
    shell:
        "simagents games --config {params.config} --workers {threads} --inputs {input.pgn}"
        " --out {output.games} --ledger-out {output.ledger} > {log} 2>&1"


rule data_summary:
    # What was read, kept and dropped (by reason), games and positions per prompt, who beat whom.
    input:
        games=str(PATHS.games),
        ledger=str(PATHS.ingest_ledger),
        positions=str(PATHS.positions_meta),
    output:
        json=str(PATHS.summary_json),
        md=str(PATHS.summary_md),
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "data"),
    log:
        f"{RUN}/logs/data_summary.log",
    benchmark:
        f"{RUN}/benchmarks/data_summary.tsv"
    shell:
        "simagents summary --config {params.config} --games {input.games} --ledger {input.ledger}"
        " --positions-meta {input.positions} --out-json {output.json}"
        " --out-md {output.md} > {log} 2>&1"
