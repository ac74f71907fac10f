"""Faults lose nothing: each fault really injected, then the rerun or the message checked.

* the workflow killed with SIGKILL (the whole process group: Snakemake and its jobs, as a crash
  or an OOM kill of the session would) while synthetic games, action values, simulator training,
  RL fine-tuning and the ladder are running (each stopped at its pause point part-way, so the
  kill cannot miss it: simagents.faults); the rerun, the command `make reproduce` runs, removes
  the stale lock, completes, redoes no finished job and ends with the same tables, byte for byte,
  as the uninterrupted run;
* a full disk and a read-only output folder (a real tmpfs, mounted in a private mount namespace)
  stop a stage with one line naming the path, and leave no file under its final name;
* a truncated checkpoint and a config key from an older version stop with what to do.

Stockfish killed mid-evaluation is in test_action_values.py and test_stockfish_persona.py, a
missing Stockfish in test_stockfish.py, cut and corrupt downloads in test_lichess_download.py.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from simagents.cli import main

SMOKE = Path(__file__).resolve().parents[1] / "config" / "smoke.yaml"
LINUX = sys.platform.startswith("linux")


# --- kill -9 of the workflow -------------------------------------------------------------------


def _reproduce(repo: Path, workdir: Path) -> list[str]:
    """The command `make reproduce` runs (Makefile), on the smoke config in ``workdir``."""
    return [
        sys.executable,
        "-m",
        "simagents",
        "snakemake",
        "--snakefile",
        str(repo / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "--configfile",
        str(SMOKE),
        "--printshellcmds",
        "--rerun-incomplete",
    ]


def _session(sid: int) -> dict[int, tuple[int, str, str, str]]:
    """The live processes of session ``sid``: pid -> (parent pid, name, state, command line)."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            # "pid (name) state ppid pgrp session ...": the name may hold spaces and parentheses
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) != sid or fields[0] == "Z":
                continue
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        out[int(entry.name)] = (int(fields[1]), name, fields[0], cmdline)
    return out


# Each long stage stops itself at its pause point (simagents.faults) once it has done some of its
# work and left it on disk, when the point is named in SIMAGENTS_PAUSE_AT: the test finds it
# stopped and kills the run there. No race: a stopped stage cannot finish between two looks.
PAUSED_STAGES = {  # pause point -> the simagents subcommand that reaches it
    "synthetic_games": "synthetic",
    "action_values": "action-values",
    "train_simulator": "train",
    "rlft": "rlft",
    "ladder": "ladder",
}

# What the rerun of a stage killed part-way does: resume (its log says from where) or start over.
RESUMED = {
    # whichever seed reached its pause point first (the seeds train side by side) resumes
    "train_simulator": ("train_simulator_seed*.log", r"resumed from \S+last\.pt at step ([1-9]\d*)"),
    "action_values": ("action_values.log", r"resuming: ([1-9]\d*) of \d+ chunks"),
    "rlft": ("rlft_*.log", r"resumed from \S+last\.pt at iteration ([1-9]\d*)"),
}

# The final outputs compared byte for byte: every table (timings live in logs, benchmarks/*.tsv,
# *.json seconds fields and the paper, which are left out).
TABLES = (".csv", ".parquet", ".npy", ".pgn")


def _paused_stage(sid: int) -> str | None:
    """The pause point a stopped process of session ``sid`` is at, if any."""
    for _, _, state, cmdline in _session(sid).values():
        if state == "T":
            words = cmdline.split()
            for stage, command in PAUSED_STAGES.items():
                if command in words and any(w.endswith("simagents") for w in words):
                    return stage
    return None


@dataclass
class Jobs:
    """The jobs of one Snakemake run, from its log: started (rule, outputs) and finished."""

    started: dict[str, tuple[str, str]] = field(default_factory=dict)  # jobid -> (rule, outputs)
    finished: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str) -> Jobs:
        jobs = cls()
        for match in re.finditer(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", text, re.MULTILINE):
            outputs = re.search(r"^    output: (.*)$", match.group(2), re.MULTILINE)
            jobid = re.search(r"^    jobid: (\d+)$", match.group(2), re.MULTILINE)
            if jobid:
                jobs.started[jobid.group(1)] = (match.group(1), outputs.group(1) if outputs else "")
        jobs.finished = set(re.findall(r"^Finished jobid: (\d+)", text, re.MULTILINE)) & set(jobs.started)
        return jobs

    def finished_outputs(self) -> list[str]:
        return [path for jobid in self.finished for path in self.started[jobid][1].split(", ") if path]


def _run_until_paused(command: list[str], log: Path, pending: set[str], timeout: float = 400) -> str | None:
    """Run ``command`` with the ``pending`` pause points armed; SIGKILL its whole process group as
    soon as a stage stops at one. Returns that stage, or None when the run ended by itself."""
    env = {**os.environ, "SIMAGENTS_PAUSE_AT": ",".join(sorted(pending))}
    env.pop("SIMAGENTS_SHADOW", None)
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None:
            stage = _paused_stage(process.pid)
            if stage is not None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                for _ in range(500):  # the jobs and their engines, reparented, die a moment later
                    if not _session(process.pid):
                        break
                    time.sleep(0.01)
                assert not _session(process.pid), f"processes outlived the kill: {_session(process.pid)}"
                return stage
            assert time.monotonic() < deadline, f"the run took over {timeout} s:\n{log.read_text()[-3000:]}"
            time.sleep(0.05)
        return None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.workflow
@pytest.mark.skipif(not LINUX, reason="watches the workflow's processes through /proc (Linux)")
def test_kill_9_at_each_stage_then_rerun_loses_nothing(repo, smoke_run, tmp_path, stockfish):
    """One working directory, killed in each long stage in turn: the first run is killed in the
    synthetic games, its rerun in the action values, the next in training, ... then a last
    rerun completes. Every rerun is the plain `make reproduce` command."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    run = workdir / "results" / "smoke"
    pending = set(PAUSED_STAGES)
    killed: list[str] = []
    done_before: dict[str, int] = {}  # outputs of jobs finished before a kill -> mtime (ns)
    for attempt in range(len(PAUSED_STAGES) + 1):
        log = tmp_path / f"run{attempt}.log"
        stage = _run_until_paused(_reproduce(repo, workdir), log, pending)
        text = log.read_text()
        jobs = Jobs.parse(text)
        redone = {
            jobs.started[j] for j in jobs.started if any(p in done_before for p in jobs.started[j][1].split(", "))
        }
        assert not redone, f"run {attempt} redid finished jobs: {redone}"
        if attempt > 0:
            # kill -9 leaves Snakemake's lock behind; the rerun removed it, with no --unlock
            assert "Removed a stale Snakemake lock" in text, text[:3000]
        if stage is None:
            assert "Nothing to be done" not in text and re.search(r"\d+ of \d+ steps \(100%\) done", text), text[-3000:]
            break
        killed.append(stage)
        pending.discard(stage)
        assert any((workdir / ".snakemake" / "locks").glob("*.lock")), "the kill left no lock: not a crash"
        for path in jobs.finished_outputs():
            done_before[path] = (workdir / path).stat().st_mtime_ns
    assert not pending, f"the runs ended before these stages were caught part-way: {sorted(pending)} (killed: {killed})"

    # Stages with checkpoints or chunks resumed where the kill left them; the others started over.
    for stage, (pattern, resumed) in RESUMED.items():
        logs = "".join(p.read_text() for p in (run / "logs").glob(pattern))
        assert re.search(resumed, logs), f"{stage} did not resume: {logs[-2000:]}"
    for stage in ("synthetic_games", "ladder"):
        assert "resum" not in (run / "logs" / f"{stage}.log").read_text()

    # Nothing finished before a kill was rewritten by a later run.
    changed = [p for p, mtime in done_before.items() if (workdir / p).stat().st_mtime_ns != mtime]
    assert not changed, f"finished outputs rewritten by a rerun: {changed}"
    assert not list(run.rglob("*.part")) and not (run / "evaluation" / "action_values.parts").exists()

    # The same final tables, byte for byte, as the uninterrupted run.
    reference = smoke_run / "results" / "smoke"
    tables = sorted(p.relative_to(reference) for p in reference.rglob("*") if p.suffix in TABLES)
    assert (run / "claims.csv").exists() and Path("claims.csv") in tables
    assert tables == sorted(p.relative_to(run) for p in run.rglob("*") if p.suffix in TABLES)
    different = [str(p) for p in tables if (reference / p).read_bytes() != (run / p).read_bytes()]
    assert not different, f"tables differ from the uninterrupted run: {different}"
    _assert_same_weights(reference, run)


def _assert_same_weights(reference: Path, run: Path) -> None:
    """The trained networks (simulator, every RL learner, the az agent) have identical weights."""
    import torch

    finals = sorted(p.relative_to(reference) for p in reference.rglob("*.pt") if p.name in ("best.pt", "final.pt"))
    assert len(finals) >= 5, finals
    for path in finals:
        a = torch.load(reference / path, weights_only=True)["model"]
        b = torch.load(run / path, weights_only=True)["model"]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), path


# --- a full disk, a read-only folder -----------------------------------------------------------


_MOUNT = (
    'mount -t tmpfs -o "$1" simagents-fault "$2" || exit 97; shift 2; "$@"; code=$?; '
    'echo "files left:"; find "$0" -type f; exit $code'
)


def _unshare_flags() -> list[str]:
    # As a user, a user namespace maps us to root inside it (where the kernel allows that).
    return ["--mount", "--propagation", "private"] + ([] if os.geteuid() == 0 else ["--map-root-user"])


@functools.cache
def _tmpfs_unavailable() -> str | None:
    """Why no private tmpfs can be mounted here (None when one can), found by mounting one the
    way :func:`_with_tmpfs` does: a chroot whose root is no mount point refuses the private
    propagation, a container may refuse the namespace or the mount."""
    unshare = shutil.which("unshare")
    if not LINUX or unshare is None:
        return "needs Linux's unshare(1) to mount a small or read-only tmpfs"
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            [unshare, *_unshare_flags(), "sh", "-c", _MOUNT, folder, "size=1m", folder, "true"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    if probe.returncode != 0:
        return f"cannot mount a private tmpfs here (needs root or user namespaces): {probe.stderr.strip()[-300:]}"
    return None


def _with_tmpfs(options: str, mountpoint: Path, command: list[str]) -> subprocess.CompletedProcess:
    """Run ``command`` with a fresh tmpfs mounted at ``mountpoint`` (mount ``options``: a size
    for a disk that fills up, ro for a read-only one), in a private mount namespace: the mount is
    seen by that command alone and vanishes with it. After the command, the files left on the
    tmpfs are listed on stdout. Skips where this machine allows no such mount (a probe first)."""
    reason = _tmpfs_unavailable()
    if reason is not None:
        pytest.skip(reason)
    mountpoint.mkdir(parents=True, exist_ok=True)
    unshare = shutil.which("unshare")
    assert unshare is not None
    return subprocess.run(
        [unshare, *_unshare_flags(), "sh", "-c", _MOUNT, str(mountpoint), options, str(mountpoint), *command],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _simagents(*args: str) -> list[str]:
    return [sys.executable, "-m", "simagents", *args]


def _assert_one_line_naming(result: subprocess.CompletedProcess, command: str, path: Path, cause: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr[-3000:]
    assert errors[0].startswith(f"simagents {command}: error: cannot write {path}: {cause} ("), errors[0]
    assert "results_dir" in errors[0] and errors[0].endswith("then rerun)"), errors[0]  # what to do


def _files_left(result: subprocess.CompletedProcess) -> list[str]:
    return result.stdout.split("files left:", 1)[1].split()


@pytest.fixture
def random_config(tmp_path) -> Path:
    """The smoke config with a population of the random mover and the greedy grabber (no engine)."""
    config = yaml.safe_load(SMOKE.read_text())
    config["results_dir"] = str(tmp_path / "results")
    config["data"]["synthetic"].update(
        games=20,
        personas=[
            {"name": "random", "kind": "random", "rating": 400},
            {"name": "greedy", "kind": "greedy", "rating": 800},
        ],
    )
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


# A read-only folder, and one page of disk (the population's PGN, about 20 KB, does not fit).
@pytest.mark.parametrize(
    "options, cause",
    [("ro,size=1m", "Read-only file system"), ("size=4k", "No space left on device")],
    ids=["read_only", "full_disk"],
)
def test_an_unwritable_output_folder_stops_the_stage_naming_the_path(random_config, tmp_path, options, cause):
    mount = tmp_path / "out"
    pgn = mount / "synthetic.pgn"
    result = _with_tmpfs(
        options,
        mount,
        _simagents(
            "synthetic", "--config", str(random_config), "--workers", "1", "--no-progress", "--pgn-out", str(pgn)
        ),
    )
    _assert_one_line_naming(result, "synthetic", pgn, cause)
    assert _files_left(result) == []  # not the final name, and the partial .part is gone too


def test_a_full_disk_during_checkpointing_names_the_checkpoint(tiny_positions, tmp_path):
    # torch.save reports a full disk as an unrelated RuntimeError; the message must still say it.
    config = yaml.safe_load(SMOKE.read_text())
    config["results_dir"] = str(tmp_path / "results")
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    mount = tmp_path / "full"
    result = _with_tmpfs(
        "size=64k",
        mount,
        _simagents(
            "train",
            "--config",
            str(path),
            "--seed",
            "0",
            "--threads",
            "1",
            "--no-progress",
            "--positions-meta",
            str(tiny_positions / "meta.json"),
            "--out-dir",
            str(mount),
        ),
    )
    _assert_one_line_naming(result, "train", mount / "best.pt", "No space left on device")
    assert _files_left(result) == []


def test_a_full_disk_for_the_position_shards_fails_before_encoding(repo, tmp_path):
    # The shards are memory maps: a write into one the disk cannot back is a SIGBUS, not an error.
    from conftest import random_greedy_games

    from simagents.data.table import write_games

    games = tmp_path / "games.parquet"
    write_games(random_greedy_games(40), games)
    config = yaml.safe_load(SMOKE.read_text())
    config["data"]["synthetic"]["personas"] = [
        {"name": "random", "kind": "random", "rating": 400},
        {"name": "greedy", "kind": "greedy", "rating": 800},
    ]
    path = tmp_path / "positions.yaml"
    path.write_text(yaml.safe_dump(config))
    mount = tmp_path / "full"
    result = _with_tmpfs(
        "size=64k",
        mount,
        _simagents(
            "positions",
            "--config",
            str(path),
            "--workers",
            "1",
            "--no-progress",
            "--games",
            str(games),
            "--out-dir",
            str(mount),
        ),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert re.search(
        rf"simagents positions: error: cannot write {re.escape(str(mount))}/train/\w+\.npy: "
        r"No space left on device \(",
        result.stderr,
    ), result.stderr[-3000:]
    assert all(name.endswith(".part") for name in _files_left(result))  # nothing looks complete


# --- a download killed part-way, a download corrupted in transit ---------------------------------


class _DumpServer:
    """A loopback HTTP server of one monthly dump and its sha256sums.txt. It honours Range,
    sends the dump in small pieces ``delay`` seconds apart (so a client can be killed part-way),
    flips a byte of its first response when ``corrupt_first``, and records each dump request's
    Range header."""

    NAME = "lichess_db_standard_rated_2013-01.pgn.zst"

    def __init__(self, data: bytes) -> None:
        import hashlib
        import http.server
        import threading

        self.data, self.delay, self.corrupt_first, self.ranges = data, 0.0, False, []
        sums = f"{hashlib.sha256(data).hexdigest()}  {self.NAME}\n".encode()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.endswith("sha256sums.txt"):
                    self._send(200, sums, {})
                    return
                requested = self.headers.get("Range")
                server.ranges.append(requested)
                body = bytearray(server.data)
                if server.corrupt_first and len(server.ranges) == 1:
                    body[len(body) // 2] ^= 0xFF
                start = int(requested.removeprefix("bytes=").rstrip("-")) if requested else 0
                headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"} if requested else {}
                self._send(206 if requested else 200, bytes(body[start:]), headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    for k in range(0, len(body), 65536):
                        self.wfile.write(body[k : k + 65536])
                        time.sleep(server.delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def dump_server():
    import random

    server = _DumpServer(random.Random(0).randbytes(3 << 20))  # 3 MiB; only its sha256 matters
    yield server
    server.close()


def _download(config: Path, tmp_path: Path) -> list[str]:
    """The download rule's command for the one month of ``_download_config``."""
    dest = tmp_path / "resources" / "lichess" / _DumpServer.NAME
    return _simagents("download", "--config", str(config), "--month", "2013-01", "--out", str(dest), "--no-progress")


def _download_config(repo: Path, tmp_path: Path, server: _DumpServer) -> Path:
    config = yaml.safe_load((repo / "config" / "lichess.yaml").read_text())
    config["resources_dir"] = str(tmp_path / "resources")
    config["data"]["lichess"].update(
        months=["2013-01"],
        url_template=server.url + "/lichess_db_standard_rated_{month}.pgn.zst",
        checksums_url=server.url + "/sha256sums.txt",
    )
    path = tmp_path / "download.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_download_killed_part_way_resumes_where_it_stopped(repo, tmp_path, dump_server):
    config = _download_config(repo, tmp_path, dump_server)
    dest = tmp_path / "resources" / "lichess" / _DumpServer.NAME
    part = dest.with_name(dest.name + ".part")
    dump_server.delay = 0.02  # about 3 MB/s: the kill lands part-way
    process = subprocess.Popen(
        _download(config, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        # The client writes 1 MiB at a time: kill once the first MiB is on disk.
        while not (part.exists() and part.stat().st_size >= 1 << 20):
            if process.poll() is not None:
                raise AssertionError(f"the download ended before the kill: {process.communicate()[0][-3000:]!r}")
            assert time.monotonic() < deadline, "the download did not start"
            time.sleep(0.005)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    kept = part.stat().st_size
    assert 0 < kept < len(dump_server.data) and not dest.exists()

    dump_server.delay = 0.0
    rerun = subprocess.run(_download(config, tmp_path), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert dump_server.ranges == [None, f"bytes={kept}-"]  # the rerun asked only for the rest
    assert dest.read_bytes() == dump_server.data and not part.exists()


def test_a_download_corrupted_in_transit_is_detected_and_fetched_again(repo, tmp_path, dump_server):
    config = _download_config(repo, tmp_path, dump_server)
    dest = tmp_path / "resources" / "lichess" / _DumpServer.NAME
    dump_server.corrupt_first = True
    command = _download(config, tmp_path)
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 2 and "Traceback" not in first.stderr, first.stderr[-3000:]
    assert f"sha256 mismatch for {_DumpServer.NAME}" in first.stderr and "a rerun downloads it again" in first.stderr
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()
    # The rerun (the download rule has `retries: 2`, so Snakemake makes it) fetches it whole again.
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-3000:]
    assert dump_server.ranges == [None, None] and dest.read_bytes() == dump_server.data


# --- a truncated checkpoint, an old config ------------------------------------------------------


def test_a_truncated_checkpoint_says_to_delete_it_and_rerun(tiny_simulator, tmp_path, capsys, repo):
    truncated = tmp_path / "best.pt"
    data = tiny_simulator.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])  # as a crash mid-write on a filesystem without rename would
    code = main(
        [
            "metrics",
            "--config",
            str(SMOKE),
            "--simulator",
            f"simulator_seed0={truncated}",
            "--positions",
            str(tmp_path / "absent.parquet"),
            "--action-values",
            str(tmp_path / "absent-values.parquet"),
            "--summary",
            str(tmp_path / "absent-summary.json"),
            "--out",
            str(tmp_path / "m.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"checkpoint {truncated} is corrupt or truncated" in err and "delete it and rerun" in err


def test_a_key_from_an_older_config_says_where_it_went(tmp_path, capsys):
    config = yaml.safe_load(SMOKE.read_text())
    # a key that moved between sections, and a renamed one
    config["agent_positions_per_prompt"] = config["evaluation"].pop("agent_positions_per_prompt")
    config["data"]["synthetic"]["node_per_move"] = config["data"]["synthetic"].pop("nodes_per_move")
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["validate-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'agent_positions_per_prompt' is now 'evaluation.agent_positions_per_prompt'" in err
    assert "Did you mean 'data.synthetic.nodes_per_move'?" in err
    assert "rename or remove it (README 'Configuration' lists every key)" in err
    config["config_version"] = 0
    path.write_text(yaml.safe_dump(config))
    assert main(["validate-config", "--config", str(path)]) == 2
    assert "config_version is 0, this code reads version 1; update the file" in capsys.readouterr().err
