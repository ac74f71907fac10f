"""Config loading: schema validation names the key and the expected type; defaults fill in."""

from __future__ import annotations

import sys

import pytest
import yaml

from simagents.config import ConfigError, from_mapping, load_config


@pytest.mark.parametrize("name", ["smoke", "default", "lichess"])
def test_shipped_configs_are_valid(repo, name):
    config = load_config(repo / "config" / f"{name}.yaml")
    assert config.run_name == name


def test_defaults_are_filled_from_the_schema(repo):
    config = load_config(repo / "config" / "smoke.yaml")
    assert config.engine.threads == 1
    assert config.data.filters.min_plies == 0
    assert config.data.lichess.url_template.endswith("{month}.pgn.zst")
    assert config.data.rating_band_edges == (1100, 1300, 1500, 1700, 1900, 2100)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"data.synthetic.games": "many"}, "'data.synthetic.games' must be an integer, got 'many'"),
        ({"data.typo_key": 1}, "unknown key 'typo_key' under 'data'"),
        ({"colour": "blue"}, "unknown key 'colour' at the top level"),
        ({"data.source": "chess.com"}, "'data.source' must be one of"),
        ({"config_version": 0}, "config_version is 0, this code reads version 1"),
        ({"seed": -1}, "'seed'"),
        ({"positions.split": {"train": 0.5, "val": 0.1, "test": 0.1}}, "must sum to 1"),
        ({"engine.path": 3}, "'engine.path' must be a string or null"),
    ],
)
def test_invalid_values_name_the_key(repo, override, fragment):
    with pytest.raises(ConfigError) as error:
        load_config(repo / "config" / "smoke.yaml", override)
    assert fragment in str(error.value)


def test_exponent_numbers_read_as_strings_are_numbers(tmp_path):
    """PyYAML (YAML 1.1) reads `1e-3` as a string: number-typed keys take it as the number."""
    path = tmp_path / "exponents.yaml"
    path.write_text(
        "config_version: 1\nrun_name: 1e3\nseed: 0\ndata: {source: synthetic}\nsimulator: {lr: 1e-3, steps: 2e2}\n"
    )
    assert yaml.safe_load(path.read_text())["simulator"] == {"lr": "1e-3", "steps": "2e2"}
    config = load_config(path, {"pikl.lambdas": ["1e-1", 0.3]})
    assert config.simulator.lr == 0.001 and config.simulator.steps == 200 and config.pikl.lambdas == (0.1, 0.3)
    assert config.run_name == "1e3"  # a string key is left alone
    with pytest.raises(ConfigError, match=r"'simulator.steps' must be an integer, got '1.5e0'"):
        load_config(path, {"simulator.steps": "1.5e0"})  # not a whole number
    with pytest.raises(ConfigError, match=r"'simulator.lr' must be a number, got '0.001' \(str\) \(write a plain"):
        load_config(path, {"simulator.lr": "0.001"})  # a quoted number stays a string: said how to write it


def test_every_problem_is_listed_at_once(repo):
    with pytest.raises(ConfigError) as error:
        load_config(repo / "config" / "smoke.yaml", {"seed": "x", "data.synthetic.games": "y"})
    assert "'seed'" in str(error.value) and "'data.synthetic.games'" in str(error.value)


def test_persona_rules(repo):
    raw = yaml.safe_load((repo / "config" / "smoke.yaml").read_text())
    raw["data"]["synthetic"]["personas"].append({"name": "random", "kind": "random", "rating": 1})
    with pytest.raises(ConfigError, match="duplicate names"):
        from_mapping(raw)
    raw["data"]["synthetic"]["personas"][-1] = {"name": "x", "kind": "alphazero", "rating": 1}
    with pytest.raises(ConfigError, match="kind"):
        from_mapping(raw)


def test_source_needs_its_inputs(repo):
    with pytest.raises(ConfigError, match=r"data\.lichess\.months"):
        load_config(repo / "config" / "smoke.yaml", {"data.source": "lichess"})
    with pytest.raises(ConfigError, match=r"data\.pgn\.paths"):
        load_config(repo / "config" / "smoke.yaml", {"data.source": "pgn"})


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_workflow_schema_is_the_package_schema(repo):
    workflow_schema = repo / "workflow" / "schemas" / "config.schema.yaml"
    packaged = repo / "src" / "simagents" / "resources" / "config.schema.yaml"
    assert workflow_schema.read_text() == packaged.read_text()


def test_every_config_key_has_a_meaning_in_the_schema(repo):
    """docs/configuration.md is generated from the schema's descriptions: none may be missing."""
    schema = yaml.safe_load((repo / "src" / "simagents" / "resources" / "config.schema.yaml").read_text())
    sys.path.insert(0, str(repo / "tools"))
    from update_docs import _schema_leaves

    missing = [key for key, spec in _schema_leaves(schema, schema) if not spec.get("description")]
    assert not missing, f"config keys without a description in the schema: {missing}"
