"""`make test-slurm`: the smoke workflow through the Slurm executor, checked against a local run.

    bash tools/slurm/cluster.sh run python tools/slurm/check_workflow.py [--config config/smoke.yaml]
        [--scratch DIR] [--keep]

Needs a Slurm cluster with job accounting (`tools/slurm/cluster.sh` starts a one-node one) and
SLURM_CONF pointing at it. Then, in a scratch folder:

1. the Slurm profile (`workflow/profiles/slurm`) fitted to the cluster's one node: the same rules
   and keys, thread counts and memory capped at what the node has, no GPU requests (the profile
   is sized for a real cluster; the node has no GPU);
2. the config run through that profile (`--executor slurm`), with the cluster's account and
   partition given as the README says (`--default-resources slurm_account=... slurm_partition=...`,
   which replaces the profile's default resources), into `slurm/`, and, side by side with it,
   the same config run locally (`--cores` = the node's CPUs, the same threads per rule) into
   `local/`;
3. every job Snakemake submitted must be in `sacct` as COMPLETED with exit code 0, and they must
   be exactly the jobs the dry run planned outside the local rules, rule by rule (read from the
   jobs' comments, which the plugin sets to the rule and wildcards);
4. every output of the two runs must be byte-identical, apart from what records how long things
   took: the files of EXCLUDED, the lines of TIMED_LINES and the JSON fields of TIMED_FIELDS
   (below, each with its reason).

Prints a summary and exits 0 when everything holds, 1 otherwise (the scratch folder is then kept
for a look at the logs).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from simagents.report.latex import TIMED_NUMBER

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"

# Outputs that differ between any two runs, because they record time or are built from records of
# time (paths relative to results/<run>/, shell patterns). Everything else must be byte-identical.
EXCLUDED = {
    "benchmarks/*": "each rule's wall time and memory, measured",
    "logs/*": "the rules' logs: progress bars, timings and dates",
    "paper/paper.pdf": "pdfTeX writes the build time into the PDF (its dates, and the document ID made from them)",
    "paper/*.aux": "latexmk's build files of the PDF, logs with dates among them",
    "paper/*.log": "latexmk's build files of the PDF, logs with dates among them",
    "paper/*.fls": "latexmk's build files of the PDF, logs with dates among them",
    "paper/*.fdb_latexmk": "latexmk's build files of the PDF, logs with dates among them",
    "paper/*.out": "latexmk's build files of the PDF, logs with dates among them",
    "paper/*.bbl": "latexmk's build files of the PDF, logs with dates among them",
    "paper/*.blg": "latexmk's build files of the PDF, logs with dates among them",
    "paper/generated/runtime_table.tex": "the paper's table of the rules' measured run times",
}
# Lines of text outputs that quote a measured time: file -> (pattern of such a line, reason).
TIMED_LINES = {
    "paper/generated/numbers.tex": (
        TIMED_NUMBER,  # the one definition, which the paper's fingerprint leaves out too
        "the paper's macro of the rules' total run time",
    ),
}
# Fields of the JSON summaries that are measured times or speeds (at any depth), with the reason.
TIMED_FIELDS = {
    "seconds_this_call": "wall time of an RL or self-play training call",
    "positions_per_second": "the simulator's training speed",
    "data_loading_share": "the share of the simulator's training time spent loading data",
}

SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")
JOB = re.compile(r"^(?:local)?rule (\w+):", re.MULTILINE)  # a job's block in Snakemake's output
RULE = re.compile(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", re.MULTILINE)  # a rule in a workflow/rules/*.smk file


@dataclass(frozen=True)
class Node:
    name: str
    cpus: int
    memory_mb: int
    partition: str
    account: str | None


def run(command: list[str], check: bool = False, **kwargs) -> subprocess.CompletedProcess:
    """``command``'s result; callers that need it to succeed pass ``check=True``."""
    return subprocess.run(command, capture_output=True, text=True, check=check, **kwargs)


def the_node() -> Node:
    """The cluster's (first) node, its default partition and this user's default account."""
    if "SLURM_CONF" not in os.environ:
        raise SystemExit(
            "error: SLURM_CONF is not set; start a cluster with tools/slurm/cluster.sh "
            "(`cluster.sh run` sets it for the command it runs)"
        )
    nodes = run(["sinfo", "-h", "-N", "-o", "%N|%c|%m|%t|%P"], check=True).stdout.split()
    if not nodes:
        raise SystemExit("error: sinfo shows no node")
    name, cpus, memory, state, partition = nodes[0].split("|")
    if state != "idle":
        raise SystemExit(f"error: node {name} is {state!r}, expected 'idle'")
    user = run(["id", "-un"], check=True).stdout.strip()
    accounts = run(["sacctmgr", "-n", "-P", "show", "user", user, "format=defaultaccount"]).stdout.split()
    return Node(name, int(cpus), int(memory), partition.rstrip("*"), accounts[0] if accounts else None)


def fitted_profile(profile: dict, node: Node) -> tuple[dict, list[str]]:
    """The profile with every request capped to what ``node`` has, and a line per change.

    Threads at most the node's CPUs; memory at most the node's memory per CPU times the job's
    threads (so that jobs of one CPU run side by side, as on the cluster); no GPUs (the node has
    none). Runtimes and everything else stay as they are.
    """
    fitted = json.loads(json.dumps(profile))  # a deep copy
    changes = []
    threads = fitted.setdefault("set-threads", {})
    for rule, count in threads.items():
        if count > node.cpus:
            threads[rule] = node.cpus
            changes.append(f"{rule}: threads {count} -> {node.cpus}")
    per_cpu = node.memory_mb // node.cpus
    for rule, resources in fitted.setdefault("set-resources", {}).items():
        cap = per_cpu * threads.get(rule, 1)
        if resources.get("mem_mb", 0) > cap:
            changes.append(f"{rule}: mem_mb {resources['mem_mb']} -> {cap}")
            resources["mem_mb"] = cap
        if "gpu" in resources:
            changes.append(f"{rule}: gpu {resources.pop('gpu')} -> none (the test node has no GPU)")
    fitted["cores"] = node.cpus
    # The plugin's first status check waits 40 s by default (for a busy slurmdbd); this one
    # answers at once, and a smoke job takes seconds.
    fitted["slurm-init-seconds-before-status-checks"] = 1
    fitted["seconds-between-status-checks"] = 2
    return fitted, changes


def snakemake_command(workdir: Path, config: Path, *args: str) -> list[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
        "-m",
        "simagents",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        *args,
    ]


@dataclass
class Run:
    """A Snakemake run in the background, its output going to ``<workdir>.log``."""

    label: str
    workdir: Path
    process: subprocess.Popen
    started: float
    wall: float = 0.0

    @classmethod
    def start(cls, label: str, workdir: Path, command: list[str]) -> Run:
        log = workdir.parent / f"{workdir.name}.log"
        with log.open("w") as handle:
            process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, text=True)
        return cls(label, workdir, process, time.perf_counter())

    @property
    def log(self) -> Path:
        return self.workdir.parent / f"{self.workdir.name}.log"

    def poll(self) -> int | None:
        """The exit code once the run has ended (its wall time then set), else None."""
        code = self.process.poll()
        if code is not None and not self.wall:
            self.wall = time.perf_counter() - self.started
        return code


def wait_for_all(runs: list[Run], timeout: float = 1800) -> dict[str, int]:
    """Wait until every run has ended; a run still going after ``timeout`` seconds is stopped."""
    deadline = time.perf_counter() + timeout
    while [each.poll() for each in runs].count(None):  # every run polled, so each one's wall time is its own
        if time.perf_counter() > deadline:
            for each in runs:
                if each.poll() is None:
                    print(f"FAIL: the {each.label} took more than {timeout:.0f} s and is stopped", flush=True)
                    each.process.terminate()  # Snakemake cancels its Slurm jobs on SIGTERM
                    each.process.wait(timeout=120)
                    each.poll()
            break
        time.sleep(0.5)
    return {each.label: each.process.returncode for each in runs}


def fail(message: str, result: subprocess.CompletedProcess | None = None) -> None:
    print(f"FAIL: {message}", flush=True)
    if result is not None:
        print((result.stdout + result.stderr)[-4000:], flush=True)


def sacct_states(job_ids: list[str], tries: int = 30) -> dict[str, tuple[str, str, str, str]]:
    """JobID -> (state, exit code, elapsed, comment) from sacct, waiting for slurmdbd to catch up."""
    rows: dict[str, tuple[str, str, str, str]] = {}
    for _ in range(tries):
        out = run(
            ["sacct", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o", "JobIDRaw,State,ExitCode,Elapsed,Comment"],
            check=True,
        ).stdout
        rows = {fields[0]: tuple(fields[1:5]) for fields in (line.split("|") for line in out.splitlines()) if fields}
        if set(job_ids) <= set(rows) and all(rows[j][0] not in {"PENDING", "RUNNING"} for j in job_ids):
            break
        time.sleep(1)
    return rows


def local_rules() -> set[str]:
    """Rules Snakemake runs itself, never submitted: those marked `localrule: True`, and `all`
    (a target with no command)."""
    found = {"all"}
    for path in (REPO / "workflow" / "rules").glob("*.smk"):
        found |= {name for name, body in RULE.findall(path.read_text()) if "localrule: True" in body}
    return found


def strip_timings(value):
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if k not in TIMED_FIELDS}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


def excluded(relative: str) -> str | None:
    for pattern, reason in EXCLUDED.items():
        if fnmatch.fnmatch(relative, pattern):
            return reason
    return None


def compare_outputs(slurm: Path, local: Path) -> tuple[list[str], Counter, Counter, Counter]:
    """Differences between two run folders; files compared, by suffix; files not compared, by
    reason; and of those, the ones that do differ, by reason."""
    problems: list[str] = []
    compared: Counter = Counter()
    skipped: Counter = Counter()
    skipped_differing: Counter = Counter()
    files = {p.relative_to(slurm).as_posix() for p in slurm.rglob("*") if p.is_file()}
    others = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    for relative in sorted(files | others):
        reason = excluded(relative)
        if reason:
            differs = (
                relative not in files
                or relative not in others
                or (slurm / relative).read_bytes() != (local / relative).read_bytes()
            )
            skipped[reason] += 1
            skipped_differing[reason] += differs
            continue
        if relative not in files or relative not in others:
            problems.append(f"{relative}: only in the {'local' if relative in others else 'Slurm'} run")
            continue
        a, b = (slurm / relative).read_bytes(), (local / relative).read_bytes()
        suffix = "".join(Path(relative).suffixes[-1:]) or "(none)"
        if relative.endswith(".json"):
            same = strip_timings(json.loads(a)) == strip_timings(json.loads(b))
            suffix = ".json (timing fields removed)"
        elif relative in TIMED_LINES:
            timed = TIMED_LINES[relative][0]
            same = [line for line in a.decode().splitlines() if not timed.search(line)] == [
                line for line in b.decode().splitlines() if not timed.search(line)
            ]
            suffix += " (timing lines removed)"
        else:
            same = a == b
        compared[suffix] += 1
        if not same:
            problems.append(f"{relative}: differs ({len(a)} bytes in the Slurm run, {len(b)} locally)")
    return problems, compared, skipped, skipped_differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "config" / "smoke.yaml")
    parser.add_argument("--scratch", type=Path, default=None, help="where to run (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder afterwards")
    args = parser.parse_args(argv)
    run_name = yaml.safe_load(args.config.read_text())["run_name"]
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="simagents-slurm-check-"))
    scratch.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    ok = True

    node = the_node()
    print(
        f"Slurm node {node.name}: {node.cpus} CPUs, {node.memory_mb} MB, partition {node.partition}, "
        f"account {node.account}; scratch {scratch}",
        flush=True,
    )
    profile, changes = fitted_profile(yaml.safe_load(PROFILE.read_text()), node)
    (scratch / "profile").mkdir(exist_ok=True)
    (scratch / "profile" / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    print(f"Profile {PROFILE.relative_to(REPO)} fitted to the node ({len(changes)} requests capped):", flush=True)
    for change in changes:
        print(f"  {change}")
    slurm_dir, local_dir = scratch / "slurm", scratch / "local"
    use_profile = ["--profile", str(scratch / "profile"), "--default-resources", f"slurm_partition={node.partition}"]
    if node.account:
        use_profile.append(f"slurm_account={node.account}")

    plan = run(snakemake_command(slurm_dir, args.config, *use_profile, "--dry-run"), timeout=600)
    if plan.returncode != 0:
        fail("the dry run through the Slurm profile failed", plan)
        return 1
    planned = Counter(JOB.findall(plan.stdout))
    local = local_rules()
    to_submit = Counter({rule: n for rule, n in planned.items() if rule not in local})
    print(
        f"Planned: {planned.total()} jobs, {to_submit.total()} to submit to Slurm, "
        f"{planned.total() - to_submit.total()} of the local rules ({', '.join(sorted(local & set(planned)))})",
        flush=True,
    )

    # The two runs side by side: the Slurm run spends most of its time waiting (job start-up,
    # status polls), which the local run fills. Their outputs do not depend on it (jobs see the
    # same threads either way); only their wall times do.
    threads = [f"{rule}={count}" for rule, count in profile["set-threads"].items()]
    print(
        f"Running the workflow through Slurm into {slurm_dir}, and locally (--cores {node.cpus}, the same "
        f"threads per rule) into {local_dir} ...",
        flush=True,
    )
    slurm_run = Run.start("Slurm run", slurm_dir, snakemake_command(slurm_dir, args.config, *use_profile))
    local_run = Run.start(
        "local run",
        local_dir,
        snakemake_command(local_dir, args.config, "--cores", str(node.cpus), "--set-threads", *threads),
    )
    codes = wait_for_all([slurm_run, local_run])
    for each in (slurm_run, local_run):
        code = codes[each.label]
        print(f"  {each.label}: exit {code} after {each.wall:.0f} s (log: {each.log})", flush=True)
        if code != 0:
            ok = False
            print("\n".join(each.log.read_text().splitlines()[-40:]))
    if not ok:
        fail("a run failed; see its log")
        return 1

    # Every submitted job COMPLETED in Slurm's accounting, and exactly the planned ones.
    output = slurm_run.log.read_text()
    submitted = dict(SUBMITTED.findall(output))  # Snakemake's job id -> Slurm's job id
    ran_here = Counter(rule for rule in re.findall(r"^localrule (\w+):", output, re.MULTILINE))
    slurm_ids = sorted(submitted.values(), key=int)
    states = sacct_states(slurm_ids) if slurm_ids else {}
    print(f"\nSlurm jobs: {len(submitted)} submitted, {len(states)} in sacct")
    print(f"  {'jobid':>6}  {'state':<10} {'exit':<5} {'elapsed':<9} comment (rule_<name>_wildcards_<values>)")
    by_rule: Counter = Counter()
    for job_id in slurm_ids:
        state, exit_code, elapsed, comment = states.get(job_id, ("MISSING", "-", "-", "-"))
        by_rule[comment.removeprefix("rule_").split("_wildcards_")[0]] += 1
        print(f"  {job_id:>6}  {state:<10} {exit_code:<5} {elapsed:<9} {comment}")
        if state != "COMPLETED" or exit_code != "0:0":
            ok = False
            fail(f"Slurm job {job_id} ({comment}) is {state} with exit code {exit_code}, not COMPLETED 0:0")
    if len(submitted) != to_submit.total():
        ok = False
        fail(f"{len(submitted)} jobs were submitted; the plan had {to_submit.total()} outside the local rules")
    if by_rule != to_submit:
        ok = False
        fail(f"the Slurm jobs' rules {dict(by_rule)} are not the planned ones {dict(to_submit)}")
    if set(ran_here) - local:
        ok = False
        fail(f"rules that should have gone to Slurm ran where Snakemake runs: {sorted(set(ran_here) - local)}")
    print(
        f"Run where Snakemake runs (local rules): {ran_here.total()} jobs "
        f"({', '.join(f'{rule} x{n}' for rule, n in sorted(ran_here.items()))})"
    )

    # The same outputs.
    problems, compared, skipped, skipped_differing = compare_outputs(
        slurm_dir / "results" / run_name, local_dir / "results" / run_name
    )
    print(
        f"\nOutputs under results/{run_name}/: {compared.total()} files compared "
        f"({', '.join(f'{n} {suffix}' for suffix, n in sorted(compared.items()))})"
    )
    print(f"Not compared: {skipped.total()} files that record time ({skipped_differing.total()} of them differ):")
    for reason, count in skipped.items():
        print(f"  {count:3d} files ({skipped_differing[reason]:2d} differ)  {reason}")
    print(
        "Compared without the lines and fields that record time: "
        + "; ".join(
            [f"{file}: {reason}" for file, (_, reason) in TIMED_LINES.items()]
            + [f"JSON '{field}': {reason}" for field, reason in TIMED_FIELDS.items()]
        )
    )
    for problem in problems:
        ok = False
        fail(problem)
    if not compared:
        ok = False
        fail("no output was compared")

    total = time.perf_counter() - started
    completed = sum(1 for state, exit_code, *_ in states.values() if (state, exit_code) == ("COMPLETED", "0:0"))
    print(
        f"\ntest-slurm: {'PASS' if ok else 'FAIL'}: {completed} of {to_submit.total()} planned Slurm jobs "
        f"COMPLETED in sacct; {compared.total()} outputs compared with the local run's, {len(problems)} differ; "
        f"Slurm run {slurm_run.wall:.0f} s, local run {local_run.wall:.0f} s (side by side), {total:.0f} s in all",
        flush=True,
    )
    if ok and not args.keep and args.scratch is None:
        shutil.rmtree(scratch, ignore_errors=True)
    elif not ok:
        print(f"(scratch folder kept: {scratch})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
