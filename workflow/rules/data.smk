# Stage 1, data: every source ends in the same games table and drop ledger, and a data summary.

from simagents.data.lichess import lichess_dump_path
from simagents.data.sources import input_files


rule synthetic_games:
    # The synthetic population plays itself: Stockfish personas, a random mover, a greedy grabber.
    input:
        config=stage_config("synthetic_games"),
    output:
        pgn=str(PATHS.synthetic_pgn),
    log:
        log("synthetic_games"),
    benchmark:
        benchmark("synthetic_games")
    shadow:
        SHADOW
    conda:
        ENV
    threads: workflow.cores
    shell:
        "simagents synthetic --config {input.config} --workers {threads} --pgn-out {output.pgn} > {log} 2>&1"


rule download_lichess:
    # One monthly dump of the lichess open database (CC0), resumable, sha256-verified.
    input:
        config=stage_config("download_lichess"),
    output:
        str(lichess_dump_path(CFG.resources_dir, CFG.data.lichess.url_template, "{month}")),
    log:
        log("download_lichess_{month}"),
    benchmark:
        benchmark("download_lichess_{month}")
    wildcard_constraints:
        month=r"\d{4}-\d{2}",
    retries: 2
    shadow:
        SHADOW
    conda:
        ENV
    shell:
        "simagents download --config {input.config} --month {wildcards.month} --out {output}"
        " --no-progress > {log} 2>&1"


rule games_table:
    # PGN (any source) -> the games table: every game kept or dropped with a counted reason.
    input:
        config=stage_config("games_table"),
        pgn=[str(p) for p in input_files(CFG, PATHS)],
    output:
        games=str(PATHS.games),
        ledger=str(PATHS.ingest_ledger),
    log:
        log("games_table"),
    benchmark:
        benchmark("games_table")
    shadow:
        SHADOW
    conda:
        ENV
    threads: workflow.cores
    shell:
        "simagents games --config {input.config} --workers {threads} --inputs {input.pgn}"
        " --out {output.games} --ledger-out {output.ledger} > {log} 2>&1"


rule data_summary:
    # What was read, kept and dropped (by reason), games and positions per prompt, who beat whom.
    input:
        config=stage_config("data_summary"),
        games=str(PATHS.games),
        ledger=str(PATHS.ingest_ledger),
        positions=str(PATHS.positions_meta),
    output:
        json=str(PATHS.summary_json),
        md=str(PATHS.summary_md),
    log:
        log("data_summary"),
    benchmark:
        benchmark("data_summary")
    shadow:
        SHADOW
    conda:
        ENV
    shell:
        "simagents summary --config {input.config} --games {input.games} --ledger {input.ledger}"
        " --positions-meta {input.positions} --out-json {output.json} --out-md {output.md} > {log} 2>&1"
