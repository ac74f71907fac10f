"""The Elo ladder: every agent under each prompt against fixed anchors, then one Bradley-Terry fit.

Players are described by :class:`PlayerSpec` (picklable: worker processes build the policies).
Anchors are personas of the config (random mover, greedy grabber, Stockfish levels); they also
play each other, which fixes the scale between them. Every other player plays every anchor
``games_per_pairing`` times, colours alternating, from the same held-out openings. Games run in
worker processes, one task per player, and within a task all its games run at once through the
one game runner (network calls batched across boards).

Network players run on the run's device and precision (:mod:`simagents.models.device`). Worker
processes are forked on the CPU (they inherit the loaded code); on a GPU they are spawned, since
CUDA cannot be used in a process forked from one that has already asked the driver about it.

The fit (:func:`~simagents.agents.elo.elo_ladder`) is anchored to one Stockfish level at its
nominal rating (``UCI_Elo``), with percentile-bootstrap intervals over games.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Config, EngineConfig, Persona
from ..games import GameSpec, PlayedGame, match_seed, play_games, play_tasks
from ..models.device import CPU, Compute
from ..policies import GreedyMaterial, Policy, RandomMover
from ..stats import spearman
from . import roster
from .elo import GameResult, elo_ladder_resamples, ratings_table
from .roster import AgentId

log = logging.getLogger("simagents")


@dataclass(frozen=True)
class PlayerSpec:
    """One ladder player: how to build its policy and which prompt it plays under.

    ``kind``: ``random``, ``greedy``, ``stockfish`` (anchors: ``rating`` is UCI_Elo), ``simulator``
    or ``rlft`` (a checkpoint), ``pikl`` (a checkpoint and ``lam``), ``frontier`` (a checkpoint and
    ``lam``, its beta), ``az`` (a checkpoint and ``simulations`` per move).
    """

    name: str
    agent: str  # the agent without its prompt, e.g. ``rlft_beta0.1_seed0``
    kind: str
    prompt: str = "none"
    checkpoint: str | None = None
    rating: int | None = None
    lam: float | None = None
    simulations: int | None = None
    options: dict[str, object] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_anchor(self) -> bool:
        return self.kind in ("random", "greedy", "stockfish")


def anchor_specs(personas: Sequence[Persona], names: Sequence[str]) -> list[PlayerSpec]:
    """Anchors by persona name (config ``ladder.anchors``); an unknown name is an error."""
    by_name = {p.name: p for p in personas}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ValueError(f"ladder anchors {missing} are not personas of data.synthetic.personas ({sorted(by_name)})")
    return [PlayerSpec(name=n, agent=n, kind=by_name[n].kind, rating=by_name[n].rating) for n in names]


def agent_players(
    config: Config, checkpoints: Mapping[AgentId, Path], prompts_of: Callable[[Path], Sequence[str]]
) -> list[PlayerSpec]:
    """Every agent of the run's roster (:mod:`.roster`) under each prompt it plays under, in roster
    order: ``<agent>@<prompt>``; az plays once, unprompted, under its own name.

    ``checkpoints``: each checkpoint owner's file; ``prompts_of``: a checkpoint's prompt vocabulary.
    """
    players: list[PlayerSpec] = []
    for agent in roster.agents(config):
        path = str(checkpoints[agent.checkpoint_owner])
        if agent.kind == "az":
            players.append(
                PlayerSpec(
                    name=str(agent),
                    agent=str(agent),
                    kind="az",
                    checkpoint=path,
                    simulations=config.az.eval_simulations,
                )
            )
            continue
        for prompt in roster.agent_prompts(agent, checkpoints, config.ladder.prompts, prompts_of):
            players.append(
                PlayerSpec(
                    name=f"{agent}@{prompt}",
                    agent=str(agent),
                    kind=agent.kind,
                    prompt=prompt,
                    checkpoint=path,
                    lam=agent.weight if agent.kind == "pikl" else None,
                )
            )
    return players


def ladder_players(
    config: Config, checkpoints: Mapping[AgentId, Path], prompts_of: Callable[[Path], Sequence[str]]
) -> list[PlayerSpec]:
    """The ladder's players: the anchors (``ladder.anchors``), then :func:`agent_players`."""
    if config.ladder.anchor not in config.ladder.anchors:
        raise ValueError(
            f"ladder.anchor {config.ladder.anchor!r} is not one of ladder.anchors {list(config.ladder.anchors)}"
        )
    anchors = anchor_specs(config.data.synthetic.personas, config.ladder.anchors)
    return (
        anchors
        + agent_players(config, checkpoints, prompts_of)
        + frontier_players(config, checkpoints, prompts_of)
        + control_players(config, checkpoints)
    )


def frontier_players(
    config: Config, checkpoints: Mapping[AgentId, Path], prompts_of: Callable[[Path], Sequence[str]]
) -> list[PlayerSpec]:
    """The exact frontier played (:mod:`.frontier_agent`): the first simulator tilted by
    Stockfish's action values, one player per ``ladder.frontier_betas`` and prompt
    (``ladder.frontier_prompts``, else those of ``ladder.prompts``), ``frontier_beta<b>@<prompt>``."""
    from .roster import frontier_name

    first = AgentId("simulator", config.simulator.seeds[0])
    configured = config.ladder.frontier_prompts if config.ladder.frontier_prompts is not None else config.ladder.prompts
    prompts = roster.agent_prompts(first, checkpoints, configured, prompts_of)
    players = []
    for beta in config.ladder.frontier_betas:
        name = frontier_name(beta)
        players += [
            PlayerSpec(
                name=f"{name}@{prompt}",
                agent=name,
                kind="frontier",
                prompt=prompt,
                checkpoint=str(checkpoints[first]),
                lam=beta,
            )
            for prompt in prompts
        ]
    return players


def control_players(config: Config, checkpoints: Mapping[AgentId, Path]) -> list[PlayerSpec]:
    """The controls of the strength tests (:mod:`.controls`), under every persona's prompt: the
    oracle (each persona itself, synthetic data only) and the prompt-blind first simulator."""
    from .controls import ORACLE, PROMPT_BLIND

    personas = config.data.synthetic.personas if config.data.source == "synthetic" else ()
    names = [p.name for p in personas]
    first = str(checkpoints[AgentId("simulator", config.simulator.seeds[0])])
    players = [PlayerSpec(name=f"{ORACLE}@{n}", agent=ORACLE, kind="oracle", prompt=n) for n in names]
    players += [
        PlayerSpec(name=f"{PROMPT_BLIND}@{n}", agent=PROMPT_BLIND, kind="prompt_blind", prompt=n, checkpoint=first)
        for n in names
    ]
    return players


@dataclass(frozen=True)
class _Setup:
    players: tuple[PlayerSpec, ...]
    engine: EngineConfig
    engine_path: str | None
    nodes_per_move: int
    max_plies: int
    compute: Compute = CPU
    personas: tuple[Persona, ...] = ()  # the population, for the oracle control
    persona_nodes: int = 0  # the population's node budget per move, for the oracle control
    frontier_nodes: int = 0  # the frontier players' node budget of their action values


_setup: _Setup | None = None
_policies: dict[str, Policy] = {}


def build_policy(spec: PlayerSpec, setup: _Setup | None = None, compute: Compute | None = None) -> Policy:
    """The policy of one player; ``setup`` is needed for Stockfish players only. Network players
    run on ``compute``, else on ``setup.compute``, else on the CPU in float32."""
    if spec.kind == "random":
        return RandomMover(spec.name)
    if spec.kind == "greedy":
        return GreedyMaterial(spec.name)
    if spec.kind == "oracle":
        from .controls import OraclePolicy

        assert setup is not None and setup.personas, "the oracle needs the population"
        engine_path = Path(setup.engine_path) if setup.engine_path else None
        # under a persona's prompt the oracle is that persona (the ladder never prompts it none)
        uniform = {p.name: 1.0 for p in setup.personas}
        return OraclePolicy(setup.personas, setup.engine, engine_path, setup.persona_nodes, uniform, name=spec.agent)
    if spec.kind == "stockfish":
        from ..policies import StockfishPolicy
        from ..stockfish import open_engine

        assert setup is not None and setup.engine_path is not None
        start = functools.partial(open_engine, Path(setup.engine_path), setup.engine.threads, setup.engine.hash_mb)
        return StockfishPolicy(start, spec.name, spec.rating, setup.nodes_per_move)
    from ..models import load_simulator_and_vocabulary
    from ..models.simulator_policy import SimulatorPolicy

    assert spec.checkpoint is not None
    compute = compute or (setup.compute if setup is not None else CPU)
    model, vocabulary = load_simulator_and_vocabulary(Path(spec.checkpoint), compute)
    simulator = SimulatorPolicy(model, vocabulary, name=spec.agent, compute=compute)
    if spec.kind in ("simulator", "rlft"):
        return simulator
    if spec.kind == "prompt_blind":
        from .controls import PromptBlind

        return PromptBlind(simulator, name=spec.agent)
    if spec.kind == "pikl":
        from .pikl import PiKLPolicy

        assert spec.lam is not None
        return PiKLPolicy(simulator, spec.lam, name=spec.agent)
    if spec.kind == "frontier":
        from ..stockfish import open_engine
        from .frontier_agent import FrontierPolicy

        assert setup is not None and setup.engine_path is not None and spec.lam is not None
        start = functools.partial(open_engine, Path(setup.engine_path), setup.engine.threads, setup.engine.hash_mb)
        return FrontierPolicy(simulator, spec.lam, start, setup.frontier_nodes, name=spec.agent)
    if spec.kind == "az":
        from .az import AzPolicy

        return AzPolicy(simulator, spec.simulations or 32, name=spec.agent)
    raise ValueError(f"unknown player kind {spec.kind!r}")


def _close() -> None:
    for policy in _policies.values():
        policy.close()
    _policies.clear()


def _init_worker(setup: _Setup) -> None:
    global _setup
    import torch

    torch.set_num_threads(1)  # one process per core: threads inside would only contend
    _setup = setup
    multiprocessing.util.Finalize(None, _close, exitpriority=10)


def _policy_key(spec: PlayerSpec) -> str:
    # Players that share a network (one agent under several prompts) share one policy object.
    return spec.name if spec.is_anchor else spec.agent


def _play_task(specs: list[GameSpec]) -> list[PlayedGame]:
    assert _setup is not None
    by_name = {p.name: p for p in _setup.players}
    needed = {s.white for s in specs} | {s.black for s in specs}
    for name in needed:
        spec = by_name[name]
        key = _policy_key(spec)
        if key not in _policies:
            _policies[key] = build_policy(spec, _setup)
    renamed = [
        GameSpec(
            _policy_key(by_name[s.white]),
            _policy_key(by_name[s.black]),
            s.white_prompt,
            s.black_prompt,
            s.seed,
            s.opening,
            s.random_opening_plies,
            s.round,
        )
        for s in specs
    ]
    played = play_games(renamed, _policies, _setup.max_plies)
    # Back to player names (agent@prompt) for the PGN and the table.
    return [PlayedGame(spec, g.moves, g.result, g.termination) for spec, g in zip(specs, played)]


def schedule(
    players: Sequence[PlayerSpec], games_per_pairing: int, openings: Sequence[tuple[str, ...]], seed: int
) -> list[list[GameSpec]]:
    """Tasks of games: anchors against each other, then each other player against every anchor.

    Game ``g`` of every pairing starts from opening ``g`` (so pairings are comparable) and
    colours alternate with ``g``. One task per non-anchor player (its network is built once per
    worker and its games are batched), one per anchor pair.
    """
    anchors = [p for p in players if p.is_anchor]
    if not anchors:
        raise ValueError("the ladder needs at least one anchor")
    tasks: list[list[GameSpec]] = []

    def pairing(a: PlayerSpec, b: PlayerSpec) -> list[GameSpec]:
        games = []
        for g in range(games_per_pairing):
            first, second = (a, b) if g % 2 == 0 else (b, a)
            games.append(
                GameSpec(
                    first.name,
                    second.name,
                    first.prompt,
                    second.prompt,
                    match_seed("ladder", seed, a.name, b.name, g),
                    openings[g % len(openings)],
                    round=f"{a.name} v {b.name} #{g + 1}",
                )
            )
        return games

    for i, a in enumerate(anchors):
        for b in anchors[i + 1 :]:
            tasks.append(pairing(a, b))
    for player in players:
        if not player.is_anchor:
            tasks.append([game for anchor in anchors for game in pairing(player, anchor)])
    return tasks


def play_ladder(
    players: Sequence[PlayerSpec],
    tasks: Sequence[list[GameSpec]],
    engine: EngineConfig,
    nodes_per_move: int,
    max_plies: int,
    workers: int = 1,
    progress: bool = True,
    compute: Compute = CPU,
    start_method: str | None = None,
    personas: Sequence[Persona] = (),
    persona_nodes: int = 0,
    frontier_nodes: int = 0,
) -> list[PlayedGame]:
    """Play every task (in ``workers`` processes); games come back in task order.

    Network players run on ``compute``. ``start_method`` of the worker processes: by default
    ``fork`` on the CPU and ``spawn`` on any other device (see the module docstring).
    """
    names = [p.name for p in players]
    if len(set(names)) != len(names):
        raise ValueError("ladder player names must be unique")
    engine_path = None
    if any(p.kind in ("stockfish", "oracle", "frontier") for p in players):
        from ..stockfish import elo_range, find_stockfish, open_engine

        engine_path = str(find_stockfish(engine.path))
        with open_engine(Path(engine_path), 1, 16) as probe:
            allowed = elo_range(probe)
        for p in players:
            if p.kind == "stockfish" and p.rating is not None:
                allowed.check(p.rating, f"ladder anchor {p.name!r}")
    setup = _Setup(
        tuple(players),
        engine,
        engine_path,
        nodes_per_move,
        max_plies,
        compute,
        tuple(personas),
        persona_nodes,
        frontier_nodes,
    )
    if start_method is None:
        start_method = "fork" if compute.device.type == "cpu" else "spawn"
    return play_tasks(
        tasks,
        _play_task,
        _init_worker,
        setup,
        _close,
        workers=workers,
        desc="ladder",
        pause="ladder",
        progress=progress,
        start_method=start_method,
    )


def fit_ladder(
    games: Sequence[PlayedGame],
    players: Sequence[PlayerSpec],
    anchor: str,
    anchor_rating: float,
    seed: int,
    resamples: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Elo table, one row per player (agent, prompt, kind, Elo with interval, games, score), and
    the bootstrap resamples of every rating (``[resamples, players]``, Elo points)."""
    from ..games import score

    results = [GameResult(g.spec.white, g.spec.black, score(g.result, True)) for g in games]
    ratings, resampled = elo_ladder_resamples(results, anchor, anchor_rating, seed=seed, resamples=resamples)
    table = ratings_table(ratings)
    info = pd.DataFrame(
        [
            {
                "player": p.name,
                "agent": p.agent,
                "prompt": p.prompt if not p.is_anchor else "",
                "kind": p.kind,
                "nominal": p.rating if p.is_anchor else np.nan,
            }
            for p in players
        ]
    )
    return info.merge(table, on="player", how="right"), resampled


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    """The least-squares slope of y on x (NaN when x does not vary)."""
    spread = float(((x - x.mean()) ** 2).sum())
    return float(((x - x.mean()) * (y - y.mean())).sum() / spread) if spread > 0 else float("nan")


def ladder_statistics(table: pd.DataFrame, resampled: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Statistics of each prompted agent's ratings across the persona prompts (the prompts named
    like an anchor), with percentile intervals over the same bootstrap resamples of the games:

    * ``elo_spread``: the highest minus the lowest Elo over those prompts (prompt sensitivity);
    * ``spearman_persona_elo``: the Spearman rank correlation between the agent's Elo under each
      persona's prompt and that persona's own Elo as an anchor (does it play as strong as whom
      the prompt names?);
    * ``slope_persona_elo``: the least-squares slope of the agent's Elo under each persona's
      prompt on that persona's Elo: 1 when it plays exactly as strong as whom the prompt names,
      0 when the prompt changes nothing (the oracle's and the prompt-blind simulator's, the controls).

    ``table``: :func:`fit_ladder`'s Elo table; ``resampled``: its resamples. One row per (agent,
    statistic): value, low, high, n (persona prompts), method.
    """
    anchors = set(table.loc[table["kind"].isin(["random", "greedy", "stockfish"]), "player"])
    prompted = table[table["prompt"].isin(anchors)]
    alpha = (1.0 - level) / 2.0
    method = f"percentile bootstrap over games, {len(resampled)} resamples, {level:.0%} (the ladder's resamples)"
    rows = []
    for agent, group in prompted.groupby("agent", sort=True):
        if len(group) < 3:
            continue
        own = resampled[list(group["player"])].to_numpy()  # [resamples, prompts]
        persona = resampled[list(group["prompt"])].to_numpy()
        point_own = group["elo"].to_numpy(float)
        point_persona = table.set_index("player").loc[list(group["prompt"]), "elo"].to_numpy(float)
        statistics = {
            "elo_spread": (np.ptp(point_own), np.ptp(own, axis=1)),
            "spearman_persona_elo": (
                spearman(point_persona, point_own),
                np.array([spearman(p, o) for p, o in zip(persona, own)]),
            ),
            "slope_persona_elo": (
                _slope(point_persona, point_own),
                np.array([_slope(p, o) for p, o in zip(persona, own)]),
            ),
        }
        for name, (value, draws) in statistics.items():
            draws = draws[~np.isnan(draws)]
            low, high = np.quantile(draws, [alpha, 1 - alpha]) if draws.size else (np.nan, np.nan)
            rows.append(
                {
                    "agent": agent,
                    "statistic": name,
                    "value": float(value),
                    "low": float(low),
                    "high": float(high),
                    "n": len(group),
                    "method": method,
                }
            )
    return pd.DataFrame(rows, columns=["agent", "statistic", "value", "low", "high", "n", "method"])


def run_ladder(
    config: Config,
    checkpoints: Mapping[AgentId, Path],
    games_table: Path,
    out_dir: Path,
    *,
    workers: int = 1,
    progress: bool = True,
    compute: Compute = CPU,
) -> tuple[int, int]:
    """The ladder stage: every player (:func:`ladder_players`) against the anchors from held-out
    openings of ``games_table``, the Bradley-Terry fit, and its files in ``out_dir``
    (:data:`~simagents.paths.LADDER_FILES`). Returns the number of games and of players."""
    from ..games import games_frame, openings_of_games_table, to_pgn
    from ..models import checkpoint_prompts
    from ..outputs import make_folder, write_csv, write_parquet, write_text
    from ..paths import LADDER_FILES

    players = ladder_players(config, checkpoints, checkpoint_prompts)
    anchor = next(p for p in players if p.name == config.ladder.anchor)
    split = config.positions.split
    openings = openings_of_games_table(
        games_table, config.games.opening_plies, config.ladder.games_per_pairing, "ladder", config.seed,
        split.train, split.val,
    )  # fmt: skip
    tasks = schedule(players, config.ladder.games_per_pairing, openings, config.seed)
    games = play_ladder(
        players, tasks, config.engine, config.ladder.nodes_per_move, config.games.max_plies,
        workers=workers, progress=progress, compute=compute, personas=config.data.synthetic.personas,
        persona_nodes=config.data.synthetic.nodes_per_move, frontier_nodes=config.ladder.frontier_nodes,
    )  # fmt: skip
    make_folder(out_dir)
    write_text(out_dir / LADDER_FILES["pgn"], to_pgn(games, event="simagents Elo ladder"))
    write_csv(games_frame(games), out_dir / LADDER_FILES["games"])
    table, resampled = fit_ladder(
        games, players, anchor.name, float(anchor.rating or 0),
        seed=match_seed("ladder-fit", config.seed) % 2**32, resamples=config.ladder.resamples,
    )  # fmt: skip
    write_csv(table, out_dir / LADDER_FILES["elo"], float_format="%.6g")
    write_parquet(resampled, out_dir / LADDER_FILES["resamples"])
    write_csv(ladder_statistics(table, resampled), out_dir / LADDER_FILES["statistics"], float_format="%.6g")
    return len(games), len(players)
