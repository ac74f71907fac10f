# The two commands of the artifact:
#   make reproduce   set up, then run the whole workflow on config/default.yaml
#   make test        set up, then run the test suite (which runs the workflow on config/smoke.yaml)
# and, for the Slurm profile, `make test-slurm` (a one-node Slurm cluster on this machine).
# Set-up is the same for both and idempotent: a virtual environment in .venv with the pinned
# Python dependencies, and Stockfish and a small TeX Live from the OS package manager when missing.

PYTHON ?= python3
VENV ?= .venv
CORES ?= all
CONFIG ?= config/default.yaml
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SLURM_STAMP := $(VENV)/.installed-slurm

.PHONY: reproduce test test-slurm setup system-deps bench bench-gpu dry-run lint docs verify report help

help:
	@echo "make reproduce  - set up and run the workflow on $(CONFIG) (CORES=$(CORES))"
	@echo "make test       - set up and run the tests (includes the smoke workflow)"
	@echo "make test-slurm - the smoke workflow through Slurm (a one-node cluster started here), checked against a local run"
	@echo "make verify     - rerun CONFIG into a scratch folder; compare its claims with the committed ones"
	@echo "make report     - Snakemake's HTML report of the CONFIG run (results/<run>/report.html)"
	@echo "make bench      - ingestion, simulator, game-runner and device benchmarks, written to results/bench/"
	@echo "make bench-gpu  - one simulator epoch and batched self-play on DEVICE (auto: the GPU if any)"
	@echo "make dry-run    - plan the workflow on CONFIG without running it"
	@echo "make lint       - the quality gates: ruff check and format, mypy --strict, snakefmt, snakemake --lint"
	@echo "make docs       - regenerate the generated parts of README.md and docs/ (results, config reference)"

setup: $(STAMP) system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

system-deps:
	@bash tools/install_system_deps.sh

# `simagents snakemake` is Snakemake with the environment's bin folder first on PATH (jobs call
# the `simagents` installed beside it), after removing a stale lock a killed run left behind.
reproduce: setup
	$(BIN)/simagents snakemake --cores $(CORES) --configfile $(CONFIG) --printshellcmds --rerun-incomplete

test: setup
	$(BIN)/python -m pytest

# The Slurm executor plugin (the `slurm` extra), the Debian packages of Slurm, slurmdbd, MUNGE and
# MariaDB, then a private one-node cluster on loopback for the length of the check, which runs
# config/smoke.yaml through workflow/profiles/slurm and compares it with a local run.
$(SLURM_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,slurm]'
	touch $(SLURM_STAMP)

test-slurm: setup $(SLURM_STAMP)
	@bash tools/slurm/install.sh
	bash tools/slurm/cluster.sh run $(BIN)/python tools/slurm/check_workflow.py

verify: setup
	$(BIN)/python tools/verify.py --config $(CONFIG) --cores $(if $(filter all,$(CORES)),$(shell nproc),$(CORES))

# The run's folder is results/<run_name>; the shipped configs name their run after the file.
REPORT ?= results/$(basename $(notdir $(CONFIG)))/report.html
report: setup
	$(BIN)/snakemake --configfile $(CONFIG) --report $(REPORT)

bench: setup
	$(BIN)/python benchmarks/ingest.py --out results/bench/ingest.md
	$(BIN)/python benchmarks/simulator.py --out results/bench/simulator.md
	$(BIN)/python benchmarks/games.py --out results/bench/games.md
	$(MAKE) bench-gpu

# One simulator training epoch and batched self-play on DEVICE (auto: CUDA, then MPS, then the
# CPU), written to results/bench/device-<cuda|mps|cpu>.md with the device named.
DEVICE ?= auto
bench-gpu: setup
	$(BIN)/python benchmarks/gpu.py --device $(DEVICE)

dry-run: setup
	$(BIN)/snakemake -n --cores $(CORES) --configfile $(CONFIG)

# The gates .ci/run enforces; each fails on any finding.
lint: setup
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/ruff format --check src tests tools benchmarks
	$(BIN)/mypy
	$(BIN)/snakefmt --check Snakefile workflow/rules
	for config in config/smoke.yaml config/pgn-smoke.yaml config/default.yaml config/lichess.yaml; do \
	  $(BIN)/snakemake --lint --configfile $$config || exit 1; done

# The generated parts of README.md and docs/ (results tables, the config reference, the Slurm
# table); the tests fail when they are out of date.
docs: setup
	$(BIN)/python tools/update_docs.py
