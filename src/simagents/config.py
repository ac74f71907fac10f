"""The run configuration: YAML, validated against one schema, then frozen typed dataclasses.

``load_config(path)`` is the only way a stage gets its configuration. Validation happens once,
before anything runs, against ``resources/config.schema.yaml`` (also Snakemake's schema), and
defaults are filled from that schema, so a key's type, default and meaning live in one place.
Errors name the key by its dotted path and say what was expected.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

CONFIG_VERSION = 1

_JSON_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


class ConfigError(ValueError):
    """An invalid configuration; the message names the key and what was expected."""


def schema() -> dict[str, Any]:
    """The configuration's JSON Schema (shipped inside the package)."""
    text = resources.files("simagents").joinpath("resources/config.schema.yaml").read_text()
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _fill_defaults(value: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    node = _resolve(node, root)
    if isinstance(value, dict) and "properties" in node:
        for key, child in node["properties"].items():
            child_resolved = _resolve(child, root)
            if key not in value and "default" in child:
                value[key] = copy.deepcopy(child["default"])
            elif key not in value and "default" in child_resolved:
                value[key] = copy.deepcopy(child_resolved["default"])
            if key in value:
                value[key] = _fill_defaults(value[key], child, root)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_fill_defaults(item, node["items"], root) for item in value]
    return value


# PyYAML reads YAML 1.1, whose floats need a dot and a signed exponent: `1e-3` and `1.0e3` come
# back as strings. Such strings are taken as the numbers they spell where the schema wants one.
_EXPONENT_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _coerce_numbers(value: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    """``value`` with exponent-notation strings (``"1e-3"``) turned into numbers where the schema
    types the key as a number (or as an integer, when the value is a whole number: ``"2e3"``)."""
    node = _resolve(node, root)
    if isinstance(value, dict) and "properties" in node:
        return {
            k: _coerce_numbers(v, node["properties"][k], root) if k in node["properties"] else v
            for k, v in value.items()
        }
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_coerce_numbers(item, node["items"], root) for item in value]
    if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
        types = node.get("type", [])
        types = [types] if isinstance(types, str) else types
        number = Decimal(value.strip())
        if "number" in types:
            return float(number)
        if "integer" in types and number == number.to_integral_value():
            return int(number)
    return value


def _schema_keys(node: dict[str, Any], root: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key the schema knows, as dotted paths (``data.synthetic.nodes_per_move``)."""
    node = _resolve(node, root)
    keys = []
    for key, child in node.get("properties", {}).items():
        dotted = f"{prefix}.{key}" if prefix else key
        keys.append(dotted)
        keys.extend(_schema_keys(child, root, dotted))
    return keys


def _key_hint(unknown: str, prefix: str, allowed: list[str]) -> str | None:
    """Where an unknown key probably belongs: the same name elsewhere in the schema (a key that
    moved between sections), or a close spelling here (a renamed key or a typo)."""
    root = schema()
    moved = [k for k in _schema_keys(root, root) if k.rsplit(".", 1)[-1] == unknown]
    if moved:
        return f"'{unknown}' is now {' or '.join(repr(k) for k in moved)}."
    close = difflib.get_close_matches(unknown, allowed, n=1, cutoff=0.6)
    if close:
        return f"Did you mean '{prefix + '.' if prefix else ''}{close[0]}'?"
    return None


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "<top level>"
    node: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties":
        allowed = sorted(node.get("properties", {}))
        instance: Any = error.instance
        unknown = sorted(set(instance) - set(allowed))
        where = f"under '{path}'" if error.absolute_path else "at the top level"
        prefix = ".".join(str(p) for p in error.absolute_path)
        hints = "".join(f"{h} " for h in (_key_hint(u, prefix, allowed) for u in unknown) if h)
        return (
            f"unknown key {', '.join(repr(u) for u in unknown)} {where} (allowed keys: {', '.join(allowed)}). "
            f"{hints}A key from an older config version or a typo: rename or remove it (README "
            "'Configuration' lists every key)"
        )
    if error.validator == "type":
        value: Any = error.validator_value
        expected: list[str] = [value] if isinstance(value, str) else list(value)
        names = " or ".join(_JSON_TYPES.get(t, t) for t in expected)
        # A quoted number (or a string PyYAML made of one) in a number-typed key: say how to write it.
        quoted = isinstance(expected, list) and bool({"number", "integer"} & set(expected))
        how = " (write a plain number without quotes, such as 0.001 or 1e-3)"
        how = how if quoted and isinstance(error.instance, str) else ""
        return f"'{path}' must be {names}, got {error.instance!r} ({type(error.instance).__name__}){how}"
    if error.validator == "enum":
        return f"'{path}' must be one of {error.validator_value}, got {error.instance!r}"
    if error.validator == "pattern":
        hint = node.get("description")
        return f"'{path}' must match {error.validator_value!r}{f' ({hint})' if hint else ''}, got {error.instance!r}"
    if error.validator == "required":
        return f"missing required key {error.message.split()[0]} under '{path}'"
    if error.validator == "const" and path == "config_version":
        return (
            f"config_version is {error.instance!r}, this code reads version {CONFIG_VERSION}; "
            f"update the file using the README's 'Configuration' section"
        )
    return f"'{path}': {error.message}"


def validate_mapping(raw: Mapping[str, Any], source: str = "config", *, cross_checks: bool = True) -> dict[str, Any]:
    """Validate a configuration mapping and return it with defaults filled in.

    Raises :class:`ConfigError` listing every problem, each naming its key. ``cross_checks``:
    also the rules that tie keys of different sections together (split fractions summing to 1,
    months for the lichess source, ...); off for a stage's slice of a config that passed them
    whole (:mod:`simagents.stages`), whose other sections hold only the schema's defaults and are
    hidden from the stage by its guard.
    """
    root = schema()
    data = _coerce_numbers(copy.deepcopy(dict(raw)), root, root)
    validator = jsonschema.Draft202012Validator(root)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(f"invalid configuration in {source}:\n{lines}")
    data = dict(_fill_defaults(data, root, root))
    if not cross_checks:
        return data
    split = data.get("positions", {}).get("split", {})
    total = sum(split.get(k, 0.0) for k in ("train", "val", "test"))
    if abs(total - 1.0) > 1e-9:
        raise ConfigError(
            f"invalid configuration in {source}:\n  - 'positions.split' fractions must sum "
            f"to 1, got {split} (sum {total})"
        )
    names = [p["name"] for p in data["data"]["synthetic"]["personas"]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(
            f"invalid configuration in {source}:\n  - 'data.synthetic.personas' has duplicate names {duplicates}"
        )
    if data["data"]["source"] == "lichess" and not data["data"]["lichess"]["months"]:
        raise ConfigError(
            f"invalid configuration in {source}:\n  - 'data.lichess.months' must list at "
            f"least one month (YYYY-MM) when data.source is lichess"
        )
    if data["data"]["source"] == "pgn" and not data["data"]["pgn"]["paths"]:
        raise ConfigError(
            f"invalid configuration in {source}:\n  - 'data.pgn.paths' must list at least "
            f"one PGN file when data.source is pgn"
        )
    return data


# --- typed view -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Persona:
    name: str
    kind: Literal["stockfish", "random", "greedy"]
    rating: int


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    path: str | None
    threads: int
    hash_mb: int


@dataclass(frozen=True, kw_only=True)
class FiltersConfig:
    rated_only: bool
    time_controls: tuple[str, ...] | None
    require_both_ratings: bool
    exclude_bots: bool
    min_plies: int
    min_base_seconds: int | None


@dataclass(frozen=True, kw_only=True)
class SyntheticConfig:
    games: int
    nodes_per_move: int
    max_plies: int
    opening_random_plies: int
    include_self_play: bool
    personas: tuple[Persona, ...]


@dataclass(frozen=True, kw_only=True)
class LichessConfig:
    months: tuple[str, ...]
    url_template: str
    checksums_url: str | None
    sha256: Mapping[str, str]
    max_games_scanned: int | None


@dataclass(frozen=True, kw_only=True)
class PgnConfig:
    paths: tuple[str, ...]
    prompt_mode: Literal["rating_band", "persona"]


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    source: Literal["synthetic", "lichess", "pgn"]
    rating_band_edges: tuple[int, ...]
    balance_per_band: int | None
    max_games: int | None
    #: A file that could not be read to its end: ``fail`` stops the games stage; ``keep`` keeps
    #: the games read before the damage and records the file in the data summary.
    input_ended_early: Literal["fail", "keep"]
    filters: FiltersConfig
    synthetic: SyntheticConfig
    lichess: LichessConfig
    pgn: PgnConfig


@dataclass(frozen=True, kw_only=True)
class SplitConfig:
    train: float
    val: float
    test: float


@dataclass(frozen=True, kw_only=True)
class PositionsConfig:
    skip_plies: int
    split: SplitConfig


@dataclass(frozen=True, kw_only=True)
class SimulatorConfig:
    """Architecture and optimisation of the simulator (``simulator`` in the config)."""

    seeds: tuple[int, ...]
    arch: Literal["mlp", "resnet"]
    hidden: int
    layers: int
    blocks: int
    channels: int
    value_head: bool
    dropout: float
    move_features: bool
    prompt_temperature: bool
    lever_gain: float
    tactics_width: int
    steps: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_steps: int
    prompt_dropout: float
    value_weight: float
    eval_every: int
    checkpoint_every: int
    val_positions: int
    device: str  # where every network runs: auto | cpu | cuda | cuda:N | mps (simagents.models.device)
    precision: Literal["auto", "fp32", "bf16"]  # autocast of forward passes: auto = bf16 on CUDA, fp32 elsewhere


@dataclass(frozen=True, kw_only=True)
class EvaluationConfig:
    """Which positions are evaluated and how deeply Stockfish scores them (``evaluation``)."""

    positions_per_prompt: int
    action_value_nodes: int
    # Of those, per prompt: the subset on which every agent (rlft, pikl, az) and the simulator are
    # compared; search agents cost ~30 network calls per position and prompt.
    agent_positions_per_prompt: int


@dataclass(frozen=True, kw_only=True)
class GamesConfig:
    """The one game runner's rules for agent games (``games``): ply cap and held-out openings."""

    max_plies: int
    opening_plies: int


@dataclass(frozen=True, kw_only=True)
class RlftConfig:
    """KL-regularised RL fine-tuning of the simulator (``rlft``; :mod:`simagents.agents.rlft`)."""

    betas: tuple[float, ...]
    seeds: tuple[int, ...]
    iterations: int
    games_per_iteration: int
    target_positions: int
    replay_positions: int  # 0: fit this iteration's targets only
    step_size: float
    epochs: int
    batch_size: int
    lr: float
    value_weight: float
    critic_lr: float
    critic_epochs: int
    critic_prompts: Literal["game", "none"]  # none: a prompt-blind critic (Q and regression under none)
    snapshot_every: int
    snapshot_fraction: float
    eval_games_per_prompt: int


@dataclass(frozen=True, kw_only=True)
class PaperConfig:
    """The paper built from the run (``paper``): where its PDF is also copied, if anywhere."""

    publish: str | None  # e.g. paper/paper.pdf for the default run; null keeps it in <run>/paper/


@dataclass(frozen=True, kw_only=True)
class PiklConfig:
    """Search on the simulator, no training (``pikl``; :mod:`simagents.agents.pikl`)."""

    lambdas: tuple[float, ...]


@dataclass(frozen=True, kw_only=True)
class AzConfig:
    """The AlphaZero-style agent (``az``; :mod:`simagents.agents.az`)."""

    init: Literal["simulator", "scratch"]
    seed: int
    iterations: int
    games_per_iteration: int
    simulations: int
    eval_simulations: int
    c_puct: float
    dirichlet_alpha: float
    dirichlet_fraction: float
    temperature_plies: int
    replay_positions: int
    epochs: int
    batch_size: int
    lr: float
    value_weight: float


@dataclass(frozen=True, kw_only=True)
class LadderConfig:
    """The Elo ladder (``ladder``; :mod:`simagents.agents.ladder`)."""

    anchors: tuple[str, ...]
    anchor: str
    prompts: tuple[str, ...] | None
    games_per_pairing: int
    nodes_per_move: int
    resamples: int
    # The exact frontier played (simagents.agents.frontier_agent): pi ~ p_sim exp(Q / beta), with Q
    # Stockfish's win chance of every legal move at ``frontier_nodes``, one player per beta and prompt.
    frontier_betas: tuple[float, ...] = ()
    frontier_prompts: tuple[str, ...] | None = None
    frontier_nodes: int = 2000


@dataclass(frozen=True, kw_only=True)
class Config:
    """A validated run configuration (see ``config/default.yaml`` for what each key means)."""

    config_version: int
    run_name: str
    seed: int
    results_dir: str
    resources_dir: str
    engine: EngineConfig
    data: DataConfig
    positions: PositionsConfig
    simulator: SimulatorConfig
    evaluation: EvaluationConfig
    games: GamesConfig
    rlft: RlftConfig
    pikl: PiklConfig
    az: AzConfig
    ladder: LadderConfig
    paper: PaperConfig
    raw: Mapping[str, Any]

    @property
    def run_dir(self) -> Path:
        """Where this run's outputs go: ``<results_dir>/<run_name>``."""
        return Path(self.results_dir) / self.run_name


def from_mapping(raw: Mapping[str, Any], source: str = "config", *, cross_checks: bool = True) -> Config:
    """Validate ``raw`` and build the typed :class:`Config` (``cross_checks``: see :func:`validate_mapping`)."""
    d = validate_mapping(raw, source, cross_checks=cross_checks)
    data = d["data"]
    synthetic = data["synthetic"]
    lichess = data["lichess"]
    filters = data["filters"]
    return Config(
        config_version=d["config_version"],
        run_name=d["run_name"],
        seed=d["seed"],
        results_dir=d["results_dir"],
        resources_dir=d["resources_dir"],
        engine=EngineConfig(**d["engine"]),
        data=DataConfig(
            source=data["source"],
            rating_band_edges=tuple(data["rating_band_edges"]),
            balance_per_band=data["balance_per_band"],
            max_games=data["max_games"],
            input_ended_early=data["input_ended_early"],
            filters=FiltersConfig(
                **{
                    **filters,
                    "time_controls": None if filters["time_controls"] is None else tuple(filters["time_controls"]),
                }
            ),
            synthetic=SyntheticConfig(**{**synthetic, "personas": tuple(Persona(**p) for p in synthetic["personas"])}),
            lichess=LichessConfig(**{**lichess, "months": tuple(lichess["months"])}),
            pgn=PgnConfig(paths=tuple(data["pgn"]["paths"]), prompt_mode=data["pgn"]["prompt_mode"]),
        ),
        positions=PositionsConfig(
            skip_plies=d["positions"]["skip_plies"], split=SplitConfig(**d["positions"]["split"])
        ),
        simulator=SimulatorConfig(**{**d["simulator"], "seeds": tuple(d["simulator"]["seeds"])}),
        evaluation=EvaluationConfig(**d["evaluation"]),
        games=GamesConfig(**d["games"]),
        rlft=RlftConfig(
            **{**d["rlft"], "betas": tuple(float(b) for b in d["rlft"]["betas"]), "seeds": tuple(d["rlft"]["seeds"])}
        ),
        pikl=PiklConfig(lambdas=tuple(float(x) for x in d["pikl"]["lambdas"])),
        az=AzConfig(**d["az"]),
        ladder=LadderConfig(
            **{
                **d["ladder"],
                "anchors": tuple(d["ladder"]["anchors"]),
                "prompts": None if d["ladder"]["prompts"] is None else tuple(d["ladder"]["prompts"]),
                "frontier_betas": tuple(float(b) for b in d["ladder"]["frontier_betas"]),
                "frontier_prompts": (
                    None if d["ladder"]["frontier_prompts"] is None else tuple(d["ladder"]["frontier_prompts"])
                ),
            }
        ),
        paper=PaperConfig(**d["paper"]),
        raw=d,
    )


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """The top-level mapping of a YAML config file; a missing or malformed file is a :class:`ConfigError`."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return raw


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read, validate and type a YAML config file; ``overrides`` are merged on top (dotted keys allowed)."""
    raw = read_yaml_mapping(path)
    for dotted, value in (overrides or {}).items():
        target = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return from_mapping(raw, source=str(path))
