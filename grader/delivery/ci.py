"""``dlgrade init-ci``: grading in a student's repository on every push.

Writes ``.github/workflows/dlgrade.yml`` (install, ``dlgrade grade``, upload the results) and a
GitHub Classroom ``.github/classroom/autograding.json`` with one test per exercise: the test
passes, and earns the exercise's points, when all of the exercise's checks there pass.
The repository is expected to be an unpacked student release (``dlgrade bundle student``):
``pyproject.toml``, ``grader/``, ``autograder.yml`` and ``assignments/`` at its root.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from grader.config import Config
from grader.delivery.files import TORCH_INDEX, pinned
from grader.results import write_atomic
from grader.runner import list_checks

INSTALL = f"pip install --index-url {TORCH_INDEX} {{torch}} && pip install ."

WORKFLOW = """# Made by `dlgrade init-ci`: grades assignments/ with the public checks on every push.
name: dlgrade
on: [push, pull_request, workflow_dispatch]
permissions:
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install dlgrade, with the CPU build of torch first (a plain torch is gigabytes of CUDA)
        run: {install}
      - name: Grade
        run: dlgrade grade {submission} --results build/results.json --junit build/report.xml{min_score}
      - name: Upload the results
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: dlgrade-results
          path: build/
"""


def write_ci_files(config: Config, out: Path, *, min_score: float | None = None,
                   submission: str | None = None) -> list[Path]:
    """Write the workflow and ``autograding.json`` under ``out``; return their paths."""
    out = Path(out)
    folder = submission or (config.assignments.name if config.assignments else ".")
    torch = next(r for r in pinned(["torch"]))
    install = INSTALL.format(torch=torch)
    workflow = WORKFLOW.format(install=install, submission=folder,
                               min_score=f" --min-score {min_score:g}" if min_score is not None
                               else "")
    public: dict[str, float] = {ex: 0.0 for ex in config.ids}
    for meta in list_checks(config, public_only=True):
        public[meta.exercise] += meta.max_score
    tests = [{"name": f"{ex} ({public[ex]:.2f} points of public checks)",
              "setup": install if i == 0 else "",
              "run": f"dlgrade grade {folder} --exercises {ex} --quiet "
                     f"--min-score {math.floor(public[ex] * 100) / 100:g}",
              "input": "", "output": "", "comparison": "included",
              "timeout": 10, "points": max(1, round(public[ex]))}
             for i, ex in enumerate(config.ids)]
    paths = [out / ".github" / "workflows" / "dlgrade.yml",
             out / ".github" / "classroom" / "autograding.json"]
    write_atomic(paths[0], workflow)
    write_atomic(paths[1], json.dumps({"tests": tests}, indent=2) + "\n")
    return paths
