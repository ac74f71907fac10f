"""The three data sources behind one function: files in, games table and drop ledger out.

* ``synthetic``: the population's PGN (written by :mod:`.synthetic`), prompts from persona tags;
* ``lichess``: the downloaded monthly dumps (:mod:`.lichess`), prompts from rating bands;
* ``pgn``: the user's files, prompts from rating bands or persona tags (``data.pgn.prompt_mode``).

All three go through the same PGN reader, filters and sampling, so they are cleaned alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from ..config import Config
from ..paths import RunPaths
from ..prompts import rating_band_names
from .ingest import Sampling, ingest_pgn
from .pgn import HumanFilters, PromptMode, ReadOptions
from .table import DropLedger


def prompt_mode(config: Config) -> PromptMode:
    source = config.data.source
    if source == "synthetic":
        return "persona"
    if source == "pgn":
        return config.data.pgn.prompt_mode
    return "rating_band"


def prompt_tokens(config: Config, games: pa.Table | None = None) -> list[str]:
    """The run's prompt tokens in vocabulary order (``none`` and ``unknown`` are added by the vocabulary).

    Personas of the synthetic population in config order; rating bands in ascending order; for a
    persona-tagged PGN source, the personas found in the games table, sorted.
    """
    mode = prompt_mode(config)
    if config.data.source == "synthetic":
        return [p.name for p in config.data.synthetic.personas]
    if mode == "rating_band":
        return rating_band_names(config.data.rating_band_edges)
    if games is None:
        raise ValueError("a persona-prompted PGN source needs the games table to list its personas")
    return sorted({*games.column("white_prompt").to_pylist(), *games.column("black_prompt").to_pylist()})


def input_files(config: Config, paths: RunPaths) -> list[Path]:
    """The files the games table is read from: the synthetic games the run plays, the lichess
    months it downloads, or the user's PGN files."""
    if config.data.source == "synthetic":
        return [paths.synthetic_pgn]
    if config.data.source == "lichess":
        from .lichess import lichess_dump_path

        lichess = config.data.lichess
        return [lichess_dump_path(Path(config.resources_dir), lichess.url_template, m) for m in lichess.months]
    return [Path(p) for p in config.data.pgn.paths]


def build_games_table(
    config: Config, paths: Sequence[Path], workers: int = 1, progress: bool = True
) -> tuple[pa.Table, DropLedger]:
    """Read the source's files ``paths`` into the games table, cleaned, filtered and sampled per the config."""
    paths = list(paths)
    f = config.data.filters
    filters = HumanFilters(
        rated_only=f.rated_only,
        time_controls=f.time_controls,
        require_both_ratings=f.require_both_ratings,
        exclude_bots=f.exclude_bots,
        min_plies=f.min_plies,
        min_base_seconds=f.min_base_seconds,
    )
    mode = prompt_mode(config)
    stems = [p.name.split(".")[0] for p in paths]
    options = [
        ReadOptions(
            source=config.data.source,
            prompt_mode=mode,
            band_edges=config.data.rating_band_edges,
            filters=filters,
            # Synthetic games carry their own unique GameId; other files get "<file>#<n>".
            id_prefix=""
            if config.data.source == "synthetic"
            else (f"{stem}#" if stems.count(stem) == 1 else f"{stem}{i}#"),
        )
        for i, stem in enumerate(stems)
    ]
    sampling = Sampling(
        seed=config.seed,
        per_band=config.data.balance_per_band,
        band_edges=config.data.rating_band_edges,
        max_games=config.data.max_games,
        max_games_scanned=config.data.lichess.max_games_scanned if config.data.source == "lichess" else None,
        # Human collections repeat games (one game in two databases); synthetic games are
        # independent plays, and two that coincide (a deterministic engine pair from the same
        # random opening) are two samples of the population, not a copy.
        dedupe_games=config.data.source != "synthetic",
    )
    return ingest_pgn(
        paths,
        options,
        sampling,
        workers=workers,
        progress=progress,
        keep_ended_early=config.data.input_ended_early == "keep",
    )
