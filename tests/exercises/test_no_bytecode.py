"""Grading writes no bytecode: pytest's assertion rewriting would otherwise leave
``__pycache__/test_hidden.*-pytest-*.pyc`` beside the hidden checks, readable by a worker, which
could unmarshal the hidden inputs from it (``grader.runner.no_bytecode``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

from tests.helpers import REPO, SOLUTIONS

GRADE_A_COPY = textwrap.dedent("""
    import sys
    from pathlib import Path

    import grader
    from grader.config import load_config
    from grader.runner import grade

    assert Path(grader.__file__).resolve().is_relative_to(Path.cwd().resolve()), grader.__file__
    before = sys.dont_write_bytecode
    report = grade(load_config(sys.argv[1]), sys.argv[2], exercises=["kfold"])
    assert report.score == report.max_score, report.score
    assert sys.dont_write_bytecode == before  # restored after grading
    print("graded", report.score)
""")


def test_grading_writes_no_bytecode_beside_the_checks(tmp_path):
    """Grade with a fresh copy of the package (no __pycache__ in it): afterwards there is no
    bytecode of any check module in its exercises folder, hidden or public (without the guard,
    pytest leaves kfold/__pycache__/test_hidden.cpython-311-pytest-9.2.0.pyc there)."""
    shutil.copytree(REPO / "grader", tmp_path / "grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-c", GRADE_A_COPY, str(REPO / "autograder.yml"), str(SOLUTIONS)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "graded" in result.stdout
    exercises = tmp_path / "grader" / "exercises"
    assert (exercises / "kfold" / "test_hidden.py").is_file()
    written = sorted(str(p.relative_to(exercises)) for p in exercises.rglob("test_*.pyc"))
    assert not written, written
