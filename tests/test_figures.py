"""The figures are legible: no two labels of a committed figure are drawn over each other."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from simagents.config import load_config
from simagents.report.figures import DRAW, FIGURE_TABLES, _style, load_tables, overlapping_texts
from simagents.report.tables import RunTables, run_table_files

REPO = Path(__file__).resolve().parents[1]


def test_the_overlap_check_finds_labels_drawn_over_each_other():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.text(0.5, 0.5, "first label", transform=ax.transAxes)
    ax.text(0.52, 0.5, "second label", transform=ax.transAxes)
    ax.text(0.05, 0.1, "far away", transform=ax.transAxes)
    assert overlapping_texts(fig) == [("first label", "second label")]
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.text(0.1, 0.8, "apart", transform=ax.transAxes)
    ax.text(0.1, 0.2, "and legible", transform=ax.transAxes)
    ax.set(xlabel="x", ylabel="y", title="a title")
    assert overlapping_texts(fig) == []
    plt.close(fig)


@pytest.mark.parametrize("name", sorted(DRAW))
def test_every_figure_of_the_committed_run_has_no_overlapping_labels(name, monkeypatch):
    """Each figure redrawn from the committed default run's tables, as its rule draws it."""
    monkeypatch.chdir(REPO)  # the config's results_dir is relative to the checkout
    config = load_config(REPO / "config" / "default.yaml")
    files = run_table_files(config, FIGURE_TABLES[name])
    missing = [str(path) for path in files.values() if not Path(path).is_file()]
    assert not missing, f"the committed run lacks {missing}"
    tables = RunTables.parse(f"{role}={os.fspath(path)}" for role, path in files.items())
    _style()
    fig = DRAW[name](load_tables(tables, name, f"simulator_seed{config.simulator.seeds[0]}"), "simulator_seed0")
    try:
        assert overlapping_texts(fig) == []
    finally:
        plt.close(fig)
