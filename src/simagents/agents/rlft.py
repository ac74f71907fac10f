"""RL fine-tuning of the simulator to win ("rlft"), one learner per KL weight beta and seed.

Objective, per position the learner visits::

    maximise  E_pi[result]  -  beta * KL(pi || p_sim)

with ``p_sim`` the frozen simulator under the learner's prompt and the KL exact over the legal
moves. ``beta = 0`` is pure reward; a large beta keeps the learner at the simulator.

Method: KL-regularised policy iteration (a form of expert iteration). Each iteration

1. plays ``games_per_iteration`` games with the one game runner between the learner and a pool:
   the frozen simulator under a sampled prompt or, with probability ``snapshot_fraction``, an
   earlier snapshot of the learner. The learner's own prompt is sampled per game (so prompt
   sensitivity after RL can be measured), colours alternate, openings are held-out games';
2. at up to ``target_positions`` of the learner's visited positions builds the improved policy,
   the closed-form maximiser of ``sum_a pi(a) Q(a) - beta KL(pi||p_sim) - tau KL(pi||pi_old)``::

       log pi*(a) = (beta * log p_sim(a) + tau * log pi_old(a) + Q(a)) / (beta + tau) + const

   where Q(a) is a critic's one-ply value (its value head after the move, exact at mates and
   draws: :meth:`~simagents.models.simulator_policy.SimulatorPolicy.one_ply_values`) and ``tau``
   (``step_size``) is a trust region: at a fixed point pi = pi*, so pi is proportional to
   p_sim * exp(Q / beta), the KL-regularised optimum (greedy in Q at beta = 0);
3. fits the policy to pi* (cross-entropy over legal moves; the learner's own value head to the
   results, ``value_weight``: 0 in the default config, as no later stage reads that head),
   ``epochs`` passes of AdamW over these targets and, with ``replay_positions`` > 0, the newest
   targets of earlier iterations up to that many positions (a replay buffer: more distinct
   positions per step of the fit); and regresses the critic on the game results of every
   position played this iteration (both sides), at its own learning rate ``critic_lr`` (reading
   the game's prompts, or ``none`` for both sides with ``critic_prompts: none``).

The critic is a separate copy of the simulator, so the results of the learner's games reach the
policy through it. It is separate because in a trial a value head shared with the policy, fitted
on mostly drawn games (the ply cap), flattened towards 0 within a few iterations: Q carried no
signal and the score against the frozen simulator stayed at 0.52 after 640 games; with a
separate critic moving slowly from the simulator's value head it rose to about 0.6 (beta = 0).
The trials behind the default settings are listed in ``config/default.yaml``.

Why not REINFORCE: with one +1/0/-1 reward per game of ~100 moves its gradient is noisy; a trial
moved the policy only slowly (issue 4). The value head turns each game result into a per-move
signal, and the closed form makes the KL term exact instead of sampled.

Curves per iteration (``curves.csv``): mean reward, score against the frozen simulator, KL(pi ||
p_sim) and entropy at visited positions (both exact over legal moves). A final evaluation plays
the learner against the frozen simulator under each prompt (both colours, held-out openings,
both sampling): ``evaluation.csv``, scores with bootstrap intervals over games. The same games
are then played by the policy the learner is fitted to (the frozen simulator tilted by the final
critic, pi ~ p_sim exp(Q / beta), greedy in Q at beta = 0; :class:`~simagents.agents.pikl.PiKLPolicy`):
``target_evaluation.csv``. The two scores separate what the critic's values are worth from what
the learner's network learned of them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import chess
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..config import RlftConfig
from ..faults import pause_point
from ..games import GameSpec, PlayedGame, games_frame, match_seed, play_games, score
from ..models.checkpoint import load_checkpoint, resumable_state, save_checkpoint
from ..models.device import Compute, as_compute
from ..models.network import NetworkConfig, Simulator
from ..models.simulator_policy import SimulatorPolicy
from ..outputs import write_csv, write_parquet, write_text
from ..paths import RLFT_FILES, RLFT_LAST
from ..prompts import NONE_TOKEN
from ..stats import bootstrap_mean, spearman
from .fitting import PolicyValueTargets, fit_targets, fit_values
from .pikl import PiKLPolicy

log = logging.getLogger("simagents")

LEARNER, FROZEN = "learner", "frozen"
#: The lambda that stands for beta = 0 when the target policy p_sim exp(Q / beta) is played
#: (greedy in Q): Q differences of 0.01 weigh e^10, so the prior only breaks near-ties.
GREEDY_LAMBDA = 1e-3
MAX_SNAPSHOTS = 3  # earlier learners kept in the pool (and in last.pt)


@dataclass(frozen=True)
class RlftRun:
    """What one run needs besides the config: beta, seed, prompts, openings, ply cap."""

    beta: float
    seed: int
    prompts: tuple[str, ...]  # prompts sampled for the learner and the frozen opponent
    openings: tuple[tuple[str, ...], ...]  # cycled over games
    max_plies: int


def _positions_of(game: PlayedGame, skip: int) -> list[tuple[chess.Board, bool]]:
    """(board before the move, white to move) for every ply after the opening."""
    board = chess.Board()
    out = []
    for ply, uci in enumerate(game.moves):
        if ply >= skip:
            # Only the moves since the last capture or pawn move can repeat a position: copying
            # them (not the whole game) keeps repetitions visible at O(1) cost per position.
            out.append((board.copy(stack=min(board.halfmove_clock, len(board.move_stack))), board.turn == chess.WHITE))
        board.push_uci(uci)
    return out


def _learner_is_white(spec: GameSpec) -> bool:
    return spec.white == LEARNER


def _schedule(
    run: RlftRun, iteration: int, count: int, snapshot_keys: Sequence[str], snapshot_fraction: float
) -> list[GameSpec]:
    rng = np.random.default_rng(match_seed("rlft-schedule", run.seed, run.beta, iteration))
    specs = []
    for g in range(count):
        own = run.prompts[int(rng.integers(len(run.prompts)))]
        opp_prompt = run.prompts[int(rng.integers(len(run.prompts)))]
        opponent = FROZEN
        if snapshot_keys and rng.random() < snapshot_fraction:
            opponent = snapshot_keys[int(rng.integers(len(snapshot_keys)))]
        opening = run.openings[(iteration * count + g) % len(run.openings)]
        seed = match_seed("rlft-game", run.seed, run.beta, iteration, g)
        if g % 2 == 0:
            specs.append(GameSpec(LEARNER, opponent, own, opp_prompt, seed, opening, round=f"{iteration}.{g}"))
        else:
            specs.append(GameSpec(opponent, LEARNER, opp_prompt, own, seed, opening, round=f"{iteration}.{g}"))
    return specs


def evaluation_specs(run: RlftRun, games_per_prompt: int) -> list[GameSpec]:
    """The learner against the frozen simulator, same prompt on both sides, colours alternating."""
    specs = []
    for prompt in run.prompts:
        for g in range(games_per_prompt):
            seed = match_seed("rlft-eval", run.seed, run.beta, prompt, g)
            opening = run.openings[g % len(run.openings)]
            pair = (LEARNER, FROZEN) if g % 2 == 0 else (FROZEN, LEARNER)
            specs.append(GameSpec(*pair, prompt, prompt, seed, opening, round=f"eval.{prompt}.{g}"))
    return specs


def learner_scores(games: Sequence[PlayedGame]) -> np.ndarray:
    """The learner's points in each game (1, 0.5, 0)."""
    return np.array([score(g.result, _learner_is_white(g.spec)) for g in games])


def _build_targets(
    games: Sequence[PlayedGame],
    learner: SimulatorPolicy,
    frozen: SimulatorPolicy,
    critic: SimulatorPolicy,
    beta: float,
    tau: float,
    max_positions: int,
    rng: np.random.Generator,
    skip: int,
    critic_prompt: str | None = None,
) -> tuple[PolicyValueTargets, dict[str, float]]:
    targets = PolicyValueTargets()
    learner_positions: list[tuple[chess.Board, str, str]] = []
    for game in games:
        learner_white = _learner_is_white(game.spec)
        white_points = score(game.result, True)
        for board, white_to_move in _positions_of(game, skip):
            own = game.spec.white_prompt if white_to_move else game.spec.black_prompt
            opp = game.spec.black_prompt if white_to_move else game.spec.white_prompt
            points = white_points if white_to_move else 1.0 - white_points
            targets.add_value(board, own, opp, 2.0 * points - 1.0)
            if white_to_move == learner_white:
                learner_positions.append((board, own, opp))
    if len(learner_positions) > max_positions:
        keep = np.sort(rng.choice(len(learner_positions), size=max_positions, replace=False))
        learner_positions = [learner_positions[i] for i in keep]
    boards = [b for b, _, _ in learner_positions]
    owns = [o for _, o, _ in learner_positions]
    opps = [o for _, _, o in learner_positions]
    stats = {"kl": float("nan"), "entropy": float("nan")}
    if not boards:
        return targets, stats
    old = learner.log_probs(boards, owns, opps)
    ref = frozen.log_probs(boards, owns, opps)
    blind = [critic_prompt] * len(boards) if critic_prompt is not None else None
    q_values = critic.one_ply_values(boards, blind or owns, blind or opps)
    kls, entropies = [], []
    for board, own, opp, (_, log_old), (_, log_ref), q in zip(boards, owns, opps, old, ref, q_values):
        p_old = np.exp(log_old)
        kls.append(float(np.sum(p_old * (log_old - log_ref))))
        entropies.append(float(-np.sum(p_old * log_old)))
        improved = (beta * log_ref + tau * log_old + q) / (beta + tau)
        improved -= np.logaddexp.reduce(improved)
        targets.add_policy(board, own, opp, np.exp(improved))
    stats["kl"] = float(np.mean(kls))
    stats["entropy"] = float(np.mean(entropies))
    return targets, stats


def train_rlft(
    simulator_checkpoint: Path,
    out_dir: Path,
    config: RlftConfig,
    run: RlftRun,
    compute: Compute | torch.device | str = "cpu",
    progress: bool = True,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Fine-tune (or resume) one learner; writes ``final.pt``, ``last.pt``, ``curves.csv``,
    ``evaluation.csv``, ``evaluation_games.parquet`` and ``rlft.json`` under ``out_dir``.

    ``final.pt`` has the simulator checkpoint format (a drop-in simulator for every later stage).
    ``stop_after`` ends this call after that many iterations (tests of an interruption); a later
    call resumes from ``last.pt``. Game seeds and minibatch orders derive from (seed, beta,
    iteration), so a resumed run ends with the same weights as an uninterrupted one.
    ``compute``: device and precision of games, targets and fits (:mod:`simagents.models.device`).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    compute = as_compute(compute)
    device = compute.device
    torch.manual_seed(run.seed)
    state = load_checkpoint(simulator_checkpoint, map_location=device)
    network = NetworkConfig(**state["network"])
    vocabulary = dict(state["vocabulary"])
    unknown = sorted(set(run.prompts) - set(vocabulary))
    if unknown:
        raise ValueError(f"rlft prompts {unknown} are not in the simulator's vocabulary {sorted(vocabulary)}")
    if network.value_head is False:
        raise ValueError(f"{simulator_checkpoint}: rlft needs a simulator with a value head (simulator.value_head)")
    frozen_model, model, critic_model = (Simulator(network).to(device) for _ in range(3))
    for copy in (frozen_model, model, critic_model):
        copy.load_state_dict(state["model"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    critic_optimizer = torch.optim.AdamW(critic_model.parameters(), lr=config.critic_lr, weight_decay=0.0)
    settings = {
        "config": asdict(config),
        "beta": run.beta,
        "seed": run.seed,
        "prompts": list(run.prompts),
        "max_plies": run.max_plies,
        "openings": [list(o) for o in run.openings],
    }
    iteration, curves, snapshots, replay = 0, [], [], PolicyValueTargets()
    last_path = out_dir / RLFT_LAST
    saved = resumable_state(last_path, lambda state: state.get("settings") == settings, device)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        critic_model.load_state_dict(saved["critic"])
        critic_optimizer.load_state_dict(saved["critic_optimizer"])
        iteration, curves, snapshots = int(saved["iteration"]), list(saved["curves"]), list(saved["snapshots"])
        replay = PolicyValueTargets.from_state(saved["replay"])
        log.info("resumed from %s at iteration %d", last_path, iteration)

    def snapshot_policies() -> dict[str, SimulatorPolicy]:
        out = {}
        for k, weights in enumerate(snapshots):
            snap = Simulator(network).to(device)
            snap.load_state_dict(weights)
            out[f"snapshot{k}"] = SimulatorPolicy(snap, vocabulary, name=f"snapshot{k}", compute=compute)
        return out

    learner = SimulatorPolicy(model, vocabulary, name=LEARNER, compute=compute)
    frozen = SimulatorPolicy(frozen_model, vocabulary, name=FROZEN, compute=compute)
    critic = SimulatorPolicy(critic_model, vocabulary, name="critic", compute=compute)
    # A prompt-blind critic reads `none` for both sides, in its Q and in its regression.
    critic_prompt = NONE_TOKEN if config.critic_prompts == "none" else None
    skip = max((len(o) for o in run.openings), default=0)
    bar = tqdm(
        total=config.iterations, initial=iteration, unit="iter", desc=f"rlft beta={run.beta:g}", disable=not progress
    )
    started, done_this_call = time.perf_counter(), 0
    while iteration < config.iterations and (stop_after is None or done_this_call < stop_after):
        pool = snapshot_policies()
        specs = _schedule(run, iteration, config.games_per_iteration, sorted(pool), config.snapshot_fraction)
        learner.model.eval()
        games = play_games(specs, {LEARNER: learner, FROZEN: frozen, **pool}, run.max_plies)
        points = learner_scores(games)
        against_frozen = np.array([FROZEN in (g.spec.white, g.spec.black) for g in games])
        rng = np.random.default_rng(match_seed("rlft-targets", run.seed, run.beta, iteration))
        targets, stats = _build_targets(
            games,
            learner,
            frozen,
            critic,
            run.beta,
            config.step_size,
            config.target_positions,
            rng,
            skip,
            critic_prompt,
        )
        if config.replay_positions > 0:  # the fit also sees the newest targets of earlier iterations
            replay.extend(targets)
            replay.keep_last(config.replay_positions)
        fitted = replay if config.replay_positions > 0 else targets
        generator = torch.Generator().manual_seed(match_seed("rlft-fit", run.seed, run.beta, iteration) % 2**63)
        losses = fit_targets(
            model,
            optimizer,
            fitted,
            vocabulary,
            epochs=config.epochs,
            batch_size=config.batch_size,
            value_weight=config.value_weight,
            generator=generator,
            compute=compute,
        )
        if config.critic_lr > 0:
            losses["critic_loss"] = fit_values(
                critic_model,
                critic_optimizer,
                targets,
                vocabulary,
                epochs=config.critic_epochs,
                batch_size=config.batch_size,
                generator=generator,
                compute=compute,
                prompt=critic_prompt,
            )
        iteration += 1
        done_this_call += 1
        if iteration % config.snapshot_every == 0:
            snapshots = (snapshots + [{k: v.detach().clone() for k, v in model.state_dict().items()}])[-MAX_SNAPSHOTS:]
        curves.append(
            {
                "iteration": iteration,
                "games": len(games),
                "reward": float(np.mean(2 * points - 1)),
                "score_vs_frozen": float(points[against_frozen].mean()) if against_frozen.any() else float("nan"),
                "kl": stats["kl"],
                "entropy": stats["entropy"],
                "fitted_positions": len(fitted.policy_raw),
                **losses,
                "plies": float(np.mean([g.plies for g in games])),
            }
        )
        bar.update(1)
        bar.set_postfix(score=f"{curves[-1]['score_vs_frozen']:.2f}", kl=f"{stats['kl']:.3f}", refresh=False)
        save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "iteration": iteration,
                "critic": critic_model.state_dict(),
                "critic_optimizer": critic_optimizer.state_dict(),
                "curves": curves,
                "snapshots": snapshots,
                "replay": replay.to_state(),
                "settings": settings,
                "network": network.to_dict(),
                "vocabulary": vocabulary,
            },
            last_path,
        )
        if iteration < config.iterations:
            pause_point("rlft")  # a resumable checkpoint is on disk
    bar.close()
    finished = iteration >= config.iterations
    summary: dict[str, Any] = {
        "beta": run.beta,
        "seed": run.seed,
        "iterations": iteration,
        "finished": finished,
        "seconds_this_call": time.perf_counter() - started,
        **compute.to_dict(),
    }
    write_csv(pd.DataFrame(curves), out_dir / RLFT_FILES["curves"], float_format="%.6f")
    if not finished:
        return summary
    save_checkpoint(
        {"model": model.state_dict(), "network": network.to_dict(), "vocabulary": vocabulary, "rlft": settings},
        out_dir / RLFT_FILES["final"],
    )
    model.eval()
    eval_specs = evaluation_specs(run, config.eval_games_per_prompt)
    eval_games = play_games(eval_specs, {LEARNER: learner, FROZEN: frozen}, run.max_plies)
    table = evaluation_table(eval_games, run)
    write_csv(table, out_dir / RLFT_FILES["evaluation"], float_format="%.6g")
    write_parquet(games_frame(eval_games), out_dir / RLFT_FILES["evaluation_games"])
    overall = table[table.prompt == "all"].iloc[0]
    summary.update(
        {"score_vs_frozen": float(overall.value), "score_low": float(overall.low), "score_high": float(overall.high)}
    )
    # The policy the learner is fitted to, played at decision time in the same games (same seeds,
    # openings, prompts): the frozen simulator tilted by the final critic's one-ply values,
    # pi ~ p_sim exp(Q / beta) (greedy in Q at beta = 0). The learner's score below this one is
    # what its network did not learn; the gap above 0.5 is what the critic's values are worth.
    target = PiKLPolicy(frozen, max(run.beta, GREEDY_LAMBDA), name="target", critic=critic, critic_prompt=critic_prompt)
    target_games = play_games(eval_specs, {LEARNER: target, FROZEN: frozen}, run.max_plies)
    target_table = evaluation_table(target_games, run, metric="target_score_vs_frozen")
    write_csv(target_table, out_dir / RLFT_FILES["target_evaluation"], float_format="%.6g")
    target_overall = target_table[target_table.prompt == "all"].iloc[0]
    summary.update(
        {
            "target_score_vs_frozen": float(target_overall.value),
            "target_score_low": float(target_overall.low),
            "target_score_high": float(target_overall.high),
        }
    )
    write_text(out_dir / RLFT_FILES["summary"], json.dumps(summary, indent=2) + "\n")
    return summary


def evaluation_table(games: Sequence[PlayedGame], run: RlftRun, metric: str = "score_vs_frozen") -> pd.DataFrame:
    """The learner's score against the frozen simulator, overall and per prompt, with intervals
    (``metric`` names it: the learner's, or its target policy's)."""
    points = learner_scores(games)
    prompts = np.array([g.spec.white_prompt for g in games])
    rows = []
    for prompt in ("all", *run.prompts):
        chosen = points if prompt == "all" else points[prompts == prompt]
        interval = bootstrap_mean(
            chosen, seed=match_seed("rlft-eval-ci", run.seed, run.beta, prompt) % 2**32, unit="games"
        )
        rows.append(
            {
                "beta": run.beta,
                "seed": run.seed,
                "prompt": prompt,
                "metric": metric,
                "value": interval.value,
                "low": interval.low,
                "high": interval.high,
                "n": interval.n,
                "method": interval.method,
            }
        )
    return pd.DataFrame(rows)


def score_frontier(
    scores: Mapping[float, np.ndarray], seed: int, resamples: int = 2000, level: float = 0.95
) -> dict[str, object]:
    """The Spearman rank correlation between beta and the learner's mean score against the frozen
    simulator (``scores``: beta -> the learner's points per evaluation game, 0 / 0.5 / 1), with a
    percentile interval from a stratified bootstrap: each beta's games resampled on their own
    (the learners' games are independent). Negative when lower betas win more."""
    betas = sorted(scores)
    if len(betas) < 3:
        raise ValueError(f"a frontier needs at least 3 betas, got {betas}")
    arrays = [np.asarray(scores[b], dtype=np.float64) for b in betas]
    rng = np.random.default_rng(seed)
    value = spearman(np.array(betas), np.array([a.mean() for a in arrays]))
    draws = np.array(
        [
            spearman(np.array(betas), np.array([a[rng.integers(0, a.size, a.size)].mean() for a in arrays]))
            for _ in range(resamples)
        ]
    )
    draws = draws[~np.isnan(draws)]
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha]) if draws.size else (np.nan, np.nan)
    return {
        "statistic": "spearman_beta_score",
        "value": value,
        "low": float(low),
        "high": float(high),
        "n": int(sum(a.size for a in arrays)),
        "method": f"stratified percentile bootstrap over games (each beta's games on their own), "
        f"{resamples} resamples, {level:.0%}",
    }


def summarise_runs(run_dirs: Sequence[Path], seed: int) -> tuple[pd.DataFrame, dict[str, object]]:
    """One row per RL run (its folder as :func:`train_rlft` left it) and the beta frontier.

    Row: beta and seed (from the run's ``rlft.json``), the learner's score against the frozen
    simulator with its interval, win and loss rates, draws it reached without converting
    material, the KL to the simulator and the entropy at the last iteration (and the entropy at
    the first), and the score of the policy it was fitted to in the same games. The frontier is
    :func:`score_frontier` over every run's evaluation games when there are at least 3 betas, else
    a row that says why it is not computed (the claims ledger then reports the test as not testable).
    """
    rows = []
    points: dict[float, list[np.ndarray]] = {}
    for folder in run_dirs:
        info = json.loads((folder / RLFT_FILES["summary"]).read_text())
        beta, run_seed = float(info["beta"]), int(info["seed"])
        evaluation = pd.read_csv(folder / RLFT_FILES["evaluation"])
        targets = pd.read_csv(folder / RLFT_FILES["target_evaluation"])
        target = targets[targets.prompt == "all"].iloc[0]
        curves = pd.read_csv(folder / RLFT_FILES["curves"])
        games = pd.read_parquet(folder / RLFT_FILES["evaluation_games"])
        learner = games.white_score.where(games.white == "learner", 1.0 - games.white_score)
        points.setdefault(beta, []).append(learner.to_numpy(np.float64))
        overall = evaluation[evaluation.prompt == "all"].iloc[0]
        last = curves.iloc[-1]
        rows.append(
            {
                "beta": beta,
                "seed": run_seed,
                "score_vs_frozen": overall.value,
                "low": overall.low,
                "high": overall.high,
                "games": int(overall.n),
                "wins": float((learner == 1).mean()),
                "losses": float((learner == 0).mean()),
                # a draw the learner reached by stalemate or by trading down to bare kings and
                # minors: material won but not converted
                "unconverted_draws": float(games.termination.isin(["stalemate", "insufficient_material"]).mean()),
                "kl_last_iteration": last.kl,
                "entropy_last_iteration": last.entropy,
                "entropy_first_iteration": curves.entropy.iloc[0],
                "iterations": int(last.iteration),
                # the policy the learner is fitted to, in the same games
                "target_score_vs_frozen": target.value,
                "target_low": target.low,
                "target_high": target.high,
                "method": overall["method"],
            }
        )
    frontier: dict[str, object]
    if len(points) >= 3:
        frontier = score_frontier({b: np.concatenate(p) for b, p in points.items()}, seed=seed)
    else:
        frontier = {
            "statistic": "spearman_beta_score",
            "value": np.nan,
            "low": np.nan,
            "high": np.nan,
            "n": 0,
            "method": f"not computed: needs at least 3 betas, the runs have {len(points)}",
        }
    return pd.DataFrame(rows), frontier
