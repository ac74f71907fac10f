"""The run's agents: one id type, made and parsed in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from simagents.agents.roster import (
    AgentId,
    agents,
    checkpoint_owners,
    checkpoint_path,
    frontier_beta,
    frontier_name,
    parse_checkpoints,
    roles,
)
from simagents.config import load_config
from simagents.paths import RunPaths

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (AgentId("simulator", 0), "simulator_seed0"),
        (AgentId("pikl", 1, 0.03), "pikl_lambda0.03_seed1"),
        (AgentId("rlft", 0, 0.0), "rlft_beta0_seed0"),
        (AgentId("rlft", 2, 1e-4), "rlft_beta0.0001_seed2"),
        (AgentId("az", 3), "az_seed3"),
    ],
)
def test_names_round_trip(agent, name):
    assert str(agent) == name
    assert AgentId.parse(name) == agent


@pytest.mark.parametrize("bad", ["simulator", "rlft_seed0", "pikl_beta0.1_seed0", "az_seed", "sf1350"])
def test_a_name_that_is_no_agent_is_refused(bad):
    with pytest.raises(ValueError, match="not an agent name"):
        AgentId.parse(bad)


def test_the_roster_order_and_its_checkpoints():
    config = load_config(REPO / "config" / "smoke.yaml")
    names = [str(a) for a in agents(config)]
    assert names[0] == "simulator_seed0" and names[1].startswith("pikl_") and names[-1] == "az_seed0"
    owners = checkpoint_owners(config)
    assert all(a.kind != "pikl" for a in owners)
    paths = RunPaths.of(config)
    assert checkpoint_path(paths, AgentId("pikl", 0, 0.1)) == paths.simulator(0)
    assert checkpoint_path(paths, AgentId("rlft", 0, 0.1)) == paths.rlft_dir(0.1, 0) / "final.pt"
    assert roles(config)["rlft_lowest"] == "rlft_beta0_seed0"


def test_checkpoint_arguments_must_match_the_roster(tmp_path):
    config = load_config(REPO / "config" / "smoke.yaml")
    files = {}
    for agent in checkpoint_owners(config):
        files[str(agent)] = tmp_path / f"{agent}.pt"
        files[str(agent)].write_bytes(b"x")
    pairs = [f"{name}={path}" for name, path in files.items()]
    assert [str(a) for a in parse_checkpoints(pairs, config)] == list(files)
    with pytest.raises(ValueError, match="missing az_seed0"):
        parse_checkpoints(pairs[:-1], config)
    with pytest.raises(ValueError, match="not in the roster simulator_seed7"):
        parse_checkpoints([*pairs, f"simulator_seed7={tmp_path / 'x.pt'}"], config)
    (tmp_path / "az_seed0.pt").unlink()
    with pytest.raises(FileNotFoundError, match="checkpoint of az_seed0 not found"):
        parse_checkpoints(pairs, config)


def test_frontier_player_names_round_trip():
    for beta in (0.1, 0.01, 0.003, 1e-4):
        assert frontier_beta(frontier_name(beta)) == pytest.approx(beta)
    assert frontier_name(0.01) == "frontier_beta0.01"
    for other in ("rlft_beta0.1_seed0", "frontier_betax", "simulator_seed0"):
        assert frontier_beta(other) is None
