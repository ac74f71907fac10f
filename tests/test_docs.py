"""The documentation says what the code does: its generated parts are current, its example runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_generated_parts_of_the_docs_are_current():
    """README.md and docs/ as `make docs` would write them: the committed results' tables, the
    configuration reference (from the schema), the Slurm table (from the profile)."""
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "update_docs.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_the_readme_python_example_runs(tiny_simulator, tmp_path):
    """The README's example, on a small trained checkpoint instead of the default run's (which is
    not committed): it loads the simulator and prints its top moves under two prompts."""
    readme = (REPO / "README.md").read_text()
    code = re.search(r"<!-- example: python -->\n```python\n(.*?)```", readme, re.DOTALL)
    assert code is not None, "README.md has no <!-- example: python --> block"
    script = code.group(1).replace('"results/default/simulator/seed0/best.pt"', repr(str(tiny_simulator)))
    script = script.replace('("random", "sf1350")', '("random", "greedy")')  # the tiny model's prompts
    assert str(tiny_simulator) in script, "the example no longer loads results/default/simulator/seed0/best.pt"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["random", "greedy"], result.stdout
    assert all(len(line.split(",")) == 3 for line in lines), result.stdout


def test_every_doc_link_points_at_a_file():
    broken = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)\)", path.read_text()):
            if "://" in target:
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(REPO)}: {target}")
    assert not broken, broken
