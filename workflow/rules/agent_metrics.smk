# Stage 6, the agents measured like the simulator (SPEC section 5): every agent under each prompt
# on one subset of the evaluation positions, with the same metric battery, and the beta frontier.

rule agent_metrics:
    # Every agent (rlft per beta, pikl per lambda, az) and the simulator under each prompt on one
    # subset of the evaluation positions, and the beta frontier's rank correlations.
    input:
        positions=str(PATHS.eval_positions),
        action_values=str(PATHS.action_values),
        simulators=[str(PATHS.simulator_dir(seed) / "best.pt") for seed in CFG.simulator.seeds],
        rlft=[f"{RUN}/agents/rlft/beta{b}_seed{s}/final.pt" for b in BETAS for s in CFG.rlft.seeds],
        az=f"{RUN}/agents/az/seed{CFG.az.seed}/final.pt",
    output:
        str(PATHS.agent_metrics),
    params:
        config=CONFIG_FILE,
        stage=stage_config("seed", "evaluation.agent_positions_per_prompt", "pikl", "az.eval_simulations",
                           "ladder.prompts", "rlft.betas", "rlft.seeds"),
    log:
        f"{RUN}/logs/agent_metrics.log",
    benchmark:
        f"{RUN}/benchmarks/agent_metrics.tsv"
    shell:
        "simagents agent-metrics --config {params.config} --positions {input.positions}"
        " --action-values {input.action_values} --out {output} > {log} 2>&1"
