"""The `simagents` command: every stage runs outside Snakemake, errors exit 2 with a message."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from simagents.cli import build_parser, main

COMMANDS = [
    "validate-config",
    "find-engine",
    "synthetic",
    "download",
    "games",
    "positions",
    "summary",
    "data",
    "train",
    "eval-positions",
    "action-values",
    "metrics",
    "uci",
]


def test_every_stage_has_a_subcommand_with_help():
    parser = build_parser()
    for command in COMMANDS:
        with pytest.raises(SystemExit) as done:
            parser.parse_args([command, "--help"])
        assert done.value.code == 0


def test_entry_point_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "simagents", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "simagents" in result.stdout


def test_validate_config(repo, capsys, tmp_path):
    assert main(["validate-config", "--config", str(repo / "config" / "default.yaml")]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("config_version: 1\nrun_name: x\nseed: 0\ndata: {source: synthetic, synthetic: {games: -3}}\n")
    assert main(["validate-config", "--config", str(bad)]) == 2
    assert "'data.synthetic.games'" in capsys.readouterr().err


def test_data_stages_without_snakemake(repo, tmp_path, capsys):
    config = yaml.safe_load((repo / "config" / "smoke.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    config["data"]["synthetic"]["games"] = 12
    config["data"]["synthetic"]["personas"] = [
        {"name": "random", "kind": "random", "rating": 400},
        {"name": "greedy", "kind": "greedy", "rating": 800},
    ]
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["data", "--config", str(path), "--workers", "1", "--no-progress"]) == 0
    run = tmp_path / "results" / "smoke"
    summary = json.loads((run / "data" / "summary.json").read_text())
    assert summary["games_read"] == 12 and summary["games_kept"] == 12
    assert (run / "positions" / "train" / "move.npy").exists()
    assert "# Data summary (synthetic)" in capsys.readouterr().out


def test_missing_input_is_a_clear_error(repo, tmp_path, capsys):
    code = main(
        [
            "games",
            "--config",
            str(repo / "config" / "smoke.yaml"),
            "--workers",
            "1",
            "--no-progress",
            "--inputs",
            str(tmp_path / "absent.pgn"),
            "--out",
            str(tmp_path / "g.parquet"),
            "--ledger-out",
            str(tmp_path / "l.json"),
        ]
    )
    assert code == 2
    assert "PGN file not found" in capsys.readouterr().err
