"""The measurement stage: the simulators and the controls through the metric battery and, for the
synthetic population, against the truth.

One pass of network calls serves both tables: each simulator's distributions under every prompt
(:func:`~.metrics.metric_battery`) are reused by the truth metrics (:mod:`.truth_metrics`), and
the prompt-blind control is the simulator's own distribution under ``none``. The controls
(:mod:`simagents.agents.controls`): the oracle (from the truth table), the prompt-blind simulator,
the strong engine (the action values' best move), the uniform random mover; and the greedy
grabber, the population's material-only agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..agents.controls import (
    ORACLE,
    PROMPT_BLIND,
    STRONG_ENGINE,
    UNIFORM,
    OraclePolicy,
    PromptBlind,
    TablePolicy,
    best_moves,
)
from ..agents.roster import AgentId
from ..config import Config, EngineConfig, Persona
from ..models.device import Compute
from ..policies import GreedyMaterial, Policy, RandomMover
from ..prompts import NONE_TOKEN
from .frontier import exact_frontier, learner_frontier_gaps
from .metrics import metric_battery, position_values
from .truth import truth_by_fen, truth_by_persona
from .truth_metrics import reliability_table, truth_metrics

#: The name under which a run's simulator seeds are measured together (truth metrics).
POOLED_SIMULATOR = "simulator"
#: Share of the uniform distribution mixed into the oracle's frontier (see :func:`measure`).
FRONTIER_SMOOTHING = 1e-3


@dataclass(frozen=True)
class Population:
    """What the truth-based measurements need of the synthetic population."""

    personas: tuple[Persona, ...]
    engine: EngineConfig
    nodes_per_move: int
    mixture: Mapping[str, float]  # persona -> share of the training positions (the oracle's none)


#: The compared policies that come out of training: their intervals resample the seeds too.
TRAINED = (POOLED_SIMULATOR, PROMPT_BLIND)


def measure(
    eval_positions: pa.Table,
    action_values: pa.Table,
    simulators: Mapping[str, Policy],
    prompts: Sequence[str],
    *,
    seed: int,
    strengths: Mapping[str, float] | None = None,
    truth: pa.Table | None = None,
    population: Population | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """The metrics table, and (with the truth of a synthetic population) the truth metrics, the
    reliability table and the exact frontier. ``simulators``: name -> policy, the seeds in order (the first is also
    measured prompt-blind); ``prompts``: the prompts every prompted policy is measured under."""
    values = position_values(eval_positions, action_values)
    fens = [str(f) for f in eval_positions.column("fen").to_pylist()]
    frame = action_values.select(["position_id", "move", "rank"]).to_pandas()
    best = frame[frame["rank"] == 1].set_index("position_id")["move"].to_dict()
    prompt_free = [NONE_TOKEN]
    policies: dict[str, tuple[Policy, Sequence[str]]] = {name: (p, prompts) for name, p in simulators.items()}
    first = next(iter(simulators))
    policies[PROMPT_BLIND] = (PromptBlind(simulators[first]), prompts)
    policies[STRONG_ENGINE] = (TablePolicy(STRONG_ENGINE, best_moves(fens, best)), prompt_free)
    policies[UNIFORM] = (RandomMover(UNIFORM), prompt_free)
    policies["greedy_grabber"] = (GreedyMaterial("greedy_grabber"), prompt_free)
    if truth is not None and population is not None:
        oracle = OraclePolicy(population.personas, population.engine, None, population.nodes_per_move,
                              population.mixture, known=truth_by_fen(truth, fens))  # fmt: skip
        policies[ORACLE] = (oracle, prompts)
    probabilities: dict[str, dict[str, list[np.ndarray]]] = {}
    # The prompt-blind control plays the first simulator's distribution under none everywhere.
    table = metric_battery(eval_positions, values, {first: policies[first]}, seed, strengths,
                           probabilities_out=probabilities)  # fmt: skip
    blind_known = {PROMPT_BLIND: {p: probabilities[first][NONE_TOKEN] for p in prompts}}
    rest = {name: spec for name, spec in policies.items() if name != first}
    table = pd.concat(
        [table[table.policy != "played"],
         metric_battery(eval_positions, values, rest, seed, strengths, known=blind_known,
                        probabilities_out=probabilities)],
        ignore_index=True,
    )  # fmt: skip
    if truth is None or population is None:
        return table, None, None, None
    personas = [p.name for p in population.personas]
    by_persona = truth_by_persona(truth, [pv.actions for pv in values], personas)

    def everywhere(name: str) -> dict[str, list[np.ndarray]]:  # a prompt-free policy under every prompt
        return {p: probabilities[name][NONE_TOKEN] for p in prompts}

    seeds = [probabilities[name] for name in simulators]
    blind = [{p: s[NONE_TOKEN] for p in prompts} for s in seeds]
    compared = {
        POOLED_SIMULATOR: seeds,
        ORACLE: [probabilities[ORACLE]],
        PROMPT_BLIND: blind,
        STRONG_ENGINE: [everywhere(STRONG_ENGINE)],
        UNIFORM: [everywhere(UNIFORM)],
        "greedy_grabber": [everywhere("greedy_grabber")],
    }
    played = eval_positions.column("played_action").to_numpy().astype(np.int64)
    data_prompts = np.array(eval_positions.column("own_prompt").to_pylist())
    engines = [p.name for p in population.personas if p.kind == "stockfish"]
    random_persona = next((p.name for p in population.personas if p.kind == "random"), None)
    truth_table = truth_metrics(compared, by_persona, values, played, data_prompts, engines=engines,
                                random_persona=random_persona, seed=seed, trained=TRAINED)  # fmt: skip
    reliability = reliability_table(
        {k: compared[k] for k in (POOLED_SIMULATOR, ORACLE, PROMPT_BLIND)}, by_persona, values
    )
    # The oracle rules out most moves (a Stockfish persona plays one of four lines): tilting it
    # could never reach the others. Mixed with a little of the uniform distribution, as a
    # simulator's softmax is, its frontier can reach the agent that takes the best move.
    smoothed = [{p: [(1 - FRONTIER_SMOOTHING) * q + FRONTIER_SMOOTHING / len(q) for q in qs] for p, qs in s.items()}
                for s in compared[ORACLE]]  # fmt: skip
    families = {POOLED_SIMULATOR: seeds, ORACLE: smoothed, PROMPT_BLIND: blind, STRONG_ENGINE: compared[STRONG_ENGINE]}
    frontier = exact_frontier(
        families, values, [pv.win_chance for pv in values], played, data_prompts, personas, truth=by_persona,
        seed=seed, trained=TRAINED,
    )  # fmt: skip
    return table, truth_table, reliability, frontier


def measure_agents(
    config: Config,
    checkpoints: Mapping[AgentId, Path],
    eval_positions: pa.Table,
    action_values: pa.Table,
    *,
    compute: Compute,
) -> pd.DataFrame:
    """The agent metrics: every agent of the roster under each prompt it plays under, on one
    subset of the evaluation positions (``evaluation.agent_positions_per_prompt`` per prompt), the
    RL learners' beta frontier, and the controls of the agents' tests: the strong engine (the
    action values' best move) and the uniform random mover, under the same prompts."""
    from ..agents import roster
    from ..agents.ladder import agent_players, build_policy
    from ..models import checkpoint_prompts
    from .metrics import agent_battery, agent_subset

    positions, values = agent_subset(eval_positions, action_values, config.evaluation.agent_positions_per_prompt,
                                     config.seed)  # fmt: skip
    policies: dict[str, tuple[Policy, list[str]]] = {}
    for spec in agent_players(config, checkpoints, checkpoint_prompts):
        if spec.agent not in policies:
            policies[spec.agent] = (build_policy(spec, compute=compute), [])
        policies[spec.agent][1].append(spec.prompt or NONE_TOKEN)
    prompts = sorted({p for _, ps in policies.values() for p in ps})
    fens = [str(f) for f in positions.column("fen").to_pylist()]
    frame = values.select(["position_id", "move", "rank"]).to_pandas()
    best = frame[frame["rank"] == 1].set_index("position_id")["move"].to_dict()
    policies[STRONG_ENGINE] = (TablePolicy(STRONG_ENGINE, best_moves(fens, best)), prompts)
    policies[UNIFORM] = (RandomMover(UNIFORM), prompts)
    family = roster.frontier_family(config)
    probabilities: dict[str, dict[str, list[np.ndarray]]] = {}
    table = agent_battery(positions, values, policies, family, seed=config.seed, probabilities_out=probabilities)
    gaps = learner_frontier_gaps(family, probabilities, position_values(positions, values), seed=config.seed)
    return pd.concat([table, gaps], ignore_index=True) if len(gaps) else table
