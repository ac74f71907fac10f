"""`make verify`: rerun the workflow into a scratch folder and compare its claims with the committed ones.

    python tools/verify.py [--config config/default.yaml] [--scratch DIR] [--cores 2] [--keep]

The committed run's config is rerun with ``results_dir`` pointed at a scratch folder (and no PDF
published), so nothing committed is touched. Then, test by test, the regenerated claims table
must give every claim the same verdict as the committed one, and each regenerated measurement
must agree with the committed one within their intervals (see `compare_claims`).
Prints the comparison and exits 1 on any mismatch, 0 when everything agrees. The comparison and
the rerun's wall time (the whole workflow from nothing, as `make reproduce` on a new machine
after its set-up) are also written beside the committed claims, as ``verify.md`` and
``verify.json``; the README quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

from simagents.report.claims import compare_claims

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "config" / "default.yaml")
    parser.add_argument("--scratch", type=Path, default=None, help="where to rerun (default: a new temporary folder)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder afterwards")
    args = parser.parse_args(argv)
    config = yaml.safe_load(args.config.read_text())
    committed_path = REPO / config.get("results_dir", "results") / config["run_name"] / "claims.csv"
    if not committed_path.exists():
        print(f"error: no committed claims at {committed_path}; run `make reproduce` first", file=sys.stderr)
        return 2
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="simagents-verify-"))
    scratch.mkdir(parents=True, exist_ok=True)
    config["results_dir"] = str(scratch / "results")
    config.setdefault("paper", {})["publish"] = None
    rerun_config = scratch / "config.yaml"
    rerun_config.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"Rerunning {args.config} into {scratch} (committed claims: {committed_path})", flush=True)
    command = [
        sys.executable,
        "-m",
        "simagents",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(scratch),
        "--cores",
        str(args.cores),
        "--configfile",
        str(rerun_config),
        "--rerun-incomplete",
    ]
    started = time.perf_counter()
    result = subprocess.run(command, check=False)  # its exit code is reported below
    wall = time.perf_counter() - started
    if result.returncode != 0:
        print(f"error: the rerun failed (snakemake exit {result.returncode})", file=sys.stderr)
        return 1
    regenerated = pd.read_csv(scratch / "results" / config["run_name"] / "claims.csv")
    lines, ok = compare_claims(pd.read_csv(committed_path), regenerated)
    print("\n".join(lines))
    verdict = (
        "the regenerated claims agree with the committed ones"
        if ok
        else "MISMATCH between the regenerated and the committed claims"
    )
    print(f"\nverify: {verdict} (the rerun took {wall / 60:.1f} minutes on {args.cores} cores)")
    record = {
        "agree": ok,
        "wall_seconds": round(wall, 1),
        "cores": args.cores,
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "config": str(args.config.resolve().relative_to(REPO))
        if args.config.resolve().is_relative_to(REPO)
        else str(args.config),
        "finished": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (committed_path.parent / "verify.json").write_text(json.dumps(record, indent=2) + "\n")
    (committed_path.parent / "verify.md").write_text(
        f"`make verify`: {verdict}. The rerun of `{record['config']}` from nothing took "
        f"{wall / 60:.1f} minutes on {args.cores} cores ({record['machine']}, {record['finished']}).\n\n"
        + "\n".join(lines)
        + "\n"
    )
    if not args.keep and args.scratch is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
