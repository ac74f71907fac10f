"""Machine information shared by the benchmark scripts (imported as a sibling module)."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path


def _version(command: list[str]) -> str:
    """First output line of a tool's version command, or ``?``."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, input="quit\n", check=False)
    except (OSError, subprocess.SubprocessError):
        return "?"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"
