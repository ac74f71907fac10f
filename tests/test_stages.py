"""Each stage reads only its slice of the config (simagents.stages), and the slice is enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simagents.config import load_config
from simagents.stages import STAGE_KEYS, UndeclaredConfigKey, guard, load_stage_config, stage_config_text

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default_config():
    return load_config(REPO / "config" / "default.yaml")


def test_a_stage_reads_its_keys_and_no_other(default_config):
    rlft = guard(default_config, "rlft")
    assert rlft.rlft.betas == default_config.rlft.betas
    assert rlft.positions.split.train == default_config.positions.split.train  # a declared sub-key
    assert rlft.seed == default_config.seed  # part of every slice
    with pytest.raises(UndeclaredConfigKey, match=r"stage 'rlft' reads config key 'ladder'.*STAGE_KEYS\['rlft'\]"):
        _ = rlft.ladder
    with pytest.raises(UndeclaredConfigKey, match=r"'positions\.skip_plies'"):
        _ = rlft.positions.skip_plies
    with pytest.raises(UndeclaredConfigKey, match="take every path as an argument"):
        _ = rlft.run_dir


def test_the_stage_config_file_holds_the_slice_and_loads_as_the_stage_sees_it(default_config, tmp_path):
    path = tmp_path / "rlft.yaml"
    path.write_text(stage_config_text(default_config.raw, "rlft"))
    written = yaml.safe_load(path.read_text())
    assert written["stage"] == "rlft"
    assert set(written["config"]) == {"config_version", "run_name", "seed", "rlft", "games", "positions", "simulator"}
    assert set(written["config"]["positions"]) == {"split"}
    assert set(written["config"]["simulator"]) == {"device", "precision"}
    loaded = load_stage_config(path, "rlft")
    assert loaded.rlft == default_config.rlft and loaded.games == default_config.games
    with pytest.raises(UndeclaredConfigKey):
        _ = loaded.az
    with pytest.raises(ValueError, match="is the config of stage 'rlft', not of 'az'"):
        load_stage_config(path, "az")


def test_a_whole_run_config_given_by_hand_is_guarded_the_same_way():
    config = load_stage_config(REPO / "config" / "smoke.yaml", "train_simulator")
    assert config.simulator.steps > 0
    with pytest.raises(UndeclaredConfigKey):
        _ = config.rlft


def test_editing_a_key_changes_only_the_slices_that_read_it(default_config):
    edited = yaml.safe_load((REPO / "config" / "default.yaml").read_text())
    edited["rlft"]["iterations"] += 1
    from simagents.config import from_mapping

    changed = from_mapping(edited)
    differ = {s for s in STAGE_KEYS if stage_config_text(default_config.raw, s) != stage_config_text(changed.raw, s)}
    assert differ == {"rlft", "paper"}  # the paper documents every setting


def test_every_slice_key_exists_in_the_schema(default_config):
    for stage in STAGE_KEYS:
        stage_config_text(default_config.raw, stage)  # a key missing from the config raises KeyError
