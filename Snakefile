# simagents: is an imitation model a simulator of a distribution of agents, and what does RL to
# win make of it? Measured on chess. This file is the table of contents of the method: one rule
# file per stage, in the order the data flows. The logic lives in src/simagents/ and every rule
# calls the `simagents` CLI with each file it reads and writes, so each stage also runs outside
# Snakemake.
#
#   simagents snakemake --cores 2 --configfile config/default.yaml   (what `make reproduce` runs)
#   snakemake -n --configfile config/smoke.yaml                      (plan only)
#   snakemake --report report.html --configfile ...                  (HTML report of a finished run)

from snakemake.utils import min_version

min_version("9.0")


# The config is the one given with --configfile, alone: defaults come from the schema, never from
# another config file merged underneath (common.smk falls back to config/default.yaml when no
# --configfile is given). It is validated against workflow/schemas/config.schema.yaml first.
include: "workflow/rules/common.smk"
# 0. Each stage's slice of the config, the file its rules declare (editing a key reruns its readers).
include: "workflow/rules/config.smk"
# 1. Data: games from a population of agents (synthetic, lichess or local PGN) -> games table.
include: "workflow/rules/data.smk"
# 2. Positions: the games table -> encoded training positions, split by game.
include: "workflow/rules/positions.smk"
# 3. The simulator: prompt-conditioned imitation of the population, one run per seed.
include: "workflow/rules/simulator.smk"
# 4. Measurement: evaluation positions from test games, Stockfish values of every legal move,
#    the metric battery and the simulator checks.
include: "workflow/rules/evaluation.smk"
# 5. Agents: RL fine-tuning of the simulator per KL weight, and an AlphaZero-style agent.
include: "workflow/rules/agents.smk"
# 6. The agents measured like the simulator, on one subset of positions; the beta frontier.
include: "workflow/rules/agent_metrics.smk"
# 7. Strength: every agent under each prompt against anchors; a Bradley-Terry Elo fit.
include: "workflow/rules/ladder.smk"
# 8-10. The claims ledger decided, the figures, the LaTeX paper (every number generated).
include: "workflow/rules/paper.smk"


# `snakemake --report report.html`: the claims, every figure with its caption, and the paper.
report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        all_targets(),
