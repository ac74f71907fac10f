"""The run's agents: one id type, one list, and who plays under which prompt.

Every network policy of a run has an :class:`AgentId`: the simulator of a training seed, search
on it (piKL, one per lambda), an RL learner (one per KL weight beta and RL seed) and the
AlphaZero-style agent. Its string form (``simulator_seed0``, ``pikl_lambda0.1_seed0``,
``rlft_beta0.1_seed0``, ``az_seed0``) is the name in every table, figure and paper macro; it is
made here and parsed here, nowhere else. :func:`agents` lists a config's roster in a fixed order,
:func:`checkpoint_owners` the agents that have a checkpoint of their own (piKL plays on its
simulator's), :func:`roles` the agents the claims ledger and the paper cite by role.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config import Config
from ..paths import RunPaths, format_beta
from ..prompts import UNKNOWN_TOKEN

AgentKind = Literal["simulator", "pikl", "rlft", "az"]

_PATTERN = re.compile(
    r"^(?:(?P<kind>simulator|az)|pikl_lambda(?P<lam>[0-9.e+-]+)|rlft_beta(?P<beta>[0-9.e+-]+))_seed(?P<seed>\d+)$"
)


@dataclass(frozen=True)
class AgentId:
    """One network agent of a run. ``weight``: the KL weight beta (rlft) or lambda (pikl)."""

    kind: AgentKind
    seed: int
    weight: float | None = None

    def __post_init__(self) -> None:
        if (self.weight is None) != (self.kind in ("simulator", "az")):
            raise ValueError(f"{self.kind} agents {'take no' if self.weight is not None else 'need a'} weight")

    def __str__(self) -> str:
        if self.kind == "pikl":
            return f"pikl_lambda{format_beta(self.weight_value)}_seed{self.seed}"
        if self.kind == "rlft":
            return f"rlft_beta{format_beta(self.weight_value)}_seed{self.seed}"
        return f"{self.kind}_seed{self.seed}"

    @property
    def weight_value(self) -> float:
        """The weight of a weighted agent (an error for the others)."""
        if self.weight is None:
            raise ValueError(f"{self.kind} agents have no weight")
        return self.weight

    @classmethod
    def parse(cls, text: str) -> AgentId:
        """The id of an agent's name (``rlft_beta0.1_seed0`` -> rlft, beta 0.1, seed 0)."""
        match = _PATTERN.match(text)
        if match is None:
            raise ValueError(
                f"not an agent name: {text!r} (expected simulator_seedN, az_seedN, pikl_lambdaX_seedN or "
                "rlft_betaX_seedN)"
            )
        seed = int(match["seed"])
        if match["kind"] == "simulator":
            return cls("simulator", seed)
        if match["kind"] == "az":
            return cls("az", seed)
        if match["lam"] is not None:
            return cls("pikl", seed, float(match["lam"]))
        return cls("rlft", seed, float(match["beta"]))

    @property
    def checkpoint_owner(self) -> AgentId:
        """The agent whose checkpoint this one plays: piKL searches on its simulator's network."""
        return AgentId("simulator", self.seed) if self.kind == "pikl" else self


def frontier_name(beta: float) -> str:
    """The agent's name in the ladder's tables: ``frontier_beta0.01``."""
    return f"frontier_beta{format_beta(beta)}"


def frontier_beta(name: str) -> float | None:
    """The beta of a frontier player's agent name (:func:`frontier_name`), None for other names."""
    prefix = "frontier_beta"
    if not name.startswith(prefix):
        return None
    try:
        return float(name[len(prefix) :])
    except ValueError:
        return None


def simulators(config: Config) -> list[AgentId]:
    return [AgentId("simulator", seed) for seed in config.simulator.seeds]


def rl_learners(config: Config) -> list[AgentId]:
    """Every RL learner, by beta then seed."""
    return [AgentId("rlft", seed, beta) for beta in config.rlft.betas for seed in config.rlft.seeds]


def agents(config: Config) -> list[AgentId]:
    """The roster in its fixed order: the first simulator seed with its piKL agents, the other
    seeds, the RL learners (started from the first seed), az."""
    first, *others = simulators(config)
    # search on the first simulator only: piKL's lambdas are a family of their own, and one seed
    # of it keeps the ladder's cost linear in the seeds
    search = [AgentId("pikl", first.seed, lam) for lam in config.pikl.lambdas]
    return [first, *search, *others, *rl_learners(config), AgentId("az", config.az.seed)]


def checkpoint_owners(config: Config) -> list[AgentId]:
    """The agents with a checkpoint of their own, in roster order."""
    return [agent for agent in agents(config) if agent.checkpoint_owner == agent]


def checkpoint_path(paths: RunPaths, agent: AgentId) -> Path:
    """Where an agent's checkpoint is in a run (piKL: its simulator's)."""
    owner = agent.checkpoint_owner
    if owner.kind == "simulator":
        return paths.simulator(owner.seed)
    if owner.kind == "rlft":
        return paths.rlft_file(owner.weight_value, owner.seed, "final")
    return paths.az(owner.seed)


def parse_checkpoints(pairs: Sequence[str], config: Config) -> dict[AgentId, Path]:
    """``AGENT=PATH`` arguments as agent -> checkpoint, checked against the roster: every owner of
    a checkpoint must be given exactly once, and no other agent."""
    given: dict[AgentId, Path] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not path:
            raise ValueError(f"--checkpoint expects AGENT=PATH, got {pair!r}")
        agent = AgentId.parse(name)
        if agent in given:
            raise ValueError(f"--checkpoint gives {name} twice")
        given[agent] = Path(path)
    expected = checkpoint_owners(config)
    missing = [str(a) for a in expected if a not in given]
    extra = [str(a) for a in given if a not in expected]
    if missing or extra:
        raise ValueError(
            "the checkpoints given do not match the config's roster: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"not in the roster {', '.join(extra)}" if extra else "",
                )
                if part
            )
        )
    for agent, checkpoint in given.items():
        if not checkpoint.exists():
            raise FileNotFoundError(f"checkpoint of {agent} not found: {checkpoint}")
    return {agent: given[agent] for agent in expected}


def roles(config: Config) -> dict[str, str]:
    """The names the claims ledger and the paper cite by role (the ledger's ``{role}`` fields):
    the first simulator seed, all of them together (``simulators``), the RL learners of the smallest and largest beta (first RL seed),
    the piKL agent with the smallest lambda (the most search), az, and the random mover's prompt."""
    betas = sorted(config.rlft.betas)
    first_simulator = config.simulator.seeds[0]
    values = {
        "simulator": str(AgentId("simulator", first_simulator)),
        "simulators": "simulator",  # every simulator seed measured together (evaluation.battery)
        "az": str(AgentId("az", config.az.seed)),
        "rlft_lowest": str(AgentId("rlft", config.rlft.seeds[0], betas[0])),
        "rlft_highest": str(AgentId("rlft", config.rlft.seeds[0], betas[-1])),
        "pikl_lowest": str(AgentId("pikl", first_simulator, min(config.pikl.lambdas))),
        "random": "random",
    }
    if config.data.source == "synthetic":
        values["random"] = next((p.name for p in config.data.synthetic.personas if p.kind == "random"), "random")
    return values


def frontier_family(config: Config) -> dict[str, float]:
    """The beta frontier's policies by name -> beta: the learners of the first RL seed, and the
    simulator they start from as its beta = infinity end (no RL at all), ranked above every beta."""
    family = {str(AgentId("rlft", config.rlft.seeds[0], beta)): beta for beta in config.rlft.betas}
    family[str(AgentId("simulator", config.simulator.seeds[0]))] = float("inf")
    return family


def agent_prompts(
    agent: AgentId,
    checkpoints: Mapping[AgentId, Path],
    configured: Sequence[str] | None,
    prompts_of: Callable[[Path], Sequence[str]],
) -> list[str]:
    """The prompts an agent plays under: ``configured`` (``ladder.prompts``) or every prompt of
    its checkpoint but ``unknown``; az plays unprompted (``none``). A configured prompt the
    checkpoint does not know is an error."""
    if agent.kind == "az":
        return ["none"]
    known = [p for p in prompts_of(checkpoints[agent.checkpoint_owner]) if p != UNKNOWN_TOKEN]
    if configured is None:
        return known
    unknown = sorted(set(configured) - set(known))
    if unknown:
        raise ValueError(f"ladder.prompts {unknown} are not prompts of {agent} ({known})")
    return list(configured)
