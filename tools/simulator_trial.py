"""One simulator trial: train a seed with some settings changed, score it on validation data.

    python tools/simulator_trial.py --config config/default.yaml \\
        --positions results/default/positions --out /tmp/trials/tactics64 \\
        [--set tactics_width=64 --set steps=1200 ...] [--seed 0]

Trains one seed (:func:`simagents.models.train.train_simulator`) on a run's positions with the
config's ``simulator`` section, each ``--set key=value`` replacing one of its keys (values are
read as YAML), then scores the kept checkpoint on the *validation* split, per mover's prompt,
with the true prompts: cross-entropy of the moves played (nats; its differences between trials
are differences in KL to the persona, whose entropy is fixed) and top-1 accuracy, each with a
95% interval over positions. Research choices are made on these numbers, never on the
evaluation positions the claims are decided on. Prints a Markdown table and writes
``trial.json`` beside the checkpoints.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from simagents.config import load_config
from simagents.models.device import resolve_compute
from simagents.models.train import batch_tensors, load_simulator, policy_loss, simulator_configs, train_simulator
from simagents.paths import POSITIONS_META, SIMULATOR_FILES
from simagents.positions import load_split


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {pair!r}")
        out[key] = yaml.safe_load(value)
    return out


@torch.no_grad()
def score_by_prompt(checkpoint: Path, positions: Path, limit: int, seed: int) -> dict[str, dict[str, float]]:
    """Per own prompt of the validation split: positions, cross-entropy and top-1 (mean, 95% half-width)."""
    model = load_simulator(checkpoint)
    split = load_split(positions, "val")
    vocabulary = json.loads((positions / POSITIONS_META).read_text())["vocabulary"]
    names = {index: name for name, index in vocabulary.items()}
    rows = np.random.default_rng(seed).permutation(len(split["move"]))[:limit]
    losses, hits, prompts = [], [], []
    for start in range(0, len(rows), 4096):
        planes, own, opp, move, _, legal = batch_tensors(split, rows[start : start + 4096], torch.device("cpu"))
        logits, _ = model(planes, own, opp, legal)
        losses.append(policy_loss(logits, legal, move, reduction="none").numpy())
        hits.append((logits.masked_fill(~legal, float("-inf")).argmax(-1) == move).numpy())
        prompts.append(own.numpy())
    loss, hit, prompt = np.concatenate(losses), np.concatenate(hits), np.concatenate(prompts)
    out = {}
    for index in sorted(set(prompt.tolist())):
        mask = prompt == index
        n = int(mask.sum())
        out[names[index]] = {
            "positions": n,
            "cross_entropy": float(loss[mask].mean()),
            "cross_entropy_half_width": float(1.96 * loss[mask].std(ddof=1) / np.sqrt(n)),
            "top1": float(hit[mask].mean()),
            "top1_half_width": float(1.96 * hit[mask].std(ddof=1) / np.sqrt(n)),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="a run config (its simulator section)")
    parser.add_argument("--positions", type=Path, required=True, help="a run's positions folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoints and trial.json")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="replace a simulator key")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-positions", type=int, default=50000, help="validation positions scored")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    overrides = parse_overrides(args.set)
    # validated by the schema like any config change
    simulator = load_config(args.config, {f"simulator.{key}": value for key, value in overrides.items()}).simulator
    vocabulary = json.loads((args.positions / POSITIONS_META).read_text())["vocabulary"]
    network, train = simulator_configs(simulator, len(vocabulary), args.seed)
    resolve_compute(train.device, train.precision)
    started = time.perf_counter()
    summary = train_simulator(args.positions, args.out, network, train, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - started
    scores = score_by_prompt(args.out / SIMULATOR_FILES["best"], args.positions, args.val_positions, args.seed)
    record = {
        "overrides": overrides,
        "seconds": seconds,
        "best_val_loss": summary["best_val_loss"],
        "by_prompt": scores,
    }
    (args.out / "trial.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"trial {overrides}: {seconds:.0f} s, best validation loss {summary['best_val_loss']:.4f}")
    print("| prompt | positions | cross-entropy (nats) | top-1 |")
    print("|---|---:|---:|---:|")
    for prompt, s in scores.items():
        print(
            f"| {prompt} | {s['positions']} | {s['cross_entropy']:.3f} +- {s['cross_entropy_half_width']:.3f} "
            f"| {s['top1']:.3f} +- {s['top1_half_width']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
