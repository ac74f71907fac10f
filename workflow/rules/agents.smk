# Stage 5, agents that try to win (SPEC section 4): RL fine-tuning of the simulator (one run per
# KL weight beta and seed) and an AlphaZero-style agent. Search on the simulator (pikl) has no
# training and enters at the ladder. Checkpoints stay out of git; curves and tables are kept.

from simagents.paths import format_beta

BETAS = [format_beta(b) for b in CFG.rlft.betas]
FIRST_SIMULATOR = str(PATHS.simulator_dir(CFG.simulator.seeds[0]) / "best.pt")


rule rlft:
    input:
        simulator=FIRST_SIMULATOR,
        games=str(PATHS.games),
    output:
        final=f"{RUN}/agents/rlft/beta{{beta}}_seed{{seed}}/final.pt",
        curves=f"{RUN}/agents/rlft/beta{{beta}}_seed{{seed}}/curves.csv",
        evaluation=f"{RUN}/agents/rlft/beta{{beta}}_seed{{seed}}/evaluation.csv",
        target_evaluation=f"{RUN}/agents/rlft/beta{{beta}}_seed{{seed}}/target_evaluation.csv",
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "games", "rlft", "positions.split"),
        out_dir=lambda wildcards, output: os.path.dirname(output.final),
    wildcard_constraints:
        beta=r"[0-9.e+-]+",
        seed=r"\d+",
    threads: 1  # one process per run: runs for several betas go side by side
    log:
        f"{RUN}/logs/rlft_beta{{beta}}_seed{{seed}}.log",
    benchmark:
        f"{RUN}/benchmarks/rlft_beta{{beta}}_seed{{seed}}.tsv"
    shell:
        "simagents rlft --config {params.config} --beta {wildcards.beta} --seed {wildcards.seed}"
        " --simulator {input.simulator} --out-dir {params.out_dir} --threads {threads} --no-progress > {log} 2>&1"


rule rlft_summary:
    input:
        [f"{RUN}/agents/rlft/beta{b}_seed{s}/{table}" for b in BETAS for s in CFG.rlft.seeds
         for table in ("evaluation.csv", "target_evaluation.csv")],
    output:
        summary=str(PATHS.rlft_summary),
        frontier=str(PATHS.rlft_summary.with_name("rlft_frontier.csv")),
    params:
        config=CONFIG_FILE,
    log:
        f"{RUN}/logs/rlft_summary.log",
    shell:
        "simagents rlft-summary --config {params.config} --out {output.summary}"
        " --frontier {output.frontier} > {log} 2>&1"


rule az:
    input:
        simulator=FIRST_SIMULATOR,
        games=str(PATHS.games),
    output:
        final=f"{RUN}/agents/az/seed{CFG.az.seed}/final.pt",
        curves=f"{RUN}/agents/az/seed{CFG.az.seed}/curves.csv",
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "games", "az", "positions.split"),
        out_dir=lambda wildcards, output: os.path.dirname(output.final),
    threads: 1
    log:
        f"{RUN}/logs/az.log",
    benchmark:
        f"{RUN}/benchmarks/az.tsv"
    shell:
        "simagents az --config {params.config} --simulator {input.simulator} --out-dir {params.out_dir}"
        " --threads {threads} --no-progress > {log} 2>&1"
