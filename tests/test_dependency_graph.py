"""One dependency graph: every command is given each file it reads, and nothing happens at parse time.

The smoke workflow of the other tests runs with every job in a shadow folder holding only its
rule's declared inputs (conftest.smoke_run), so a command reading an undeclared file fails it.
The tests here show that this check can fail, and cover the commands' own refusals.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import snakemake

from simagents.cli import main

SNEAKY_RULE = """
include: "{snakefile}"


rule sneaky:
    # declares the metrics stage's config, but also reads the data summary it does not declare
    input:
        config=stage_config("metrics"),
    output:
        "sneaky.txt",
    shadow:
        SHADOW
    shell:
        "cat {{input.config}} results/smoke/data/summary.json > {{output}}"
"""


@pytest.mark.workflow
def test_a_rule_reading_an_undeclared_file_fails_in_shadow_mode(repo, smoke_run, tmp_path):
    """The control of the shadowed smoke run: the same switch (SIMAGENTS_SHADOW) that runs the
    smoke workflow fails a rule whose command reads a file it does not declare, and the same rule
    passes without it."""
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(SNEAKY_RULE.format(snakefile=repo / "Snakefile"))
    args = ["--configfile", str(repo / "config" / "smoke.yaml"), "--snakefile", str(snakefile), "sneaky.txt"]

    def run(shadow: bool) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "simagents", "snakemake", "--directory", str(smoke_run), "--cores", "1"]
        env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)}
        if shadow:
            env["SIMAGENTS_SHADOW"] = "minimal"
        return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=300)

    shadowed = run(shadow=True)
    assert shadowed.returncode != 0 and "summary.json: No such file" in shadowed.stdout + shadowed.stderr
    plain = run(shadow=False)
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert (smoke_run / "sneaky.txt").exists()
    (smoke_run / "sneaky.txt").unlink()


@pytest.mark.parametrize("mode", [["-n"], ["--lint"]])
def test_planning_and_linting_write_nothing(repo, tmp_path, mode):
    snakemake(repo, tmp_path, "--configfile", str(repo / "config" / "smoke.yaml"), *mode)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if ".snakemake" not in p.parts)
    assert written == [], written


def test_the_data_chain_stops_at_a_failed_step(repo, tmp_path, capsys):
    config = tmp_path / "pgn.yaml"
    config.write_text(
        f"config_version: 1\nrun_name: mine\nseed: 0\nresults_dir: {tmp_path / 'results'}\n"
        f"data: {{source: pgn, pgn: {{paths: [{tmp_path / 'absent.pgn'}]}}}}\n"
    )
    assert main(["data", "--config", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "PGN file not found" in err and "step `games` failed (exit 2); the later steps were not run" in err
    assert not (tmp_path / "results" / "mine" / "positions").exists()


def test_debug_shows_the_traceback_behind_an_error(tmp_path, capsys):
    assert main(["validate-config", "--config", str(tmp_path / "absent.yaml")]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert main(["--debug", "validate-config", "--config", str(tmp_path / "absent.yaml")]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "config file not found" in err


def test_a_report_stage_without_its_tables_names_them(repo, tmp_path, capsys):
    code = main(["figure", "decisive", "--config", str(repo / "config" / "smoke.yaml"), "--table",
                 f"elo={repo / 'results' / 'default' / 'ladder' / 'elo.csv'}", "--out-dir", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert "needs the tables agent_metrics, metrics" in capsys.readouterr().err
    code = main(["figure", "decisive", "--config", str(repo / "config" / "smoke.yaml"), "--table",
                 f"elo={tmp_path / 'absent.csv'}", "--out-dir", str(tmp_path)])  # fmt: skip
    assert code == 2 and "--table elo: no such file" in capsys.readouterr().err


def test_a_stage_command_needs_every_path(repo, capsys):
    with pytest.raises(SystemExit):
        main(["rlft", "--config", str(repo / "config" / "smoke.yaml"), "--beta", "0", "--seed", "0"])
    assert "the following arguments are required: --simulator, --games, --out-dir" in capsys.readouterr().err


def test_only_the_config_record_is_committed(repo):
    """A stage's slice of the config (``<run>/config/<stage>.yaml``) has no inputs: committed, it
    would reach a fresh clone without Snakemake's metadata and never be rewritten after an edit
    of the config, so the stages would run on the old slice. Git ignores the slices; the committed
    record is resolved.yaml, which the workflow writes after every slice (its inputs)."""
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "results/default/config/train_simulator.yaml"], cwd=repo
    )
    kept = subprocess.run(["git", "check-ignore", "--no-index", "results/default/config/resolved.yaml"], cwd=repo)
    assert ignored.returncode == 0 and kept.returncode == 1
    tracked = subprocess.run(
        ["git", "ls-files", "results/*/config/*"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    assert all(path.endswith("/config/resolved.yaml") for path in tracked), tracked
