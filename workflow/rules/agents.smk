# Stage 5, agents that try to win: RL fine-tuning of the simulator (one run per KL weight beta and
# seed) and an AlphaZero-style agent. Search on the simulator (piKL) has no training and enters
# at the agent metrics and the ladder. Checkpoints stay out of git; curves and tables are kept.

from simagents.paths import RLFT_FILES


rule rlft:
    input:
        config=stage_config("rlft"),
        simulator=FIRST_SIMULATOR,
        games=str(PATHS.games),
    output:
        **{role: str(PATHS.rlft_file("{beta}", "{seed}", role)) for role in RLFT_FILES},
    log:
        log("rlft_beta{beta}_seed{seed}"),
    benchmark:
        benchmark("rlft_beta{beta}_seed{seed}")
    wildcard_constraints:
        beta=r"[0-9.e+-]+",
        seed=r"\d+",
    shadow:
        SHADOW
    conda:
        ENV
    threads: 1  # one process per run: runs for several betas go side by side
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.final),
    shell:
        "simagents rlft --config {input.config} --beta {wildcards.beta} --seed {wildcards.seed}"
        " --simulator {input.simulator} --games {input.games} --out-dir {params.out_dir}"
        " --threads {threads} --no-progress > {log} 2>&1"


rule rlft_summary:
    input:
        config=stage_config("rlft_summary"),
        runs=[
            str(PATHS.rlft_file(agent.weight_value, agent.seed, role))
            for agent in LEARNERS
            for role in ("evaluation", "target_evaluation", "curves", "evaluation_games", "summary")
        ],
    output:
        summary=str(PATHS.rlft_summary),
        frontier=str(PATHS.rlft_frontier),
    log:
        log("rlft_summary"),
    benchmark:
        benchmark("rlft_summary")
    shadow:
        SHADOW
    conda:
        ENV
    params:
        runs=" ".join(str(PATHS.rlft_dir(agent.weight_value, agent.seed)) for agent in LEARNERS),
    shell:
        "simagents rlft-summary --config {input.config} --runs {params.runs} --out {output.summary}"
        " --frontier {output.frontier} > {log} 2>&1"


rule az:
    input:
        config=stage_config("az"),
        games=str(PATHS.games),
        # az.init simulator starts from the first simulator; scratch reads the positions' vocabulary
        start=FIRST_SIMULATOR if CFG.az.init == "simulator" else str(PATHS.positions_meta),
    output:
        # last.pt is resume state, left undeclared so that Snakemake keeps it when a run fails
        **{role: str(PATHS.az_file(CFG.az.seed, role)) for role in ("final", "curves", "summary")},
    log:
        log("az"),
    benchmark:
        benchmark("az")
    shadow:
        SHADOW
    conda:
        ENV
    threads: 1
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.final),
        start="--simulator" if CFG.az.init == "simulator" else "--positions-meta",
    shell:
        "simagents az --config {input.config} {params.start} {input.start} --games {input.games}"
        " --out-dir {params.out_dir} --threads {threads} --no-progress > {log} 2>&1"
