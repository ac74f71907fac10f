"""The Slurm profile against the workflow's rules (its table in docs/cluster.md is generated from it).

`make test-slurm` runs the workflow through the profile on a real (one-node) Slurm cluster; these
checks need no Slurm and run with `make test`.
"""

from __future__ import annotations

import re

import pytest
import yaml

RULE = re.compile(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", re.MULTILINE)


@pytest.fixture(scope="module")
def profile(repo):
    return yaml.safe_load((repo / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())


@pytest.fixture(scope="module")
def rules(repo):
    """Rule name -> whether it is a local rule (runs where Snakemake runs, never submitted)."""
    found = {}
    for path in sorted((repo / "workflow" / "rules").glob("*.smk")):
        for name, body in RULE.findall(path.read_text()):
            found[name] = "localrule: True" in body
    assert {"synthetic_games", "train_simulator", "rlft", "az", "paper"} <= set(found)
    return found


def test_every_submitted_rule_has_threads_memory_and_runtime(profile, rules):
    submitted = {name for name, local in rules.items() if not local}
    assert set(profile["set-threads"]) == submitted
    assert set(profile["set-resources"]) == submitted
    for rule in submitted:
        resources = profile["set-resources"][rule]
        assert profile["set-threads"][rule] >= 1, rule
        assert resources["mem_mb"] > 0 and resources["runtime"] > 0, rule
        # threads are the job's CPUs: a cpus_per_task that disagreed would cap or waste them
        assert "cpus_per_task" not in resources, rule


def test_training_rules_ask_for_a_gpu(profile, rules):
    gpu_rules = {rule for rule, resources in profile["set-resources"].items() if resources.get("gpu")}
    assert gpu_rules == {"train_simulator", "rlft", "az"}
    assert all(profile["set-resources"][rule]["gpu"] == 1 for rule in gpu_rules)


def test_profile_submits_through_slurm(profile):
    assert profile["executor"] == "slurm"
    assert profile["cores"] >= max(profile["set-threads"].values())


@pytest.fixture(scope="module")
def check(repo):
    """tools/slurm/check_workflow.py, the check `make test-slurm` runs, imported as a module."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("check_workflow", repo / "tools" / "slurm" / "check_workflow.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_profile_is_fitted_to_a_small_node_rule_by_rule(check, profile):
    node = check.Node(name="n", cpus=2, memory_mb=8000, partition="main", account="a")
    fitted, changes = check.fitted_profile(profile, node)
    assert set(fitted["set-resources"]) == set(profile["set-resources"])
    assert max(fitted["set-threads"].values()) == 2
    for rule, resources in fitted["set-resources"].items():
        assert resources["mem_mb"] <= 4000 * fitted["set-threads"][rule], rule
        assert "gpu" not in resources and resources["runtime"] == profile["set-resources"][rule]["runtime"]
    assert "train_simulator: gpu 1 -> none (the test node has no GPU)" in changes
    assert profile["set-resources"]["train_simulator"]["gpu"] == 1  # the profile itself is left alone


def test_local_rules_are_read_from_the_rule_files(check):
    assert check.local_rules() == {"all", "claims", "figure", "paper", "stage_config", "resolved_config"}


def test_output_comparison_ignores_only_what_records_time(check, tmp_path):
    slurm, local = tmp_path / "slurm", tmp_path / "local"
    files = {
        "agents/rlft.csv": ("a,b\n1,2\n", "a,b\n1,2\n"),
        "benchmarks/az.tsv": ("s\n1.5\n", "s\n2.5\n"),
        "simulator/seed0/train.json": (
            '{"steps": 60, "positions_per_second": 3.0}',
            '{"steps": 60, "positions_per_second": 4.0}',
        ),
        "paper/generated/numbers.tex": (
            "\\snset{x}{1}\n\\snset{runtime-total-minutes}{2}\n",
            "\\snset{x}{1}\n\\snset{runtime-total-minutes}{3}\n",
        ),
    }
    for relative, (a, b) in files.items():
        for root, text in ((slurm, a), (local, b)):
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text)
    problems, compared, skipped, differing = check.compare_outputs(slurm, local)
    assert problems == [] and compared.total() == 3 and skipped.total() == differing.total() == 1
    (local / "agents" / "rlft.csv").write_text("a,b\n1,3\n")
    (local / "simulator" / "seed0" / "train.json").write_text('{"steps": 61, "positions_per_second": 4.0}')
    (slurm / "ladder.pgn").write_text("1. e4 *\n")
    problems, *_ = check.compare_outputs(slurm, local)
    assert sorted(p.split(":")[0] for p in problems) == ["agents/rlft.csv", "ladder.pgn", "simulator/seed0/train.json"]
