"""The Snakemake workflow end to end on the smoke config, in a temporary directory."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml
from conftest import snakemake  # the smoke_run fixture (one uninterrupted run) is in conftest too

from simagents.positions import SPLITS, load_split
from simagents.report.latex import TIMED_NUMBER

pytestmark = pytest.mark.workflow


def test_smoke_workflow_produces_the_data_stage(smoke_run):
    run = smoke_run / "results" / "smoke"
    summary = json.loads((run / "data" / "summary.json").read_text())
    config = yaml.safe_load((run / "config" / "resolved.yaml").read_text())
    assert summary["games_read"] == config["data"]["synthetic"]["games"]
    assert summary["games_kept"] + summary["games_dropped"] == summary["games_read"]
    assert set(summary["games_by_prompt"]) == {p["name"] for p in config["data"]["synthetic"]["personas"]}
    assert {row["agent"] for row in summary["scores"]} == set(summary["games_by_prompt"])
    positions = sum(summary["positions"][s]["positions"] for s in SPLITS)
    assert positions > 0
    assert len(load_split(run / "positions", "train")["move"]) == summary["positions"]["train"]["positions"]
    assert "Score of each agent" in (run / "data" / "summary.md").read_text()
    for rule in (
        "synthetic_games",
        "games_table",
        "positions",
        "train_simulator_seed0",
        "train_simulator_seed1",
        "eval_positions",
        "action_values",
        "persona_truth",
        "metrics",
        "simulator_checks",
    ):
        assert (run / "benchmarks" / f"{rule}.tsv").exists(), rule
        assert (run / "logs" / f"{rule}.log").exists(), rule
    curves = (run / "simulator" / "seed0" / "curves.csv").read_text().splitlines()
    assert curves[0].startswith("step,train_loss,val_loss") and len(curves) > 1
    assert (run / "simulator" / "seed0" / "best.pt").exists()
    values = __import__("pyarrow.parquet", fromlist=["x"]).read_table(run / "evaluation" / "action_values.parquet")
    assert values.num_rows > 0 and set(values.column_names) >= {"position_id", "move", "win_chance", "loss"}
    import pandas as pd

    metrics = pd.read_csv(run / "evaluation" / "metrics.csv")
    assert {"simulator_seed0", "random_mover", "greedy_grabber", "played"} <= set(metrics.policy)
    defined = metrics.value.notna()  # undefined where it must be: a rank correlation of equal values
    assert metrics[~defined].low.isna().all() and metrics[~defined].high.isna().all()
    assert (metrics.low <= metrics.value + 1e-12)[defined].all() and (metrics.value <= metrics.high + 1e-12)[
        defined
    ].all()
    # The truth: every persona's exact distribution on every evaluation position, summing to one,
    # with the move each position's player chose inside its own persona's support.
    truth = pd.read_parquet(run / "evaluation" / "truth.parquet")
    evaluated = pd.read_parquet(run / "evaluation" / "positions.parquet")
    names = [p["name"] for p in config["data"]["synthetic"]["personas"]]
    assert set(truth.persona) == set(names)
    assert truth.groupby(["position_id", "persona"]).size().unstack().notna().all().all()
    assert np.allclose(truth.groupby(["position_id", "persona"]).probability.sum(), 1.0)
    assert set(truth.position_id) == set(evaluated.position_id)
    chosen = evaluated.merge(truth, left_on=["position_id", "own_prompt", "played_move"],
                             right_on=["position_id", "persona", "move"], how="left")  # fmt: skip
    assert len(chosen) == len(evaluated) and (chosen.probability > 0).all()  # the same rules as the games'
    truth_metrics = pd.read_csv(run / "evaluation" / "truth_metrics.csv")
    assert {"simulator", "oracle", "prompt_blind", "random_mover", "truth"} <= set(truth_metrics.policy)
    oracle_kl = truth_metrics[(truth_metrics.policy == "oracle") & (truth_metrics.metric == "kl")]
    own = oracle_kl[oracle_kl.persona == oracle_kl.model_prompt]
    assert len(own) == len(names) and (own.value.abs() < 1e-2).all()  # the oracle is the truth, smoothed
    checks = pd.read_csv(run / "evaluation" / "checks.csv")
    assert set(checks.check) == {
        "top1_true_over_none",
        "ce_true_under_none",
        "top1_none_over_shuffled",
        "ce_none_under_shuffled",
        "random_prompt_entropy",
        "strength_rank",
    }
    assert set(checks.verdict) <= {"holds", "fails"}  # every check applies to the smoke population
    calibration = pd.read_csv(run / "evaluation" / "calibration.csv")
    assert set(calibration.prompt) == set(summary["games_by_prompt"])
    active = pd.read_csv(run / "simulator" / "seed0" / "active_units.csv")
    assert set(active.prompt) >= set(summary["games_by_prompt"]) and active.fraction.between(0, 1).all()


def test_smoke_workflow_runs_every_agent_and_the_ladder(smoke_run):
    import pandas as pd

    run = smoke_run / "results" / "smoke"
    config = yaml.safe_load((run / "config" / "resolved.yaml").read_text())
    rlft = pd.read_csv(run / "agents" / "rlft.csv")
    assert sorted(rlft.beta) == sorted(config["rlft"]["betas"])
    assert (rlft.low <= rlft.score_vs_frozen).all() and (rlft.score_vs_frozen <= rlft.high).all()
    for beta in ("0", "0.1", "0.3"):
        folder = run / "agents" / "rlft" / f"beta{beta}_seed0"
        assert (folder / "final.pt").exists()
        curves = pd.read_csv(folder / "curves.csv")
        assert len(curves) == config["rlft"]["iterations"]
        assert {"reward", "score_vs_frozen", "kl", "entropy"} <= set(curves.columns)
        assert (run / "benchmarks" / f"rlft_beta{beta}_seed0.tsv").exists()
    assert (run / "agents" / "az" / "seed0" / "final.pt").exists()
    elo = pd.read_csv(run / "ladder" / "elo.csv")
    prompts = config["ladder"]["prompts"]
    expected = set(config["ladder"]["anchors"]) | {"az_seed0"}
    personas = [p["name"] for p in config["data"]["synthetic"]["personas"]]
    expected |= {f"{control}@{p}" for control in ("oracle", "prompt_blind") for p in personas}
    for agent in (
        "simulator_seed0",
        "simulator_seed1",
        "pikl_lambda0.1_seed0",
        "rlft_beta0_seed0",
        "rlft_beta0.1_seed0",
        "rlft_beta0.3_seed0",
    ):
        expected |= {f"{agent}@{p}" for p in prompts}
    expected |= {f"frontier_beta{b:g}@{p}" for b in config["ladder"]["frontier_betas"] for p in prompts}
    assert set(elo.player) == expected
    frontier = elo[elo.kind == "frontier"]
    assert (
        len(frontier) == len(prompts)
        and (frontier.games == config["ladder"]["games_per_pairing"] * len(config["ladder"]["anchors"])).all()
    )
    assert elo.loc[elo.player == config["ladder"]["anchor"], "elo"].item() == 1350
    assert (elo.low <= elo.elo + 1e-6).all() and (elo.elo <= elo.high + 1e-6).all()
    games = pd.read_csv(run / "ladder" / "games.csv")
    assert len(games) == elo.games.sum() // 2
    assert (run / "ladder" / "games.pgn").read_text().count("[Event ") == len(games)
    resamples = pd.read_parquet(run / "ladder" / "elo_resamples.parquet")
    assert set(resamples.columns) == set(elo.player)
    assert len(resamples) == config["ladder"]["resamples"]


def test_smoke_workflow_ends_in_claims_figures_and_a_pdf(smoke_run):
    import pandas as pd

    from simagents.report.figures import FIGURES

    run = smoke_run / "results" / "smoke"
    agents = pd.read_csv(run / "evaluation" / "agent_metrics.csv")
    assert {"simulator_seed0", "rlft_beta0_seed0", "pikl_lambda0.1_seed0", "az_seed0", "played", "beta family"} <= set(
        agents.policy
    )
    frontier = pd.read_csv(run / "agents" / "rlft_frontier.csv")
    assert frontier.statistic.tolist() == ["spearman_beta_score"] and frontier.n.item() > 0
    # each RL learner measured against the exact optimum of its own objective (beta 0: the best moves)
    gaps = agents[agents.metric == "kl_to_exact_optimum"]
    assert set(gaps.policy) == {"rlft_beta0_seed0", "rlft_beta0.1_seed0", "rlft_beta0.3_seed0"}
    assert (gaps.value >= 0).all() and (agents.metric == "kl_to_simulator").sum() == len(gaps)
    claims = pd.read_csv(run / "claims.csv")
    assert sorted(set(claims.claim)) == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert set(claims.verdict) <= {"supported", "not supported", "test cannot decide", "not testable"}
    # every test ran on both its controls, and the controls of most tests separate even at smoke scale
    assert claims.positive_value.notna().all() and claims.negative_value.notna().all()
    assert (claims.valid == "yes").mean() >= 0.5
    assert claims.ledger_sha256.nunique() == 1 and len(claims.ledger_sha256.iloc[0]) == 64
    for name in FIGURES:
        for suffix in ("pdf", "png"):
            path = run / "figures" / f"{name}.{suffix}"
            assert path.exists() and path.stat().st_size > 1000, path
    pdf = run / "paper" / "paper.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    numbers = (run / "paper" / "generated" / "numbers.tex").read_text()
    assert r"\snset{claim-c3-verdict}" in numbers


# What a second smoke run with the same seeds may change, and why. Everything else in the run's
# folder must be byte for byte the same (README "Determinism").
RERUN_MAY_DIFFER = {
    ("benchmarks/*.tsv",): "Snakemake's wall times and memory samples of each rule",
    ("logs/*",): "timestamps, durations and progress lines",
    ("paper/*.pdf",): "pdfTeX stamps the build time and a document ID into the PDF",
    tuple(
        f"paper/*.{suffix}" for suffix in ("aux", "fdb_latexmk", "fls", "log", "out", "bbl", "blg", "toc")
    ): "latexmk's and LaTeX's bookkeeping, with times and paths",
    ("paper/generated/runtime_table.tex",): "the rules' measured run times, typeset",
}
# Keys of JSON files that hold measurements of time, per file pattern; the rest must be equal.
RERUN_TIMING_KEYS = {
    "agents/*/*/*.json": {"seconds_this_call"},  # rlft.json and az.json: wall time of the call
    "simulator/*/train.json": {"positions_per_second", "data_loading_share"},  # throughput, time shares
}


def _may_differ(relative: str) -> bool:
    from fnmatch import fnmatch

    return any(fnmatch(relative, pattern) for patterns in RERUN_MAY_DIFFER for pattern in patterns)


def test_a_second_run_with_the_same_seeds_is_byte_identical(repo, smoke_run, tmp_path_factory):
    """The smoke workflow run again from nothing in another folder: the same tables (csv,
    parquet, npy, pgn, the claims, the paper's numbers), figures and checkpoints byte for byte,
    and the same JSON apart from timing keys. Only RERUN_MAY_DIFFER's files may differ."""
    from fnmatch import fnmatch

    second = tmp_path_factory.mktemp("smoke_again")
    # shadowed like the first (conftest.smoke_run): each job keeps its declared outputs only
    snakemake(repo, second, "--configfile", str(repo / "config" / "smoke.yaml"), shadow=True)
    runs = [folder / "results" / "smoke" for folder in (smoke_run, second)]
    files = [{str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()} for run in runs]
    assert files[0] == files[1], f"only in one run: {sorted(files[0] ^ files[1])}"
    compared, different = [], []
    for relative in sorted(files[0]):
        if _may_differ(relative):
            continue
        a, b = ((run / relative).read_bytes() for run in runs)
        timing = next((keys for pattern, keys in RERUN_TIMING_KEYS.items() if fnmatch(relative, pattern)), None)
        if timing is not None:
            a, b = ({k: v for k, v in json.loads(x).items() if k not in timing} for x in (a, b))
        if relative == "paper/generated/numbers.tex":  # less its macros of measured run time
            a, b = ([ln for ln in x.decode().splitlines() if not TIMED_NUMBER.match(ln)] for x in (a, b))
        compared.append(relative)
        if a != b:
            different.append(relative)
    assert not different, f"differ between two runs with the same seeds: {different}"
    # The comparison covered every kind of table the paper is built from.
    for kind in (".csv", ".parquet", ".npy", ".pgn", ".tex", ".json", ".png", ".pt"):
        assert any(name.endswith(kind) for name in compared), kind
    assert {"claims.csv", "paper/generated/numbers.tex", "evaluation/metrics.csv", "ladder/games.pgn"} <= set(compared)


def test_html_report(repo, smoke_run):
    snakemake(repo, smoke_run, "--configfile", str(repo / "config" / "smoke.yaml"), "--report", "report.html")
    html = (smoke_run / "report.html").read_text(errors="replace")
    assert "population.png" in html and "claims.csv" in html


def test_rerun_does_nothing(repo, smoke_run):
    result = snakemake(repo, smoke_run, "--configfile", str(repo / "config" / "smoke.yaml"), "-n")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_config_edit_reruns_only_the_stages_it_touches(repo, smoke_run, tmp_path):
    config = yaml.safe_load((repo / "config" / "smoke.yaml").read_text())
    config["simulator"]["steps"] += 10
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(repo, smoke_run, "--configfile", str(path), "-n")
    planned = {
        line.split()[1].rstrip(":") for line in result.stdout.splitlines() if line.startswith(("rule ", "localrule "))
    }
    # the slices of the config that hold simulator.steps are rewritten, and no other
    rewritten = set(re.findall(r"output: results/smoke/config/(\w+)\.yaml", result.stdout))
    assert rewritten == {"train_simulator", "az", "paper", "resolved"}, rewritten
    # metrics reads the model; the checks read the metrics; every agent starts from the model; the
    # claims, figures and paper read them all
    assert planned == {
        "stage_config",
        "resolved_config",
        "train_simulator",
        "metrics",
        "simulator_checks",
        "rlft",
        "rlft_summary",
        "az",
        "ladder",
        "agent_metrics",
        "claims",
        "figure",
        "paper",
        "all",
    }, result.stdout[-2000:]
    # Put the original config back for the other tests sharing this run.
    snakemake(repo, smoke_run, "--configfile", str(repo / "config" / "smoke.yaml"), "-n")


def test_invalid_config_stops_before_any_rule(repo, tmp_path):
    bad = yaml.safe_load((repo / "config" / "smoke.yaml").read_text())
    bad["data"]["synthetic"]["games"] = "forty"
    bad["data"]["surprise"] = True
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = snakemake(repo, tmp_path, "--configfile", str(path), check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "'data.synthetic.games' must be an integer, got 'forty'" in output
    assert "unknown key 'surprise' under 'data'" in output
    assert not (tmp_path / "results").exists()


def test_default_config_plans_the_data_rules(repo, tmp_path):
    result = snakemake(repo, tmp_path, "--configfile", str(repo / "config" / "default.yaml"), "-n")
    for rule in (
        "synthetic_games",
        "games_table",
        "positions",
        "data_summary",
        "train_simulator",
        "eval_positions",
        "action_values",
        "rlft",
        "az",
        "ladder",
    ):
        assert f"rule {rule}:" in result.stdout, rule


def test_lichess_config_plans_the_paper_at_its_scale(repo, tmp_path):
    """The paper-scale config's dry run: its months, its three simulator seeds, a learner per
    (beta, seed), the AlphaZero-style agent from scratch, and every stage through the paper."""
    from simagents.config import load_config

    config = load_config(repo / "config" / "lichess.yaml")
    assert config.simulator.arch == "resnet" and len(config.simulator.seeds) == 3
    assert config.data.filters.rated_only and config.data.filters.exclude_bots and config.az.init == "scratch"
    assert len(config.rlft.betas) >= 3  # a frontier
    result = snakemake(repo, tmp_path, "--configfile", str(repo / "config" / "lichess.yaml"), "-n")
    planned = [
        line.split()[1].rstrip(":") for line in result.stdout.splitlines() if line.startswith(("rule ", "localrule "))
    ]
    assert planned.count("download_lichess") == len(config.data.lichess.months) == 3
    assert planned.count("train_simulator") == 3
    assert planned.count("rlft") == len(config.rlft.betas) * len(config.rlft.seeds) == 12
    assert {
        "games_table",
        "positions",
        "action_values",
        "metrics",
        "az",
        "ladder",
        "agent_metrics",
        "claims",
        "paper",
    } <= set(planned)
    assert "synthetic_games" not in planned


def test_pgn_source_through_the_workflow(repo, tmp_path):
    pgn = tmp_path / "mine.pgn"
    pgn.write_text(
        '[Event "Rated Blitz game"]\n[White "a"]\n[Black "b"]\n[Result "1-0"]\n[WhiteElo "1500"]\n'
        '[BlackElo "?"]\n\n1. e4 e5 2. Bc4 Nc6 3. Qh5 Nf6 4. Qxf7# 1-0\n\n'
        '[Event "x"]\n[Result "0-1"]\n\n1. e4 e5 2. Ke3 0-1\n\n'
        "not a game at all\n\n"
        '[Event "y"]\n[White "c"]\n[Black "d"]\n[Result "1/2-1/2"]\n[WhiteElo "2200"]\n[BlackElo "900"]\n\n'
        "1. d4 d5 2. c4 e6 1/2-1/2\n"
    )
    config = yaml.safe_load((repo / "config" / "smoke.yaml").read_text())
    config["run_name"] = "mine"
    config["data"] = {"source": "pgn", "pgn": {"paths": [str(pgn)]}, "rating_band_edges": [1000, 2000]}
    config["positions"] = {"skip_plies": 0, "split": {"train": 0.5, "val": 0.0, "test": 0.5}}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake(repo, tmp_path, "--configfile", str(path), "--until", "data_summary")
    summary = json.loads((tmp_path / "results" / "mine" / "data" / "summary.json").read_text())
    assert summary["games_read"] == 4 and summary["games_kept"] == 2
    assert summary["dropped_by_reason"] == {"illegal_move": 1, "text_outside_game": 1}
    assert set(summary["games_by_prompt"]) == {"r1000-1999", "unknown", "r>=2000", "r<1000"}
    meta = json.loads((tmp_path / "results" / "mine" / "positions" / "meta.json").read_text())
    assert sum(meta["splits"][s]["positions"] for s in SPLITS) == 7 + 4
    assert np.isin(
        load_split(tmp_path / "results" / "mine" / "positions", "test")["own_prompt"], list(meta["vocabulary"].values())
    ).all()


def test_human_data_config_runs_through_the_paper(repo, tmp_path):
    """config/pgn-smoke.yaml, a researcher's collection (tests/pgn_fixtures.py: missing ratings,
    copies under other tags, comments, CRLF, a cut-off .zst kept by the config), through every
    stage to the PDF, each job in a shadow folder of its declared inputs. The data summary counts
    the copies and records the cut; the simulator checks reach verdicts (the unrated players are
    the prompt "unknown"); the ledger marks the claims that need the synthetic truth "not testable
    on human data" and decides the others."""
    import pandas as pd

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data").symlink_to(repo / "tests" / "data")  # the config's relative paths
    snakemake(repo, tmp_path, "--configfile", str(repo / "config" / "pgn-smoke.yaml"), shadow=True)
    run = tmp_path / "results" / "pgn-smoke"
    summary = json.loads((run / "data" / "summary.json").read_text())
    assert summary["source"] == "pgn" and summary["dropped_by_reason"]["duplicate_game"] >= 4
    assert [e["file"] for e in summary["input_ended_early"]] == ["tests/data/collection-cut.pgn.zst"]
    assert "unknown" in summary["games_by_prompt"] and len(summary["games_by_prompt"]) == 4
    assert "Input ended early" in (run / "data" / "summary.md").read_text()
    assert not (run / "evaluation" / "truth.parquet").exists()  # no truth for human games
    checks = pd.read_csv(run / "evaluation" / "checks.csv")
    prompt_checks = checks[checks.check.str.contains("true|shuffled")]
    assert len(prompt_checks) and prompt_checks.verdict.isin(["holds", "fails"]).all(), prompt_checks
    claims = pd.read_csv(run / "claims.csv")
    truth_sources = claims.source.isin(["truth_metrics", "exact_frontier"])
    assert truth_sources.any() and (claims[truth_sources].verdict == "not testable on human data").all()
    decided = claims[claims.valid == "yes"]
    assert len(decided) and decided.verdict.isin(["supported", "not supported"]).all()
    assert (run / "paper" / "paper.pdf").read_bytes().startswith(b"%PDF")
    assert "not testable on human data" in (run / "paper" / "generated" / "claims_table.tex").read_text()


def _lichess_game(
    site: str, event: str, tc: str, white_elo: str, black_elo: str, moves: str, result: str, white_title: str = ""
) -> str:
    title = f'[WhiteTitle "{white_title}"]\n' if white_title else ""
    return (
        f'[Event "{event}"]\n[Site "https://lichess.org/{site}"]\n[White "w{site}"]\n[Black "b{site}"]\n'
        f'[Result "{result}"]\n[WhiteElo "{white_elo}"]\n[BlackElo "{black_elo}"]\n{title}'
        f'[TimeControl "{tc}"]\n[Termination "Normal"]\n\n{moves} {result}\n\n'
    )


LONG = "1. e4 { [%clk 0:05:00] } e5 2. Nf3 Nc6 3. Bb5 a6 4. Ba4 Nf6 5. O-O Be7 6. Re1 b5 7. Bb3 d6 8. c3 O-O"


@pytest.fixture
def lichess_server(tmp_path):
    """A loopback HTTP server holding one month's dump and its sha256sums.txt."""
    import hashlib
    import http.server
    import threading
    from functools import partial

    import zstandard

    served = tmp_path / "served"
    served.mkdir()
    games = "".join(
        [
            _lichess_game("kept0001", "Rated Blitz game", "300+0", "1450", "1520", LONG, "1-0"),
            _lichess_game("kept0002", "Rated Rapid game", "600+5", "2250", "2190", LONG, "1/2-1/2"),
            _lichess_game("casual01", "Casual Blitz game", "300+0", "1450", "1520", LONG, "0-1"),
            _lichess_game("bullet01", "Rated Bullet game", "60+0", "1450", "1520", LONG, "1-0"),
            _lichess_game("botgame1", "Rated Blitz game", "300+0", "1450", "1520", LONG, "1-0", white_title="BOT"),
            _lichess_game("norating", "Rated Blitz game", "300+0", "?", "1520", LONG, "1-0"),
            _lichess_game("tooshort", "Rated Blitz game", "300+0", "1450", "1520", "1. e4 e5", "1-0"),
        ]
    )
    name = "lichess_db_standard_rated_2013-01.pgn.zst"
    data = zstandard.ZstdCompressor().compress(games.encode())
    (served / name).write_bytes(data)
    (served / "sha256sums.txt").write_text(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_lichess_source_through_the_workflow(repo, tmp_path, lichess_server):
    config = yaml.safe_load((repo / "config" / "lichess.yaml").read_text())
    config["data"]["lichess"].update(
        {
            "months": ["2013-01"],
            "url_template": lichess_server + "/lichess_db_standard_rated_{month}.pgn.zst",
            "checksums_url": lichess_server + "/sha256sums.txt",
            "max_games_scanned": None,
        }
    )
    config["data"]["balance_per_band"] = None
    config["data"]["filters"]["min_plies"] = 10  # the test games have 16 plies
    config["resources_dir"] = str(tmp_path / "resources")
    config["positions"] = {"skip_plies": 0, "split": {"train": 0.5, "val": 0.0, "test": 0.5}}
    path = tmp_path / "lichess.yaml"
    path.write_text(yaml.safe_dump(config))
    # The data stage only: the lichess config's simulator is a GPU-scale residual net.
    snakemake(repo, tmp_path, "--configfile", str(path), "--until", "data_summary")
    assert (tmp_path / "resources" / "lichess" / "lichess_db_standard_rated_2013-01.pgn.zst").exists()
    summary = json.loads((tmp_path / "results" / "lichess" / "data" / "summary.json").read_text())
    assert summary["games_read"] == 7 and summary["games_kept"] == 2
    assert summary["dropped_by_reason"] == {
        "unrated": 1,
        "time_control": 1,
        "bot": 1,
        "missing_rating": 1,
        "too_few_plies": 1,
    }
    assert set(summary["games_by_prompt"]) == {"r1300-1499", "r1500-1699", "r>=2100"}
    games = __import__("pyarrow.parquet", fromlist=["x"]).read_table(
        tmp_path / "results" / "lichess" / "data" / "games.parquet"
    )
    assert sorted(games.column("game_id").to_pylist()) == ["kept0001", "kept0002"]
