"""Lichess win chances, move losses and judgements: hand-computed values, clipping, mates, boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simagents.evaluation.win_chances import (
    BLUNDER,
    CP_CLIP,
    INACCURACY,
    JUDGEMENTS,
    MISTAKE,
    WC_MULTIPLIER,
    judgements,
    move_losses,
    win_chances,
)

NO_MATE = np.zeros(1, dtype=np.int16)


def _wc(cp: float) -> float:
    return float(win_chances(np.array([cp]), NO_MATE)[0])


def test_constants_are_lichess():
    assert WC_MULTIPLIER == 0.00368208
    assert CP_CLIP == 1000
    assert (INACCURACY, MISTAKE, BLUNDER) == (0.1, 0.2, 0.3)
    assert JUDGEMENTS == ("ok", "inaccuracy", "mistake", "blunder")


def test_hand_computed_values():
    assert _wc(100) == pytest.approx(2 / (1 + math.exp(-0.368208)) - 1, abs=1e-15)
    # Literals worked out by hand: e^-0.368208 = 0.691961..., 2 / 1.691961 - 1 = 0.182052;
    # e^-1.104624 = 0.331347..., 2 / 1.331347 - 1 = 0.502251.
    assert _wc(100) == pytest.approx(0.1820518, abs=1e-7)
    assert _wc(300) == pytest.approx(0.5022510, abs=1e-7)
    assert _wc(0) == 0.0
    assert _wc(-100) == pytest.approx(-_wc(100), abs=1e-15)  # odd function: the opponent's view


def test_clipping_at_1000_centipawns():
    at_clip = 2 / (1 + math.exp(-3.68208)) - 1
    assert at_clip == pytest.approx(0.9508949, abs=1e-7)
    assert _wc(1000) == pytest.approx(at_clip, abs=1e-15)
    assert _wc(1001) == _wc(1000) == _wc(25000)
    assert _wc(-5000) == _wc(-1000) == pytest.approx(-at_clip, abs=1e-15)
    assert _wc(999) < _wc(1000)


def test_mates_are_plus_or_minus_one_whatever_cp_says():
    cp = np.array([np.nan, np.nan, np.nan, 0.0, np.nan])
    mate = np.array([1, 7, -1, -3, 0], dtype=np.int16)
    cp[4] = 250.0
    got = win_chances(cp, mate)
    assert got.dtype == np.float64
    assert got[:4].tolist() == [1.0, 1.0, -1.0, -1.0]
    assert got[4] == pytest.approx(2 / (1 + math.exp(-WC_MULTIPLIER * 250)) - 1)
    # A mate for the mover outranks every centipawn score, even the clipped maximum.
    assert got[0] > _wc(1000) and got[2] < _wc(-1000)


def test_a_missing_cp_without_mate_is_an_error_that_names_it():
    with pytest.raises(ValueError, match=r"cp is nan at index \(1,\)"):
        win_chances(np.array([10.0, np.nan]), np.array([0, 0]))
    with pytest.raises(ValueError, match="integer"):
        win_chances(np.array([10.0]), np.array([0.0]))


def test_move_losses_per_position_any_row_order():
    wc = np.array([0.2, -0.5, 0.9, 0.2, 1.0, -1.0])
    position = np.array([7, 7, 3, 7, 3, 3])
    loss = move_losses(wc, position)
    np.testing.assert_allclose(loss, [0.0, 0.7, 0.1, 0.0, 0.0, 2.0])
    assert (loss >= 0).all()
    assert move_losses(np.zeros(0), np.zeros(0, dtype=np.int32)).shape == (0,)
    with pytest.raises(ValueError, match="shapes"):
        move_losses(np.zeros(3), np.zeros(2))


def test_losses_from_scores_end_to_end():
    # Best move +150 cp, a second +30 cp, a third lets the mover be mated.
    cp = np.array([150.0, 30.0, np.nan])
    mate = np.array([0, 0, -2])
    loss = move_losses(win_chances(cp, mate), np.zeros(3, dtype=np.int32))
    expected_second = (2 / (1 + math.exp(-WC_MULTIPLIER * 150)) - 1) - (2 / (1 + math.exp(-WC_MULTIPLIER * 30)) - 1)
    assert loss[0] == 0.0
    assert loss[1] == pytest.approx(expected_second)
    assert loss[2] == pytest.approx(1 + (2 / (1 + math.exp(-WC_MULTIPLIER * 150)) - 1))


def test_judgement_thresholds_are_inclusive_at_the_boundaries():
    losses = np.array([0.0, 0.0999999, 0.1, 0.1999999, 0.2, 0.2999999, 0.3, 1.7, 2.0])
    assert judgements(losses).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3]
    assert judgements(losses).dtype == np.int8
    with pytest.raises(ValueError, match=r"got -0\.01"):
        judgements(np.array([0.2, -0.01]))
