"""Measurements: evaluation positions, Stockfish action values, win chances and move losses.

* :mod:`.win_chances`: lichess win chances, move losses and judgement thresholds (the only place
  these constants live);
* :mod:`.eval_positions`: the evaluation positions, sampled from the test split per prompt, with
  their absolute boards;
* :mod:`.action_values`: Stockfish scores for every legal move of every evaluation position
  (parallel, resumable).

Only the light, engine-free names are re-exported here; import the submodules for the rest.
"""

from .win_chances import (
    BLUNDER,
    CP_CLIP,
    INACCURACY,
    JUDGEMENTS,
    MATE_WIN_CHANCE,
    MISTAKE,
    WC_MULTIPLIER,
    judgements,
    move_losses,
    win_chances,
)

__all__ = [
    "BLUNDER",
    "CP_CLIP",
    "INACCURACY",
    "JUDGEMENTS",
    "MATE_WIN_CHANCE",
    "MISTAKE",
    "WC_MULTIPLIER",
    "judgements",
    "move_losses",
    "win_chances",
]
