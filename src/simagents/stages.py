"""Which part of the run configuration each stage reads: one table, enforced.

A stage's outputs depend on its inputs and on some of the configuration. The workflow writes,
for every stage, a *stage config*: ``<run>/config/<stage>.yaml`` with exactly the keys of
:data:`STAGE_KEYS` for that stage (rule ``stage_config`` in ``workflow/rules/common.smk``), and
the stage's rule declares that file as an input. Editing a key therefore reruns the stages that
read it and no other: Snakemake sees the rewritten stage config, nothing else changes.

The table cannot drift from the code: a command given a stage config gets a
:class:`~simagents.config.Config` in which every key outside the stage's slice raises
:class:`UndeclaredConfigKey` when read (:func:`guard`). A stage that starts reading a new key
fails on its first run (the smoke workflow in the tests runs every stage), with a message that
says to add the key here.

Keys are dotted paths (``data.synthetic``, ``simulator.device``); a key covers everything under
it. :data:`ALWAYS` is part of every slice. ``"*"`` is the whole configuration (the paper, whose
methods table documents every setting).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from .config import Config, ConfigError, from_mapping, load_config, read_yaml_mapping

#: Part of every stage's slice: the file format, the run's name (provenance) and its seed.
ALWAYS = ("config_version", "run_name", "seed")

#: The network stages' device and precision (simagents.models.device).
_COMPUTE = ("simulator.device", "simulator.precision")
#: Who is in the run's roster of agents (simagents.agents.roster) and what they play under.
_ROSTER = ("simulator.seeds", "rlft.betas", "rlft.seeds", "pikl.lambdas", "az.seed", "data.source")

STAGE_KEYS: dict[str, tuple[str, ...]] = {
    "synthetic_games": ("engine", "data.synthetic"),
    "download_lichess": ("data.lichess",),
    "games_table": ("data",),
    "positions": ("data", "positions"),
    "data_summary": ("data", "engine.path"),
    "train_simulator": ("simulator",),
    "eval_positions": ("evaluation.positions_per_prompt",),
    "action_values": ("engine", "evaluation.action_value_nodes"),
    "persona_truth": ("engine", "data.synthetic"),
    "metrics": ("data.source", "data.synthetic", "engine", *_COMPUTE),
    "simulator_checks": ("data.source", "data.synthetic.personas"),
    "rlft": ("rlft", "games", "positions.split", *_COMPUTE),
    "rlft_summary": (),
    "az": ("az", "games", "positions.split", "simulator"),
    "agent_metrics": (
        "evaluation.agent_positions_per_prompt",
        "ladder.prompts",
        "az.eval_simulations",
        *_ROSTER,
        *_COMPUTE,
    ),
    "ladder": (
        "engine",
        "games",
        "ladder",
        "az.eval_simulations",
        "data.synthetic",
        "positions.split",
        *_ROSTER,
        *_COMPUTE,
    ),
    "claims": (*_ROSTER, "data.synthetic.personas"),
    "figure": ("simulator.seeds",),
    "paper": ("*",),
}


class UndeclaredConfigKey(ConfigError):
    """A stage read a config key outside its slice (:data:`STAGE_KEYS`)."""


def keys_of(stage: str) -> tuple[str, ...]:
    """The dotted keys ``stage`` may read, :data:`ALWAYS` included."""
    try:
        return ALWAYS + STAGE_KEYS[stage]
    except KeyError:
        raise ConfigError(f"unknown stage {stage!r}; stages: {', '.join(STAGE_KEYS)}") from None


def _covered(path: str, keys: tuple[str, ...]) -> bool:
    """Whether reading ``path`` is allowed: it or a key above it is declared."""
    return "*" in keys or any(path == key or path.startswith(key + ".") for key in keys)


def stage_slice(raw: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The nested part of a validated config mapping that ``stage`` reads."""
    keys = keys_of(stage)
    if "*" in keys:
        return copy.deepcopy(dict(raw))
    out: dict[str, Any] = {}
    for dotted in keys:
        *parents, leaf = dotted.split(".")
        source: Any = raw
        target = out
        for part in parents:
            source = source[part]
            target = target.setdefault(part, {})
        target[leaf] = copy.deepcopy(source[leaf])
    return out


def stage_config_text(raw: Mapping[str, Any], stage: str) -> str:
    """The stage config file of ``stage`` (YAML): the slice, with a header saying what it is."""
    body = yaml.safe_dump({"stage": stage, "config": stage_slice(raw, stage)}, sort_keys=True)
    return (
        f"# The part of run {raw['run_name']!r}'s configuration that stage {stage!r} reads (written by\n"
        "# the workflow's rule stage_config from the run config; src/simagents/stages.py says which keys).\n" + body
    )


class _Guarded:
    """A view of a config (or of one of its sections) whose undeclared keys cannot be read."""

    def __init__(self, target: object, prefix: str, stage: str, keys: tuple[str, ...]) -> None:
        self._target, self._prefix, self._stage, self._keys = target, prefix, stage, keys

    def __getattr__(self, name: str) -> Any:
        path = f"{self._prefix}{name}"
        value = getattr(self._target, name)
        if name == "raw" and not self._prefix:
            return value  # the slice itself (stage configs carry nothing else)
        if _covered(path, self._keys):
            return value
        if any(key.startswith(path + ".") for key in self._keys):
            return _Guarded(value, path + ".", self._stage, self._keys)
        if name == "run_dir" and not self._prefix:
            raise UndeclaredConfigKey(
                f"stage {self._stage!r} asked the config for the run's folder: take every path as an argument instead"
            )
        raise UndeclaredConfigKey(
            f"stage {self._stage!r} reads config key {path!r}, which is not in its slice "
            f"({', '.join(self._keys)}): add it to STAGE_KEYS[{self._stage!r}] in src/simagents/stages.py, "
            "so that editing it reruns the stage"
        )

    def __repr__(self) -> str:
        return f"<config of stage {self._stage!r}: {', '.join(self._keys)}>"


def guard(config: Config, stage: str) -> Config:
    """``config`` as stage ``stage`` may see it: reading a key outside its slice raises
    :class:`UndeclaredConfigKey`. Typed as a Config (it answers every attribute one does)."""
    keys = keys_of(stage)
    return config if "*" in keys else cast(Config, _Guarded(config, "", stage, keys))


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def load_stage_config(path: str | Path, stage: str) -> Config:
    """The config of ``stage`` from ``path``: a stage config written by the workflow (only the
    stage's slice; the other keys are unreadable) or a whole run config (as when a stage is run
    by hand; the same keys are unreadable, so a stage behaves the same either way)."""
    raw = read_yaml_mapping(path)
    if set(raw) == {"stage", "config"}:
        if raw["stage"] != stage:
            raise ConfigError(f"{path} is the config of stage {raw['stage']!r}, not of {stage!r}")
        sliced = raw["config"]
        # The other sections only have to exist for the typed Config; the guard hides them.
        skeleton = {
            "config_version": sliced.get("config_version"),
            "run_name": sliced.get("run_name"),
            "seed": sliced.get("seed"),
            "data": {"source": "synthetic"},
        }
        config = from_mapping(_merge(skeleton, sliced), source=str(path), cross_checks=False)
    else:
        config = load_config(path)
    return guard(config, stage)
