"""Prompts: the token that says who is playing.

A prompt is a string token per side. For the synthetic population it is the persona's name; for
human data it is the player's rating band (``r1500-1699``, say) or ``unknown``. The token
``none`` is reserved for the unconditional simulator (trained by prompt dropout). The vocabulary
of a run (token -> integer id) is fixed by the config, not by the data, so ids mean the same in
every stage and every split.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

NONE_TOKEN = "none"
UNKNOWN_TOKEN = "unknown"


def rating_band_names(edges: Sequence[int]) -> list[str]:
    """Band tokens for ascending ``edges``: ``r<E0``, ``rE0-E1-1``, ..., ``r>=En``."""
    edges = list(edges)
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"rating band edges must be strictly increasing, got {edges!r}")
    if not edges:
        return ["rall"]
    names = [f"r<{edges[0]}"]
    names += [f"r{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)]
    names.append(f"r>={edges[-1]}")
    return names


def rating_band(rating: int | None, edges: Sequence[int]) -> str:
    """The band token of ``rating`` (``unknown`` for a missing rating)."""
    if rating is None:
        return UNKNOWN_TOKEN
    return rating_band_names(edges)[bisect.bisect_right(list(edges), rating)]


def vocabulary(tokens: Sequence[str]) -> dict[str, int]:
    """Token -> id, with ``none`` = 0 and ``unknown`` = 1, then ``tokens`` in the given order."""
    vocab = {NONE_TOKEN: 0, UNKNOWN_TOKEN: 1}
    for token in tokens:
        if token in (NONE_TOKEN, UNKNOWN_TOKEN):
            continue
        if token in vocab:
            raise ValueError(f"duplicate prompt token {token!r}")
        vocab[token] = len(vocab)
    return vocab


def measured_prompts(vocabulary: Sequence[str], data_prompts: Sequence[str]) -> list[str]:
    """The model prompts the metric battery measures a simulator under, in vocabulary order.

    Every token but ``unknown``, which is kept only when the data has players of unknown rating
    (``data_prompts``: the evaluation positions' own prompts). The simulator learns ``unknown`` as
    the prompt of those players like any rating band, so it is measured like one: the true-prompt
    and shuffled-prompt checks then cover every evaluation position, none left out.
    """
    keep_unknown = UNKNOWN_TOKEN in set(data_prompts)
    return [p for p in vocabulary if p != UNKNOWN_TOKEN or keep_unknown]
